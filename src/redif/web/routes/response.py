"""Patient response charts: RECIST sum of diameters and thyroglobulin (log axis) over time, from the
registry's response assessments and laboratory values. Site-scoped (404 across sites)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from redif.registry import patients as reg
from redif.registry.access import Permission, get_patient
from redif.web.deps import db_read, render
from redif.web.figures import data_uri, series_svg
from redif.web.security import current_principal, requires

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
PatientId = Annotated[int, Path(ge=1, le=2_147_483_647, description="Patient id")]


def _series(rows: list[dict[str, Any]], date_key: str, value_key: str) -> tuple[list[str], list[float]]:
    pts = sorted((r[date_key], float(r[value_key])) for r in rows
                 if r.get(date_key) and r.get(value_key) is not None)
    return [d for d, _ in pts], [v for _, v in pts]


@router.get("/patients/{patient_id}/response")
@requires(Permission.PATIENT_READ)
def response_section(request: Request, patient_id: PatientId) -> Response:
    """Charts and tables of the response data (when there are any)."""
    p = current_principal(request)
    with db_read(request) as s:
        patient = reg.patient_to_dict(get_patient(s, p, patient_id))
    rec = patient["records"]
    sod = _series(rec.get("responses", []), "assessment_date", "sum_of_diameters_mm")
    tg_rows = [r for r in rec.get("labs", []) if str(r.get("analyte", "")).lower() == "tg" and r["value"] > 0]
    tg = _series(tg_rows, "sample_date", "value")
    charts = []
    if sod[0]:
        charts.append({"id": "sod", "title": "RECIST 1.1 sum of diameters", "unit": "mm",
                       "points": list(zip(*sod, strict=True)),
                       "uri": data_uri(series_svg(*sod, ylabel="Sum of diameters (mm)",
                                                  title="Sum of target-lesion diameters"), "image/svg+xml")})
    if tg[0]:
        unit = tg_rows[0].get("unit") or "ng/mL"
        charts.append({"id": "tg", "title": "Thyroglobulin", "unit": unit,
                       "points": list(zip(*tg, strict=True)),
                       "uri": data_uri(series_svg(*tg, ylabel=f"Tg ({unit}, log scale)",
                                                  title="Thyroglobulin", log=True), "image/svg+xml")})
    ctx = {"patient": patient, "charts": charts}
    template = "_response_section.html" if request.headers.get("hx-request") else "response_page.html"
    return render(request, template, ctx)
