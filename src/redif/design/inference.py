"""Inference after a Simon two-stage trial: UMVUE, stagewise p-value and exact confidence interval.

The trial stops after stage 1 when ``x <= r1`` (then ``x`` responses among ``n1``); otherwise ``x`` is
the total number of responses among all ``n``. Outcomes are ordered stagewise (Koyama & Chen 2008): any
outcome that continued to stage 2 is more extreme than any outcome that stopped, and within a stage a
larger count is more extreme. The p-value is ``P_p0(outcome at least as extreme)``, and the
``1 - 2 alpha`` confidence interval inverts that ordering exactly, like Clopper-Pearson for one stage:
the lower limit solves ``P_p(T >= t) = alpha`` and the upper limit ``P_p(T <= t) = alpha``, so each
one-sided coverage is at least ``1 - alpha`` for every p.

clinfun's ``twostage.inference`` finds the same lower limit (on a 1e-4 grid) but takes the upper limit
where ``P_p(T >= t) = 1 - alpha``, i.e. ``P_p(T < t) = alpha``, which leaves the observed outcome out
and can cover less than ``1 - alpha``; ``ci_method="clinfun"`` reproduces that choice (exact root,
no grid) for comparison.

References
----------
Jung SH, Kim KM. On the estimation of the binomial probability in multistage clinical trials.
Stat Med 2004;23:881-896.
Koyama T, Chen H. Proper inference from Simon's two-stage designs. Stat Med 2008;27:3145-3154.
Seshan VE. clinfun R package 1.1.5, ``twostage.inference``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special, stats

from redif.design._validate import check_count, check_open_unit
from redif.errors import InputError

__all__ = ["SimonInference", "simon_inference", "stagewise_cdf", "stagewise_p_value"]


@dataclass(frozen=True)
class SimonInference:
    """Estimate, p-value and confidence interval after a two-stage trial.

    Attributes
    ----------
    umvue
        Uniformly minimum-variance unbiased estimate of the response rate (Jung & Kim 2004).
    p_value
        One-sided p-value for H0: p <= p0 under the stagewise ordering.
    ci_lower, ci_upper
        Exact ``1 - 2 alpha`` two-sided confidence limits (each one-sided ``1 - alpha``).
    stopped_early
        True when ``x <= r1`` (trial stopped after stage 1).
    confidence
        Two-sided confidence level ``1 - 2 alpha``.
    """

    umvue: float
    p_value: float
    ci_lower: float
    ci_upper: float
    stopped_early: bool
    confidence: float


def _check(x: int, r1: int, n1: int, n: int) -> None:
    check_count(n1, "n1", minimum=1)
    check_count(n, "n", minimum=2)
    if n1 >= n:
        raise InputError(
            "the first stage must be smaller than the total",
            field="n1",
            value=n1,
            remedy=f"give n1 < n (n = {n})",
        )
    check_count(r1, "r1", minimum=0, maximum=n1 - 1)
    check_count(x, "x", minimum=0, maximum=n)


def stagewise_p_value(p: float, x: int, r1: int, n1: int, n: int) -> float:
    """``P_p(outcome at least as extreme as x)`` under the stagewise ordering.

    Stopped early (``x <= r1``): ``P(X1 >= x)``. Otherwise:
    ``sum_{x1 = r1+1}^{n1} b(x1; n1, p) P(X2 >= x - x1)``.
    """
    if x <= r1:
        return float(stats.binom.sf(x - 1, n1, p))
    x1 = np.arange(r1 + 1, n1 + 1)
    return float(np.sum(stats.binom.pmf(x1, n1, p) * stats.binom.sf(x - x1 - 1, n - n1, p)))


def stagewise_cdf(p: float, x: int, r1: int, n1: int, n: int) -> float:
    """``P_p(outcome at most as extreme as x)`` under the stagewise ordering.

    Stopped early (``x <= r1``): ``P(X1 <= x)``. Otherwise:
    ``B(r1; n1, p) + sum_{x1 = r1+1}^{n1} b(x1; n1, p) P(X2 <= x - x1)``.
    """
    if x <= r1:
        return float(stats.binom.cdf(x, n1, p))
    x1 = np.arange(r1 + 1, n1 + 1)
    cont = np.sum(stats.binom.pmf(x1, n1, p) * stats.binom.cdf(x - x1, n - n1, p))
    return float(stats.binom.cdf(r1, n1, p) + cont)


def _umvue(x: int, r1: int, n1: int, n: int) -> float:
    if x <= r1:
        return x / n1
    n2 = n - n1
    x1 = np.arange(max(r1 + 1, x - n2), min(x, n1) + 1)
    # sum C(n1-1, x1-1) C(n2, x-x1) / sum C(n1, x1) C(n2, x-x1), in logs for large n
    num = special.gammaln(n1) - special.gammaln(x1) - special.gammaln(n1 - x1 + 1)
    den = special.gammaln(n1 + 1) - special.gammaln(x1 + 1) - special.gammaln(n1 - x1 + 1)
    tail = special.gammaln(n2 + 1) - special.gammaln(x - x1 + 1) - special.gammaln(n2 - x + x1 + 1)
    return float(np.exp(special.logsumexp(num + tail) - special.logsumexp(den + tail)))


def simon_inference(
    x: int, r1: int, n1: int, n: int, p0: float, alpha: float = 0.05, ci_method: str = "exact"
) -> SimonInference:
    """UMVUE, stagewise p-value and exact ``1 - 2 alpha`` CI after a Simon two-stage trial.

    Parameters
    ----------
    x
        Responses observed: among the ``n1`` stage-1 patients when the trial stopped (``x <= r1``),
        else among all ``n`` patients.
    r1, n1, n
        The design (stop after stage 1 if ``<= r1`` responses among ``n1``; total ``n``).
    p0
        Null response rate.
    alpha
        One-sided error of each confidence limit (clinfun's convention; use the design's alpha).
    ci_method
        ``"exact"`` (default; guaranteed coverage) or ``"clinfun"`` (clinfun's upper limit).

    References
    ----------
    Jung SH, Kim KM. Stat Med 2004;23:881-896. Koyama T, Chen H. Stat Med 2008;27:3145-3154.
    """
    _check(x, r1, n1, n)
    p0 = check_open_unit(p0, "p0")
    alpha = check_open_unit(alpha, "alpha")
    if alpha >= 0.5:
        raise InputError("must be below 0.5 for a two-sided interval", field="alpha", value=alpha)
    stopped = x <= r1
    pv = stagewise_p_value(p0, x, r1, n1, n)

    if ci_method not in ("exact", "clinfun"):
        raise InputError(
            "unknown confidence-interval method",
            field="ci_method",
            value=ci_method,
            remedy="use 'exact' or 'clinfun'",
        )
    tol = 4 * np.finfo(float).eps

    def f_up(p: float) -> float:
        return stagewise_p_value(p, x, r1, n1, n) - alpha

    # P_p(T >= t) increases in p from P_0 (= 1 only for x = 0) to 1.
    lower = 0.0 if x == 0 else float(optimize.brentq(f_up, 0.0, 1.0, xtol=1e-13, rtol=tol))
    if ci_method == "exact":

        def f_lo(p: float) -> float:
            return stagewise_cdf(p, x, r1, n1, n) - alpha

        # P_p(T <= t) decreases in p from 1 to P_1 (= 1 only for x = n).
        upper = 1.0 if x >= n else float(optimize.brentq(f_lo, 0.0, 1.0, xtol=1e-13, rtol=tol))
    else:

        def f_cf(p: float) -> float:
            return stagewise_p_value(p, x, r1, n1, n) - (1.0 - alpha)

        upper = 0.0 if x == 0 else float(optimize.brentq(f_cf, 0.0, 1.0, xtol=1e-13, rtol=tol))
    return SimonInference(
        umvue=_umvue(x, r1, n1, n),
        p_value=pv,
        ci_lower=lower,
        ci_upper=upper,
        stopped_early=stopped,
        confidence=1.0 - 2.0 * alpha,
    )
