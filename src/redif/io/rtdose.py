"""DICOM RT Dose writer/reader for voxel dose maps (pydicom).

The dose grid is the PET grid: one multi-frame RT Dose instance in the PET's study and frame of
reference, frames along the slice normal (GridFrameOffsetVector relative to the first frame), 32-bit
unsigned stored values times DoseGridScaling = dose in Gy, DoseUnits GY, DoseType PHYSICAL.
DoseSummationType is PLAN (no RT Plan exists for a radiopharmaceutical therapy; no plan is referenced).

References
----------
DICOM PS3.3 A.18 (RT Dose IOD), C.8.8.3 (RT Dose Module).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pydicom
from numpy.typing import NDArray
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from redif import __version__
from redif.errors import DicomInputError
from redif.io.volume import Volume, affine_from_geometry

__all__ = ["RT_DOSE_STORAGE", "read_rtdose", "write_rtdose"]

RT_DOSE_STORAGE = "1.2.840.10008.5.1.4.1.1.481.2"
_UINT32_MAX = 4294967295


def write_rtdose(path: str | Path, dose_gy: NDArray[np.floating], reference: Volume, *,
                 description: str = "redif voxel dose (kernel convolution)") -> str:
    """Write ``dose_gy`` (``[slice, row, column]`` on ``reference``'s grid); returns the SOP Instance UID."""
    dose = np.asarray(dose_gy, dtype=np.float64)
    if dose.shape != reference.shape:
        raise ValueError(f"dose shape {dose.shape} differs from the reference grid {reference.shape}")
    dose = np.maximum(dose, 0.0)
    vmax = float(dose.max())
    scaling = vmax / _UINT32_MAX if vmax > 0 else 1.0
    stored = np.round(dose / scaling).astype("<u4")
    aff = reference.affine
    now = datetime.now()
    ds = Dataset()
    ds.SOPClassUID = RT_DOSE_STORAGE
    ds.SOPInstanceUID = generate_uid()
    ds.Modality = "RTDOSE"
    for key, val in reference.patient.items():
        if key in ("PatientID", "PatientName"):
            setattr(ds, key, val)
    ds.PatientBirthDate = ""
    ds.PatientSex = ""
    ds.StudyInstanceUID = reference.study_uid or generate_uid()
    ds.StudyDate = reference.patient.get("StudyDate", "")
    ds.StudyTime = ""
    ds.StudyID = ""
    ds.ReferringPhysicianName = ""
    ds.AccessionNumber = ""
    ds.SeriesInstanceUID = generate_uid()
    ds.SeriesNumber = 900
    ds.SeriesDescription = description[:64]
    ds.FrameOfReferenceUID = reference.frame_of_reference_uid or generate_uid()
    ds.PositionReferenceIndicator = ""
    ds.Manufacturer = "redif"
    ds.SoftwareVersions = __version__
    ds.InstanceNumber = 1
    ds.ContentDate = now.strftime("%Y%m%d")
    ds.ContentTime = now.strftime("%H%M%S")
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 32
    ds.BitsStored = 32
    ds.HighBit = 31
    ds.PixelRepresentation = 0
    nz, ny, nx = dose.shape
    ds.Rows, ds.Columns = ny, nx
    ds.NumberOfFrames = nz
    ds.FrameIncrementPointer = pydicom.tag.Tag("GridFrameOffsetVector")
    row_dir = aff[:3, 2] / np.linalg.norm(aff[:3, 2])
    col_dir = aff[:3, 1] / np.linalg.norm(aff[:3, 1])
    ds.ImagePositionPatient = [float(v) for v in aff[:3, 3]]
    ds.ImageOrientationPatient = [float(v) for v in (*row_dir, *col_dir)]
    ds.PixelSpacing = [float(np.linalg.norm(aff[:3, 1])), float(np.linalg.norm(aff[:3, 2]))]
    step = float(np.linalg.norm(aff[:3, 0]))
    normal = np.cross(row_dir, col_dir)
    sign = 1.0 if float(aff[:3, 0] @ normal) >= 0 else -1.0
    ds.SliceThickness = step
    ds.GridFrameOffsetVector = [round(sign * step * k, 6) for k in range(nz)]
    ds.DoseUnits = "GY"
    ds.DoseType = "PHYSICAL"
    ds.DoseSummationType = "PLAN"
    ds.DoseComment = "absorbed dose from voxel S-value convolution (redif)"[:64]
    ds.DoseGridScaling = f"{scaling:.10g}"
    ds.PixelData = stored.tobytes()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    ds.save_as(str(path), enforce_file_format=True)
    return str(ds.SOPInstanceUID)


def read_rtdose(path: str | Path) -> tuple[NDArray[np.float64], NDArray[np.float64], Dataset]:
    """Read an RT Dose file: dose in Gy ``[frame, row, column]``, its LPS affine, and the dataset."""
    ds = pydicom.dcmread(str(path))
    if str(ds.get("Modality", "")) != "RTDOSE":
        raise DicomInputError("not an RT Dose file", field=str(path), value=ds.get("Modality"))
    if str(ds.get("DoseUnits", "")).upper() != "GY":
        raise DicomInputError("RT Dose units are not GY", field=str(path), value=ds.get("DoseUnits"))
    arr = np.asarray(ds.pixel_array, dtype=np.float64) * float(ds.DoseGridScaling)
    if arr.ndim == 2:
        arr = arr[None]
    iop = np.asarray(ds.ImageOrientationPatient, dtype=np.float64)
    normal = np.cross(iop[:3], iop[3:6])
    offsets = np.asarray(ds.GridFrameOffsetVector, dtype=np.float64)
    step = (offsets[1] - offsets[0]) if len(offsets) > 1 else float(ds.get("SliceThickness", 1.0))
    affine = affine_from_geometry(np.asarray(ds.ImagePositionPatient, dtype=np.float64), iop,
                                  (float(ds.PixelSpacing[0]), float(ds.PixelSpacing[1])), normal * step)
    return arr, affine, ds
