"""REST API under ``/api/v1`` (OpenAPI at ``/openapi.json``).

Authentication: ``Authorization: Bearer <token>`` (``redif admin create-token``), or the browser session
cookie plus the ``X-CSRF-Token`` header (or a ``csrf_token`` form field) for state-changing calls.
Exports (PDF, FHIR, CSV) write an audit event and are therefore POST requests. Errors are JSON
(``InputError.to_dict()`` shape) with 4xx status codes.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, File, Path, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select

from redif.registry import audit, deid, uploads
from redif.registry import patients as reg
from redif.registry.access import Permission, get_patient
from redif.registry.models import Site
from redif.registry.schemas import PatientIn, PatientPatch, record_body_schema
from redif.reports.fhir import patient_bundle
from redif.reports.pdf import patient_report_pdf
from redif.web.conditional import check_preconditions, entity_tag, validator_headers
from redif.web.deps import db_read, db_write
from redif.web.engines import load_case_document
from redif.web.security import current_principal, requires

router = APIRouter(prefix="/api/v1", tags=["registry"])

PatientId = Annotated[int, Path(ge=1, le=2_147_483_647, description="Patient id")]
RecordId = Annotated[int, Path(ge=1, le=2_147_483_647, description="Record id")]
SearchQ = Annotated[
    str | None,
    Query(max_length=100, pattern=r"^[^\x00]*$", description="Substring of pseudonym or histology"),
]


class RecordKind(enum.StrEnum):
    """Kinds of patient records (harmonised minimum data set)."""

    GENOTYPES = "genotypes"
    RAI_HISTORY = "rai-history"
    COURSES = "courses"
    UPTAKE = "uptake"
    DOSIMETRY = "dosimetry"
    ADMINISTRATIONS = "administrations"
    RESPONSES = "responses"
    LABS = "labs"
    ADVERSE_EVENTS = "adverse-events"
    NEXT_THERAPY = "next-therapy"


def _db(request: Request, write: bool = False) -> Any:
    return db_write(request) if write else db_read(request)


@router.get("/me", summary="The signed-in user")
@requires(Permission.AUTHENTICATED)
def me(request: Request) -> dict[str, Any]:
    """Username, role and site of the caller."""
    p = current_principal(request)
    return {"username": p.username, "role": p.role.value, "site_id": p.site_id, "cross_site": p.cross_site}


@router.get("/sites", summary="Sites in the caller's scope")
@requires(Permission.AUTHENTICATED)
def sites(request: Request) -> list[dict[str, Any]]:
    """Code and name of the sites the caller may see."""
    p = current_principal(request)
    with _db(request) as s:
        rows = s.execute(select(Site).order_by(Site.code)).scalars()
        return [
            {"id": x.id, "code": x.code, "name": x.name, "is_demo": x.is_demo}
            for x in rows
            if p.sees_site(x.id)
        ]


@router.get("/patients", summary="List patients")
@requires(Permission.PATIENT_READ)
def list_patients(
    request: Request,
    q: SearchQ = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    """Patients in the caller's scope (newest first) and the total matching ``q``."""
    p = current_principal(request)
    with _db(request) as s:
        items = reg.list_patients(s, p, q=q, limit=limit, offset=offset)
        return {
            "items": [reg.patient_to_dict(x, records=False) for x in items],
            "total": reg.count_patients(s, p, q=q),
        }


@router.get("/patients/count", summary="Count patients")
@requires(Permission.PATIENT_READ)
def count_patients(request: Request, q: SearchQ = None) -> dict[str, int]:
    """Number of patients in the caller's scope matching ``q``."""
    p = current_principal(request)
    with _db(request) as s:
        return {"count": reg.count_patients(s, p, q=q)}


@router.post("/patients", status_code=201, summary="Create a patient")
@requires(Permission.PATIENT_WRITE)
def create_patient(request: Request, body: PatientIn) -> dict[str, Any]:
    """Create a patient at the caller's site (cross-site roles give ``site``)."""
    p = current_principal(request)
    with _db(request, write=True) as s:
        return reg.patient_to_dict(reg.create_patient(s, p, body))


@router.get("/patients/{patient_id}", summary="Read a patient with all records")
@requires(Permission.PATIENT_READ)
def read_patient(request: Request, response: Response, patient_id: PatientId) -> dict[str, Any]:
    """One patient in scope, with every record (404 when absent or at another site). The answer carries
    an ``ETag`` and ``Last-Modified`` for conditional updates (``If-Match`` on PATCH)."""
    p = current_principal(request)
    with _db(request) as s:
        patient = get_patient(s, p, patient_id)
        data = reg.patient_to_dict(patient)
        response.headers.update(validator_headers(data, patient.updated_at))
        return data


@router.patch(
    "/patients/{patient_id}",
    summary="Update a patient",
    responses={412: {"description": "If-Match / If-Unmodified-Since names an outdated version"}},
)
@requires(Permission.PATIENT_WRITE)
def update_patient(
    request: Request, response: Response, patient_id: PatientId, body: PatientPatch
) -> dict[str, Any]:
    """Change fields of a patient in scope. With ``If-Match: <ETag of the GET>`` (or
    ``If-Unmodified-Since``) the change is refused with 412 when someone changed the patient since;
    without a precondition it is applied as before."""
    p = current_principal(request)
    with _db(request, write=True) as s:
        patient = get_patient(s, p, patient_id)
        s.refresh(patient, with_for_update=True)  # PostgreSQL: no other writer between check and change
        check_preconditions(request, entity_tag(reg.patient_to_dict(patient)), patient.updated_at)
        patient = reg.update_patient(s, p, patient_id, body)
        data = reg.patient_to_dict(patient)
        response.headers.update(validator_headers(data, patient.updated_at))
        return data


@router.delete("/patients/{patient_id}", status_code=204, summary="Delete a patient")
@requires(Permission.PATIENT_DELETE)
def delete_patient(request: Request, patient_id: PatientId) -> Response:
    """Delete a patient in scope and all their records."""
    p = current_principal(request)
    with _db(request, write=True) as s:
        reg.delete_patient(s, p, patient_id, data_dir=request.app.state.settings.data_dir)
    return Response(status_code=204)


@router.post(
    "/patients/{patient_id}/records/{kind}",
    status_code=201,
    summary="Add a record",
    openapi_extra={"requestBody": {"required": True,
                                   "content": {"application/json": {"schema": record_body_schema()}}}},
)
@requires(Permission.AUTHENTICATED)
def add_record(
    request: Request,
    patient_id: PatientId,
    kind: RecordKind,
    body: Annotated[dict[str, Any], Body(description="Fields of the record kind (see the docs)")],
) -> dict[str, Any]:
    """Add one record; write permission is checked per kind (dosimetry: ``dosimetry:write``)."""
    p = current_principal(request)
    with _db(request, write=True) as s:
        return reg.record_to_dict(reg.add_record(s, p, patient_id, kind.value, body))


@router.delete(
    "/patients/{patient_id}/records/{kind}/{record_id}", status_code=204, summary="Delete a record"
)
@requires(Permission.AUTHENTICATED)
def delete_record(request: Request, patient_id: PatientId, kind: RecordKind, record_id: RecordId) -> Response:
    """Delete one record of a patient in scope."""
    p = current_principal(request)
    with _db(request, write=True) as s:
        reg.delete_record(s, p, patient_id, kind.value, record_id)
    return Response(status_code=204)


@router.post(
    "/patients/{patient_id}/report.pdf",
    summary="PDF patient report",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
@requires(Permission.EXPORT)
def report_pdf(request: Request, patient_id: PatientId) -> Response:
    """The patient report (typst PDF); the download is audited."""
    p = current_principal(request)
    with _db(request, write=True) as s:
        data = reg.export_patient(s, p, patient_id, action="report", fmt="pdf")
        data["case_document"] = load_case_document(s, patient_id)  # the safety findings of the PDF
    pdf = patient_report_pdf(data, generated_at=datetime.now().replace(microsecond=0))
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="redif-{data["pseudonym"]}.pdf"'},
    )


@router.post("/patients/{patient_id}/fhir", summary="FHIR R4 bundle of a patient")
@requires(Permission.EXPORT)
def fhir_bundle(request: Request, patient_id: PatientId) -> JSONResponse:
    """A FHIR R4 (R4B-validated) collection Bundle; the export is audited."""
    p = current_principal(request)
    with _db(request, write=True) as s:
        data = reg.export_patient(s, p, patient_id, action="export", fmt="fhir")
    return JSONResponse(patient_bundle(data), media_type="application/fhir+json")


@router.post(
    "/export/patients.csv",
    summary="De-identified tabular export (HIPAA Safe Harbor)",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
@requires(Permission.EXPORT)
def export_csv(request: Request, q: SearchQ = None) -> Response:
    """Every patient in scope, one row each, de-identified by the Safe Harbor method."""
    p = current_principal(request)
    with _db(request, write=True) as s:
        text, _n = deid.export_safe_harbor(s, p, q=q)  # read in bulk and audited
    return Response(
        text,
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="redif-export.csv"'},
    )


@router.post("/patients/{patient_id}/dicom", status_code=201, summary="Upload a DICOM series")
@requires(Permission.DICOM_UPLOAD)
def upload_dicom(
    request: Request,
    patient_id: PatientId,
    file: Annotated[UploadFile, File(description="A DICOM file or a .zip of a series")],
) -> dict[str, Any]:
    """De-identify (PS3.15 Annex E basic profile + options) and store a series; returns its metadata."""
    p = current_principal(request)
    with _db(request, write=True) as s:
        patient = get_patient(s, p, patient_id)
        series = uploads.ingest_upload(
            s, patient, file.filename or "upload", file.file, request.app.state.settings
        )
        return uploads.series_to_dict(series)


@router.get("/audit/verify", summary="Verify the audit trail")
@requires(Permission.AUDIT_READ)
def audit_verify(request: Request) -> dict[str, Any]:
    """Recompute the hash chain and compare every row with its last audit event."""
    request.app.state.db.flush_audit()
    with request.app.state.db.engine.connect() as conn:
        report = audit.verify(conn)
    out = report.to_dict()
    out["problems"] = out["problems"][:100]
    out["problem_details"] = out["problem_details"][:100]
    out.pop("checkpoint_file")  # no server paths in API answers
    return out
