"""DICOM helpers shared by the PET/SPECT readers: date-times, slice geometry, radiopharmaceutical timing.

Split from :mod:`redif.io.dicom` so that the classic, enhanced (:mod:`redif.io.dicom_enhanced`) and SPECT
(:mod:`redif.io.spect`) readers share one implementation of the geometry checks without import circles.

References
----------
DICOM PS3.3 C.7.6.2 (Image Plane Module), C.8.9.2 (PET Isotope Module).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray
from pydicom.dataset import Dataset

from redif.data.nuclides import available_nuclides, get_nuclide
from redif.errors import DicomInputError
from redif.io.volume import affine_from_geometry

__all__ = ["parse_dicom_datetime"]

_ORIENT_TOL = 1e-4
_SPACING_RTOL = 1e-3
_HALF_LIFE_RTOL = 0.01


def parse_dicom_datetime(date: str | None, time: str | None = None) -> datetime | None:
    """Combine DICOM DA + TM (or a DT in ``date`` with ``time=None``) into a naive datetime.

    Fractions of seconds are kept; UTC offsets in DT values are dropped (all times of one study are in
    one time zone).
    """
    if not date:
        return None
    text = str(date).strip()
    if time is not None:
        text = text[:8] + str(time).strip()
    text = text.split("+")[0].split("-")[0]
    digits, _, frac = text.partition(".")
    fmt = "%Y%m%d%H%M%S"[: {8: 6, 10: 8, 12: 10, 14: 12}.get(len(digits), 12)]
    if len(digits) not in (8, 10, 12, 14):
        return None
    try:
        dt = datetime.strptime(digits, fmt)
    except ValueError:
        return None
    if frac:
        dt = dt.replace(microsecond=int((frac + "000000")[:6]))
    return dt


@dataclass(frozen=True)
class _Slice:
    """Per-slice values parsed straight from the raw elements (no pydicom value objects)."""

    path: Path
    ds: Any  # pydicom Dataset or redif.io._fastdicom.RawDataset
    position: NDArray[np.float64]
    orientation: tuple[float, ...]
    spacing: tuple[float, ...]
    rows: int
    columns: int
    slope: float
    intercept: float
    sop_uid: str


def _raw(ds: Dataset, keyword: str) -> object:
    elem = ds.get_item(keyword)
    return None if elem is None else elem.value


def _text(ds: Dataset, keyword: str) -> str:
    v = _raw(ds, keyword)
    if v is None:
        return ""
    if isinstance(v, bytes | bytearray):
        return bytes(v).decode("ascii", "replace").strip("\x00 ")
    return str(v)


def _floats(ds: Dataset, keyword: str) -> tuple[float, ...] | None:
    v = _raw(ds, keyword)
    if v is None:
        return None
    if isinstance(v, bytes | bytearray):
        text = bytes(v).strip(b"\x00 ")
        return tuple(float(x) for x in text.split(b"\\")) if text else None
    if isinstance(v, str | int | float):
        return (float(v),) if str(v).strip() else None
    return tuple(float(x) for x in cast(Iterable[Any], v))


def _ushort(ds: Dataset, keyword: str, little_endian: bool) -> int | None:
    v = _raw(ds, keyword)
    if v is None:
        return None
    if isinstance(v, bytes | bytearray):
        return int.from_bytes(bytes(v)[:2], "little" if little_endian else "big")
    return int(cast(Any, v))


def _fail(path: Path | str, message: str, remedy: str | None = None) -> DicomInputError:
    return DicomInputError(message, field=str(path), remedy=remedy)


def _geometry(slices: list[_Slice], directory: Path) -> tuple[list[_Slice], NDArray[np.float64]]:
    first = slices[0]
    iop = np.asarray(first.orientation, dtype=np.float64)
    spacing = first.spacing
    shape = (first.rows, first.columns)
    iops = np.array([s.orientation for s in slices])
    bad_orient = np.flatnonzero(np.any(np.abs(iops - iop) > _ORIENT_TOL, axis=1))
    if bad_orient.size:
        raise _fail(slices[int(bad_orient[0])].path, "slice orientation differs from the rest of the series",
                    "the series must be one 3-D volume (no oblique or mixed stacks)")
    geo = np.array([[s.rows, s.columns, *s.spacing] for s in slices])
    bad_geo = np.flatnonzero((geo[:, 0] != shape[0]) | (geo[:, 1] != shape[1])
                             | np.any(np.abs(geo[:, 2:] - spacing) > _SPACING_RTOL * np.asarray(spacing),
                                      axis=1))
    if bad_geo.size:
        raise _fail(slices[int(bad_geo[0])].path,
                    "slice matrix or pixel spacing differs from the rest of the series")
    normal = np.cross(iop[:3], iop[3:6])
    order = sorted(slices, key=lambda s: float(s.position @ normal))
    dist = np.array([float(s.position @ normal) for s in order])
    if len(order) > 1:
        steps = np.diff(dist)
        if np.any(steps < 1e-3):
            i = int(np.argmin(steps))
            raise _fail(order[i + 1].path, "two slices at the same position", "remove duplicate files")
        nominal = float(np.median(steps))
        bad = np.abs(steps - nominal) > max(_SPACING_RTOL * nominal, 1e-3)
        if np.any(bad):
            i = int(np.argmax(bad))
            gap = steps[i] / nominal
            what = (f"missing slice(s) after {order[i].path.name} (gap {gap:.2f} x spacing)"
                    if gap > 1.5 else "non-uniform slice spacing")
            raise _fail(directory, what, "the series must have uniformly spaced, complete slices")
        step_vec = (order[-1].position - order[0].position) / (len(order) - 1)
    else:
        thick = (_floats(first.ds, "SliceThickness") or (spacing[0],))[0]
        step_vec = normal * thick
    return order, affine_from_geometry(order[0].position, iop, (spacing[0], spacing[1]), step_vec)


def _nuclide_from_half_life(half_life_s: float | None) -> str | None:
    if half_life_s is None:
        return None
    for name in available_nuclides():
        nuc = get_nuclide(name)
        if abs(nuc.half_life_s - half_life_s) <= _HALF_LIFE_RTOL * nuc.half_life_s:
            return name
    return None


def _radiopharmaceutical(ds: Dataset) -> tuple[datetime | None, float | None, float | None]:
    seq = ds.get("RadiopharmaceuticalInformationSequence")
    if not seq:
        return None, None, None
    item = seq[0]
    start = parse_dicom_datetime(item.get("RadiopharmaceuticalStartDateTime"))
    if start is None and item.get("RadiopharmaceuticalStartTime"):
        start = parse_dicom_datetime(ds.get("SeriesDate") or ds.get("StudyDate"),
                                     item.get("RadiopharmaceuticalStartTime"))
    dose = item.get("RadionuclideTotalDose")
    hl = item.get("RadionuclideHalfLife")
    return start, (float(dose) if dose not in (None, "") else None), (
        float(hl) if hl not in (None, "") else None)


def _acquisition_time(slices: list[_Slice], ds: Dataset) -> datetime | None:
    series = parse_dicom_datetime(ds.get("SeriesDate"), ds.get("SeriesTime"))
    acq: list[datetime] = []
    for s in slices:
        t = parse_dicom_datetime(_text(s.ds, "AcquisitionDateTime")) or parse_dicom_datetime(
            _text(s.ds, "AcquisitionDate"), _text(s.ds, "AcquisitionTime") or None)
        if t is not None:
            acq.append(t)
    earliest = min(acq) if acq else None
    if series is not None and (earliest is None or series <= earliest):
        return series
    return earliest
