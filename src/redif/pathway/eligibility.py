"""Eligibility for redifferentiation: ATA 2025 Rec 74A/74B context and trial-style criteria.

Trial criteria (SEL-I-METRY progression within 12 months and measurable non-avid lesion; MERAIODE
progression within 18 months and no lesion > 3 cm) are reported as "trial criterion X: met / not met /
unknown", never as hard rules. The overall answer follows ATA 2025 Rec 74A: a candidate needs
progressive RAI-refractory disease with a targetable alteration; Rec 74B (adjuvant setting) says no.

References
----------
ATA 2025, Thyroid 2025;35(8):841-985, PMID 40844370 (Rec 74A, 74B). SEL-I-METRY protocol PMC6567392
Table 1. MERAIODE ESMO 2021 abstract 1743MO; PMID 37074727. RECIST 1.1, Eisenhauer EA et al.,
Eur J Cancer 2009;45:228-247 (measurability). ``shared/clinical/RULES.md`` §2, §6.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from redif.data import Grade, load_yaml
from redif.pathway._common import RuleRef, require_sourced
from redif.pathway._dates import add_months
from redif.pathway.case import Case, Lesion, ProgressionCriterion, Setting, Uptake
from redif.pathway.refractoriness import RefractorinessResult, RefractoryStatus
from redif.pathway.regimens import GenotypeMatch, untargeted_context

__all__ = ["Check", "CheckStatus", "Eligibility", "assess_eligibility"]

_FILE = "regimens.yaml"


class CheckStatus(enum.StrEnum):
    """Result of one check."""

    MET = "met"
    NOT_MET = "not met"
    UNKNOWN = "unknown"
    NOT_APPLICABLE = "not applicable"


@dataclass(frozen=True)
class Check:
    """One guideline or trial criterion applied to the case."""

    id: str
    kind: str  # "guideline" or "trial criterion"
    text: str
    status: CheckStatus
    detail: str
    source: str
    grade: Grade

    @property
    def label(self) -> str:
        """``trial criterion <text>: <status>`` as shown to the user."""
        return f"{self.kind} {self.id}: {self.status.value}"


@dataclass(frozen=True)
class Eligibility:
    """Eligibility answer: candidate / not a candidate / indeterminate, with every check."""

    status: str
    eligible: bool | None
    reason: str
    checks: tuple[Check, ...]
    genotype: tuple[GenotypeMatch, ...]
    as_of: dt.date | None
    trial_context: str | None = None


@dataclass(frozen=True)
class _Criteria:
    rules: dict[str, RuleRef]
    values: dict[str, float]


@lru_cache(maxsize=1)
def _criteria() -> _Criteria:
    raw = load_yaml(_FILE)
    rules: dict[str, RuleRef] = {}
    values: dict[str, float] = {}
    for section in ("guideline", "trial_criteria"):
        for key, entry in raw[section].items():
            rules[key] = RuleRef.from_entry(entry, file=_FILE, key=key)
            if "value" in entry:
                values[key] = float(entry["value"])
    for key, entry in raw["measurable"].items():
        require_sourced(entry, file=_FILE, key=key)
        values[key] = float(entry["value"])
    return _Criteria(rules=rules, values=values)


def _check(rule: RuleRef, kind: str, status: CheckStatus, detail: str) -> Check:
    return Check(
        id=rule.id,
        kind=kind,
        text=rule.text,
        status=status,
        detail=detail,
        source=rule.source,
        grade=rule.grade,
    )


def _recent_recist(case: Case, as_of: dt.date | None, months: int) -> tuple[CheckStatus, str]:
    recist = [p for p in case.progression_events if p.criterion is ProgressionCriterion.RECIST_1_1]
    if not recist:
        return CheckStatus.UNKNOWN, "no RECIST 1.1 progression recorded (progression_events)"
    if as_of is None:
        return CheckStatus.UNKNOWN, "no reference date (assessment_date)"
    since = add_months(as_of, -months)
    recent = [p for p in recist if since <= p.date <= as_of]
    if recent:
        last = max(p.date for p in recent)
        return CheckStatus.MET, f"RECIST progression on {last}, within {months} months before {as_of}"
    last = max(p.date for p in recist)
    return CheckStatus.NOT_MET, f"last RECIST progression {last}, more than {months} months before {as_of}"


def _measurable(les: Lesion, c: _Criteria) -> bool | None:
    if les.size_mm is None:
        return None
    limit = c.values["nodal_short_axis_min_mm"] if les.lymph_node else c.values["non_nodal_min_mm"]
    return les.size_mm >= limit


def _non_avid_measurable(case: Case, c: _Criteria) -> tuple[CheckStatus, str]:
    no_uptake: set[str] = set()
    for course in case.rai_courses:
        if course.post_therapy_scan:
            no_uptake |= {k for k, v in course.post_therapy_scan.uptake.items() if v is Uptake.ABSENT}
    for s in case.diagnostic_scans:
        if not s.on_redifferentiation_drug:
            no_uptake |= {k for k, v in s.uptake.items() if v is Uptake.ABSENT}
    found, unknown = [], []
    for lid in sorted(no_uptake):
        les = case.lesion(lid)
        if les is None:
            continue
        m = _measurable(les, c)
        if m:
            found.append(f"{lid} ({les.size_mm:g} mm, no uptake on a previous scan)")
        elif m is None:
            unknown.append(lid)
    # second arm: measurable lesion progressing by RECIST within 12 months of 131I despite avidity
    window = int(c.values["selimetry_measurable_lesion"])
    for p in case.progression_events:
        if p.criterion is not ProgressionCriterion.RECIST_1_1:
            continue
        for course in case.rai_courses:
            if not (course.date < p.date <= add_months(course.date, window)) or not course.post_therapy_scan:
                continue
            for lid in p.lesion_ids:
                les = case.lesion(lid)
                if (
                    les is not None
                    and course.post_therapy_scan.uptake.get(lid) is Uptake.PRESENT
                    and _measurable(les, c)
                ):
                    found.append(
                        f"{lid} progressing on {p.date} within {window} months of 131I on "
                        f"{course.date} despite uptake"
                    )
    if found:
        return CheckStatus.MET, "; ".join(found)
    if unknown:
        return (
            CheckStatus.UNKNOWN,
            f"size missing for non-avid lesion(s) {', '.join(unknown)} (lesions[].size_mm)",
        )
    return (
        CheckStatus.NOT_MET,
        "no measurable lesion without uptake on a previous scan or progressing despite avidity",
    )


def _lesion_size(case: Case, c: _Criteria) -> tuple[CheckStatus, str]:
    limit = c.values["meraiode_lesion_size"]
    if not case.lesions:
        return CheckStatus.UNKNOWN, "no lesions recorded"
    big = [les for les in case.lesions if les.size_mm is not None and les.size_mm > limit]
    if big:
        return CheckStatus.NOT_MET, "; ".join(f"{les.id} {les.size_mm:g} mm > {limit:g} mm" for les in big)
    missing = [les.id for les in case.lesions if les.size_mm is None]
    if missing:
        return CheckStatus.UNKNOWN, f"size missing for {', '.join(missing)} (lesions[].size_mm)"
    largest = max(case.lesions, key=lambda les: les.size_mm or 0.0)
    return CheckStatus.MET, f"largest lesion {largest.id} {largest.size_mm:g} mm <= {limit:g} mm"


def assess_eligibility(
    case: Case, refractoriness: RefractorinessResult, genotype: tuple[GenotypeMatch, ...]
) -> Eligibility:
    """Eligibility checks for redifferentiation.

    Parameters
    ----------
    case
        The case.
    refractoriness
        Its refractoriness result (Rec 74A needs RAI-R disease).
    genotype
        The genotype groups matched (Rec 74A needs a targetable alteration).

    References
    ----------
    ATA 2025 Rec 74A/74B (PMID 40844370); SEL-I-METRY PMC6567392 Table 1; MERAIODE abstract 1743MO.
    """
    c = _criteria()
    as_of = case.as_of()
    checks: list[Check] = []
    g74a, g74b = c.rules["rec74a"], c.rules["rec74b"]

    # --- ATA 2025 Rec 74A: progressive + RAI-R + targetable ---------------------------------------------
    parts: list[tuple[str, CheckStatus, str]] = []
    st = refractoriness.status
    parts.append(
        (
            "RAI-refractory",
            CheckStatus.MET
            if st is RefractoryStatus.REFRACTORY
            else CheckStatus.NOT_MET
            if st is RefractoryStatus.NOT_REFRACTORY
            else CheckStatus.UNKNOWN,
            f"refractoriness: {st.value}",
        )
    )
    if case.progression_events:
        last = max(p.date for p in case.progression_events)
        parts.append(("progressive", CheckStatus.MET, f"progression recorded (latest {last})"))
    else:
        parts.append(("progressive", CheckStatus.UNKNOWN, "no progression event recorded"))
    targetable = [m for m in genotype if m.targetable]
    if targetable:
        parts.append(("targetable alteration", CheckStatus.MET, ", ".join(m.alteration for m in targetable)))
    elif case.genotype:
        parts.append(
            (
                "targetable alteration",
                CheckStatus.NOT_MET,
                "no BRAF V600E, RAS, RET or NTRK fusion among "
                + ", ".join(f"{a.gene} {a.variant or a.fusion_partner or ''}".strip() for a in case.genotype),
            )
        )
    else:
        parts.append(("targetable alteration", CheckStatus.UNKNOWN, "no genotype recorded"))
    statuses = [p[1] for p in parts]
    s74a = (
        CheckStatus.NOT_MET
        if CheckStatus.NOT_MET in statuses
        else CheckStatus.UNKNOWN
        if CheckStatus.UNKNOWN in statuses
        else CheckStatus.MET
    )
    checks.append(_check(g74a, "guideline", s74a, "; ".join(f"{n}: {s.value} ({d})" for n, s, d in parts)))

    adjuvant = case.setting is Setting.ADJUVANT
    checks.append(
        _check(
            g74b,
            "guideline",
            CheckStatus.MET if adjuvant else CheckStatus.NOT_APPLICABLE,
            "adjuvant setting: redifferentiation not recommended"
            if adjuvant
            else f"setting is {case.setting.value}, not adjuvant",
        )
    )

    # --- trial-style criteria ---------------------------------------------------------------------------
    sp, dp = _recent_recist(case, as_of, int(c.values["selimetry_progression"]))
    checks.append(_check(c.rules["selimetry_progression"], "trial criterion", sp, dp))
    sm, dm = _non_avid_measurable(case, c)
    checks.append(_check(c.rules["selimetry_measurable_lesion"], "trial criterion", sm, dm))
    mp, dmp = _recent_recist(case, as_of, int(c.values["meraiode_progression"]))
    checks.append(_check(c.rules["meraiode_progression"], "trial criterion", mp, dmp))
    ms, dms = _lesion_size(case, c)
    checks.append(_check(c.rules["meraiode_lesion_size"], "trial criterion", ms, dms))

    context, _rows = untargeted_context()
    trial_context = context.text if (case.genotype and not targetable) else None
    if adjuvant:
        status, eligible = "not a candidate", False
        reason = "adjuvant setting: ATA 2025 Rec 74B recommends against redifferentiation"
    elif s74a is CheckStatus.MET:
        status, eligible = "candidate", True
        reason = (
            "ATA 2025 Rec 74A context met: progressive RAI-refractory disease with a targetable alteration"
        )
    elif s74a is CheckStatus.NOT_MET:
        status, eligible = "not a candidate", False
        reason = "ATA 2025 Rec 74A context not met: " + "; ".join(
            f"{n} ({d})" for n, s, d in parts if s is CheckStatus.NOT_MET
        )
    else:
        status, eligible = "indeterminate", None
        reason = "ATA 2025 Rec 74A context unknown: " + "; ".join(
            f"{n} ({d})" for n, s, d in parts if s is CheckStatus.UNKNOWN
        )
    return Eligibility(
        status=status,
        eligible=eligible,
        reason=reason,
        checks=tuple(checks),
        genotype=genotype,
        as_of=as_of,
        trial_context=trial_context,
    )


def eligibility_rules() -> dict[str, Any]:
    """The guideline and trial criteria as shown to users (id -> text, source, grade)."""
    return {
        k: {"text": r.text, "source": r.source, "grade": r.grade.value} for k, r in _criteria().rules.items()
    }
