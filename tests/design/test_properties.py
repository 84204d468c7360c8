"""Hypothesis property tests of invariants (no reference numbers needed)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from redif.design.mixture import BetaMixture
from redif.design.simon import simon_design, simon_oc
from redif.errors import InputError

mixtures = st.lists(
    st.tuples(st.floats(0.05, 1.0), st.floats(0.5, 40.0), st.floats(0.5, 40.0)), min_size=1, max_size=4
).map(lambda c: BetaMixture.from_arrays([x[0] for x in c], [x[1] for x in c], [x[2] for x in c]))


@settings(max_examples=60, deadline=None)
@given(mixtures, st.integers(0, 15), st.integers(0, 15), st.data())
def test_sequential_update_equals_pooled(mix: BetaMixture, n1: int, n2: int, data: st.DataObject) -> None:
    """Updating with (r1, n1) then (r2, n2) equals one update with (r1 + r2, n1 + n2)."""
    r1 = data.draw(st.integers(0, n1))
    r2 = data.draw(st.integers(0, n2))
    a = mix.posterior(r1, n1).posterior(r2, n2)
    b = mix.posterior(r1 + r2, n1 + n2)
    assert a.w == pytest.approx(b.w, abs=1e-9)
    assert a.a == pytest.approx(b.a) and a.b == pytest.approx(b.b)


@settings(max_examples=60, deadline=None)
@given(mixtures, st.floats(0.01, 0.99))
def test_mixture_cdf_and_tail_consistent(mix: BetaMixture, t: float) -> None:
    assert float(mix.cdf(t)) + mix.prob_greater(t) == pytest.approx(1.0, abs=1e-12)
    assert 0.0 < mix.mean < 1.0 and mix.var > 0.0


@settings(max_examples=15, deadline=None)
@given(st.floats(0.05, 0.6), st.floats(0.15, 0.3), st.sampled_from([0.05, 0.1]), st.sampled_from([0.1, 0.2]))
def test_simon_designs_meet_constraints(p0: float, gap: float, alpha: float, beta: float) -> None:
    """Every reported design meets both error constraints exactly (re-checked with simon_oc), and the
    optimal design has the smallest EN(p0) and the minimax the smallest n of all reported designs."""
    p1 = min(p0 + gap, 0.95)
    try:
        res = simon_design(p0, p1, alpha, beta, nmax=45)
    except InputError:
        return  # no design with n <= 45: a legitimate outcome
    for d in res.by_n:
        oc = simon_oc(d.r1, d.n1, d.r, d.n, [p0, p1])
        assert oc.p_reject[0] < alpha and 1 - oc.p_reject[1] < beta
        assert oc.en[0] == pytest.approx(d.en0)
    assert res.optimal.en0 == min(d.en0 for d in res.by_n)
    assert res.minimax.n == min(d.n for d in res.by_n)
