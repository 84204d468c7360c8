"""Read quantitative 131I SPECT/CT: reconstructed NM multi-frame images into a :class:`Volume` in Bq/mL.

Accepted input: one NM Image Storage instance (SOP class 1.2.840.10008.5.1.4.1.1.20) per time point,
``ImageType`` value 3 ``RECON TOMO``, its frames indexed by the Frame Increment Pointer's Energy Window,
Detector and Slice vectors (PS3.3 C.8.4.8). Geometry from the Detector Information Sequence item of the
selected detector (Image Position / Orientation (Patient)), Pixel Spacing and Spacing Between Slices
(frames stacked along row x column direction, PS3.3 C.8.4.10/C.8.4.11 and C.8.4.15).

Values are converted to Bq/mL in one of two ways:

* **Bq/mL**: a Real World Value Mapping item (PS3.3 C.7.6.16.2.11) whose Measurement Units Code is
  ``Bq/ml`` (also kBq/ml, MBq/ml; UCUM), applied to the stored values; or ``Units`` (0054,1001) ``BQML``
  with Rescale Slope/Intercept.
* **counts** (Real World Value Mapping units ``{counts}`` or ``Units`` CNTS): with the system
  calibration factor ``K`` (cps/MBq, the user's own phantom measurement) and the acquisition duration
  ``T`` (s, from the Rotation Information Sequence: Actual Frame Duration x Number of Frames in
  Rotation, summed over rotations), the activity of a voxel holding ``C`` counts is
  ``A = (C / T) * f_DT / K`` MBq, with the dead-time factor ``f_DT = n / m``: ``m`` is the observed count
  rate (the image's total counts / ``T``) and ``n`` the true rate of the chosen model with dead time
  ``tau``: paralysable ``m = n exp(-n tau)`` (``n = -W0(-m tau) / tau``, Lambert W, needs ``m tau <=
  1/e``) or non-paralysable ``m = n / (1 + n tau)`` (``n = m / (1 - m tau)``, needs ``m tau < 1``). The
  dead time must be the *effective* one for that rate definition (measured, e.g., with a decaying source
  and the same energy window). Without a dead time no correction is applied (``f_DT = 1``).

Decay correction: ``DecayCorrection`` (0054,1102) when present (START/ADMIN/NONE); absent, the values
are the activity during the scan (``NONE``), unless ``CorrectedImage`` lists ``DECY`` (decay corrected to
an unstated time: refused). A counts image already corrected for dead time (``CorrectedImage`` DTIM) is
not corrected again (refused when a dead time is given).

References
----------
Dewaraja YK, Ljungberg M, Green AJ, et al. MIRD Pamphlet No. 24: Guidelines for quantitative 131I SPECT
in dosimetry applications. J Nucl Med 2013;54:2182-2188.
Knoll GF. Radiation Detection and Measurement, 4th ed. Wiley 2010, ch. 4 (dead-time models).
DICOM PS3.3 A.5 (NM Image IOD), C.8.4.8-C.8.4.15, C.7.6.16.2.11 (Real World Value Mapping).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import pydicom
from numpy.typing import NDArray
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from scipy.special import lambertw

from redif.data import sourced_value
from redif.errors import DicomInputError, InputError
from redif.io.dicom_common import (
    _acquisition_time,
    _nuclide_from_half_life,
    _radiopharmaceutical,
    parse_dicom_datetime,
)
from redif.io.volume import DecayCorrection, Volume, affine_from_geometry

__all__ = ["NM_IMAGE_STORAGE", "DeadTimeModel", "SpectVolume", "dead_time_factor", "read_spect",
           "read_spect_time_series"]

NM_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.20"
_ENERGY_WINDOW_VECTOR = 0x00540010
_DETECTOR_VECTOR = 0x00540020
_SLICE_VECTOR = 0x00540080
_KNOWN_VECTORS = {_ENERGY_WINDOW_VECTOR: "EnergyWindowVector", _DETECTOR_VECTOR: "DetectorVector",
                  _SLICE_VECTOR: "SliceVector"}
_BQML_UNITS = {"bq/ml": 1.0, "kbq/ml": 1e3, "mbq/ml": 1e6}
_COUNT_UNITS = {"{counts}", "counts", "cnts", "{cnts}", "1"}


class DeadTimeModel(enum.StrEnum):
    """Dead-time model of the counting system (see module docstring)."""

    PARALYSABLE = "paralysable"
    NON_PARALYSABLE = "non-paralysable"


def default_dead_time_model() -> DeadTimeModel:
    """The default model, from ``spect_quantification.yaml`` (graded there)."""
    return DeadTimeModel(str(sourced_value("spect_quantification.yaml", "dead_time_model_default").value))


@dataclass(frozen=True)
class SpectVolume:
    """A SPECT time point in Bq/mL and how its values were obtained.

    Attributes
    ----------
    volume
        The image in Bq/mL (``units == "BQML"``), with geometry and timing.
    units_source
        Where the unit came from (``"RealWorldValueMapping Bq/ml"``, ``"Units BQML"``, ``"... counts"``).
    calibration_cps_per_mbq
        System calibration factor used (counts input only).
    acquisition_duration_s
        Acquisition duration used (counts input only).
    observed_count_rate_cps
        Observed count rate ``m`` (counts input only).
    dead_time_factor
        ``n / m`` applied (1.0 without dead-time correction).
    energy_window
        Energy window (1-based) whose frames were read.
    """

    volume: Volume
    units_source: str
    calibration_cps_per_mbq: float | None = None
    acquisition_duration_s: float | None = None
    observed_count_rate_cps: float | None = None
    dead_time_factor: float = 1.0
    dead_time_model: str | None = None
    dead_time_us: float | None = None
    energy_window: int = 1


def dead_time_factor(observed_cps: float, dead_time_s: float, model: DeadTimeModel | str) -> float:
    """True-to-observed count-rate ratio ``n / m`` for an observed rate ``m`` (cps) and dead time (s).

    Raises
    ------
    InputError
        When the observed rate cannot arise under the model (``m tau`` above ``1/e`` for the paralysable,
        at or above 1 for the non-paralysable model).
    """
    try:
        kind = DeadTimeModel(model)
    except ValueError:
        raise InputError("unknown dead-time model", field="dead_time_model", value=model,
                         remedy="use paralysable or non-paralysable") from None
    if not (math.isfinite(dead_time_s) and dead_time_s >= 0):
        raise InputError("dead time must be finite and >= 0", field="dead_time_us", value=dead_time_s * 1e6)
    if not (math.isfinite(observed_cps) and observed_cps >= 0):
        raise InputError("observed count rate must be finite and >= 0", field="observed_count_rate_cps",
                         value=observed_cps)
    x = observed_cps * dead_time_s
    if x == 0:
        return 1.0
    if kind is DeadTimeModel.NON_PARALYSABLE:
        if x >= 1:
            raise InputError(f"observed rate {observed_cps:.6g} cps x dead time is {x:.3g} (>= 1): "
                             "impossible "
                             "for a non-paralysable system", field="dead_time_us", value=dead_time_s * 1e6,
                             remedy="check the dead time (us) and the calibration; or use the paralysable "
                                    "model")
        return 1.0 / (1.0 - x)
    if x > 1.0 / math.e:
        raise InputError(f"observed rate {observed_cps:.6g} cps x dead time is {x:.3g} (> 1/e): impossible "
                         "for a paralysable system", field="dead_time_us", value=dead_time_s * 1e6,
                         remedy="check the dead time (us); the paralysable model has a maximum observed rate")
    n_tau = -float(np.real(lambertw(-x, 0)))  # principal branch: the lower of the two true rates
    return n_tau / x


def _fail(path: Path | str, message: str, *, value: object = None, remedy: str | None = None
          ) -> DicomInputError:
    return DicomInputError(message, field=str(path), value=value, remedy=remedy)


def _find_file(path: Path) -> Path:
    if not path.exists():
        raise _fail(path, "no such file or folder", remedy="give the SPECT file or its folder (one time "
                                                           "point)")
    if path.is_file():
        return path
    found: list[Path] = []
    for p in sorted(q for q in path.rglob("*") if q.is_file() and not q.name.startswith(".")):
        try:
            ds = pydicom.dcmread(p, stop_before_pixels=True, specific_tags=["SOPClassUID", "Modality"])
        except (InvalidDicomError, OSError):
            continue
        if str(ds.get("Modality", "")) in ("NM", "PT"):
            found.append(p)
    if not found:
        raise _fail(path, "no NM (SPECT) image in the folder",
                    remedy="give the folder (or file) of one reconstructed SPECT image")
    if len(found) > 1:
        raise _fail(path, f"{len(found)} NM/PT images in one folder (expected one reconstructed SPECT "
                    "multi-frame image)", remedy="give one folder or file per SPECT time point")
    return found[0]


def _as_list(value: object) -> list[Any]:
    """A DICOM value as a list (single values, MultiValue and None)."""
    if value is None:
        return []
    if isinstance(value, str | bytes | int | float):
        return [value]
    return list(cast(Iterable[Any], value))


def _code_value(item: Dataset) -> str:
    seq = item.get("MeasurementUnitsCodeSequence")
    return str(seq[0].get("CodeValue", "")).strip() if seq else ""


def _units(ds: Dataset, path: Path) -> tuple[str, float, float, str]:
    """(kind 'bqml'|'counts'|'', slope, intercept, description); slope/intercept map stored values."""
    for item in ds.get("RealWorldValueMappingSequence") or []:
        code = _code_value(item)
        low = code.lower()
        if low in _BQML_UNITS or low in _COUNT_UNITS:
            if "RealWorldValueLUTData" in item and "RealWorldValueSlope" not in item:
                raise _fail(path, "RealWorldValueMappingSequence uses a LUT (RealWorldValueLUTData), not a "
                            "slope", value=code, remedy="export the SPECT with a linear Real World Value "
                                                        "Mapping")
            slope = float(item.get("RealWorldValueSlope", 1.0))
            intercept = float(item.get("RealWorldValueIntercept", 0.0))
            if low in _BQML_UNITS:
                f = _BQML_UNITS[low]
                return "bqml", slope * f, intercept * f, f"RealWorldValueMapping {code}"
            return "counts", slope, intercept, f"RealWorldValueMapping {code}"
    slope = float(ds.get("RescaleSlope", 1.0) or 1.0)
    intercept = float(ds.get("RescaleIntercept", 0.0) or 0.0)
    units = str(ds.get("Units", "")).strip().upper()
    if units == "BQML":
        return "bqml", slope, intercept, "Units BQML"
    if units == "CNTS":
        return "counts", slope, intercept, "Units CNTS"
    if units:
        raise _fail(path, f"Units (0054,1001) is {units!r}, neither BQML nor CNTS", value=units,
                    remedy="export the SPECT in Bq/mL (Units BQML or a Real World Value Mapping in Bq/ml), "
                    "or in counts with --calibration-cps-per-mbq")
    codes = [_code_value(i) for i in ds.get("RealWorldValueMappingSequence") or []]
    if codes:
        raise _fail(path, f"RealWorldValueMappingSequence (0040,9096) units {codes} are neither Bq/ml nor "
                    "{counts}", value=codes, remedy="export the SPECT in Bq/mL or in counts")
    return "", slope, intercept, ""


def _vector(ds: Dataset, keyword: str, n: int, path: Path) -> NDArray[np.int64]:
    v = ds.get(keyword)
    if v is None:
        raise _fail(path, f"FrameIncrementPointer names {keyword} but the element is missing",
                    remedy="re-export the SPECT from the scanner")
    arr = np.asarray([int(x) for x in _as_list(v)], dtype=np.int64)
    if arr.size != n:
        raise _fail(path, f"{keyword} has {arr.size} values for {n} frames", value=arr.size,
                    remedy="re-export the SPECT from the scanner")
    return arr


def _frame_selection(ds: Dataset, path: Path, n_frames: int, energy_window: int | None
                     ) -> tuple[NDArray[np.int64], int, int]:
    """Frame indices in slice order for one energy window and detector; (indices, window, detector)."""
    fip = ds.get("FrameIncrementPointer")
    pointers = [int(t) for t in _as_list(fip)]
    unknown = [p for p in pointers if p not in _KNOWN_VECTORS]
    if unknown:
        names = [pydicom.datadict.keyword_for_tag(p) or f"{p:08X}" for p in unknown]
        raise _fail(path, f"FrameIncrementPointer (0028,0009) indexes frames by {names}: a gated, dynamic or "
                    "projection image", value=names,
                    remedy="give a static reconstructed SPECT (frames indexed by energy window, detector, "
                           "slice)")
    ones = np.ones(n_frames, dtype=np.int64)
    windows = _vector(ds, "EnergyWindowVector", n_frames, path) if _ENERGY_WINDOW_VECTOR in pointers else ones
    detectors = _vector(ds, "DetectorVector", n_frames, path) if _DETECTOR_VECTOR in pointers else ones
    slices = (_vector(ds, "SliceVector", n_frames, path) if _SLICE_VECTOR in pointers
              else np.arange(1, n_frames + 1, dtype=np.int64))
    present = sorted(set(windows.tolist()))
    if energy_window is None:
        if len(present) > 1:
            info = []
            for i, item in enumerate(ds.get("EnergyWindowInformationSequence") or [], start=1):
                name = str(item.get("EnergyWindowName", ""))
                rng = item.get("EnergyWindowRangeSequence")
                lo_hi = ""
                if rng:
                    lo, hi = float(rng[0].EnergyWindowLowerLimit), float(rng[0].EnergyWindowUpperLimit)
                    lo_hi = f"{lo:g}-{hi:g} keV"
                info.append(f"{i}: {name} {lo_hi}".strip())
            raise _fail(path, f"{len(present)} energy windows in one image ({'; '.join(info) or present})",
                        value=present, remedy="choose the photopeak window with --energy-window N")
        window = present[0]
    else:
        window = int(energy_window)
        if window not in present:
            raise _fail(path, f"energy window {window} is not in the image (EnergyWindowVector holds "
                              f"{present})",
                        value=window, remedy="give one of the windows present")
    in_window = windows == window
    dets = sorted(set(detectors[in_window].tolist()))
    if len(dets) > 1:
        raise _fail(path, f"{len(dets)} detectors in one reconstructed image (DetectorVector {dets})",
                    value=dets, remedy="export one reconstructed volume per image")
    idx = np.flatnonzero(in_window)
    order = idx[np.argsort(slices[idx], kind="stable")]
    got = slices[order]
    if not np.array_equal(got, np.arange(1, idx.size + 1)):
        raise _fail(path, "SliceVector (0054,0080) is not 1..N within the energy window (missing or "
                    "duplicate slices)", value=got.tolist()[:10],
                    remedy="re-export the complete reconstructed SPECT")
    return order, window, dets[0]


def _geometry(ds: Dataset, path: Path, detector: int) -> NDArray[np.float64]:
    seq = ds.get("DetectorInformationSequence")
    if not seq:
        raise _fail(path, "no DetectorInformationSequence (0054,0022): no image position/orientation",
                    remedy="export the reconstructed (RECON TOMO) SPECT with its patient geometry")
    det = seq[detector - 1] if len(seq) >= detector else seq[0]
    if "ImagePositionPatient" not in det or "ImageOrientationPatient" not in det:
        raise _fail(path, "DetectorInformationSequence lacks ImagePositionPatient/ImageOrientationPatient "
                    "(not a reconstructed tomographic image)", remedy="export the reconstructed SPECT "
                                                                      "(RECON TOMO)")
    iop = np.asarray([float(v) for v in det.ImageOrientationPatient])
    ps = ds.get("PixelSpacing")
    if ps is None or len(ps) != 2:
        raise _fail(path, "PixelSpacing (0028,0030) missing", remedy="re-export the SPECT from the scanner")
    spacing = (float(ps[0]), float(ps[1]))
    z_raw = ds.get("SpacingBetweenSlices") or ds.get("SliceThickness")
    spacing_z = float(z_raw) if z_raw not in (None, "") else 0.0
    if not (all(math.isfinite(s) and s > 0 for s in spacing) and math.isfinite(spacing_z) and spacing_z > 0):
        raise _fail(path, "PixelSpacing / SpacingBetweenSlices (0018,0088) must be positive and finite",
                    value=(spacing, spacing_z), remedy="re-export the SPECT from the scanner")
    normal = np.cross(iop[:3], iop[3:6])
    return affine_from_geometry(np.asarray([float(v) for v in det.ImagePositionPatient]), iop, spacing,
                                normal * spacing_z)


def _acquisition_duration_s(ds: Dataset) -> float | None:
    total = 0.0
    for item in ds.get("RotationInformationSequence") or []:
        dur = item.get("ActualFrameDuration")
        n = item.get("NumberOfFramesInRotation")
        if dur in (None, "") or n in (None, ""):
            return None
        total += float(dur) / 1000.0 * float(n)
    return total if total > 0 else None


def _decay_correction(ds: Dataset, path: Path) -> DecayCorrection:
    text = str(ds.get("DecayCorrection", "")).strip().upper()
    if text:
        if text not in DecayCorrection.__members__:
            raise _fail(path, f"DecayCorrection (0054,1102) is {text!r}", value=text,
                        remedy="the image must state START, ADMIN or NONE")
        return DecayCorrection(text)
    corrected = [str(v).upper() for v in (ds.get("CorrectedImage") or [])]
    if "DECY" in corrected:
        raise _fail(path, "CorrectedImage (0028,0051) lists DECY but DecayCorrection (0054,1102) does not "
                          "say "
                    "to which time", value=corrected, remedy="export the SPECT without decay correction, or "
                    "with DecayCorrection START/ADMIN")
    return DecayCorrection.NONE


def read_spect(
    path: str | Path,
    *,
    calibration_cps_per_mbq: float | None = None,
    dead_time_us: float | None = None,
    dead_time_model: DeadTimeModel | str | None = None,
    acquisition_duration_s: float | None = None,
    energy_window: int | None = None,
) -> SpectVolume:
    """Read one quantitative SPECT time point (one reconstructed NM multi-frame image) in Bq/mL.

    Parameters
    ----------
    path
        The NM file, or a folder holding exactly one.
    calibration_cps_per_mbq
        System calibration factor (cps/MBq) for an image in counts; refused for an image in Bq/mL.
    dead_time_us
        Effective dead time (us) for the observed count rate (counts input only); ``None``: no correction.
    dead_time_model
        ``paralysable`` or ``non-paralysable``; default from ``spect_quantification.yaml``.
    acquisition_duration_s
        Overrides the acquisition duration read from the Rotation Information Sequence (counts input).
    energy_window
        1-based energy window to read when the image holds several.

    Raises
    ------
    DicomInputError
        Naming the file, the tag and the value: wrong SOP class, not a reconstructed tomographic image,
        missing units, counts without a calibration factor, inconsistent frame vectors or geometry,
        missing timing.
    """
    file = _find_file(Path(path))
    try:
        ds = pydicom.dcmread(file)
    except (InvalidDicomError, OSError) as exc:
        raise _fail(file, f"not a readable DICOM file ({type(exc).__name__})",
                    remedy="give the reconstructed SPECT DICOM file") from None
    sop = str(ds.get("SOPClassUID", ""))
    if sop != NM_IMAGE_STORAGE:
        raise _fail(file, f"SOPClassUID (0008,0016) is {sop or 'missing'}, not NM Image Storage "
                    f"({NM_IMAGE_STORAGE})", value=sop,
                    remedy="give the reconstructed SPECT (NM Image Storage); PET goes to --pet")
    image_type = [str(v).upper() for v in (ds.get("ImageType") or [])]
    if len(image_type) < 3 or image_type[2] != "RECON TOMO":
        raise _fail(file, f"ImageType (0008,0008) is {image_type}: value 3 must be RECON TOMO (a "
                    "reconstructed, non-gated SPECT)", value=image_type,
                    remedy="reconstruct the projections on the scanner and export the RECON TOMO image")
    n_frames = int(ds.get("NumberOfFrames", 1) or 1)
    kind, slope, intercept, units_source = _units(ds, file)
    if not kind:
        if calibration_cps_per_mbq is None:
            raise _fail(file, "no Units (0054,1001) and no RealWorldValueMappingSequence (0040,9096): the "
                              "unit of "
                        "the values is unknown", remedy="export the SPECT in Bq/mL (Real World Value Mapping "
                        "in Bq/ml), or, for reconstructed counts, give --calibration-cps-per-mbq")
        kind = "counts"
        units_source = "assumed counts (no Units or Real World Value Mapping; calibration given)"
    if kind == "bqml" and (calibration_cps_per_mbq is not None or dead_time_us is not None):
        raise _fail(file, f"the image is already in Bq/mL ({units_source}); a calibration factor or dead "
                    "time would be applied twice", value=calibration_cps_per_mbq or dead_time_us,
                    remedy="drop --calibration-cps-per-mbq / --dead-time-us for this image")
    if kind == "counts" and calibration_cps_per_mbq is None:
        raise _fail(file, f"the image is in counts ({units_source}) and needs the system calibration factor",
                    remedy="give --calibration-cps-per-mbq (cps/MBq, from your site's phantom calibration)")
    order, window, detector = _frame_selection(ds, file, n_frames, energy_window)
    affine = _geometry(ds, file, detector)
    try:
        raw = np.asarray(ds.pixel_array)
    except (ValueError, EOFError, OSError, AttributeError, NotImplementedError, RuntimeError) as exc:
        raise _fail(file, f"cannot decode the image ({type(exc).__name__}: {str(exc)[:120]})",
                    remedy="re-export the SPECT from the scanner") from None
    if raw.ndim == 2:
        raw = raw[None]
    arr = raw[order].astype(np.float64) * slope + intercept
    start, total, half_life = _radiopharmaceutical(ds)
    acq = _acquisition_time([], ds) or parse_dicom_datetime(ds.get("AcquisitionDate"),
                                                            ds.get("AcquisitionTime"))
    if start is None:
        raise _fail(file, "no RadiopharmaceuticalStartDateTime (0018,1078) in the "
                    "RadiopharmaceuticalInformationSequence", remedy="the image must record the "
                                                                     "administration time")
    if acq is None:
        raise _fail(file, "no SeriesDate/SeriesTime or AcquisitionDate/AcquisitionTime",
                    remedy="the image must record the acquisition time")
    decay = _decay_correction(ds, file)
    if decay is DecayCorrection.ADMIN and half_life is None:
        raise _fail(file, "ADMIN decay correction but no RadionuclideHalfLife (0018,1075)")
    voxel_ml = float(abs(np.linalg.det(affine[:3, :3]))) / 1000.0
    factor = 1.0
    duration = rate = None
    model_name = None
    if kind == "counts":
        k = float(calibration_cps_per_mbq)  # type: ignore[arg-type]
        if not (math.isfinite(k) and k > 0):
            raise InputError("calibration factor must be positive", field="calibration_cps_per_mbq", value=k)
        duration = (acquisition_duration_s if acquisition_duration_s is not None
                    else _acquisition_duration_s(ds))
        if duration is None or not duration > 0:
            raise _fail(file, "counts image without an acquisition duration (RotationInformationSequence "
                        "ActualFrameDuration x NumberOfFramesInRotation)", value=duration,
                        remedy="give --acquisition-duration-s")
        rate = float(arr.sum()) / duration
        if dead_time_us is not None:
            if "DTIM" in [str(v).upper() for v in (ds.get("CorrectedImage") or [])]:
                raise _fail(file, "CorrectedImage (0028,0051) lists DTIM: the counts are already corrected "
                            "for dead time", value="DTIM", remedy="drop --dead-time-us for this image")
            model = DeadTimeModel(dead_time_model) if dead_time_model else default_dead_time_model()
            model_name = str(model)
            factor = dead_time_factor(rate, dead_time_us * 1e-6, model)
        arr = arr / duration * factor / k * 1e6 / voxel_ml  # counts -> cps -> MBq -> Bq -> Bq/mL
    volume = Volume(
        array=np.ascontiguousarray(arr, dtype=np.float32),
        affine=affine,
        units="BQML",
        acquisition_datetime=acq,
        radiopharmaceutical_start=start,
        total_dose_bq=total,
        half_life_s=half_life,
        nuclide=_nuclide_from_half_life(half_life),
        decay_correction=decay,
        series_uid=str(ds.get("SeriesInstanceUID", "")),
        frame_of_reference_uid=str(ds.get("FrameOfReferenceUID", "")),
        study_uid=str(ds.get("StudyInstanceUID", "")),
        source=str(file),
        patient={key: str(ds.get(key, "")) for key in ("PatientID", "PatientName", "StudyDate")},
    )
    return SpectVolume(volume, units_source, calibration_cps_per_mbq if kind == "counts" else None, duration,
                       rate, factor, model_name, dead_time_us if kind == "counts" else None, window)


def read_spect_time_series(paths: Sequence[str | Path], **kwargs: Any) -> list[SpectVolume]:
    """Read several SPECT time points (one file or folder each) with the same options."""
    return [read_spect(p, **kwargs) for p in paths]
