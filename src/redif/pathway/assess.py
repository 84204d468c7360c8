"""One traceable assessment: refractoriness -> eligibility -> regimens -> protocol -> go/no-go -> response.

:func:`assess_case` composes the pathway modules and, when installed, the evidence, dosimetry and response
engines. Every recommendation in the result carries its rule and source; the result always carries
:data:`redif.DISCLAIMER`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from redif import DISCLAIMER
from redif.model import SafetySeverity
from redif.pathway.ata_response import ata_response
from redif.pathway.case import Case
from redif.pathway.decision import Decision, decide
from redif.pathway.eligibility import Eligibility, EligibilityStatus, assess_eligibility
from redif.pathway.engines import dosimetry_section, response_section
from redif.pathway.evidence_link import regimen_evidence
from redif.pathway.protocol import ProtocolPlan, ProtocolTemplate, get_protocol, schedule
from redif.pathway.refractoriness import RefractorinessResult, assess_refractoriness
from redif.pathway.regimens import (
    GenotypeMatch,
    RegimenOption,
    candidate_regimens,
    course_regimen_note,
    template_mismatch,
)
from redif.pathway.safety import SafetyFinding, assess_safety
from redif.response.ata_response import AtaTimePoint, scope

__all__ = ["Assessment", "assess_case", "gate_plan", "plan_allowed"]


@dataclass(frozen=True)
class Assessment:
    """The whole chain for one case."""

    case_id: str
    synthetic: bool
    description: str | None
    as_of: dt.date | None
    refractory: RefractorinessResult
    eligibility: Eligibility
    genotype: tuple[GenotypeMatch, ...]
    regimens: tuple[RegimenOption, ...]
    protocol: ProtocolPlan | None
    protocol_chosen_by: str
    drug: str | None
    decision: Decision | None
    dosimetry: dict[str, Any] | None
    response: dict[str, Any] | None
    disclaimer: str = DISCLAIMER
    notes: tuple[str, ...] = field(default_factory=tuple)
    lesions: tuple[dict[str, Any], ...] = ()
    course_drugs: frozenset[str] | None = None
    ata_response: tuple[AtaTimePoint, ...] = ()
    safety: tuple[SafetyFinding, ...] = ()
    hypothetical: bool = False
    plan_changes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of ``redif patient assess --json`` (stable keys)."""
        r = self.refractory
        out: dict[str, Any] = {
            "case_id": self.case_id,
            "synthetic": self.synthetic,
            "description": self.description,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "refractory": {
                "status": r.status.value,
                "reason": r.reason,
                "rule": _rule(r.rule),
                "criteria_met": [
                    {
                        "id": m.id,
                        "framework": m.framework,
                        "strength": m.strength,
                        "text": m.text,
                        "source": m.source,
                        "grade": m.grade.value,
                        "evidence": list(m.evidence),
                    }
                    for m in r.criteria_met
                ],
                "missing_data": list(r.missing_data),
                "frameworks": dict(r.frameworks),
                "non_criteria": [
                    {
                        "id": n.id,
                        "text": n.text,
                        "applies": n.applies,
                        "detail": n.detail,
                        "source": n.source,
                        "grade": n.grade.value,
                    }
                    for n in r.non_criteria
                ],
                "cumulative_activity_gbq": r.cumulative_activity_gbq,
            },
            "eligibility": {
                "status": self.eligibility.status.value,
                "eligible": self.eligibility.eligible,
                "reason": self.eligibility.reason,
                "as_of": self.eligibility.as_of.isoformat() if self.eligibility.as_of else None,
                "genotype": [
                    {
                        "group": g.group,
                        "alteration": g.alteration,
                        "targetable": g.targetable,
                        "evidence_level": g.evidence_level,
                        "rec74a": g.rec74a,
                        "note": g.note,
                        "source": g.source,
                        "grade": g.grade.value,
                    }
                    for g in self.genotype
                ],
                "missing_data": list(self.eligibility.missing_data),
                "notes": list(self.eligibility.notes),
                "checks": [
                    {
                        "id": c.id,
                        "kind": c.kind,
                        "label": c.label,
                        "text": c.text,
                        "status": c.status.value,
                        "detail": c.detail,
                        "source": c.source,
                        "grade": c.grade.value,
                    }
                    for c in self.eligibility.checks
                ],
                "trial_context": self.eligibility.trial_context,
            },
            "regimens": [
                {
                    "id": o.regimen.id,
                    "drug": o.regimen.drug,
                    "drugs": list(o.regimen.drugs),
                    "dose": o.regimen.dose,
                    "duration_days": o.regimen.duration_days,
                    "duration_text": o.regimen.duration_text,
                    "genotype_group": o.regimen.genotype_group,
                    "matched_by": o.matched_by,
                    "matches_course": self.course_drugs is not None
                    and {d.lower() for d in o.regimen.drugs} == self.course_drugs,
                    "evidence_level": o.regimen.evidence_level,
                    "default_protocol": o.regimen.default_protocol,
                    "source": o.regimen.source,
                    "grade": o.regimen.grade.value,
                    "evidence": dict(o.evidence),
                }
                for o in self.regimens
            ],
            "protocol": [{**row, "hypothetical": self.hypothetical} for row in self.protocol.table()]
            if self.protocol
            else [],
            "plan": {
                "allowed": not self.plan_changes,
                "hypothetical": self.hypothetical,
                "what_would_have_to_change": list(self.plan_changes),
                "chosen_by": self.protocol_chosen_by,
            },
            "protocol_info": None
            if self.protocol is None
            else {
                "name": self.protocol.protocol,
                "title": self.protocol.title,
                "source": self.protocol.source,
                "grade": self.protocol.grade.value,
                "chosen_by": self.protocol_chosen_by,
                "start_date": self.protocol.start_date.isoformat() if self.protocol.start_date else None,
                "decision_rules": list(self.protocol.decision_rules),
                "decision_policy": self.protocol.decision_policy,
                "notes": list(self.protocol.notes),
            },
            "lesions": [dict(les) for les in self.lesions],
            "ata_response": [p.to_dict() for p in self.ata_response],
            "ata_response_scope": scope(),
            "safety": [f.to_dict() for f in self.safety],
            "notes": list(self.notes),
            "disclaimer": self.disclaimer,
        }
        if self.decision is not None:
            d = self.decision
            out["decision"] = {
                "go": d.go,
                "status": d.status.value,
                "rule": d.rule,
                "source": d.source,
                "grade": d.grade.value if d.grade else None,
                "reason": d.reason,
                "policy": d.policy,
                "max_tolerable_activity_gbq": d.max_tolerable_activity_gbq,
                "lesion_doses": [
                    {
                        "lesion_id": ld.lesion_id,
                        "dose_per_activity_gy_per_gbq": ld.dose_per_activity_gy_per_gbq,
                        "dose_at_mta_gy": ld.dose_at_mta_gy,
                        "activity_for_threshold_gbq": ld.activity_for_threshold_gbq,
                    }
                    for ld in d.lesion_doses
                ],
                "rules": [
                    {
                        "id": o.id,
                        "outcome": o.outcome.value,
                        "text": o.text,
                        "source": o.source,
                        "grade": o.grade.value,
                        "evidence": list(o.evidence),
                    }
                    for o in d.rules
                ],
            }
        if self.dosimetry is not None:
            out["dosimetry"] = self.dosimetry
        if self.response is not None:
            out["response"] = self.response
        return out


def _rule(ref: Any) -> dict[str, Any] | None:
    if ref is None:
        return None
    return {"id": ref.id, "text": ref.text, "source": ref.source, "grade": ref.grade.value}


def _choose_protocol(
    case: Case,
    options: tuple[RegimenOption, ...],
    protocol: str | ProtocolTemplate | None,
) -> tuple[ProtocolTemplate | None, str]:
    if isinstance(protocol, ProtocolTemplate):
        return protocol, "given (user template)"
    if protocol:
        return get_protocol(protocol), "given (--protocol)"
    rc = case.redifferentiation_course
    if rc and rc.protocol:
        return get_protocol(rc.protocol), "case file (redifferentiation_course.protocol)"
    if options:
        first = options[0].regimen
        return get_protocol(first.default_protocol), f"default of the first regimen ({first.id})"
    return None, "none: no candidate regimen"


def assess_case(
    case: Case,
    *,
    start_date: dt.date | None = None,
    protocol: str | ProtocolTemplate | None = None,
    studies: Sequence[str | Path] = (),
    hypothetical: bool = False,
) -> Assessment:
    """Run the whole pathway for one case.

    Parameters
    ----------
    case
        A validated case.
    start_date
        Day 0 of the protocol (drug start); default ``redifferentiation_course.start_date``.
    protocol
        A packaged template name, a template path, or a :class:`ProtocolTemplate`; default the case's
        ``redifferentiation_course.protocol`` or the first candidate regimen's default protocol.
    studies
        Extra study files merged into the evidence base (a living review).
    hypothetical
        Keep the dated plan even where :func:`plan_allowed` forbids one; every
        entry is then flagged ``hypothetical``. Without it such a case has an empty ``protocol``.
    """
    refractory = assess_refractoriness(case)
    extra = tuple(str(p) for p in studies)
    genotype, options = candidate_regimens(case, evidence=lambda r: regimen_evidence(r, studies=extra))
    eligibility = assess_eligibility(case, refractory, genotype)
    notes: list[str] = []
    template, chosen_by = _choose_protocol(case, options, protocol)
    rc = case.redifferentiation_course
    start = start_date or (rc.start_date if rc else None)
    plan = schedule(template, start) if template else None
    if plan is not None and start is None:
        notes.append(
            "protocol has day offsets only: give --start-date (or redifferentiation_course.start_date)"
        )
    dosimetry, dos_results = dosimetry_section(case)
    decision = decide(
        case,
        rules=template.decision_rules if template else None,
        dosimetry=dos_results,
        policy=template.decision_policy if template else None,
    )
    response = response_section(case)
    safety = assess_safety(
        case,
        drugs=[d.drug for d in rc.drugs] if rc else (list(options[0].regimen.drugs) if options else []),
        plan=plan,
    )
    if rc is not None:
        drug = " + ".join(f"{d.drug} {d.dose}" if d.dose else d.drug for d in rc.drugs) + " (case file)"
    elif options:
        r = options[0].regimen
        drug = f"{r.drug} {r.dose or '(dose not stated in the sources read)'} (regimen {r.id})"
    else:
        drug = None
    notes += list(eligibility.notes)
    course = [d.drug for d in rc.drugs] if rc else []
    regimen_note = course_regimen_note(course, options)
    if regimen_note:
        notes.append(regimen_note)
    if template is not None:
        drugs = course or (list(options[0].regimen.drugs) if options else [])
        mismatch = template_mismatch(
            template.name, drugs, what="the recorded course" if course else "the first candidate regimen"
        )
        if mismatch:
            notes.append(mismatch)
    result = Assessment(
        case_id=case.case_id,
        synthetic=case.synthetic,
        description=case.description,
        as_of=case.as_of(),
        refractory=refractory,
        eligibility=eligibility,
        genotype=genotype,
        regimens=options,
        protocol=plan,
        protocol_chosen_by=chosen_by,
        drug=drug,
        decision=decision,
        dosimetry=dosimetry,
        response=response,
        notes=tuple(notes),
        lesions=tuple(
            {
                "id": les.id,
                "site": les.site,
                "organ": les.organ,
                "size_mm": les.size_mm,
                "lymph_node": les.lymph_node,
                "detected_by": [m.value for m in les.detected_by],
                "avidity": [
                    {"date": d.isoformat() if d else None, "scan": scan, "uptake": u.value}
                    for d, scan, u in case.avidity(les.id)
                ],
            }
            for les in case.lesions
        ),
        course_drugs=None if rc is None else frozenset(d.drug.lower() for d in rc.drugs),
        ata_response=ata_response(case),
        safety=safety,
    )
    return gate_plan(result, hypothetical=hypothetical)


def plan_allowed(assessment: Assessment) -> tuple[bool, list[str]]:
    """Whether a dated protocol may be shown, and otherwise what would have to change.

    The one gate that the CLI, the web pages and the PDF report call: a plan exists only for a patient
    whose eligibility is ``candidate`` and who has no safety finding of severity ``contraindication``.
    Anything else gives an empty ``protocol`` (a hypothetical plan only on explicit request, labelled so).

    Parameters
    ----------
    assessment
        The assessment (its ``eligibility`` and, when present, its ``safety`` findings are read).

    Returns
    -------
    (allowed, changes)
        ``changes``: one line per condition that would have to change for a plan to be allowed
        (empty when allowed).

    References
    ----------
    ATA 2025 Rec 74A/74B (PMID 40844370): redifferentiation is considered only in progressive RAI-R disease
    with a targetable alteration, never in the adjuvant setting.
    """
    e = assessment.eligibility
    changes: list[str] = []
    if e.status is not EligibilityStatus.CANDIDATE:
        what = f"eligibility would have to be 'candidate' (it is '{e.status.value}': {e.reason})"
        if e.missing_data:
            what += "; data that would decide it: " + "; ".join(e.missing_data)
        changes.append(what)
    for finding in assessment.safety:
        if finding.severity is SafetySeverity.CONTRAINDICATION:
            changes.append(f"the contraindication would have to be resolved: {finding.text}")
    return not changes, changes


def gate_plan(result: Assessment, *, hypothetical: bool = False) -> Assessment:
    """Apply :func:`plan_allowed`: drop the plan (or flag it hypothetical)."""
    allowed, changes = plan_allowed(result)
    if allowed:
        return dataclasses.replace(result, hypothetical=False, plan_changes=())
    if hypothetical and result.protocol is not None:
        return dataclasses.replace(result, hypothetical=True, plan_changes=tuple(changes))
    chosen = "none: no indication for a plan (see 'what would have to change')"
    if result.protocol is not None:
        chosen += f"; the template would have been {result.protocol.protocol} ({result.protocol_chosen_by})"
    notes = tuple(n for n in result.notes if not n.startswith("protocol has day offsets only"))
    return dataclasses.replace(
        result,
        protocol=None,
        protocol_chosen_by=chosen,
        hypothetical=False,
        plan_changes=tuple(changes),
        notes=notes,
    )
