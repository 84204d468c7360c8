"""Issue 12: like with like — one definition per uptake pool, ITT/treated response denominators,
Knapp-Hartung with the max(1, q) safeguard ("adhoc")."""

from __future__ import annotations

import numpy as np
import pytest

from redif.errors import InputError
from redif.evidence.enums import UptakeDefinition
from redif.evidence.grade import summary_of_findings
from redif.evidence.measures import escalc
from redif.evidence.nested import pool_nested
from redif.evidence.rma import fit_rma
from redif.evidence.studies import load_evidence
from redif.evidence.synthesis import evidence_summary, pool_outcome, regress_outcome
from redif.evidence.tables import MixedDefinitionsError, definition_key, outcome_table


@pytest.mark.parametrize("min_grade", ["primary", "secondary", "unverified", "unreliable-secondary"])
@pytest.mark.parametrize("test", ["adhoc", "z"])
def test_default_summary_never_pools_two_definitions(min_grade: str, test: str) -> None:
    """Issue 12: every line of the default summary's uptake tables (and every JSON subgroup) uses one
    definition of restored uptake — a property over the whole evidence base at every grade. A definition
    the source does not report is not known to match any other, so a line holding such a record holds
    that record alone (C01 and C03 are never pooled together)."""
    summary = evidence_summary(load_evidence().studies, min_grade=min_grade, test=test)
    for name in ("uptake", "uptake_by_definition"):
        pool = summary.pools[name]
        rows = {r.row_id: r for r in pool.table.rows}
        for line in pool.group_table():
            assert len(line.definitions) == 1, (name, line.name, line.definitions)
            keys = {definition_key(rows[i]) for i in line.records}
            assert len(keys) == 1, (name, line.name, keys)
            if UptakeDefinition.NOT_REPORTED.label in line.definitions:
                assert line.k == 1 and len(line.records) == 1, (name, line.name, line.records)
        data = pool.to_dict()
        assert data["mixed_definitions"] is False
        for sub in data.get("subgroups", {}).values():
            assert len(sub["definitions"]) == 1
            assert sub["records"]
            if UptakeDefinition.NOT_REPORTED.label in sub["definitions"]:
                assert len(sub["records"]) == 1


def test_mix_definitions_is_labelled() -> None:
    """Issue 12: a cross-definition pool exists only on request and says so in its JSON and line name."""
    table = outcome_table(load_evidence(), "uptake")
    pool = pool_outcome(table, mix_definitions=True)
    assert pool.to_dict()["mixed_definitions"] is True
    assert pool.group_table()[-1].name == "all (mixed definitions)"


def _response(denominator: str) -> dict[str, tuple[int, int]]:
    table = outcome_table(load_evidence(), "response", denominator=denominator)
    return {r.row_id: (r.events, r.total) for r in table.rows}


def test_itt_and_treated_denominators_match_hand_counts() -> None:
    """Issue 12: Ho 2013 (NEJM 2013, abstract: 20 evaluable, 8 treated with 131I, 5 confirmed PR) and ERRITI
    (Clin Cancer Res 2022 abstract: 20 patients, 7 treated, 1 PR) counted by hand: ITT 5/20 and 1/20,
    treated 5/8 and 1/7."""
    itt = _response("itt")
    treated = _response("treated")
    assert itt["P01"] == (5, 20)
    assert itt["P05c"] == (1, 20)
    assert treated["P01"] == (5, 8)
    assert treated["P05c"] == (1, 7)
    pool = pool_outcome(outcome_table(load_evidence(), "response"))
    assert pool.to_dict()["denominator"] == "itt"


def test_unknown_denominator_is_refused() -> None:
    """Issue 12: a bad --denominator names the field and the fix."""
    with pytest.raises(InputError) as err:
        outcome_table(load_evidence(), "response", denominator="evaluable")
    assert err.value.field == "denominator"


def test_adhoc_se_is_kh_when_q_at_least_1_else_z() -> None:
    """Issue 12: closed-form check of metafor test="adhoc": its SE equals the Knapp-Hartung SE when the
    variance factor q >= 1 and the z SE when q < 1 (both with t on k - 1 df)."""
    spread = escalc("PLO", [2, 9, 15, 30], [30, 30, 30, 30])
    close = escalc("PLO", [10, 11, 10, 11], [30, 30, 30, 30])
    for (y, v) in (spread, close):
        y, v = np.asarray(y, float), np.asarray(v, float)
        z = fit_rma(y, v, method="DL")
        kh = fit_rma(y, v, method="DL", knha=True)
        ad = fit_rma(y, v, method="DL", knha="adhoc")
        q = kh.s2w
        expected = kh.se[0] if q >= 1 else z.se[0]
        assert ad.se[0] == pytest.approx(expected, rel=1e-12)
        assert ad.ddf == 3
    assert fit_rma(np.asarray(close[0], float), np.asarray(close[1], float), method="DL", knha=True).s2w < 1


def test_regress_refuses_single_record_levels() -> None:
    """Issue 12: a categorical moderator level with one record is refused unless forced; k per level is
    reported (uptake on the diagnostic scan: ERRITI's two arms and MERAIODE RAS)."""
    table = outcome_table(load_evidence(), "uptake")
    with pytest.raises(InputError) as err:
        regress_outcome(table, ["definition"])
    assert "single record" in str(err.value)
    reg = regress_outcome(table, ["definition"], force=True)
    assert reg.levels["definition"]["uptake on diagnostic scan"] == 3
    assert reg.to_dict()["single_record_levels"]


def test_tau2_zero_small_k_note() -> None:
    """Issue 12: a pooled group with tau² estimated at 0 and k < 10 carries the note."""
    pool = pool_outcome(outcome_table(load_evidence(), "uptake", definition="diagnostic"))
    line = pool.group_table()[-1]
    assert line.k == 3 and line.tau2 == 0.0
    assert line.note is not None and "prediction interval" in line.note


def test_not_reported_definitions_stand_alone() -> None:
    """Issue 12: C01 (Groussin 2022, 2/3) and C03 (Lee 2021, 2/2) both give no definition of restored
    uptake; restricted to "not reported" they are two groups of one record each, with no overall line;
    only mix_definitions pools them, labelled mixed. GRADE rates each as an outcome line of its own."""
    table = outcome_table(load_evidence(), "uptake", definition="not reported")
    assert [r.row_id for r in table.rows] == ["C01", "C03"]
    pool = pool_outcome(table, method="EE", test="z")
    lines = pool.group_table()
    assert [(ln.name, ln.k, ln.records) for ln in lines] == [
        ("not reported (C01)", 1, ("C01",)), ("not reported (C03)", 1, ("C03",))]
    assert pool.to_dict()["overall_pooled"] is False
    mixed = pool_outcome(table, method="EE", test="z", mix_definitions=True)
    assert mixed.group_table()[-1].name == "all (mixed definitions)" and mixed.group_table()[-1].k == 2
    with pytest.raises(MixedDefinitionsError) as err:
        pool_nested(table)
    assert err.value.field == "definition" and "not reported (C01)" in str(err.value)
    sof = [r.outcome for r in summary_of_findings(load_evidence().studies, {})]
    assert "uptake: not reported (C01)" in sof and "uptake: not reported (C03)" in sof
    assert "uptake: not reported" not in sof


def test_regress_refuses_mixed_definitions() -> None:
    """Issue 12: an uptake meta-regression over rows with several definitions is refused (naming them)
    unless definition is a moderator or mix_definitions is set (then labelled); one definition, or the
    response outcome, needs neither."""
    table = outcome_table(load_evidence(), "uptake")
    with pytest.raises(MixedDefinitionsError) as err:
        regress_outcome(table, ["weeks_drug_before_uptake_assessment"])
    assert err.value.field == "definition"
    for name in ("increased 124I uptake", "uptake on diagnostic scan", "not reported (C03)"):
        assert name in str(err.value)
    assert "mix_definitions" in str(err.value)
    reg = regress_outcome(table, ["weeks_drug_before_uptake_assessment"], mix_definitions=True)
    assert reg.mixed_definitions and reg.to_dict()["mixed_definitions"] is True
    with_def = regress_outcome(table, ["definition"], force=True)
    assert not with_def.mixed_definitions
    # each unreported definition is a level of its own (one record each)
    assert with_def.levels["definition"]["not reported (C01)"] == 1
    assert with_def.levels["definition"]["not reported (C03)"] == 1
    one = outcome_table(load_evidence(), "uptake", definition="diagnostic")
    assert regress_outcome(one, ["weeks_drug_before_uptake_assessment"]).mixed_definitions is False
    response = outcome_table(load_evidence(), "response")
    assert regress_outcome(response, ["year"]).mixed_definitions is False
