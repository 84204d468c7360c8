"""Random- and equal-effects models for generic effect sizes (metafor ``rma.uni``).

:func:`fit_rma` is the numerical core shared by pooling, subgroups, meta-regression, leave-one-out,
influence diagnostics and the publication-bias methods. :func:`pool_generic` and
:func:`pool_proportions` build the public :class:`~redif.evidence.results.PoolResult`.

Inference follows metafor 3.8: z tests by default; with ``knha=True`` the Knapp-Hartung variance
factor ``s2 = y'Py/(k-p)`` (no truncation at 1) and t with k - p df. The prediction interval is
``mu +/- crit * sqrt(se^2 + tau2)`` with the same ``crit`` as the confidence interval (z unless
Knapp-Hartung, then t with k - p df; R ``meta`` 8.x uses t with k - 1 df by default instead).
I^2 and H^2 are tau^2-based: ``I2 = 100 tau2/(tau2 + s2)``, ``H2 = 1 + tau2/s2`` with the typical
within-study variance ``s2 = (k-p)/tr(P)`` (Higgins and Thompson 2002); for the equal-effects model
``I2 = max(0, (Q-df)/Q)`` and ``H2 = Q/df``. Confidence intervals for tau^2, I^2 and H^2 use the
Q-profile method (Viechtbauer 2007).

References
----------
Viechtbauer W. Conducting meta-analyses in R with the metafor package. J Stat Softw 2010;36(3):1-48.
Knapp G, Hartung J. Improved tests for a random effects meta-regression with a single covariate.
Stat Med 2003;22:2693-2710.
Higgins JPT, Thompson SG. Quantifying heterogeneity in a meta-analysis. Stat Med 2002;21:1539-1558.
Viechtbauer W. Confidence intervals for the amount of heterogeneity in meta-analysis. Stat Med
2007;26:37-52.
Riley RD, Higgins JPT, Deeks JJ. Interpretation of random effects meta-analyses. BMJ 2011;342:d549.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from redif.errors import InputError
from redif.evidence._dist import chi2_sf, norm_isf, norm_sf, t_isf, t_sf
from redif.evidence.glmm import pool_glmm
from redif.evidence.measures import (
    PROPORTION_MEASURES,
    Measure,
    check_counts,
    escalc,
    parse_measure,
)
from redif.evidence.results import PoolResult
from redif.evidence.rma_result import RmaFit, build_pool_result, qprofile_tau2
from redif.evidence.tau2 import Method, estimate_tau2, parse_method, weighted_fit
from redif.evidence.tau2 import tau2_se as tau2_se_of

__all__ = ["RmaFit", "check_generic", "check_level", "fit_rma", "pool_generic", "pool_proportions",
           "qprofile_tau2"]

FloatArray = NDArray[np.float64]


def check_level(level: float) -> float:
    """Validate a confidence level in percent (metafor also accepts a fraction below 1)."""
    lv = float(level)
    if not np.isfinite(lv) or lv <= 0.0 or lv >= 100.0:
        raise InputError("confidence level must lie strictly between 0 and 100", field="level",
                         value=level, remedy="give a percentage such as 95")
    return lv * 100.0 if lv < 1.0 else lv


def check_generic(yi: ArrayLike, vi: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Validate effect sizes and sampling variances; name the first bad study."""
    try:
        y = np.asarray(yi, dtype=float).ravel()
        v = np.asarray(vi, dtype=float).ravel()
    except (TypeError, ValueError):
        raise InputError("yi and vi must be numbers", field="yi/vi") from None
    if y.shape != v.shape:
        raise InputError(f"{y.size} effect sizes but {v.size} variances", field="yi/vi",
                         remedy="give one yi and one vi per study")
    if y.size == 0:
        raise InputError("no studies", field="yi", remedy="give at least one study")
    bad = ~np.isfinite(y)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"study {i + 1}: effect size is not a finite number", field="yi",
                         value=float(y[i]))
    bad = ~np.isfinite(v) | (v <= 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"study {i + 1}: sampling variance must be a positive number", field="vi",
                         value=float(v[i]), remedy="vi is a variance (> 0), not a standard error or CI")
    return y, v


def fit_rma(
    y: FloatArray, v: FloatArray, X: FloatArray | None = None, *, method: Method | str = Method.REML,
    knha: bool | str = False, level: float = 95.0, tau2: float | None = None,
) -> RmaFit:
    """Fit ``y_i = x_i'beta + u_i + e_i`` with ``u_i ~ N(0, tau2)``, ``e_i ~ N(0, v_i)``.

    Parameters
    ----------
    y, v
        Observed outcomes and sampling variances (validated arrays).
    X
        Design matrix (k x p) including the intercept column; ``None`` for intercept only.
    method
        tau^2 estimator (:class:`~redif.evidence.tau2.Method`, not GLMM).
    knha
        Knapp-Hartung adjustment (t tests and CIs with k - p df); ``"adhoc"`` truncates its variance factor
        at 1 (``max(1, s2w)``, metafor ``test="adhoc"``), so the interval is never narrower than the z one's
        standard error.
    level
        Confidence level in percent.
    tau2
        Fix tau^2 at this value instead of estimating it.
    """
    m = parse_method(method)
    adhoc = knha == "adhoc"
    if isinstance(knha, str) and not adhoc:
        raise InputError("unknown test", field="knha", value=knha, remedy="use True, False or 'adhoc'")
    knha = bool(knha)
    k = y.size
    Xm = np.ones((k, 1)) if X is None else np.asarray(X, dtype=float)
    p = Xm.shape[1]
    if m is not Method.EE and k - p < 1 and tau2 is None:
        raise InputError(
            f"k = {k} studies: a random-effects model ({m}) needs at least {p + 1}",
            field="k", value=k, remedy="add studies or use method EE",
        )
    if knha and k - p < 1:
        raise InputError(f"k = {k}: Knapp-Hartung needs at least {p + 1} studies", field="knha", value=k)
    t2 = float(tau2) if tau2 is not None else estimate_tau2(y, v, Xm, m)
    fit = weighted_fit(y, Xm, 1.0 / (v + t2))
    beta = fit.beta
    vb = fit.xtwx_inv
    s2w = 1.0
    if knha:
        s2w = 0.0 if fit.rss <= np.finfo(float).eps else fit.rss / (k - p)
        if adhoc:
            s2w = max(1.0, s2w)
        vb = s2w * vb
    se = np.sqrt(np.diag(vb))
    alpha = 1.0 - level / 100.0
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = beta / se
    ddf: int | None
    if knha:
        ddf = k - p
        pval = 2.0 * t_sf(np.abs(stat), ddf)
        crit = t_isf(alpha / 2.0, ddf)
    else:
        ddf = None
        pval = 2.0 * norm_sf(np.abs(stat))
        crit = norm_isf(alpha / 2.0)
    # heterogeneity
    if k > p:
        fe = weighted_fit(y, Xm, 1.0 / v)
        qe = max(0.0, fe.rss)
        qe_p = chi2_sf(qe, k - p)
        vt = (k - p) / fe.trace_p(Xm)
        if m is Method.EE:
            i2 = max(0.0, 100.0 * (qe - (k - p)) / qe) if qe > 0 else 0.0
            h2 = qe / (k - p)
        else:
            i2 = 100.0 * t2 / (vt + t2)
            h2 = t2 / vt + 1.0
    else:
        qe, qe_p, i2, h2, vt = 0.0, 1.0, 0.0, 1.0, 0.0
    tau2_se = 0.0 if m is Method.EE else tau2_se_of(m, y, v, Xm, t2)
    return RmaFit(
        k=k, p=p, method=m, knha=knha, level=level, beta=beta, vb=vb, se=se, stat=stat,
        pval=np.asarray(pval, dtype=float), ci_lower=beta - crit * se, ci_upper=beta + crit * se,
        crit=crit, ddf=ddf, tau2=t2, tau2_se=tau2_se, qe=qe, qe_df=k - p, qe_p=qe_p, i2=i2, h2=h2,
        vt=vt, weights=1.0 / (v + t2), s2w=s2w,
    )


def _labels(labels: Sequence[str] | None, k: int) -> list[str]:
    if labels is None:
        return [f"Study {i + 1}" for i in range(k)]
    out = [str(s) for s in labels]
    if len(out) != k:
        raise InputError(f"{len(out)} labels for {k} studies", field="labels",
                         remedy="give one label per study")
    return out


def pool_generic(
    yi: ArrayLike, vi: ArrayLike, labels: Sequence[str] | None = None, *, method: str | Method = "REML",
    knha: bool = False, level: float = 95.0,
) -> PoolResult:
    """Pool generic effect sizes ``yi`` with sampling variances ``vi`` (metafor ``rma.uni``).

    Parameters
    ----------
    yi, vi
        Effect sizes and their sampling variances (analysis scale, e.g. log risk ratios).
    labels
        Study labels (default ``Study 1``, ``Study 2``, ...).
    method
        ``EE``, ``DL``, ``HE``, ``SJ``, ``ML``, ``REML`` (default), ``EB``, ``PM`` or ``HS``.
    knha
        Knapp-Hartung adjustment.
    level
        Confidence level in percent.

    Raises
    ------
    InputError
        Non-finite ``yi``, non-positive ``vi``, k = 1 with a random-effects method, GLMM.
    """
    m = parse_method(method)
    if m is Method.GLMM:
        raise InputError("GLMM needs event counts", field="method", value="GLMM",
                         remedy="use pool_proportions(..., method='GLMM') or a tau2 estimator")
    lv = check_level(level)
    y, v = check_generic(yi, vi)
    fit = fit_rma(y, v, method=m, knha=knha, level=lv)
    return build_pool_result(fit, y, v, measure=Measure.GEN, labels=_labels(labels, y.size))


def pool_proportions(
    events: ArrayLike, totals: ArrayLike, labels: Sequence[str] | None = None, *,
    measure: str | Measure = "PLO", method: str | Method = "REML", knha: bool | str = False,
    level: float = 95.0, study_ci: str = "clopper-pearson",
) -> PoolResult:
    """Pool single proportions ``events/totals`` (metafor ``escalc`` + ``rma`` or ``rma.glmm``).

    Parameters
    ----------
    events, totals
        Events and sample sizes per study.
    labels
        Study labels.
    measure
        ``PLO`` (default), ``PR``, ``PAS`` or ``PFT``; the pooled estimate, CI and prediction
        interval are back-transformed to a proportion (PFT with the harmonic mean of the totals).
    method
        A tau^2 estimator, or ``GLMM`` (binomial-normal model, ``PLO`` only).
    knha, level
        Knapp-Hartung adjustment (``"adhoc"``: with the ``max(1, s2w)`` safeguard); confidence level in
        percent.
    study_ci
        Per-study interval: ``clopper-pearson`` (default) or ``wilson``.
    """
    ms = parse_measure(measure)
    if ms not in PROPORTION_MEASURES:
        raise InputError("pool_proportions needs a proportion measure", field="measure", value=str(ms),
                         remedy="use PR, PLO, PAS or PFT, or pool_generic for yi/vi")
    m = parse_method(method)
    lv = check_level(level)
    x, n = check_counts(events, totals)
    if x.size == 0:
        raise InputError("no studies", field="events", remedy="give at least one study")
    labs = _labels(labels, x.size)
    if m is Method.GLMM:
        res: PoolResult = pool_glmm(x, n, labs, measure=ms, knha=bool(knha), level=lv, study_ci=study_ci)
        return res
    y, v = escalc(ms, x, n)
    fit = fit_rma(y, v, method=m, knha=knha, level=lv)
    return build_pool_result(fit, y, v, measure=ms, labels=labs, events=x, totals=n, study_ci=study_ci)
