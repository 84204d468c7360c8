"""Simon two-stage designs against R clinfun and against a brute-force enumeration.

Expected values:
- ``ref/clinfun_reference.json``: R clinfun 1.1.5 ``ph2simon``, ``twostage.admissible`` and
  ``oc.twostage.bdry`` run on this machine (script and build steps in ``ref/clinfun_reference.R``).
- ``_brute_force``: a slow, obviously-correct loop over every (r1, n1, r, n) written here from
  Simon (1989), eq. (1), with clinfun's feasibility and tie conventions.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from redif.design.simon import np_lower_bound_n, simon_design, simon_oc
from redif.errors import InputError


def _reject_prob(r1: int, n1: int, r: int, n: int, p: float) -> float:
    """P(reject) by enumerating both stage counts (math.comb, no scipy)."""
    n2 = n - n1
    total = 0.0
    for x1 in range(r1 + 1, n1 + 1):
        b1 = math.comb(n1, x1) * p**x1 * (1 - p) ** (n1 - x1)
        for x2 in range(0, n2 + 1):
            if x1 + x2 > r:
                total += b1 * math.comb(n2, x2) * p**x2 * (1 - p) ** (n2 - x2)
    return total


def _brute_force(p0: float, p1: float, alpha: float, beta: float, nmax: int) -> dict[int, tuple[Any, ...]]:
    """Best design for each n by exhaustive loops (clinfun conventions: strict errors, largest r,
    ties broken by smallest n1 then largest r1)."""
    best: dict[int, tuple[Any, ...]] = {}
    for n in range(2, nmax + 1):
        for n1 in range(1, n):
            for r1 in range(n1 - 1, -1, -1):
                pet = sum(math.comb(n1, x) * p0**x * (1 - p0) ** (n1 - x) for x in range(r1 + 1))
                en = n1 + (1 - pet) * (n - n1)
                for r in range(n - 1, r1 - 1, -1):
                    a = _reject_prob(r1, n1, r, n, p0)
                    pw = _reject_prob(r1, n1, r, n, p1)
                    if a < alpha and 1 - pw < beta:
                        if n not in best or en < best[n][4] - 1e-12:
                            best[n] = (r1, n1, r, n, en, pet, a, pw)
                        break
    return best


@pytest.mark.parametrize(
    ("p0", "p1", "alpha", "beta", "nmax"),
    [(0.2, 0.5, 0.10, 0.20, 22), (0.1, 0.4, 0.05, 0.20, 20), (0.3, 0.6, 0.10, 0.10, 24)],
)
def test_matches_brute_force(p0: float, p1: float, alpha: float, beta: float, nmax: int) -> None:
    """Every per-n best design equals the exhaustive loop's (independent exact calculation)."""
    ref = _brute_force(p0, p1, alpha, beta, nmax)
    res = simon_design(p0, p1, alpha, beta, nmax=nmax)
    got = {d.n: d for d in res.by_n}
    assert sorted(got) == sorted(ref)
    for n, (r1, n1, r, nn, en, pet, a, pw) in ref.items():
        d = got[n]
        assert (d.r1, d.n1, d.r, d.n) == (r1, n1, r, nn)
        assert d.en0 == pytest.approx(en, rel=1e-12)
        assert d.pet0 == pytest.approx(pet, rel=1e-12)
        assert d.alpha == pytest.approx(a, rel=1e-10)
        assert d.power == pytest.approx(pw, rel=1e-10)


def test_matches_clinfun_all_cases(clinfun_ref: dict[str, Any]) -> None:
    """Optimal, minimax, admissible designs and every per-n best design equal clinfun 1.1.5's
    (13 parameter sets, nmax = 100); EN0, PET0 to 1e-10; alpha and power equal
    ``oc.twostage.bdry``; q ranges equal clinfun's values rounded to 3 decimals."""
    for case in clinfun_ref["simon"]:
        res = simon_design(case["p0"], case["p1"], case["alpha"], case["beta"], nmax=case["nmax"])
        assert [(d.r1, d.n1, d.r, d.n) for d in res.by_n] == [
            (row["r1"], row["n1"], row["r"], row["n"]) for row in case["by_n"]
        ], case
        assert len(res.admissible) == len(case["admissible"])
        for d, ref in zip(res.admissible, case["admissible"], strict=True):
            assert (d.r1, d.n1, d.r, d.n) == (ref["r1"], ref["n1"], ref["r"], ref["n"])
            assert d.en0 == pytest.approx(ref["en0"], abs=1e-10)
            assert d.pet0 == pytest.approx(ref["pet0"], abs=1e-10)
            assert d.alpha == pytest.approx(ref["alpha"], abs=1e-10)
            assert d.power == pytest.approx(ref["power"], abs=1e-10)
            assert d.q_lo is not None and d.q_hi is not None
            assert round(d.q_lo, 3) == pytest.approx(ref["q_lo"], abs=1e-9)
            assert round(d.q_hi, 3) == pytest.approx(ref["q_hi"], abs=1e-9)
        assert res.minimax == res.admissible[0]
        assert res.optimal == res.admissible[-1]


def test_named_clinfun_example() -> None:
    """clinfun ``ph2simon(0.2, 0.4, 0.05, 0.1)`` printed here: Minimax 5/24, 13/45, EN 31.23,
    PET 0.6559; Admissible 4/20, 14/49, EN 30.74; Optimal 4/19, 15/54, EN 30.43, PET 0.6733."""
    res = simon_design(0.2, 0.4, 0.05, 0.10)
    o, m = res.optimal, res.minimax
    assert (o.r1, o.n1, o.r, o.n) == (4, 19, 15, 54)
    assert (m.r1, m.n1, m.r, m.n) == (5, 24, 13, 45)
    assert round(o.en0, 2) == 30.43 and round(o.pet0, 4) == 0.6733
    assert round(m.en0, 2) == 31.23 and round(m.pet0, 4) == 0.6559
    assert [(d.n1, d.n) for d in res.admissible] == [(24, 45), (20, 49), (19, 54)]


def test_oc_closed_forms() -> None:
    """OC at p0 and p1 reproduce the design's alpha/power; at p = 0 nothing is rejected and
    PET = 1; at p = 1 everything is rejected and EN = n1 (closed forms)."""
    res = simon_design(0.1, 0.3, 0.05, 0.2)
    d = res.optimal
    oc = simon_oc(d.r1, d.n1, d.r, d.n, [0.0, res.p0, res.p1, 1.0])
    assert oc.p_reject[1] == pytest.approx(d.alpha, abs=1e-14)
    assert oc.p_reject[2] == pytest.approx(d.power, abs=1e-14)
    assert oc.pet[1] == pytest.approx(d.pet0, abs=1e-14)
    assert oc.en[1] == pytest.approx(d.en0, abs=1e-12)
    assert oc.p_reject[0] == 0.0 and oc.pet[0] == 1.0 and oc.en[0] == d.n1
    assert oc.p_reject[3] == pytest.approx(1.0) and oc.pet[3] == 0.0 and oc.en[3] == d.n


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 12), st.integers(1, 12), st.data(), st.floats(0.01, 0.99))
def test_oc_equals_enumeration(n1: int, n2: int, data: st.DataObject, p: float) -> None:
    """Property: simon_oc's P(reject) equals the double-loop enumeration for any design and p."""
    n = n1 + n2
    r1 = data.draw(st.integers(0, n1 - 1))
    r = data.draw(st.integers(r1, n - 1))
    oc = simon_oc(r1, n1, r, n, p)
    assert oc.p_reject[0] == pytest.approx(_reject_prob(r1, n1, r, n, p), abs=1e-12)


def test_oc_monotone_in_p() -> None:
    """Property: P(reject) increases and PET decreases with the true response rate."""
    ps = np.linspace(0, 1, 101)
    oc = simon_oc(4, 19, 15, 54, ps)
    assert np.all(np.diff(oc.p_reject) >= -1e-15)
    assert np.all(np.diff(oc.pet) <= 1e-15)


def test_lower_bound_is_a_true_bound() -> None:
    """No design exists below the Neyman-Pearson bound; the minimax n is at or above it, and the
    bound n itself is feasible for the randomised test (checked by direct computation)."""
    p0, p1, a, b = 0.2, 0.4, 0.05, 0.1
    nlb = np_lower_bound_n(p0, p1, a, b, 200)
    assert nlb is not None
    res = simon_design(p0, p1, a, b)
    assert res.minimax.n >= nlb
    # direct: at nlb - 1 the randomised NP test lacks power
    m = nlb - 1
    c = int(stats.binom.isf(a, m, p0))
    g = (a - stats.binom.sf(c, m, p0)) / stats.binom.pmf(c, m, p0)
    assert stats.binom.sf(c, m, p1) + g * stats.binom.pmf(c, m, p1) <= 1 - b


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"p0": 0.4, "p1": 0.2, "alpha": 0.05, "beta": 0.1}, "p1"),
        ({"p0": 0.2, "p1": 0.2, "alpha": 0.05, "beta": 0.1}, "p1"),
        ({"p0": 0.2, "p1": 0.4, "alpha": 0.0, "beta": 0.1}, "alpha"),
        ({"p0": 0.2, "p1": 0.4, "alpha": 0.05, "beta": 1.0}, "beta"),
        ({"p0": -0.1, "p1": 0.4, "alpha": 0.05, "beta": 0.1}, "p0"),
        ({"p0": 0.2, "p1": 0.4, "alpha": 0.05, "beta": 0.1, "nmax": 20}, "nmax"),
        ({"p0": 0.2, "p1": 0.4, "alpha": 0.05, "beta": 0.1, "nmax": 5000}, "nmax"),
    ],
)
def test_bad_input(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as exc:
        simon_design(**kwargs)
    assert exc.value.field == field


def test_oc_bad_design() -> None:
    with pytest.raises(InputError):
        simon_oc(5, 10, 3, 20, 0.3)  # r < r1
    with pytest.raises(InputError):
        simon_oc(1, 20, 3, 20, 0.3)  # n1 = n
    with pytest.raises(InputError):
        simon_oc(1, 10, 3, 20, 1.5)
