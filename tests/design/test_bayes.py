"""Beta mixtures, ESS, MAP prior and Bayesian decision rules.

Independent references, each named in its test:
- closed forms: ESS of one Beta(a, b) is a + b by ELIR, moments and Morita (Neuenschwander et al.
  2020; RBesT ``ess`` example "Conjugate Beta example": ``ess(mixbeta(c(1, 5, 15)))`` vs ``a + b``);
  conjugate updates; beta moments;
- direct numerical integration with scipy.integrate.quad of densities built here from scipy.stats;
- a brute-force MAP predictive on plain uniform grids (no adaptive quadrature) written in this file.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, special, stats

from redif.design.bayes import map_posterior, map_prior
from redif.design.mixture import BetaMixture, ess_elir, ess_moment, ess_morita, fit_beta_mixture
from redif.design.oc import bayes_decision, bayes_oc, posterior_prob_greater
from redif.errors import InputError

# RBesT's documented example mixture: mixbeta(rob = c(0.2, 1, 1), inf = c(0.8, 10, 2))
BMIX = BetaMixture((0.2, 0.8), (1.0, 10.0), (1.0, 2.0))


def _pdf(mix: BetaMixture, t: float) -> float:
    return sum(w * stats.beta.pdf(t, a, b) for w, a, b in zip(mix.w, mix.a, mix.b, strict=True))


@pytest.mark.parametrize(("a", "b"), [(5.0, 15.0), (2.5, 3.5), (30.0, 4.0), (1.5, 1.2)])
def test_ess_single_beta_is_a_plus_b(a: float, b: float) -> None:
    """Closed form: for Beta(a, b) (a, b > 1) ELIR = moment = Morita ESS = a + b."""
    mix = BetaMixture.beta(a, b)
    assert ess_moment(mix) == pytest.approx(a + b, rel=1e-12)
    assert ess_morita(mix) == pytest.approx(a + b, rel=1e-8)
    assert ess_elir(mix) == pytest.approx(a + b, rel=1e-6)


def test_mixture_moments_by_quadrature() -> None:
    """Mean and variance of RBesT's example mixture equal direct integrals of t and t^2."""
    m = integrate.quad(lambda t: t * _pdf(BMIX, t), 0, 1)[0]
    m2 = integrate.quad(lambda t: t * t * _pdf(BMIX, t), 0, 1)[0]
    assert BMIX.mean == pytest.approx(m, abs=1e-10)
    assert BMIX.var == pytest.approx(m2 - m * m, abs=1e-10)
    # moment ESS: a + b of the beta with that mean and variance
    assert ess_moment(BMIX) == pytest.approx(m * (1 - m) / (m2 - m * m) - 1, rel=1e-8)


def test_elir_mixture_by_finite_differences() -> None:
    """ELIR of the example mixture equals E[-t(1-t) d2/dt2 log pi(t)] computed here with central
    finite differences of a scipy.stats log density, integrated by Simpson's rule in t on a uniform
    grid (the integrand is bounded for this mixture)."""
    t = np.linspace(1e-6, 1 - 1e-6, 200001)
    h = 1e-5 * np.minimum(t, 1 - t)

    def lp(x: np.ndarray) -> np.ndarray:
        return np.log(0.2 * stats.beta.pdf(x, 1, 1) + 0.8 * stats.beta.pdf(x, 10, 2))

    d2 = (lp(t - h) - 2 * lp(t) + lp(t + h)) / h**2
    ref = integrate.simpson(-d2 * t * (1 - t) * np.exp(lp(t)), x=t)
    assert ess_elir(BMIX) == pytest.approx(ref, rel=1e-4)


def test_elir_nan_for_component_below_one() -> None:
    """With a component a < 1 the ELIR integral diverges; reported as NaN, not a wrong number."""
    assert math.isnan(ess_elir(BetaMixture((0.5, 0.5), (0.7, 5.0), (2.0, 5.0))))


def test_conjugate_update_closed_form_and_numeric() -> None:
    """One beta: Beta(a + r, b + n - r). Mixture: density equals prior x likelihood normalised by
    quadrature at several points."""
    post = BetaMixture.beta(2, 3).posterior(4, 10)
    assert (post.a, post.b) == ((6.0,), (9.0,))
    r, n = 7, 12
    post = BMIX.posterior(r, n)
    z = integrate.quad(lambda t: _pdf(BMIX, t) * t**r * (1 - t) ** (n - r), 0, 1)[0]
    for t in (0.1, 0.35, 0.6, 0.9):
        ref = _pdf(BMIX, t) * t**r * (1 - t) ** (n - r) / z
        assert float(post.pdf(t)) == pytest.approx(ref, rel=1e-9)


def test_predictive_pmf_sums_and_matches_integral() -> None:
    pmf = BMIX.predictive_pmf(8)
    assert pmf.sum() == pytest.approx(1.0, abs=1e-12)
    ref3 = integrate.quad(lambda t: _pdf(BMIX, t) * stats.binom.pmf(3, 8, t), 0, 1)[0]
    assert pmf[3] == pytest.approx(ref3, rel=1e-9)


def test_robustify() -> None:
    rob = BetaMixture.beta(10, 30).robustify(0.2)
    assert rob.w == pytest.approx((0.8, 0.2)) and rob.a[1] == 1.0 and rob.b[1] == 1.0
    assert rob.mean == pytest.approx(0.8 * 0.25 + 0.2 * 0.5)
    with pytest.raises(InputError):
        BetaMixture.beta(1, 1).robustify(1.0)


def test_em_recovers_known_mixture() -> None:
    """EM on a fine quadrature representation of a known 2-component mixture recovers it."""
    true = BetaMixture((0.3, 0.7), (3.0, 20.0), (12.0, 10.0))
    u = np.linspace(-9, 9, 4001)
    t = special.expit(u)
    w = true.pdf(t) * t * (1 - t)
    fit = fit_beta_mixture(np.log(t), np.log(special.expit(-u)), w / w.sum(), 2, max_iter=3000, tol=1e-13)
    order = np.argsort(fit.mixture.a)
    assert np.asarray(fit.mixture.w)[order] == pytest.approx([0.3, 0.7], abs=5e-3)
    assert np.asarray(fit.mixture.a)[order] == pytest.approx([3.0, 20.0], rel=2e-2)
    assert np.asarray(fit.mixture.b)[order] == pytest.approx([12.0, 10.0], rel=2e-2)


def _brute_force_map(
    r: list[int], n: list[int], tau_sd: float, s0: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Posterior weights on uniform (mu, tau) grids by plain trapezoid sums over eta (no adaptive
    quadrature): returns mu grid, tau grid, weights."""
    eta = np.linspace(-12, 12, 1601)
    de = eta[1] - eta[0]
    mu = np.linspace(-6, 6, 241)
    tau = np.linspace(0.0, 5.0 * tau_sd, 121)
    logl = [stats.binom.logpmf(ri, ni, special.expit(eta)) for ri, ni in zip(r, n, strict=True)]
    wts = np.zeros((mu.size, tau.size))
    for j, tj in enumerate(tau):
        if tj == 0.0:
            f = np.prod([np.exp(np.interp(mu, eta, li)) for li in logl], axis=0)
        else:
            kern = (
                np.exp(-0.5 * ((eta[None, :] - mu[:, None]) / tj) ** 2) / (tj * math.sqrt(2 * math.pi)) * de
            )
            f = np.prod([kern @ np.exp(li) for li in logl], axis=0)
        wts[:, j] = f * stats.norm.pdf(mu / s0) * stats.halfnorm.pdf(tj / tau_sd)
    wts[:, 0] *= 0.5
    wts[:, -1] *= 0.5
    return mu, tau, wts / wts.sum()


def test_map_predictive_matches_brute_force() -> None:
    """Predictive mean, sd and CDF of theta_new from the adaptive-quadrature engine agree with the
    plain-grid brute force written here to 2e-3 (grid-resolution tolerance of the brute force)."""
    r, n = [3, 9, 5], [20, 25, 15]
    post = map_posterior(r, n, tau_prior_sd=1.0, mu_prior_mean=0.0, mu_prior_sd=2.0)
    mu, tau, w = _brute_force_map(r, n, 1.0, 2.0)
    # predictive by Gauss-Hermite over logit(theta_new) ~ N(mu, tau^2), tau = 0 handled exactly
    x, gw = np.polynomial.hermite.hermgauss(40)
    eta_new = mu[:, None, None] + math.sqrt(2) * tau[None, :, None] * x
    th = special.expit(eta_new)
    ww = w[:, :, None] * gw / math.sqrt(math.pi)
    m_ref = float(np.sum(ww * th))
    sd_ref = math.sqrt(float(np.sum(ww * (th - m_ref) ** 2)))
    m, sd = post.predictive_moments()
    assert m == pytest.approx(m_ref, abs=2e-3)
    assert sd == pytest.approx(sd_ref, abs=2e-3)
    for t in (0.1, 0.25, 0.5):
        ref = float(
            np.sum(w * stats.norm.cdf((special.logit(t) - mu[:, None]) / np.maximum(tau[None, :], 1e-12)))
        )
        assert float(post.predictive_cdf(t)[0]) == pytest.approx(ref, abs=3e-3)
    # the beta-mixture approximation keeps the mean and sd
    prior = map_prior(r, n, robust_weight=0.0)
    assert prior.map_mixture.mean == pytest.approx(m_ref, abs=3e-3)
    assert prior.map_mixture.sd == pytest.approx(sd_ref, abs=5e-3)


def test_single_arm_no_heterogeneity_is_beta_posterior() -> None:
    """One arm, tau fixed ~0 and a very vague normal prior on mu (sd 10): the MAP prior is the
    posterior of theta, close to Beta(r, n - r) (flat prior on the logit scale). The prior
    N(0, 10^2) tilts it by exp(-eta^2/200), a relative change below 1% on the support, hence the
    tolerance 0.005 on the mean and sd."""
    r, n = 12, 40
    prior = map_prior([r], [n], tau_fixed=1e-6, mu_prior_sd=10.0, robust_weight=0.0)
    ref = stats.beta(r, n - r)
    assert prior.map_mixture.mean == pytest.approx(ref.mean(), abs=5e-3)
    assert prior.map_mixture.sd == pytest.approx(ref.std(), abs=5e-3)
    assert prior.ess_map.moment == pytest.approx(n, rel=0.05)


def test_more_arms_more_information() -> None:
    """Property: ESS grows with the number of homogeneous arms; robustification lowers it."""
    one = map_prior([6], [20])
    four = map_prior([6, 6, 6, 6], [20, 20, 20, 20])
    assert four.ess_map.moment > one.ess_map.moment
    assert four.ess.moment < four.ess_map.moment


def test_bad_arms() -> None:
    with pytest.raises(InputError):
        map_prior([5, 30], [20, 25])
    with pytest.raises(InputError):
        map_prior([], [])
    with pytest.raises(InputError):
        map_prior([1.5], [10])


def test_decision_uniform_prior_closed_form() -> None:
    """Beta(1,1) prior: P(theta > theta0 | y) = 1 - I_theta0(1 + y, 1 + n - y) (closed form); the
    critical y is the first y with probability > c (loop here); OC = binomial tail at y_crit."""
    n, th0, c = 25, 0.2, 0.9
    pp = posterior_prob_greater(BetaMixture.beta(1, 1), n, th0)
    ref = [1 - special.betainc(1 + y, 1 + n - y, th0) for y in range(n + 1)]
    assert pp == pytest.approx(ref, abs=1e-12)
    dec = bayes_decision(BetaMixture.beta(1, 1), n, th0, c)
    y_crit = next(y for y in range(n + 1) if ref[y] > c)
    assert dec.y_crit == y_crit
    oc = bayes_oc(dec, [th0, 0.4])
    assert oc[0] == pytest.approx(sum(stats.binom.pmf(y, n, th0) for y in range(y_crit, n + 1)), abs=1e-12)
    assert oc[1] > oc[0]
