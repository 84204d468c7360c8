"""Patient voxel dosimetry: upload a multi-time-point PET study + SEG (one .zip), de-identify and store
each series, run the voxel pipeline on the stored files and store one dosimetry result per lesion — one
unit of work of the registry (:func:`redif.registry.dosimetry_runs.compute_voxel_run`; the grid is bounded
by :data:`redif.web.engines.MAX_VOXELS`) — and show the table, a dose map and the DVHs. Also
``/api/v1/patients/{id}/dosimetry`` (GET results, POST an upload). Site-scoped (404 across sites)."""

from __future__ import annotations

from typing import IO, Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from redif import DISCLAIMER
from redif.errors import InputError
from redif.io.jsonable import to_jsonable
from redif.registry.access import Permission, get_patient
from redif.registry.dosimetry_runs import compute_voxel_run, voxel_runs
from redif.web import engines as web_engines
from redif.web.deps import db_read, db_write, render
from redif.web.figures import data_uri, dvh_svg
from redif.web.routes.calculators import number
from redif.web.security import current_principal, requires

__all__ = ["api_router", "router"]

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/v1/patients", tags=["dosimetry"])

PatientId = Annotated[int, Path(ge=1, le=2_147_483_647, description="Patient id")]


def _activity(raw: Any) -> float:
    value = number({"activity_gbq": raw}, "activity_gbq", positive=True)
    assert value is not None
    if value > 50:
        raise InputError("larger than 50 GBq", field="activity_gbq", value=raw,
                         remedy="give the planned 131I activity in GBq, e.g. 5.5")
    return value


def _compute(request: Request, patient_id: int, filename: str, stream: IO[bytes], activity_gbq: float
             ) -> int:
    """One unit of work of the registry (:func:`redif.registry.dosimetry_runs.compute_voxel_run`)."""
    with db_write(request) as s:
        return compute_voxel_run(s, current_principal(request), patient_id, filename, stream, activity_gbq,
                                 request.app.state.settings, web_engines)


def _runs(request: Request, patient_id: int) -> list[dict[str, Any]]:
    with db_read(request) as s:
        return voxel_runs(s, current_principal(request), patient_id)


def _figures(runs: list[dict[str, Any]]) -> None:
    for run in runs[:3]:
        if run["dose_map_png"]:
            run["dose_map_uri"] = "data:image/png;base64," + run["dose_map_png"]
        if run["dvh"]:
            run["dvh_uri"] = data_uri(dvh_svg({k: (v[0], v[1]) for k, v in run["dvh"].items()}),
                                      "image/svg+xml")


@router.get("/patients/{patient_id}/dosimetry")
@requires(Permission.PATIENT_READ)
def dosimetry_section(request: Request, patient_id: PatientId) -> Response:
    """Voxel dosimetry results and the upload form (htmx section or page)."""
    p = current_principal(request)
    with db_read(request) as s:
        patient = get_patient(s, p, patient_id)
        pdata = {"id": patient.id, "pseudonym": patient.pseudonym}
    runs = _runs(request, patient_id)
    _figures(runs)
    ctx = {"patient": pdata, "runs": runs, "can_upload": p.can(Permission.DICOM_UPLOAD), "error": None}
    template = "_dosimetry_section.html" if request.headers.get("hx-request") else "dosimetry_page.html"
    return render(request, template, ctx)


@router.post("/patients/{patient_id}/dosimetry")
@requires(Permission.DICOM_UPLOAD)
async def dosimetry_upload(request: Request, patient_id: PatientId) -> Response:
    """Upload (one .zip: PET time points + SEG), compute, store, then show the patient page."""
    p = current_principal(request)
    with db_read(request) as s:
        patient = get_patient(s, p, patient_id)  # scope first: another site's patient is 404
        pdata = {"id": patient.id, "pseudonym": patient.pseudonym}
    form = await request.form()
    upload = form.get("file")
    try:
        activity = _activity(form.get("activity_gbq"))
        if upload is None or isinstance(upload, str):
            raise InputError("no file chosen", field="file",
                             remedy="choose a .zip of the PET time points and the SEG")
        await run_in_threadpool(_compute, request, patient_id, upload.filename or "upload.zip", upload.file,
                                activity)
    except InputError as exc:
        runs = _runs(request, patient_id)
        ctx = {"patient": pdata, "runs": runs, "can_upload": True, "error": exc,
               "values": {"activity_gbq": form.get("activity_gbq")}}
        return render(request, "dosimetry_page.html", ctx, status_code=422)
    return RedirectResponse(f"/patients/{patient_id}?msg=voxel-dosimetry-computed#voxel-dosimetry",
                            status_code=303)


@api_router.get("/{patient_id}/dosimetry", summary="Voxel dosimetry results of a patient")
@requires(Permission.PATIENT_READ)
def api_dosimetry(request: Request, patient_id: PatientId) -> dict[str, Any]:
    """Runs (newest first) with per-lesion doses (Gy, Gy/GBq, D50/D90), DVHs and the run summary."""
    runs = _runs(request, patient_id)
    for r in runs:
        r.pop("dose_map_png", None)
    return {"runs": to_jsonable(runs), "disclaimer": DISCLAIMER}


@api_router.post("/{patient_id}/dosimetry", summary="Upload a PET study + SEG and compute voxel dosimetry",
                 status_code=201)
@requires(Permission.DICOM_UPLOAD)
async def api_dosimetry_upload(request: Request, patient_id: PatientId) -> dict[str, Any]:
    """Multipart form: ``file`` (.zip of the PET time points and one SEG), ``activity_gbq`` (131I, GBq)."""
    p = current_principal(request)
    with db_read(request) as s:
        get_patient(s, p, patient_id)
    ctype = request.headers.get("content-type", "")
    if not ctype.startswith("multipart/form-data"):
        raise InputError("send multipart/form-data with file and activity_gbq", field="file")
    form = await request.form()
    activity = _activity(form.get("activity_gbq"))
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise InputError("no file", field="file", remedy="send the .zip as the 'file' part")
    run_id = await run_in_threadpool(_compute, request, patient_id, upload.filename or "upload.zip",
                                     upload.file, activity)
    runs = [r for r in _runs(request, patient_id) if r["run"] == run_id]
    for r in runs:
        r.pop("dose_map_png", None)
    return {"run": run_id, "runs": to_jsonable(runs), "disclaimer": DISCLAIMER}
