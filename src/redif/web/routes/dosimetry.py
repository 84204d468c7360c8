"""Patient voxel dosimetry: upload a multi-time-point PET study + SEG (one .zip), de-identify and store
each series (registry ingest), run :func:`redif.dosimetry.voxel_pipeline.run_voxel_case` on the stored
files (synchronously; the grid is bounded by :data:`redif.web.engines.MAX_VOXELS`), store one
dosimetry result per lesion, and show the table, a dose map and the DVHs. Also
``/api/v1/patients/{id}/dosimetry`` (GET results, POST an upload). Site-scoped (404 across sites)."""

from __future__ import annotations

import base64
import io
import secrets
from collections import defaultdict
from pathlib import Path as FsPath
from typing import IO, Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response

from redif import DISCLAIMER, __version__
from redif.cli._common import to_jsonable
from redif.errors import InputError
from redif.model import DosimetryMethod
from redif.registry import storage, uploads
from redif.registry.access import Permission, get_patient
from redif.registry.models import MAX_ID, DosimetryResult
from redif.web.deps import db_read, db_write, render
from redif.web.security import current_principal, requires

__all__ = ["api_router", "router"]

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/v1/patients", tags=["dosimetry"])

PatientId = Annotated[int, Path(ge=1, le=2_147_483_647, description="Patient id")]
METHOD = "voxel S-value convolution (Lanconelli 2012 I-131 kernels), voxel-wise fitted TIA"


def _activity(raw: Any) -> float:
    from redif.web.routes.calculators import number

    value = number({"activity_gbq": raw}, "activity_gbq", positive=True)
    assert value is not None
    if value > 50:
        raise InputError("larger than 50 GBq", field="activity_gbq", value=raw,
                         remedy="give the planned 131I activity in GBq, e.g. 5.5")
    return value


def _compute(request: Request, patient_id: int, filename: str, stream: IO[bytes], activity_gbq: float
             ) -> int:
    """Ingest every series of the upload, run the pipeline, store the lesion rows; return the run id.

    Everything happens in one transaction. Each series is stored by the registry ingest in a new folder
    of its own, so a failure here removes only the folders this upload created (when the transaction
    ends without a commit) and never touches the files behind an earlier, committed run.
    """
    from redif.web.engines import split_series, voxel_dosimetry

    p = current_principal(request)
    settings = request.app.state.settings
    data_dir = FsPath(settings.data_dir)
    with db_write(request) as s:
        patient = get_patient(s, p, patient_id)
        files = uploads.read_upload(filename, stream, settings)
        series = []
        for modality, _uid, blob in split_series(files, settings):
            rec = uploads.ingest_upload(s, patient, f"{filename}:{modality}", io.BytesIO(blob), settings)
            series.append(rec)
        pets = sorted((x for x in series if x.modality == "PT"),
                      key=lambda x: (x.injection_to_scan_h is None, x.injection_to_scan_h or 0.0))
        segs = [x for x in series if x.modality == "SEG"]
        if len(segs) != 1:
            raise InputError(f"the upload holds {len(segs)} SEG series; exactly one is needed", field="file",
                             remedy="zip the PET time points and one DICOM SEG of the lesions together")
        seg_file = storage.series_files(data_dir, segs[0])[0]
        run = voxel_dosimetry([storage.resolve(data_dir, x.storage_dir) for x in pets], seg_file,
                              activity_gbq, max_bytes=settings.max_dosimetry_bytes)
        run_id = secrets.randbelow(MAX_ID) + 1  # a re-upload of the same study reuses its series rows
        for i, les in enumerate(run.lesions):
            details: dict[str, Any] = {"run": run_id, "lesion": les, "dvh": run.dvh.get(str(les["name"])),
                                        "method": METHOD}
            if i == 0:
                details["summary"] = run.summary
                details["dose_map_png"] = base64.b64encode(run.dose_map_png).decode("ascii")
            s.add(DosimetryResult(
                patient_id=patient.id, kind="voxel", method=DosimetryMethod.VOXEL_S_VALUE.value,
                lesion_label=str(les["name"])[:64],
                absorbed_dose_gy=float(les["mean_gy"]),  # type: ignore[arg-type]
                dose_per_activity_gy_per_gbq=float(les["mean_gy_per_gbq"]),  # type: ignore[arg-type]
                series_id=pets[0].id if pets else None, software_version=__version__,
                details=to_jsonable(details)))
    return run_id


def _runs(request: Request, patient_id: int) -> list[dict[str, Any]]:
    """Stored voxel runs of the patient, newest first, with their lesions, dose map and DVH."""
    p = current_principal(request)
    with db_read(request) as s:
        rows = [r for r in get_patient(s, p, patient_id).dosimetry_results if r.kind == "voxel"]
        by_run: dict[int, list[DosimetryResult]] = defaultdict(list)
        for r in rows:
            by_run[int((r.details or {}).get("run", 0))].append(r)
        out = []
        for run_id in sorted(by_run, key=lambda k: (max(r.computed_at for r in by_run[k]), k), reverse=True):
            rs = by_run[run_id]
            head = next((r.details for r in rs if r.details and "summary" in r.details), {}) or {}
            out.append({
                "run": run_id, "computed_at": rs[0].computed_at.isoformat(timespec="seconds"),
                "software_version": rs[0].software_version,
                "method": (rs[0].details or {}).get("method") or rs[0].method,
                "summary": head.get("summary", {}),
                "dose_map_png": head.get("dose_map_png"),
                "lesions": [{"id": r.id, **(r.details or {}).get("lesion", {})} for r in rs],
                "dvh": {r.lesion_label: (r.details or {}).get("dvh") for r in rs
                        if (r.details or {}).get("dvh")},
            })
    return out


def _figures(runs: list[dict[str, Any]]) -> None:
    from redif.web.figures import data_uri, dvh_svg

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
    from starlette.concurrency import run_in_threadpool

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
    from starlette.concurrency import run_in_threadpool

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
