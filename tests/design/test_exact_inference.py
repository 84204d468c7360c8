"""Exact single-stage designs and inference after a two-stage trial.

Expected values: R clinfun 1.1.5 ``ph2single`` and ``twostage.inference`` run on this machine
(``ref/clinfun_reference.R``), and enumerations written here from the definitions (A'Hern 2001;
Jung & Kim 2004; Koyama & Chen 2008).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import pytest

from redif.design.exact import single_stage_designs, single_stage_oc
from redif.design.inference import simon_inference, stagewise_cdf, stagewise_p_value
from redif.errors import InputError


def test_single_matches_clinfun(clinfun_ref: dict[str, Any]) -> None:
    """All five ``ph2single`` solutions for four parameter sets: n, r, type I and II errors."""
    for case in clinfun_ref["single"]:
        got = single_stage_designs(case["p0"], case["p1"], case["alpha"], case["beta"], solutions=5)
        assert len(got) == len(case["designs"])
        for d, ref in zip(got, case["designs"], strict=True):
            assert (d.n, d.r) == (ref["n"], ref["r"])
            assert d.alpha == pytest.approx(ref["alpha"], abs=1e-12)
            assert 1 - d.power == pytest.approx(ref["beta"], abs=1e-12)


def test_single_smallest_n_by_enumeration() -> None:
    """The first design has the smallest n for which some r meets both constraints (loop here)."""
    p0, p1, a, b = 0.15, 0.35, 0.05, 0.2

    def ok(n: int, r: int) -> bool:
        t1 = sum(math.comb(n, x) * p0**x * (1 - p0) ** (n - x) for x in range(r + 1, n + 1))
        t2 = sum(math.comb(n, x) * p1**x * (1 - p1) ** (n - x) for x in range(0, r + 1))
        return t1 <= a and t2 <= b

    n_min = next(n for n in range(1, 200) if any(ok(n, r) for r in range(n)))
    d = single_stage_designs(p0, p1, a, b, solutions=1)[0]
    assert d.n == n_min
    assert ok(d.n, d.r)


def test_single_oc() -> None:
    assert single_stage_oc(10, 3, [0.0, 1.0]).tolist() == [0.0, 1.0]
    # P(Bin(4, 1/2) > 2) = 5/16
    assert single_stage_oc(4, 2, 0.5)[0] == pytest.approx(5 / 16, abs=1e-15)


def test_single_bad_input() -> None:
    with pytest.raises(InputError):
        single_stage_designs(0.3, 0.3, 0.05, 0.1)
    with pytest.raises(InputError):
        single_stage_designs(0.2, 0.4, 0.05, 0.1, nmax=10)


def test_inference_matches_clinfun(clinfun_ref: dict[str, Any]) -> None:
    """UMVUE and p-value to 1e-12. clinfun searches the limits on a 1e-4 grid (LCL = first grid
    point with pval > alpha; UCL = last grid point with pval < 1 - alpha), so with
    ``ci_method="clinfun"`` our exact roots lie within 1e-4 below its LCL and above its UCL.
    clinfun returns NA limits for x = 0 (skipped)."""
    for c in clinfun_ref["inference"]:
        res = simon_inference(
            c["x"], c["r1"], c["n1"], c["n"], c["p0"], alpha=c["alpha"], ci_method="clinfun"
        )
        assert res.umvue == pytest.approx(c["umvue"], abs=1e-12)
        assert res.p_value == pytest.approx(c["p_value"], abs=1e-12)
        if c["lcl"] == "NA":
            continue
        assert c["lcl"] - 1e-4 - 1e-9 <= res.ci_lower <= c["lcl"] + 1e-9
        assert c["ucl"] - 1e-9 <= res.ci_upper <= c["ucl"] + 1e-4 + 1e-9
        exact = simon_inference(c["x"], c["r1"], c["n1"], c["n"], c["p0"], alpha=c["alpha"])
        assert exact.ci_lower == res.ci_lower
        assert exact.ci_upper > res.ci_upper  # the exact upper limit keeps the observed outcome


def test_exact_ci_single_stage_is_clopper_pearson() -> None:
    """When the trial stops at stage 1 the outcome is Bin(n1, p) and the exact interval is the
    Clopper-Pearson interval: beta quantiles (closed form)."""
    from scipy import stats

    res = simon_inference(3, 4, 19, 54, 0.2, alpha=0.05)
    assert res.ci_lower == pytest.approx(stats.beta.ppf(0.05, 3, 17), abs=1e-10)
    assert res.ci_upper == pytest.approx(stats.beta.ppf(0.95, 4, 16), abs=1e-10)


@pytest.mark.parametrize(("r1", "n1", "n"), [(1, 10, 29), (2, 8, 20)])
def test_exact_ci_coverage(r1: int, n1: int, n: int) -> None:
    """Each one-sided limit covers with probability >= 1 - alpha at every p (exact enumeration of
    all outcomes), so the two-sided interval covers >= 1 - 2 alpha."""
    alpha = 0.05
    outcomes = [(1, x) for x in range(r1 + 1)] + [(2, x) for x in range(r1 + 1, n + 1)]
    limits = {o: simon_inference(o[1], r1, n1, n, 0.3, alpha=alpha) for o in outcomes}
    for p in [0.03, 0.1, 0.17, 0.25, 0.33, 0.5, 0.61, 0.8]:
        probs = _outcome_probs(Fraction(p).limit_denominator(1000), r1, n1, n)
        below = sum(float(pr) for o, pr in probs.items() if limits[o].ci_lower > p)
        above = sum(float(pr) for o, pr in probs.items() if limits[o].ci_upper < p)
        assert below <= alpha + 1e-9 and above <= alpha + 1e-9


def _outcome_probs(p: Fraction, r1: int, n1: int, n: int) -> dict[tuple[int, int], Fraction]:
    """Exact (rational) distribution of (stage, count) for a two-stage design."""
    out: dict[tuple[int, int], Fraction] = {}
    n2 = n - n1
    for x1 in range(n1 + 1):
        b1 = math.comb(n1, x1) * p**x1 * (1 - p) ** (n1 - x1)
        if x1 <= r1:
            out[(1, x1)] = out.get((1, x1), Fraction(0)) + b1
            continue
        for x2 in range(n2 + 1):
            b2 = math.comb(n2, x2) * p**x2 * (1 - p) ** (n2 - x2)
            out[(2, x1 + x2)] = out.get((2, x1 + x2), Fraction(0)) + b1 * b2
    return out


@pytest.mark.parametrize(("r1", "n1", "n"), [(1, 5, 9), (0, 3, 7), (2, 6, 10)])
def test_umvue_unbiased_exactly(r1: int, n1: int, n: int) -> None:
    """Unbiasedness, in exact rational arithmetic: sum over all outcomes of P(outcome) * UMVUE = p
    for several p (closed-form property of the Jung & Kim estimator)."""
    for p in (Fraction(1, 7), Fraction(2, 5), Fraction(3, 4)):
        probs = _outcome_probs(p, r1, n1, n)
        mean = sum(float(pr) * simon_inference(x, r1, n1, n, 0.5).umvue for (_s, x), pr in probs.items())
        assert mean == pytest.approx(float(p), abs=1e-12)


def test_p_value_is_tail_of_stagewise_order() -> None:
    """p-value = exact probability (enumeration) of outcomes at least as extreme in the stagewise
    order: stage-2 outcomes beat stage-1 ones; within a stage larger counts are more extreme."""
    r1, n1, n, p0 = 1, 5, 9, Fraction(1, 5)
    probs = _outcome_probs(p0, r1, n1, n)
    for (stage, x), _pr in probs.items():
        tail = sum(pr for (s2, x2), pr in probs.items() if (s2, x2) >= (stage, x))
        assert simon_inference(x, r1, n1, n, float(p0)).p_value == pytest.approx(float(tail), abs=1e-13)


def test_ci_limits_solve_pvalue_equations() -> None:
    res = simon_inference(12, 4, 19, 54, 0.2, alpha=0.05)
    assert stagewise_p_value(res.ci_lower, 12, 4, 19, 54) == pytest.approx(0.05, abs=1e-9)
    assert stagewise_cdf(res.ci_upper, 12, 4, 19, 54) == pytest.approx(0.05, abs=1e-9)
    assert res.confidence == pytest.approx(0.90)
    zero = simon_inference(0, 4, 19, 54, 0.2)
    assert zero.ci_lower == 0.0 and zero.stopped_early
    full = simon_inference(54, 4, 19, 54, 0.2)
    assert full.ci_upper == 1.0 and full.umvue == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ((60, 4, 19, 54, 0.2), "x"),
        ((5, 19, 19, 54, 0.2), "r1"),
        ((5, 4, 54, 54, 0.2), "n1"),
        ((5, 4, 19, 54, 1.2), "p0"),
        ((-1, 4, 19, 54, 0.2), "x"),
    ],
)
def test_inference_bad_input(args: tuple[Any, ...], field: str) -> None:
    with pytest.raises(InputError) as exc:
        simon_inference(*args)
    assert exc.value.field == field
