"""The pathway's section of the registry PDF report (``redif.reports.pdf`` asks each engine for one).

From a registry patient (``redif.registry.patients.patient_to_dict`` shape) it reports what the registry
data can support: the genotype group of each recorded alteration, the candidate redifferentiation regimens
with their evidence level, source and grade, and the ATA 2025 Rec 74A context. The full assessment (per
lesion uptake, refractoriness criteria, protocol, go / no-go) needs a case file: ``redif patient assess``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from redif.pathway.case import AlterationKind, GenomicAlteration
from redif.pathway.eligibility import eligibility_rules
from redif.pathway.regimens import classify_alterations, genotype_conflicts, regimens_for

__all__ = ["registry_report_section"]


def _alterations(records: list[Mapping[str, Any]]) -> list[GenomicAlteration]:
    out = []
    for r in records:
        if not r.get("gene"):
            continue
        try:
            out.append(
                GenomicAlteration(
                    gene=str(r["gene"]),
                    kind=AlterationKind.FUSION if r.get("fusion_partner") else AlterationKind.MUTATION,
                    variant=r.get("variant") or None,
                    fusion_partner=r.get("fusion_partner") or None,
                    assay=r.get("assay") or None,
                )
            )
        except ValidationError:
            continue
    return out


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
        "contraindication (redif.pathway.decision.plan_allowed), which needs the full case."
    )
    lines.append(
        "Full assessment (per-lesion uptake, refractoriness criteria, protocol, go / no-go): "
        "redif patient assess CASE.yaml."
    )
    sources = sorted({r.source for r in regimens} | {m.source for m in matches} | {rec74a["source"]})
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
