"""The result of one random- or equal-effects fit and its assembly into a :class:`PoolResult`.

Shared by the normal-normal models (:mod:`redif.evidence.rma`) and the binomial-normal GLMM
(:mod:`redif.evidence.glmm`), so that neither imports the other's module back (the import circle
``rma`` <-> ``glmm`` of issue 10).

References
----------
Viechtbauer W. Confidence intervals for the amount of heterogeneity in meta-analysis. Stat Med
2007;26:37-52.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import optimize

from redif.evidence._dist import chi2_isf, chi2_ppf, norm_isf
from redif.evidence.measures import PROPORTION_MEASURES, Measure, back_transform, study_intervals
from redif.evidence.results import PoolResult, StudyRow
from redif.evidence.tau2 import Method, q_generalised

__all__ = ["RmaFit", "build_pool_result", "qprofile_tau2"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class RmaFit:
    """Numerical result of one (mixed-effects) model fit; analysis scale throughout."""

    k: int
    p: int
    method: Method
    knha: bool
    level: float
    beta: FloatArray
    vb: FloatArray
    se: FloatArray
    stat: FloatArray
    pval: FloatArray
    ci_lower: FloatArray
    ci_upper: FloatArray
    crit: float
    ddf: int | None
    tau2: float
    tau2_se: float
    qe: float
    qe_df: int
    qe_p: float
    i2: float
    h2: float
    vt: float
    weights: FloatArray
    s2w: float

    @property
    def inference(self) -> str:
        """``"t"`` with Knapp-Hartung, else ``"z"``."""
        return "t" if self.knha else "z"


def qprofile_tau2(
    y: FloatArray, v: FloatArray, X: FloatArray | None = None, *, level: float = 95.0,
    tau2_hat: float = 0.0,
) -> tuple[float, float]:
    """Q-profile confidence interval for tau^2 (metafor ``confint(type="QP")``).

    The bounds solve ``Q(tau2) = chi2_{k-p}`` quantiles, searched on ``[0, max(100, 10 tau2_hat)]``;
    when ``Q(0)`` is below the lower quantile the interval is the null set reported as ``(0, 0)``.

    References
    ----------
    Viechtbauer W. Confidence intervals for the amount of heterogeneity in meta-analysis. Stat Med
    2007;26:37-52.
    """
    k = y.size
    Xm = np.ones((k, 1)) if X is None else X
    p = Xm.shape[1]
    alpha = 1.0 - level / 100.0
    crit_u = chi2_isf(alpha / 2.0, k - p)
    crit_l = chi2_ppf(alpha / 2.0, k - p)
    t_max = max(100.0, 10.0 * tau2_hat)

    def q(t: float) -> float:
        return q_generalised(t, y, v, Xm)

    q_min, q_max = q(0.0), q(t_max)

    def root(target: float) -> float:
        return float(optimize.brentq(lambda t: q(t) - target, 0.0, t_max, xtol=1e-12, rtol=1e-12,
                                     maxiter=1000))

    if q_min < crit_l:
        lb = ub = 0.0
    else:
        ub = t_max if q_max > crit_l else root(crit_l)
    if q_max > crit_u:
        lb = ub = t_max
    elif q_min < crit_u:
        lb = 0.0
    else:
        lb = root(crit_u)
    return lb, ub


def build_pool_result(
    fit: RmaFit, y: FloatArray, v: FloatArray, *, measure: Measure, labels: list[str],
    events: FloatArray | None = None, totals: FloatArray | None = None, study_ci: str = "clopper-pearson",
    method_name: str | None = None, qprofile: bool = True, notes: tuple[str, ...] = (),
    extra: dict[str, object] | None = None,
) -> PoolResult:
    """Assemble a :class:`PoolResult` from an intercept-only fit (used by every pooling path)."""
    mu = float(fit.beta[0])
    se = float(fit.se[0])
    lo, hi = float(fit.ci_lower[0]), float(fit.ci_upper[0])
    half_pi = fit.crit * float(np.sqrt(se**2 + fit.tau2))
    pi_lo, pi_hi = mu - half_pi, mu + half_pi
    n_hm = None
    if measure in PROPORTION_MEASURES and totals is not None:
        bt = back_transform(measure, np.array([mu, lo, hi, pi_lo, pi_hi]), totals)
        if measure is Measure.PFT:
            n_hm = float(1.0 / np.mean(1.0 / totals))
    else:
        bt = np.array([mu, lo, hi, pi_lo, pi_hi])
    # per-study rows
    w = fit.weights
    wp = 100.0 * w / w.sum()
    yl, vl, wl = y.tolist(), v.tolist(), wp.tolist()
    if events is not None and totals is not None:
        pr, plo, phi = study_intervals(events, totals, fit.level, study_ci)
        xl, nl = events.astype(int).tolist(), totals.astype(int).tolist()
        rows = list(map(StudyRow, labels, xl, nl, yl, vl, pr.tolist(), plo.tolist(), phi.tolist(), wl))
    else:
        z = norm_isf((1.0 - fit.level / 100.0) / 2.0)
        half = z * np.sqrt(v)
        rows = list(map(StudyRow, labels, [None] * y.size, [None] * y.size, yl, vl, yl,
                        (y - half).tolist(), (y + half).tolist(), wl))
    t2lo = t2hi = i2lo = i2hi = h2lo = h2hi = None
    if qprofile and fit.method is not Method.EE and fit.k > fit.p and fit.vt > 0:
        t2lo, t2hi = qprofile_tau2(y, v, None, level=fit.level, tau2_hat=fit.tau2)
        i2lo, i2hi = (100.0 * t / (fit.vt + t) for t in (t2lo, t2hi))
        h2lo, h2hi = (1.0 + t / fit.vt for t in (t2lo, t2hi))
    pi_conv = f"t(df={fit.ddf})" if fit.knha else "z"
    return PoolResult(
        k=fit.k, measure=str(measure), method=method_name or str(fit.method), knha=fit.knha,
        level=fit.level, mu=mu, se=se, estimate=float(bt[0]), ci_lower=float(bt[1]),
        ci_upper=float(bt[2]), pi_lower=float(bt[3]), pi_upper=float(bt[4]), tau2=fit.tau2, i2=fit.i2,
        h2=fit.h2, q=fit.qe, q_df=fit.qe_df, q_p=fit.qe_p, studies=tuple(rows), mu_ci_lower=lo,
        mu_ci_upper=hi, mu_pi_lower=pi_lo, mu_pi_upper=pi_hi, stat=float(fit.stat[0]),
        p=float(fit.pval[0]), inference=fit.inference, df=fit.ddf, tau=float(np.sqrt(fit.tau2)),
        tau2_se=fit.tau2_se, tau2_ci_lower=t2lo, tau2_ci_upper=t2hi, i2_ci_lower=i2lo,
        i2_ci_upper=i2hi, h2_ci_lower=h2lo, h2_ci_upper=h2hi, n_harmonic=n_hm, pi_convention=pi_conv,
        notes=notes, extra=dict(extra or {}),
    )
