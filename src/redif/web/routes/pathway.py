"""Patient pathway assessment: page section, case document, protocol calendar (.ics) and
``/api/v1/patients/{id}/assessment``. Site-scoped (another site's patient answers 404). Thin: registry
-> :mod:`redif.web.engines` (case) -> :func:`redif.pathway.assess_case` -> the report blocks of
``redif patient assess``."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from redif.errors import InputError
from redif.io.jsonable import to_jsonable
from redif.pathway import plan_to_ics
from redif.pathway.assess import plan_allowed
from redif.pathway.report import report_blocks
from redif.registry import audit
from redif.registry import patients as reg
from redif.registry.access import Permission, get_patient
from redif.web.deps import db_read, db_write, render
from redif.web.engines import assessment_for, save_case_document
from redif.web.security import current_principal, requires

__all__ = ["api_router", "router"]

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/v1/patients", tags=["pathway"])

PatientId = Annotated[int, Path(ge=1, le=2_147_483_647, description="Patient id")]
_MAX_CASE_CHARS = 200_000


def _patient(request: Request, patient_id: int) -> dict[str, Any]:
    p = current_principal(request)
    with db_read(request) as s:
        return reg.patient_to_dict(get_patient(s, p, patient_id))


def _assess(request: Request, patient: dict[str, Any]) -> dict[str, Any]:
    """Context for the section: the assessment's report blocks, or the reason it cannot run."""
    try:
        with db_read(request) as s:
            result, _case, basis = assessment_for(patient, s)
    except InputError as exc:
        return {"error": exc, "blocks": [], "basis": None, "has_protocol": False, "plan_changes": []}
    doc = result.to_dict()
    allowed, changes = plan_allowed(result)  # the one gate shared with the CLI and the PDF
    return {"error": None, "blocks": report_blocks(doc), "basis": basis, "doc": doc,
            "has_protocol": allowed and result.protocol is not None, "plan_changes": changes}


@router.get("/patients/{patient_id}/assessment")
@requires(Permission.PATIENT_READ)
def assessment_section(request: Request, patient_id: PatientId) -> Response:
    """Refractoriness, regimens with evidence, protocol calendar, go/no-go (htmx section or page)."""
    patient = _patient(request, patient_id)
    ctx = {"patient": patient, **_assess(request, patient),
           "can_write": current_principal(request).can(Permission.PATIENT_WRITE)}
    template = "_pathway_section.html" if request.headers.get("hx-request") else "pathway_page.html"
    return render(request, template, ctx)


@router.post("/patients/{patient_id}/case")
@requires(Permission.PATIENT_WRITE)
async def case_store(request: Request, patient_id: PatientId) -> Response:
    """Store a pathway case document (YAML/JSON of ``redif patient assess``) for the patient."""
    patient = _patient(request, patient_id)  # scope first: another site's patient is 404
    form = await request.form()
    text = str(form.get("case") or "")
    try:
        if not text.strip():
            raise InputError("empty case document", field="case", remedy="paste a case file (examples/)")
        if len(text) > _MAX_CASE_CHARS:
            raise InputError(f"longer than {_MAX_CASE_CHARS} characters", field="case")
        await run_in_threadpool(_save, request, patient, text, save_case_document)
    except InputError as exc:
        ctx = {"patient": patient, **_assess(request, patient), "can_write": True, "case_error": exc,
               "case_text": text}
        return render(request, "pathway_page.html", ctx, status_code=422)
    return RedirectResponse(f"/patients/{patient_id}?msg=case-stored#assessment", status_code=303)


def _save(request: Request, patient: dict[str, Any], text: str, fn: Any) -> dict[str, Any]:
    with db_write(request) as s:
        doc: dict[str, Any] = fn(s, patient["id"], text, pseudonym=patient["pseudonym"])
        audit.record(s, action="update", entity="case_document", entity_id=patient["id"],
                     site_id=patient["site_id"], details={"case_id": doc["case_id"]})
    return doc


@router.get("/patients/{patient_id}/protocol.ics")
@requires(Permission.PATIENT_READ)
def protocol_ics(request: Request, patient_id: PatientId) -> Response:
    """The dated protocol as an iCalendar file."""
    patient = _patient(request, patient_id)
    with db_read(request) as s:
        result, case, _ = assessment_for(patient, s)
    allowed, changes = plan_allowed(result)
    if not allowed:
        raise InputError("no protocol for this patient: no indication for a plan", field="protocol",
                         remedy="what would have to change: " + "; ".join(changes))
    if result.protocol is None:
        raise InputError("no protocol for this patient", field="protocol",
                         remedy="record a redifferentiation course or a case document with a protocol")
    body = plan_to_ics(result.protocol, case_id=case.case_id)
    return Response(body, media_type="text/calendar",
                    headers={"Content-Disposition":
                             f'attachment; filename="redif-{case.case_id}-protocol.ics"'})


@api_router.get("/{patient_id}/assessment", summary="Pathway assessment of a patient")
@requires(Permission.PATIENT_READ)
def api_assessment(request: Request, patient_id: PatientId) -> dict[str, Any]:
    """The JSON of ``redif patient assess --json`` plus ``basis`` (registry records or case document)."""
    patient = _patient(request, patient_id)
    with db_read(request) as s:
        result, _, basis = assessment_for(patient, s)
    out = result.to_dict()
    out["basis"] = basis
    return to_jsonable(out)  # type: ignore[no-any-return]


@api_router.put("/{patient_id}/case", summary="Store the pathway case document of a patient")
@requires(Permission.PATIENT_WRITE)
def api_case(request: Request, patient_id: PatientId,
             case: Annotated[dict[str, Any], Body(description="Case document (schema: redif patient schema)")]
             ) -> dict[str, Any]:
    """Validate with the pathway engine, store, and answer the stored document."""
    patient = _patient(request, patient_id)
    text = json.dumps(case)
    if len(text) > _MAX_CASE_CHARS:
        raise InputError(f"longer than {_MAX_CASE_CHARS} characters", field="case")
    return _save(request, patient, text, save_case_document)
