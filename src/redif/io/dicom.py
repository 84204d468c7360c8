"""Read quantitative PET (and SPECT reconstructed as PET-like slices) DICOM series into a :class:`Volume`.

Per-slice RescaleSlope / RescaleIntercept are applied as floats (several readers truncate per-slice
slopes); slices are sorted by their position along the slice normal and checked for one orientation,
one in-plane geometry, uniform spacing and missing slices. Units (0054,1001) must be ``BQML``; ``CNTS``
needs a user calibration factor (Bq/mL per count); anything else is refused. Decay correction
(0054,1102) and the RadiopharmaceuticalInformationSequence are required so that time points can be made
comparable explicitly (:meth:`Volume.activity_at_acquisition`).

References
----------
DICOM PS3.3 C.8.9.1 (PET Series Module), C.8.9.2 (PET Isotope Module), C.7.6.2 (Image Plane Module).
docs/methods/dosimetry.md §8.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import numpy as np
import pydicom
from numpy.typing import NDArray
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from redif.errors import DicomInputError
from redif.io._fastdicom import read_raw
from redif.io.dicom_common import (
    _acquisition_time,
    _fail,
    _floats,
    _geometry,
    _nuclide_from_half_life,
    _radiopharmaceutical,
    _raw,
    _Slice,
    _text,
    _ushort,
    parse_dicom_datetime,
)
from redif.io.dicom_enhanced import read_enhanced_pet
from redif.io.spect import read_spect
from redif.io.volume import DecayCorrection, Volume, affine_from_geometry

__all__ = ["parse_dicom_datetime", "read_pet_series", "read_pet_time_series"]

_QUANT_MODALITIES = {"PT", "NM"}
_DTYPES = {(16, True): "<i2", (16, False): "<u2", (32, True): "<i4", (32, False): "<u4",
           (8, False): "u1", (8, True): "i1"}
_LE_SYNTAXES = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1"}
#: Enhanced PET Image Storage and Legacy Converted Enhanced PET Image Storage (redif.io.dicom_enhanced)
_ENHANCED_PET = {"1.2.840.10008.5.1.4.1.1.130", "1.2.840.10008.5.1.4.1.1.128.1"}


def _parse_slice(path: Path, ds: Dataset) -> _Slice:
    le = str(ds.file_meta.get("TransferSyntaxUID", "")) != "1.2.840.10008.1.2.2"
    pos = _floats(ds, "ImagePositionPatient")
    iop = _floats(ds, "ImageOrientationPatient")
    spacing = _floats(ds, "PixelSpacing")
    rows, cols = _ushort(ds, "Rows", le), _ushort(ds, "Columns", le)
    if pos is None or iop is None or len(pos) != 3 or len(iop) != 6:
        raise _fail(path, "slice lacks ImagePositionPatient/ImageOrientationPatient")
    if spacing is None or len(spacing) != 2 or rows is None or cols is None:
        raise _fail(path, "slice lacks PixelSpacing/Rows/Columns")
    if not all(math.isfinite(v) and v > 0 for v in spacing) or rows < 1 or cols < 1:
        raise DicomInputError(f"PixelSpacing {list(spacing)} / Rows {rows} / Columns {cols} must be positive "
                              "and finite", field="PixelSpacing", value=spacing,
                              remedy=f"{path}: re-export the series from the scanner or PACS")
    slope = (_floats(ds, "RescaleSlope") or (1.0,))[0]
    intercept = (_floats(ds, "RescaleIntercept") or (0.0,))[0]
    return _Slice(path, ds, np.asarray(pos, dtype=np.float64), iop, spacing, rows, cols,
                  slope if slope else 1.0, intercept, _text(ds, "SOPInstanceUID"))


def _files(directory: Path) -> list[Path]:
    if not directory.exists():
        raise _fail(directory, "no such directory", "give the folder that holds one PET series")
    if directory.is_file():
        return [directory]
    return sorted(p for p in directory.rglob("*") if p.is_file() and not p.name.startswith("."))


# Per-slice attributes; every other attribute is read once, from the first slice (parsing only these
# keeps reading fast: most of the cost of pydicom is building elements nobody uses).
_SLICE_TAGS = [
    "Modality", "SeriesInstanceUID", "SOPInstanceUID", "ImagePositionPatient", "ImageOrientationPatient",
    "PixelSpacing", "Rows", "Columns", "RescaleSlope", "RescaleIntercept", "BitsAllocated",
    "PixelRepresentation", "SamplesPerPixel", "AcquisitionDate", "AcquisitionTime",
    "AcquisitionDateTime", "NumberOfFrames", "SliceThickness", "PixelData",
]


def _read_slices(directory: Path) -> tuple[list[_Slice], Dataset, Path | None]:
    """Single-slice images of the folder, the full header of one of them, or one multi-frame file."""
    slices: list[_Slice] = []
    multiframe: list[Path] = []
    series: set[str] = set()
    for path in _files(directory):
        ds: Any = read_raw(path, _SLICE_TAGS)
        if ds is None:
            try:
                ds = pydicom.dcmread(path, specific_tags=_SLICE_TAGS)
            except (InvalidDicomError, OSError):
                continue
        if "PixelData" not in ds or _text(ds, "Modality") not in _QUANT_MODALITIES:
            continue
        series.add(_text(ds, "SeriesInstanceUID"))
        if int((_floats(ds, "NumberOfFrames") or (1.0,))[0]) > 1:
            multiframe.append(path)
            continue
        slices.append(_parse_slice(path, ds))
    if multiframe:
        if slices or len(multiframe) > 1:
            raise _fail(directory, "several multi-frame images, or multi-frame and single-slice images, "
                        "in one folder", "give one folder per series (one time point each)")
        return [], pydicom.dcmread(multiframe[0], stop_before_pixels=True), multiframe[0]
    if not slices:
        raise _fail(directory, "no PET/NM image slices found", "give the folder of one PET series")
    if len(series) > 1:
        raise _fail(directory, f"{len(series)} series in one folder",
                    "give one folder per series (one time point each)")
    header = pydicom.dcmread(slices[0].path, stop_before_pixels=True)
    return slices, header, None


def _read_multiframe(path: Path) -> tuple[NDArray[np.float32], NDArray[np.float64], Dataset]:
    """A reconstructed NM (SPECT) multi-frame image: stored values x rescale, and its affine.

    Geometry from DetectorInformationSequence[0] (ImagePositionPatient / ImageOrientationPatient) and
    SpacingBetweenSlices (frames stacked along row x column direction), PS3.3 C.8.4.10 / C.8.4.11.
    """
    ds = pydicom.dcmread(path)
    if str(ds.get("Modality", "")) != "NM" or "DetectorInformationSequence" not in ds:
        raise _fail(path, "multi-frame image that is neither a reconstructed NM (SPECT) image nor an "
                          "enhanced "
                    "PET", "export single-slice PET, enhanced PET, or a reconstructed NM image")
    det = ds.DetectorInformationSequence[0]
    if "ImagePositionPatient" not in det or "ImageOrientationPatient" not in det:
        raise _fail(path, "NM image without ImagePositionPatient/ImageOrientationPatient "
                    "(not a reconstructed tomographic image)")
    iop = np.asarray([float(v) for v in det.ImageOrientationPatient])
    spacing_z = float(ds.get("SpacingBetweenSlices") or ds.get("SliceThickness") or 0.0)
    if spacing_z <= 0:
        raise _fail(path, "NM image without SpacingBetweenSlices/SliceThickness")
    normal = np.cross(iop[:3], iop[3:6])
    ps = [float(v) for v in ds.PixelSpacing]
    affine = affine_from_geometry(np.asarray([float(v) for v in det.ImagePositionPatient]), iop,
                                  (ps[0], ps[1]), normal * spacing_z)
    try:
        arr = np.asarray(ds.pixel_array, dtype=np.float32)
    except (ValueError, EOFError, OSError, AttributeError, NotImplementedError, RuntimeError) as exc:
        raise _fail(path, f"cannot decode the image ({type(exc).__name__}: {str(exc)[:120]})",
                    "re-export the series from the scanner or PACS") from None
    if arr.ndim == 2:
        arr = arr[None]
    slope = float(ds.get("RescaleSlope", 1.0) or 1.0)
    intercept = float(ds.get("RescaleIntercept", 0.0) or 0.0)
    arr *= np.float32(slope)
    if intercept:
        arr += np.float32(intercept)
    return np.ascontiguousarray(arr), affine, ds


def _pixels(s: _Slice) -> NDArray[np.float32]:
    """Stored values of one slice as float32 (fast path for uncompressed little-endian data)."""
    ds = s.ds
    rows, cols = s.rows, s.columns
    samples = _ushort(ds, "SamplesPerPixel", True)
    bits = _ushort(ds, "BitsAllocated", True)
    signed = _ushort(ds, "PixelRepresentation", True) == 1
    dtype = _DTYPES.get((bits or 0, signed))
    if str(ds.file_meta.TransferSyntaxUID) in _LE_SYNTAXES and samples in (None, 1) and dtype:
        data = cast(bytes, _raw(ds, "PixelData"))
        expected = rows * cols * np.dtype(dtype).itemsize
        if len(data) < expected:
            raise _fail(s.path, f"truncated image: PixelData holds {len(data)} bytes, Rows x Columns x "
                        f"BitsAllocated/8 needs {expected}", "re-export the series from the scanner or PACS")
        raw = np.frombuffer(data, dtype=dtype, count=rows * cols)
        return raw.reshape(rows, cols).astype(np.float32)
    try:
        if not hasattr(ds, "pixel_array"):  # raw fast-path dataset of an unusual layout: parse with pydicom
            ds = pydicom.dcmread(s.path)
        return np.asarray(ds.pixel_array, dtype=np.float32)
    except (ValueError, EOFError, OSError, AttributeError, NotImplementedError, RuntimeError) as exc:
        raise _fail(s.path, f"cannot decode the image ({type(exc).__name__}: {str(exc)[:120]})",
                    "re-export the series from the scanner or PACS") from None


def read_pet_series(
    directory: str | Path,
    *,
    calibration_bqml_per_count: float | None = None,
    require_timing: bool = True,
) -> Volume:
    """Read one PET series (a folder of single-slice files) into a :class:`Volume` in Bq/mL.

    Parameters
    ----------
    directory
        Folder holding the slices of one series (sub-folders are searched; non-DICOM files ignored).
    calibration_bqml_per_count
        Needed only for ``Units == CNTS``: Bq/mL per count (from the site's calibration).
    require_timing
        Require decay-correction and radiopharmaceutical timing tags (needed for kinetics).

    Returns
    -------
    Volume
        float32 array ``[slice, row, column]`` in Bq/mL, values as decay corrected in the file
        (see :meth:`Volume.activity_at_acquisition`).

    Raises
    ------
    DicomInputError
        Naming the file or folder: no slices, several series, inconsistent geometry, missing slices,
        unsupported units, missing decay or timing information.
    """
    folder = Path(directory)
    slices, first, multi = _read_slices(folder)
    if multi is not None and str(first.get("SOPClassUID", "")) in _ENHANCED_PET:
        return read_enhanced_pet(multi, calibration_bqml_per_count=calibration_bqml_per_count,
                                 require_timing=require_timing, source=str(folder))
    if (multi is not None and str(first.get("Modality", "")) == "NM" and "Units" not in first
            and "RealWorldValueMappingSequence" in first):
        # quantitative SPECT in Bq/mL through a Real World Value Mapping (issue 14: redif.io.spect)
        return replace(read_spect(multi).volume, source=str(folder))
    if multi is not None:
        stored, affine, _ = _read_multiframe(multi)
        order: list[_Slice] = []
        where = multi
    else:
        order, affine = _geometry(slices, folder)
        where = order[0].path
    units = str(first.get("Units", "")).strip().upper()
    if units == "CNTS":
        if calibration_bqml_per_count is None:
            raise _fail(where, "Units CNTS needs a calibration factor",
                        "give calibration_bqml_per_count (Bq/mL per count) from your site calibration")
        scale = float(calibration_bqml_per_count)
    elif units == "BQML":
        scale = 1.0
    else:
        raise _fail(where, f"Units (0054,1001) is {units or 'missing'!r}, not BQML",
                    "export the series in Bq/mL (BQML), or CNTS with a calibration factor")
    decay_text = str(first.get("DecayCorrection", "")).strip().upper()
    if decay_text not in DecayCorrection.__members__:
        if require_timing:
            raise _fail(where, f"DecayCorrection (0054,1102) is {decay_text or 'missing'!r}",
                        "the series must state START, ADMIN or NONE")
        decay_text = "NONE"
    start, total, half_life = _radiopharmaceutical(first)
    acq = _acquisition_time(order, first)
    if require_timing:
        if start is None:
            raise _fail(where, "no RadiopharmaceuticalStartDateTime/StartTime",
                        "the series must record the administration time")
        if acq is None:
            raise _fail(where, "no SeriesDate/SeriesTime or AcquisitionTime")
        if decay_text == "ADMIN" and half_life is None:
            raise _fail(where, "ADMIN decay correction but no RadionuclideHalfLife")
    if multi is not None:
        array = stored * np.float32(scale) if scale != 1.0 else stored
        uids: tuple[str, ...] = ()  # frames of one instance: SEGs are matched by geometry
    else:
        array = np.empty((len(order), int(first.Rows), int(first.Columns)), dtype=np.float32)
        for k, s in enumerate(order):
            arr = _pixels(s)
            arr *= np.float32(s.slope * scale)
            if s.intercept:
                arr += np.float32(s.intercept * scale)
            array[k] = arr
        uids = tuple(s.sop_uid for s in order)
    patient = {key: str(first.get(key, "")) for key in ("PatientID", "PatientName", "StudyDate")}
    return Volume(
        array=array,
        affine=affine,
        units="BQML",
        acquisition_datetime=acq,
        radiopharmaceutical_start=start,
        total_dose_bq=total,
        half_life_s=half_life,
        nuclide=_nuclide_from_half_life(half_life),
        decay_correction=DecayCorrection(decay_text),
        series_uid=str(first.get("SeriesInstanceUID", "")),
        frame_of_reference_uid=str(first.get("FrameOfReferenceUID", "")),
        study_uid=str(first.get("StudyInstanceUID", "")),
        sop_instance_uids=uids,
        source=str(folder),
        patient=patient,
    )


def read_pet_time_series(
    directories: Sequence[str | Path], *, calibration_bqml_per_count: float | None = None,
    progress: Any = None,
) -> list[Volume]:
    """Read several time points (one folder each); see :func:`redif.dosimetry.voxel_tia.check_time_series`.

    ``progress`` is an optional callable ``progress(i, n, label)`` (the CLI draws a bar with it).
    """
    out = []
    for i, d in enumerate(directories):
        out.append(read_pet_series(d, calibration_bqml_per_count=calibration_bqml_per_count))
        if progress is not None:
            progress(i + 1, len(directories), f"read {Path(d).name}")
    return out

