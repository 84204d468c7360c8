"""Sample sizes for randomised two-arm trials: binary endpoint and time to event.

Binary endpoint (two-sided level alpha, power 1 - beta, allocation ``k = n2 / n1``):

- normal approximation with pooled variance under H0 (Fleiss, Levin & Paik 2003, eq. 4.14)::

      n1 = [z_{1-a/2} sqrt((1 + 1/k) pbar qbar) + z_{1-b} sqrt(p1 q1 + p2 q2 / k)]^2 / (p1 - p2)^2,
      pbar = (p1 + k p2) / (1 + k)

- with the Fleiss-Tytun-Ury continuity correction::

      n1_cc = n1 / 4 * [1 + sqrt(1 + 2 (k + 1) / (k n1 |p1 - p2|))]^2

- exact power of the (uncorrected, pooled) two-sided z-test at given n1, n2 by enumerating all
  (x1, x2) outcomes.

Time to event (log-rank test; Schoenfeld 1983): the number of events is
``d = (z_{1-a/2} + z_{1-b})^2 / (pi (1 - pi) ln(HR)^2)`` with ``pi = 1 / (1 + ratio)`` the fraction
randomised to the experimental arm. With uniform accrual over ``A`` months, further follow-up ``F``
and exponential survival with hazard ``lambda``, the probability that a patient's event is observed is
``P = 1 - (exp(-lambda F) - exp(-lambda (A + F))) / (lambda A)``, and the total sample size is
``N = d / (pi P_exp + (1 - pi) P_ctl)``.

References
----------
Fleiss JL, Levin B, Paik MC. Statistical Methods for Rates and Proportions, 3rd ed. Wiley 2003, ch. 4.
Fleiss JL, Tytun A, Ury HK. A simple approximation for calculating sample sizes for comparing
independent proportions. Biometrics 1980;36:343-346.
Schoenfeld D. Sample-size formula for the proportional-hazards regression model. Biometrics
1983;39:499-503.
Collett D. Modelling Survival Data in Medical Research, 3rd ed. CRC 2015, ch. 10 (accrual and
follow-up).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from redif.design._validate import check_count, check_open_unit, check_positive
from redif.errors import InputError

__all__ = [
    "SurvivalDesign",
    "TwoArmDesign",
    "event_probability",
    "schoenfeld_events",
    "survival_design",
    "two_arm_binary",
    "two_arm_exact_power",
]


@dataclass(frozen=True)
class TwoArmDesign:
    """Sample size of a two-arm trial with a binary endpoint.

    Attributes
    ----------
    n1, n2
        Patients per arm (control/first arm, experimental/second arm), rounded up.
    n1_exact
        Unrounded first-arm size from the formula.
    n_total
        ``n1 + n2``.
    continuity_correction
        Whether the Fleiss-Tytun-Ury correction was applied.
    exact_power
        Power of the two-sided pooled z-test at (n1, n2) by exact enumeration (None if skipped).
    """

    p1: float
    p2: float
    alpha: float
    power: float
    ratio: float
    n1: int
    n2: int
    n1_exact: float
    n_total: int
    continuity_correction: bool
    exact_power: float | None


def two_arm_exact_power(p1: float, p2: float, n1: int, n2: int, alpha: float) -> float:
    """Exact power of the two-sided pooled z-test (no continuity correction), enumerating all outcomes."""
    n1 = check_count(n1, "n1", minimum=1)
    n2 = check_count(n2, "n2", minimum=1)
    x1 = np.arange(n1 + 1)[:, None]
    x2 = np.arange(n2 + 1)[None, :]
    ph1, ph2 = x1 / n1, x2 / n2
    pool = (x1 + x2) / (n1 + n2)
    se = np.sqrt(pool * (1 - pool) * (1 / n1 + 1 / n2))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, (ph2 - ph1) / np.where(se > 0, se, 1.0), 0.0)
    reject = np.abs(z) > stats.norm.isf(alpha / 2)
    prob = stats.binom.pmf(x1, n1, p1) * stats.binom.pmf(x2, n2, p2)
    return float(np.sum(prob[reject]))


def two_arm_binary(
    p1: float,
    p2: float,
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float = 1.0,
    continuity_correction: bool = False,
    exact: bool = True,
    exact_limit: int = 2000,
) -> TwoArmDesign:
    """Patients per arm to detect ``p1`` vs ``p2`` with a two-sided test.

    Parameters
    ----------
    p1, p2
        Response rates of arm 1 (control) and arm 2 (experimental).
    alpha
        Two-sided significance level.
    power
        Target power.
    ratio
        Allocation ratio ``k = n2 / n1``.
    continuity_correction
        Apply the Fleiss-Tytun-Ury correction.
    exact
        Also compute the exact power at the resulting sizes (when both are <= ``exact_limit``).

    References
    ----------
    Fleiss JL, Levin B, Paik MC. 2003, eq. 4.14 and 4.15.
    """
    p1 = check_open_unit(p1, "p1")
    p2 = check_open_unit(p2, "p2")
    if p1 == p2:
        raise InputError("the two response rates must differ", field="p2", value=p2)
    alpha = check_open_unit(alpha, "alpha")
    power = check_open_unit(power, "power")
    k = check_positive(ratio, "ratio")
    za = stats.norm.isf(alpha / 2)
    zb = stats.norm.ppf(power)
    pbar = (p1 + k * p2) / (1 + k)
    d = abs(p1 - p2)
    n1 = (
        za * math.sqrt((1 + 1 / k) * pbar * (1 - pbar)) + zb * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2) / k)
    ) ** 2 / d**2
    if continuity_correction:
        n1 = n1 / 4 * (1 + math.sqrt(1 + 2 * (k + 1) / (k * n1 * d))) ** 2
    n1_int = math.ceil(n1 - 1e-9)
    n2_int = math.ceil(k * n1 - 1e-9)
    ep = None
    if exact and max(n1_int, n2_int) <= exact_limit:
        ep = two_arm_exact_power(p1, p2, n1_int, n2_int, alpha)
    return TwoArmDesign(
        p1=p1,
        p2=p2,
        alpha=alpha,
        power=power,
        ratio=k,
        n1=n1_int,
        n2=n2_int,
        n1_exact=n1,
        n_total=n1_int + n2_int,
        continuity_correction=continuity_correction,
        exact_power=ep,
    )


def schoenfeld_events(hr: float, alpha: float = 0.05, power: float = 0.8, ratio: float = 1.0) -> float:
    """Required number of events for a two-sided log-rank test (Schoenfeld 1983), unrounded.

    ``ratio`` is experimental : control allocation; the experimental fraction is
    ``pi = ratio / (1 + ratio)`` and ``d = (z_{1-a/2} + z_{1-b})^2 / (pi (1 - pi) ln(hr)^2)``.
    """
    hr = check_positive(hr, "hr")
    if hr == 1.0:
        raise InputError(
            "a hazard ratio of 1 cannot be detected",
            field="hr",
            value=hr,
            remedy="give the hazard ratio to detect, e.g. 0.6",
        )
    alpha = check_open_unit(alpha, "alpha")
    power = check_open_unit(power, "power")
    r = check_positive(ratio, "ratio")
    pi = r / (1 + r)
    z = stats.norm.isf(alpha / 2) + stats.norm.ppf(power)
    return float(z**2 / (pi * (1 - pi) * math.log(hr) ** 2))


def event_probability(hazard_per_month: float, accrual_months: float, followup_months: float) -> float:
    """Probability of observing the event by the final analysis, exponential survival with uniform
    accrual over ``A`` months and ``F`` months of further follow-up:
    ``1 - (exp(-l F) - exp(-l (A + F))) / (l A)`` (Collett 2015, ch. 10)."""
    lam = check_positive(hazard_per_month, "hazard")
    a = check_positive(accrual_months, "accrual_months")
    f = float(followup_months)
    if not math.isfinite(f) or f < 0:
        raise InputError("must be >= 0", field="followup_months", value=followup_months)
    return float(1.0 - (math.exp(-lam * f) - math.exp(-lam * (a + f))) / (lam * a))


@dataclass(frozen=True)
class SurvivalDesign:
    """Events and (optionally) patients for a two-arm log-rank comparison.

    Attributes
    ----------
    events
        Required events, rounded up.
    events_exact
        Unrounded Schoenfeld events.
    n_total, n_control, n_experimental
        Patients (None without accrual/follow-up/median).
    p_event_control, p_event_experimental, p_event
        Probabilities of an observed event by arm and averaged with the allocation weights.
    """

    hr: float
    alpha: float
    power: float
    ratio: float
    events: int
    events_exact: float
    accrual_months: float | None = None
    followup_months: float | None = None
    median_control_months: float | None = None
    p_event_control: float | None = None
    p_event_experimental: float | None = None
    p_event: float | None = None
    n_total: int | None = None
    n_control: int | None = None
    n_experimental: int | None = None


def survival_design(
    hr: float,
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float = 1.0,
    accrual_months: float | None = None,
    followup_months: float | None = None,
    median_control_months: float | None = None,
) -> SurvivalDesign:
    """Schoenfeld events and, given accrual, follow-up and the control median, the sample size.

    Exponential survival: control hazard ``ln 2 / median``, experimental hazard ``hr`` times that.

    References
    ----------
    Schoenfeld D. Biometrics 1983;39:499-503. Collett D. 2015, ch. 10.
    """
    d = schoenfeld_events(hr, alpha, power, ratio)
    events = math.ceil(d - 1e-9)
    given = [accrual_months, followup_months, median_control_months]
    if all(v is None for v in given):
        return SurvivalDesign(hr=hr, alpha=alpha, power=power, ratio=ratio, events=events, events_exact=d)
    if any(v is None for v in given):
        raise InputError(
            "give accrual, follow-up and the control median together",
            field="accrual_months",
            remedy="add accrual_months, followup_months and median_control_months",
        )
    assert accrual_months is not None and followup_months is not None and median_control_months is not None
    med = check_positive(median_control_months, "median_control_months")
    lam_c = math.log(2) / med
    lam_e = hr * lam_c
    pc = event_probability(lam_c, accrual_months, followup_months)
    pe = event_probability(lam_e, accrual_months, followup_months)
    pi = ratio / (1 + ratio)
    p = pi * pe + (1 - pi) * pc
    n_total = math.ceil(d / p - 1e-9)
    n_e = math.ceil(n_total * pi - 1e-9)
    return SurvivalDesign(
        hr=hr,
        alpha=alpha,
        power=power,
        ratio=ratio,
        events=events,
        events_exact=d,
        accrual_months=float(accrual_months),
        followup_months=float(followup_months),
        median_control_months=med,
        p_event_control=pc,
        p_event_experimental=pe,
        p_event=p,
        n_total=n_total,
        n_control=n_total - n_e,
        n_experimental=n_e,
    )
