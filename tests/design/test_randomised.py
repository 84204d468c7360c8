"""Randomised two-arm sizing.

References: R 4.2.2 ``power.prop.test`` run here (solves the same normal-approximation power equation
as Fleiss, Levin & Paik eq. 4.14 for equal allocation):

    Rscript -e 'power.prop.test(p1=0.2, p2=0.4, sig.level=0.05, power=0.8)$n'   # 81.2242411518
    Rscript -e 'power.prop.test(p1=0.3, p2=0.5, sig.level=0.05, power=0.9)$n'   # 123.9986138486
    Rscript -e 'power.prop.test(p1=0.1, p2=0.25, sig.level=0.01, power=0.8)$n'  # 148.4312253319

and closed forms (Schoenfeld 1983; exponential event probability by direct integration over the
uniform accrual time, written here).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from redif.design.randomised import (
    event_probability,
    schoenfeld_events,
    survival_design,
    two_arm_binary,
    two_arm_exact_power,
)
from redif.errors import InputError


@pytest.mark.parametrize(
    ("p1", "p2", "alpha", "power", "n_ref"),
    [
        (0.2, 0.4, 0.05, 0.8, 81.2242411518),
        (0.3, 0.5, 0.05, 0.9, 123.9986138486),
        (0.1, 0.25, 0.01, 0.8, 148.4312253319),
    ],
)
def test_two_arm_matches_r_power_prop_test(
    p1: float, p2: float, alpha: float, power: float, n_ref: float
) -> None:
    """R finds n with uniroot at tol = .Machine$double.eps^0.25, so agreement is to ~1e-4."""
    d = two_arm_binary(p1, p2, alpha, power)
    assert d.n1_exact == pytest.approx(n_ref, abs=1e-4)
    assert d.n1 == math.ceil(n_ref) and d.n2 == d.n1


def test_continuity_correction_closed_form() -> None:
    """Fleiss-Tytun-Ury: n_cc = n/4 (1 + sqrt(1 + 4/(n |d|)))^2 for equal allocation."""
    n = two_arm_binary(0.2, 0.4).n1_exact  # checked against R above
    ref = n / 4 * (1 + math.sqrt(1 + 4 / (n * 0.2))) ** 2
    assert two_arm_binary(0.2, 0.4, continuity_correction=True).n1_exact == pytest.approx(ref, rel=1e-9)


def test_unequal_allocation_reduces_to_equal() -> None:
    """ratio = 1 gives the same as the default; ratio 2 gives n2 = 2 n1 and fewer control patients."""
    a = two_arm_binary(0.2, 0.4, ratio=1.0)
    b = two_arm_binary(0.2, 0.4, ratio=2.0)
    assert b.n1_exact < a.n1_exact and b.n2 >= 2 * b.n1 - 1


def test_exact_power_by_loop() -> None:
    """Exact power of the pooled z-test equals a double loop over (x1, x2) written here."""
    p1, p2, n1, n2, alpha = 0.2, 0.45, 30, 32, 0.05
    z = stats.norm.isf(alpha / 2)
    tot = 0.0
    for x1 in range(n1 + 1):
        for x2 in range(n2 + 1):
            pool = (x1 + x2) / (n1 + n2)
            se = math.sqrt(pool * (1 - pool) * (1 / n1 + 1 / n2))
            if se > 0 and abs((x2 / n2 - x1 / n1) / se) > z:
                tot += stats.binom.pmf(x1, n1, p1) * stats.binom.pmf(x2, n2, p2)
    assert two_arm_exact_power(p1, p2, n1, n2, alpha) == pytest.approx(tot, abs=1e-12)


def test_schoenfeld_closed_form() -> None:
    """d = (z_{0.975} + z_{0.8})^2 / (0.25 ln(0.6)^2) = 120.32 (1:1); 2:1 multiplies by 0.25/(2/9)."""
    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
    assert schoenfeld_events(0.6) == pytest.approx(z**2 / (0.25 * math.log(0.6) ** 2), rel=1e-12)
    assert schoenfeld_events(0.6, ratio=2.0) == pytest.approx(
        z**2 / ((2 / 9) * math.log(0.6) ** 2), rel=1e-12
    )
    assert survival_design(0.6).events == 121
    # symmetric in HR <-> 1/HR
    assert schoenfeld_events(0.6) == pytest.approx(schoenfeld_events(1 / 0.6), rel=1e-12)


def test_event_probability_by_integration() -> None:
    """P(event) = (1/A) int_0^A (1 - exp(-lambda (A + F - s))) ds, integrated numerically here."""
    lam, a, f = math.log(2) / 10, 24.0, 12.0
    ref = integrate.quad(lambda s: 1 - math.exp(-lam * (a + f - s)), 0, a)[0] / a
    assert event_probability(lam, a, f) == pytest.approx(ref, rel=1e-12)


def test_survival_sample_size() -> None:
    d = survival_design(0.6, accrual_months=24, followup_months=12, median_control_months=10)
    assert d.p_event is not None and d.n_total is not None
    assert d.n_total == math.ceil(d.events_exact / d.p_event - 1e-9)
    assert d.n_control is not None and d.n_experimental is not None
    assert d.n_control + d.n_experimental == d.n_total
    assert np.isclose(d.p_event, 0.5 * (d.p_event_control or 0) + 0.5 * (d.p_event_experimental or 0))


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: schoenfeld_events(1.0), "hr"),
        (lambda: schoenfeld_events(-1.0), "hr"),
        (lambda: schoenfeld_events(0.7, alpha=1.5), "alpha"),
        (lambda: two_arm_binary(0.3, 0.3), "p2"),
        (lambda: survival_design(0.7, accrual_months=12), "accrual_months"),
        (lambda: event_probability(0.1, 12, -1), "followup_months"),
    ],
)
def test_bad_input(call, field: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError) as exc:
        call()
    assert exc.value.field == field
