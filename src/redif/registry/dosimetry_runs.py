"""Voxel dosimetry runs of a registry patient: ingest an upload, run the voxel engine, store the lesions.

One unit of work (:func:`compute_voxel_run`): every series of the upload is ingested by
:func:`redif.registry.uploads.ingest_upload` (each into a new folder of its own), the voxel pipeline runs on
the stored, de-identified files, and one :class:`~redif.registry.models.DosimetryResult` per lesion is
added, all in the caller's session. A failure anywhere leaves the transaction without a commit: the
registry removes only the folders this upload created, never the files behind an earlier, committed run.

The DICOM grouping and the pipeline (``split_series``, ``voxel_dosimetry``) are passed in as a
:class:`VoxelPipeline` (today the functions of :mod:`redif.web.engines`), so that this module depends on
no interface.
"""

from __future__ import annotations

import base64
import io
import secrets
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any, Protocol

from sqlalchemy.orm import Session

from redif import __version__
from redif.errors import InputError
from redif.io.jsonable import to_jsonable
from redif.model import DosimetryMethod
from redif.registry import storage, uploads
from redif.registry.access import Principal, get_patient
from redif.registry.models import MAX_ID, DosimetryResult

__all__ = ["METHOD", "RunLimits", "VoxelPipeline", "VoxelRunResult", "compute_voxel_run", "voxel_runs"]

#: The method of each voxel result, in words (kept in ``details``; the ``method`` column holds the model's
#: code :attr:`redif.model.DosimetryMethod.VOXEL_S_VALUE`).
METHOD = "voxel S-value convolution (Lanconelli 2012 I-131 kernels), voxel-wise fitted TIA"


class RunLimits(uploads.UploadLimits, Protocol):
    """Limits of an upload and of the dosimetry job (``WebSettings`` satisfies it)."""

    data_dir: Any
    max_dosimetry_bytes: int
    max_dosimetry_voxels: int


class VoxelRunResult(Protocol):
    """What the voxel pipeline answers: run summary, lesion rows, DVH per lesion, dose-map PNG."""

    @property
    def summary(self) -> Mapping[str, Any]:
        """The run summary."""
        ...

    @property
    def lesions(self) -> Sequence[Mapping[str, Any]]:
        """One mapping per lesion (``name``, ``mean_gy``, ``mean_gy_per_gbq``, ...)."""
        ...

    @property
    def dvh(self) -> Mapping[str, Any]:
        """Cumulative DVH per lesion name."""
        ...

    @property
    def dose_map_png(self) -> bytes:
        """The dose map (PNG)."""
        ...


class VoxelPipeline(Protocol):
    """Groups an upload into series and runs the voxel dosimetry on stored series."""

    def split_series(self, files: list[tuple[str, bytes]], limits: Any) -> list[tuple[str, str, bytes]]:
        """``(modality, series UID, zip bytes)`` of each series of the upload."""
        ...

    def voxel_dosimetry(self, pet_dirs: list[Path], seg_path: Path, activity_gbq: float, *,
                        max_bytes: int) -> VoxelRunResult:
        """Run the voxel pipeline on the stored PET time points and the SEG."""
        ...


def compute_voxel_run(session: Session, principal: Principal, patient_id: int, filename: str,
                      stream: IO[bytes], activity_gbq: float, limits: RunLimits,
                      pipeline: VoxelPipeline) -> int:
    """Ingest every series of the upload, run the voxel pipeline, store the lesion rows; return the run id.

    Raises
    ------
    NotFound
        If the patient is not in the principal's scope.
    InputError
        For an upload that cannot be used (the field is ``file``; limits name ``grid``).
    """
    patient = get_patient(session, principal, patient_id)
    data_dir = Path(limits.data_dir)
    files = uploads.read_upload(filename, stream, limits)
    series = [
        uploads.ingest_upload(session, patient, f"{filename}:{modality}", io.BytesIO(blob), limits)
        for modality, _uid, blob in pipeline.split_series(files, limits)
    ]
    pets = sorted((x for x in series if x.modality == "PT"),
                  key=lambda x: (x.injection_to_scan_h is None, x.injection_to_scan_h or 0.0))
    segs = [x for x in series if x.modality == "SEG"]
    if len(segs) != 1:
        raise InputError(f"the upload holds {len(segs)} SEG series; exactly one is needed", field="file",
                         remedy="zip the PET time points and one DICOM SEG of the lesions together")
    seg_file = storage.series_files(data_dir, segs[0])[0]
    run = pipeline.voxel_dosimetry([storage.resolve(data_dir, x.storage_dir) for x in pets], seg_file,
                                   activity_gbq, max_bytes=limits.max_dosimetry_bytes)
    run_id = secrets.randbelow(MAX_ID) + 1  # a re-upload of the same study reuses its series rows
    for i, les in enumerate(run.lesions):
        details: dict[str, Any] = {"run": run_id, "lesion": les, "dvh": run.dvh.get(str(les["name"])),
                                   "method": METHOD}
        if i == 0:
            details["summary"] = run.summary
            details["dose_map_png"] = base64.b64encode(run.dose_map_png).decode("ascii")
        session.add(DosimetryResult(
            patient_id=patient.id, kind="voxel", method=DosimetryMethod.VOXEL_S_VALUE.value,
            lesion_label=str(les["name"])[:64],
            absorbed_dose_gy=float(les["mean_gy"]),
            dose_per_activity_gy_per_gbq=float(les["mean_gy_per_gbq"]),
            series_id=pets[0].id if pets else None, software_version=__version__,
            details=to_jsonable(details)))
    return run_id


def voxel_runs(session: Session, principal: Principal, patient_id: int) -> list[dict[str, Any]]:
    """Stored voxel runs of the patient, newest first, with their lesions, dose map and DVH."""
    rows = [r for r in get_patient(session, principal, patient_id).dosimetry_results if r.kind == "voxel"]
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
