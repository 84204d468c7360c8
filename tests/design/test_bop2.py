"""Issue 15 item 3: BOP2 for a binary endpoint (Zhou, Lee & Yuan, Stat Med 2017;36:3302-3314).

The paper's example designs were not accessible through the search tool. The futility boundaries are
checked against the README of the R package BOP2FE (belayb/BOP2FE, README.md, "Binary endpoint":
``BOP2FE_binary(H0 = 0.2, H1 = 0.4, n = c(10,5,5,5,5,5,5), lambda = 0.909, gamma = 1, ...)`` prints the
futility boundary 1, 2, 3, 5, 7, 9, 11; BOP2-FE keeps BOP2's futility rule
Pr(p > p0 | data) < lambda (n/N)^gamma with the Beta(H0, 1 - H0) prior, R/boundary_binary.R; its
superiority boundary and simulated OC belong to the efficacy extension and are not compared). The search
and the exact operating characteristics are checked by brute force: every patient sequence is enumerated
(2^12 paths) with the posterior computed directly from scipy's beta distribution, and a seeded Monte
Carlo simulation of the optimised N = 40 design agrees within 4 standard errors.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats

from redif.design.bop2 import bop2_design, bop2_table
from redif.design.monitoring import monitoring_oc
from redif.errors import InputError


def _enumerate(p0: float, looks: list[int], lam: float, gamma: float, a: float, b: float, p: float) -> float:
    """P(declare promising) by enumerating all 2^N sequences; the rule is applied from its definition."""
    nmax = looks[-1]
    rej = 0.0
    for seq in itertools.product((0, 1), repeat=nmax):
        ok = True
        for n in looks:
            x = sum(seq[:n])
            if stats.beta.cdf(p0, a + x, b + n - x) > 1 - lam * (n / nmax) ** gamma:
                ok = False
                break
        if ok:
            rej += p ** sum(seq) * (1 - p) ** (nmax - sum(seq))
    return rej


def test_optimisation_equals_brute_force() -> None:
    """Issue 15: on a small grid the optimiser returns the (lambda, gamma) with the largest enumerated power
    among those with enumerated type I error <= alpha."""
    looks, lams, gams = [4, 8, 12], [0.6, 0.7, 0.8, 0.9, 0.95], [0.5, 1.0, 2.0]
    p0, p1, alpha = 0.2, 0.5, 0.15
    d = bop2_design(p0, p1, 12, looks=looks, alpha=alpha, lambda_grid=lams, gamma_grid=gams)
    best = -1.0
    for lam in lams:
        for g in gams:
            if _enumerate(p0, looks, lam, g, p0, 1 - p0, p0) <= alpha:
                best = max(best, _enumerate(p0, looks, lam, g, p0, 1 - p0, p1))
    assert d.power == pytest.approx(best, abs=1e-12)
    assert d.alpha == pytest.approx(_enumerate(p0, looks, d.lam, d.gamma, p0, 1 - p0, p0), abs=1e-12)


def test_futility_boundaries_match_bop2fe_readme() -> None:
    """Issue 15: BOP2FE README binary example (H0 0.2, looks 10..40 by 5, lambda 0.909, gamma 1, prior
    Beta(0.2, 0.8)): futility boundary 1, 2, 3, 5, 7, 9, 11."""
    t = bop2_table(0.2, (10, 15, 20, 25, 30, 35, 40), 0.909, 1.0, 0.2, 0.8)
    assert t.r == (1, 2, 3, 5, 7, 9, 11)


def test_boundaries_follow_the_rule() -> None:
    """Issue 15: r_n is the largest x with Pr(p > p0 | x, n) < lambda (n/N)^gamma."""
    t = bop2_table(0.2, (10, 20, 30, 40), 0.85, 1.5, 0.2, 0.8)
    for n, r in zip(t.looks, t.r, strict=True):
        cut = 0.85 * (n / 40) ** 1.5
        if r >= 0:
            assert stats.beta.sf(0.2, 0.2 + r, 0.8 + n - r) < cut
        assert stats.beta.sf(0.2, 0.2 + r + 1, 0.8 + n - r - 1) >= cut


def test_optimised_design_monte_carlo() -> None:
    """Issue 15: seeded simulation (200,000 trials per rate) of the optimised N = 40 design reproduces its
    exact type I error, power and E[N] within 4 simulation standard errors."""
    d = bop2_design(0.2, 0.4, 40, looks=[10, 20, 30, 40], alpha=0.1)
    assert d.alpha <= 0.1
    rng = np.random.default_rng(15)
    looks = np.array(d.table.looks)
    for p, target, en in ((0.2, d.alpha, d.en0), (0.4, d.power, d.en1)):
        resp = rng.random((200_000, 40)) < p
        cum = np.cumsum(resp, axis=1)[:, looks - 1]
        fail = cum[:, :-1] <= np.array(d.table.r[:-1])
        stopped = fail.any(axis=1)
        first = np.where(stopped, fail.argmax(axis=1), len(looks) - 1)
        reject = (~stopped) & (cum[:, -1] > d.table.r[-1])
        se = np.sqrt(target * (1 - target) / 200_000)
        assert abs(reject.mean() - target) < 4 * se
        n_used = looks[first]
        assert abs(n_used.mean() - en) < 4 * n_used.std() / np.sqrt(200_000)
    oc = monitoring_oc(d.table, [0.2])
    assert oc.reject[0] == pytest.approx(d.alpha, abs=1e-15)


def test_bad_input() -> None:
    """Issue 15: infeasible alpha and bad looks name their field."""
    with pytest.raises(InputError) as e:
        bop2_design(0.2, 0.4, 10, alpha=1e-9, lambda_grid=[0.5], gamma_grid=[1.0])
    assert e.value.field == "alpha"
    with pytest.raises(InputError) as e:
        bop2_design(0.2, 0.4, 40, looks=[20, 10])
    assert e.value.field == "looks"
