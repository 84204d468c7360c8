"""Estimators of the between-study variance tau^2 for (mixed-effects) meta-analysis models.

Every estimator works for an intercept-only model and for meta-regression (design matrix ``X``).
All quantities are computed in O(k p^2) without forming the k x k projection matrix
``P = W - W X (X'WX)^-1 X'W``: ``P y``, ``tr(P)`` and ``tr(PP)`` have closed forms in p x p
algebra, which is what makes the fits fast for k in the thousands.

The definitions and the iteration scheme (Fisher scoring for ML/REML, started from the
Hedges estimate, step halving at the boundary, the check that tau^2 = 0 does not have a larger
likelihood) follow ``metafor::rma.uni`` (version 3.8), so that estimates agree to numerical accuracy.

References
----------
DerSimonian R, Laird N. Meta-analysis in clinical trials. Control Clin Trials 1986;7:177-188.
Hedges LV, Olkin I. Statistical methods for meta-analysis. Academic Press, 1985.
Sidik K, Jonkman JN. Simple heterogeneity variance estimation for meta-analysis. J R Stat Soc C
2005;54:367-384.
Paule RC, Mandel J. Consensus values and weighting factors. J Res Natl Bur Stand 1982;87:377-385.
Morris CN. Parametric empirical Bayes inference. J Am Stat Assoc 1983;78:47-55.
Hunter JE, Schmidt FL. Methods of meta-analysis, 2nd ed. Sage, 2004.
Viechtbauer W. Bias and efficiency of meta-analytic variance estimators in the random-effects model.
J Educ Behav Stat 2005;30:261-293.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import optimize

from redif.errors import ConvergenceError, InputError
from redif.evidence.estimators import (
    ESTIMATORS,
    Method,
    Tau2Estimator,
    method_codes,
    methods_help,
    parse_method,
)

__all__ = ["ESTIMATORS", "Method", "Tau2Estimator", "WeightedFit", "estimate_tau2", "is_intercept_only",
           "method_codes", "methods_help", "parse_method", "q_generalised", "tau2_se", "weighted_fit"]
# The estimators (tau2_*) and standard errors (se_*) below are named by the table
# redif.evidence.estimators.ESTIMATORS, which imports them on first use.

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class WeightedFit:
    """Weighted least squares quantities for weights ``w`` (p x p algebra only)."""

    w: FloatArray
    beta: FloatArray
    xtwx_inv: FloatArray
    resid: FloatArray  # y - X beta
    py: FloatArray  # P y = W (y - X beta)
    rss: float  # y' P y

    def trace_p(self, X: FloatArray) -> float:
        """``tr(P)``."""
        xw2x = (X * (self.w**2)[:, None]).T @ X
        return float(self.w.sum() - np.trace(self.xtwx_inv @ xw2x))

    def trace_pp(self, X: FloatArray) -> float:
        """``tr(PP)`` (= sum of squared elements of the symmetric P)."""
        w = self.w
        A = self.xtwx_inv
        B2 = (X * (w**2)[:, None]).T @ X
        B3 = (X * (w**3)[:, None]).T @ X
        AB2 = A @ B2
        return float((w**2).sum() - 2.0 * np.trace(A @ B3) + np.trace(AB2 @ AB2))


def weighted_fit(y: FloatArray, X: FloatArray, w: FloatArray) -> WeightedFit:
    """Weighted least squares fit of ``y`` on ``X`` with weights ``w``."""
    if X.shape[1] == 1 and X[0, 0] == 1.0 and bool(np.all(X == 1.0)):  # intercept only: scalar algebra
        sw = float(w.sum())
        inv = np.array([[1.0 / sw]])
        beta = np.array([float(w @ y) / sw])
        resid = y - beta[0]
        py = w * resid
        return WeightedFit(w=w, beta=beta, xtwx_inv=inv, resid=resid, py=py, rss=float(resid @ py))
    xtw = X.T * w
    xtwx = xtw @ X
    try:
        inv = np.asarray(np.linalg.inv(xtwx), dtype=float)
    except np.linalg.LinAlgError:
        raise InputError("the moderators are collinear (singular design matrix)", field="mods",
                         remedy="drop a redundant moderator") from None
    beta = inv @ (xtw @ y)
    resid = y - X @ beta
    py = w * resid
    return WeightedFit(w=w, beta=beta, xtwx_inv=inv, resid=resid, py=py, rss=float(resid @ py))


def is_intercept_only(X: FloatArray) -> bool:
    """True when ``X`` is a single column of ones (the intercept-only model)."""
    return X.shape[1] == 1 and bool(np.all(X == 1.0))


def _q_int(tau2: float, y: FloatArray, v: FloatArray) -> float:
    w = 1.0 / (v + tau2)
    r = y - float(w @ y) / float(w.sum())
    return float(w @ (r * r))


def q_generalised(tau2: float, y: FloatArray, v: FloatArray, X: FloatArray) -> float:
    """Generalised Q statistic ``y' P(tau2) y`` with weights ``1/(v + tau2)``."""
    if is_intercept_only(X):
        return _q_int(tau2, y, v)
    return weighted_fit(y, X, 1.0 / (v + tau2)).rss


def _fisher_step_int(tau2: float, y: FloatArray, v: FloatArray, reml: bool) -> float:
    w = 1.0 / (v + tau2)
    sw = float(w.sum())
    w2 = w * w
    sw2 = float(w2.sum())
    r = y - float(w @ y) / sw
    py = w * r
    ppy = float(py @ py)
    if not reml:
        return (ppy - sw) / sw2
    trp = sw - sw2 / sw
    trpp = sw2 - 2.0 * float(w2 @ w) / sw + (sw2 / sw) ** 2
    return (ppy - trp) / trpp


def _loglik(tau2: float, y: FloatArray, v: FloatArray, X: FloatArray, reml: bool) -> float:
    if is_intercept_only(X):
        w = 1.0 / (v + tau2)
        ll = 0.5 * float(np.log(w).sum()) - 0.5 * _q_int(tau2, y, v)
        return ll - 0.5 * float(np.log(w.sum())) if reml else ll
    fit = weighted_fit(y, X, 1.0 / (v + tau2))
    ll = -0.5 * float(np.log(v + tau2).sum()) - 0.5 * fit.rss
    if reml:  # -1/2 log|X'WX|
        ll += 0.5 * float(np.linalg.slogdet(fit.xtwx_inv)[1])
    return ll


def tau2_he(y: FloatArray, v: FloatArray, X: FloatArray) -> float:
    k, p = X.shape
    ols = weighted_fit(y, X, np.ones_like(v))
    tr_pv = float(v.sum() - np.trace(ols.xtwx_inv @ ((X * v[:, None]).T @ X)))
    return float((ols.rss - tr_pv) / (k - p))


def tau2_pm(y: FloatArray, v: FloatArray, X: FloatArray) -> float:
    k, p = X.shape
    target = float(k - p)
    if q_generalised(0.0, y, v, X) < target:
        return 0.0
    hi = 100.0
    while q_generalised(hi, y, v, X) > target:
        hi *= 10.0
        if hi > 1e12:
            raise ConvergenceError("Paule-Mandel estimator: no root below tau2 = 1e12")
    root: float = optimize.brentq(lambda t: q_generalised(t, y, v, X) - target, 0.0, hi,
                                  xtol=1e-14, rtol=1e-13, maxiter=500)
    return float(root)


def _fisher(y: FloatArray, v: FloatArray, X: FloatArray, reml: bool, *, tol: float = 1e-12,
            maxiter: int = 1000) -> float:
    tau2 = max(0.0, tau2_he(y, v, X))
    intercept = is_intercept_only(X)
    for _ in range(maxiter):
        if intercept:
            adj = _fisher_step_int(tau2, y, v, reml)
        else:
            fit = weighted_fit(y, X, 1.0 / (v + tau2))
            ppy = float(fit.py @ fit.py)  # y'PPy
            if reml:
                adj = (ppy - fit.trace_p(X)) / fit.trace_pp(X)
            else:
                adj = (ppy - float(fit.w.sum())) / float((fit.w**2).sum())
        if not np.isfinite(adj):
            adj = 0.0
        while tau2 + adj < 0.0:
            adj /= 2.0
        new = float(tau2 + adj)
        if abs(new - tau2) < tol * max(1.0, tau2):
            tau2 = new
            break
        tau2 = new
    else:
        raise ConvergenceError(
            "Fisher scoring for tau2 did not converge in 1000 iterations; try method='PM' or 'DL'"
        )
    # metafor's ll0check: the likelihood at tau2 = 0 must not be larger.
    if tau2 > 1e-5 and _loglik(0.0, y, v, X, reml) - _loglik(tau2, y, v, X, reml) > 1e-4:
        return 0.0
    return max(0.0, tau2)


# --- estimators of tau^2 (named in redif.evidence.estimators.ESTIMATORS) -----------------------------------

def tau2_ee(y: FloatArray, v: FloatArray, X: FloatArray) -> float:
    return 0.0


def tau2_dl(y: FloatArray, v: FloatArray, X: FloatArray) -> float:
    k, p = X.shape
    fit = weighted_fit(y, X, 1.0 / v)
    return float((fit.rss - (k - p)) / fit.trace_p(X))


def tau2_hs(y: FloatArray, v: FloatArray, X: FloatArray) -> float:
    k = X.shape[0]
    fit = weighted_fit(y, X, 1.0 / v)
    return float((fit.rss - k) / float((1.0 / v).sum()))


def tau2_sj(y: FloatArray, v: FloatArray, X: FloatArray) -> float:
    k, p = X.shape
    tau0 = float(np.mean((y - y.mean()) ** 2))
    fit = weighted_fit(y, X, 1.0 / (v + tau0))
    return float(tau0 * fit.rss / (k - p))


def tau2_ml(y: FloatArray, v: FloatArray, X: FloatArray) -> float:
    return _fisher(y, v, X, reml=False)


def tau2_reml(y: FloatArray, v: FloatArray, X: FloatArray) -> float:
    return _fisher(y, v, X, reml=True)


# --- standard errors of tau^2 (metafor rma.uni's se.tau2) -------------------------------------------------

def se_zero(y: FloatArray, v: FloatArray, X: FloatArray, tau2: float) -> float:
    return 0.0


def se_ml(y: FloatArray, v: FloatArray, X: FloatArray, tau2: float) -> float:
    """``sqrt(2 / sum w^2)`` with ``w = 1/(v + tau2)`` (inverse Fisher information, ML)."""
    fit = weighted_fit(y, X, 1.0 / (v + tau2))
    return float(np.sqrt(2.0 / (fit.w**2).sum()))


def se_reml(y: FloatArray, v: FloatArray, X: FloatArray, tau2: float) -> float:
    """``sqrt(2 / tr(PP))`` (inverse Fisher information, REML)."""
    fit = weighted_fit(y, X, 1.0 / (v + tau2))
    return float(np.sqrt(2.0 / fit.trace_pp(X)))


def se_pm(y: FloatArray, v: FloatArray, X: FloatArray, tau2: float) -> float:
    """``sqrt(2 k^2 / (k - p) / (sum w)^2)`` (Paule-Mandel and empirical Bayes, as metafor)."""
    k, p = X.shape
    fit = weighted_fit(y, X, 1.0 / (v + tau2))
    return float(np.sqrt(2.0 * k**2 / (k - p) / fit.w.sum() ** 2))


def _se_moment(y: FloatArray, v: FloatArray, X: FloatArray, tau2: float, *, hs: bool) -> float:
    k, p = X.shape
    fit = weighted_fit(y, X, 1.0 / v)
    trp, trpp = fit.trace_p(X), fit.trace_pp(X)
    core = 2.0 * (k - p) + 4.0 * tau2 * trp + 2.0 * tau2**2 * trpp
    denom = float(fit.w.sum()) if hs else trp
    return float(np.sqrt(core) / denom)


def se_dl(y: FloatArray, v: FloatArray, X: FloatArray, tau2: float) -> float:
    """``sqrt(2(k-p) + 4 tau2 tr(P) + 2 tau2^2 tr(PP)) / tr(P)`` with ``P`` for weights ``1/v``."""
    return _se_moment(y, v, X, tau2, hs=False)


def se_hs(y: FloatArray, v: FloatArray, X: FloatArray, tau2: float) -> float:
    """As DerSimonian-Laird, divided by ``sum(1/v)`` instead of ``tr(P)``."""
    return _se_moment(y, v, X, tau2, hs=True)


def _pv_traces(y: FloatArray, v: FloatArray, X: FloatArray, *, he: bool) -> tuple[float, ...]:
    """Traces of PV products in p x p algebra: OLS projection (HE) or weights ``1/(v + tau2_0)`` (SJ)."""
    tau0 = float(np.mean((y - y.mean()) ** 2))
    w = np.ones_like(v) if he else 1.0 / (v + tau0)
    A = np.linalg.inv((X.T * w) @ X)

    def xdx(d: FloatArray) -> FloatArray:
        return np.asarray((X.T * d) @ X, dtype=float)

    C = xdx(w * w * v)
    tr_pv = float((w * v).sum() - np.trace(A @ C))
    tr_pvpv = float(((w * v) ** 2).sum() - 2.0 * np.trace(A @ xdx(w**3 * v**2)) + np.trace(A @ C @ A @ C))
    if he:
        return tr_pv, tr_pvpv
    B2 = xdx(w * w)
    tr_ppv = float((w * w * v).sum() - 2.0 * np.trace(A @ xdx(w**3 * v)) + np.trace(A @ B2 @ A @ C))
    tr_pp = float((w * w).sum() - 2.0 * np.trace(A @ xdx(w**3)) + np.trace(A @ B2 @ A @ B2))
    return tau0, tr_pvpv, tr_ppv, tr_pp


def se_he(y: FloatArray, v: FloatArray, X: FloatArray, tau2: float) -> float:
    """``sqrt(2 tr(PVPV) + 4 tau2 tr(PV) + 2 tau2^2 (k-p)) / (k-p)`` with the OLS projection ``P``."""
    k, p = X.shape
    tr_pv, tr_pvpv = _pv_traces(y, v, X, he=True)
    core = 2.0 * tr_pvpv + 4.0 * tau2 * tr_pv + 2.0 * tau2**2 * (k - p)
    return float(np.sqrt(core) / (k - p))


def se_sj(y: FloatArray, v: FloatArray, X: FloatArray, tau2: float) -> float:
    """``tau2_0 sqrt(2 tr(PVPV) + 4 tau2 tr(PPV) + 2 tau2^2 tr(PP)) / (k-p)``, weights ``1/(v + tau2_0)``."""
    k, p = X.shape
    tau0, tr_pvpv, tr_ppv, tr_pp = _pv_traces(y, v, X, he=False)
    core = 2.0 * tr_pvpv + 4.0 * tau2 * tr_ppv + 2.0 * tau2**2 * tr_pp
    return float(tau0 * np.sqrt(core) / (k - p))


def estimate_tau2(y: FloatArray, v: FloatArray, X: FloatArray, method: Method) -> float:
    """Estimate tau^2 by ``method`` (an entry of :data:`~redif.evidence.estimators.ESTIMATORS`) for
    outcomes ``y``, variances ``v`` and design ``X`` (k x p).

    Returns 0 for ``EE``; values are truncated at zero as in metafor.

    Raises
    ------
    InputError
        For a method without an estimator in the table (GLMM, or anything unknown) -- never a silent
        fall-through to another estimator.
    """
    entry = ESTIMATORS[parse_method(method)]
    estimate = entry.estimator()
    if entry.positive_v and np.any(v <= 0):
        raise InputError(f"{method} needs positive sampling variances", field="vi",
                         value=float(v.min()), remedy="remove studies with vi <= 0")
    return max(0.0, float(estimate(y, v, X)))


def tau2_se(method: Method, y: FloatArray, v: FloatArray, X: FloatArray, tau2: float) -> float:
    """Standard error of the tau^2 estimate by ``method`` (metafor's ``se.tau2``)."""
    return float(ESTIMATORS[parse_method(method)].se_formula()(y, v, X, tau2))
