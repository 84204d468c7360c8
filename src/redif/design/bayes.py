"""Meta-analytic-predictive (MAP) priors for a response rate, computed deterministically.

Model (binomial-normal hierarchical model on the logit scale, RBesT ``gMAP`` with a binomial family)::

    r_i ~ Binomial(n_i, theta_i),   logit(theta_i) = eta_i ~ Normal(mu, tau^2),   i = 1..k
    mu ~ Normal(mu_mean, mu_sd^2),  tau ~ HalfNormal(tau_sd)
    MAP prior = predictive distribution of theta_new, logit(theta_new) ~ Normal(mu, tau^2)

Instead of MCMC, the posterior of (mu, tau) is computed on a quadrature grid: tau on Gauss-Legendre
nodes in sqrt(tau) (dense near 0), mu on a uniform grid refined to where the posterior lives, and each
arm's random effect eta_i integrated out by adaptive Gauss-Hermite quadrature (mode and curvature
found by Newton's method, as lme4/metafor do for the binomial-normal model). The predictive is then a
weighted set of logit-normal components; it is approximated by a beta mixture by EM (1-4 components
chosen by AIC with RBesT's penalty 6) and robustified with a vague component.

Default priors (``data/design_defaults.yaml``): tau ~ HalfNormal(1); mu ~ Normal(0, 2^2) on the logit
scale, which is close to uniform for a rate between about 0.05 and 0.95 (RBesT has no default and asks
the user for a normal prior on mu; its binomial examples use Normal(0, 2^2)).

References
----------
Neuenschwander B, Capkun-Niggli G, Branson M, Spiegelhalter DJ. Summarizing historical information
on controls in clinical trials. Clin Trials 2010;7:5-18.
Schmidli H et al. Robust meta-analytic-predictive priors in clinical trials with historical control
information. Biometrics 2014;70:1023-1032.
Weber S et al. Applying meta-analytic-predictive priors with the R Bayesian evidence synthesis tools.
J Stat Softw 2021;100(19).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special, stats

from redif.data import load_yaml
from redif.design._validate import check_positive
from redif.design.mixture import (
    BetaMixture,
    EffectiveSampleSize,
    MixtureFit,
    automixfit,
    effective_sample_size,
    unit_information_beta,
)
from redif.errors import InputError

__all__ = ["MAPPosterior", "MAPPrior", "defaults", "map_posterior", "map_prior"]

_GH_INNER = 7  # Gauss-Hermite nodes for each arm's random effect (adaptive)
_GH_PRED = 16  # Gauss-Hermite nodes for logit(theta_new) given (mu, tau)
_N_TAU = 40  # Gauss-Legendre nodes for tau
_N_MU_COARSE = 161  # uniform mu grid over the prior range (pass 1)
_N_MU = 121  # uniform mu grid where the posterior lives (pass 2)
_N_BINS = 400  # bins of logit(theta_new) for the EM fit


def defaults() -> dict[str, float]:
    """Default hyper-parameters from ``data/design_defaults.yaml`` (each with its source there)."""
    table = load_yaml("design_defaults.yaml")
    return {k: float(v["value"]) for k, v in table.items() if isinstance(v, dict) and "value" in v}


@dataclass(frozen=True)
class MAPPosterior:
    """Posterior of (mu, tau) on the quadrature grid and the predictive of logit(theta_new).

    Attributes
    ----------
    mu, tau
        Grid nodes (``mu`` 1-D, ``tau`` 1-D).
    weight
        Normalised posterior weights on the (mu, tau) grid, shape ``(len(mu), len(tau))``.
    mu_step
        Spacing of the mu grid (its h^2/12 is added to the predictive variance to smooth the grid).
    """

    mu: NDArray[np.float64]
    tau: NDArray[np.float64]
    weight: NDArray[np.float64]
    mu_step: float

    def predictive_points(self, prune: float = 1e-14) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Weighted points (eta, w) representing logit(theta_new)'s predictive distribution."""
        x, wgh = np.polynomial.hermite.hermgauss(_GH_PRED)
        keep = self.weight > prune * self.weight.max()
        jj, tt = np.nonzero(keep)
        s = np.sqrt(self.tau[tt] ** 2 + self.mu_step**2 / 12.0)
        eta = self.mu[jj][:, None] + math.sqrt(2.0) * s[:, None] * x[None, :]
        w = self.weight[jj, tt][:, None] * wgh[None, :] / math.sqrt(math.pi)
        return eta.ravel(), (w / w.sum()).ravel()

    def predictive_cdf(self, theta: ArrayLike) -> NDArray[np.float64]:
        """P(theta_new <= theta) from the grid (exact up to quadrature error)."""
        t = np.atleast_1d(np.asarray(theta, dtype=float))
        u = special.logit(t)
        s = np.sqrt(self.tau[None, :] ** 2 + self.mu_step**2 / 12.0)
        out = np.empty_like(t)
        for i, ui in enumerate(u):
            out[i] = float(np.sum(self.weight * stats.norm.cdf((ui - self.mu[:, None]) / s)))
        return out

    def predictive_moments(self) -> tuple[float, float]:
        """Mean and sd of theta_new."""
        eta, w = self.predictive_points()
        th = special.expit(eta)
        m = float(np.sum(w * th))
        return m, float(math.sqrt(max(np.sum(w * (th - m) ** 2), 0.0)))

    @property
    def tau_mean(self) -> float:
        """Posterior mean of tau."""
        return float(np.sum(self.weight.sum(axis=0) * self.tau))

    @property
    def mu_mean(self) -> float:
        """Posterior mean of mu."""
        return float(np.sum(self.weight.sum(axis=1) * self.mu))


def _check_data(r: ArrayLike, n: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    rv = np.atleast_1d(np.asarray(r, dtype=float))
    nv = np.atleast_1d(np.asarray(n, dtype=float))
    if rv.shape != nv.shape or rv.ndim != 1 or rv.size == 0:
        raise InputError(
            "responders and sample sizes must be equal-length, non-empty lists",
            field="data",
            value={"r": rv.tolist(), "n": nv.tolist()},
        )
    for i, (ri, ni) in enumerate(zip(rv, nv, strict=True)):
        if not (np.isfinite(ri) and np.isfinite(ni)) or ri != int(ri) or ni != int(ni):
            raise InputError(f"arm {i + 1}: counts must be whole numbers", field="data", value=(ri, ni))
        if ni < 1 or ri < 0 or ri > ni:
            raise InputError(
                f"arm {i + 1}: need 0 <= r <= n and n >= 1",
                field="data",
                value=(ri, ni),
                remedy="check the responders (r) and patients (n) of that arm",
            )
    return rv, nv


def _log_marginal(
    r: NDArray[np.float64], n: NDArray[np.float64], mu: NDArray[np.float64], tau: NDArray[np.float64]
) -> NDArray[np.float64]:
    """sum_i log int Bin(r_i | n_i, expit(eta)) N(eta; mu, tau^2) d eta, shape (len(mu), len(tau)).

    Adaptive Gauss-Hermite: for every (mu, tau, i) the integrand's mode is found by Newton's method
    (the log integrand is strictly concave) and the nodes are centred and scaled there.
    """
    x, wgh = np.polynomial.hermite.hermgauss(_GH_INNER)
    log_node = np.log(wgh) + x**2
    M = mu[:, None, None]
    T = tau[None, :, None]
    R = r[None, None, :]
    N = n[None, None, :]
    T2 = T**2
    # start at the normal-approximation mode
    rt = (r + 0.5) / (n + 1.0)
    h = (n * rt * (1 - rt))[None, None, :]
    eta = (M / T2 + h * special.logit(rt)[None, None, :]) / (1.0 / T2 + h)
    for _ in range(30):
        p = special.expit(eta)
        g = R - N * p - (eta - M) / T2
        hess = -N * p * (1 - p) - 1.0 / T2
        step = g / hess
        eta = eta - step
        if float(np.max(np.abs(step))) < 1e-10:
            break
    p = special.expit(eta)
    s = 1.0 / np.sqrt(N * p * (1 - p) + 1.0 / T2)
    nodes = eta[..., None] + math.sqrt(2.0) * s[..., None] * x
    log_p = -np.logaddexp(0.0, -nodes)  # log expit(eta); log(1 - p) = log_p - eta
    z = (nodes - M[..., None]) / T[..., None]
    ll = N[..., None] * log_p - (N - R)[..., None] * nodes - 0.5 * z * z
    li = special.logsumexp(ll + log_node, axis=-1) + np.log(math.sqrt(2.0) * s / T)
    const = float(np.sum(special.gammaln(n + 1) - special.gammaln(r + 1) - special.gammaln(n - r + 1)))
    return np.asarray(li.sum(axis=-1) + const - 0.5 * r.size * math.log(2 * math.pi), dtype=float)


def _tau_grid(tau_sd: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Gauss-Legendre nodes in v = sqrt(tau / tau_max) with tau_max = 6 prior sd; weights include
    the Jacobian d tau = 2 tau_max v dv."""
    v, wv = np.polynomial.legendre.leggauss(_N_TAU)
    v = 0.5 * (v + 1.0)
    wv = 0.5 * wv
    tmax = 6.0 * tau_sd
    return tmax * v**2, wv * 2.0 * tmax * v


def map_posterior(
    r: ArrayLike,
    n: ArrayLike,
    *,
    tau_prior_sd: float | None = None,
    mu_prior_mean: float | None = None,
    mu_prior_sd: float | None = None,
    tau_fixed: float | None = None,
) -> MAPPosterior:
    """Posterior of (mu, tau) for the binomial-normal hierarchical model on a quadrature grid.

    Parameters
    ----------
    r, n
        Responders and patients of each historical arm.
    tau_prior_sd
        Scale of the half-normal prior on tau (default from ``design_defaults.yaml``: 1).
    mu_prior_mean, mu_prior_sd
        Normal prior on mu (defaults 0 and 2 on the logit scale).
    tau_fixed
        Fix tau at this value instead of integrating over its prior (for checks; e.g. 1e-6 gives the
        pooled model without heterogeneity).
    """
    rv, nv = _check_data(r, n)
    d = defaults()
    tau_sd = check_positive(d["tau_prior_sd"] if tau_prior_sd is None else tau_prior_sd, "tau_prior_sd")
    m0 = float(d["mu_prior_mean"] if mu_prior_mean is None else mu_prior_mean)
    s0 = check_positive(d["mu_prior_sd"] if mu_prior_sd is None else mu_prior_sd, "mu_prior_sd")
    if tau_fixed is not None:
        tau = np.array([check_positive(tau_fixed, "tau_fixed")])
        log_prior_tau = np.zeros(1)
    else:
        tau, wt = _tau_grid(tau_sd)
        log_prior_tau = np.log(wt) - 0.5 * (tau / tau_sd) ** 2  # half-normal density up to a constant

    def weights_on(mu: NDArray[np.float64]) -> NDArray[np.float64]:
        lp = _log_marginal(rv, nv, mu, tau) + log_prior_tau[None, :] - 0.5 * ((mu[:, None] - m0) / s0) ** 2
        lp -= lp.max()
        wgt = np.exp(lp)
        return np.asarray(wgt / wgt.sum(), dtype=float)

    # pass 1: coarse grid over the prior range, intersected with where mu can matter given the data
    # (mu lies within a few tau of the arms' logits); pass 2: fine grid where the posterior lives
    lt = special.logit((rv + 0.5) / (nv + 1.0))
    reach = 3.0 * float(tau.max()) + 4.0
    lo = max(m0 - 8.0 * s0, float(lt.min()) - reach)
    hi = min(m0 + 8.0 * s0, float(lt.max()) + reach)
    if hi <= lo:
        lo, hi = m0 - 8.0 * s0, m0 + 8.0 * s0
    mu1 = np.linspace(lo, hi, _N_MU_COARSE)
    marg = weights_on(mu1).sum(axis=1)
    idx = np.nonzero(marg > 1e-12 * marg.max())[0]
    step1 = mu1[1] - mu1[0]
    lo2 = max(lo, mu1[idx[0]] - 2 * step1)
    hi2 = min(hi, mu1[idx[-1]] + 2 * step1)
    mu2 = np.linspace(lo2, hi2, _N_MU)
    w2 = weights_on(mu2)
    return MAPPosterior(mu=mu2, tau=tau, weight=w2, mu_step=float(mu2[1] - mu2[0]))


def _binned(
    eta: NDArray[np.float64], w: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Linear binning of weighted points onto ``_N_BINS`` equally spaced nodes (keeps the total
    weight and the mean exactly; the EM fit then works on a few hundred points)."""
    order = np.argsort(eta)
    cw = np.cumsum(w[order])
    lo = float(eta[order][np.searchsorted(cw, 1e-9)])
    hi = float(eta[order][min(int(np.searchsorted(cw, 1 - 1e-9)), eta.size - 1)])
    eta = np.clip(eta, lo, hi)
    if hi - lo < 1e-9:
        return np.array([lo]), np.array([1.0])
    grid = np.linspace(lo, hi, _N_BINS)
    pos = (eta - lo) / (grid[1] - grid[0])
    i0 = np.clip(np.floor(pos).astype(int), 0, _N_BINS - 2)
    frac = pos - i0
    out = np.bincount(i0, w * (1 - frac), minlength=_N_BINS) + np.bincount(
        i0 + 1, w * frac, minlength=_N_BINS
    )
    keep = out > 0
    return grid[keep], out[keep] / out[keep].sum()


@dataclass(frozen=True)
class MAPPrior:
    """A MAP prior approximated by a beta mixture, and its robust version.

    Attributes
    ----------
    map_mixture
        Beta-mixture approximation of the MAP prior (before robustification).
    mixture
        Robustified prior ``(1 - w) MAP + w vague``.
    ess
        Effective sample size of the robust prior (ELIR, moment, Morita).
    ess_map
        Effective sample size of the non-robust MAP approximation.
    robust_weight
        Weight of the vague component.
    vague
        The vague component.
    n_arms, tau_prior_sd, mu_prior_mean, mu_prior_sd
        Inputs.
    tau_mean
        Posterior mean of the between-arm sd tau (logit scale).
    predictive_mean, predictive_sd
        Mean and sd of the exact (grid) predictive, before the mixture approximation.
    fit
        EM fit details (components, log-likelihood, AIC).
    """

    map_mixture: BetaMixture
    mixture: BetaMixture
    ess: EffectiveSampleSize
    ess_map: EffectiveSampleSize
    robust_weight: float
    vague: BetaMixture
    n_arms: int
    tau_prior_sd: float
    mu_prior_mean: float
    mu_prior_sd: float
    tau_mean: float
    predictive_mean: float
    predictive_sd: float
    fit: MixtureFit

    def to_dict(self) -> dict[str, object]:
        """JSON form with the stable keys of ``design map``."""
        return {
            **self.mixture.to_dict(),  # mixture, mean, sd
            "ess": dataclasses.asdict(self.ess),
            "map": {
                **self.map_mixture.to_dict(),
                "ess": dataclasses.asdict(self.ess_map),
                "predictive_mean": self.predictive_mean,
                "predictive_sd": self.predictive_sd,
                "tau_mean": self.tau_mean,
            },
            "robust_weight": self.robust_weight,
            "vague": {"a": self.vague.a[0], "b": self.vague.b[0]},
            "n_arms": self.n_arms,
            "model": {
                "tau_prior": f"HalfNormal({self.tau_prior_sd:g})",
                "mu_prior": f"Normal({self.mu_prior_mean:g}, {self.mu_prior_sd:g}^2)",
                "computation": "deterministic quadrature (adaptive Gauss-Hermite per arm, Gauss-Legendre "
                "in tau, grid in mu); beta-mixture EM, components by AIC (penalty 6)",
            },
        }


def map_prior(
    r: ArrayLike,
    n: ArrayLike,
    *,
    tau_prior_sd: float | None = None,
    mu_prior_mean: float | None = None,
    mu_prior_sd: float | None = None,
    robust_weight: float | None = None,
    vague: str = "uniform",
    max_components: int = 4,
    tau_fixed: float | None = None,
) -> MAPPrior:
    """MAP prior from historical arms, approximated by a beta mixture and robustified.

    Parameters
    ----------
    r, n
        Responders and patients of each historical arm.
    tau_prior_sd, mu_prior_mean, mu_prior_sd, tau_fixed
        See :func:`map_posterior`.
    robust_weight
        Weight of the vague component (default 0.2 from ``design_defaults.yaml``); 0 disables it.
    vague
        ``"uniform"`` for Beta(1, 1) or ``"unit"`` for the mean-matched unit-information beta
        ``Beta(m, 1 - m)``, m = MAP mean.
    max_components
        Largest number of beta components tried by EM (1..max, chosen by AIC).

    References
    ----------
    Neuenschwander B et al. Clin Trials 2010;7:5-18. Schmidli H et al. Biometrics 2014;70:1023-1032.
    """
    d = defaults()
    post = map_posterior(
        r,
        n,
        tau_prior_sd=tau_prior_sd,
        mu_prior_mean=mu_prior_mean,
        mu_prior_sd=mu_prior_sd,
        tau_fixed=tau_fixed,
    )
    eta, w = _binned(*post.predictive_points())
    log_t = -np.logaddexp(0.0, -eta)
    log_1mt = -np.logaddexp(0.0, eta)
    fit = automixfit(log_t, log_1mt, w, max_components=max_components)
    rw = float(d["robust_weight"] if robust_weight is None else robust_weight)
    if vague == "uniform":
        vag = BetaMixture.beta(d["vague_a"], d["vague_b"])
    elif vague == "unit":
        vag = unit_information_beta(fit.mixture.mean)
    else:
        raise InputError(
            "unknown vague component", field="vague", value=vague, remedy="use 'uniform' or 'unit'"
        )
    robust = fit.mixture.robustify(rw, vag)
    pm, psd = post.predictive_moments()
    return MAPPrior(
        map_mixture=fit.mixture,
        mixture=robust,
        ess=effective_sample_size(robust),
        ess_map=effective_sample_size(fit.mixture),
        robust_weight=rw,
        vague=vag,
        n_arms=int(np.atleast_1d(np.asarray(r)).size),
        tau_prior_sd=float(d["tau_prior_sd"] if tau_prior_sd is None else tau_prior_sd),
        mu_prior_mean=float(d["mu_prior_mean"] if mu_prior_mean is None else mu_prior_mean),
        mu_prior_sd=float(d["mu_prior_sd"] if mu_prior_sd is None else mu_prior_sd),
        tau_mean=post.tau_mean,
        predictive_mean=pm,
        predictive_sd=psd,
        fit=fit,
    )
