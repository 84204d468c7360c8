"""PDF patient report made with typst.

The report holds the patient summary and every registry record of the harmonised minimum data set,
then one section per engine (pathway, dosimetry, response), each made by a function of
:data:`ENGINE_SECTIONS` (``patient: dict -> dict | None``); the dict has ``title``, ``lines`` (list of
str), ``table`` (optional: ``{"columns": [...], "rows": [[...], ...]}``) and ``sources`` (list of str). An
engine with too little data says so; an engine that fails is shown as "not available" with the error,
never silently left out.

Determinism: the data travel to typst as JSON through ``sys.inputs`` (no escaping, no code injection),
system fonts are ignored (typst's embedded fonts only) and the PDF timestamp is the ``generated_at``
argument, so the same inputs and timestamp give the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typst

from redif import DISCLAIMER, __version__
from redif.pathway import registry_report_section
from redif.reports.engine_sections import ata_response_section, dosimetry_section, response_section
from redif.response.timeline import patient_timeline
from redif.response.timeline_plot import figure_svg, timeline_figure

__all__ = ["ENGINE_SECTIONS", "engine_sections", "patient_report_pdf", "report_source", "timeline_section"]

_TEMPLATE = Path(__file__).with_name("templates") / "patient_report.typ"

#: A report section: registry patient (``patient_to_dict`` shape) -> the section, or None (too little data).
SectionFn = Callable[[dict[str, Any]], dict[str, Any] | None]

#: The engine sections of the report, in order: (heading, function).
ENGINE_SECTIONS: tuple[tuple[str, SectionFn], ...] = (
    ("Pathway assessment", registry_report_section),
    ("Dosimetry", dosimetry_section),
    ("Response", response_section),
    ("ATA response to therapy", ata_response_section),
)


def engine_sections(patient: dict[str, Any]) -> list[dict[str, Any]]:
    """Ask each engine for its section; an engine that fails is marked "not available" with its error."""
    out: list[dict[str, Any]] = []
    for heading, fn in ENGINE_SECTIONS:
        section: dict[str, Any] = {"title": heading, "available": False, "lines": [], "sources": []}
        try:
            result = fn(patient)
            if result is None:
                section["lines"] = ["Not available: the engine had too little data for this patient."]
            else:
                section.update({k: v for k, v in dict(result).items() if k in ("lines", "table", "sources")})
                section["available"] = True
                section["title"] = str(result.get("title", heading))
        except Exception as exc:  # an engine failure must not break the report, and must show
            section["lines"] = [f"Not available: the engine failed ({type(exc).__name__}: {exc})."]
        section["lines"] = [str(x) for x in section.get("lines", [])]
        section["sources"] = [str(x) for x in section.get("sources", [])]
        if "table" in section and section["table"] is not None:
            t = section["table"]
            section["table"] = {
                "columns": [str(c) for c in t["columns"]],
                "rows": [["" if v is None else str(v) for v in r] for r in t["rows"]],
            }
        out.append(section)
    return out


def _cell(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


_TABLES: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    (
        "genotypes",
        "Genotype",
        (
            ("gene", "Gene"),
            ("variant", "Variant"),
            ("fusion_partner", "Fusion partner"),
            ("assay", "Assay"),
            ("sample_date", "Date"),
        ),
    ),
    (
        "rai-history",
        "Previous radioiodine",
        (
            ("treatment_date", "Date"),
            ("activity_gbq", "Activity (GBq)"),
            ("indication", "Indication"),
            ("post_therapy_scan_uptake", "Uptake on post-therapy scan"),
        ),
    ),
    (
        "courses",
        "Redifferentiation courses",
        (
            ("course_number", "#"),
            ("drugs", "Drugs"),
            ("dose", "Dose"),
            ("start_date", "Start"),
            ("stop_date", "Stop"),
            ("dose_reductions", "Dose reductions"),
            ("days_before_uptake", "Days before uptake"),
            ("tsh_stimulation", "TSH stimulation"),
        ),
    ),
    (
        "uptake",
        "Uptake assessments",
        (
            ("assessment_date", "Date"),
            ("modality", "Modality"),
            ("tracer", "Tracer"),
            ("activity_mbq", "Activity (MBq)"),
            ("time_after_administration_h", "Time (h)"),
            ("restored", "Restored"),
            ("restored_definition", "Definition"),
        ),
    ),
    (
        "dosimetry",
        "Dosimetry results (stored)",
        (
            ("kind", "Kind"),
            ("method", "Method"),
            ("lesion_label", "Lesion"),
            ("absorbed_dose_gy", "Absorbed dose (Gy)"),
            ("dose_per_activity_gy_per_gbq", "Gy/GBq"),
            ("threshold_gy", "Threshold (Gy)"),
        ),
    ),
    (
        "administrations",
        "131I administrations",
        (
            ("administration_date", "Date"),
            ("activity_gbq", "Activity (GBq)"),
            ("basis", "Basis"),
            ("post_therapy_scan", "Post-therapy scan"),
        ),
    ),
    (
        "responses",
        "Response assessments (stored)",
        (
            ("assessment_date", "Date"),
            ("criteria", "Criteria"),
            ("overall_response", "Overall response"),
            ("sum_of_diameters_mm", "Sum of diameters (mm)"),
            ("fdg_pet", "FDG-PET"),
        ),
    ),
    (
        "labs",
        "Laboratory",
        (("sample_date", "Date"), ("analyte", "Analyte"), ("value", "Value"), ("unit", "Unit")),
    ),
    (
        "adverse-events",
        "Adverse events",
        (
            ("onset_date", "Onset"),
            ("term", "Term"),
            ("ctcae_grade", "CTCAE grade"),
            ("attribution", "Attribution"),
        ),
    ),
)


def timeline_section(patient: dict[str, Any]) -> dict[str, Any]:
    """The report's timeline: the SVG of the figure the patient page shows
    (:func:`redif.response.timeline.patient_timeline`, drawn by
    :func:`redif.response.timeline_plot.timeline_figure`), the number of marks and what was not drawn."""
    tl = patient_timeline(patient)
    svg = figure_svg(timeline_figure(tl), prefix="tl-").decode("utf-8") if tl.marks else None
    return {"svg": svg, "n_marks": len(tl.marks), "problems": list(tl.problems)}


def _payload(patient: dict[str, Any], generated_at: datetime) -> dict[str, Any]:
    recs = patient.get("records", {})
    tables = []
    for kind, title, cols in _TABLES:
        rows = recs.get(kind, [])
        tables.append(
            {
                "title": title,
                "columns": [c[1] for c in cols],
                "rows": [[_cell(r.get(c[0])) for c in cols] for r in rows],
            }
        )
    summary = [
        ["Pseudonym", _cell(patient.get("pseudonym"))],
        ["Site", _cell(patient.get("site"))],
        ["Sex", _cell(patient.get("sex"))],
        ["Birth year", _cell(patient.get("birth_year"))],
        ["Histology", _cell(patient.get("histology"))],
        ["RAI-refractoriness criterion", _cell(patient.get("rai_refractory_criterion"))],
        ["Diagnosis date", _cell(patient.get("diagnosis_date"))],
        ["Progression date", _cell(patient.get("progression_date"))],
        ["Last follow-up", _cell(patient.get("last_follow_up_date"))],
    ]
    sections = engine_sections(patient)
    sources = [
        "Registry records entered by the patient's site (harmonised minimum data set after the ITOG "
        "statement, Leboulleux S et al., Lancet Diabetes Endocrinol 2025;13:516-527, PMID 40318680; "
        "redif documentation: docs/methods/minimum-data-set.md)."
    ]
    for s in sections:
        sources.extend(s["sources"])
    sources.append("Timeline colours: Okabe M, Ito K. Color Universal Design, 2002/2008; Wong B. Points of "
                   "view: Color blindness. Nat Methods 2011;8:441 (colour-blind-safe palette).")
    return {
        "title": "redif patient report",
        "pseudonym": str(patient.get("pseudonym")),
        "demo": bool(patient.get("is_demo")),
        "generated": generated_at.strftime("%Y-%m-%d %H:%M"),
        "version": __version__,
        "disclaimer": DISCLAIMER,
        "summary": summary,
        "tables": tables,
        "sections": sections,
        "timeline": timeline_section(patient),
        "sources": sources,
    }


def report_source() -> str:
    """The typst template (for inspection)."""
    return _TEMPLATE.read_text(encoding="utf-8")


def patient_report_pdf(patient: dict[str, Any], *, generated_at: datetime) -> bytes:
    """Render the PDF report of one patient (``patient_to_dict`` shape).

    Parameters
    ----------
    generated_at
        The report's timestamp (naive = UTC); the same inputs and timestamp give identical bytes.
    """
    payload = _payload(patient, generated_at)
    ts = generated_at if generated_at.tzinfo else generated_at.replace(tzinfo=UTC)
    data = typst.compile(
        str(_TEMPLATE),
        root=str(_TEMPLATE.parent),
        ignore_system_fonts=True,
        sys_inputs={"data": json.dumps(payload, sort_keys=True, ensure_ascii=False)},
        timestamp=int(ts.timestamp()),
        format="pdf",
    )
    assert isinstance(data, bytes)
    return data
