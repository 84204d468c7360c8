"""Mixed-effects meta-regression (metafor ``rma(yi, vi, mods = ~ ...)``).

Continuous moderators enter as they are; a moderator with any non-numeric value is categorical and
is dummy-coded with the first level (sorted, as R orders factor levels) as reference, the columns
named ``<moderator><level>`` as R names them. The intercept is called ``intrcpt``.

``QM`` is the omnibus Wald test of all coefficients but the intercept (chi-square on m df; with
Knapp-Hartung an F test on m and k - p df); ``QE`` tests residual heterogeneity (chi-square on
k - p df); ``R2`` is metafor's pseudo-R^2, ``max(0, 100 (tau2_RE - tau2_ME)/tau2_RE)``, where
tau2_RE comes from the intercept-only model with the same estimator (0 when tau2_RE = 0).

References
----------
Raudenbush SW. Analyzing effect sizes: random-effects models. In: Cooper H, Hedges LV, Valentine JC,
eds. The handbook of research synthesis and meta-analysis, 2nd ed. Russell Sage, 2009:295-315.
Viechtbauer W. Conducting meta-analyses in R with the metafor package. J Stat Softw 2010;36(3):1-48.
López-López JA, Marín-Martínez F, Sánchez-Meca J, et al. Estimation of the predictive power of the
model in mixed-effects meta-regression. Br J Math Stat Psychol 2014;67:30-48.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from redif.errors import InputError
from redif.evidence._dist import chi2_sf, f_sf
from redif.evidence.results import Coefficient, RegressionResult
from redif.evidence.rma import check_generic, check_level, fit_rma
from redif.evidence.tau2 import Method, estimate_tau2, parse_method

__all__ = ["design_matrix", "meta_regression"]


def _as_number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        return None


def _numeric_column(values: Sequence[float | str]) -> NDArray[np.float64] | None:
    """The column as floats when every value is already a number (fast path), else None."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiu":
        return np.asarray(values, dtype=float).ravel()
    if all(isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool) for v in values):
        return np.asarray(values, dtype=float).ravel()
    return None


def design_matrix(
    moderators: Mapping[str, Sequence[float | str]], k: int
) -> tuple[NDArray[np.float64], list[str]]:
    """Design matrix (intercept first) and column names for the moderators."""
    cols: list[NDArray[np.float64]] = [np.ones(k)]
    names = ["intrcpt"]
    for name, values in moderators.items():
        fast = _numeric_column(values)
        if fast is not None:
            if fast.size != k:
                raise InputError(f"{fast.size} values for {k} studies", field=str(name),
                                 remedy="give one moderator value per study")
            bad = ~np.isfinite(fast)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise InputError(f"study {i + 1}: missing moderator value", field=str(name),
                                 remedy="fill in the moderator for every study or drop the study")
            cols.append(fast)
            names.append(str(name))
            continue
        vals = list(values)
        if len(vals) != k:
            raise InputError(f"{len(vals)} values for {k} studies", field=str(name),
                             remedy="give one moderator value per study")
        for i, val in enumerate(vals):
            if val is None or str(val).strip() == "" or str(val).strip().lower() == "nan":
                raise InputError(f"study {i + 1}: missing moderator value", field=str(name),
                                 remedy="fill in the moderator for every study or drop the study")
        nums = [_as_number(v) for v in vals]
        if all(x is not None for x in nums):
            arr = np.array(nums, dtype=float)
            if not np.all(np.isfinite(arr)):
                i = int(np.flatnonzero(~np.isfinite(arr))[0])
                raise InputError(f"study {i + 1}: moderator is not finite", field=str(name), value=vals[i])
            cols.append(arr)
            names.append(str(name))
        else:
            text = [str(v).strip() for v in vals]
            levels = sorted(set(text))
            if len(levels) < 2:
                raise InputError("categorical moderator has a single level", field=str(name),
                                 value=levels[0], remedy="drop it: it cannot explain heterogeneity")
            for lev in levels[1:]:
                cols.append(np.array([1.0 if t == lev else 0.0 for t in text]))
                names.append(f"{name}{lev}")
    X = np.column_stack(cols)
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise InputError("the moderators are collinear (design matrix not of full rank)", field="mods",
                         value=",".join(moderators), remedy="drop a redundant moderator")
    return X, names


def meta_regression(
    yi: ArrayLike, vi: ArrayLike, moderators: Mapping[str, Sequence[float | str]], *,
    method: str | Method = "REML", knha: bool | str = False, level: float = 95.0, measure: str = "GEN",
) -> RegressionResult:
    """Fit a mixed-effects meta-regression of ``yi`` on ``moderators``.

    Parameters
    ----------
    yi, vi
        Effect sizes and sampling variances (use :func:`~redif.evidence.measures.escalc` for
        proportions).
    moderators
        Column name -> one value per study; numeric columns are continuous, others categorical.
    method
        tau^2 estimator (not GLMM).
    knha, level
        Knapp-Hartung adjustment; confidence level in percent.
    measure
        Label of the analysis scale recorded in the result.
    """
    m = parse_method(method)
    if m is Method.GLMM:
        raise InputError("meta-regression is not available with GLMM", field="method", value="GLMM",
                         remedy="use REML (on escalc values) for meta-regression")
    if not moderators:
        raise InputError("no moderators given", field="mods", remedy="name at least one moderator")
    lv = check_level(level)
    y, v = check_generic(yi, vi)
    X, names = design_matrix(moderators, y.size)
    k, p = X.shape
    if k - p < 1:
        raise InputError(f"k = {k} studies cannot support {p} coefficients", field="mods",
                         remedy="use fewer moderators or more studies")
    fit = fit_rma(y, v, X, method=m, knha=knha, level=lv)
    b = fit.beta[1:]
    vb = fit.vb[1:, 1:]
    mm = p - 1
    qm = float(b @ np.linalg.solve(vb, b))
    if knha:
        qm = qm / mm
        qm_p = f_sf(qm, mm, k - p)
        df2: int | None = k - p
    else:
        qm_p = chi2_sf(qm, mm)
        df2 = None
    r2: float | None
    if m is Method.EE:
        w = 1.0 / v
        ybar = float((w * y).sum() / w.sum())
        tss = float((w * (y - ybar) ** 2).sum())
        rss = float((w * (y - X @ fit.beta) ** 2).sum())
        r2 = 0.0 if tss == 0 else max(0.0, 100.0 * (1.0 - (1.0 - (1.0 - rss / tss)) * (k - 1) / (k - p)))
    else:
        t2re = estimate_tau2(y, v, np.ones((k, 1)), m)
        r2 = 0.0 if t2re == 0 else max(0.0, 100.0 * (t2re - fit.tau2) / t2re)
    coefs = tuple(
        Coefficient(names[j], float(fit.beta[j]), float(fit.se[j]), float(fit.stat[j]), float(fit.pval[j]),
                    float(fit.ci_lower[j]), float(fit.ci_upper[j]))
        for j in range(p)
    )
    return RegressionResult(
        k=k, method=str(m), knha=bool(knha), level=lv, coefficients=coefs, qm=qm, qm_df=mm, qm_df2=df2,
        qm_p=qm_p, qe=fit.qe, qe_df=fit.qe_df, qe_p=fit.qe_p, r2=r2, tau2=fit.tau2, i2=fit.i2, h2=fit.h2,
        inference=fit.inference, measure=measure,
        vcov=tuple(tuple(float(x) for x in row) for row in fit.vb),
    )
