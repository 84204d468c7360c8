"""Read enhanced multi-frame PET (Enhanced PET Image Storage, and Legacy Converted Enhanced PET) into a
:class:`Volume` in Bq/mL, as :func:`redif.io.dicom.read_pet_series` reads classic single-slice PET.

Every attribute is looked up per frame in the Per-Frame Functional Groups, then the Shared Functional
Groups, then (legacy converted images) the Unassigned Per-Frame / Shared Converted Attributes, then the
top level:

* geometry: Plane Position (Image Position (Patient)), Plane Orientation (Image Orientation (Patient)),
  Pixel Measures (Pixel Spacing); frames sorted along the slice normal and checked for one orientation,
  uniform spacing and no missing or duplicate positions (the checks of the classic reader);
* values: a Real World Value Mapping item in ``Bq/ml`` (or kBq/ml, MBq/ml; UCUM) applied to the stored
  values, else the Pixel Value Transformation's Rescale Slope/Intercept when Rescale Type or Units
  (0054,1001) is ``BQML`` (``CNTS`` with a calibration factor), per frame;
* timing: Radiopharmaceutical Information Sequence; acquisition time from Acquisition DateTime, the
  series date/time or the earliest Frame Acquisition DateTime; decay correction from Decay Correction
  (0054,1102) or the Enhanced PET Corrections Module (Decay Corrected (0018,9758) with Decay Correction
  DateTime (0018,9701): values corrected to another time than the administration or the acquisition
  start are brought to the acquisition start here, explicitly).

A dynamic or gated image (several frames at one position) is refused.

References
----------
DICOM PS3.3 A.56 (Enhanced PET Image IOD), A.70 (Legacy Converted Enhanced PET Image IOD),
C.7.6.16 (Multi-frame Functional Groups), C.7.6.16.2.1-2.3 (Pixel Measures, Plane Position, Plane
Orientation), C.7.6.16.2.9 (Pixel Value Transformation), C.7.6.16.2.11 (Real World Value Mapping),
C.8.22.4 (Enhanced PET Corrections Module).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, cast

import numpy as np
import pydicom
from numpy.typing import NDArray
from pydicom.dataset import Dataset

from redif.errors import DicomInputError
from redif.io.dicom_common import (
    _geometry,
    _nuclide_from_half_life,
    _radiopharmaceutical,
    _Slice,
    parse_dicom_datetime,
)
from redif.io.volume import DecayCorrection, Volume

__all__ = ["ENHANCED_PET_STORAGE", "ENHANCED_SOP_CLASSES", "LEGACY_ENHANCED_PET_STORAGE", "read_enhanced_pet"]

ENHANCED_PET_STORAGE = "1.2.840.10008.5.1.4.1.1.130"
LEGACY_ENHANCED_PET_STORAGE = "1.2.840.10008.5.1.4.1.1.128.1"
ENHANCED_SOP_CLASSES = frozenset({ENHANCED_PET_STORAGE, LEGACY_ENHANCED_PET_STORAGE})
_BQML_UNITS = {"bq/ml": 1.0, "kbq/ml": 1e3, "mbq/ml": 1e6}
_DT_TOL_S = 1.0


def _fail(path: Path | str, message: str, *, value: object = None, remedy: str | None = None
          ) -> DicomInputError:
    return DicomInputError(message, field=str(path), value=value, remedy=remedy)


class _Lookup:
    """Attribute lookup of one frame: the items of its per-frame groups, of the shared groups (the
    Unassigned Converted Attributes of legacy converted images included), then the top level."""

    def __init__(self, ds: Dataset, frame: Dataset | None) -> None:
        self.levels: list[Dataset] = []
        shared = (ds.get("SharedFunctionalGroupsSequence") or [None])[0]
        for group in (frame, shared):
            if group is None:
                continue
            self.levels.append(group)  # a functional group sequence itself (e.g. Real World Value Mapping)
            for elem in group:
                if elem.VR == "SQ" and len(elem.value) == 1:
                    self.levels.append(elem.value[0])
        self.levels.append(ds)

    def get(self, keyword: str) -> Any:
        for level in self.levels:
            if keyword in level:
                return level.get(keyword)
        return None


def _rwv_bqml(item_seq: Any) -> tuple[float, float] | None:
    for item in item_seq or []:
        units = item.get("MeasurementUnitsCodeSequence")
        code = str(units[0].get("CodeValue", "")).strip().lower() if units else ""
        if code in _BQML_UNITS and "RealWorldValueSlope" in item:
            f = _BQML_UNITS[code]
            return float(item.RealWorldValueSlope) * f, float(item.get("RealWorldValueIntercept", 0.0)) * f
    return None


def _value_map(look: _Lookup, path: Path, calibration: float | None) -> tuple[float, float, str]:
    rwv = _rwv_bqml(look.get("RealWorldValueMappingSequence"))
    if rwv is not None:
        return rwv[0], rwv[1], "RealWorldValueMapping Bq/ml"
    slope = float(look.get("RescaleSlope") or 1.0)
    intercept = float(look.get("RescaleIntercept") or 0.0)
    kinds = {str(look.get("RescaleType") or "").strip().upper(), str(look.get("Units") or "").strip().upper()}
    if "BQML" in kinds:
        return slope, intercept, "BQML"
    if "CNTS" in kinds:
        if calibration is None:
            raise _fail(path, "Units CNTS needs a calibration factor",
                        remedy="give calibration_bqml_per_count (Bq/mL per count) from your site calibration")
        return slope * calibration, intercept * calibration, "CNTS"
    raise _fail(path, "no Real World Value Mapping in Bq/ml and neither RescaleType nor Units (0054,1001) "
                "is BQML", value=sorted(k for k in kinds if k),
                remedy="export the enhanced PET in Bq/mL (Real World Value Mapping Bq/ml)")


def _decay(ds: Dataset, shared: _Lookup, path: Path, start: Any, acq: Any, half_life: float | None,
           require_timing: bool) -> tuple[DecayCorrection, float]:
    """(decay correction as flagged, factor bringing the values to the flagged reference)."""
    text = str(shared.get("DecayCorrection") or "").strip().upper()
    if text:
        if text not in DecayCorrection.__members__:
            raise _fail(path, f"DecayCorrection (0054,1102) is {text!r}", value=text,
                        remedy="the series must state START, ADMIN or NONE")
        return DecayCorrection(text), 1.0
    corrected = str(shared.get("DecayCorrected") or "").strip().upper()
    if corrected == "NO":
        return DecayCorrection.NONE, 1.0
    if corrected == "YES":
        when = parse_dicom_datetime(str(shared.get("DecayCorrectionDateTime") or "")) or None
        if when is None:
            raise _fail(path, "DecayCorrected (0018,9758) is YES but DecayCorrectionDateTime (0018,9701) is "
                        "missing", remedy="re-export the enhanced PET with its decay-correction time")
        if start is not None and abs((when - start).total_seconds()) <= _DT_TOL_S:
            return DecayCorrection.ADMIN, 1.0
        if acq is not None and abs((when - acq).total_seconds()) <= _DT_TOL_S:
            return DecayCorrection.START, 1.0
        if half_life is None or acq is None:
            raise _fail(path, "decay corrected to another time than the administration or the acquisition, "
                        "without RadionuclideHalfLife or acquisition time", value=str(when))
        dt_s = (acq - when).total_seconds()
        return DecayCorrection.START, math.exp(-math.log(2.0) / half_life * dt_s)
    if require_timing:
        raise _fail(path, "neither DecayCorrection (0054,1102) nor DecayCorrected (0018,9758)",
                    remedy="the series must state its decay correction")
    return DecayCorrection.NONE, 1.0


def read_enhanced_pet(path: str | Path, *, calibration_bqml_per_count: float | None = None,
                      require_timing: bool = True, source: str | None = None) -> Volume:
    """Read one enhanced (or legacy converted enhanced) multi-frame PET instance into a :class:`Volume`.

    Raises
    ------
    DicomInputError
        Naming the file: not an enhanced PET, missing functional groups, inconsistent geometry
        (orientation, spacing, missing or duplicate positions: dynamic images), unknown units, missing
        timing or decay-correction information.
    """
    file = Path(path)
    ds = pydicom.dcmread(file)
    sop = str(ds.get("SOPClassUID", ""))
    if sop not in ENHANCED_SOP_CLASSES:
        raise _fail(file, f"SOPClassUID (0008,0016) {sop} is not Enhanced PET ({ENHANCED_PET_STORAGE}) or "
                    f"Legacy Converted Enhanced PET ({LEGACY_ENHANCED_PET_STORAGE})", value=sop)
    n = int(ds.get("NumberOfFrames", 1) or 1)
    per_frame = ds.get("PerFrameFunctionalGroupsSequence") or []
    if len(per_frame) != n:
        raise _fail(file, f"PerFrameFunctionalGroupsSequence has {len(per_frame)} items for {n} frames",
                    remedy="re-export the enhanced PET from the scanner or PACS")
    rows, cols = int(ds.Rows), int(ds.Columns)
    slices: list[_Slice] = []
    maps: list[tuple[float, float]] = []
    units_seen: set[str] = set()
    frame_times = []
    for k, frame in enumerate(per_frame):
        look = _Lookup(ds, frame)
        pos, iop, ps = (look.get("ImagePositionPatient"), look.get("ImageOrientationPatient"),
                        look.get("PixelSpacing"))
        if pos is None or iop is None or ps is None:
            raise _fail(file, f"frame {k + 1} lacks Plane Position / Plane Orientation / Pixel Measures "
                        "(ImagePositionPatient, ImageOrientationPatient, PixelSpacing)",
                        remedy="re-export the enhanced PET with its functional groups")
        spacing = tuple(float(v) for v in ps)
        if len(spacing) != 2 or not all(math.isfinite(v) and v > 0 for v in spacing):
            raise DicomInputError(f"PixelSpacing {list(spacing)} must be two positive finite numbers",
                                  field="PixelSpacing", value=spacing, remedy=f"{file}: re-export the series")
        slope, intercept, kind = _value_map(look, file, calibration_bqml_per_count)
        units_seen.add(kind)
        maps.append((slope, intercept))
        slices.append(_Slice(file, None, np.asarray([float(v) for v in pos]), tuple(float(v) for v in iop),
                             spacing, rows, cols, slope, intercept, str(k)))
        t = parse_dicom_datetime(str(look.get("FrameAcquisitionDateTime") or "")) or None
        if t is not None:
            frame_times.append(t)
    positions = {tuple(np.round(s.position, 3)) for s in slices}
    if len(slices) < 2 or len(positions) < len(slices):
        raise _fail(file, f"{len(slices)} frames at {len(positions)} positions: a dynamic or gated image, "
                    "or a single frame", value=len(slices),
                    remedy="export one static frame per position (one time point per file)")
    if len(units_seen) > 1:
        raise _fail(file, f"frames in different units {sorted(units_seen)}", value=sorted(units_seen))
    order, affine = _geometry(slices, file)
    shared = _Lookup(ds, None)
    start, total, half_life = _radiopharmaceutical(cast(Dataset, _RadioView(shared)))
    acq = (parse_dicom_datetime(str(ds.get("AcquisitionDateTime") or "")) or None)
    series = parse_dicom_datetime(ds.get("SeriesDate"), ds.get("SeriesTime"))
    earliest = min(frame_times) if frame_times else None
    candidates = [t for t in (acq, series, earliest) if t is not None]
    acq_time = min(candidates) if candidates else None
    if require_timing:
        if start is None:
            raise _fail(file, "no RadiopharmaceuticalStartDateTime/StartTime",
                        remedy="the series must record the administration time")
        if acq_time is None:
            raise _fail(file, "no AcquisitionDateTime, SeriesDate/SeriesTime or FrameAcquisitionDateTime")
    decay, factor = _decay(ds, shared, file, start, acq_time, half_life, require_timing)
    if require_timing and decay is DecayCorrection.ADMIN and half_life is None:
        raise _fail(file, "ADMIN decay correction but no RadionuclideHalfLife")
    try:
        pixels = np.asarray(ds.pixel_array)
    except (ValueError, EOFError, OSError, AttributeError, NotImplementedError, RuntimeError) as exc:
        raise _fail(file, f"cannot decode the image ({type(exc).__name__}: {str(exc)[:120]})",
                    remedy="re-export the series from the scanner or PACS") from None
    if pixels.ndim == 2:
        pixels = pixels[None]
    array: NDArray[np.float32] = np.empty((len(order), rows, cols), dtype=np.float32)
    for i, s in enumerate(order):
        k = int(s.sop_uid)
        slope, intercept = maps[k]
        plane = pixels[k].astype(np.float32) * np.float32(slope * factor)
        if intercept:
            plane += np.float32(intercept * factor)
        array[i] = plane
    return Volume(
        array=array, affine=affine, units="BQML", acquisition_datetime=acq_time,
        radiopharmaceutical_start=start, total_dose_bq=total, half_life_s=half_life,
        nuclide=_nuclide_from_half_life(half_life), decay_correction=decay,
        series_uid=str(ds.get("SeriesInstanceUID", "")),
        frame_of_reference_uid=str(ds.get("FrameOfReferenceUID", "")),
        study_uid=str(ds.get("StudyInstanceUID", "")), sop_instance_uids=(), source=source or str(file),
        patient={key: str(ds.get(key, "")) for key in ("PatientID", "PatientName", "StudyDate")},
    )


class _RadioView:
    """The ``get`` of a :class:`_Lookup`, for :func:`redif.io.dicom_common._radiopharmaceutical`."""

    def __init__(self, look: _Lookup) -> None:
        self._look = look

    def get(self, keyword: str, default: Any = None) -> Any:
        v = self._look.get(keyword)
        return default if v is None else v
