"""Sample sizes of two-arm trials on top of a group-sequential (or fixed) design, as rpact 3.3.4.

A group-sequential size is the fixed-design size times the design's inflation factor, split over the
looks by the information rates (rpact ``getSampleSizeRates``/``Means``/``Survival``; Wassmer &
Brannath 2016, ch. 4; Jennison & Turnbull 2000, ch. 3). Group 1 is the experimental arm, group 2 the
control arm and ``ratio = n1 / n2`` (rpact's ``allocationRatioPlanned``); one-sided tests are for
``p1 > p2``, a positive mean difference and ``HR < 1`` respectively, with significance level
``alpha / sided``.

Rates (normal approximation; rpact's default)
    ``n2 = (z_{1-a/s} sqrt(pbar qbar (1 + r)) + z_{1-b} sqrt(p1 q1 + r p2 q2))^2 / (r (p1 - p2)^2)``
    rewritten from rpact's ``n1``: variance under H0 pooled at ``pbar = (r p1 + p2) / (1 + r)`` (the
    Farrington-Manning restricted estimate at a zero difference), under H1 unpooled.
Means
    t-test (``normal_approximation = False``, rpact's default): the smallest real ``n2`` with
    ``P(T_{n(1+r)-2, ncp} > t_{1-a/s}) = 1 - beta``, ``ncp = sqrt(n2 r / (1 + r)) delta / sigma``;
    normal approximation: ``n = (1 + r)^2 / r (z_{1-a/s} + z_{1-b})^2 sigma^2 / delta^2``.
Survival (log-rank; Schoenfeld 1983, rpact's default ``typeOfComputation``)
    Events ``d = (z_{1-a/s} + z_{1-b})^2 (1 + r)^2 / (r ln(HR)^2)``; exponential survival in each arm
    (control hazard ``ln 2 / median`` or given; experimental ``HR`` times it), exponential drop-out
    with hazard ``-ln(1 - rate) / time`` (Lachin & Foulkes 1986), piecewise-uniform accrual; the
    probability that a patient's event is observed by calendar time ``t`` is averaged over accrual,
    the number of patients is ``events / P(A + F)``, and the analysis times solve
    ``N P(t) = cumulative events`` (Lakatos 1988 for the event-driven timing).

References
----------
Schoenfeld D. Biometrika 1981;68:316-319 and Biometrics 1983;39:499-503.
Lachin JM, Foulkes MA. Evaluation of sample size and power for analyses of survival with allowance for
nonuniform patient entry, losses to follow-up, noncompliance, and stratification. Biometrics
1986;42:507-519.
Lakatos E. Sample sizes based on the log-rank statistic in complex clinical trials. Biometrics
1988;44:229-241.
Farrington CP, Manning G. Test statistics and sample size formulae for comparative binomial trials
with null hypothesis of non-zero risk difference or non-unity relative risk. Stat Med 1990;9:1447-1454.
Wassmer G, Brannath W. Group Sequential and Confirmatory Adaptive Designs in Clinical Trials. 2016.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize, stats

from redif.design._validate import check_open_unit, check_positive
from redif.design.group_sequential import GroupSequentialDesign
from redif.errors import InputError

__all__ = [
    "MeansSampleSize",
    "RatesSampleSize",
    "SurvivalSampleSize",
    "event_probability_at",
    "sample_size_means",
    "sample_size_rates",
    "sample_size_survival",
]


def _ceil(x: float) -> int:
    return math.ceil(x - 1e-9)


def _design_terms(
    design: GroupSequentialDesign | None, alpha: float | None, power: float | None, sided: int | None
) -> tuple[float, float, int, float, list[float], list[float]]:
    """alpha, beta, sided, inflation factor, information rates, (ASN0, ASN01, ASN1) of a design."""
    if design is not None:
        return (
            design.alpha,
            design.beta,
            design.sided,
            design.inflation_factor,
            design.information_rates,
            [design.expected_information_h0, design.expected_information_h01, design.expected_information_h1],
        )
    a = check_open_unit(alpha if alpha is not None else 0.025, "alpha")
    pw = check_open_unit(power if power is not None else 0.8, "power")
    s = 1 if sided is None else int(sided)
    if s not in (1, 2):
        raise InputError("must be 1 or 2", field="sided", value=sided)
    if a >= 0.5 * s:
        raise InputError(f"alpha must be below {0.5 * s:g} for a {s}-sided test", field="alpha", value=a)
    if pw <= a / s:
        raise InputError("power must exceed alpha / sided", field="power", value=pw)
    return a, 1.0 - pw, s, 1.0, [1.0], [1.0, 1.0, 1.0]


def _per_stage(total: float, rates: Sequence[float]) -> list[float]:
    return [float(total * r) for r in rates]


def _sequential_sizes(n_fixed: float, inflation: float, rates: Sequence[float], ratio: float,
                      asn: Sequence[float]) -> dict[str, Any]:
    """The size fields shared by the rates and means results: maximum = fixed size x inflation factor,
    cumulative sizes at the information rates, per arm by the allocation ``ratio`` = n1 / n2, and the
    expected sizes (``asn``: expected information relative to the fixed design under H0, H01, H1)."""
    n_max = n_fixed * inflation
    stages = _per_stage(n_max, rates)
    return {"k": len(rates), "n_fixed": n_fixed, "n": n_max, "n_ceil": _ceil(n_max), "n_per_stage": stages,
            "n_per_stage_ceil": [_ceil(x) for x in stages], "n1": n_max * ratio / (1 + ratio),
            "n2": n_max / (1 + ratio), "expected_n_h0": asn[0] * n_fixed,
            "expected_n_h01": asn[1] * n_fixed, "expected_n_h1": asn[2] * n_fixed}


@dataclass(frozen=True)
class RatesSampleSize:
    """Two-proportion sample size (keys as ``--json``); ``n_per_stage`` cumulative, unrounded."""

    p1: float
    p2: float
    alpha: float
    beta: float
    sided: int
    ratio: float
    k: int
    n_fixed: float
    n: float
    n_ceil: int
    n_per_stage: list[float]
    n_per_stage_ceil: list[int]
    n1: float
    n2: float
    expected_n_h0: float
    expected_n_h01: float
    expected_n_h1: float


def _ratio(ratio: float) -> float:
    return check_positive(ratio, "ratio", remedy="give n1 / n2 (experimental : control), e.g. 1 or 2")


def sample_size_rates(
    p1: float,
    p2: float,
    *,
    design: GroupSequentialDesign | None = None,
    alpha: float | None = None,
    power: float | None = None,
    sided: int | None = None,
    ratio: float = 1.0,
) -> RatesSampleSize:
    """Patients to compare two proportions (rpact ``getSampleSizeRates``, normal approximation).

    Parameters
    ----------
    p1, p2
        Response rates of the experimental (group 1) and control (group 2) arm.
    design
        A group-sequential design; None for a fixed design with ``alpha``, ``power``, ``sided``.
    ratio
        ``n1 / n2``.
    """
    p1 = check_open_unit(p1, "p1")
    p2 = check_open_unit(p2, "p2")
    if p1 == p2:
        raise InputError("the two rates must differ", field="p2", value=p2)
    r = _ratio(ratio)
    a, b, s, infl, rates, asn = _design_terms(design, alpha, power, sided)
    ml = (r * p1 + p2) / (1 + r)
    n1 = (
        stats.norm.isf(a / s) * math.sqrt(ml * (1 - ml) + ml * (1 - ml) * r)
        + stats.norm.isf(b) * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2) * r)
    ) ** 2 / (p1 - p2) ** 2
    n_fixed = float(n1 + n1 / r)
    return RatesSampleSize(
        p1=p1,
        p2=p2,
        alpha=a,
        beta=b,
        sided=s,
        ratio=r,
        **_sequential_sizes(n_fixed, infl, rates, r, asn),
    )


@dataclass(frozen=True)
class MeansSampleSize:
    """Two-mean sample size (keys as ``--json``); ``n_per_stage`` cumulative, unrounded."""

    alternative: float
    stdev: float
    alpha: float
    beta: float
    sided: int
    ratio: float
    normal_approximation: bool
    k: int
    n_fixed: float
    n: float
    n_ceil: int
    n_per_stage: list[float]
    n_per_stage_ceil: list[int]
    n1: float
    n2: float
    expected_n_h0: float
    expected_n_h01: float
    expected_n_h1: float


def sample_size_means(
    alternative: float,
    stdev: float = 1.0,
    *,
    design: GroupSequentialDesign | None = None,
    alpha: float | None = None,
    power: float | None = None,
    sided: int | None = None,
    ratio: float = 1.0,
    normal_approximation: bool = False,
) -> MeansSampleSize:
    """Patients to detect a mean difference ``alternative`` (rpact ``getSampleSizeMeans``).

    The t-test size (default, as rpact) solves the noncentral-t power equation for a real ``n2``;
    a group-sequential size inflates it by the design's inflation factor, as rpact does.
    """
    delta = float(alternative)
    if not math.isfinite(delta) or delta == 0:
        raise InputError("must be a non-zero finite difference", field="alternative", value=alternative)
    sd = check_positive(stdev, "stdev")
    r = _ratio(ratio)
    a, b, s, infl, rates, asn = _design_terms(design, alpha, power, sided)
    if normal_approximation:
        n_fixed = (1 + r) ** 2 / r * (stats.norm.isf(a / s) + stats.norm.isf(b)) ** 2 / (delta / sd) ** 2
    else:
        eff = abs(delta) / sd

        def type2(n2: float) -> float:
            df = max(0.001, n2 * (1 + r) - 2)
            return float(stats.nct.cdf(stats.t.isf(a / s, df), df, math.sqrt(n2 * r / (1 + r)) * eff)) - b

        hi = 2.0
        while type2(hi) > 0:
            hi *= 2
        n2 = optimize.brentq(type2, 0.001, hi, xtol=1e-10)
        n_fixed = float(n2 * (1 + r))
    n_fixed = float(n_fixed)
    return MeansSampleSize(
        alternative=delta,
        stdev=sd,
        alpha=a,
        beta=b,
        sided=s,
        ratio=r,
        normal_approximation=bool(normal_approximation),
        **_sequential_sizes(n_fixed, infl, rates, r, asn),
    )


def _cum_event_integral(x: np.ndarray, lam: float, phi: float) -> np.ndarray:
    """``int_0^x P(event observed by follow-up u) du`` for exponential event and drop-out hazards."""
    x = np.maximum(x, 0.0)
    h = lam + phi
    return np.asarray(lam / h * (x - (1.0 - np.exp(-h * x)) / h), dtype=float)


def event_probability_at(
    time: float,
    accrual_times: Sequence[float],
    accrual_intensity: Sequence[float],
    hazard: float,
    dropout_hazard: float = 0.0,
) -> float:
    """Probability that a planned patient has an observed event by calendar ``time`` (months).

    Patients enter with piecewise-constant intensity on ``[0, a_1), [a_1, a_2), ...`` (``accrual_times``
    = ``a_1 < ... < a_m``, the end of accrual last); event and drop-out times are exponential with
    hazards ``hazard`` and ``dropout_hazard`` (competing risks): ``P(event by u) = l / (l + g) (1 -
    exp(-(l + g) u))``, averaged over the entry time (rpact ``getEventProbabilities``).
    """
    ends = np.asarray(accrual_times, dtype=float)
    starts = np.concatenate([[0.0], ends[:-1]])
    w = np.asarray(accrual_intensity, dtype=float)
    if w.size == 1:
        w = np.full(ends.size, float(w[0]))
    dens = w / float(np.sum(w * (ends - starts)))
    g = _cum_event_integral(time - starts, hazard, dropout_hazard) - _cum_event_integral(
        time - ends, hazard, dropout_hazard
    )
    return float(np.sum(dens * g))


@dataclass(frozen=True)
class SurvivalSampleSize:
    """Events, patients and analysis times of a log-rank design (keys as ``--json``)."""

    hr: float
    alpha: float
    beta: float
    sided: int
    ratio: float
    k: int
    type_of_computation: str
    lambda_control: float
    lambda_experimental: float
    dropout_hazard: float
    accrual_times_months: list[float]
    accrual_intensity: list[float]
    followup_months: float
    events_fixed: float
    events: float
    events_ceil: int
    events_per_stage: list[float]
    events_per_stage_ceil: list[int]
    p_event: float
    subjects: float
    subjects_ceil: int
    subjects_experimental: float
    subjects_control: float
    subjects_per_stage: list[float]
    analysis_times_months: list[float]
    expected_events_h0: float
    expected_events_h01: float
    expected_events_h1: float


def sample_size_survival(
    hr: float,
    *,
    accrual_months: float | Sequence[float],
    followup_months: float,
    median_control_months: float | None = None,
    lambda_control: float | None = None,
    accrual_intensity: Sequence[float] | None = None,
    dropout_rate: float = 0.0,
    dropout_months: float = 12.0,
    design: GroupSequentialDesign | None = None,
    alpha: float | None = None,
    power: float | None = None,
    sided: int | None = None,
    ratio: float = 1.0,
) -> SurvivalSampleSize:
    """Events, patients and analysis times for a log-rank test (rpact ``getSampleSizeSurvival``).

    Parameters
    ----------
    hr
        Hazard ratio experimental / control to detect.
    accrual_months
        End of accrual (uniform), or the ends of piecewise accrual periods ``a_1 < ... < a_m``.
    followup_months
        Further follow-up after the end of accrual (the final analysis at ``a_m + F``).
    median_control_months, lambda_control
        Control-arm median survival or hazard per month (one of the two).
    accrual_intensity
        Relative intensity per accrual period (default uniform).
    dropout_rate, dropout_months
        Probability of dropping out by ``dropout_months`` in each arm (exponential).
    design
        Group-sequential design, or None for a fixed design (``alpha``, ``power``, ``sided``).
    ratio
        ``n_experimental / n_control``.
    """
    hr = check_positive(hr, "hr")
    if hr == 1.0:
        raise InputError(
            "a hazard ratio of 1 cannot be detected",
            field="hr",
            value=hr,
            remedy="give the hazard ratio to detect, e.g. 0.6",
        )
    r = _ratio(ratio)
    ends = [float(x) for x in np.atleast_1d(np.asarray(accrual_months, dtype=float))]
    if not all(math.isfinite(x) for x in ends) or not all(
        b > a for a, b in zip([0.0, *ends[:-1]], ends, strict=True)
    ):
        raise InputError(
            "accrual end times must be positive and increasing",
            field="accrual_months",
            value=accrual_months,
            remedy="e.g. 24, or 6,30 for two accrual periods",
        )
    intensity = [1.0] * len(ends) if accrual_intensity is None else [float(x) for x in accrual_intensity]
    if (
        len(intensity) != len(ends)
        or not all(math.isfinite(x) and x >= 0 for x in intensity)
        or sum(intensity) <= 0
    ):
        raise InputError(
            f"need {len(ends)} non-negative accrual intensities, one per accrual period",
            field="accrual_intensity",
            value=accrual_intensity,
        )
    f = float(followup_months)
    if not math.isfinite(f) or f < 0:
        raise InputError("must be >= 0", field="followup_months", value=followup_months)
    if (median_control_months is None) == (lambda_control is None):
        raise InputError(
            "give the control median or the control hazard (one of the two)",
            field="median_control_months",
            remedy="give median_control_months or lambda_control",
        )
    if median_control_months is not None:
        lam2 = math.log(2) / check_positive(median_control_months, "median_control_months")
    else:
        assert lambda_control is not None
        lam2 = check_positive(lambda_control, "lambda_control")
    lam1 = hr * lam2
    drop = float(dropout_rate)
    if not (math.isfinite(drop) and 0 <= drop < 1):
        raise InputError("must lie in [0, 1)", field="dropout_rate", value=dropout_rate)
    phi = -math.log(1 - drop) / check_positive(dropout_months, "dropout_months") if drop > 0 else 0.0
    a, b, s, infl, rates, asn = _design_terms(design, alpha, power, sided)
    d_fixed = float((stats.norm.isf(a / s) + stats.norm.isf(b)) ** 2 / math.log(hr) ** 2 * (1 + r) ** 2 / r)
    d_max = d_fixed * infl
    ev_stage = _per_stage(d_max, rates)

    def p_overall(t: float) -> float:
        pe = event_probability_at(t, ends, intensity, lam1, phi)
        pc = event_probability_at(t, ends, intensity, lam2, phi)
        return (r * pe + pc) / (1 + r)

    total_time = ends[-1] + f
    omega = p_overall(total_time)
    n_max = d_max / omega
    times: list[float] = []
    for ev in ev_stage[:-1]:
        times.append(
            float(optimize.brentq(lambda t, ev=ev: n_max * p_overall(t) - ev, 1e-9, total_time, xtol=1e-12))
        )
    times.append(total_time)
    w = np.asarray(intensity)
    starts = np.concatenate([[0.0], np.asarray(ends[:-1])])
    cum = np.concatenate([[0.0], np.cumsum(w * (np.asarray(ends) - starts))])

    def accrued(t: float) -> float:
        x = float(np.interp(t, np.concatenate([[0.0], ends]), cum))
        return n_max * x / float(cum[-1])

    return SurvivalSampleSize(
        hr=hr,
        alpha=a,
        beta=b,
        sided=s,
        ratio=r,
        k=len(rates),
        type_of_computation="Schoenfeld",
        lambda_control=lam2,
        lambda_experimental=lam1,
        dropout_hazard=phi,
        accrual_times_months=ends,
        accrual_intensity=intensity,
        followup_months=f,
        events_fixed=d_fixed,
        events=d_max,
        events_ceil=_ceil(d_max),
        events_per_stage=ev_stage,
        events_per_stage_ceil=[_ceil(x) for x in ev_stage],
        p_event=omega,
        subjects=n_max,
        subjects_ceil=_ceil(n_max),
        subjects_experimental=n_max * r / (1 + r),
        subjects_control=n_max / (1 + r),
        subjects_per_stage=[accrued(t) for t in times],
        analysis_times_months=times,
        expected_events_h0=asn[0] * d_fixed,
        expected_events_h01=asn[1] * d_fixed,
        expected_events_h1=asn[2] * d_fixed,
    )
