"""Small-study effects and publication bias: Egger's regression test, Begg's rank correlation test
and Duval and Tweedie's trim-and-fill (metafor ``regtest``, ``ranktest``, ``trimfill``, version 3.8).

* :func:`regtest`: the mixed-effects model ``y_i = b0 + b1 sqrt(v_i) + u_i + e_i`` fitted with the
  same tau^2 estimator and test as the pooled model; the test of ``b1`` is the asymmetry test and
  ``b0`` (with its CI) the "limit estimate" for a study of infinite precision.
* :func:`ranktest`: Kendall's tau between the standardised deviates
  ``(y_i - b_EE)/sqrt(v_i - Var(b_EE))`` and ``v_i``; exact p-value (as R's ``cor.test(exact=TRUE)``)
  when there are no ties, normal approximation with the tie-corrected variance otherwise.
* :func:`trimfill`: L0 (default), R0 or Q0 estimator of the number of missing studies; the side is
  chosen from the sign of the slope of ``y_i`` on ``sqrt(v_i)`` (``"left"`` unless negative), the
  estimate is iterated on the trimmed data, missing studies are mirrored around the trimmed estimate
  and the filled data set is refitted (z tests, as metafor).

References
----------
Egger M, Davey Smith G, Schneider M, Minder C. Bias in meta-analysis detected by a simple, graphical
test. BMJ 1997;315:629-634.
Begg CB, Mazumdar M. Operating characteristics of a rank correlation test for publication bias.
Biometrics 1994;50:1088-1101.
Duval S, Tweedie R. Trim and fill: a simple funnel-plot-based method of testing and adjusting for
publication bias in meta-analysis. Biometrics 2000;56:455-463.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from redif.errors import InputError
from redif.evidence.rma import RmaFit, check_generic, check_level, fit_rma
from redif.evidence.tau2 import Method, parse_method

__all__ = ["RankTest", "RegTest", "TrimFill", "kendall_exact_cdf", "ranktest", "regtest", "trimfill"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class RegTest:
    """Egger-type regression test for funnel-plot asymmetry."""

    stat: float
    p: float
    df: int | None
    slope: float
    limit_estimate: float
    limit_ci_lower: float
    limit_ci_upper: float
    method: str

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary of the fields."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class RankTest:
    """Begg and Mazumdar's rank correlation test."""

    tau: float
    p: float
    exact: bool

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary of the fields."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class TrimFill:
    """Trim-and-fill result: the filled model and the imputed studies (analysis scale)."""

    k0: int
    se_k0: float
    side: str
    estimator: str
    estimate: float
    se: float
    ci_lower: float
    ci_upper: float
    p: float
    tau2: float
    filled_yi: FloatArray
    filled_vi: FloatArray

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary with the filled studies as lists."""
        d = dict(self.__dict__)
        d["filled_yi"] = [float(x) for x in self.filled_yi]
        d["filled_vi"] = [float(x) for x in self.filled_vi]
        return d


def regtest(
    yi: ArrayLike, vi: ArrayLike, *, method: str | Method = "REML", knha: bool = False, level: float = 95.0
) -> RegTest:
    """Egger's regression test with the standard error as predictor (metafor ``regtest`` default)."""
    m = parse_method(method)
    lv = check_level(level)
    y, v = check_generic(yi, vi)
    k = y.size
    if k < 3:
        raise InputError(f"k = {k}: the regression test needs at least 3 studies", field="k", value=k)
    X = np.column_stack([np.ones(k), np.sqrt(v)])
    f = fit_rma(y, v, X, method=m, knha=knha, level=lv)
    return RegTest(stat=float(f.stat[1]), p=float(f.pval[1]), df=f.ddf, slope=float(f.beta[1]),
                   limit_estimate=float(f.beta[0]), limit_ci_lower=float(f.ci_lower[0]),
                   limit_ci_upper=float(f.ci_upper[0]), method=str(m))


def kendall_exact_cdf(q: int, n: int) -> float:
    """P(T <= q) for the number T of concordant pairs among n untied observations (R ``pkendall``)."""
    counts = np.zeros(1, dtype=float)
    counts[0] = 1.0
    for j in range(2, n + 1):  # Mahonian numbers by convolution with 1..j
        new = np.zeros(counts.size + j - 1)
        c = np.concatenate([[0.0], np.cumsum(counts)])
        idx = np.arange(new.size)
        hi = np.minimum(idx, counts.size - 1) + 1
        lo = np.maximum(idx - j + 1, 0)
        new = c[hi] - c[lo]
        counts = new / j  # keep probabilities (divide by j! progressively)
    if q < 0:
        return 0.0
    return float(min(1.0, counts[: q + 1].sum()))


def ranktest(yi: ArrayLike, vi: ArrayLike) -> RankTest:
    """Begg's rank correlation test (metafor ``ranktest``, exact p-value without ties)."""
    y, v = check_generic(yi, vi)
    n = y.size
    if n < 3:
        raise InputError(f"k = {n}: the rank correlation test needs at least 3 studies", field="k", value=n)
    w = 1.0 / v
    theta = float((w * y).sum() / w.sum())
    ystar = (y - theta) / np.sqrt(v - 1.0 / w.sum())
    res = stats.kendalltau(ystar, v, variant="b")
    tau = float(res.statistic)
    ties = len(np.unique(ystar)) < n or len(np.unique(v)) < n
    if not ties:
        q = round((tau + 1.0) * n * (n - 1) / 4.0)
        pr = 1.0 - kendall_exact_cdf(q - 1, n) if q > n * (n - 1) / 4.0 else kendall_exact_cdf(q, n)
        return RankTest(tau=tau, p=min(2.0 * pr, 1.0), exact=True)

    def tie_sizes(a: FloatArray) -> FloatArray:
        _, cnt = np.unique(a, return_counts=True)
        return np.asarray(cnt[cnt > 1], dtype=float)

    xt, yt = tie_sizes(ystar), tie_sizes(v)
    t0 = n * (n - 1) / 2.0
    t1 = float((xt * (xt - 1)).sum() / 2.0)
    t2 = float((yt * (yt - 1)).sum() / 2.0)
    s = tau * np.sqrt((t0 - t1) * (t0 - t2))
    v0 = n * (n - 1) * (2 * n + 5)
    vt = float((xt * (xt - 1) * (2 * xt + 5)).sum())
    vu = float((yt * (yt - 1) * (2 * yt + 5)).sum())
    v1 = float((xt * (xt - 1)).sum() * (yt * (yt - 1)).sum())
    v2 = float((xt * (xt - 1) * (xt - 2)).sum() * (yt * (yt - 1) * (yt - 2)).sum())
    var_s = (v0 - vt - vu) / 18.0 + v1 / (2.0 * n * (n - 1)) + v2 / (9.0 * n * (n - 1) * (n - 2))
    z = s / np.sqrt(var_s)
    return RankTest(tau=tau, p=float(2.0 * min(stats.norm.cdf(z), stats.norm.sf(z))), exact=False)


def _ranks_first(a: FloatArray) -> FloatArray:
    order = np.argsort(a, kind="stable")
    r = np.empty(a.size)
    r[order] = np.arange(1, a.size + 1)
    return r


def trimfill(
    yi: ArrayLike, vi: ArrayLike, *, method: str | Method = "REML", estimator: str = "L0",
    side: str | None = None, level: float = 95.0, maxiter: int = 100,
) -> TrimFill:
    """Duval and Tweedie's trim-and-fill (metafor ``trimfill.rma.uni``)."""
    m = parse_method(method)
    lv = check_level(level)
    y0, v0 = check_generic(yi, vi)
    k = y0.size
    if k < 3:
        raise InputError(f"k = {k}: trim-and-fill needs at least 3 studies", field="k", value=k)
    est = estimator.upper()
    if est not in ("L0", "R0", "Q0"):
        raise InputError("unknown estimator", field="estimator", value=estimator, remedy="use L0, R0 or Q0")
    if side is None:
        slope = fit_rma(y0, v0, np.column_stack([np.ones(k), np.sqrt(v0)]), method=m, level=lv).beta[1]
        side = "right" if slope < 0 else "left"
    if side not in ("left", "right"):
        raise InputError("side must be left or right", field="side", value=side)
    y = -y0 if side == "right" else y0.copy()
    ix = np.argsort(y, kind="stable")
    y, v = y[ix], v0[ix]
    k0, k0_prev, se_k0, it = 0, -1, 0.0, 0
    beta = 0.0
    while k0 != k0_prev:
        k0_prev = k0
        it += 1
        if it > maxiter:
            raise InputError("trim-and-fill did not converge", field="maxiter", value=maxiter)
        beta = float(fit_rma(y[: k - k0], v[: k - k0], method=m, level=lv).beta[0])
        yc = y - beta
        rs = np.sign(yc) * _ranks_first(np.abs(yc))
        if est == "R0":
            k0f = (k - np.max(-rs[rs < 0])) - 1 if np.any(rs < 0) else k - 1.0
            se_k0 = float(np.sqrt(2.0 * max(0.0, k0f) + 2.0))
        else:
            sr = float(rs[rs > 0].sum())
            if est == "L0":
                k0f = (4.0 * sr - k * (k + 1)) / (2.0 * k - 1.0)
            else:
                k0f = k - 0.5 - np.sqrt(2.0 * k * k - 4.0 * sr + 0.25)
            var_sr = (k * (k + 1) * (2 * k + 1) + 10 * k0f**3 + 27 * k0f**2 + 17 * k0f - 18 * k * k0f**2
                      - 18 * k * k0f + 6 * k**2 * k0f) / 24.0
            if est == "L0":
                se_k0 = 4.0 * np.sqrt(var_sr) / (2.0 * k - 1.0)
            else:
                se_k0 = 2.0 * np.sqrt(var_sr) / np.sqrt((k - 0.5) ** 2 - k0f * (2.0 * k - k0f - 1.0))
        k0 = max(0, round(float(k0f)))  # R round(): half to even, as Python
        se_k0 = max(0.0, float(se_k0))
    if k0 > 0:
        yc = y - beta
        fill_oriented = beta - yc[k - k0:]  # mirror around the trimmed estimate
        fill_y = -fill_oriented if side == "right" else fill_oriented
        fill_v = v[k - k0:]
        f: RmaFit = fit_rma(np.concatenate([y0, fill_y]), np.concatenate([v0, fill_v]), method=m, level=lv)
    else:
        fill_y = np.zeros(0)
        fill_v = np.zeros(0)
        f = fit_rma(y0, v0, method=m, level=lv)
    return TrimFill(k0=k0, se_k0=se_k0, side=side, estimator=est, estimate=float(f.beta[0]),
                    se=float(f.se[0]), ci_lower=float(f.ci_lower[0]), ci_upper=float(f.ci_upper[0]),
                    p=float(f.pval[0]), tau2=f.tau2, filled_yi=fill_y, filled_vi=fill_v)
