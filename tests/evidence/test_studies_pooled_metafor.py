"""The evidence base pooled end to end (table -> engine) against R metafor on the same counts.

The counts are the default outcome tables (checked by hand against evidence.csv in
``test_studies_tables.py``). Reference values: R 4.2.2, metafor 3.8-1, run on this machine::

    library(metafor)
    f <- function(x, n) {
      r <- rma(measure = "PLO", xi = x, ni = n, method = "REML")
      p <- predict(r, transf = transf.ilogit)
      c(p$pred, p$ci.lb, p$ci.ub, p$pi.lb, p$pi.ub, r$tau2, r$QE)
    }
    f(c(4,5,3,4,2,5,20,4,11,2), c(9,5,6,10,6,14,21,10,28,3))   # uptake, all rows
    f(c(4,4,2,20), c(9,10,6,21))                                 # uptake, BRAF V600E
    f(c(5,1,8,2), c(8,7,21,10))                                  # response, all rows
    d <- escalc(measure = "PLO", xi = c(4,5,3,4,2,5,20,4,11,2), ni = c(9,5,6,10,6,14,21,10,28,3))
    r <- rma(yi, vi, mods = ~ c(4,4,4,4,3,3,4,4,4,4), data = d)   # weeks of drug before the scan
    c(r$b, r$se, r$QM, r$QE)
"""

from __future__ import annotations

import pytest

from redif.evidence.studies import load_evidence
from redif.evidence.synthesis import evidence_summary, pool_outcome, regress_outcome
from redif.evidence.tables import outcome_table

TOL = 1e-4


def test_uptake_all_rows_matches_metafor() -> None:
    pool = pool_outcome(outcome_table(load_evidence(), "uptake"))
    res = pool.overall
    assert res.estimate == pytest.approx(0.45716628, abs=TOL)
    assert (res.ci_lower, res.ci_upper) == pytest.approx((0.35633986, 0.56162858), abs=TOL)
    assert (res.pi_lower, res.pi_upper) == pytest.approx((0.35633982, 0.56162862), abs=TOL)
    assert res.q == pytest.approx(14.775370, abs=TOL)


def test_braf_subgroup_matches_metafor() -> None:
    summary = evidence_summary(load_evidence().studies)
    braf = summary.uptake.result.subgroups["BRAF V600E"]  # type: ignore[union-attr]
    assert braf.k == 4
    assert braf.estimate == pytest.approx(0.57466799, abs=TOL)
    assert (braf.ci_lower, braf.ci_upper) == pytest.approx((0.22937560, 0.85980666), abs=TOL)
    assert (braf.pi_lower, braf.pi_upper) == pytest.approx((0.06320769, 0.96435602), abs=TOL)
    assert braf.tau2 == pytest.approx(1.74238655, abs=TOL)


def test_response_matches_metafor() -> None:
    res = pool_outcome(outcome_table(load_evidence(), "response")).overall
    assert res.estimate == pytest.approx(0.35342233, abs=TOL)
    assert (res.ci_lower, res.ci_upper) == pytest.approx((0.19517755, 0.55197478), abs=TOL)
    assert (res.pi_lower, res.pi_upper) == pytest.approx((0.14233872, 0.64289247), abs=TOL)
    assert res.tau2 == pytest.approx(0.19793002, abs=TOL)


def test_weeks_regression_matches_metafor() -> None:
    reg = regress_outcome(outcome_table(load_evidence(), "uptake"), ["weeks_drug_before_uptake_assessment"])
    b0, b1 = reg.result.coefficients
    assert (b0.estimate, b1.estimate) == pytest.approx((-2.74959626, 0.70834510), abs=TOL)
    assert (b0.se, b1.se) == pytest.approx((2.47540118, 0.65112957), abs=TOL)
    assert reg.result.qm == pytest.approx(1.183464, abs=TOL)
    assert reg.result.qe == pytest.approx(13.627958, abs=TOL)
