"""The evidence base pooled end to end (table -> engine) against R metafor on the same counts.

Issue 12: the evidence commands default to Knapp-Hartung with the ``max(1, q)`` safeguard (metafor
``test = "adhoc"``), pool uptake within one definition at a time (a cross-definition pool only with
``mix_definitions``) and divide response by everyone who started the drug (``itt``). The counts are the
default outcome tables after the issue-12 curation (checked by hand against evidence_studies.yaml in
``test_studies_tables.py``: MERAIODE BRAF's post-therapy 19/20 is derived and unverified, so it is below the
default grade; Lee 2021 2/2 is new). Reference values: R 4.2.2, metafor 3.8-1, run on this machine::

    library(metafor)
    f <- function(x, n, test) {
      r <- rma(measure = "PLO", xi = x, ni = n, method = "REML", test = test)
      p <- predict(r, transf = transf.ilogit)
      c(p$pred, p$ci.lb, p$ci.ub, p$pi.lb, p$pi.ub, r$tau2, r$QE, r$I2)
    }
    f(c(4,5,3,4,2,5,4,11,2,2), c(9,5,6,10,6,14,10,28,3,2), "adhoc")  # uptake, all rows, mixed definitions
    f(c(2,5,4), c(6,14,10), "adhoc")                  # uptake on diagnostic scan (P05, P05b, P07)
    f(c(5,1,8,2), c(20,20,24,11), "adhoc")            # response, itt (P01, P05c, P06, P07)
    f(c(5,1,8,2), c(20,20,24,11), "z")                # the same with z
    f(c(5,1,2), c(8,7,10), "adhoc")                   # response, treated (P01, P05c, P07)
    d <- escalc(measure = "PLO", xi = c(4,5,3,4,2,5,4,11,2), ni = c(9,5,6,10,6,14,10,28,3))
    r <- rma(yi, vi, mods = ~ c(4,4,4,4,3,3,4,4,4), data = d, test = "adhoc")  # weeks of drug (C03: none)
    c(r$b, r$se, r$QM, r$QE)
"""

from __future__ import annotations

import pytest

from redif.evidence.studies import load_evidence
from redif.evidence.synthesis import pool_outcome, regress_outcome
from redif.evidence.tables import outcome_table

TOL = 1e-4


def test_uptake_all_rows_matches_metafor() -> None:
    """Issue 12: the all-rows uptake pool exists only with mix_definitions (metafor adhoc, 10 rows)."""
    table = outcome_table(load_evidence(), "uptake")
    assert [(r.events, r.total) for r in table.rows] == [
        (4, 9), (5, 5), (3, 6), (4, 10), (2, 6), (5, 14), (4, 10), (11, 28), (2, 3), (2, 2)]
    pool = pool_outcome(table, mix_definitions=True)
    assert pool.mixed_definitions and pool.test == "adhoc"
    res = pool.overall
    assert res.estimate == pytest.approx(0.43079970, abs=TOL)
    assert (res.ci_lower, res.ci_upper) == pytest.approx((0.31672619, 0.55272321), abs=TOL)
    assert (res.pi_lower, res.pi_upper) == pytest.approx((0.31672590, 0.55272353), abs=TOL)
    assert res.q == pytest.approx(6.29909577, abs=TOL)


def test_diagnostic_scan_subgroup_matches_metafor() -> None:
    """Issue 12: one definition at a time -- the diagnostic-scan group (ERRITI BRAF 2/6, BRAF-WT 5/14,
    MERAIODE RAS 4/10), metafor adhoc; tau^2 = 0 with k = 3 carries the small-k note."""
    pool = pool_outcome(outcome_table(load_evidence(), "uptake"), by="definition")
    diag = pool.result.subgroups["uptake on diagnostic scan"]  # type: ignore[union-attr]
    assert diag.k == 3
    assert diag.estimate == pytest.approx(0.36701939, abs=TOL)
    assert (diag.ci_lower, diag.ci_upper) == pytest.approx((0.10179897, 0.74788120), abs=TOL)
    assert (diag.pi_lower, diag.pi_upper) == pytest.approx((0.10179897, 0.74788120), abs=TOL)
    assert diag.tau2 == pytest.approx(0.0, abs=TOL)
    line = next(g for g in pool.group_table() if g.name == "uptake on diagnostic scan")
    assert line.note is not None and "k = 3" in line.note


def test_response_matches_metafor() -> None:
    """Issue 12: response, itt denominators (Ho 5/20, ERRITI 1/20, MERAIODE BRAF 8/24, RAS 2/11), adhoc
    by default and z on request."""
    table = outcome_table(load_evidence(), "response")
    assert [(r.row_id, r.events, r.total) for r in table.rows] == [
        ("P01", 5, 20), ("P05c", 1, 20), ("P06", 8, 24), ("P07", 2, 11)]
    res = pool_outcome(table).overall
    assert res.estimate == pytest.approx(0.23763881, abs=TOL)
    assert (res.ci_lower, res.ci_upper) == pytest.approx((0.08709729, 0.50456650), abs=TOL)
    assert (res.pi_lower, res.pi_upper) == pytest.approx((0.06979038, 0.56428639), abs=TOL)
    assert res.tau2 == pytest.approx(0.06188533, abs=TOL)
    z = pool_outcome(table, test="z").overall
    assert (z.ci_lower, z.ci_upper) == pytest.approx((0.14140182, 0.37106710), abs=TOL)
    assert (z.pi_lower, z.pi_upper) == pytest.approx((0.12253202, 0.41031363), abs=TOL)


def test_response_treated_matches_metafor() -> None:
    """Issue 12: response over those given 131I (Ho 5/8, ERRITI 1/7, MERAIODE RAS 2/10; MERAIODE BRAF's
    number treated is not reported, so it is left out), metafor adhoc."""
    table = outcome_table(load_evidence(), "response", denominator="treated")
    assert [(r.row_id, r.events, r.total) for r in table.rows] == [
        ("P01", 5, 8), ("P05c", 1, 7), ("P07", 2, 10)]
    res = pool_outcome(table).overall
    assert res.estimate == pytest.approx(0.31596965, abs=TOL)
    assert (res.ci_lower, res.ci_upper) == pytest.approx((0.01904358, 0.91660481), abs=TOL)
    assert (res.pi_lower, res.pi_upper) == pytest.approx((0.00264754, 0.98771190), abs=TOL)
    assert res.tau2 == pytest.approx(0.89511546, abs=TOL)


def test_weeks_regression_matches_metafor() -> None:
    """Weeks of drug before the uptake scan (continuous), adhoc; Lee 2021 (no weeks) is dropped. The rows
    span several definitions of restored uptake, so issue 12 requires mix_definitions (labelled)."""
    reg = regress_outcome(outcome_table(load_evidence(), "uptake"), ["weeks_drug_before_uptake_assessment"],
                          mix_definitions=True)
    assert reg.mixed_definitions and reg.to_dict()["mixed_definitions"] is True
    assert [i for i, _ in reg.dropped] == ["C03"]
    b0, b1 = reg.result.coefficients
    assert (b0.estimate, b1.estimate) == pytest.approx((-1.77858834, 0.38663685), abs=TOL)
    assert (b0.se, b1.se) == pytest.approx((2.01733190, 0.53023589), abs=TOL)
    assert reg.result.qm == pytest.approx(0.53170194, abs=TOL)
    assert reg.result.qe == pytest.approx(4.25247643, abs=TOL)
