"""Issue 15 item 4: two-arm binary design with a robust MAP control prior (borrowing).

Expected values: closed forms and independent computations — scipy ``integrate.quad`` for the posterior
probability of the difference, the no-borrowing limit (a vague control prior gives the unborrowed
design exactly), and a seeded Monte Carlo of the trial for the operating characteristics. RBesT is
not installed here (``library(RBesT)`` fails; no R package may be added), so there is no RBesT comparison.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from redif.design.bayes import map_prior
from redif.design.borrowing import borrowing_design, posterior_prob_diff, two_arm_assurance
from redif.design.mixture import BetaMixture
from redif.errors import InputError

PRIOR = BetaMixture.from_arrays([0.8, 0.2], [10.0, 1.0], [30.0, 1.0])


def test_posterior_difference_equals_quad() -> None:
    """Issue 15: Pr(p_t - p_c > delta | data) by quadrature = scipy quad on the mixture posterior."""
    n_c, n_t = 12, 20
    for delta in (0.0, 0.1, -0.1):
        got = posterior_prob_diff(PRIOR, BetaMixture.beta(1, 1), n_c, n_t, delta)
        for xc, xt in [(0, 0), (3, 9), (7, 10), (12, 20)]:
            post = PRIOR.posterior(xc, n_c)

            def f(u: float, post: BetaMixture = post, xt: int = xt, d: float = delta) -> float:
                return float(post.pdf(u)) * float(
                    stats.beta.sf(min(max(u + d, 0.0), 1.0), 1 + xt, 1 + n_t - xt)
                )

            ref = integrate.quad(f, 0, 1, epsabs=1e-13, limit=500, points=[abs(delta), 1 - abs(delta)])[0]
            assert got[xc, xt] == pytest.approx(ref, abs=1e-9)


def test_vague_control_prior_is_the_unborrowed_design() -> None:
    """Issue 15: with the vague prior as control prior (w = 1 on the vague component) the design equals
    the unborrowed one: same success region, same OC at every control rate."""
    d = borrowing_design(BetaMixture.beta(1, 1), 20, 30, effect=0.3)
    assert np.array_equal(d.region, d.region_vague)
    assert d.oc.type1_error == pytest.approx(d.oc.type1_error_vague, abs=0)
    assert d.ess.moment == pytest.approx(2.0, abs=1e-12)  # Beta(1, 1): a + b


def test_oc_monte_carlo_and_conflict() -> None:
    """Issue 15: exact P(success) = seeded simulation within 4 SE; borrowing inflates the type I error when
    the true control rate sits above the prior (prior-data conflict) and lowers it below."""
    d = borrowing_design(PRIOR, 20, 40, effect=0.25, p_control=[0.25, 0.45])
    rng = np.random.default_rng(15)
    for i, pc in enumerate((0.25, 0.45)):
        for pt, exact in ((pc, d.oc.type1_error[i]), (pc + 0.25, d.oc.power[i])):
            xc = rng.binomial(20, pc, 200_000)
            xt = rng.binomial(40, pt, 200_000)
            sim = d.region[xc, xt].mean()
            assert abs(sim - exact) < 4 * np.sqrt(exact * (1 - exact) / 200_000) + 1e-9
    assert d.oc.type1_error[1] > d.oc.type1_error_vague[1]  # conflict: control truly 0.45, prior 0.25
    assert d.oc.power[0] > d.oc.power_vague[0]  # agreement: borrowing adds power


def test_with_map_prior_from_arms_and_assurance() -> None:
    """Issue 15: the robust MAP prior plugs in; two-arm assurance under near-point-mass design priors
    equals the power at that point (to 1e-4)."""
    mp = map_prior([5, 8, 6], [25, 30, 28], robust_weight=0.2)
    d = borrowing_design(mp.mixture, 20, 40, effect=0.25, p_control=[0.2])
    big = 1e7
    a = two_arm_assurance(
        d.region, BetaMixture.beta(0.2 * big, 0.8 * big), BetaMixture.beta(0.45 * big, 0.55 * big)
    )
    assert a == pytest.approx(d.oc.power[0], abs=1e-4)
    assert d.ess.elir < mp.ess_map.elir  # robustification lowers the prior's information


def test_bad_input() -> None:
    """Issue 15: bad sizes and cut-offs name their field."""
    with pytest.raises(InputError) as e:
        borrowing_design(PRIOR, 0, 10, effect=0.2)
    assert e.value.field == "n_control"
    with pytest.raises(InputError) as e:
        borrowing_design(PRIOR, 10, 10, effect=0.2, c=1.5)
    assert e.value.field == "c"
