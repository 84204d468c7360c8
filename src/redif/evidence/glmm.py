"""Binomial-normal (random-intercept logistic) model for single proportions, fitted by maximum
likelihood with adaptive Gauss-Hermite quadrature.

Model: ``x_i ~ Binomial(n_i, expit(beta + theta u_i))`` with ``u_i ~ N(0, 1)``, so that
``tau2 = theta^2`` on the logit scale. The marginal likelihood of each study is integrated with a
7-point Gauss-Hermite rule centred at the conditional mode of ``u_i`` and scaled by the curvature
there (adaptive quadrature, Pinheiro and Bates 1995), which is how ``lme4::glmer(nAGQ = 7)`` and
therefore ``metafor::rma.glmm(measure = "PLO", method = "ML")`` evaluate it. The modes are found
by a vectorised Newton iteration over all studies at once; the two parameters are estimated by
Newton's method with central-difference derivatives, and the standard error of ``beta`` comes
from the inverse of the numerical Hessian of the deviance in ``(theta, beta)`` (as ``lme4``'s
``vcov``). No continuity correction is used.

Heterogeneity: ``q`` is metafor's Wald-type test of the saturated model (``QE.Wld``), which equals
Cochran's Q of the study logits when every study has 0 < x < n; when a study has 0 or only events
the Wald test is undefined and ``q`` is the likelihood-ratio test (``QE.LRT``) instead (``q_type``
says which). I^2 and H^2 use the typical within-study variance of the ``escalc`` logits, as metafor.
The GLMM has no explicit study weights; ``weight_percent`` of each study row is the inverse-variance
weight ``1/(v_i + tau2)`` of its continuity-corrected logit, for display only.

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
from scipy import optimize, special

from redif.errors import ConvergenceError, InputError
from redif.evidence._dist import chi2_sf, norm_isf, norm_sf
from redif.evidence.measures import Measure, escalc
from redif.evidence.results import PoolResult
from redif.evidence.rma_result import RmaFit, build_pool_result
from redif.evidence.tau2 import Method, weighted_fit

__all__ = ["GlmmFit", "fit_glmm", "pool_glmm"]

FloatArray = NDArray[np.float64]

_N_AGQ = 7
_Z, _W = np.polynomial.hermite_e.hermegauss(_N_AGQ)
_LOGW = np.log(_W / np.sqrt(2.0 * np.pi))
_HALF_Z2 = 0.5 * _Z**2
# Divergence guards: tau > 20 or |logit| > 40 on the logit scale means the likelihood has no finite
# maximum for these data (numerical limits of the fit, not clinical constants).
_THETA_MAX = 20.0
_BETA_MAX = 40.0


@dataclass(frozen=True)
class GlmmFit:
    """Maximum-likelihood fit of the binomial-normal model (logit scale)."""

    beta: float
    se: float
    tau2: float
    loglik: float
    q_wald: float | None
    q_lrt: float


def _logsumexp_rows(a: FloatArray) -> FloatArray:
    m = a.max(axis=1)
    return np.asarray(m + np.log(np.exp(a - m[:, None]).sum(axis=1)), dtype=float)


class _Objective:
    """-log L(beta, theta) under 7-point adaptive Gauss-Hermite quadrature.

    Keeps the last conditional modes to warm-start the next Newton solve (local to one fit).
    """

    def __init__(self, x: FloatArray, n: FloatArray) -> None:
        self.x = x
        self.n = n
        self.u = np.zeros_like(x)
        self.lchoose = float(np.sum(special.gammaln(n + 1.0) - special.gammaln(x + 1.0)
                                    - special.gammaln(n - x + 1.0)))
        self.evaluations = 0

    def modes(self, beta: float, theta: float) -> tuple[FloatArray, FloatArray]:
        """Conditional modes of u_i and the curvature -l''(u_i) there (vectorised Newton)."""
        x, n = self.x, self.n
        if theta == 0.0:
            return np.zeros_like(x), np.ones_like(x)
        # g(u) = theta (x - n p(u)) - u is strictly decreasing with its root in [theta (x - n), theta x]:
        # Newton steps, replaced by bisection whenever they leave the shrinking bracket.
        lo = theta * (x - n) - 1e-12
        hi = theta * x + 1e-12
        u = np.clip(self.u, lo, hi)
        for _ in range(200):
            p = special.expit(beta + theta * u)
            g = theta * (x - n * p) - u
            h = theta * theta * n * p * (1.0 - p) + 1.0
            lo = np.where(g > 0, u, lo)
            hi = np.where(g < 0, u, hi)
            new = u + g / h
            new = np.where((new < lo) | (new > hi), 0.5 * (lo + hi), new)
            step = np.abs(new - u)
            u = new
            if float(np.max(step)) < 1e-13 * max(1.0, float(np.max(np.abs(u)))):
                break
        else:
            raise ConvergenceError("GLMM: conditional modes did not converge")
        self.u = u
        p = special.expit(beta + theta * u)
        return u, theta * theta * n * p * (1.0 - p) + 1.0

    def __call__(self, beta: float, theta: float) -> float:
        self.evaluations += 1
        theta = abs(theta)  # the likelihood is even in theta
        u, h = self.modes(beta, theta)
        s = 1.0 / np.sqrt(h)
        uu = u[:, None] + s[:, None] * _Z[None, :]
        eta = beta + theta * uu
        logp = self.x[:, None] * eta - self.n[:, None] * np.logaddexp(0.0, eta)
        terms = _LOGW[None, :] + logp - 0.5 * uu * uu + _HALF_Z2[None, :]
        return -float(np.sum(np.log(s) + _logsumexp_rows(terms)) + self.lchoose)


def _derivatives(f: _Objective, b: float, t: float, h: float = 1e-4) -> tuple[float, FloatArray, FloatArray]:
    """Value, central-difference gradient and Hessian of f at (b, t) (9 evaluations)."""
    f0 = f(b, t)
    fbp, fbm = f(b + h, t), f(b - h, t)
    ftp, ftm = f(b, t + h), f(b, t - h)
    fpp, fpm, fmp, fmm = f(b + h, t + h), f(b + h, t - h), f(b - h, t + h), f(b - h, t - h)
    g = np.array([(fbp - fbm) / (2 * h), (ftp - ftm) / (2 * h)])
    hbb = (fbp - 2 * f0 + fbm) / h**2
    htt = (ftp - 2 * f0 + ftm) / h**2
    hbt = (fpp - fpm - fmp + fmm) / (4 * h * h)
    return f0, g, np.array([[hbb, hbt], [hbt, htt]])


def _beta_given_theta(f: _Objective, b: float, t: float) -> float:
    """Minimise f over beta for fixed theta (1-D Newton with central differences, halving)."""
    h = 1e-4
    for _ in range(100):
        f0, fp, fm = f(b, t), f(b + h, t), f(b - h, t)
        g = (fp - fm) / (2 * h)
        c = (fp - 2 * f0 + fm) / h**2
        step = -g / c if c > 0 else -np.sign(g) * 0.5
        step = float(np.clip(step, -2.0, 2.0))
        while abs(step) > 1e-12 and f(b + step, t) > f0:
            step /= 2.0
        b += step
        if abs(step) < 1e-10 or abs(b) > _BETA_MAX:
            break
    return b


def _profile_fit(f: _Objective, b0: float) -> tuple[float, float]:
    """Bounded Brent search over theta of the profile deviance min_beta f(beta, theta)."""
    state = {"b": b0}

    def prof(t: float) -> float:
        state["b"] = _beta_given_theta(f, state["b"], t)
        return f(state["b"], t)

    res = optimize.minimize_scalar(prof, bounds=(0.0, _THETA_MAX), method="bounded",
                                   options={"xatol": 1e-10, "maxiter": 500})
    t = float(res.x)
    return _beta_given_theta(f, state["b"], t), t


def fit_glmm(events: FloatArray, totals: FloatArray) -> GlmmFit:
    """Fit the random-intercept logistic model by ML (adaptive Gauss-Hermite, 7 nodes).

    Newton's method on (beta, theta) with central-difference derivatives of the quadrature
    log-likelihood (a Levenberg shift keeps the Hessian positive definite, a trust region and a
    backtracking line search keep every step bounded and downhill), started from the
    DerSimonian-Laird fit of the logits; if it does not converge (flat likelihood at the boundary
    tau = 0, or far from the start), a bounded Brent search over theta of the profile likelihood in
    beta takes over.

    Parameters
    ----------
    events, totals
        Validated counts (k >= 2).
    """
    x = np.asarray(events, dtype=float)
    n = np.asarray(totals, dtype=float)
    k = x.size
    f = _Objective(x, n)
    y, v = escalc("PLO", x, n)
    X1 = np.ones((k, 1))
    fe = weighted_fit(y, X1, 1.0 / v)
    trp = fe.trace_p(X1)
    tau0 = max(0.0, (fe.rss - (k - 1)) / trp) if trp > 0 else 0.0
    b = float(weighted_fit(y, X1, 1.0 / (v + tau0)).beta[0])
    t = max(float(np.sqrt(tau0)), 0.2)
    converged = False
    for _ in range(100):
        f0, g, H = _derivatives(f, b, t)
        lam_min = float(np.linalg.eigvalsh(H)[0])
        Hm = H + (max(0.0, -lam_min) + 1e-6 * (1.0 + abs(lam_min))) * np.eye(2) if lam_min <= 0 else H
        step = -np.linalg.solve(Hm, g)
        scale = float(np.max(np.abs(step)))
        if scale > 2.0:  # trust region on the logit scale
            step *= 2.0 / scale
        alpha = 1.0
        while alpha > 1e-10:
            nb, nt = b + alpha * step[0], t + alpha * step[1]
            if f(nb, nt) <= f0 + 1e-12 * abs(f0):
                break
            alpha /= 2.0
        else:
            nb, nt = b, t
        moved = max(abs(nb - b), abs(nt - t))
        b, t = nb, nt
        if abs(t) > _THETA_MAX or abs(b) > _BETA_MAX:
            break
        if moved < 1e-9 and lam_min > 0:
            converged = True
            break
    if not converged:  # robust fallback: Brent on theta in [0, max] over the profile in beta
        b, t = _profile_fit(f, b)
    t = abs(t)
    if t > 1.0:  # a likelihood that still decreases towards tau -> infinity has no finite maximum
        b_far = _beta_given_theta(f, b, _THETA_MAX)
        if f(b_far, _THETA_MAX) < f(b, t) - 1e-9 * max(1.0, abs(f(b, t))):
            t = _THETA_MAX
    if 0.0 < t < 1e-2:  # near the boundary the profile is flat: take tau = 0 if it is at least as good
        b0 = _beta_given_theta(f, b, 0.0)
        if f(b0, 0.0) <= f(b, t) + 1e-10 * max(1.0, abs(f(b, t))):
            b, t = b0, 0.0
    if not (np.isfinite(b) and np.isfinite(t)) or t >= _THETA_MAX * 0.999 or abs(b) > _BETA_MAX:
        raise ConvergenceError(
            "GLMM: no finite maximum-likelihood estimate for these data (the between-study variance "
            "or the logit diverges, as when nearly every study has 0 or only events); use method REML"
        )
    if t < 1e-5:  # boundary: tau2 = 0, SE from the beta-only curvature
        t = 0.0
        h = 1e-4
        hbb = (f(b + h, 0.0) - 2 * f(b, 0.0) + f(b - h, 0.0)) / h**2
        se = float(np.sqrt(1.0 / hbb))
    else:
        _, _, H = _derivatives(f, b, t)
        se = float(np.sqrt(np.linalg.inv(H)[0, 0]))
    # heterogeneity tests
    p0 = float(x.sum() / n.sum())
    ll_fe = float(np.sum(special.xlogy(x, p0) + special.xlogy(n - x, 1.0 - p0)))
    ll_sat = float(np.sum(special.xlogy(x, x / n) + special.xlogy(n - x, 1.0 - x / n)))
    q_lrt = max(0.0, 2.0 * (ll_sat - ll_fe))
    q_wald: float | None = None
    if np.all((x > 0) & (x < n)):
        yl = np.log(x / (n - x))
        vl = 1.0 / x + 1.0 / (n - x)
        q_wald = max(0.0, weighted_fit(yl, X1, 1.0 / vl).rss)
    return GlmmFit(beta=float(b), se=se, tau2=float(t * t), loglik=-f(b, t), q_wald=q_wald, q_lrt=q_lrt)


def pool_glmm(
    events: FloatArray, totals: FloatArray, labels: list[str], *, measure: Measure = Measure.PLO,
    knha: bool = False, level: float = 95.0, study_ci: str = "clopper-pearson",
) -> PoolResult:
    """Pool proportions with the binomial-normal GLMM (metafor ``rma.glmm(measure="PLO")``)."""
    if measure is not Measure.PLO:
        raise InputError("GLMM works on the logit scale only", field="measure", value=str(measure),
                         remedy="use measure PLO with method GLMM")
    if knha:
        raise InputError("Knapp-Hartung is not available with GLMM", field="knha",
                         remedy="drop knha or use method REML")
    k = events.size
    if k < 2:
        raise InputError(f"k = {k}: the GLMM needs at least 2 studies", field="k", value=k,
                         remedy="add studies or use method EE")
    if events.sum() == 0 or events.sum() == totals.sum():
        raise InputError(
            "the GLMM has no finite estimate when no study has an event (or every participant has one)",
            field="events", value=int(events.sum()), remedy="use method REML (continuity-corrected logits)",
        )
    gf = fit_glmm(events, totals)
    y, v = escalc("PLO", events, totals)
    fe = weighted_fit(y, np.ones((k, 1)), 1.0 / v)
    vt = (k - 1) / fe.trace_p(np.ones((k, 1)))
    alpha = 1.0 - level / 100.0
    crit = norm_isf(alpha / 2.0)
    q = gf.q_wald if gf.q_wald is not None else gf.q_lrt
    q_type = "wald" if gf.q_wald is not None else "lrt"
    beta = np.array([gf.beta])
    se = np.array([gf.se])
    fit = RmaFit(
        k=k, p=1, method=Method.GLMM, knha=False, level=level, beta=beta, vb=se[:, None] ** 2, se=se,
        stat=beta / se, pval=2.0 * norm_sf(np.abs(beta / se)), ci_lower=beta - crit * se,
        ci_upper=beta + crit * se, crit=crit, ddf=None, tau2=gf.tau2, tau2_se=float("nan"), qe=q,
        qe_df=k - 1, qe_p=chi2_sf(q, k - 1), i2=100.0 * gf.tau2 / (vt + gf.tau2),
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
