"""DICOM uploads: validation, zip-bomb guards, de-identification on ingest, storage.

An upload is one DICOM file or a ``.zip`` holding the files of one series. Refused with a clear
:class:`~redif.errors.DicomInputError`: files that are not DICOM, archives whose member count,
uncompressed size or compression ratio exceed the limits of :class:`redif.web.settings.WebSettings`
(checked on the declared sizes *and* while extracting, since declared sizes can lie), archives with
several series or none. Accepted files are de-identified (:func:`redif.registry.deid.deidentify_dataset`)
before anything is written to disk; only the de-identified copies are stored, under
``<data_dir>/dicom/<patient id>/<series uid>/``.
"""

from __future__ import annotations

import hashlib
import io
import secrets
import shutil
import zipfile
from pathlib import Path
from typing import IO, Any, Protocol

import pydicom
from pydicom.errors import InvalidDicomError
from sqlalchemy import select
from sqlalchemy.orm import Session

from redif.errors import DicomInputError
from redif.registry import deid, dicom_checks
from redif.registry.models import DicomSeries, MetaEntry, Patient

__all__ = ["UploadLimits", "deid_key", "ingest_upload", "read_upload"]

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


def ingest_upload(
    session: Session, patient: Patient, filename: str, stream: IO[bytes], limits: UploadLimits
) -> DicomSeries:
    """Validate, de-identify and store one uploaded series for ``patient``; return its record."""
    files = read_upload(filename, stream, limits)
    datasets = [_parse(n, d) for n, d in files]
    series_uids = {str(ds.SeriesInstanceUID) for ds in datasets}
    if len(series_uids) != 1:
        raise DicomInputError(
            f"the upload holds {len(series_uids)} series; upload one series at a time",
            field="file",
            value=filename,
        )
    key = deid_key(session)
    shift = deid.date_shift_days(key, f"patient:{patient.id}")
    first = datasets[0]
    interval_before = deid.injection_to_scan_h(first)
    weight = first.get("PatientWeight")
    for ds in datasets:
        deid.deidentify_dataset(ds, pseudonym=patient.pseudonym, shift_days=shift, uid_key=key)
    interval_after = deid.injection_to_scan_h(first)
    if (
        interval_before is not None
        and interval_after is not None
        and abs(interval_before - interval_after) > 1e-9
    ):
        raise DicomInputError(
            "de-identification changed the injection-to-scan interval (bug)", field="file", value=filename
        )
    new_uid = str(first.SeriesInstanceUID)
    target = Path(limits.data_dir) / "dicom" / str(patient.id) / new_uid
    target.mkdir(parents=True, exist_ok=True)
    h = hashlib.sha256()
    try:
        for i, ds in enumerate(sorted(datasets, key=lambda d: int(d.get("InstanceNumber") or 0))):
            buf = io.BytesIO()
            ds.save_as(buf, enforce_file_format=False)
            data = buf.getvalue()
            h.update(data)
            (target / f"{i:05d}.dcm").write_bytes(data)
        sd = str(first.get("StudyDate") or "")
        study_date = deid._d(f"{sd[:4]}-{sd[4:6]}-{sd[6:8]}") if len(sd) == 8 else None
        series = DicomSeries(
            patient_id=patient.id,
            modality=str(first.get("Modality") or "")[:16] or None,
            series_instance_uid=new_uid,
            study_date=study_date,
            radionuclide=_radionuclide(first),
            injection_to_scan_h=interval_after,
            patient_weight_kg=float(weight) if weight not in (None, "") else None,
            n_instances=len(datasets),
            storage_dir=str(target),
            sha256=h.hexdigest(),
            deid_profile=deid.METHOD_TEXT[:200],
        )
        session.add(series)
        session.flush()
    except Exception:
        shutil.rmtree(target, ignore_errors=True)
        raise
    _ = select
    return series
