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

import enum
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import optimize

from redif.errors import ConvergenceError, InputError

__all__ = ["Method", "WeightedFit", "estimate_tau2", "is_intercept_only", "parse_method", "q_generalised",
           "weighted_fit"]

FloatArray = NDArray[np.float64]


class Method(enum.StrEnum):
    """Estimation method (metafor names); GLMM only for proportions."""

    EE = "EE"
    DL = "DL"
    HE = "HE"
    SJ = "SJ"
    ML = "ML"
    REML = "REML"
    EB = "EB"
    PM = "PM"
    HS = "HS"
    GLMM = "GLMM"


def parse_method(method: str | Method) -> Method:
    """Return ``method`` as a :class:`Method` (``FE`` is accepted as ``EE``)."""
    text = str(method).upper()
    if text in ("FE", "CE"):
        text = "EE"
    try:
        return Method(text)
    except ValueError:
        raise InputError(
            "unknown method", field="method", value=method,
            remedy="use one of EE, DL, HE, SJ, ML, REML, EB, PM, HS, GLMM",
        ) from None


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


def _he(y: FloatArray, v: FloatArray, X: FloatArray) -> float:
    k, p = X.shape
    ols = weighted_fit(y, X, np.ones_like(v))
    tr_pv = float(v.sum() - np.trace(ols.xtwx_inv @ ((X * v[:, None]).T @ X)))
    return float((ols.rss - tr_pv) / (k - p))


def _pm(y: FloatArray, v: FloatArray, X: FloatArray) -> float:
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
    tau2 = max(0.0, _he(y, v, X))
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


def estimate_tau2(y: FloatArray, v: FloatArray, X: FloatArray, method: Method) -> float:
    """Estimate tau^2 by ``method`` for outcomes ``y``, variances ``v`` and design ``X`` (k x p).

    Returns 0 for ``EE``; values are truncated at zero as in metafor.
    """
    k, p = X.shape
    if method is Method.EE:
        return 0.0
    if method in (Method.DL, Method.HS, Method.PM, Method.EB) and np.any(v <= 0):
        raise InputError(f"{method} needs positive sampling variances", field="vi",
                         value=float(v.min()), remedy="remove studies with vi <= 0")
    if method is Method.DL:
        fit = weighted_fit(y, X, 1.0 / v)
        tau2 = (fit.rss - (k - p)) / fit.trace_p(X)
    elif method is Method.HS:
        fit = weighted_fit(y, X, 1.0 / v)
        tau2 = (fit.rss - k) / float((1.0 / v).sum())
    elif method is Method.HE:
        tau2 = _he(y, v, X)
    elif method is Method.SJ:
        tau0 = float(np.mean((y - y.mean()) ** 2))
        fit = weighted_fit(y, X, 1.0 / (v + tau0))
        tau2 = tau0 * fit.rss / (k - p)
    elif method in (Method.PM, Method.EB):
        # EB (Morris) solves k/(k-p) y'Py = k, the same estimating equation as Paule-Mandel.
        tau2 = _pm(y, v, X)
    elif method in (Method.ML, Method.REML):
        tau2 = _fisher(y, v, X, reml=method is Method.REML)
    else:  # pragma: no cover - GLMM is dispatched elsewhere
        raise InputError("GLMM is available for proportions only", field="method", value=str(method))
    return max(0.0, float(tau2))
