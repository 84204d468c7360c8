"""Subgroup analysis (separate tau^2) and the between-subgroup test against R metafor 3.8-1.

Expected values: ``tests/evidence/data/metafor_reference.json`` (section "subgroups").
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from redif.evidence.meta import pool_generic, pool_proportions, pool_subgroups, pool_subgroups_generic

REF = json.loads((Path(__file__).parent / "data" / "metafor_reference.json").read_text())
TOL = 1e-4


@pytest.mark.rref
def test_bcg_by_allocation() -> None:
    """dat.bcg by allocation (alternate / random / systematic), REML within each group.

    R::

        for (l in sort(unique(dat$alloc))) rma(yi, vi, data=dat, subset=alloc==l, method="REML")
        est <- ...; se <- ...;  rma(est, sei=se, method="EE")$QE      # test of subgroup differences
    """
    bcg = REF["bcg"]
    ref = REF["sub_bcg_alloc"]
    res = pool_subgroups_generic(bcg["yi"], bcg["vi"], bcg["alloc"], method="REML")
    assert list(res.subgroups) == ["alternate", "random", "systematic"]
    for g, r in res.subgroups.items():
        want = ref["groups"][g]
        for got, key in [(r.mu, "mu"), (r.se, "se"), (r.ci_lower, "ci_lb"), (r.ci_upper, "ci_ub"),
                         (r.tau2, "tau2"), (r.pi_lower, "mu_pi_lb"), (r.pi_upper, "mu_pi_ub")]:
            assert got == pytest.approx(want[key], abs=TOL), (g, key)
        assert r.k == want["k"]
    assert res.test_between.q == pytest.approx(ref["Qb"], abs=TOL)
    assert res.test_between.p == pytest.approx(ref["Qb_p"], abs=TOL)
    assert res.test_between.df == 2
    overall = pool_generic(bcg["yi"], bcg["vi"], method="REML")
    assert res.overall.mu == pytest.approx(overall.mu)


@pytest.mark.rref
@pytest.mark.parametrize(("method", "key"), [("REML", "sub_debruin_ethnicity"),
                                             ("DL", "sub_debruin_ethnicity_DL")])
def test_proportions_by_ethnicity(method: str, key: str) -> None:
    """dat.debruin2009 (proportions, PLO) by ethnicity, back-transformed subgroup estimates.

    R::

        es <- escalc(measure="PLO", xi=xi, ni=ni, data=dat.debruin2009)
        for (l in c("caucasian", "other")) predict(rma(yi, vi, data=es, subset=ethnicity==l,
                                                       method=m), transf=transf.ilogit)
    """
    db = REF["debruin"]
    ref = REF[key]
    res = pool_subgroups(db["xi"], db["ni"], db["ethnicity"], measure="PLO", method=method)
    for g, r in res.subgroups.items():
        want = ref["groups"][g]
        for got, k in [(r.mu, "mu"), (r.se, "se"), (r.estimate, "est"), (r.ci_lower, "est_ci_lb"),
                       (r.ci_upper, "est_ci_ub"), (r.pi_lower, "est_pi_lb"), (r.pi_upper, "est_pi_ub"),
                       (r.tau2, "tau2")]:
            assert got == pytest.approx(want[k], abs=TOL), (g, k)
    assert res.test_between.q == pytest.approx(ref["Qb"], abs=TOL)
    assert res.test_between.p == pytest.approx(ref["Qb_p"], abs=TOL)
    d = res.to_dict()
    assert set(d["subgroups"]) == {"caucasian", "other"}
    assert set(d["test_between"]) == {"q", "df", "p"}


def test_single_study_subgroup_is_reported_alone() -> None:
    """A subgroup with one study is that study (EE, tau^2 = 0) with a note; the others pool normally."""
    res = pool_subgroups([3, 5, 9, 4], [20, 21, 30, 10], ["a", "a", "a", "b"], method="REML")
    b = res.subgroups["b"]
    assert b.k == 1 and b.tau2 == 0.0 and b.notes
    assert b.estimate == pytest.approx(0.4)
    a = res.subgroups["a"]
    assert a.mu == pytest.approx(pool_proportions([3, 5, 9], [20, 21, 30]).mu)
    assert res.test_between.df == 1


def test_glmm_subgroups() -> None:
    """GLMM within subgroups (each k >= 2) equals separate GLMM fits."""
    db = REF["debruin"]
    res = pool_subgroups(db["xi"], db["ni"], db["ethnicity"], method="GLMM")
    xi = [x for x, g in zip(db["xi"], db["ethnicity"], strict=True) if g == "other"]
    ni = [n for n, g in zip(db["ni"], db["ethnicity"], strict=True) if g == "other"]
    assert res.subgroups["other"].mu == pytest.approx(pool_proportions(xi, ni, method="GLMM").mu)
