"""Write PET and CT DICOM series (used by ``redif phantom``; realistic, standard-conformant headers).

PET: PET Image Storage, one file per slice, int16 stored values with a float RescaleSlope per slice,
Units BQML, Decay Correction START (values = activity at the series start) or ADMIN, CorrectedImage,
RadiopharmaceuticalInformationSequence (start date-time, total dose, half-life, radionuclide code).

References
----------
DICOM PS3.3 A.21 (PET Image IOD), C.8.9.1, C.8.9.2; A.3 (CT Image IOD).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.sr.codedict import codes
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from redif import __version__
from redif.data.nuclides import get_nuclide
from redif.io.volume import DecayCorrection

__all__ = ["SeriesContext", "SpectCounts", "spect_paths", "write_ct_series", "write_nm_spect",
           "write_pet_series"]

PET_STORAGE = "1.2.840.10008.5.1.4.1.1.128"
CT_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
_INT16_MAX = 32767


@dataclass(frozen=True)
class SeriesContext:
    """Patient/study identifiers shared by the series of one synthetic study."""

    study_uid: str
    frame_of_reference_uid: str
    patient_id: str = "REDIF-PHANTOM-001"
    patient_name: str = "Phantom^Redif"
    study_datetime: datetime = datetime(2026, 1, 5, 9, 0, 0)
    patient_weight_kg: float = 70.0

    @staticmethod
    def new(**kw: object) -> SeriesContext:
        """Fresh UIDs."""
        return SeriesContext(generate_uid(), generate_uid(), **kw)  # type: ignore[arg-type]


def _da(dt: datetime) -> str:
    return dt.strftime("%Y%m%d")


def _tm(dt: datetime) -> str:
    return dt.strftime("%H%M%S.%f")[:13]


def _base(ctx: SeriesContext, sop_class: str, modality: str, series_uid: str, series_dt: datetime,
          series_number: int, description: str) -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = sop_class
    ds.Modality = modality
    ds.PatientID = ctx.patient_id
    ds.PatientName = ctx.patient_name
    ds.PatientBirthDate = ""
    ds.PatientSex = "O"
    ds.PatientWeight = f"{ctx.patient_weight_kg:.1f}"
    ds.StudyInstanceUID = ctx.study_uid
    ds.StudyDate = _da(ctx.study_datetime)
    ds.StudyTime = _tm(ctx.study_datetime)
    ds.StudyID = "1"
    ds.AccessionNumber = ""
    ds.ReferringPhysicianName = ""
    ds.SeriesInstanceUID = series_uid
    ds.SeriesNumber = series_number
    ds.SeriesDate = _da(series_dt)
    ds.SeriesTime = _tm(series_dt)
    ds.SeriesDescription = description
    ds.FrameOfReferenceUID = ctx.frame_of_reference_uid
    ds.PositionReferenceIndicator = ""
    ds.Manufacturer = "redif synthetic phantom"
    ds.ManufacturerModelName = "redif.dosimetry.phantoms"
    ds.SoftwareVersions = __version__
    ds.PatientPosition = "FFS"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    return ds


def _plane(ds: Dataset, affine: NDArray[np.float64], k: int) -> None:
    pos = affine @ np.array([k, 0, 0, 1.0])
    row_dir = affine[:3, 2] / np.linalg.norm(affine[:3, 2])
    col_dir = affine[:3, 1] / np.linalg.norm(affine[:3, 1])
    ds.ImagePositionPatient = [round(float(p), 4) for p in pos[:3]]
    ds.ImageOrientationPatient = [round(float(c), 6) for c in (*row_dir, *col_dir)]
    ds.PixelSpacing = [round(float(np.linalg.norm(affine[:3, 1])), 6),
                       round(float(np.linalg.norm(affine[:3, 2])), 6)]
    thick = float(np.linalg.norm(affine[:3, 0]))
    ds.SliceThickness = round(thick, 6)
    ds.SliceLocation = round(float(pos[2]), 4)


def _save(ds: Dataset, path: Path) -> None:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    ds.save_as(path, enforce_file_format=True)


def write_pet_series(
    directory: str | Path,
    activity_bqml: NDArray[np.float32],
    affine: NDArray[np.float64],
    *,
    ctx: SeriesContext,
    time_h: float,
    injected_activity_mbq: float,
    nuclide: str = "I-124",
    decay_correction: DecayCorrection = DecayCorrection.START,
    series_number: int = 100,
    frame_duration_s: float = 600.0,
) -> list[str]:
    """Write one PET time point; returns the SOP Instance UIDs in slice order.

    ``activity_bqml`` is the activity concentration at the series start (not decay corrected). With
    ``decay_correction=ADMIN`` the stored values are decay corrected to the administration time.
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    nuc = get_nuclide(nuclide)
    injection = ctx.study_datetime
    series_dt = injection + timedelta(hours=time_h)
    factor = 1.0
    if decay_correction is DecayCorrection.ADMIN:
        factor = float(np.exp(nuc.decay_constant_per_h * time_h))
    series_uid = generate_uid()
    uids = []
    nz = activity_bqml.shape[0]
    for k in range(nz):
        ds = _base(ctx, PET_STORAGE, "PT", series_uid, series_dt, series_number,
                   f"124I PET {time_h:g} h p.i. (synthetic)")
        ds.SOPInstanceUID = generate_uid()
        ds.InstanceNumber = k + 1
        ds.ImageIndex = k + 1
        ds.ImageType = ["ORIGINAL", "PRIMARY"]
        ds.AcquisitionDate = _da(series_dt)
        ds.AcquisitionTime = _tm(series_dt)
        ds.ContentDate = _da(series_dt)
        ds.ContentTime = _tm(series_dt)
        ds.Units = "BQML"
        ds.DecayCorrection = decay_correction.value
        ds.CountsSource = "EMISSION"
        ds.SeriesType = ["STATIC", "IMAGE"]
        ds.CorrectedImage = ["DECY", "ATTN", "SCAT", "DTIM", "RAN", "NORM"]
        ds.RandomsCorrectionMethod = "DLYD"
        ds.AttenuationCorrectionMethod = "CT-based"
        ds.ReconstructionMethod = "OSEM 3i21s"
        ds.NumberOfSlices = nz
        ds.DecayFactor = round(factor, 8)
        ds.FrameReferenceTime = 0.0
        ds.ActualFrameDuration = int(frame_duration_s * 1000)
        ds.DoseCalibrationFactor = 1.0
        ds.AcquisitionStartCondition = "MANU"
        rp = Dataset()
        rp.Radiopharmaceutical = "Sodium iodide I-124"
        rp.RadiopharmaceuticalStartDateTime = injection.strftime("%Y%m%d%H%M%S.%f")[:21]
        rp.RadiopharmaceuticalStartTime = _tm(injection)
        rp.RadionuclideTotalDose = round(injected_activity_mbq * 1e6, 1)
        rp.RadionuclideHalfLife = round(nuc.half_life_s, 1)
        code = codes.SCT._124Iodine if nuclide == "I-124" else None
        if code is not None:
            item = Dataset()
            item.CodeValue = code.value
            item.CodingSchemeDesignator = code.scheme_designator
            item.CodeMeaning = code.meaning
            rp.RadionuclideCodeSequence = DicomSequence([item])
            agent = codes.SCT.SodiumIodideI124
            item2 = Dataset()
            item2.CodeValue = agent.value
            item2.CodingSchemeDesignator = agent.scheme_designator
            item2.CodeMeaning = agent.meaning
            rp.RadiopharmaceuticalCodeSequence = DicomSequence([item2])
        ds.RadiopharmaceuticalInformationSequence = DicomSequence([rp])
        _plane(ds, affine, k)
        ds.Rows, ds.Columns = int(activity_bqml.shape[1]), int(activity_bqml.shape[2])
        plane = activity_bqml[k].astype(np.float64) * factor
        vmax = float(np.max(np.abs(plane)))
        slope = vmax / _INT16_MAX if vmax > 0 else 1.0
        stored = np.round(plane / slope).astype("<i2")
        ds.RescaleSlope = f"{slope:.10g}"[:16]
        ds.RescaleIntercept = "0"
        # re-derive the stored values with the slope exactly as written (DS is 16 characters)
        stored = np.clip(np.round(plane / float(ds.RescaleSlope)), -_INT16_MAX, _INT16_MAX).astype("<i2")
        ds.RescaleType = "BQML"
        ds.LargestImagePixelValue = int(stored.max())
        ds.SmallestImagePixelValue = int(stored.min())
        ds.PixelData = stored.tobytes()
        uids.append(str(ds.SOPInstanceUID))
        _save(ds, out / f"PT{k + 1:04d}.dcm")
    return uids


def write_ct_series(directory: str | Path, hu: NDArray[np.int16], affine: NDArray[np.float64], *,
                    ctx: SeriesContext, series_number: int = 2) -> list[str]:
    """Write a CT series (RescaleIntercept -1024) on the given grid; returns SOP Instance UIDs."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    series_uid = generate_uid()
    uids = []
    for k in range(hu.shape[0]):
        ds = _base(ctx, CT_STORAGE, "CT", series_uid, ctx.study_datetime + timedelta(hours=4),
                   series_number, "low-dose CT for attenuation and localisation (synthetic)")
        ds.SOPInstanceUID = generate_uid()
        ds.InstanceNumber = k + 1
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.KVP = 120
        ds.RescaleIntercept = -1024
        ds.RescaleSlope = 1
        ds.RescaleType = "HU"
        _plane(ds, affine, k)
        ds.Rows, ds.Columns = int(hu.shape[1]), int(hu.shape[2])
        ds.PixelData = (hu[k].astype(np.int32) + 1024).astype("<i2").tobytes()
        uids.append(str(ds.SOPInstanceUID))
        _save(ds, out / f"CT{k + 1:04d}.dcm")
    return uids


def write_json(path: str | Path, payload: object) -> None:
    """Write indented JSON (truth files)."""
    Path(path).write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


def pet_dirs(outdir: str | Path, time_points_h: Sequence[float]) -> list[Path]:
    """Folder names the phantom writer uses for its PET time points."""
    return [Path(outdir) / f"pet_{t:05.1f}h".replace(".", "p") for t in time_points_h]


NM_STORAGE = "1.2.840.10008.5.1.4.1.1.20"
_UINT16_MAX = 65535


@dataclass(frozen=True)
class SpectCounts:
    """How :func:`write_nm_spect` turns activity into observed counts (the counts variant).

    ``counts = A_voxel[MBq] * K * T * (m / n)``, with the observed-to-true rate ratio ``m / n`` of the
    dead-time model for the true total rate ``n = K * sum(A)`` (paralysable ``m = n exp(-n tau)``,
    non-paralysable ``m = n / (1 + n tau)``); :func:`redif.io.spect.read_spect` inverts it.
    """

    calibration_cps_per_mbq: float
    dead_time_us: float = 0.0
    dead_time_model: str = "paralysable"
    views: int = 60
    view_duration_s: float = 30.0

    @property
    def duration_s(self) -> float:
        """Acquisition duration, s (views x view duration)."""
        return self.views * self.view_duration_s

    def observed_fraction(self, true_rate_cps: float) -> float:
        """``m / n`` at the true count rate ``n`` (cps)."""
        tau = self.dead_time_us * 1e-6
        if self.dead_time_model == "paralysable":
            return float(np.exp(-true_rate_cps * tau))
        return 1.0 / (1.0 + true_rate_cps * tau)


def write_nm_spect(
    path: str | Path,
    activity_bqml: NDArray[np.float32],
    affine: NDArray[np.float64],
    *,
    ctx: SeriesContext,
    time_h: float,
    administered_activity_mbq: float,
    nuclide: str = "I-131",
    counts: SpectCounts | None = None,
    series_number: int = 200,
) -> str:
    """Write one reconstructed 131I SPECT time point as one NM multi-frame file; returns its SOP UID.

    NM Image Storage, ImageType ``ORIGINAL\\PRIMARY\\RECON TOMO\\EMISSION``, frames indexed by the
    Energy Window, Detector and Slice vectors, geometry in the Detector Information Sequence, uint16
    stored values. Bq/mL images carry a Real World Value Mapping in ``Bq/ml`` (UCUM); with ``counts`` the
    values are observed counts (Real World Value Mapping ``{counts}``, Rotation Information Sequence with
    the view duration and number of views). ``activity_bqml`` is the activity at the scan (not decay
    corrected; no DecayCorrection element is written).
    """
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    nuc = get_nuclide(nuclide)
    injection = ctx.study_datetime
    series_dt = injection + timedelta(hours=time_h)
    voxel_ml = float(abs(np.linalg.det(affine[:3, :3]))) / 1000.0
    values = activity_bqml.astype(np.float64)
    if counts is not None:
        mbq = values * voxel_ml / 1e6
        k = counts.calibration_cps_per_mbq
        true_rate = float(mbq.sum()) * k
        values = mbq * k * counts.duration_s * counts.observed_fraction(true_rate)
    vmax = float(values.max())
    slope = float(f"{(vmax / _UINT16_MAX if vmax > 0 else 1.0):.10g}"[:16])
    stored = np.clip(np.round(values / slope), 0, _UINT16_MAX).astype("<u2")
    nz = activity_bqml.shape[0]
    ds = _base(ctx, NM_STORAGE, "NM", generate_uid(), series_dt, series_number,
               f"131I SPECT {time_h:g} h post-therapy (synthetic)")
    ds.PixelRepresentation = 0
    ds.SOPInstanceUID = generate_uid()
    ds.InstanceNumber = 1
    ds.ImageType = ["ORIGINAL", "PRIMARY", "RECON TOMO", "EMISSION"]
    ds.AcquisitionDate = _da(series_dt)
    ds.AcquisitionTime = _tm(series_dt)
    ds.ContentDate = _da(series_dt)
    ds.ContentTime = _tm(series_dt)
    ds.NumberOfFrames = nz
    ds.FrameIncrementPointer = [0x00540010, 0x00540020, 0x00540080]
    ds.NumberOfEnergyWindows = 1
    ds.EnergyWindowVector = [1] * nz
    ds.NumberOfDetectors = 1
    ds.DetectorVector = [1] * nz
    ds.NumberOfSlices = nz
    ds.SliceVector = list(range(1, nz + 1))
    window = Dataset()
    window.EnergyWindowName = "I131 PHOTOPEAK"
    rng = Dataset()
    rng.EnergyWindowLowerLimit = "328"
    rng.EnergyWindowUpperLimit = "401"
    window.EnergyWindowRangeSequence = DicomSequence([rng])
    ds.EnergyWindowInformationSequence = DicomSequence([window])
    det = Dataset()
    pos = affine @ np.array([0, 0, 0, 1.0])
    row_dir = affine[:3, 2] / np.linalg.norm(affine[:3, 2])
    col_dir = affine[:3, 1] / np.linalg.norm(affine[:3, 1])
    det.ImagePositionPatient = [round(float(p), 4) for p in pos[:3]]
    det.ImageOrientationPatient = [round(float(c), 6) for c in (*row_dir, *col_dir)]
    ds.DetectorInformationSequence = DicomSequence([det])
    ds.PixelSpacing = [round(float(np.linalg.norm(affine[:3, 1])), 6),
                       round(float(np.linalg.norm(affine[:3, 2])), 6)]
    ds.SpacingBetweenSlices = round(float(np.linalg.norm(affine[:3, 0])), 6)
    ds.SliceThickness = ds.SpacingBetweenSlices
    rot = Dataset()
    rot.ActualFrameDuration = round((counts.view_duration_s if counts else 30.0) * 1000)
    rot.NumberOfFramesInRotation = counts.views if counts else 60
    ds.RotationInformationSequence = DicomSequence([rot])
    ds.CorrectedImage = ["UNIF", "COR", "ATTN", "SCAT"]
    rp = Dataset()
    rp.Radiopharmaceutical = "Sodium iodide I-131"
    rp.RadiopharmaceuticalStartDateTime = injection.strftime("%Y%m%d%H%M%S.%f")[:21]
    rp.RadionuclideTotalDose = round(administered_activity_mbq * 1e6, 1)
    rp.RadionuclideHalfLife = round(nuc.half_life_s, 1)
    ds.RadiopharmaceuticalInformationSequence = DicomSequence([rp])
    rwv = Dataset()
    rwv.RealWorldValueFirstValueMapped = 0
    rwv.RealWorldValueLastValueMapped = _UINT16_MAX
    rwv.RealWorldValueSlope = slope
    rwv.RealWorldValueIntercept = 0.0
    unit = Dataset()
    if counts is None:
        unit.CodeValue, unit.CodeMeaning = "Bq/ml", "Becquerels/milliliter"
        rwv.LUTLabel, rwv.LUTExplanation = "BQML", "activity concentration at the scan"
    else:
        unit.CodeValue, unit.CodeMeaning = "{counts}", "Counts"
        rwv.LUTLabel, rwv.LUTExplanation = "CNTS", "reconstructed counts"
    unit.CodingSchemeDesignator = "UCUM"
    rwv.MeasurementUnitsCodeSequence = DicomSequence([unit])
    ds.RealWorldValueMappingSequence = DicomSequence([rwv])
    ds.Rows, ds.Columns = int(activity_bqml.shape[1]), int(activity_bqml.shape[2])
    ds.PixelData = stored.tobytes()
    _save(ds, out)
    return str(ds.SOPInstanceUID)


def spect_paths(outdir: str | Path, time_points_h: Sequence[float], *, counts: bool = False) -> list[Path]:
    """File names the phantom writer uses for its SPECT time points."""
    stem = "spect_counts" if counts else "spect"
    return [Path(outdir) / f"{stem}_{t:05.1f}h".replace(".", "p") / "NM0001.dcm" for t in time_points_h]
