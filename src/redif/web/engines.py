"""Glue between the registry and the engines for the patient pages (no clinical rule lives here).

- :func:`case_from_registry` (the one mapping, :mod:`redif.registry.case_mapping`, re-exported) builds
  the input of :func:`redif.pathway.assess_case` from a patient's registry records.
- A patient may instead carry a full pathway *case document* (the YAML/JSON of ``redif patient
  assess``), stored de-identified in the database with the patient (:func:`save_case_document`; the
  ``case_documents`` table, deleted with the patient); it takes precedence.
- :func:`split_series` and :func:`voxel_dosimetry` take an uploaded multi-time-point PET study + SEG,
  hand each series to the registry's de-identifying ingest, run :func:`redif.dosimetry.voxel_pipeline.
  run_voxel_case` on the stored files and return the per-lesion results, DVHs and a dose map.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError
from pydicom.multival import MultiValue
from sqlalchemy.orm import Session

from redif.dosimetry.voxel_limits import plan_voxel_job
from redif.errors import DicomInputError, InputError, LimitExceeded
from redif.io.yaml_doc import MAX_CASE_BYTES, load_document
from redif.registry.case_mapping import case_from_registry
from redif.registry.dicom_checks import check_instance
from redif.registry.models import CaseDocument

__all__ = [
    "DosimetryLimits",
    "VoxelRun",
    "assessment_for",
    "case_from_registry",
    "load_case_document",
    "save_case_document",
    "split_series",
    "voxel_dosimetry",
]

#: Default largest PET grid the web app computes synchronously (voxels per time point;
#: ``WebSettings.max_dosimetry_voxels``).
MAX_VOXELS = 4_000_000
#: Default memory limit of one web dosimetry job (bytes; ``WebSettings.max_dosimetry_bytes``).
MAX_JOB_BYTES = 1024 * 1024 * 1024
#: Most series in one dosimetry upload (time points + SEG).
MAX_SERIES = 9

_CASE_ID = re.compile(r"[^A-Za-z0-9_.-]")


# --------------------------------------------------------------------------------------------------
# pathway case
# --------------------------------------------------------------------------------------------------


def load_case_document(session: Session, patient_id: int) -> dict[str, Any] | None:
    """The stored case document of a patient (a row of ``case_documents``), or ``None``."""
    row = session.get(CaseDocument, int(patient_id))
    if row is None:
        return None
    data: dict[str, Any] = json.loads(row.document)
    return data


def save_case_document(session: Session, patient_id: int, text: str, *, pseudonym: str) -> dict[str, Any]:
    """Validate a case document (YAML or JSON) with the pathway engine and store it for the patient.

    The stored ``case_id`` is the registry pseudonym (a case file never carries another identifier);
    :func:`redif.pathway.parse_case` refuses identifying keys. The document is a row of its patient in
    the database (``case_documents``, deleted with the patient in the same transaction), written in
    ``session``'s transaction.
    """
    from redif.pathway import parse_case

    data = load_document(text, field="case", max_bytes=MAX_CASE_BYTES)  # no aliases, size/depth capped
    if not isinstance(data, dict):
        raise InputError("a case document is a mapping", field="case", remedy="see examples/case_*.yaml")
    data["case_id"] = _CASE_ID.sub("-", pseudonym)[:64] or "case"
    case = parse_case(data, source="case")
    doc: dict[str, Any] = json.loads(case.model_dump_json(exclude_none=True))
    row = session.get(CaseDocument, int(patient_id))
    if row is None:
        session.add(CaseDocument(patient_id=int(patient_id), document=json.dumps(doc, indent=1)))
    else:
        row.document = json.dumps(doc, indent=1)
    session.flush()
    return doc


def assessment_for(patient: dict[str, Any], session: Session) -> tuple[Any, Any, str]:
    """``(Assessment, Case, basis)`` for a patient: from the stored case document when there is one,
    else from the registry records (basis says which)."""
    from redif.pathway import assess_case, parse_case

    doc = load_case_document(session, int(patient["id"]))
    if doc is not None:
        case, basis = parse_case(doc, source="stored case document"), "stored case document"
    else:
        case = parse_case(case_from_registry(patient), source="registry records")
        basis = "registry records (lesion-level scans, uptake and response need a case document)"
    return assess_case(case), case, basis


# --------------------------------------------------------------------------------------------------
# voxel dosimetry from an upload
# --------------------------------------------------------------------------------------------------


class DosimetryLimits(Protocol):
    """The limits a dosimetry upload is checked against (``WebSettings`` satisfies it)."""

    max_dosimetry_bytes: int
    max_dosimetry_voxels: int


@dataclass(frozen=True)
class _DefaultLimits:
    """``WebSettings``' defaults (for callers without settings)."""

    max_dosimetry_bytes: int = MAX_JOB_BYTES
    max_dosimetry_voxels: int = MAX_VOXELS


_WEB_REMEDY = "run `redif dose voxel` on a workstation for large grids, or crop the images to the lesions"


def _numbers(ds: Any, keyword: str, name: str) -> list[float]:
    try:
        raw = ds.get(keyword)
        if raw is None or raw == "":
            return []
        values = list(raw) if isinstance(raw, MultiValue | list | tuple) else [raw]
        return [float(v) for v in values]
    except (TypeError, ValueError, OverflowError):
        raise DicomInputError(f"{keyword} is not numeric", field=keyword, value=str(ds.get(keyword))[:80],
                              remedy=f"{name}: re-export the series from the scanner or PACS") from None


def _pet_geometry(headers: list[tuple[str, Any]]) -> tuple[tuple[int, int, int], tuple[float, float, float]]:
    """``(shape, spacing_mm)`` of one PET series from its headers (no pixel data read)."""
    name, first = headers[0]
    rows, cols = int(first.get("Rows") or 0), int(first.get("Columns") or 0)
    frames = int(first.get("NumberOfFrames") or 1)
    n = frames if len(headers) == 1 else len(headers)
    ps = _numbers(first, "PixelSpacing", name)
    if len(ps) != 2:
        raise DicomInputError("PET slice without a PixelSpacing of two values", field="PixelSpacing",
                              value=ps, remedy=f"{name}: re-export the series from the scanner or PACS")
    step = None
    iop = _numbers(first, "ImageOrientationPatient", name)
    if len(headers) > 1 and len(iop) == 6:
        normal = np.cross(np.asarray(iop[:3]), np.asarray(iop[3:]))
        pos = [_numbers(ds, "ImagePositionPatient", nm) for nm, ds in headers]
        if all(len(x) == 3 for x in pos):
            d = np.sort(np.asarray(pos, dtype=np.float64) @ normal)
            step = float(np.median(np.diff(d)))
    if step is None:
        thick = _numbers(first, "SpacingBetweenSlices", name) or _numbers(first, "SliceThickness", name)
        step = thick[0] if thick else float("nan")
    return (n, rows, cols), (step, ps[0], ps[1])


def split_series(files: list[tuple[str, bytes]], limits: DosimetryLimits | None = None
                 ) -> list[tuple[str, str, bytes]]:
    """Group the DICOM files of an upload by series: ``(modality, series UID, zip bytes)`` each, PET
    first, SEG last.

    Refuses, before anything is stored or allocated: non-DICOM members, too many series, PET geometry
    outside the limits of :func:`redif.dosimetry.voxel_limits.plan_voxel_job` (voxel edges, the job's
    estimated memory against ``limits.max_dosimetry_bytes``, voxels per time point against
    ``limits.max_dosimetry_voxels``), then truncated or incomplete files
    (:func:`redif.registry.dicom_checks.check_instance`), naming the member of the upload.
    """
    lim = limits or _DefaultLimits()
    groups: dict[str, list[tuple[str, bytes]]] = defaultdict(list)
    headers: dict[str, list[tuple[str, Any]]] = defaultdict(list)
    modality: dict[str, str] = {}
    for name, data in files:
        try:
            ds = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)
            uid = str(ds.SeriesInstanceUID)
        except (InvalidDicomError, AttributeError, ValueError, OSError, EOFError) as exc:
            raise DicomInputError(f"not a DICOM file ({exc.__class__.__name__})", field="file",
                                  value=name, remedy="zip only the DICOM files of the study") from None
        groups[uid].append((name, data))
        headers[uid].append((name, ds))
        modality[uid] = str(ds.get("Modality") or "")
    if len(groups) > MAX_SERIES:
        raise InputError(f"the upload holds {len(groups)} series; at most {MAX_SERIES}", field="file",
                         remedy="upload the PET time points and one SEG")
    pets = [uid for uid in groups if modality[uid] == "PT"]
    for uid in pets:
        shape, spacing = _pet_geometry(headers[uid])
        n = int(np.prod(shape))
        if n > lim.max_dosimetry_voxels:
            raise LimitExceeded(f"PET grid of {n} voxels ({'x'.join(map(str, shape))}) per time point",
                                limit=f"{lim.max_dosimetry_voxels} voxels per time point", field="grid",
                                value="x".join(map(str, shape)), remedy=_WEB_REMEDY)
        plan_voxel_job(shape, spacing, len(pets)).check_memory(lim.max_dosimetry_bytes, remedy=_WEB_REMEDY)
    del headers
    for name, data in files:
        try:
            ds = pydicom.dcmread(io.BytesIO(data))
        except Exception as exc:  # pydicom raises many types on damaged input
            raise DicomInputError(f"malformed DICOM file ({type(exc).__name__})", field="file", value=name,
                                  remedy="re-export the series from the scanner or PACS") from None
        check_instance(name, data, ds)
    out = []
    for uid, members in groups.items():
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
            for i, (_, data) in enumerate(members):
                zf.writestr(f"{i:05d}.dcm", data)
        out.append((modality[uid], uid, buf.getvalue()))
    out.sort(key=lambda t: (t[0] == "SEG", t[0] != "PT"))
    return out


@dataclass(frozen=True)
class VoxelRun:
    """Per-lesion results of one web voxel-dosimetry run."""

    summary: dict[str, Any]
    lesions: list[dict[str, Any]]
    dvh: dict[str, tuple[list[float], list[float]]]
    dose_map_png: bytes


def voxel_dosimetry(pet_dirs: list[Path], seg_path: Path, activity_gbq: float, *,
                    max_bytes: int = MAX_JOB_BYTES) -> VoxelRun:
    """Run the voxel pipeline on stored, de-identified series (time points in any order); a job whose
    estimated memory exceeds ``max_bytes`` is refused (:class:`redif.errors.LimitExceeded`)."""
    import dataclasses

    from redif.dosimetry.dvh import cumulative_dvh
    from redif.dosimetry.voxel_pipeline import VoxelDoseOutput
    from redif.io.dicom import read_pet_series
    from redif.io.masks import read_mask
    from redif.web.figures import dose_map_png
    from redif.workflows.voxel_case import run_voxel_case

    if len(pet_dirs) < 2:
        raise InputError(f"{len(pet_dirs)} PET time point(s) uploaded; voxel dosimetry needs at least 2",
                         field="file", remedy="zip every PET time point and the SEG together")
    out = run_voxel_case(pet_dirs, seg_path, activity_gbq=activity_gbq, keep_arrays=True,
                         max_bytes=max_bytes)
    assert isinstance(out, VoxelDoseOutput)
    labels = read_mask(seg_path, read_pet_series(pet_dirs[0])).array
    # resampled to the kernel grid: no outlines, no DVH
    labels_for_map = None if labels.shape != out.dose_gy.shape else labels
    dvh: dict[str, tuple[list[float], list[float]]] = {}
    if labels_for_map is not None:
        for les in out.lesions:
            h = cumulative_dvh(out.dose_gy[labels == les.label], les.name, bins=60)
            dvh[les.name] = ([float(x) for x in h.dose_gy], [float(x) for x in h.volume_fraction])
    summary = dataclasses.asdict(out.summary)
    lesions = summary.pop("lesions")
    summary.pop("outputs", None)  # server paths never reach the page, the API or the stored run
    mask = summary.get("mask")
    if isinstance(mask, dict) and mask.get("source"):
        mask["source"] = Path(str(mask["source"])).name
    png = dose_map_png(np.asarray(out.dose_gy), labels_for_map)
    return VoxelRun(summary=summary, lesions=lesions, dvh=dvh, dose_map_png=png)


def is_partial(headers: Any, target_id: str) -> bool:
    """True for an htmx request whose target is the element ``target_id`` (htmx 1/2 send the id in
    ``HX-Target``, htmx 4 ``tag#id``)."""
    if not headers.get("hx-request"):
        return False
    target = str(headers.get("hx-target") or "")
    return target == target_id or target.endswith("#" + target_id)
