"""Is the disease radioactive-iodine refractory, and by which criterion?

The ATA 2025 strong criteria decide the status; the ATA 2025 supplemental criteria (reduced RAI
sensitivity) and the ATA 2015 categories are evaluated and reported beside them. Two hard rules hold:

* no RAI-refractoriness without a prior ablative/treatment 131I activity (ATA 2025 good practice);
* a negative scan alone, or a cumulative activity alone, never makes a patient refractory
  (consensus statement, PMC7581611 Table 3): criterion (i) needs disease visible on structural or FDG
  imaging, and cumulative activity is reported as context only.

Status logic
------------
``refractory``      an ATA 2025 strong criterion is met (and a prior 131I activity exists);
``not refractory``  no prior 131I activity (cannot be diagnosed), or no criterion met and the data needed
                    to judge the strong criteria are complete;
``indeterminate``   only supplemental / ATA 2015 criteria met, or data missing (listed in ``missing_data``).

References
----------
ATA 2025 guidelines, Thyroid 2025;35(8):841-985, PMID 40844370 (secondary transcription).
Haugen BR et al., ATA 2015 guidelines, Thyroid 2016;26:1-133, PMID 26462967 (wording unverified).
Consensus statement on RAI-refractoriness, PMC7581611, Table 3.
All rules and their grades: ``redif/data/refractoriness.yaml`` (from docs/methods/refractoriness.md).
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from redif.data import Grade, load_yaml
from redif.pathway._common import RuleRef, require_sourced
from redif.pathway._dates import add_months, months_between
from redif.pathway.case import STRUCTURAL_OR_FDG, Case, Lesion, RaiCourse, RaiIntent, Uptake

__all__ = [
    "CriterionMet",
    "NonCriterionNote",
    "RefractorinessResult",
    "RefractoryStatus",
    "assess_refractoriness",
    "refractoriness_rules",
]

_FILE = "refractoriness.yaml"


class RefractoryStatus(enum.StrEnum):
    """Answer of the refractoriness classifier."""

    REFRACTORY = "refractory"
    NOT_REFRACTORY = "not refractory"
    INDETERMINATE = "indeterminate"


@dataclass(frozen=True)
class CriterionMet:
    """A criterion met, with the evidence from the case (scan, lesion, date)."""

    id: str
    framework: str
    strength: str
    text: str
    source: str
    grade: Grade
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class NonCriterionNote:
    """A finding that is not a criterion on its own (negative scan, cumulative activity)."""

    id: str
    text: str
    source: str
    grade: Grade
    applies: bool
    detail: str


@dataclass(frozen=True)
class RefractorinessResult:
    """Refractoriness classification of one case."""

    status: RefractoryStatus
    reason: str
    rule: RuleRef | None
    criteria_met: tuple[CriterionMet, ...]
    missing_data: tuple[str, ...]
    frameworks: dict[str, str] = field(default_factory=dict)
    non_criteria: tuple[NonCriterionNote, ...] = ()
    cumulative_activity_gbq: float = 0.0


@dataclass(frozen=True)
class _Rules:
    criteria: dict[str, dict[str, Any]]
    good_practice: dict[str, RuleRef]
    non_criteria: dict[str, RuleRef]
    window_months: int
    cumulative_gbq: float


@lru_cache(maxsize=1)
def refractoriness_rules() -> _Rules:
    """Load and check ``refractoriness.yaml`` (every entry needs a source and a grade)."""
    raw = load_yaml(_FILE)
    criteria = {}
    for entry in raw["criteria"]:
        require_sourced(entry, file=_FILE, key=entry["id"])
        criteria[entry["id"]] = entry
    good = {k: RuleRef.from_entry(v, file=_FILE, key=k) for k, v in raw["good_practice"].items()}
    non = {e["id"]: RuleRef.from_entry(e, file=_FILE) for e in raw["non_criteria"]}
    params = raw["parameters"]
    for key, entry in params.items():
        require_sourced(entry, file=_FILE, key=key)
    return _Rules(
        criteria=criteria,
        good_practice=good,
        non_criteria=non,
        window_months=int(params["progression_window_months"]["value"]),
        cumulative_gbq=float(params["cumulative_activity_discussed_gbq"]["value"]),
    )


def _met(rules: _Rules, rule_id: str, evidence: list[str]) -> CriterionMet:
    e = rules.criteria[rule_id]
    return CriterionMet(
        id=rule_id,
        framework=str(e["framework"]),
        strength=str(e["strength"]),
        text=" ".join(str(e["text"]).split()),
        source=str(e["source"]),
        grade=Grade(e["grade"]),
        evidence=tuple(evidence),
    )


def _course_label(i: int, c: RaiCourse) -> str:
    name = c.id or f"rai_courses[{i}]"
    return f"131I course {name} ({c.date}, {c.activity_gbq:g} GBq, {c.intent.value})"


def _visible(lesion: Lesion | None) -> bool:
    return lesion is not None and bool(STRUCTURAL_OR_FDG.intersection(lesion.detected_by))


def _lesion_desc(case: Case, lid: str) -> str:
    les = case.lesion(lid)
    if les is None:
        return lid
    mods = ", ".join(m.value for m in les.detected_by) or "no imaging recorded"
    return f"{lid} ({les.organ}; {mods})"


def _partition(uptake: dict[str, Uptake]) -> tuple[list[str], list[str], list[str]]:
    present = [k for k, v in uptake.items() if v is Uptake.PRESENT]
    absent = [k for k, v in uptake.items() if v is Uptake.ABSENT]
    unclear = [k for k, v in uptake.items() if v in (Uptake.EQUIVOCAL, Uptake.NOT_ASSESSED)]
    return present, absent, unclear


def assess_refractoriness(case: Case) -> RefractorinessResult:
    """Classify RAI-refractoriness of one case.

    Parameters
    ----------
    case
        A validated :class:`~redif.pathway.case.Case`.

    Returns
    -------
    RefractorinessResult
        ``status``, the criteria met (rule id, text, source, grade and the evidence from the case),
        the data that would decide an indeterminate case, and the per-framework answers.

    References
    ----------
    ATA 2025, Thyroid 2025;35(8):841-985, PMID 40844370 (strong criteria i-ii, supplemental A-B,
    good-practice statement on prior activity). Haugen BR et al., Thyroid 2016;26:1-133 (ATA 2015
    categories i-iv). PMC7581611 Table 3 (negative scan or cumulative activity alone insufficient).
    """
    rules = refractoriness_rules()
    met: list[CriterionMet] = []
    missing: list[str] = []
    as_of = case.as_of()
    courses = sorted(enumerate(case.rai_courses), key=lambda t: t[1].date)

    if not case.lesions:
        missing.append("lesions with the structural or FDG imaging that shows them (lesions[].detected_by)")
    for les in case.lesions:
        if not les.detected_by:
            missing.append(
                f"imaging that shows lesion {les.id} (lesions[].detected_by: ct, mri, us, fdg_pet)"
            )

    # --- post-therapy scans: strong (i), supplemental (B), ATA 2015 (i), (iii) --------------------------
    # Strong (i) and supplemental (B) read the most recent post-therapy scan: a later avid scan supersedes
    # an earlier negative one. Earlier scans feed the ATA 2015 categories and the negative-scan note.
    strong_i: list[str] = []
    supp_b: list[str] = []
    negative_scans: list[str] = []
    scanned = [(i, c) for i, c in courses if c.post_therapy_scan is not None and c.post_therapy_scan.uptake]
    post_scans = len(scanned)
    any_post_therapy_uptake = any(
        _partition(c.post_therapy_scan.uptake)[0] for _, c in scanned if c.post_therapy_scan is not None
    )
    latest = scanned[-1] if scanned else None
    for i, c in courses:
        if latest is None or c.date > latest[1].date:
            missing.append(f"post-therapy scan result (uptake per lesion) after {_course_label(i, c)}")
    for i, c in scanned:
        pts = c.post_therapy_scan
        assert pts is not None
        label = _course_label(i, c)
        present, absent, unclear = _partition(pts.uptake)
        when = f"post-therapy scan {pts.date or 'after'} {label}"
        if absent and not present and not unclear:
            negative_scans.append(when)
        if (i, c) != latest:
            continue
        for lid in unclear:
            missing.append(
                f"a definite uptake reading of lesion {lid} on the post-therapy scan after {label}"
            )
        if absent and not present and not unclear:
            visible = [lid for lid in absent if _visible(case.lesion(lid))]
            if visible:
                strong_i.append(
                    f"{when}: no uptake in {', '.join(_lesion_desc(case, lid) for lid in absent)}; "
                    f"disease visible on structural/FDG imaging: {', '.join(visible)}"
                )
            else:
                missing.append(
                    f"structural or FDG imaging showing disease at the time of the negative {when}"
                )
        elif present and absent:
            supp_b.append(f"{when}: uptake in {', '.join(present)}; no uptake in {', '.join(absent)}")
    if strong_i:
        met.append(_met(rules, "ata2025.strong.no_uptake_post_therapy", strong_i))

    # --- strong (ii) and ATA 2015 (iv): progression despite uptake --------------------------------------
    strong_ii: list[str] = []
    cat_iv: list[str] = []
    progressions = sorted(case.progression_events, key=lambda p: p.date)
    for n, (i, c) in enumerate(courses):
        if c.post_therapy_scan is None:
            continue
        present, _, _ = _partition(c.post_therapy_scan.uptake)
        if not present:
            continue
        next_course = courses[n + 1][1].date if n + 1 < len(courses) else None
        label = _course_label(i, c)
        limit = add_months(c.date, rules.window_months)
        after = [
            p for p in progressions if p.date > c.date and (next_course is None or p.date <= next_course)
        ]
        for p in after:
            months = months_between(c.date, p.date)
            text = (
                f"progression ({p.criterion.value}) on {p.date}, {months:.1f} months after {label} "
                f"with uptake in {', '.join(present)} on the post-therapy scan"
            )
            cat_iv.append(text)
            if c.intent is RaiIntent.TREATMENT and p.date < limit:
                strong_ii.append(text)
        if (
            c.intent is RaiIntent.TREATMENT
            and not any(p.date < limit for p in after)
            and (as_of is None or as_of < limit)
        ):
            missing.append(
                f"follow-up to {limit} ({rules.window_months} months after {label}): "
                "progression status after the treatment activity"
            )
    if strong_ii:
        met.append(_met(rules, "ata2025.strong.progression_despite_uptake", strong_ii))

    # --- supplemental (A): diagnostic 123I/131I scan without uptake despite detectable disease ----------
    supp_a: list[str] = []
    for i, s in enumerate(case.diagnostic_scans):
        if s.on_redifferentiation_drug or s.tracer not in ("I-123", "I-131") or not s.uptake:
            continue
        present, absent, unclear = _partition(s.uptake)
        if absent and not present and not unclear:
            name = s.id or f"diagnostic_scans[{i}]"
            negative_scans.append(f"diagnostic {s.tracer} scan {name} ({s.date})")
            visible = [lid for lid in absent if _visible(case.lesion(lid))]
            if visible:
                supp_a.append(
                    f"diagnostic {s.tracer} scan {name} ({s.date}): no uptake; detectable disease: "
                    f"{', '.join(_lesion_desc(case, lid) for lid in visible)}"
                )
    if supp_a:
        met.append(_met(rules, "ata2025.supplemental.no_uptake_diagnostic", supp_a))
    if supp_b:
        met.append(_met(rules, "ata2025.supplemental.partial_uptake_post_therapy", supp_b))

    # --- ATA 2015 categories ---------------------------------------------------------------------------
    off_drug_dx_uptake = any(
        _partition(s.uptake)[0] for s in case.diagnostic_scans if not s.on_redifferentiation_drug
    )
    if post_scans and strong_i and not any_post_therapy_uptake and not off_drug_dx_uptake:
        met.append(
            _met(
                rules,
                "ata2015.never_concentrates",
                [f"no lesion uptake on any of {post_scans} post-therapy scan(s) or on any diagnostic scan"],
            )
        )
    lost: list[str] = []
    scans: list[tuple[dt.date, str, dict[str, Uptake], bool]] = []
    for i, c in courses:
        if c.post_therapy_scan:
            scans.append(
                (
                    c.post_therapy_scan.date or c.date,
                    f"post-therapy scan after {_course_label(i, c)}",
                    c.post_therapy_scan.uptake,
                    True,
                )
            )
    for i, s in enumerate(case.diagnostic_scans):
        if not s.on_redifferentiation_drug:
            scans.append(
                (s.date, f"diagnostic {s.tracer} scan {s.id or f'diagnostic_scans[{i}]'}", s.uptake, False)
            )
    scans.sort(key=lambda t: t[0])
    for a, (d1, name1, up1, _) in enumerate(scans):
        for d2, name2, up2, is_post in scans[a + 1 :]:
            if not is_post or d2 <= d1:
                continue
            for lid, u in up1.items():
                if u is Uptake.PRESENT and up2.get(lid) is Uptake.ABSENT and _visible(case.lesion(lid)):
                    lost.append(f"lesion {lid}: uptake on {name1} ({d1}), none on {name2} ({d2})")
    if lost:
        met.append(_met(rules, "ata2015.loses_ability", sorted(set(lost))))
    if supp_b:
        met.append(_met(rules, "ata2015.some_lesions_not_others", supp_b))
    if cat_iv:
        met.append(_met(rules, "ata2015.progression_despite_concentration", cat_iv))

    # --- non-criteria (context, never a reason) ---------------------------------------------------------
    cumulative = round(sum(c.activity_gbq for c in case.rai_courses), 6)
    strong = [m for m in met if m.strength == "strong"]
    neg = rules.non_criteria["negative_scan_alone"]
    cum = rules.non_criteria["cumulative_activity_alone"]
    notes = (
        NonCriterionNote(
            id=neg.id,
            text=neg.text,
            source=neg.source,
            grade=neg.grade,
            applies=bool(negative_scans) and not strong,
            detail=(
                f"negative scan(s): {'; '.join(negative_scans)}"
                if negative_scans
                else "no negative scan recorded"
            ),
        ),
        NonCriterionNote(
            id=cum.id,
            text=cum.text,
            source=cum.source,
            grade=cum.grade,
            applies=cumulative >= rules.cumulative_gbq,
            detail=(
                f"cumulative 131I activity {cumulative:g} GBq over {len(case.rai_courses)} course(s) "
                f"({'at or above' if cumulative >= rules.cumulative_gbq else 'below'} the "
                f"{rules.cumulative_gbq:g} GBq discussed by ATA 2015; not a criterion)"
            ),
        ),
    )

    frameworks = {
        "ata2025": (
            "refractory"
            if strong
            else "reduced RAI sensitivity"
            if any(m.strength == "supplemental" for m in met)
            else "no criterion met"
        ),
        "ata2015": "refractory" if any(m.framework == "ata2015" for m in met) else "no category met",
    }
    missing = list(dict.fromkeys(missing))

    prior = rules.good_practice["prior_activity_required"]
    if not case.rai_courses:
        return RefractorinessResult(
            status=RefractoryStatus.NOT_REFRACTORY,
            reason="no prior ablative/treatment 131I activity: RAI-refractoriness cannot be diagnosed",
            rule=prior,
            criteria_met=tuple(met),
            missing_data=(),
            frameworks=frameworks,
            non_criteria=notes,
            cumulative_activity_gbq=cumulative,
        )
    if strong:
        status = RefractoryStatus.REFRACTORY
        reason = "ATA 2025 strong criterion met: " + "; ".join(m.id for m in strong)
    elif met:
        status = RefractoryStatus.INDETERMINATE
        reason = (
            "only supplemental (reduced RAI sensitivity) or ATA 2015 criteria met; no ATA 2025 "
            "strong criterion"
        )
        missing.append(
            "an ATA 2025 strong criterion: a post-therapy scan without uptake while disease is visible "
            f"on structural/FDG imaging, or progression < {rules.window_months} months after a "
            "treatment 131I activity with uptake on its post-therapy scan"
        )
    elif missing:
        status = RefractoryStatus.INDETERMINATE
        reason = "no criterion met with the data given; missing data could decide it"
    else:
        status = RefractoryStatus.NOT_REFRACTORY
        reason = "no ATA 2025 strong criterion met and no data missing to judge them"
    return RefractorinessResult(
        status=status,
        reason=reason,
        rule=None,
        criteria_met=tuple(met),
        missing_data=tuple(missing) if status is RefractoryStatus.INDETERMINATE else (),
        frameworks=frameworks,
        non_criteria=notes,
        cumulative_activity_gbq=cumulative,
    )
