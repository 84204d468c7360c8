"""Binomial-normal (random-intercept logistic) model for single proportions, fitted by maximum
likelihood with adaptive Gauss-Hermite quadrature.

Model: ``x_i ~ Binomial(n_i, expit(beta + theta u_i))`` with ``u_i ~ N(0, 1)``, so that
``tau2 = theta^2`` on the logit scale. The marginal likelihood of each study is integrated with a
7-point Gauss-Hermite rule centred at the conditional mode of ``u_i`` and scaled by the curvature
there (adaptive quadrature, Pinheiro and Bates 1995), which is how ``lme4::glmer(nAGQ = 7)`` and
therefore ``metafor::rma.glmm(measure = "PLO", method = "ML")`` evaluate it. The modes are found
by a vectorised Newton iteration over all studies at once; the two parameters are estimated by a
bounded quasi-Newton search followed by Newton polishing, and the standard error of ``beta`` comes
from the inverse of the numerical Hessian of the deviance in ``(theta, beta)`` (as ``lme4``'s
``vcov``). No continuity correction is used.

Heterogeneity: ``q`` is metafor's Wald-type test of the saturated model (``QE.Wld``), which equals
Cochran's Q of the study logits when every study has 0 < x < n; when a study has 0 or only events
the Wald test is undefined and ``q`` is the likelihood-ratio test (``QE.LRT``) instead (``q_type``
says which). I^2 and H^2 use the typical within-study variance of the ``escalc`` logits, as metafor.

References
----------
Stijnen T, Hamza TH, Ozdemir P. Random effects meta-analysis of event outcome in the framework of
the generalized linear mixed model with applications in sparse data. Stat Med 2010;29:3046-3067.
Pinheiro JC, Bates DM. Approximations to the log-likelihood function in the nonlinear mixed-effects
model. J Comput Graph Stat 1995;4:12-35.
Bates D, Maechler M, Bolker B, Walker S. Fitting linear mixed-effects models using lme4. J Stat Softw
2015;67(1):1-48.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import optimize, special, stats

from redif.errors import ConvergenceError, InputError
from redif.evidence.measures import Measure, escalc
from redif.evidence.results import PoolResult
from redif.evidence.rma import RmaFit, build_pool_result
from redif.evidence.tau2 import Method, weighted_fit

__all__ = ["GlmmFit", "fit_glmm", "pool_glmm"]

FloatArray = NDArray[np.float64]

_N_AGQ = 7
_Z, _W = np.polynomial.hermite_e.hermegauss(_N_AGQ)
_LOGW = np.log(_W / np.sqrt(2.0 * np.pi))
_HALF_Z2 = 0.5 * _Z**2


@dataclass(frozen=True)
class GlmmFit:
    """Maximum-likelihood fit of the binomial-normal model (logit scale)."""

    beta: float
    se: float
    tau2: float
    loglik: float
    q_wald: float | None
    q_lrt: float


def _modes(beta: float, theta: float, x: FloatArray, n: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Conditional modes of u_i and the curvature there (vectorised Newton)."""
    u = np.zeros_like(x)
    if theta == 0.0:
        return u, np.ones_like(x)
    for _ in range(100):
        p = special.expit(beta + theta * u)
        g = theta * (x - n * p) - u
        h = theta * theta * n * p * (1.0 - p) + 1.0
        step = np.clip(g / h, -10.0, 10.0)
        u = u + step
        if np.max(np.abs(step)) < 1e-12:
            break
    p = special.expit(beta + theta * u)
    return u, theta * theta * n * p * (1.0 - p) + 1.0


def _loglik(params: FloatArray, x: FloatArray, n: FloatArray, lchoose: float) -> float:
    beta, theta = float(params[0]), abs(float(params[1]))
    u, h = _modes(beta, theta, x, n)
    s = 1.0 / np.sqrt(h)
    uu = u[:, None] + s[:, None] * _Z[None, :]
    eta = beta + theta * uu
    logp = x[:, None] * eta - n[:, None] * np.logaddexp(0.0, eta)
    terms = _LOGW[None, :] + logp - 0.5 * uu * uu + _HALF_Z2[None, :]
    return float(np.sum(np.log(s) + special.logsumexp(terms, axis=1)) + lchoose)


def _hessian(f: object, x0: FloatArray, h: float = 1e-4) -> FloatArray:
    fn = f  # callable
    d = x0.size
    H = np.zeros((d, d))
    f0 = fn(x0)  # type: ignore[operator]
    for i in range(d):
        ei = np.zeros(d)
        ei[i] = h
        H[i, i] = (fn(x0 + ei) - 2.0 * f0 + fn(x0 - ei)) / h**2  # type: ignore[operator]
        for j in range(i + 1, d):
            ej = np.zeros(d)
            ej[j] = h
            H[i, j] = H[j, i] = (
                fn(x0 + ei + ej) - fn(x0 + ei - ej) - fn(x0 - ei + ej) + fn(x0 - ei - ej)  # type: ignore[operator]
            ) / (4.0 * h * h)
    return H


def fit_glmm(events: FloatArray, totals: FloatArray) -> GlmmFit:
    """Fit the random-intercept logistic model by ML (adaptive Gauss-Hermite, 7 nodes).

    Parameters
    ----------
    events, totals
        Validated counts (k >= 2).
    """
    x = np.asarray(events, dtype=float)
    n = np.asarray(totals, dtype=float)
    k = x.size
    lchoose = float(np.sum(special.gammaln(n + 1.0) - special.gammaln(x + 1.0)
                           - special.gammaln(n - x + 1.0)))

    def nll(par: FloatArray) -> float:
        return -_loglik(par, x, n, lchoose)

    # start: logit of the pooled proportion; theta from DL on continuity-corrected logits
    y, v = escalc("PLO", x, n)
    fe = weighted_fit(y, np.ones((k, 1)), 1.0 / v)
    p0 = float(np.clip(x.sum() / n.sum(), 1e-6, 1 - 1e-6))
    trp = fe.trace_p(np.ones((k, 1)))
    tau0 = max(0.0, (fe.rss - (k - 1)) / trp) if trp > 0 else 0.0
    start = np.array([float(special.logit(p0)), max(np.sqrt(tau0), 0.1)])
    res = optimize.minimize(nll, start, method="L-BFGS-B", bounds=[(None, None), (0.0, None)],
                            options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 500})
    par = np.asarray(res.x, dtype=float)
    if not np.all(np.isfinite(par)):
        raise ConvergenceError("GLMM fit did not converge; try method='REML' with measure PLO")
    # Newton polishing on the interior; boundary theta = 0 keeps theta fixed
    at_boundary = par[1] < 1e-6
    if at_boundary:
        par[1] = 0.0

        def nll_b(b: FloatArray) -> float:
            return nll(np.array([float(b[0]), 0.0]))

        rb = optimize.minimize(nll_b, par[:1], method="BFGS", options={"gtol": 1e-10})
        par[0] = float(rb.x[0])
    else:
        for _ in range(20):
            H = _hessian(nll, par, 1e-4)
            g = np.array([(nll(par + e) - nll(par - e)) / 2e-5 for e in np.eye(2) * 1e-5])
            try:
                step = np.linalg.solve(H, g)
            except np.linalg.LinAlgError:
                break
            if not np.all(np.isfinite(step)) or np.any(np.linalg.eigvalsh(H) <= 0):
                break
            new = par - step
            if new[1] < 0 or nll(new) > nll(par) + 1e-12:
                break
            par = new
            if np.max(np.abs(step)) < 1e-9:
                break
    # standard error of beta: inverse Hessian of -loglik in (beta, theta) (lme4 vcov)
    if at_boundary:
        hb = _hessian(lambda b: nll(np.array([float(b[0]), 0.0])), par[:1], 1e-4)
        se = float(np.sqrt(1.0 / hb[0, 0]))
    else:
        H = _hessian(nll, par, 1e-4)
        se = float(np.sqrt(np.linalg.inv(H)[0, 0]))
    # heterogeneity tests
    ll_fe = float(np.sum(special.xlogy(x, p0) + special.xlogy(n - x, 1.0 - p0)))
    ll_sat = float(np.sum(special.xlogy(x, x / n) + special.xlogy(n - x, 1.0 - x / n)))
    q_lrt = max(0.0, 2.0 * (ll_sat - ll_fe))
    q_wald: float | None = None
    if np.all((x > 0) & (x < n)):
        yl = np.log(x / (n - x))
        vl = 1.0 / x + 1.0 / (n - x)
        q_wald = max(0.0, weighted_fit(yl, np.ones((k, 1)), 1.0 / vl).rss)
    return GlmmFit(beta=float(par[0]), se=se, tau2=float(par[1] ** 2), loglik=-nll(par), q_wald=q_wald,
                   q_lrt=q_lrt)


def pool_glmm(
    events: FloatArray, totals: FloatArray, labels: list[str], *, measure: Measure = Measure.PLO,
    knha: bool = False, level: float = 95.0, study_ci: str = "clopper-pearson",
) -> PoolResult:
    """Pool proportions with the binomial-normal GLMM (metafor ``rma.glmm(measure="PLO")``)."""
    if measure is not Measure.PLO:
        raise InputError("GLMM works on the logit scale only", field="measure", value=str(measure),
                         remedy="use --measure PLO with --method GLMM")
    if knha:
        raise InputError("Knapp-Hartung is not available with GLMM", field="knha",
                         remedy="drop --knha or use method REML")
    k = events.size
    if k < 2:
        raise InputError(f"k = {k}: the GLMM needs at least 2 studies", field="k", value=k,
                         remedy="add studies or use --method EE")
    gf = fit_glmm(events, totals)
    y, v = escalc("PLO", events, totals)
    fe = weighted_fit(y, np.ones((k, 1)), 1.0 / v)
    vt = (k - 1) / fe.trace_p(np.ones((k, 1)))
    alpha = 1.0 - level / 100.0
    crit = float(stats.norm.isf(alpha / 2.0))
    q = gf.q_wald if gf.q_wald is not None else gf.q_lrt
    q_type = "wald" if gf.q_wald is not None else "lrt"
    beta = np.array([gf.beta])
    se = np.array([gf.se])
    fit = RmaFit(
        k=k, p=1, method=Method.GLMM, knha=False, level=level, beta=beta, vb=se[:, None] ** 2, se=se,
        stat=beta / se, pval=2.0 * stats.norm.sf(np.abs(beta / se)), ci_lower=beta - crit * se,
        ci_upper=beta + crit * se, crit=crit, ddf=None, tau2=gf.tau2, tau2_se=float("nan"), qe=q,
        qe_df=k - 1, qe_p=float(stats.chi2.sf(q, k - 1)), i2=100.0 * gf.tau2 / (vt + gf.tau2),
        h2=1.0 + gf.tau2 / vt, vt=vt, weights=1.0 / (v + gf.tau2), s2w=1.0,
    )
    notes: tuple[str, ...] = ()
    if q_type == "lrt":
        notes = ("q is the likelihood-ratio test (the Wald test is undefined with 0 or n events)",)
    return build_pool_result(
        fit, y, v, measure=Measure.PLO, labels=labels, events=events, totals=totals, study_ci=study_ci,
        qprofile=False, notes=notes,
        extra={"q_type": q_type, "q_wald": gf.q_wald, "q_lrt": gf.q_lrt, "loglik": gf.loglik},
    )
