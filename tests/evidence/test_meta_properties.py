"""Hypothesis property tests of the meta-analysis engine: invariants that must hold for any data.

* study order does not change any pooled quantity;
* back-transformed estimates, CIs and PIs of proportion measures lie in [0, 1] and are ordered;
* tau^2 >= 0 for every estimator, I^2 in [0, 100), H^2 >= 1 (random-effects);
* the pooled estimate lies inside the range of the study estimates (weighted mean).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from redif.errors import ConvergenceError
from redif.evidence.meta import pool_generic, pool_proportions

METHODS = ["EE", "DL", "HE", "SJ", "ML", "REML", "EB", "PM", "HS"]


@st.composite
def counts(draw: st.DrawFn, min_k: int = 2, max_k: int = 12) -> tuple[list[int], list[int]]:
    k = draw(st.integers(min_k, max_k))
    n = draw(st.lists(st.integers(1, 300), min_size=k, max_size=k))
    x = [draw(st.integers(0, ni)) for ni in n]
    return x, n


@st.composite
def effects(draw: st.DrawFn) -> tuple[list[float], list[float]]:
    k = draw(st.integers(2, 15))
    y = draw(st.lists(st.floats(-5, 5, allow_nan=False), min_size=k, max_size=k))
    v = draw(st.lists(st.floats(1e-3, 2.0, allow_nan=False), min_size=k, max_size=k))
    return y, v


@settings(max_examples=40, deadline=None)
@given(data=effects(), method=st.sampled_from(METHODS), perm_seed=st.integers(0, 2**31 - 1))
def test_order_invariance_and_bounds(
    data: tuple[list[float], list[float]], method: str, perm_seed: int
) -> None:
    """Permuting the studies changes nothing; tau^2 >= 0, 0 <= I^2 < 100, H^2 >= 1; mu within range."""
    y, v = data
    perm = np.random.default_rng(perm_seed).permutation(len(y))
    a = pool_generic(y, v, method=method)
    b = pool_generic(np.asarray(y)[perm], np.asarray(v)[perm], method=method)
    for key in ("mu", "se", "tau2", "i2", "q", "pi_lower", "pi_upper"):
        assert getattr(a, key) == pytest.approx(getattr(b, key), rel=1e-6, abs=1e-8), key
    assert a.tau2 >= 0.0
    assert 0.0 <= a.i2 < 100.0
    if method != "EE":  # for EE, H^2 = Q/df as metafor, which can be below 1
        assert a.h2 >= 1.0 - 1e-12
    assert min(y) - 1e-9 <= a.mu <= max(y) + 1e-9
    assert a.pi_lower <= a.ci_lower + 1e-12 and a.ci_upper <= a.pi_upper + 1e-12


@settings(max_examples=40, deadline=None)
@given(data=counts(), measure=st.sampled_from(["PR", "PLO", "PAS", "PFT"]),
       method=st.sampled_from(["DL", "REML", "PM", "EE"]))
def test_back_transformed_in_unit_interval(
    data: tuple[list[int], list[int]], measure: str, method: str
) -> None:
    """Estimate, CI and PI on the proportion scale lie in [0, 1] and are ordered; study CIs too."""
    x, n = data
    r = pool_proportions(x, n, measure=measure, method=method)
    vals = [r.pi_lower, r.ci_lower, r.estimate, r.ci_upper, r.pi_upper]
    assert all(0.0 <= t <= 1.0 for t in vals), vals
    assert r.ci_lower <= r.estimate + 1e-12 <= r.ci_upper + 2e-12
    assert r.pi_lower <= r.ci_lower + 1e-12 and r.ci_upper <= r.pi_upper + 1e-12
    assert r.tau2 >= 0.0
    for s in r.studies:
        assert 0.0 <= s.ci_lower <= s.estimate <= s.ci_upper <= 1.0


@settings(max_examples=10, deadline=None)
@given(data=counts(min_k=3, max_k=8), perm_seed=st.integers(0, 2**31 - 1))
def test_glmm_order_invariance(data: tuple[list[int], list[int]], perm_seed: int) -> None:
    """The GLMM fit is invariant to study order and returns tau^2 >= 0 and a proportion in [0, 1]."""
    x, n = data
    if sum(x) == 0 or sum(x) == sum(n):
        return  # no information on the logit scale
    perm = np.random.default_rng(perm_seed).permutation(len(x))
    try:
        a = pool_proportions(x, n, method="GLMM")
    except ConvergenceError:  # no finite MLE (degenerate data): must hold in any order
        with pytest.raises(ConvergenceError):
            pool_proportions(np.asarray(x)[perm], np.asarray(n)[perm], method="GLMM")
        return
    b = pool_proportions(np.asarray(x)[perm], np.asarray(n)[perm], method="GLMM")
    assert a.mu == pytest.approx(b.mu, abs=1e-5)
    assert a.tau2 == pytest.approx(b.tau2, abs=1e-5)
    assert a.tau2 >= 0.0
    assert 0.0 <= a.ci_lower <= a.estimate <= a.ci_upper <= 1.0
