"""One-stage IPD model for a binary outcome: logistic regression with a random site intercept.

Model: ``y_ij ~ Bernoulli(expit(x_ij' beta + theta u_i))``, ``u_i ~ N(0, 1)`` for patient j of site i, so
that ``tau2 = theta^2`` is the between-site variance on the logit scale. Patients of one site with the
same covariate pattern are summed to binomial cells (the likelihood is the same up to a constant). Each
site's marginal likelihood is integrated with 7-point adaptive Gauss-Hermite quadrature centred at the
conditional mode of ``u_i`` (Pinheiro and Bates 1995), as ``lme4::glmer(y ~ x + (1 | site),
family = binomial, nAGQ = 7)``; ``(beta, theta)`` maximise it jointly (lme4's second stage), and the
covariance of ``beta`` is the inverse of the numerical Hessian of ``-log L`` in ``(theta, beta)`` (lme4's
``vcov``; at the boundary ``theta = 0`` the Hessian in ``beta`` alone).

Without covariates the model is the binomial-normal GLMM of :func:`redif.evidence.glmm.fit_glmm` (the
evidence engine's ``method = "GLMM"``), which is reused; the general fitter here handles covariates.

References
----------
Riley RD, Lambert PC, Abo-Zaid G. Meta-analysis of individual participant data: rationale, conduct, and
reporting. BMJ 2010;340:c221.
Pinheiro JC, Bates DM. Approximations to the log-likelihood function in the nonlinear mixed-effects
model. J Comput Graph Stat 1995;4:12-35.
Bates D, Maechler M, Bolker B, Walker S. Fitting linear mixed-effects models using lme4. J Stat Softw
2015;67(1):1-48.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import optimize, special

from redif.errors import ConvergenceError, InputError
from redif.evidence.glmm import fit_glmm

__all__ = ["MixedLogitFit", "fit_mixed_logit"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_N_AGQ = 7
_Z, _W = np.polynomial.hermite_e.hermegauss(_N_AGQ)
_LOGW = np.log(_W / np.sqrt(2.0 * np.pi))
# Divergence guards of the fit on the logit scale (numerical limits, not clinical constants).
_THETA_MAX = 20.0
_BETA_MAX = 40.0


@dataclass(frozen=True)
class MixedLogitFit:
    """ML fit of the random-intercept logistic model (logit scale)."""

    names: tuple[str, ...]
    beta: FloatArray
    vcov: FloatArray
    tau2: float
    loglik: float


class _Deviance:
    """``-log L(beta, theta)`` under adaptive Gauss-Hermite quadrature over site-level cells."""

    def __init__(self, x: FloatArray, n: FloatArray, X: FloatArray, site: IntArray, k: int) -> None:
        self.x, self.n, self.X, self.site, self.k = x, n, X, site, k
        self.u = np.zeros(k)

    def _sum(self, a: FloatArray) -> FloatArray:
        return np.asarray(np.bincount(self.site, weights=a, minlength=self.k), dtype=float)

    def __call__(self, params: FloatArray) -> float:
        beta, theta = params[:-1], abs(float(params[-1]))
        eta0 = self.X @ beta
        u = self.u.copy()
        if theta > 0.0:
            for _ in range(100):
                p = special.expit(eta0 + theta * u[self.site])
                g = theta * self._sum(self.x - self.n * p) - u
                h = theta * theta * self._sum(self.n * p * (1.0 - p)) + 1.0
                step = g / h
                u = u + step
                if float(np.max(np.abs(step))) < 1e-12 * max(1.0, float(np.max(np.abs(u)))):
                    break
            else:
                raise ConvergenceError("one-stage model: conditional modes did not converge")
            self.u = u
        else:
            u = np.zeros(self.k)
        p = special.expit(eta0 + theta * u[self.site])
        h = theta * theta * self._sum(self.n * p * (1.0 - p)) + 1.0
        s = 1.0 / np.sqrt(h)
        uu = u[:, None] + s[:, None] * _Z[None, :]            # k x nodes
        eta = eta0[:, None] + theta * uu[self.site]             # cells x nodes
        cell = self.x[:, None] * eta - self.n[:, None] * np.logaddexp(0.0, eta)
        ll = np.zeros((self.k, _N_AGQ))
        np.add.at(ll, self.site, cell)
        terms = _LOGW[None, :] + ll - 0.5 * uu * uu + 0.5 * _Z[None, :] ** 2
        m = terms.max(axis=1)
        lse = m + np.log(np.exp(terms - m[:, None]).sum(axis=1))
        return -float(np.sum(np.log(s) + lse))


def _hessian(f: _Deviance, p: FloatArray, h: float = 1e-4) -> FloatArray:
    d = p.size
    H = np.empty((d, d))
    f0 = f(p)
    for a in range(d):
        ea = np.zeros(d)
        ea[a] = h
        H[a, a] = (f(p + ea) - 2 * f0 + f(p - ea)) / h**2
        for b in range(a):
            eb = np.zeros(d)
            eb[b] = h
            H[a, b] = H[b, a] = (f(p + ea + eb) - f(p + ea - eb) - f(p - ea + eb)
                                 + f(p - ea - eb)) / (4 * h * h)
    return H


def _gradient(f: _Deviance, p: FloatArray, h: float = 1e-5) -> FloatArray:
    g = np.empty(p.size)
    for a in range(p.size):
        e = np.zeros(p.size)
        e[a] = h
        g[a] = (f(p + e) - f(p - e)) / (2 * h)
    return g


def fit_mixed_logit(
    events: Sequence[int], totals: Sequence[int], design: FloatArray, site: Sequence[int],
    names: Sequence[str],
) -> MixedLogitFit:
    """Fit ``glmer(cbind(events, totals - events) ~ design - 1 + (1 | site), binomial, nAGQ = 7)``.

    Parameters
    ----------
    events, totals
        Counts per cell (a site and a covariate pattern).
    design
        Fixed-effects design matrix, one row per cell (first column the intercept).
    site
        Site index 0..k-1 of each cell.
    names
        Coefficient names (one per design column).

    Raises
    ------
    InputError
        With fewer than 2 sites, no events, or only events.
    ConvergenceError
        When the likelihood has no finite maximum (e.g. a covariate level with no events).
    """
    x = np.asarray(events, dtype=float)
    n = np.asarray(totals, dtype=float)
    X = np.asarray(design, dtype=float)
    s = np.asarray(site, dtype=np.int64)
    k = int(s.max()) + 1 if s.size else 0
    if k < 2:
        raise InputError(f"the one-stage model needs at least 2 sites (found {k})", field="method",
                         value="one-stage", remedy="add sites, or use the two-stage method")
    if x.sum() == 0 or x.sum() == n.sum():
        raise InputError("no finite estimate when no patient (or every patient) has the outcome",
                         field="outcome", value=int(x.sum()), remedy="use the two-stage method")
    if X.shape[1] == 1:  # intercept only: the evidence engine's binomial-normal GLMM
        xs = np.asarray(np.bincount(s, weights=x, minlength=k), dtype=float)
        ns = np.asarray(np.bincount(s, weights=n, minlength=k), dtype=float)
        gf = fit_glmm(xs, ns)
        return MixedLogitFit(tuple(names), np.array([gf.beta]), np.array([[gf.se**2]]), gf.tau2, gf.loglik)
    f = _Deviance(x, n, X, s, k)
    # start: ordinary logistic regression, theta = 0.5
    y = (x + 0.5) / (n + 1.0)
    b0, *_ = np.linalg.lstsq(X * np.sqrt(n)[:, None], np.log(y / (1 - y)) * np.sqrt(n), rcond=None)
    p0 = np.append(b0, 0.5)
    bounds = [(-_BETA_MAX, _BETA_MAX)] * X.shape[1] + [(0.0, _THETA_MAX)]
    res = optimize.minimize(f, p0, method="L-BFGS-B", bounds=bounds,
                            options={"ftol": 1e-15, "gtol": 1e-9, "maxiter": 2000})
    p = np.asarray(res.x, dtype=float)
    # Newton polish (central differences) for an optimum precise to ~1e-8
    for _ in range(20):
        if p[-1] < 1e-4:
            break
        g = _gradient(f, p)
        H = _hessian(f, p)
        if np.linalg.eigvalsh(H)[0] <= 0:
            break
        step = -np.linalg.solve(H, g)
        alpha = 1.0
        while alpha > 1e-6 and f(p + alpha * step) > f(p) + 1e-13:
            alpha /= 2
        if alpha <= 1e-6:
            break
        p = p + alpha * step
        if float(np.max(np.abs(alpha * step))) < 1e-10:
            break
    if np.any(np.abs(p[:-1]) > 0.999 * _BETA_MAX) or p[-1] > 0.999 * _THETA_MAX:
        raise ConvergenceError("one-stage model: no finite maximum-likelihood estimate (a covariate level "
                               "with no events or only events?); use the two-stage method")
    theta = float(p[-1])
    if theta < 1e-4:  # boundary
        p_b = p.copy()
        p_b[-1] = 0.0
        theta = 0.0
        Hb = _hessian(f, p_b)[:-1, :-1]
        vcov = np.linalg.inv(Hb)
        ll = -f(p_b)
    else:
        vcov = np.linalg.inv(_hessian(f, p))[:-1, :-1]
        ll = -f(p)
    return MixedLogitFit(tuple(names), p[:-1].copy(), np.asarray(vcov, dtype=float), theta * theta, ll)
