"""Issue 15 item 4: assurance (probability of success) of binary designs, computed exactly.

Expected values: closed forms (single-stage design under a beta design prior: the beta-binomial tail,
scipy ``betabinom``; under Beta(1, 1): (n - r) / (n + 1)), the point-mass limit (assurance = power from
``simon_oc``), and a seeded Monte Carlo (p drawn from the design prior, then the trial).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from redif.design.assurance import parse_mixture, simon_table, single_arm_assurance, single_stage_table
from redif.design.mixture import BetaMixture
from redif.design.monitoring import monitoring_oc
from redif.design.predictive import predictive_table
from redif.design.simon import simon_oc
from redif.errors import InputError


def test_single_stage_closed_forms() -> None:
    """Issue 15: single stage reject if X > r: assurance = P(BetaBin(n, a, b) > r); Beta(1,1): (n-r)/(n+1)."""
    assert single_arm_assurance(single_stage_table(30, 9), BetaMixture.beta(1, 1)) == pytest.approx(
        21 / 31, abs=1e-13
    )
    got = single_arm_assurance(single_stage_table(30, 9), BetaMixture.beta(6, 14))
    assert got == pytest.approx(stats.betabinom.sf(9, 30, 6, 14), abs=1e-13)


@pytest.mark.parametrize("p", [0.1, 0.3, 0.55])
def test_point_mass_equals_power(p: float) -> None:
    """Issue 15: a design prior concentrated at p (Beta(p M, (1-p) M), M = 1e8) gives the power at p."""
    big = 1e8
    prior = BetaMixture.beta(p * big, (1 - p) * big)
    assert single_arm_assurance(simon_table(1, 10, 5, 29), prior) == pytest.approx(
        float(simon_oc(1, 10, 5, 29, [p]).p_reject[0]), abs=1e-6
    )
    tab = predictive_table(0.2, 30, 0.05, 0.9, 0.2, 0.8)
    assert single_arm_assurance(tab, prior) == pytest.approx(
        float(monitoring_oc(tab, [p]).reject[0]), abs=1e-6
    )


def test_mixture_prior_monte_carlo() -> None:
    """Issue 15: assurance of a Simon design under a two-component design prior = seeded simulation (4 SE)."""
    prior = parse_mixture("0.7,6,14;0.3,1,1")
    exact = single_arm_assurance(simon_table(1, 10, 5, 29), prior)
    rng = np.random.default_rng(15)
    m = 400_000
    comp = rng.random(m) < 0.7
    p = np.where(comp, rng.beta(6, 14, m), rng.beta(1, 1, m))
    x1 = rng.binomial(10, p)
    x2 = rng.binomial(19, p)
    sim = ((x1 > 1) & (x1 + x2 > 5)).mean()
    assert abs(sim - exact) < 4 * np.sqrt(exact * (1 - exact) / m)


def test_parse_mixture_errors() -> None:
    """Issue 15: malformed design priors name the field."""
    with pytest.raises(InputError) as e:
        parse_mixture("1,2,3,4")
    assert e.value.field == "design_prior"
    with pytest.raises(InputError):
        parse_mixture("a,b")
