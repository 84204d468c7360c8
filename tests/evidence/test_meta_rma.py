"""redif.evidence random/equal-effects models against R metafor 3.8-1 on dat.bcg (log risk ratios).

Expected values: ``tests/evidence/data/metafor_reference.json``, generated here by
``Rscript tests/evidence/data/metafor_reference.R`` (section "dat.bcg"). Tolerance 1e-4 absolute on
estimates, CIs and tau^2 (5e-4 relative on Q, I^2 and H^2 which are larger numbers).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from redif.errors import InputError
from redif.evidence.meta import pool_generic, qprofile_tau2

REF = json.loads((Path(__file__).parent / "data" / "metafor_reference.json").read_text())
BCG = REF["bcg"]
METHODS = ["EE", "DL", "HE", "SJ", "ML", "REML", "EB", "PM", "HS"]
TOL = 1e-4


def _close(got: float, want: float, tol: float = TOL) -> None:
    assert got == pytest.approx(want, abs=tol, rel=tol), (got, want)


@pytest.mark.rref
@pytest.mark.parametrize("knha", [False, True])
@pytest.mark.parametrize("method", METHODS)
def test_bcg_every_estimator(method: str, knha: bool) -> None:
    """Pooled log RR, SE, CI, PI, tau^2, I^2, H^2, Q for each tau^2 estimator, z and Knapp-Hartung.

    R::

        library(metafor)
        dat <- escalc(measure="RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)
        res <- rma(yi, vi, data=dat, method=m, test=if (kh) "knha" else "z",
                   control=list(threshold=1e-12, tol=1e-12))
        predict(res); res$tau2; res$I2; res$H2; res$QE; res$QEp
        confint(res, control=list(tol=1e-12))   # Q-profile CIs (not for EE)
    """
    ref = REF[f"bcg_{method}" + ("_knha" if knha else "")]
    res = pool_generic(BCG["yi"], BCG["vi"], method=method, knha=knha)
    _close(res.mu, ref["mu"])
    _close(res.se, ref["se"])
    _close(res.stat, ref["zval"])
    _close(res.p, ref["pval"])
    _close(res.ci_lower, ref["ci_lb"])
    _close(res.ci_upper, ref["ci_ub"])
    if method == "EE":  # metafor gives no PI for an EE model; ours collapses to the CI (tau2 = 0)
        assert (res.pi_lower, res.pi_upper) == pytest.approx((res.ci_lower, res.ci_upper))
    else:
        _close(res.pi_lower, ref["mu_pi_lb"])
        _close(res.pi_upper, ref["mu_pi_ub"])
    _close(res.tau2, ref["tau2"])
    _close(res.i2, ref["I2"], 5e-4)
    _close(res.h2, ref["H2"], 5e-4)
    _close(res.q, ref["QE"], 5e-4)
    _close(res.q_p, ref["QEp"])
    assert res.q_df == 12
    assert res.inference == ("t" if knha else "z")
    assert res.pi_convention == ("t(df=12)" if knha else "z")
    np.testing.assert_allclose([s.weight_percent for s in res.studies], ref["weights"], atol=TOL)
    if method != "EE":
        _close(res.tau2_se, ref["se_tau2"])
    if method != "EE":
        assert res.tau2_ci_lower is not None and res.tau2_ci_upper is not None
        _close(res.tau2_ci_lower, ref["tau2_ci"][0])
        _close(res.tau2_ci_upper, ref["tau2_ci"][1])
        _close(res.i2_ci_lower, ref["I2_ci"][0], 5e-4)  # type: ignore[arg-type]
        _close(res.i2_ci_upper, ref["I2_ci"][1], 5e-4)  # type: ignore[arg-type]
        _close(res.h2_ci_lower, ref["H2_ci"][0], 5e-4)  # type: ignore[arg-type]
        _close(res.h2_ci_upper, ref["H2_ci"][1], 5e-4)  # type: ignore[arg-type]
    else:
        assert res.tau2 == 0.0 and res.tau2_ci_lower is None


def test_ee_and_dl_closed_form() -> None:
    """EE is the inverse-variance mean; DL tau^2 = (Q - (k-1)) / (sum w - sum w^2 / sum w).

    Independent closed forms (DerSimonian and Laird 1986), computed with plain numpy here.
    """
    y = np.array(BCG["yi"])
    v = np.array(BCG["vi"])
    w = 1 / v
    mu = (w * y).sum() / w.sum()
    q = (w * (y - mu) ** 2).sum()
    tau2 = max(0.0, (q - 12) / (w.sum() - (w**2).sum() / w.sum()))
    assert pool_generic(y, v, method="EE").mu == pytest.approx(mu, rel=1e-12)
    dl = pool_generic(y, v, method="DL")
    assert dl.tau2 == pytest.approx(tau2, rel=1e-12)
    assert dl.q == pytest.approx(q, rel=1e-12)
    ws = 1 / (v + tau2)
    assert dl.mu == pytest.approx((ws * y).sum() / ws.sum(), rel=1e-12)


def test_qprofile_null_set_when_homogeneous() -> None:
    """With Q(0) below the lower chi-square quantile the Q-profile CI is the null set, reported (0, 0)."""
    y = np.array([0.10, 0.11, 0.09, 0.10, 0.105])
    v = np.full(5, 0.04)
    assert qprofile_tau2(y, v) == (0.0, 0.0)


def test_tau2_zero_gives_equal_effects_answer() -> None:
    """Homogeneous data: REML tau^2 = 0 and the estimate equals the EE estimate."""
    y = np.array([0.10, 0.11, 0.09, 0.10, 0.105])
    v = np.full(5, 0.04)
    re = pool_generic(y, v, method="REML")
    ee = pool_generic(y, v, method="EE")
    assert re.tau2 == pytest.approx(0.0, abs=1e-10)
    assert re.mu == pytest.approx(ee.mu, abs=1e-10)


@pytest.mark.parametrize("method", ["DL", "REML", "PM", "SJ", "HE", "ML", "EB", "HS"])
def test_single_study_random_effects_rejected(method: str) -> None:
    """k = 1 with a random-effects method is an InputError naming k; EE is fine."""
    with pytest.raises(InputError, match="k = 1"):
        pool_generic([0.3], [0.04], method=method)
    res = pool_generic([0.3], [0.04], method="EE")
    assert res.mu == pytest.approx(0.3)
    assert res.se == pytest.approx(0.2)


@pytest.mark.parametrize(
    ("yi", "vi", "match"),
    [
        ([0.1, float("nan")], [0.1, 0.1], "study 2"),
        ([0.1, 0.2], [0.1, -0.1], "study 2"),
        ([0.1, 0.2], [0.0, 0.1], "study 1"),
        ([0.1, 0.2], [0.1], "effect sizes"),
        ([], [], "no studies"),
    ],
)
def test_bad_generic_input(yi: list[float], vi: list[float], match: str) -> None:
    """Non-finite yi, non-positive vi, length mismatch and empty input are InputErrors."""
    with pytest.raises(InputError, match=match):
        pool_generic(yi, vi)


def test_unknown_method_and_level() -> None:
    """Unknown method names and levels outside (0, 100) are InputErrors."""
    with pytest.raises(InputError, match="method"):
        pool_generic([0.1, 0.2], [0.1, 0.1], method="XYZ")
    with pytest.raises(InputError, match="level"):
        pool_generic([0.1, 0.2], [0.1, 0.1], level=100)


def test_level_changes_interval() -> None:
    """A 90% interval is narrower than the 95% one by the ratio of normal quantiles."""
    r95 = pool_generic(BCG["yi"], BCG["vi"], method="REML")
    r90 = pool_generic(BCG["yi"], BCG["vi"], method="REML", level=90)
    assert (r90.ci_upper - r90.mu) / (r95.ci_upper - r95.mu) == pytest.approx(1.6448536 / 1.9599640, rel=1e-6)


@pytest.mark.rref
@pytest.mark.parametrize(("method", "knha", "key"), [("REML", True, "bcg_REML_knha_90"),
                                                     ("DL", False, "bcg_DL_90")])
def test_level_90_against_metafor(method: str, knha: bool, key: str) -> None:
    """A 90% level applies to the CI, the prediction interval and the Q-profile CI.

    R::

        res <- rma(yi, vi, data=dat, method="REML", test="knha", level=90)   # and method="DL"
        predict(res); confint(res, control=list(tol=1e-12))
    """
    ref = REF[key]
    res = pool_generic(BCG["yi"], BCG["vi"], method=method, knha=knha, level=90)
    for got, k in [(res.ci_lower, "ci_lb"), (res.ci_upper, "ci_ub"), (res.pi_lower, "mu_pi_lb"),
                   (res.pi_upper, "mu_pi_ub")]:
        _close(got, ref[k])
    _close(res.tau2_ci_lower, ref["tau2_ci"][0])  # type: ignore[arg-type]
    _close(res.tau2_ci_upper, ref["tau2_ci"][1])  # type: ignore[arg-type]
    _close(res.i2_ci_lower, ref["I2_ci"][0], 5e-4)  # type: ignore[arg-type]
    _close(res.i2_ci_upper, ref["I2_ci"][1], 5e-4)  # type: ignore[arg-type]
