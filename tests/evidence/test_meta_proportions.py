"""Single-proportion measures (PR, PLO, PAS, PFT) with back-transformation, against R metafor 3.8-1.

Data: ``dat.pritz1997`` (two studies with x = n) and the treatment arm of ``dat.nielweise2007``
(several x = 0), so the continuity-correction convention is exercised. Expected values come from
``tests/evidence/data/metafor_reference.json`` (``Rscript tests/evidence/data/metafor_reference.R``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from redif.errors import InputError
from redif.evidence.meta import back_transform, escalc, pool_proportions, study_intervals

REF = json.loads((Path(__file__).parent / "data" / "metafor_reference.json").read_text())
TOL = 1e-4
DATA = {
    "pritz": (REF["pritz"]["xi"], REF["pritz"]["ni"]),
    "niel": (REF["niel"]["ai"], REF["niel"]["n1i"]),
}


def _close(got: float, want: float, tol: float = TOL) -> None:
    assert got == pytest.approx(want, abs=tol, rel=tol), (got, want)


@pytest.mark.rref
@pytest.mark.parametrize("method", ["DL", "REML"])
@pytest.mark.parametrize("measure", ["PR", "PLO", "PAS", "PFT"])
@pytest.mark.parametrize("data", ["pritz", "niel"])
def test_measure_and_back_transform(data: str, measure: str, method: str) -> None:
    """escalc values, pooled estimate/CI/PI back-transformed (PFT: harmonic mean of n).

    R::

        es  <- escalc(measure=ms, xi=x, ni=n)            # add=1/2, to="only0" for PR/PLO
        res <- rma(yi, vi, data=es, method=m, control=list(threshold=1e-12))
        predict(res, transf=tf, targs=list(ni=n))
        # tf: PR none, PLO transf.ilogit, PAS transf.iarcsin, PFT transf.ipft.hm
    """
    x, n = DATA[data]
    ref = REF[f"{data}_{measure}_{method}"]
    yi, vi = escalc(measure, x, n)
    np.testing.assert_allclose(yi, ref["yi"], atol=1e-10)
    np.testing.assert_allclose(vi, ref["vi"], atol=1e-10)
    res = pool_proportions(x, n, measure=measure, method=method)
    _close(res.mu, ref["mu"])
    _close(res.se, ref["se"])
    _close(res.tau2, ref["tau2"])
    _close(res.estimate, ref["est"])
    _close(res.ci_lower, ref["est_ci_lb"])
    _close(res.ci_upper, ref["est_ci_ub"])
    pi_lb, pi_ub = ref["est_pi_lb"], ref["est_pi_ub"]
    if measure == "PR":  # metafor does not clamp raw proportions; redif clamps to [0, 1]
        pi_lb, pi_ub = max(pi_lb, 0.0), min(pi_ub, 1.0)
    _close(res.pi_lower, pi_lb)
    _close(res.pi_upper, pi_ub)
    _close(res.i2, ref["I2"], 5e-4)
    _close(res.q, ref["QE"], 5e-4)
    if measure == "PFT":
        assert res.n_harmonic == pytest.approx(1 / np.mean(1 / np.asarray(n, dtype=float)))


@pytest.mark.rref
def test_knha_on_proportions() -> None:
    """Knapp-Hartung with PLO: t-based CI and PI (k - 1 df), back-transformed.

    R::

        res <- rma(measure="PLO", xi=xi, ni=ni, data=dat.pritz1997, method="REML", test="knha")
        predict(res, transf=transf.ilogit)
    """
    ref = REF["pritz_PLO_REML_knha"]
    x, n = DATA["pritz"]
    res = pool_proportions(x, n, measure="PLO", method="REML", knha=True)
    for got, key in [(res.mu, "mu"), (res.se, "se"), (res.estimate, "est"), (res.ci_lower, "est_ci_lb"),
                     (res.ci_upper, "est_ci_ub"), (res.pi_lower, "est_pi_lb"), (res.pi_upper, "est_pi_ub")]:
        _close(got, ref[key])
    assert res.df == 13 and res.pi_convention == "t(df=13)"


@pytest.mark.rref
def test_study_intervals_clopper_pearson_and_wilson() -> None:
    """Per-study CIs: Clopper-Pearson = R ``binom.test``; Wilson = R ``prop.test(correct=FALSE)``.

    R::

        binom.test(x, n)$conf.int; binom.test(x, n, conf.level=0.9)$conf.int
        prop.test(x, n, correct=FALSE)$conf.int
    """
    ref = REF["study_ci"]
    p, lo, hi = study_intervals(ref["x"], ref["n"])
    np.testing.assert_allclose(lo, ref["cp_lb"], atol=1e-8)
    np.testing.assert_allclose(hi, ref["cp_ub"], atol=1e-8)
    _, lo, hi = study_intervals(ref["x"], ref["n"], level=90)
    np.testing.assert_allclose(lo, ref["cp90_lb"], atol=1e-8)
    np.testing.assert_allclose(hi, ref["cp90_ub"], atol=1e-8)
    _, lo, hi = study_intervals(ref["x"], ref["n"], method="wilson")
    np.testing.assert_allclose(lo, ref["wi_lb"], atol=1e-8)
    np.testing.assert_allclose(hi, ref["wi_ub"], atol=1e-8)
    np.testing.assert_allclose(p, np.array(ref["x"]) / np.array(ref["n"]))


def test_study_rows_use_raw_proportions() -> None:
    """StudyRow estimate is x/n with the chosen interval, not the continuity-corrected value."""
    res = pool_proportions([0, 5, 12], [20, 25, 12], measure="PLO", method="DL", study_ci="wilson")
    assert [s.estimate for s in res.studies] == pytest.approx([0.0, 0.2, 1.0])
    assert res.studies[0].ci_lower == 0.0 and res.studies[2].ci_upper == pytest.approx(1.0)
    assert sum(s.weight_percent for s in res.studies) == pytest.approx(100.0)
    assert res.studies[0].events == 0 and res.studies[0].total == 20


def test_back_transform_closed_forms() -> None:
    """ilogit, sin^2 and Miller's inverse of the double arcsine round-trip a proportion."""
    assert back_transform("PLO", 0.0) == pytest.approx(0.5)
    assert back_transform("PAS", np.arcsin(np.sqrt(0.3))) == pytest.approx(0.3)
    n = 40.0
    for p in (0.05, 0.3, 0.5, 0.9):
        t = 0.5 * (np.arcsin(np.sqrt(p * n / (n + 1))) + np.arcsin(np.sqrt((p * n + 1) / (n + 1))))
        assert back_transform("PFT", t, [n]) == pytest.approx(p, abs=1e-10)
    assert back_transform("PFT", -0.1, [n]) == 0.0
    assert back_transform("PFT", 1.6, [n]) == 1.0
    assert back_transform("PR", 1.2) == 1.0


@pytest.mark.parametrize(
    ("x", "n", "match"),
    [
        ([3, 12], [10, 10], "study 2: events \\(12\\) exceed total"),
        ([3, -1], [10, 10], "study 2"),
        ([3, 1.5], [10, 10], "study 2"),
        ([3, 1], [10, 0], "total must be at least 1"),
        ([], [], "no studies"),
    ],
)
def test_bad_counts(x: list[float], n: list[float], match: str) -> None:
    """events > total, negative, fractional counts, empty total, empty input -> InputError."""
    with pytest.raises(InputError, match=match):
        pool_proportions(x, n)


def test_bad_measure() -> None:
    """GEN is not a proportion measure; unknown measures are rejected."""
    with pytest.raises(InputError, match="measure"):
        pool_proportions([1, 2], [10, 10], measure="GEN")
    with pytest.raises(InputError, match="measure"):
        pool_proportions([1, 2], [10, 10], measure="OR")
