"""Report sections computed by the engines from a registry patient (``patient_to_dict`` shape).

Each function returns ``{"title", "lines", "table", "sources"}`` or ``None`` when the patient has too
little data; :mod:`redif.reports.pdf` shows a missing engine as "not available". The numbers come from
the engines (no computation here): regimens from :func:`redif.pathway.candidate_regimens`, thyroglobulin
kinetics from :func:`redif.response.thyroglobulin.doubling_time`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from redif.registry.case_mapping import case_from_registry

__all__ = ["dosimetry_section", "pathway_section", "report_case", "response_section"]


def report_case(patient: dict[str, Any]) -> dict[str, Any]:
    """The pathway case the report uses for a registry patient: the one mapping of
    :func:`redif.registry.case_mapping.case_from_registry` (the same case the web assesses)."""
    return case_from_registry(patient)


def pathway_section(patient: dict[str, Any]) -> dict[str, Any] | None:
    """Genotype groups and candidate redifferentiation regimens with their sources."""
    from redif.pathway import candidate_regimens, parse_case

    genotypes = patient.get("records", {}).get("genotypes", [])
    if not genotypes:
        return None
    case = parse_case(report_case(patient), source="registry records")
    matches, options = candidate_regimens(case)
    lines = [
        f"Genotype group: {m.group} ({m.alteration}; {'targetable' if m.targetable else 'not targetable'})"
        for m in matches
    ] or ["No genotype group of the regimen table matches the recorded genotype."]
    rows = [
        [
            o.regimen.drug,
            o.regimen.dose or "",
            o.regimen.duration_text or "",
            o.regimen.evidence_level,
            o.regimen.grade.value,
        ]
        for o in options
    ]
    sources = sorted({m.source for m in matches} | {o.regimen.source for o in options})
    lines.append(
        "Candidate regimens are options to discuss, not a prescription; eligibility, protocol "
        "and the go/no-go decision need the full case (redif patient assess)."
    )
    return {
        "title": "Pathway: genotype-matched regimens",
        "lines": lines,
        "table": {"columns": ["Regimen", "Dose", "Duration", "Evidence level", "Grade"], "rows": rows}
        if rows
        else None,
        "sources": sources,
    }


def response_section(patient: dict[str, Any]) -> dict[str, Any] | None:
    """Thyroglobulin doubling time from the registry's Tg values (at least two dated values)."""
    from redif.response.thyroglobulin import TgMeasurement, doubling_time

    labs = patient.get("records", {}).get("labs", [])
    series = []
    for lab in labs:
        if lab.get("analyte") == "Tg" and lab.get("sample_date") and lab.get("value") and lab["value"] > 0:
            if str(lab.get("unit", "")).replace(" ", "").lower() not in ("ng/ml", "µg/l", "ug/l"):
                continue
            series.append(
                TgMeasurement(
                    date=date.fromisoformat(str(lab["sample_date"])[:10]), tg_ng_ml=float(lab["value"])
                )
            )
    if len(series) < 2:
        return None
    series.sort(key=lambda m: m.date)
    k = doubling_time(series)
    dt_txt = (
        "not defined (flat)"
        if k.doubling_time_days is None
        else f"{k.doubling_time_days:.0f} days ({k.doubling_time_years:.2f} years)"
    )
    lines = [
        f"Thyroglobulin: {k.n} values from {k.first_date} to {k.last_date}; "
        f"change {k.percent_change_from_baseline:+.1f} %; doubling time {dt_txt}.",
        *list(k.notes),
    ]
    return {
        "title": "Response: thyroglobulin kinetics",
        "lines": lines,
        "sources": [
            "redif.response.thyroglobulin.doubling_time (OLS of ln Tg on time); "
            "see src/redif/data/thyroglobulin.yaml for the sourced constants"
        ],
    }


def dosimetry_section(patient: dict[str, Any]) -> dict[str, Any] | None:
    """Summary of the stored dosimetry results against their recorded thresholds."""
    results = patient.get("records", {}).get("dosimetry", [])
    if not results:
        return None
    lines = []
    for r in results:
        dose = r.get("absorbed_dose_gy")
        thr = r.get("threshold_gy")
        label = r.get("lesion_label") or r.get("kind")
        if dose is None:
            continue
        verdict = ""
        if thr is not None:
            verdict = f" — {'at or above' if dose >= thr else 'below'} the recorded threshold of {thr:g} Gy"
        lines.append(
            f"{r.get('kind')} {label}: {dose:g} Gy ({r.get('method') or 'method not recorded'}){verdict}"
        )
    if not lines:
        return None
    return {
        "title": "Dosimetry: stored results",
        "lines": lines,
        "sources": [
            "Dosimetry results as stored in the registry (computed with redif.dosimetry or "
            "entered by the site physicist); thresholds as recorded with each result"
        ],
    }
