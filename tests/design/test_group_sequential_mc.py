"""Issue 15: Monte Carlo simulation confirms the exact type I error and power of group-sequential designs.

Expected values: the exact recursive-integration results of :func:`group_sequential_design` (themselves
equal to rpact's, test_group_sequential_rpact.py); the simulation is an independent check of the
integration. 400,000 seeded trials per design and hypothesis; tolerance 4 simulation standard errors
(``4 sqrt(p (1 - p) / N)``; a correct design fails with probability about 6e-5 per comparison).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from redif.design.group_sequential import GroupSequentialDesign, group_sequential_design

N = 400_000


def _simulate(d: GroupSequentialDesign, theta: float, *, futility: bool, seed: int) -> tuple[float, float]:
    """Rejection and futility-stop probabilities of ``d`` by simulation under drift ``theta``."""
    rng = np.random.default_rng(seed)
    t = np.asarray(d.information_rates)
    dt = np.diff(np.concatenate([[0.0], t]))
    s = np.cumsum(rng.standard_normal((N, d.k)) * np.sqrt(dt) + theta * dt, axis=1)
    z = s / np.sqrt(t)
    u = np.asarray(d.critical_values)
    lo = np.full(d.k, -np.inf)
    if futility and d.futility_bounds is not None:
        lo[:-1] = d.futility_bounds
    alive = np.ones(N, dtype=bool)
    rejected = np.zeros(N, dtype=bool)
    stopped_futile = np.zeros(N, dtype=bool)
    for k in range(d.k):
        up = z[:, k] >= u[k]
        down = (z[:, k] <= -u[k]) if d.sided == 2 else np.zeros(N, dtype=bool)
        rej = alive & (up | down)
        rejected |= rej
        fut = alive & ~rej & (z[:, k] <= lo[k])
        stopped_futile |= fut
        alive &= ~(rej | fut)
    return float(rejected.mean()), float(stopped_futile.mean())


def _tol(p: float) -> float:
    return 4 * math.sqrt(max(p * (1 - p), 1e-6) / N)


DESIGNS = [
    dict(k=3, alpha=0.025, beta=0.2, sided=1, type_of_design="asOF", beta_spending="bsOF"),
    dict(k=4, alpha=0.05, beta=0.2, sided=2, type_of_design="OF"),
    dict(k=5, alpha=0.025, beta=0.1, sided=1, type_of_design="P"),
    dict(
        k=3,
        alpha=0.025,
        beta=0.2,
        sided=1,
        type_of_design="asHSD",
        gamma_a=-4,
        beta_spending="bsP",
        binding=True,
        info_rates=[0.3, 0.65, 1.0],
    ),
]


@pytest.mark.parametrize("spec", DESIGNS, ids=lambda s: f"{s['type_of_design']}-k{s['k']}-sided{s['sided']}")
def test_simulated_error_rates_match_exact(spec: dict) -> None:  # type: ignore[type-arg]
    """Type I error (futility ignored unless binding, as the exact alpha_spent) and power (futility
    honoured, as rpact's characteristics) agree with the exact values within 4 simulation SEs."""
    d = group_sequential_design(**spec)
    alpha_sim, _ = _simulate(d, 0.0, futility=d.binding_futility, seed=15)
    assert alpha_sim == pytest.approx(d.alpha_spent[-1], abs=_tol(d.alpha_spent[-1]))
    power_sim, fut_sim = _simulate(d, math.sqrt(d.shift), futility=True, seed=16)
    assert power_sim == pytest.approx(d.power[-1], abs=_tol(d.power[-1]))
    if d.futility_bounds is not None:
        exact_fut = sum(d.futility_probabilities)
        assert fut_sim == pytest.approx(exact_fut, abs=_tol(exact_fut))


def test_simulation_detects_a_wrong_boundary() -> None:
    """The check can fail: lowering the last critical value by 0.05 moves alpha by many SEs."""
    d = group_sequential_design(3, 0.025, 0.2, 1, "OF")
    bad = GroupSequentialDesign(
        **{**d.__dict__, "critical_values": [*d.critical_values[:-1], d.critical_values[-1] - 0.05]}
    )
    alpha_sim, _ = _simulate(bad, 0.0, futility=False, seed=15)
    assert abs(alpha_sim - d.alpha_spent[-1]) > _tol(d.alpha_spent[-1])
