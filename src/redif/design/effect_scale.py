"""Group-sequential boundaries on the effect scale (rpact 3.3.4 ``criticalValuesEffectScale``).

A z-scale boundary ``z_k`` at look ``k`` corresponds, given the information reached at that look, to the
observed effect that just crosses it:

Survival (log-rank, Schoenfeld 1983; ``d_k`` events at look ``k``, allocation ``r = n_E / n_C``)
    ``HR_k = theta_0 * exp(s * z_k * (1 + r) / sqrt(r * d_k))`` = ``exp(-z_k * sqrt((1 + r)^2 / (r d_k)))``
    for a one-sided efficacy bound with ``theta_0 = 1`` and a benefit of ``HR < 1`` (``s = -1``;
    ``s = +1`` when a larger hazard is the alternative). Two-sided designs add the mirror boundary
    ``exp(-s z_k (1 + r) / sqrt(r d_k))``.

Rates (difference ``pi_1 - pi_2``, ``n_k`` patients in all at look ``k``, ``n_1k = r n_k / (1 + r)``,
``n_2k = n_k / (1 + r)``, control rate ``pi_2`` fixed)
    the ``pi_1`` solving ``(pi_1 - pi_2) / sqrt(pbar (1 - pbar) (1/n_1k + 1/n_2k)) = s z_k`` with the
    pooled (Farrington-Manning restricted, ``theta_0 = 0``) rate ``pbar = (r pi_1 + pi_2) / (1 + r)``;
    the boundary is ``pi_1 - pi_2``; None where no ``pi_1`` in [0, 1] solves it (rpact's NA).

Futility bounds (one-sided beta spending) are converted the same way.

References
----------
Schoenfeld DA. Sample-size formula for the proportional-hazards regression model. Biometrics
1983;39:499-503.
Farrington CP, Manning G. Test statistics and sample size formulae for comparative binomial trials with
null hypothesis of non-zero risk difference or non-unity relative risk. Stat Med 1990;9:1447-1454.
Wassmer G, Brannath W. Group Sequential and Confirmatory Adaptive Designs in Clinical Trials. Springer
2016 (rpact 3.3.4, ``getSampleSizeSurvival`` / ``getSampleSizeRates``: ``criticalValuesEffectScale``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import optimize

from redif.design._validate import check_open_unit, check_positive
from redif.design.group_sequential import GroupSequentialDesign
from redif.design.sample_size_gs import RatesSampleSize, SurvivalSampleSize
from redif.errors import InputError

__all__ = [
    "EffectScaleBoundaries",
    "effect_boundaries_for",
    "rates_effect_boundaries",
    "survival_effect_boundaries",
]

#: rpact drops futility bounds at or below this value (``C_FUTILITY_BOUNDS_DEFAULT``: no futility stop).
_NO_FUTILITY = -6.0


@dataclass(frozen=True)
class EffectScaleBoundaries:
    """Boundaries on the effect scale at each look (keys as in the JSON).

    Attributes
    ----------
    scale
        ``hazard_ratio`` or ``rate_difference``.
    efficacy
        Efficacy boundary in the direction of the alternative (rpact ``criticalValuesEffectScale``, the
        upper matrix): the observed HR (or ``pi_1 - pi_2``) that just crosses ``z_k``; None: not
        reachable (rates).
    efficacy_mirror
        Two-sided designs: the boundary of the other side (rpact ``criticalValuesEffectScaleLower``).
    futility
        Futility bounds on the effect scale (looks 1..K-1), None without futility bounds.
    information
        Events (survival) or patients in all (rates) at each look.
    formula
        The conversion, as stated in the design summary.
    """

    scale: str
    efficacy: list[float | None]
    efficacy_mirror: list[float | None] | None
    futility: list[float | None] | None
    information: list[float]
    formula: str


def _check_bounds(
    z: Sequence[float], info: Sequence[float], info_field: str
) -> tuple[list[float], list[float]]:
    zs = [float(x) for x in z]
    ns = [float(x) for x in info]
    if not zs or len(zs) != len(ns):
        raise InputError(
            f"need one {info_field} value per boundary ({len(zs)} boundaries, {len(ns)} values)",
            field=info_field,
            value=list(info),
        )
    if not all(math.isfinite(x) for x in zs):
        raise InputError("boundaries must be finite", field="critical_values", value=list(z))
    if not all(math.isfinite(x) and x > 0 for x in ns):
        raise InputError("must be positive", field=info_field, value=list(info))
    return zs, ns


def _futility(futility: Sequence[float] | None, k: int) -> list[float | None] | None:
    if futility is None:
        return None
    fs = [float(x) for x in futility]
    if len(fs) != k - 1:
        raise InputError(f"need {k - 1} futility bounds", field="futility_bounds", value=list(futility))
    if all(f <= _NO_FUTILITY for f in fs):
        return None
    return [None if f <= _NO_FUTILITY else f for f in fs]


def survival_effect_boundaries(
    critical_values: Sequence[float],
    events: Sequence[float],
    *,
    ratio: float = 1.0,
    sided: int = 1,
    direction_upper: bool = False,
    futility_bounds: Sequence[float] | None = None,
    theta_h0: float = 1.0,
) -> EffectScaleBoundaries:
    """Hazard-ratio boundaries from z boundaries and the events per look (rpact parity).

    Parameters
    ----------
    critical_values
        Efficacy bounds ``z_k``.
    events
        Cumulative events ``d_k`` at each look (unrounded, as rpact's ``eventsPerStage``).
    ratio
        Allocation ``r = n_experimental / n_control``.
    sided
        1 or 2 (two-sided adds the mirror boundary).
    direction_upper
        False (default): the alternative is ``HR < theta_h0`` (benefit of the experimental arm).
    futility_bounds
        ``l_1..l_{K-1}`` (z scale) or None.
    theta_h0
        Hazard ratio under H0 (1).
    """
    zs, ds = _check_bounds(critical_values, events, "events")
    r = check_positive(ratio, "ratio")
    h0 = check_positive(theta_h0, "theta_h0")
    if sided not in (1, 2):
        raise InputError("must be 1 or 2", field="sided", value=sided)
    s = 1.0 if direction_upper else -1.0

    def conv(z: float, d: float, sign: float) -> float:
        return h0 * math.exp(sign * z * (1 + r) / math.sqrt(r * d))

    fut = _futility(futility_bounds, len(zs))
    return EffectScaleBoundaries(
        scale="hazard_ratio",
        efficacy=[conv(z, d, s) for z, d in zip(zs, ds, strict=True)],
        efficacy_mirror=None if sided == 1 else [conv(z, d, -s) for z, d in zip(zs, ds, strict=True)],
        futility=None
        if fut is None
        else [None if f is None else conv(f, d, s) for f, d in zip(fut, ds, strict=False)],
        information=ds,
        formula=(
            f"HR_k = {h0:g} * exp({'+' if s > 0 else '-'}z_k * (1 + r) / sqrt(r * d_k)), r = {r:g}, "
            "d_k = events at look k (Schoenfeld 1983; rpact criticalValuesEffectScale)"
        ),
    )


def _rate_bound(z: float, n: float, p2: float, r: float) -> float | None:
    n1, n2 = r * n / (1 + r), n / (1 + r)

    def f(x: float) -> float:
        pbar = (r * x + p2) / (1 + r)
        return (x - p2) / math.sqrt(pbar * (1 - pbar) * (1 / n1 + 1 / n2)) - z

    lo, hi = f(0.0), f(1.0)
    if lo * hi > 0:
        return None
    return float(optimize.brentq(f, 0.0, 1.0, xtol=1e-14, rtol=1e-14)) - p2


def rates_effect_boundaries(
    critical_values: Sequence[float],
    subjects: Sequence[float],
    p2: float,
    *,
    ratio: float = 1.0,
    sided: int = 1,
    direction_upper: bool = True,
    futility_bounds: Sequence[float] | None = None,
) -> EffectScaleBoundaries:
    """Rate-difference boundaries ``pi_1 - pi_2`` from z boundaries and the patients per look (rpact
    parity; H0 ``pi_1 = pi_2``, the control rate ``p2`` as planned).

    Parameters
    ----------
    critical_values
        Efficacy bounds ``z_k``.
    subjects
        Cumulative patients in both arms at each look (rpact ``maxNumberOfSubjects * informationRates``).
    p2
        Control-arm rate.
    ratio
        ``n_1 / n_2``.
    direction_upper
        True (default): the alternative is ``pi_1 > pi_2``.
    futility_bounds
        ``l_1..l_{K-1}`` (z scale) or None.
    """
    zs, ns = _check_bounds(critical_values, subjects, "subjects")
    r = check_positive(ratio, "ratio")
    p2 = check_open_unit(p2, "p2")
    if sided not in (1, 2):
        raise InputError("must be 1 or 2", field="sided", value=sided)
    s = 1.0 if direction_upper else -1.0
    fut = _futility(futility_bounds, len(zs))
    return EffectScaleBoundaries(
        scale="rate_difference",
        efficacy=[_rate_bound(s * z, n, p2, r) for z, n in zip(zs, ns, strict=True)],
        efficacy_mirror=None
        if sided == 1
        else [_rate_bound(-s * z, n, p2, r) for z, n in zip(zs, ns, strict=True)],
        futility=None
        if fut is None
        else [None if f is None else _rate_bound(s * f, n, p2, r) for f, n in zip(fut, ns, strict=False)],
        information=ns,
        formula=(
            "pi_1 - pi_2 at which (pi_1 - pi_2) / sqrt(pbar (1 - pbar) (1/n_1k + 1/n_2k)) = "
            f"{'' if s > 0 else '-'}z_k, pbar = (r pi_1 + pi_2) / (1 + r), pi_2 = {p2:g}, r = {r:g}, "
            "n_1k + n_2k = patients at look k (Farrington & Manning 1990; rpact criticalValuesEffectScale)"
        ),
    )


def effect_boundaries_for(
    design: GroupSequentialDesign, size: SurvivalSampleSize | RatesSampleSize
) -> EffectScaleBoundaries:
    """Effect-scale boundaries of ``design`` with the events / patients per look of ``size`` (the
    direction of the alternative from the planned effect: HR < 1 or ``p1 > p2`` is the usual one)."""
    if isinstance(size, SurvivalSampleSize):
        return survival_effect_boundaries(
            design.critical_values,
            size.events_per_stage,
            ratio=size.ratio,
            sided=design.sided,
            direction_upper=size.hr > 1,
            futility_bounds=design.futility_bounds,
        )
    return rates_effect_boundaries(
        design.critical_values,
        size.n_per_stage,
        size.p2,
        ratio=size.ratio,
        sided=design.sided,
        direction_upper=size.p1 > size.p2,
        futility_bounds=design.futility_bounds,
    )
