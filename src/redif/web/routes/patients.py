"""Patient pages: list (with live search), create, detail (records, uploads, report downloads)."""

from __future__ import annotations

import enum
import json
import typing
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from redif.errors import InputError, NotFound
from redif.model import forms
from redif.registry import patients as reg
from redif.registry import uploads
from redif.registry.access import Permission, get_patient
from redif.registry.models import PATIENT_CHILD_MODELS
from redif.registry.schemas import RECORD_SCHEMAS, PatientIn, max_length_of
from redif.reports.fhir import patient_bundle
from redif.reports.pdf import patient_report_pdf
from redif.response.timeline import LANE_LABELS, patient_timeline
from redif.response.timeline_plot import inline_svg, timeline_figure
from redif.web.deps import db_read, db_write, render
from redif.web.engines import load_case_document
from redif.web.messages import message_for
from redif.web.security import current_principal, requires

router = APIRouter(include_in_schema=False)

PatientId = Annotated[int, Path(ge=1, le=2_147_483_647)]

#: Section heading of each record kind: the label of its form in the model.
_KIND_LABELS = {frm.name: frm.label for frm in forms() if frm.repeating}


def _form_fields(schema: type[Any]) -> list[dict[str, Any]]:
    """Describe a pydantic schema's fields for the generic record form."""
    out = []
    for name, f in schema.model_fields.items():
        ann = f.annotation
        args = [a for a in typing.get_args(ann) if a is not type(None)] or [ann]
        base = args[0]
        origin = typing.get_origin(base)
        if origin is typing.Annotated:
            base = typing.get_args(base)[0]
        kind = "text"
        choices: list[dict[str, str]] = []
        if base is date:
            kind = "date"
        elif base is bool:
            kind = "bool"
        elif base in (int, float):
            kind = "number"
        elif isinstance(base, type) and issubclass(base, enum.Enum):
            kind = "select"  # a coded field: the model's codes, shown with their labels
            choices = [{"code": str(m.value), "label": str(getattr(m, "label", m.value))} for m in base]
        out.append(
            {
                "name": name,
                "kind": kind,
                "choices": choices,
                "required": f.is_required(),
                "label": name.replace("_", " "),
            }
        )
    return out


def _form_to_data(form: Any, schema: type[Any]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for spec in _form_fields(schema):
        raw = form.get(spec["name"])
        if raw is None or (isinstance(raw, str) and raw.strip() == ""):
            continue
        if spec["kind"] == "bool":
            data[spec["name"]] = raw == "yes"
        else:
            data[spec["name"]] = raw
    return data


@router.get("/patients")
@requires(Permission.PATIENT_READ)
def patient_list(request: Request, q: Annotated[str | None, Query(max_length=100)] = None) -> Response:
    """The patients the user may see, newest first; htmx requests get only the table rows."""
    p = current_principal(request)
    q = (q or "").replace("\x00", "") or None
    with db_read(request) as s:
        items = [reg.patient_to_dict(x, records=False) for x in reg.list_patients(s, p, q=q, limit=200)]
        total = reg.count_patients(s, p, q=q)
    template = "_patient_rows.html" if request.headers.get("hx-request") else "patients.html"
    return render(request, template, {"patients": items, "total": total, "q": q or ""})


@router.get("/patients/new")
@requires(Permission.PATIENT_WRITE)
def patient_new(request: Request) -> Response:
    """The new-patient form."""
    return render(request, "patient_new.html", {"values": {}, "error": None, "maxlen": _patient_maxlen(),
                                                "fields": _patient_fields()})


def _patient_fields() -> dict[str, dict[str, Any]]:
    """The new-patient form's fields (coded ones with the model's codes and labels)."""
    return {f["name"]: f for f in _form_fields(PatientIn)}


def _patient_maxlen() -> dict[str, int | None]:
    """The form's ``maxlength`` of each text field, from the one schema (itself from the columns)."""
    return {name: max_length_of(PatientIn, name) for name in PatientIn.model_fields}


@router.post("/patients")
@requires(Permission.PATIENT_WRITE)
async def patient_create(request: Request) -> Response:
    """Create a patient from the form, then show their page."""
    form = await request.form()
    data = {k: v for k, v in form.items() if k != "csrf_token" and isinstance(v, str) and v.strip() != ""}
    p = current_principal(request)
    try:
        pid = await _run(request, lambda s: reg.create_patient(s, p, data).id)
    except InputError as exc:
        return render(request, "patient_new.html", {"values": data, "error": str(exc),
                                                    "maxlen": _patient_maxlen(), "fields": _patient_fields()},
                      status_code=422)
    return RedirectResponse(f"/patients/{pid}", status_code=303)


async def _run(request: Request, fn: Any) -> Any:
    def work() -> Any:
        with db_write(request) as s:
            return fn(s)

    return await run_in_threadpool(work)


@router.get("/patients/{patient_id}")
@requires(Permission.PATIENT_READ)
def patient_detail(request: Request, patient_id: PatientId) -> Response:
    """One patient: data set records, forms to add records, uploads and downloads."""
    p = current_principal(request)
    with db_read(request) as s:
        data = reg.patient_to_dict(get_patient(s, p, patient_id))
        series = [uploads.series_to_dict(x) for x in get_patient(s, p, patient_id).dicom_series]
    forms = {kind: _form_fields(RECORD_SCHEMAS[kind]) for kind in PATIENT_CHILD_MODELS}
    can_write = p.can(Permission.PATIENT_WRITE)
    writable = {
        k
        for k in PATIENT_CHILD_MODELS
        if can_write or (k == "dosimetry" and p.can(Permission.DOSIMETRY_WRITE))
    }
    return render(
        request,
        "patient_detail.html",
        {
            "patient": data,
            "forms": forms,
            "labels": _KIND_LABELS,
            "writable": writable,
            "series": series,
            "can_export": p.can(Permission.EXPORT),
            "can_upload": p.can(Permission.DICOM_UPLOAD),
            "message": message_for(request.query_params.get("msg")),
            "timeline": _timeline(data),
        },
    )


def _timeline(patient: dict[str, Any]) -> dict[str, Any]:
    """The patient's timeline for the page: inline SVG (hover text in ``<title>``), its marks (the table
    under the chart) and the records that could not be placed. The PDF report draws the same figure."""
    tl = patient_timeline(patient)
    svg = Markup(inline_svg(timeline_figure(tl), prefix="tl-")) if tl.marks else None
    return {"svg": svg, "marks": [m.to_dict() for m in tl.marks], "problems": list(tl.problems),
            "lanes": LANE_LABELS}


@router.post("/patients/{patient_id}/records/{kind}")
@requires(Permission.AUTHENTICATED)
async def record_add(request: Request, patient_id: PatientId, kind: str) -> Response:
    """Add a record from the generic form."""
    if kind not in RECORD_SCHEMAS:
        raise NotFound(f"record kind {kind!r} not found")
    form = await request.form()
    data = _form_to_data(form, RECORD_SCHEMAS[kind])
    p = current_principal(request)
    await _run(request, lambda s: reg.add_record(s, p, patient_id, kind, data))
    return RedirectResponse(f"/patients/{patient_id}#{kind}", status_code=303)


@router.post("/patients/{patient_id}/dicom")
@requires(Permission.DICOM_UPLOAD)
async def dicom_upload(request: Request, patient_id: PatientId) -> Response:
    """Upload a DICOM file or zipped series; it is de-identified before it is stored."""
    form = await request.form()
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise InputError("no file chosen", field="file", remedy="choose a DICOM file or a .zip of a series")
    p = current_principal(request)
    settings = request.app.state.settings

    def work(s: Any) -> Any:
        patient = get_patient(s, p, patient_id)
        return uploads.ingest_upload(s, patient, upload.filename or "upload", upload.file, settings).id

    await _run(request, work)
    return RedirectResponse(f"/patients/{patient_id}?msg=series-uploaded#dicom", status_code=303)


@router.post("/patients/{patient_id}/delete")
@requires(Permission.PATIENT_DELETE)
def patient_delete(request: Request, patient_id: PatientId) -> Response:
    """Delete a patient and their records."""
    p = current_principal(request)
    with db_write(request) as s:
        reg.delete_patient(s, p, patient_id, data_dir=request.app.state.settings.data_dir)
    return RedirectResponse("/patients", status_code=303)


@router.post("/patients/{patient_id}/report.pdf")
@requires(Permission.EXPORT)
def patient_report(request: Request, patient_id: PatientId) -> Response:
    """Download the PDF patient report (audited; POST with the CSRF token, so that no cross-site link
    can write an export event under the user's name)."""
    p = current_principal(request)
    with db_write(request) as s:
        data = reg.export_patient(s, p, patient_id, action="report", fmt="pdf")
        data["case_document"] = load_case_document(s, patient_id)  # the safety findings of the PDF
    pdf = patient_report_pdf(data, generated_at=datetime.now().replace(microsecond=0))
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="redif-{data["pseudonym"]}.pdf"'},
    )


@router.post("/patients/{patient_id}/fhir.json")
@requires(Permission.EXPORT)
def patient_fhir(request: Request, patient_id: PatientId) -> Response:
    """Download the FHIR R4 bundle (audited; POST with the CSRF token)."""
    p = current_principal(request)
    with db_write(request) as s:
        data = reg.export_patient(s, p, patient_id, action="export", fmt="fhir")
    body = json.dumps(patient_bundle(data), indent=2)
    return Response(
        body,
        media_type="application/fhir+json",
        headers={"Content-Disposition": f'attachment; filename="redif-{data["pseudonym"]}.json"'},
    )


_ = PatientIn
