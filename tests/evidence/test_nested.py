"""Issue 12, item 3: the evidence base pooled with arms nested in their trials
(:func:`redif.evidence.nested.pool_nested`).

Reference values from R metafor 3.8-1 (run here), on the fixture below (8 arms in 5 trials; the trial
component interior, the arm component at its boundary 0):

    library(metafor)
    d <- data.frame(trial = c("T1","T1","T1","T2","T2","T3","T4","T5"),
                    arm = c("a","b","c","a","b","a","a","a"),
                    xi = c(4,5,3,2,5,20,6,11), ni = c(9,5,6,6,14,21,10,28))
    d <- escalc("PLO", xi = xi, ni = ni, data = d)
    r <- rma.mv(yi, vi, random = ~ 1 | trial/arm, data = d, method = "REML",
                control = list(rel.tol = 1e-10))
    predict(r, transf = transf.ilogit); r$sigma2; r$QE
"""

from __future__ import annotations

import dataclasses

import pytest

from redif.errors import InputError
from redif.evidence.enums import UptakeDefinition
from redif.evidence.nested import pool_nested, trial_of
from redif.evidence.studies import load_evidence
from redif.evidence.tables import OutcomeTable, outcome_table

TRIALS = ["T1", "T1", "T1", "T2", "T2", "T3", "T4", "T5"]
EVENTS = [4, 5, 3, 2, 5, 20, 6, 11]
TOTALS = [9, 5, 6, 6, 14, 21, 10, 28]


def _fixture() -> OutcomeTable:
    base = outcome_table(load_evidence(), "uptake", definition=UptakeDefinition.POST_THERAPY_SCAN,
                         min_grade="unverified")
    template = base.rows[0]
    rows = []
    for i, (t, x, n) in enumerate(zip(TRIALS, EVENTS, TOTALS, strict=True)):
        rows.append(dataclasses.replace(template, row_id=f"{t}-{i}", events=x, total=n, part_of=t))
    return dataclasses.replace(base, rows=tuple(rows), excluded=())


def test_matches_metafor_rma_mv() -> None:
    res = pool_nested(_fixture())
    assert res.n_levels == (5, 8)
    assert res.sigma2[0] == pytest.approx(0.8032623830, abs=1e-4)
    assert res.sigma2[1] == pytest.approx(0.0, abs=1e-4)
    assert res.mu == pytest.approx(0.2360658088, abs=1e-4)
    assert res.se == pytest.approx(0.4797245470, abs=1e-4)
    assert res.estimate == pytest.approx(0.5587439031, abs=1e-4)
    assert (res.ci_lower, res.ci_upper) == pytest.approx((0.3308867789, 0.7642834390), abs=1e-4)
    assert (res.pi_lower, res.pi_upper) == pytest.approx((0.1472469568, 0.9027789479), abs=1e-4)
    assert res.qe == pytest.approx(14.6154562087, abs=1e-4)


def test_arms_of_one_trial_share_it() -> None:
    """ERRITI's BRAF and BRAF-wild-type arms (P05, P05b) are part of the trial record P05c; Ho 2013's arms
    are part of P01 (``part_of`` in the evidence base)."""
    table = outcome_table(load_evidence(), "uptake", definition=UptakeDefinition.DIAGNOSTIC_SCAN,
                          min_grade="unverified")
    trials = {r.row_id: trial_of(r) for r in table.rows}
    assert trials["P05"] == trials["P05b"] == "P05c"
    table = outcome_table(load_evidence(), "uptake", definition=UptakeDefinition.INCREASED_124I,
                          min_grade="unverified")
    assert {trial_of(r) for r in table.rows} == {"P01"} and table.k == 3


def test_one_row_is_refused() -> None:
    table = dataclasses.replace(_fixture(), rows=_fixture().rows[:1])
    with pytest.raises(InputError) as err:
        pool_nested(table)
    assert err.value.field == "k"


def test_cli_evidence_pool_nested_json(capsys: pytest.CaptureFixture[str]) -> None:
    """``redif evidence pool --nested --json``: the multilevel keys, the trial of every record; uptake
    without one definition is refused (exit 2, names --definition)."""
    import json

    from redif.cli.main import main

    with pytest.raises(SystemExit) as done:
        main(["evidence", "pool", "--outcome", "uptake", "--definition", "uptake on diagnostic scan",
              "--min-grade", "unverified", "--nested", "--json"])
    assert done.value.code == 0
    doc = json.loads(capsys.readouterr().out)
    assert {"k", "mu", "se", "estimate", "ci_lower", "ci_upper", "pi_lower", "pi_upper", "sigma2",
            "qe", "records"} <= set(doc)
    assert len(doc["sigma2"]) == 2
    trials = {r["id"]: r["trial"] for r in doc["records"]}
    assert trials["P05"] == trials["P05b"] == "P05c"
    with pytest.raises(SystemExit) as done:
        main(["evidence", "pool", "--outcome", "uptake", "--nested"])
    assert done.value.code == 2
    assert "--definition" in capsys.readouterr().err


def test_meraiode_cohorts_are_one_trial() -> None:
    """Issue 12: MERAIODE's BRAF (P06, Leboulleux 2023 Clin Cancer Res) and RAS (P07, ESMO 2021 abstract
    1743MO / Thyroid 2023) cohorts are two reports of one phase II trial with no overall record: both carry
    ``trial: MERAIODE``. Counted by hand, the ITT response pool (P01 5/20, P05c 1/20, P06 8/24, P07 2/11)
    holds 4 arms of 3 trials: Ho 2013 (P01), ERRITI (P05c) and MERAIODE (P06 + P07).

    Reference: R metafor 3.8-1 (run here), trial component at its boundary 0::

        d <- data.frame(trial = c("P01","P05c","MERAIODE","MERAIODE"), arm = c("P01","P05c","P06","P07"),
                        xi = c(5,1,8,2), ni = c(20,20,24,11))
        d <- escalc("PLO", xi = xi, ni = ni, data = d)
        r <- rma.mv(yi, vi, random = ~ 1 | trial/arm, data = d, method = "REML",
                    control = list(rel.tol = 1e-10))
        c(r$b, r$se, r$sigma2, r$QE); predict(r, transf = transf.ilogit)
    """
    table = outcome_table(load_evidence(), "response")
    trials = {r.row_id: trial_of(r) for r in table.rows}
    assert trials == {"P01": "P01", "P05c": "P05c", "P06": "MERAIODE", "P07": "MERAIODE"}
    res = pool_nested(table)
    assert res.n_levels == (3, 4)
    assert res.mu == pytest.approx(-1.165665323, abs=1e-4)
    assert res.se == pytest.approx(0.3255274330, abs=1e-4)
    assert res.sigma2 == pytest.approx((0.0, 0.06188030478), abs=1e-4)
    assert res.qe == pytest.approx(4.377001987, abs=1e-4)
    assert (res.estimate, res.ci_lower, res.ci_upper) == pytest.approx(
        (0.2376393910, 0.1414027966, 0.3710667235), abs=1e-4)
    assert (res.pi_lower, res.pi_upper) == pytest.approx((0.1225340721, 0.4103105693), abs=1e-4)


def test_one_trial_only_is_refused() -> None:
    """Issue 12: at min grade unverified the post-therapy scan has only MERAIODE's two cohorts (P06 19/20,
    P07 6/10): arms of one trial, so a trial-level variance cannot be estimated: a clear refusal."""
    table = outcome_table(load_evidence(), "uptake", definition=UptakeDefinition.POST_THERAPY_SCAN,
                          min_grade="unverified")
    assert [r.row_id for r in table.rows] == ["P06", "P07"]
    with pytest.raises(InputError) as err:
        pool_nested(table)
    assert err.value.field == "k" and "one trial (MERAIODE)" in str(err.value)


def test_trial_and_part_of_together_are_refused() -> None:
    """Issue 12: ``trial`` is for an arm reported on its own; a record that is part_of another takes that
    record's trial, so giving both is refused, naming the field."""
    from redif.evidence.studies import parse_study

    with pytest.raises(InputError) as err:
        parse_study({"row_id": "X1", "row_type": "arm", "label": "x", "genotype": "RAS", "grade": "secondary",
                     "source": "test", "part_of": "P01", "trial": "T"})
    assert err.value.field == "row X1, trial"
    arm = parse_study({"row_id": "X2", "row_type": "arm", "label": "x", "genotype": "RAS",
                       "grade": "secondary", "source": "test", "trial": "T"})
    assert arm.trial == "T"
