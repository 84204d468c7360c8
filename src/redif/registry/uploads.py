"""DICOM uploads: validation, zip-bomb guards, de-identification on ingest, storage.

An upload is one DICOM file or a ``.zip`` holding the files of one series. Refused with a clear
:class:`~redif.errors.DicomInputError`: files that are not DICOM, archives whose member count,
uncompressed size or compression ratio exceed the limits of :class:`redif.web.settings.WebSettings`
(checked on the declared sizes *and* while extracting, since declared sizes can lie), archives with
several series or none. Accepted files are de-identified (:func:`redif.registry.deid.deidentify_dataset`)
before anything is written to disk; only the de-identified copies are stored, each upload in a folder of
its own, ``<data_dir>/dicom/<random UUID>/`` (:mod:`redif.registry.storage`), with the SHA-256 of every
file.
"""

from __future__ import annotations

import hashlib
import io
import math
import secrets
import struct
import zipfile
from pathlib import Path
from typing import IO, Any, Protocol

import pydicom
from pydicom.errors import InvalidDicomError
from sqlalchemy import select
from sqlalchemy.orm import Session

from redif.errors import DicomInputError
from redif.registry import deid, dicom_checks, storage
from redif.registry.models import DicomSeries, MetaEntry, Patient

__all__ = ["UploadLimits", "deid_key", "ingest_upload", "read_upload", "series_to_dict"]

_CHUNK = 1 << 20


class UploadLimits(Protocol):
    """The limits an upload is checked against (``WebSettings`` satisfies it)."""

    max_upload_bytes: int
    max_unzipped_bytes: int
    max_zip_ratio: float
    max_zip_members: int
    data_dir: Path


def deid_key(session: Session) -> bytes:
    """The registry's secret de-identification key (created on first use, kept in the database)."""
    row = session.get(MetaEntry, "deid_key")
    if row is None:
        row = MetaEntry(key="deid_key", value=secrets.token_hex(32))
        session.add(row)
        session.flush()
    return bytes.fromhex(row.value)


def _read_limited(stream: IO[bytes], limit: int, what: str) -> bytes:
    buf = bytearray()
    while True:
        chunk = stream.read(_CHUNK)
        if not chunk:
            return bytes(buf)
        buf += chunk
        if len(buf) > limit:
            raise DicomInputError(
                f"{what} is larger than the limit of {limit} bytes",
                field="file",
                remedy="upload a smaller series or ask an admin to raise the limit",
            )


def read_upload(filename: str, stream: IO[bytes], limits: UploadLimits) -> list[tuple[str, bytes]]:
    """Return ``(name, bytes)`` of every file in the upload, enforcing the size and zip-bomb limits."""
    raw = _read_limited(stream, limits.max_upload_bytes, f"upload {filename!r}")
    if not raw:
        raise DicomInputError(
            "the uploaded file is empty",
            field="file",
            value=filename,
            remedy="choose a DICOM file or a .zip of a series",
        )
    if not raw.startswith(b"PK\x03\x04"):
        return [(filename, raw)]
    try:
        zf = zipfile.ZipFile(io.BytesIO(raw))
    except zipfile.BadZipFile:
        raise DicomInputError(
            "the .zip archive is damaged", field="file", value=filename, remedy="re-create the archive"
        ) from None
    infos = [i for i in zf.infolist() if not i.is_dir()]
    if len(infos) > limits.max_zip_members:
        raise DicomInputError(
            f"the archive holds {len(infos)} files, more than the limit of {limits.max_zip_members}",
            field="file",
            value=filename,
            remedy="upload one series per archive",
        )
    declared = sum(i.file_size for i in infos)
    compressed = max(1, sum(i.compress_size for i in infos))
    if declared > limits.max_unzipped_bytes or declared / compressed > limits.max_zip_ratio:
        raise DicomInputError(
            f"refused as a possible zip bomb: {declared} bytes uncompressed from {compressed} bytes "
            f"(ratio {declared / compressed:.0f}; limits {limits.max_unzipped_bytes} bytes, ratio "
            f"{limits.max_zip_ratio:.0f})",
            field="file",
            value=filename,
            remedy="upload the DICOM files uncompressed or in an ordinary archive",
        )
    out: list[tuple[str, bytes]] = []
    total = 0
    for info in infos:
        if info.filename.lower().endswith(".zip"):
            raise DicomInputError(
                "nested archives are not accepted",
                field="file",
                value=info.filename,
                remedy="put the DICOM files directly in one .zip",
            )
        if info.flag_bits & 0x1:
            raise DicomInputError(
                "encrypted archive members are not accepted", field="file", value=info.filename
            )
        budget = min(info.file_size, limits.max_unzipped_bytes - total)
        try:
            with zf.open(info) as member:
                data = member.read(budget + 1)
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError) as exc:
            raise DicomInputError(
                f"cannot read archive member ({exc})", field="file", value=info.filename
            ) from None
        if len(data) > budget:
            raise DicomInputError(
                "archive member is larger than it declares (possible zip bomb)",
                field="file",
                value=info.filename,
            )
        total += len(data)
        out.append((info.filename, data))
    if not out:
        raise DicomInputError("the archive is empty", field="file", value=filename)
    return out


def _parse(name: str, data: bytes) -> pydicom.Dataset:
    try:
        ds = pydicom.dcmread(io.BytesIO(data), force=False)
    except InvalidDicomError:
        raise DicomInputError(
            "not a DICOM file (no 'DICM' marker after the 128-byte preamble)",
            field="file",
            value=name,
            remedy="upload DICOM Part 10 files (.dcm) exported from the scanner or PACS",
        ) from None
    except Exception as exc:
        raise DicomInputError(
            f"malformed DICOM file ({type(exc).__name__}: {str(exc)[:120]})",
            field="file",
            value=name,
            remedy="re-export the series from the scanner or PACS",
        ) from None
    dicom_checks.check_instance(name, data, ds)  # truncation, required attributes, modality, pixel length
    return ds


def _radionuclide(ds: Any) -> str | None:
    seq = ds.get("RadiopharmaceuticalInformationSequence")
    if not seq:
        return None
    info = seq[0]
    code = info.get("RadionuclideCodeSequence")
    if code:
        meaning = code[0].get("CodeMeaning")
        if meaning:
            return str(meaning)[:64]
    rp = info.get("Radiopharmaceutical")
    return str(rp)[:64] if rp else None


_MAX_WEIGHT_KG = 500.0


def _malformed(name: str, exc: Exception) -> DicomInputError:
    return DicomInputError(
        f"malformed attribute value in {name!r} ({type(exc).__name__}: {str(exc)[:120]})",
        field="file",
        value=name,
        remedy="re-export the series from the scanner or PACS",
    )


def _series_uid(name: str, ds: pydicom.Dataset) -> str:
    """The file's SeriesInstanceUID; an empty or missing one is refused (it would name no series)."""
    uid = str(ds.get("SeriesInstanceUID") or "").strip()
    if not uid:
        raise DicomInputError(
            f"{name!r} has an empty SeriesInstanceUID",
            field="file",
            value=name,
            remedy="export the series with its SeriesInstanceUID (0020,000E) from the scanner or PACS",
        )
    return uid


def _weight_kg(name: str, ds: pydicom.Dataset) -> float | None:
    """PatientWeight (0010,1030) in kg, ``None`` when absent; a value that is not a weight is refused."""
    raw = ds.get_item((0x0010, 0x1030))  # as stored, not yet converted to DS
    if raw is None or raw.value in (None, b"", ""):
        return None
    try:
        value = float(ds.PatientWeight)
    except (ValueError, TypeError, OverflowError):
        text = raw.value.decode("latin-1") if isinstance(raw.value, bytes) else str(raw.value)
        raise DicomInputError(
            f"{name!r}: PatientWeight {text.strip()[:32]!r} is not a number",
            field="PatientWeight",
            value=name,
            remedy="correct PatientWeight (kg) in the DICOM header or re-export the series",
        ) from None
    if not math.isfinite(value) or not 0 < value <= _MAX_WEIGHT_KG:
        raise DicomInputError(
            f"{name!r}: PatientWeight {value:g} kg is outside (0, {_MAX_WEIGHT_KG:g}] kg",
            field="PatientWeight",
            value=name,
            remedy="correct PatientWeight (kg) in the DICOM header or re-export the series",
        )
    return value


def _instance_number(name: str, ds: pydicom.Dataset) -> int:
    try:
        return int(ds.get("InstanceNumber") or 0)
    except (ValueError, TypeError, OverflowError) as exc:
        raise _malformed(name, exc) from None


def series_to_dict(series: DicomSeries) -> dict[str, Any]:
    """Public view of a stored series (no server paths: ``storage_dir`` and the file list stay inside)."""
    out: dict[str, Any] = {}
    for col in DicomSeries.__table__.columns:
        if col.key in _PRIVATE_COLUMNS:
            continue
        value = getattr(series, col.key)
        out[col.key] = value.isoformat() if hasattr(value, "isoformat") else value
    return out


_PRIVATE_COLUMNS = frozenset({"storage_dir", "instances"})


def _existing(session: Session, patient: Patient, digest: str, n: int, data_dir: Path) -> DicomSeries | None:
    """An earlier upload of exactly the same de-identified files for this patient, with intact files."""
    rows = session.execute(
        select(DicomSeries).where(
            DicomSeries.patient_id == patient.id, DicomSeries.sha256 == digest, DicomSeries.n_instances == n
        )
    ).scalars()
    return next((r for r in rows if not storage.verify_series(data_dir, r)), None)


def ingest_upload(
    session: Session, patient: Patient, filename: str, stream: IO[bytes], limits: UploadLimits
) -> DicomSeries:
    """Validate, de-identify and store one uploaded series for ``patient``; return its record.

    Every accepted upload is written once into a new folder of its own (:func:`redif.registry.storage.
    new_upload_dir`) with the SHA-256 of each file; nothing another upload stored is ever touched. A
    failure (here or later in the caller's transaction) removes only this upload's folder. Uploading
    exactly the same series again (the same de-identified bytes) is idempotent: the existing record is
    returned and nothing new is stored.

    Raises
    ------
    DicomInputError
        For files that are not DICOM, an empty SeriesInstanceUID, several series, or malformed attribute
        values (the message names the file).
    """
    files = read_upload(filename, stream, limits)
    named = [(n, _parse(n, d)) for n, d in files]
    series_uids = {_series_uid(n, ds) for n, ds in named}
    if len(series_uids) != 1:
        raise DicomInputError(
            f"the upload holds {len(series_uids)} series; upload one series at a time",
            field="file",
            value=filename,
        )
    weights = [_weight_kg(n, ds) for n, ds in named]
    numbered = sorted(((_instance_number(n, ds), i) for i, (n, ds) in enumerate(named)))
    key = deid_key(session)
    shift = deid.date_shift_days(key, f"patient:{patient.id}")
    first_name, first = named[0]
    try:
        interval_before = deid.injection_to_scan_h(first)
        for name, ds in named:
            try:
                deid.deidentify_dataset(ds, pseudonym=patient.pseudonym, shift_days=shift, uid_key=key)
            except (ValueError, TypeError, OverflowError, KeyError, AttributeError) as exc:
                raise _malformed(name, exc) from None
        interval_after = deid.injection_to_scan_h(first)
        sd = str(first.get("StudyDate") or "")
        study_date = deid._d(f"{sd[:4]}-{sd[4:6]}-{sd[6:8]}") if len(sd) == 8 else None
        modality = str(first.get("Modality") or "")[:16] or None
        radionuclide = _radionuclide(first)
    except (ValueError, TypeError, OverflowError, KeyError, AttributeError) as exc:
        raise _malformed(first_name, exc) from None
    if (
        interval_before is not None
        and interval_after is not None
        and abs(interval_before - interval_after) > 1e-9
    ):
        raise DicomInputError(
            "de-identification changed the injection-to-scan interval (bug)", field="file", value=filename
        )
    blobs: list[bytes] = []
    for _, i in numbered:
        name, ds = named[i]
        buf = io.BytesIO()
        try:
            ds.save_as(buf, enforce_file_format=False)
        except (ValueError, TypeError, OverflowError, struct.error) as exc:
            raise _malformed(name, exc) from None
        blobs.append(buf.getvalue())
    whole = hashlib.sha256()
    for data in blobs:
        whole.update(data)
    digest = whole.hexdigest()
    data_dir = Path(limits.data_dir)
    earlier = _existing(session, patient, digest, len(blobs), data_dir)
    if earlier is not None:
        return earlier
    target, rel = storage.new_upload_dir(session, data_dir)
    try:
        instances = []
        for i, data in enumerate(blobs):
            fname = f"{i:05d}.dcm"
            (target / fname).write_bytes(data)
            instances.append({"file": fname, "sha256": hashlib.sha256(data).hexdigest()})
        series = DicomSeries(
            patient_id=patient.id,
            modality=modality,
            series_instance_uid=str(first.SeriesInstanceUID),
            study_date=study_date,
            radionuclide=radionuclide,
            injection_to_scan_h=interval_after,
            patient_weight_kg=weights[0],
            n_instances=len(blobs),
            storage_dir=rel,
            sha256=digest,
            instances=instances,
            deid_profile=deid.METHOD_TEXT[:200],
        )
        session.add(series)
        session.flush()
    except BaseException:
        storage.discard_upload_dir(session, target)
        raise
    return series
