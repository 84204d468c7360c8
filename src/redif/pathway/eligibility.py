"""Eligibility for redifferentiation: ATA 2025 Rec 74A/74B context and trial-style criteria.

Trial criteria (SEL-I-METRY progression within 12 months and measurable non-avid lesion; MERAIODE
progression within 18 months and no lesion > 3 cm) are reported as "trial criterion X: met / not met /
unknown", never as hard rules. The overall answer (``candidate`` / ``not_candidate`` / ``indeterminate``)
follows ATA 2025 Rec 74A: a candidate needs progressive RAI-refractory disease with a targetable alteration
that the recommendation covers; Rec 74B (adjuvant setting) says no. Weak evidence cannot make a candidate:

* "progressive" needs structural progression (RECIST 1.1, or documented clinical or FDG-PET progression);
  a rising Tg alone leaves the answer indeterminate, with the imaging that would decide it;
* every Tg-based statement is checked against TgAb (positive or rising at the measurements used: Tg is
  unreliable, and the answer says why);
* fusions and rare variants are shown with their evidence level and are not counted as meeting Rec 74A;
  every genotype entry is kept and conflicting alterations are reported.

References
----------
ATA 2025, Thyroid 2025;35(8):841-985, PMID 40844370 (Rec 74A, 74B). SEL-I-METRY protocol PMC6567392
Table 1. MERAIODE ESMO 2021 abstract 1743MO; PMID 37074727. RECIST 1.1, Eisenhauer EA et al.,
Eur J Cancer 2009;45:228-247 (measurability). docs/methods/refractoriness.md, docs/methods/response.md.
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
from redif.pathway.case import (
    Case,
    LabResult,
    Lesion,
    ProgressionCriterion,
    ProgressionEvent,
    Setting,
    Uptake,
)
from redif.pathway.refractoriness import RefractorinessResult, RefractoryStatus
from redif.pathway.regimens import GenotypeMatch, genotype_conflicts, untargeted_context

__all__ = ["Check", "CheckStatus", "Eligibility", "EligibilityStatus", "assess_eligibility"]

_FILE = "regimens.yaml"


class CheckStatus(enum.StrEnum):
    """Result of one check."""

    MET = "met"
    NOT_MET = "not met"
    UNKNOWN = "unknown"
    NOT_APPLICABLE = "not applicable"


class EligibilityStatus(enum.StrEnum):
    """Overall eligibility answer (the JSON ``eligibility.status``)."""

    CANDIDATE = "candidate"
    NOT_CANDIDATE = "not_candidate"
    INDETERMINATE = "indeterminate"


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
    """Eligibility answer: candidate / not_candidate / indeterminate, with every check.

    ``missing_data`` says what data would decide an indeterminate answer; ``notes`` carries the genotype
    conflicts and scope notes (never dropped).
    """

    status: EligibilityStatus
    eligible: bool | None
    reason: str
    checks: tuple[Check, ...]
    genotype: tuple[GenotypeMatch, ...]
    as_of: dt.date | None
    trial_context: str | None = None
    missing_data: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Criteria:
    rules: dict[str, RuleRef]
    values: dict[str, float]
    structural: frozenset[ProgressionCriterion]


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
    for key, entry in raw["progression_evidence"].items():
        rules[key] = RuleRef.from_entry(entry, file=_FILE, key=key)
    structural = frozenset(
        ProgressionCriterion(c)
        for c in raw["progression_evidence"]["structural_required"]["structural_criteria"]
    )
    return _Criteria(rules=rules, values=values, structural=structural)


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


def _labs_label(labs: list[LabResult]) -> str:
    return ", ".join(str(lab.date) for lab in labs)


def _tg_reliability(case: Case, c: _Criteria) -> tuple[Check, bool]:
    """TgAb at the Tg measurements used by the case's Tg-based statements.

    The measurements used: for a biochemical progression event, every Tg value on or before its date; with
    no such event, the whole Tg series (the response section's Tg kinetics). Returns the check and whether
    Tg is unreliable (TgAb positive or rising).
    """
    biochemical = [p for p in case.progression_events if p.criterion is ProgressionCriterion.BIOCHEMICAL]
    tg_labs = sorted((lab for lab in case.labs if lab.tg_ng_ml is not None), key=lambda lab: lab.date)
    rule_pos, rule_rise = c.rules["tgab_positive"], c.rules["tgab_rising"]
    if biochemical:
        last = max(p.date for p in biochemical)
        used = [lab for lab in tg_labs if lab.date <= last]
        what = f"biochemical progression (latest {last})"
    else:
        used = tg_labs
        what = "the thyroglobulin series"
    if not used:
        status = CheckStatus.UNKNOWN if biochemical else CheckStatus.NOT_APPLICABLE
        detail = (
            f"{what}: no Tg value recorded on or before it (labs[].tg_ng_ml)"
            if biochemical
            else "no Tg-based statement in the case"
        )
        return _check(rule_pos, "data check", status, detail), False
    positive = [lab for lab in used if lab.tgab_positive is True]
    unknown = [lab for lab in used if lab.tgab_positive is None]
    titres = [lab for lab in used if lab.tgab_iu_ml is not None]
    rising = len(titres) >= 2 and (titres[-1].tgab_iu_ml or 0.0) > (titres[0].tgab_iu_ml or 0.0)
    reasons = []
    if positive:
        reasons.append(
            f"TgAb positive at {len(positive)} of {len(used)} Tg measurement(s) used "
            f"({_labs_label(positive)})"
        )
    if rising:
        reasons.append(
            f"TgAb rising from {titres[0].tgab_iu_ml:g} IU/mL ({titres[0].date}) to "
            f"{titres[-1].tgab_iu_ml:g} IU/mL ({titres[-1].date}) [{rule_rise.source}; grade "
            f"{rule_rise.grade.value}]"
        )
    if reasons:
        detail = (
            f"{what}: Tg UNRELIABLE — " + "; ".join(reasons) + ". TgAb interference can make Tg falsely low "
            "or its trend meaningless; follow the TgAb trend (same method) and structural imaging instead"
        )
        return _check(rule_pos, "data check", CheckStatus.NOT_MET, detail), True
    if unknown:
        detail = (
            f"{what}: TgAb not recorded at {_labs_label(unknown)} (labs[].tgab_positive): whether Tg is "
            "reliable is unknown"
        )
        return _check(rule_pos, "data check", CheckStatus.UNKNOWN, detail), False
    detail = f"{what}: TgAb negative at all {len(used)} Tg measurement(s) used ({_labs_label(used)})"
    return _check(rule_pos, "data check", CheckStatus.MET, detail), False


def _progressive(
    case: Case, c: _Criteria, tg_unreliable: bool, missing: list[str]
) -> tuple[CheckStatus, str]:
    structural = [p for p in case.progression_events if p.criterion in c.structural]
    if structural:
        last = max(structural, key=lambda p: p.date)
        return CheckStatus.MET, f"structural progression ({last.criterion.value}) on {last.date}"
    other: list[ProgressionEvent] = [p for p in case.progression_events if p.criterion not in c.structural]
    decide = (
        "structural imaging showing progression: RECIST 1.1 (CT/MRI), or documented clinical or FDG-PET "
        "progression (progression_events[].criterion)"
    )
    missing.append(decide)
    if not other:
        return CheckStatus.UNKNOWN, "no progression event recorded"
    kinds = ", ".join(f"{p.criterion.value} on {p.date}" for p in sorted(other, key=lambda p: p.date))
    detail = f"non-structural progression only ({kinds}): not enough for 'progressive'"
    if tg_unreliable:
        detail += "; moreover Tg is unreliable here (TgAb positive or rising, see the TgAb data check)"
    return CheckStatus.UNKNOWN, detail


def _genotype_part(
    genotype: tuple[GenotypeMatch, ...], case: Case, missing: list[str]
) -> tuple[CheckStatus, str]:
    covered = [m for m in genotype if m.rec74a is True]
    if covered:
        return CheckStatus.MET, ", ".join(f"{m.alteration} ({m.group}; {m.evidence_level})" for m in covered)
    uncertain = [m for m in genotype if m.targetable or m.rec74a is None]
    if uncertain:
        missing.append(
            "an alteration covered by Rec 74A (BRAF V600E or RAS), or an individual decision outside the "
            "guideline (e.g. a clinical trial) for " + ", ".join(m.alteration for m in uncertain)
        )
        return CheckStatus.UNKNOWN, "; ".join(
            f"{m.alteration} ({m.group}; evidence: {m.evidence_level}): {m.note or 'not covered by Rec 74A'}"
            for m in uncertain
        )
    if case.genotype:
        return CheckStatus.NOT_MET, "no BRAF V600E or RAS alteration (Rec 74A) among " + ", ".join(
            f"{m.alteration} ({m.group})" for m in genotype
        )
    missing.append("tumour genotype (genotype[]: BRAF, RAS, RET/NTRK fusions)")
    return CheckStatus.UNKNOWN, "no genotype recorded"


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
    missing: list[str] = []
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
    if st is RefractoryStatus.INDETERMINATE:
        missing.extend(refractoriness.missing_data)
    tg_check, tg_unreliable = _tg_reliability(case, c)
    pst, pdetail = _progressive(case, c, tg_unreliable, missing)
    parts.append(("progressive", pst, pdetail))
    gst, gdetail = _genotype_part(genotype, case, missing)
    parts.append(("targetable alteration covered by Rec 74A", gst, gdetail))
    statuses = [p[1] for p in parts]
    s74a = (
        CheckStatus.NOT_MET
        if CheckStatus.NOT_MET in statuses
        else CheckStatus.UNKNOWN
        if CheckStatus.UNKNOWN in statuses
        else CheckStatus.MET
    )
    checks.append(_check(g74a, "guideline", s74a, "; ".join(f"{n}: {s.value} ({d})" for n, s, d in parts)))
    checks.append(
        _check(
            c.rules["structural_required"],
            "guideline",
            pst,
            pdetail,
        )
    )
    checks.append(tg_check)

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
    targetable = [m for m in genotype if m.targetable]
    trial_context = context.text if (case.genotype and not targetable) else None
    notes = genotype_conflicts(genotype)
    notes += [
        f"{m.alteration}: {m.group}, evidence {m.evidence_level} — {m.note} "
        f"({m.source}; grade {m.grade.value})"
        for m in genotype
        if m.note and m.rec74a is not True
    ]
    if tg_unreliable:
        notes.append(tg_check.detail)
    status: EligibilityStatus
    if adjuvant:
        status, eligible = EligibilityStatus.NOT_CANDIDATE, False
        reason = "adjuvant setting: ATA 2025 Rec 74B recommends against redifferentiation"
        missing = []
    elif s74a is CheckStatus.MET:
        status, eligible = EligibilityStatus.CANDIDATE, True
        reason = (
            "ATA 2025 Rec 74A context met: structural progression of RAI-refractory disease with an "
            "alteration the recommendation covers"
        )
        missing = []
    elif s74a is CheckStatus.NOT_MET:
        status, eligible = EligibilityStatus.NOT_CANDIDATE, False
        reason = "ATA 2025 Rec 74A context not met: " + "; ".join(
            f"{n} ({d})" for n, s, d in parts if s is CheckStatus.NOT_MET
        )
        missing = []
    else:
        status, eligible = EligibilityStatus.INDETERMINATE, None
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
        missing_data=tuple(dict.fromkeys(missing)),
        notes=tuple(dict.fromkeys(notes)),
    )


def eligibility_rules() -> dict[str, Any]:
    """The guideline and trial criteria as shown to users (id -> text, source, grade)."""
    return {
        k: {"text": r.text, "source": r.source, "grade": r.grade.value} for k, r in _criteria().rules.items()
    }
