"""The pathway's section of the registry PDF report (``redif.reports.pdf`` asks each engine for one).

From a registry patient (``redif.registry.patients.patient_to_dict`` shape) it reports what the registry
data can support: the genotype group of each recorded alteration, the candidate redifferentiation regimens
with their evidence level, source and grade, and the ATA 2025 Rec 74A context. The full assessment (per
lesion uptake, refractoriness criteria, protocol, go / no-go) needs a case file: ``redif patient assess``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from redif.errors import InputError
from redif.model import Gene
from redif.pathway.assess import assess_case
from redif.pathway.case import AlterationKind, Case, CaseValidationError, GenomicAlteration, parse_case
from redif.pathway.eligibility import eligibility_rules
from redif.pathway.regimens import classify_alterations, genotype_conflicts, regimens_for
from redif.pathway.safety import assess_safety

__all__ = ["registry_report_section", "safety_lines"]


def _alterations(records: list[Mapping[str, Any]]) -> list[GenomicAlteration]:
    out = []
    for r in records:
        if not r.get("gene"):
            continue
        try:
            out.append(
                GenomicAlteration(
                    gene=Gene.parse(str(r["gene"])),
                    kind=AlterationKind.FUSION if r.get("fusion_partner") else AlterationKind.MUTATION,
                    variant=r.get("variant") or None,
                    fusion_partner=r.get("fusion_partner") or None,
                    assay=r.get("assay") or None,
                )
            )
        except (ValidationError, InputError):  # a value the case schema refuses: left out, not guessed
            continue
    return out


def _course_drugs(records: Mapping[str, Any]) -> list[str]:
    courses = list(records.get("courses") or [])
    if not courses:
        return []
    c = max(courses, key=lambda x: (x.get("course_number") or 0, x.get("id") or 0))
    return [d.strip() for d in re.split(r"[+,/;]| and ", str(c.get("drugs") or "")) if d.strip()]


def safety_lines(patient: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """Safety findings for the PDF: ``(lines, sources)``. From the stored case document when the patient
    dict carries one (``case_document``, the web adds it), else the drug-label checks of the latest
    registry course (the registry holds no pregnancy, LVEF, medications, contrast or diet)."""
    doc = patient.get("case_document")
    findings: tuple[Any, ...]
    if isinstance(doc, Mapping):
        try:
            findings = assess_case(parse_case(dict(doc), source="stored case document")).safety
        except CaseValidationError as exc:
            return [f"Safety: not available (stored case document: {exc.problems[0]})."], []
        basis = "stored case document"
    else:
        drugs = _course_drugs(patient.get("records") or {})
        empty = Case.model_validate({"case_id": "registry", "histology": "other"})
        findings = assess_safety(empty, drugs=drugs)
        basis = (
            "registry course drugs only; pregnancy, LVEF, QTc, medications, contrast and the low-iodine "
            "diet need a case document with a safety block"
        )
    lines = [f"Safety ({basis}): {len(findings)} finding(s)."]
    lines += [f"Safety {f.severity.value}: {f.text} ({f.source}; grade {f.grade.value})" for f in findings]
    return lines, sorted({f.source for f in findings})


def registry_report_section(patient: Mapping[str, Any]) -> dict[str, Any] | None:
    """Section ``{"title", "lines", "table", "sources"}`` for the PDF report, or ``None`` without genotype."""
    records = patient.get("records") or {}
    alterations = _alterations(list(records.get("genotypes") or []))
    if not alterations:
        return None
    matches = classify_alterations(alterations)
    regimens = regimens_for(matches)
    rec74a = eligibility_rules()["rec74a"]
    lines = []
    for m in matches:  # every recorded alteration, none dropped
        scope = (
            "covered by"
            if m.rec74a is True
            else "not covered by"
            if m.rec74a is False
            else "not stated to be covered by"
        )
        lines.append(
            f"{m.alteration}: genotype group {m.group}; evidence: {m.evidence_level}; "
            f"{scope} ATA 2025 Rec 74A"
            + (f" ({m.note})" if m.note else "")
            + f" [{m.source}; grade {m.grade.value}]"
        )
    lines.extend(genotype_conflicts(matches))
    criterion = patient.get("rai_refractory_criterion")
    lines.append(
        f"RAI-refractoriness criterion recorded: {criterion or 'none recorded'}; progression date: "
        f"{patient.get('progression_date') or 'none recorded'}."
    )
    lines.append(f"Context: {rec74a['text']} ({rec74a['source']}; grade {rec74a['grade']}).")
    if not regimens:
        lines.append("No candidate regimen: no targetable alteration (BRAF V600E, RAS, RET or NTRK fusion).")
    lines.append(
        "No dated schedule in this report: a protocol is shown only for a candidate without "
        "contraindication (redif.pathway.assess.plan_allowed), which needs the full case."
    )
    lines.append(
        "Full assessment (per-lesion uptake, refractoriness criteria, protocol, go / no-go): "
        "redif patient assess CASE.yaml."
    )
    safety, safety_sources = safety_lines(patient)
    lines += safety
    sources = sorted(
        {r.source for r in regimens} | {m.source for m in matches} | {rec74a["source"]} | set(safety_sources)
    )
    return {
        "title": "Pathway: genotype and candidate regimens",
        "lines": lines,
        "table": {
            "columns": ["Genotype", "Drug", "Dose", "Duration", "Evidence", "Source", "Grade"],
            "rows": [
                [
                    r.genotype_group,
                    r.drug,
                    r.dose or "not stated in the sources read",
                    r.duration_text or "—",
                    r.evidence_level,
                    r.source,
                    r.grade.value,
                ]
                for r in regimens
            ],
        }
        if regimens
        else None,
        "sources": sources,
    }
