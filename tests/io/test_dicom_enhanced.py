"""Issue 14: enhanced multi-frame PET is read like the classic series it was made from.

Expected values: the classic PET series of the phantom read by :func:`read_pet_series` (itself tested
against the phantom's arrays in test_dicom.py). Two enhanced files are made from the same phantom: a
Legacy Converted Enhanced PET written by highdicom from the classic slices, and an Enhanced PET Image
(SOP class 1.2.840.10008.5.1.4.1.1.130) written with pydicom, with per-frame Real World Value Mapping in
Bq/ml and values decay corrected to a third time (1 h after the injection), which the reader must bring
back to the acquisition start by the closed form ``exp(-lambda (t_acq - t_dc))``.
"""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from redif.dosimetry.phantoms import Phantom
from redif.errors import DicomInputError
from redif.io.dicom import read_pet_series
from redif.io.volume import DecayCorrection
from redif.workflows.phantom_files import PhantomFiles

_MAX_U16 = 65535


def _item(**kw: object) -> Dataset:
    ds = Dataset()
    for k, v in kw.items():
        setattr(ds, k, v)
    return ds


def _enhanced_from_phantom(path: Path, small_phantom: Phantom, k: int, *, dc_offset_h: float = 1.0,
                           dynamic: bool = False) -> None:
    """Time point k as an Enhanced PET Image (pydicom), values decay corrected to injection + dc_offset_h."""
    arr = small_phantom.activity_bqml[k].astype(np.float64)
    t_h = small_phantom.spec.time_points_h[k]
    lam = math.log(2) / (4.1760 * 86400)  # I-124 (ICRP-107), as RadionuclideHalfLife below
    factor = math.exp(lam * (t_h - dc_offset_h) * 3600)  # value at t_dc = value at acquisition x factor
    values = arr * factor
    aff = small_phantom.affine
    inj = pydicom.valuerep.DT("20260105090000")
    acq = inj + timedelta(hours=t_h)
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.130"
    ds.SOPInstanceUID = generate_uid()
    ds.SeriesInstanceUID, ds.StudyInstanceUID = generate_uid(), generate_uid()
    ds.FrameOfReferenceUID = generate_uid()
    ds.Modality = "PT"
    ds.PatientID = "P"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "VOLUME", "NONE"]
    ds.AcquisitionDateTime = acq.strftime("%Y%m%d%H%M%S")
    ds.DecayCorrected = "YES"
    ds.DecayCorrectionDateTime = (inj + timedelta(hours=dc_offset_h)).strftime("%Y%m%d%H%M%S")
    ds.RadiopharmaceuticalInformationSequence = DicomSequence([_item(
        RadiopharmaceuticalStartDateTime="20260105090000", RadionuclideTotalDose=37e6,
        RadionuclideHalfLife=4.1760 * 86400)])
    ds.SharedFunctionalGroupsSequence = DicomSequence([_item(
        PlaneOrientationSequence=DicomSequence([_item(ImageOrientationPatient=[1, 0, 0, 0, 1, 0])]),
        PixelMeasuresSequence=DicomSequence([_item(PixelSpacing=[float(aff[1, 1]), float(aff[0, 2])],
                                                   SliceThickness=float(aff[2, 0]))]))])
    nz = arr.shape[0]
    frames, stored = [], []
    order = list(range(nz))[::-1]  # frames stored head to feet: the reader must sort them
    for z in order:
        plane = values[z]
        slope = max(float(plane.max()), 1e-6) / _MAX_U16
        stored.append(np.round(plane / slope).astype("<u2"))
        unit = _item(CodeValue="Bq/ml", CodingSchemeDesignator="UCUM", CodeMeaning="Becquerels/milliliter")
        rwv = _item(RealWorldValueFirstValueMapped=0, RealWorldValueLastValueMapped=_MAX_U16,
                    RealWorldValueSlope=slope, RealWorldValueIntercept=0.0, LUTLabel="BQML",
                    MeasurementUnitsCodeSequence=DicomSequence([unit]))
        pos = aff @ np.array([0 if dynamic else z, 0, 0, 1.0])
        frames.append(_item(
            PlanePositionSequence=DicomSequence([_item(ImagePositionPatient=[float(v) for v in pos[:3]])]),
            FrameContentSequence=DicomSequence([_item(FrameAcquisitionDateTime=acq.strftime("%Y%m%d%H%M%S"))]),
            RealWorldValueMappingSequence=DicomSequence([rwv])))
    ds.PerFrameFunctionalGroupsSequence = DicomSequence(frames)
    ds.NumberOfFrames = nz
    ds.Rows, ds.Columns = arr.shape[1], arr.shape[2]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.PixelData = np.stack(stored).tobytes()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    path.mkdir(parents=True)
    ds.save_as(path / "enhanced.dcm", enforce_file_format=True)


def test_legacy_converted_enhanced_pet_matches_classic(phantom_files: PhantomFiles, tmp_path: Path) -> None:
    """Issue 14: highdicom's Legacy Converted Enhanced PET of a time point reads as the classic series."""
    import highdicom as hd

    classic_dir = phantom_files.pet_dirs[1]
    classic = read_pet_series(classic_dir)
    slices = [pydicom.dcmread(p) for p in sorted(classic_dir.glob("*.dcm"))]
    lce = hd.legacy.LegacyConvertedEnhancedPETImage(slices, generate_uid(), 1, generate_uid(), 1)
    (tmp_path / "lce").mkdir()
    lce.save_as(tmp_path / "lce" / "lce.dcm")
    vol = read_pet_series(tmp_path / "lce")
    assert np.max(np.abs(vol.array - classic.array)) == 0.0
    np.testing.assert_allclose(vol.affine, classic.affine, atol=1e-6)
    assert vol.decay_correction is DecayCorrection.START and vol.nuclide == "I-124"
    assert vol.time_since_admin_h == pytest.approx(classic.time_since_admin_h)
    assert vol.total_dose_bq == pytest.approx(classic.total_dose_bq)


def test_enhanced_pet_matches_classic(small_phantom: Phantom, phantom_files: PhantomFiles,
                                      tmp_path: Path) -> None:
    """Issue 14: an Enhanced PET (per-frame RWV Bq/ml, frames in reverse order, decay corrected to another
    time) gives the classic series' volume at the acquisition start (within the quantisation of both)."""
    k = 2
    _enhanced_from_phantom(tmp_path / "enh", small_phantom, k)
    classic = read_pet_series(phantom_files.pet_dirs[k])
    vol = read_pet_series(tmp_path / "enh")
    assert vol.decay_correction is DecayCorrection.START
    np.testing.assert_allclose(vol.affine, classic.affine, atol=1e-6)
    truth = small_phantom.activity_bqml[k]
    rel = float(np.max(np.abs(vol.array - classic.array)) / truth.max())
    print(f"enhanced vs classic: max |diff| / max = {rel:.2e}")
    assert rel < 2e-4, rel
    assert vol.time_since_admin_h == pytest.approx(small_phantom.spec.time_points_h[k])


def test_dynamic_enhanced_pet_is_refused(small_phantom: Phantom, tmp_path: Path) -> None:
    """Issue 14: several frames at one position (dynamic/gated) are refused, naming the file."""
    _enhanced_from_phantom(tmp_path / "dyn", small_phantom, 0, dynamic=True)
    with pytest.raises(DicomInputError, match="dynamic or gated") as err:
        read_pet_series(tmp_path / "dyn")
    assert "enhanced.dcm" in str(err.value)
