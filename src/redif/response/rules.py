"""RECIST 1.1 rules: baseline selection checks and the time-point tables, with exact arithmetic.

Used through :mod:`redif.response.recist`, which re-exports everything public here.

References
----------
Eisenhauer EA, Therasse P, Bogaerts J, et al. New response evaluation criteria in solid tumours:
revised RECIST guideline (version 1.1). Eur J Cancer 2009;45(2):228-247. doi:10.1016/j.ejca.2008.10.026
(§3 baseline, §4.3 response criteria, Table 1 target +/- non-target, Table 2 non-target only).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Context, Decimal, DivisionByZero, Inexact, InvalidOperation, Overflow, localcontext
from fractions import Fraction
from typing import Any

from redif.response.codes import NonTargetResponse, NonTargetStatus, OverallResponse, TargetResponse
from redif.response.criteria import RecistCriteria, recist_criteria
from redif.response.lesions import Lesion, RecistCase

__all__ = [
    "EXACT_CONTEXT",
    "Finding",
    "check_baseline",
    "non_target_response",
    "overall_response",
    "target_response",
]


@dataclass(frozen=True)
class Finding:
    """A RECIST selection rule broken at baseline (reported, not fatal).

    Attributes
    ----------
    code
        Stable identifier: ``target_not_measurable``, ``node_target_too_small``, ``too_many_targets``,
        ``too_many_targets_in_organ``, ``no_target_lesions``.
    lesion_ids
        The lesions concerned.
    message
        One line for a human.
    source
        Rule citation and grade.
    """

    code: str
    lesion_ids: tuple[str, ...]
    message: str
    source: str


# Decimal arithmetic on mm values is exact here: additions and products by small integers of numbers
# written with a few digits. The context traps Inexact, so a value that would need rounding raises
# instead of silently rounding.
EXACT_CONTEXT = Context(prec=60, traps=[Inexact, InvalidOperation, DivisionByZero, Overflow])


def check_baseline(case: RecistCase, criteria: RecistCriteria | None = None) -> list[Finding]:
    """Check the baseline target selection against RECIST 1.1 §3.

    Rules: a non-nodal target must measure >= 10 mm (longest diameter); a target node >= 15 mm short
    axis (nodes 10 to < 15 mm are pathological but non-measurable: non-target); at most 5 targets and at
    most 2 per organ (same ``organ`` text).

    Parameters
    ----------
    case
        The patient's lesions and baseline measurements.
    criteria
        Thresholds (default: ``data/recist.yaml``).

    Returns
    -------
    list of Finding
        Empty when the selection follows RECIST 1.1.

    References
    ----------
    Eisenhauer 2009, RECIST 1.1 §3.1.1 (measurability), §3.3.2 (target selection).
    """
    c = criteria or recist_criteria()
    findings: list[Finding] = []
    for les in case.targets:
        val = case.baseline.target_mm.get(les.id)
        if val is None:
            continue
        if les.is_node and _lt_mm(val, c.node_measurable_min_mm):
            findings.append(
                Finding(
                    "node_target_too_small",
                    (les.id,),
                    f"target node {les.id} short axis {val} mm < {c.node_measurable_min_mm} mm: "
                    "not measurable; "
                    f"record it as non-target (pathological if >= {c.node_normal_below_mm} mm)",
                    c.source("node_measurable_min_short_axis_mm"),
                )
            )
        elif not les.is_node and _lt_mm(val, c.measurable_min_mm):
            findings.append(
                Finding(
                    "target_not_measurable",
                    (les.id,),
                    f"target lesion {les.id} longest diameter {val} mm < {c.measurable_min_mm} mm: "
                    "not measurable; "
                    "record it as non-target",
                    c.source("measurable_min_longest_diameter_mm"),
                )
            )
    targets = case.targets
    if not targets:
        findings.append(
            Finding(
                "no_target_lesions",
                (),
                "no target lesion: only non-target response (RECIST 1.1 Table 2) can be assessed",
                c.source("max_target_lesions"),
            )
        )
    if len(targets) > c.max_targets:
        extra = tuple(t.id for t in targets[c.max_targets :])
        findings.append(
            Finding(
                "too_many_targets",
                extra,
                f"{len(targets)} target lesions > {c.max_targets}: {', '.join(extra)} should be non-target",
                c.source("max_target_lesions"),
            )
        )
    by_organ: dict[str, list[str]] = defaultdict(list)
    for t in targets:
        by_organ[t.organ.strip().lower()].append(t.id)
    for organ, ids in by_organ.items():
        if len(ids) > c.max_targets_per_organ:
            findings.append(
                Finding(
                    "too_many_targets_in_organ",
                    tuple(ids),
                    f"{len(ids)} target lesions in {organ} ({', '.join(ids)}) > "
                    f"{c.max_targets_per_organ} per organ",
                    c.source("max_target_lesions_per_organ"),
                )
            )
    return findings


def _ge(a: Decimal, b: Decimal, ratio: Fraction) -> bool:
    """Exactly ``a >= ratio * b`` by integer cross-multiplication (``a``, ``b`` exact decimals)."""
    with localcontext(EXACT_CONTEXT):
        return a * ratio.denominator >= b * ratio.numerator


def _lt_mm(a: Decimal, threshold: Fraction) -> bool:
    """Exactly ``a < threshold``."""
    with localcontext(EXACT_CONTEXT):
        return a * threshold.denominator < threshold.numerator


def _meets_pd(total: Decimal, nadir: Decimal, c: RecistCriteria) -> bool:
    with localcontext(EXACT_CONTEXT):
        increase = total - nadir
    return not _lt_mm(increase, c.pd_absolute_mm) and _ge(increase, nadir, c.pd_increase)


def target_response(
    targets: tuple[Lesion, ...],
    measurements: dict[str, Decimal | None] | Any,
    baseline_sum_mm: Decimal,
    nadir_mm: Decimal,
    criteria: RecistCriteria | None = None,
) -> TargetResponse:
    """Target-lesion response at one follow-up time point (RECIST 1.1 §4.3.1).

    Parameters
    ----------
    targets
        The baseline target lesions.
    measurements
        Lesion id -> diameter in mm (nodes: short axis); a missing id or ``None`` = not evaluated.
    baseline_sum_mm
        Sum of the target diameters at baseline, mm.
    nadir_mm
        Smallest complete sum at any earlier time point (baseline included), mm.
    criteria
        Thresholds (default: ``data/recist.yaml``).

    Returns
    -------
    TargetResponse
        CR, PR, SD, PD or NE (``NA`` when there is no target lesion).

    References
    ----------
    Eisenhauer 2009, RECIST 1.1 §4.3.1 and Table 1 footnotes.
    """
    c = criteria or recist_criteria()
    if not targets:
        return TargetResponse.NA
    values = {t.id: measurements.get(t.id) for t in targets}
    measured = [v for v in values.values() if v is not None]
    with localcontext(EXACT_CONTEXT):
        total = sum(measured, Decimal(0))
    nadir = nadir_mm
    if len(measured) < len(targets):
        return TargetResponse.PD if _meets_pd(total, nadir, c) else TargetResponse.NE
    complete = True
    for t in targets:
        v = values[t.id] or Decimal(0)
        gone = _lt_mm(v, c.node_normal_below_mm) if t.is_node else v == 0
        complete = complete and gone
    if complete:
        return TargetResponse.CR
    if _meets_pd(total, nadir, c):
        return TargetResponse.PD
    if _ge(baseline_sum_mm, total, 1 / (1 - c.pr_decrease)):
        return TargetResponse.PR
    return TargetResponse.SD


def non_target_response(
    non_targets: tuple[Lesion, ...], statuses: dict[str, NonTargetStatus] | Any
) -> NonTargetResponse:
    """Non-target response at one time point (RECIST 1.1 §4.3.2).

    PD if any lesion shows unequivocal progression; NE if any lesion was not evaluated (missing from
    ``statuses`` or ``not-evaluated``); CR if every lesion is absent (nodes: normal size); otherwise
    NON-CR/NON-PD. ``NA`` when there was no non-target lesion at baseline.

    References
    ----------
    Eisenhauer 2009, RECIST 1.1 §4.3.2.
    """
    if not non_targets:
        return NonTargetResponse.NA
    found = [statuses.get(les.id, NonTargetStatus.NOT_EVALUATED) for les in non_targets]
    if NonTargetStatus.PROGRESSION in found:
        return NonTargetResponse.PD
    if NonTargetStatus.NOT_EVALUATED in found:
        return NonTargetResponse.NE
    if all(s is NonTargetStatus.ABSENT for s in found):
        return NonTargetResponse.CR
    return NonTargetResponse.NON_CR_NON_PD


def overall_response(
    target: TargetResponse, non_target: NonTargetResponse, new_lesion: bool
) -> OverallResponse:
    """Combine target, non-target and new-lesion results (RECIST 1.1 Tables 1 and 2).

    Table 1 (target lesions present): PD if target PD, non-target PD or a new lesion; CR if target CR
    and non-target CR (or none); PR if target CR with non-target NON-CR/NON-PD or NE, or target PR with
    non-target not PD; SD if target SD with non-target not PD; NE if targets not all evaluated.
    Table 2 (non-target only, ``target`` = NA): PD / CR / NON-CR/NON-PD / NE from the non-target result.

    References
    ----------
    Eisenhauer 2009, RECIST 1.1 Table 1 and Table 2.
    """
    if new_lesion or target is TargetResponse.PD or non_target is NonTargetResponse.PD:
        return OverallResponse.PD
    if target is TargetResponse.NA:
        return {
            NonTargetResponse.CR: OverallResponse.CR,
            NonTargetResponse.NON_CR_NON_PD: OverallResponse.NON_CR_NON_PD,
            NonTargetResponse.NE: OverallResponse.NE,
            NonTargetResponse.NA: OverallResponse.NE,
        }[non_target]
    if target is TargetResponse.CR:
        if non_target in (NonTargetResponse.CR, NonTargetResponse.NA):
            return OverallResponse.CR
        return OverallResponse.PR
    return {
        TargetResponse.PR: OverallResponse.PR,
        TargetResponse.SD: OverallResponse.SD,
        TargetResponse.NE: OverallResponse.NE,
    }[target]
