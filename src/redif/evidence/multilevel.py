"""Two-level nested random-effects meta-analysis (metafor ``rma.mv(yi, vi, random = ~ 1 | outer/inner)``).

The model for estimate ``i`` of inner unit ``j`` (an arm, a school) nested in outer unit ``g`` (a trial,
a district) is

    y_i = x_i' beta + u_g + w_gj + e_i,  u_g ~ N(0, sigma2_outer), w_gj ~ N(0, sigma2_inner),
    e_i ~ N(0, v_i),

so that ``V = diag(v) + sigma2_outer Z_o Z_o' + sigma2_inner Z_i Z_i'`` with ``Z_o``/``Z_i`` the indicator
matrices of the outer levels and of the (outer, inner) combinations (metafor's ``outer/inner``: an inner
level is the pair, so equal inner codes in two trials are two levels). The variance components are
estimated by maximising the restricted (REML) or full (ML) log-likelihood over ``sigma2 >= 0`` with the
analytic gradient (L-BFGS-B from several starts); a component at the boundary is reported as 0, as
metafor does (to its optimiser's tolerance). ``beta`` follows by generalised least squares with
``vcov = (X' V^-1 X)^-1`` and z-based Wald intervals (metafor's default ``test = "z"`` for ``rma.mv``).

``QE`` tests residual heterogeneity with the sampling variances only (``W = diag(1/v)``; chi-square on
k - p df); ``QM`` is the Wald test of all coefficients but the intercept (chi-square on p - 1 df). The
prediction interval is metafor's ``predict()`` for a model with ``sigma2`` components only:
``mu +/- z sqrt(se^2 + sigma2_outer + sigma2_inner)``; with moderators it is the one for the intercept
(all moderators at 0, categorical ones at their reference level), as ``predict(res, newmods = 0)``.

References
----------
Viechtbauer W. Conducting meta-analyses in R with the metafor package. J Stat Softw 2010;36(3):1-48.
Konstantopoulos S. Fixed effects and variance components estimation in three-level meta-analysis.
Res Synth Methods 2011;2:61-76.
Cheung MWL. Modeling dependent effect sizes with three-level meta-analyses: a structural equation
modeling approach. Psychol Methods 2014;19:211-229.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize

from redif.errors import InputError
from redif.evidence._dist import chi2_sf, norm_isf, norm_sf
from redif.evidence.effect_table import (
    effect_sizes,
    parse_effect_measure,
    parse_moderators,
    read_effect_table,
)
from redif.evidence.measures import Measure, back_transform
from redif.evidence.regression import design_matrix
from redif.evidence.results import Coefficient
from redif.evidence.rma import check_generic, check_level

__all__ = ["MultilevelMethod", "MultilevelResult", "fit_multilevel", "parse_random", "pool_multilevel",
           "pool_multilevel_file"]

FloatArray = NDArray[np.float64]

#: Estimators of the variance components (metafor ``rma.mv`` ``method``).
MultilevelMethod = ("REML", "ML")

#: Components estimated below this are reported as 0 (the optimiser's boundary).
_ZERO = 1e-10


@dataclass(frozen=True)
class MultilevelResult:
    """A fitted two-level nested random-effects model.

    ``mu``/``se``/``mu_ci_*``/``mu_pi_*`` are on the analysis scale (with moderators: the intercept);
    ``estimate``, ``ci_*`` and ``pi_*`` are back-transformed to a proportion for proportion measures
    (the analysis scale for ``GEN``). ``sigma2`` lists the outer then the inner variance component;
    ``n_levels`` the number of outer and of inner levels.
    """

    k: int
    measure: str
    method: str
    level: float
    random: tuple[str, str]
    n_levels: tuple[int, int]
    mu: float
    se: float
    stat: float
    p: float
    mu_ci_lower: float
    mu_ci_upper: float
    mu_pi_lower: float
    mu_pi_upper: float
    estimate: float
    ci_lower: float
    ci_upper: float
    pi_lower: float
    pi_upper: float
    sigma2: tuple[float, float]
    qe: float
    qe_df: int
    qe_p: float
    loglik: float
    coefficients: tuple[Coefficient, ...]
    qm: float | None = None
    qm_df: int | None = None
    qm_p: float | None = None
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The ``redif meta pool --random --json`` keys; ``coefficients``/``qm*`` only with moderators."""
        out: dict[str, Any] = {
            "k": self.k, "measure": self.measure, "method": self.method, "model": "multilevel",
            "random": list(self.random), "n_levels": list(self.n_levels), "mu": self.mu, "se": self.se,
            "estimate": self.estimate, "ci_lower": self.ci_lower, "ci_upper": self.ci_upper,
            "pi_lower": self.pi_lower, "pi_upper": self.pi_upper, "sigma2": list(self.sigma2),
            "qe": self.qe, "qe_df": self.qe_df, "qe_p": self.qe_p,
            "level": self.level, "inference": "z", "stat": self.stat, "p": self.p,
            "mu_ci_lower": self.mu_ci_lower, "mu_ci_upper": self.mu_ci_upper,
            "mu_pi_lower": self.mu_pi_lower, "mu_pi_upper": self.mu_pi_upper, "loglik": self.loglik,
            "notes": list(self.notes),
        }
        if self.qm is not None:
            out["coefficients"] = [c.to_dict() for c in self.coefficients]
            out["qm"] = self.qm
            out["qm_df"] = self.qm_df
            out["qm_p"] = self.qm_p
        return out


def parse_random(text: str) -> tuple[str, str]:
    """``"outer/inner"`` as the two column names (field ``random``)."""
    parts = [p.strip() for p in str(text).split("/")]
    if len(parts) != 2 or not all(parts) or parts[0] == parts[1]:
        raise InputError("the random effects must name two different columns as OUTER/INNER",
                         field="random", value=text, remedy="e.g. trial/arm (arms nested in trials)")
    return parts[0], parts[1]


def _parse_method(method: str) -> str:
    m = str(method).strip().upper()
    if m not in MultilevelMethod:
        raise InputError("the multilevel model is fitted by REML or ML", field="method", value=method,
                         remedy="use REML or ML")
    return m


def _indicators(codes: Sequence[Any]) -> FloatArray:
    """Indicator matrix (k x levels) of ``codes`` in order of first appearance."""
    index: dict[Any, int] = {}
    for c in codes:
        index.setdefault(c, len(index))
    z = np.zeros((len(codes), len(index)))
    for i, c in enumerate(codes):
        z[i, index[c]] = 1.0
    return z


@dataclass(frozen=True)
class _Gls:
    beta: FloatArray
    vb: FloatArray
    objective: float
    gradient: FloatArray


def _gls(y: FloatArray, v: FloatArray, X: FloatArray, G: Sequence[FloatArray], s2: FloatArray,
         reml: bool) -> _Gls:
    """GLS fit at ``s2`` with -2 x the (restricted) log-likelihood, less constants, and its gradient."""
    V = np.diag(v) + sum((s * g for s, g in zip(s2, G, strict=True)), np.zeros((y.size, y.size)))
    c = np.linalg.cholesky(V)
    vi_ = np.linalg.inv(V)
    xw = X.T @ vi_
    xwx = xw @ X
    vb = np.asarray(np.linalg.inv(xwx), dtype=float)
    beta = vb @ (xw @ y)
    P = vi_ - xw.T @ vb @ xw
    Py = P @ y
    obj = 2.0 * float(np.log(np.diag(c)).sum()) + float(y @ Py)
    if reml:
        obj += float(np.linalg.slogdet(xwx)[1])
    A = P if reml else vi_
    grad = np.array([float(np.sum(A * g)) - float(Py @ g @ Py) for g in G])
    return _Gls(beta, vb, obj, grad)


def fit_multilevel(
    yi: ArrayLike, vi: ArrayLike, outer: Sequence[Any], inner: Sequence[Any], *,
    X: ArrayLike | None = None, method: str = "REML",
) -> tuple[FloatArray, FloatArray, FloatArray, float]:
    """Estimate ``sigma2 = [outer, inner]`` and the GLS coefficients of the nested model.

    Parameters
    ----------
    yi, vi
        Effect sizes and sampling variances on the analysis scale.
    outer, inner
        One code per estimate; inner levels are the (outer, inner) pairs.
    X
        Fixed-effects design matrix (k x p, intercept included); ``None`` for the intercept only.
    method
        ``REML`` or ``ML``.

    Returns
    -------
    sigma2, beta, vcov, loglik
        Variance components (outer, inner), coefficients, their covariance matrix and metafor's
        log-likelihood (``logLik(res)``, with the ``1/2 log|X'X|`` term for REML).
    """
    m = _parse_method(method)
    y, v = check_generic(yi, vi)
    k = y.size
    if len(outer) != k or len(inner) != k:
        raise InputError(f"{len(outer)} outer and {len(inner)} inner codes for {k} estimates",
                         field="random", remedy="give one outer and one inner code per estimate")
    Xm = np.ones((k, 1)) if X is None else np.asarray(X, dtype=float).reshape(k, -1)
    p = Xm.shape[1]
    z_o = _indicators(list(outer))
    z_i = _indicators(list(zip(outer, inner, strict=True)))
    G = [z_o @ z_o.T, z_i @ z_i.T]
    reml = m == "REML"
    scale = max(float(np.var(y)), float(np.mean(v)), 1e-8)

    def fun(s2: FloatArray) -> tuple[float, FloatArray]:
        r = _gls(y, v, Xm, G, np.maximum(s2, 0.0), reml)
        return r.objective, r.gradient

    best: Any = None
    for start in ((0.5, 0.5), (1.0, 0.0), (0.0, 1.0), (0.05, 0.05), (2.0, 2.0)):
        res = optimize.minimize(fun, np.array(start) * scale, jac=True, method="L-BFGS-B",
                                bounds=[(0.0, None), (0.0, None)],
                                options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 5000})
        if best is None or res.fun < best.fun:
            best = res
    s2 = np.where(best.x < _ZERO * scale, 0.0, best.x)
    fit = _gls(y, v, Xm, G, s2, reml)
    if reml:
        ll = -0.5 * (k - p) * np.log(2.0 * np.pi) + 0.5 * float(np.linalg.slogdet(Xm.T @ Xm)[1]) \
            - 0.5 * fit.objective
    else:
        ll = -0.5 * k * np.log(2.0 * np.pi) - 0.5 * fit.objective
    return np.asarray(s2, dtype=float), fit.beta, fit.vb, float(ll)


def pool_multilevel(
    yi: ArrayLike, vi: ArrayLike, outer: Sequence[Any], inner: Sequence[Any], *,
    moderators: Mapping[str, Sequence[float | str]] | None = None, method: str = "REML",
    level: float = 95.0, measure: str | Measure = Measure.GEN, totals: Sequence[int] | None = None,
    random: tuple[str, str] = ("outer", "inner"),
) -> MultilevelResult:
    """Pool effect sizes nested in two levels (e.g. arms in trials) with optional moderators.

    Parameters
    ----------
    yi, vi
        Effect sizes and sampling variances on the analysis scale of ``measure``
        (:func:`~redif.evidence.measures.escalc` for proportions).
    outer, inner
        Outer (trial) and inner (arm) code of each estimate.
    moderators
        Column name -> one value per estimate; numeric columns are continuous, others categorical
        (as :func:`~redif.evidence.regression.design_matrix`).
    method
        ``REML`` (default, as metafor) or ``ML``.
    level
        Confidence level in percent.
    measure, totals
        The analysis scale; ``estimate``/``ci_*``/``pi_*`` are back-transformed to a proportion for
        ``PR``/``PLO``/``PAS``/``PFT`` (``PFT`` with the harmonic mean of ``totals``).
    random
        The names of the outer and inner columns, recorded in the result.

    Raises
    ------
    InputError
        For a bad ``method``, ``level``, ``yi``/``vi``, ``random`` codes or too many moderators.

    References
    ----------
    Konstantopoulos S. Res Synth Methods 2011;2:61-76 (the three-level model).
    Viechtbauer W. J Stat Softw 2010;36(3):1-48 (``rma.mv``).
    """
    m = _parse_method(method)
    lv = check_level(level)
    ms = parse_effect_measure(measure)
    y, v = check_generic(yi, vi)
    k = y.size
    if moderators:
        X, names = design_matrix(moderators, k)
    else:
        X, names = np.ones((k, 1)), ["intrcpt"]
    p = X.shape[1]
    if k - p < 1:
        raise InputError(f"k = {k} estimates cannot support {p} coefficients", field="moderators",
                         remedy="use fewer moderators or more estimates")
    n_outer = len(set(outer))
    if n_outer < 2:
        raise InputError("the outer level has a single value: its variance cannot be estimated",
                         field=random[0], remedy="give at least two outer units (e.g. trials)")
    s2, beta, vb, ll = fit_multilevel(y, v, outer, inner, X=X, method=m)
    se = np.sqrt(np.diag(vb))
    zval = beta / se
    pval = 2.0 * norm_sf(np.abs(zval))
    crit = norm_isf((1.0 - lv / 100.0) / 2.0)
    lo, hi = beta - crit * se, beta + crit * se
    w = 1.0 / v
    xw = X.T * w
    b_fe = np.linalg.solve(xw @ X, xw @ y)
    qe = float(np.sum(w * (y - X @ b_fe) ** 2))
    sd_pi = float(np.sqrt(se[0] ** 2 + s2.sum()))
    mu_pi = (float(beta[0] - crit * sd_pi), float(beta[0] + crit * sd_pi))
    est = back_transform(ms, [beta[0], lo[0], hi[0], *mu_pi], totals if ms is Measure.PFT else None)
    coefs = tuple(Coefficient(names[j], float(beta[j]), float(se[j]), float(zval[j]), float(pval[j]),
                              float(lo[j]), float(hi[j])) for j in range(p))
    qm = qm_p = None
    qm_df = None
    if p > 1:
        b = beta[1:]
        qm = float(b @ np.linalg.solve(vb[1:, 1:], b))
        qm_df = p - 1
        qm_p = chi2_sf(qm, qm_df)
    notes = tuple(f"sigma2 of {name} estimated at 0 (boundary): that level adds no heterogeneity"
                  for name, s in zip(random, s2, strict=True) if s == 0.0)
    n_inner = len(set(zip(outer, inner, strict=True)))
    return MultilevelResult(
        k=k, measure=str(ms), method=m, level=lv, random=random, n_levels=(n_outer, n_inner),
        mu=float(beta[0]), se=float(se[0]), stat=float(zval[0]), p=float(pval[0]),
        mu_ci_lower=float(lo[0]), mu_ci_upper=float(hi[0]), mu_pi_lower=mu_pi[0], mu_pi_upper=mu_pi[1],
        estimate=float(est[0]), ci_lower=float(est[1]), ci_upper=float(est[2]), pi_lower=float(est[3]),
        pi_upper=float(est[4]), sigma2=(float(s2[0]), float(s2[1])), qe=qe, qe_df=k - p,
        qe_p=chi2_sf(qe, k - p), loglik=ll, coefficients=coefs, qm=qm, qm_df=qm_df, qm_p=qm_p,
        notes=notes,
    )


def pool_multilevel_file(
    file: Path, *, random: str, measure: str | Measure = "PLO", method: str = "REML", level: float = 95.0,
    moderators: str | Sequence[str] | None = None,
) -> MultilevelResult:
    """Read a study-results CSV (:func:`~redif.evidence.effect_table.read_effect_table`) and fit the
    nested model with ``random = "OUTER/INNER"`` (two column names of the file).

    Raises
    ------
    InputError
        For a bad file, measure, method, ``random`` or moderator column.
    """
    ms = parse_effect_measure(measure)
    m = _parse_method(method)
    o, i = parse_random(random)
    mods = parse_moderators(moderators)
    extra = [o, i] + [c for c in mods if c not in (o, i)]
    table = read_effect_table(file, measure=ms, extra_columns=extra)
    yi, vi = effect_sizes(table, ms)
    return pool_multilevel(yi, vi, table.columns[o], table.columns[i],
                           moderators={c: table.columns[c] for c in mods} or None, method=m, level=level,
                           measure=ms, totals=table.totals, random=(o, i))
