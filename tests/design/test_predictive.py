"""Issue 15 item 3: predictive-probability design (Lee & Liu, Clin Trials 2008;5:93-106).

Expected values:

- Lee & Liu (2008) Table 1, panel B (their worked example: 16 responses among 23 patients, Nmax 40,
  Beta(0.6, 0.4) prior, p0 0.6, theta_T 0.9): PP = 0.5656, as reproduced to 7 digits (0.5655589) by the
  test suite of the R package phase1b (Genentech/phase1b, tests/testthat/test-predprob.R, whose example
  file states "Table 1, Panel B is reproduced (p. 97 in the paper)");
- phase1b ``boundsPredprob(looks = c(10, 20, 30, 40), p0 = 0.2, tT = 0.80, phiL = 0.10, parE = c(1, 1))``
  (tests/testthat/test-boundsPredprob.R): futility boundaries xL = 0, 2, 5, 9, and the posterior at the
  final boundary postL = 0.704;
- the documented example of the R package ph2bye (``PredP(16, 23, 40, 1, 1, 0.5, 0.9)`` prints
  ``0.8871897``).

Lee & Liu's design tables (Table 2 onwards) were not accessible through the search tool, so the operating
characteristics are checked against an independent brute-force enumeration of every patient sequence
(2^N paths).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats

from redif.design.monitoring import StoppingTable, monitoring_oc
from redif.design.predictive import (
    final_threshold,
    predictive_design,
    predictive_minimax,
    predictive_probability,
    predictive_table,
)
from redif.errors import InputError


def test_pp_matches_ph2bye_example() -> None:
    """Issue 15: PP(16/23, Nmax 40, Beta(1,1), p0 0.5, theta_T 0.9) = 0.8871897 (ph2bye PredP example)."""
    assert predictive_probability(16, 23, 40, 0.5, 0.9, 1.0, 1.0) == pytest.approx(0.8871897, abs=1e-7)


def test_pp_matches_lee_liu_table1() -> None:
    """Issue 15: Lee & Liu 2008 Table 1 panel B: PP(16/23, Nmax 40, Beta(0.6, 0.4), p0 0.6, theta_T 0.9)
    = 0.5655589 (phase1b test-predprob.R, tolerance 1e-6 there)."""
    assert predictive_probability(16, 23, 40, 0.6, 0.9, 0.6, 0.4) == pytest.approx(0.5655589, abs=1e-7)


def test_boundaries_match_phase1b() -> None:
    """Issue 15: phase1b boundsPredprob (looks 10/20/30/40, p0 0.2, theta_T 0.8, theta_L 0.1, Beta(1,1)):
    stop if responses <= 0, 2, 5 at the interims; the final boundary 9 has posterior Pr(p > 0.2) = 0.704
    (test-boundsPredprob.R: xL = c(0, 2, 5, 9), postL[4] = 0.704)."""
    tab = predictive_table(0.2, 40, 0.10, 0.80, 1.0, 1.0, looks=[10, 20, 30])
    assert tab.r == (0, 2, 5, 9)
    assert stats.beta.sf(0.2, 1 + 9, 1 + 40 - 9) == pytest.approx(0.704, abs=5e-5)


def _pp_direct(x: int, n: int, nmax: int, p0: float, tt: float, a: float, b: float) -> float:
    """PP by its definition, term by term with scipy's beta-binomial (independent of the engine)."""
    m = nmax - n
    total = 0.0
    for y in range(m + 1):
        if stats.beta.sf(p0, a + x + y, b + nmax - x - y) > tt:
            total += stats.betabinom.pmf(y, m, a + x, b + n - x)
    return float(total)


def test_pp_equals_definition() -> None:
    """Issue 15: the vectorised PP equals the definition (sum over future responses) at many (x, n)."""
    for n, x in [(5, 0), (10, 3), (17, 6), (25, 12)]:
        got = predictive_probability(x, n, 30, 0.3, 0.88, 0.3, 0.7)
        assert got == pytest.approx(_pp_direct(x, n, 30, 0.3, 0.88, 0.3, 0.7), abs=1e-12)


def _brute_force(
    p0: float, nmax: int, tl: float, tt: float, a: float, b: float, p: float
) -> tuple[float, float, float]:
    """Reject probability, PET and E[N] by enumerating all 2^nmax response sequences, computing PP at each
    patient directly from its definition (continuous monitoring)."""
    pp = {(x, n): _pp_direct(x, n, nmax, p0, tt, a, b) for n in range(1, nmax) for x in range(n + 1)}
    rej = pet = en = 0.0
    for seq in itertools.product((0, 1), repeat=nmax):
        w = p ** sum(seq) * (1 - p) ** (nmax - sum(seq))
        x = 0
        stopped = False
        for n in range(1, nmax):
            x += seq[n - 1]
            if pp[(x, n)] < tl:
                pet += w
                en += w * n
                stopped = True
                break
        if not stopped:
            en += w * nmax
            if stats.beta.sf(p0, a + sum(seq), b + nmax - sum(seq)) > tt:
                rej += w
    return rej, pet, en


@pytest.mark.parametrize("p", [0.2, 0.45])
def test_exact_oc_equals_path_enumeration(p: float) -> None:
    """Issue 15: exact OC (forward recursion) = enumeration of all 2^12 sequences (continuous monitoring)."""
    nmax, p0, tl, tt, a, b = 12, 0.2, 0.05, 0.9, 0.2, 0.8
    oc = monitoring_oc(predictive_table(p0, nmax, tl, tt, a, b), [p])
    rej, pet, en = _brute_force(p0, nmax, tl, tt, a, b, p)
    assert oc.reject[0] == pytest.approx(rej, abs=1e-12)
    assert oc.pet[0] == pytest.approx(pet, abs=1e-12)
    assert oc.expected_n[0] == pytest.approx(en, abs=1e-10)


def test_search_meets_constraints_and_minimises_en0() -> None:
    """Issue 15: the chosen design is admissible and has the smallest EN(p0) of all admissible designs
    on the grid (re-evaluated here design by design)."""
    res = predictive_design(
        0.2,
        0.4,
        30,
        alpha=0.1,
        power=0.8,
        a=0.2,
        b=0.8,
        theta_l_grid=[0.001, 0.01, 0.05, 0.1],
        theta_t_grid=[0.85, 0.9, 0.95],
    )
    d = res.design
    assert d.alpha <= 0.1 and d.power >= 0.8
    best = np.inf
    for tl in (0.001, 0.01, 0.05, 0.1):
        for tt in (0.85, 0.9, 0.95):
            oc = monitoring_oc(predictive_table(0.2, 30, tl, tt, 0.2, 0.8), [0.2, 0.4])
            if oc.reject[0] <= 0.1 and oc.reject[1] >= 0.8:
                best = min(best, float(oc.expected_n[0]))
    assert d.en0 == pytest.approx(best, abs=1e-12)
    assert res.n_evaluated == 12


def test_without_futility_stopping_is_single_stage() -> None:
    """Issue 15: theta_L -> 0 stops only where success has become impossible (PP = 0, curtailment), so the
    rejection probability is the exact single-stage binomial tail and each boundary is r_final - (N - n)."""
    tab = predictive_table(0.3, 25, 1e-12, 0.9, 0.3, 0.7, looks=[10, 15, 20])
    r = final_threshold(0.3, 25, 0.9, 0.3, 0.7)
    assert tab.r[:-1] == tuple(max(r - (25 - n), -1) for n in (10, 15, 20))
    oc = monitoring_oc(tab, [0.3, 0.5])
    assert oc.reject == pytest.approx(stats.binom.sf(r, 25, [0.3, 0.5]), abs=1e-14)


def test_cohort_looks_and_errors() -> None:
    """Issue 15: bad inputs name the field (nmax infeasible, looks not increasing)."""
    with pytest.raises(InputError) as e:
        predictive_design(0.2, 0.4, 8, alpha=0.05, power=0.9)
    assert e.value.field == "nmax"
    with pytest.raises(InputError) as e:
        predictive_table(0.2, 20, 0.05, 0.9, looks=[10, 5])
    assert e.value.field == "looks"
    with pytest.raises(InputError):
        StoppingTable(looks=(5, 10), r=(6, 3))


def test_minimax_outer_search() -> None:
    """Issue 15: Lee & Liu's outer search returns the smallest Nmax with an admissible design: the design
    search at Nmax - 1 finds none (the definition, re-checked here), at Nmax it equals the returned one."""
    res = predictive_minimax(0.2, 0.4, 20, 40, alpha=0.1, power=0.8, cohort=5)
    n = res.nmax
    with pytest.raises(InputError):
        predictive_design(0.2, 0.4, n - 1, alpha=0.1, power=0.8, looks=list(range(5, n - 1, 5)))
    again = predictive_design(0.2, 0.4, n, alpha=0.1, power=0.8, looks=list(range(5, n, 5)))
    assert again.design.en0 == pytest.approx(res.design.en0, abs=0) and res.design.power >= 0.8
    with pytest.raises(InputError) as e:
        predictive_minimax(0.2, 0.4, 30, 20)
    assert e.value.field == "nmin"
