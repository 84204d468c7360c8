"""PET DICOM reading: units, per-slice rescale, decay correction, geometry checks.

Expected values come from the generator's own arrays (the DICOM writer stores int16 values with a
per-slice float slope, so the reader must reproduce them to within half a slope step) and from the
closed form of decay, A = A_dc * exp(-lambda t) with lambda = ln2 / RadionuclideHalfLife.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest

from redif.dosimetry.phantoms import Phantom
from redif.errors import DicomInputError
from redif.io.dicom import parse_dicom_datetime, read_pet_series
from redif.io.volume import DecayCorrection
from redif.workflows.phantom_files import PhantomFiles


def _slopes(folder: Path) -> list[float]:
    return [float(pydicom.dcmread(p, stop_before_pixels=True).RescaleSlope) for p in sorted(folder.iterdir())]


def test_round_trip_values_geometry_and_timing(small_phantom: Phantom, phantom_files: PhantomFiles) -> None:
    for i, folder in enumerate(phantom_files.pet_dirs):
        vol = read_pet_series(folder)
        truth = small_phantom.activity_bqml[i]
        slopes = np.array(_slopes(folder))
        assert vol.array.dtype == np.float32
        assert vol.shape == truth.shape
        # per-slice slope applied as a float: error <= half a quantisation step of that slice
        err = np.abs(vol.array - truth).reshape(truth.shape[0], -1).max(axis=1)
        assert np.all(err <= slopes * 0.5 + 1e-3)
        np.testing.assert_allclose(vol.affine, small_phantom.affine, atol=1e-4)
        assert vol.time_since_admin_h == pytest.approx(small_phantom.spec.time_points_h[i])
        assert vol.nuclide == "I-124"
        assert vol.decay_correction is DecayCorrection.START
        assert vol.total_dose_bq == pytest.approx(37e6)
        assert vol.units == "BQML"
    # the slopes really differ per slice (a reader using one slope would fail the check above)
    assert len(set(_slopes(phantom_files.pet_dirs[0]))) >= 5


def test_admin_decay_correction_is_undone(phantom_files: PhantomFiles, admin_series: Path) -> None:
    """ADMIN values are A*exp(lambda t); activity_at_acquisition must return A (closed form)."""
    start = read_pet_series(phantom_files.pet_dirs[-1])
    admin = read_pet_series(admin_series)
    assert admin.decay_correction is DecayCorrection.ADMIN
    lam = math.log(2) / admin.half_life_s  # type: ignore[operator]
    ratio = float(admin.array.max() / start.array.max())
    assert ratio == pytest.approx(math.exp(lam * 96 * 3600), rel=1e-3)
    back = admin.activity_at_acquisition()
    assert back.decay_correction is DecayCorrection.START
    np.testing.assert_allclose(back.array, start.array, rtol=2e-3, atol=float(start.array.max()) * 1e-4)
    # never converted twice
    np.testing.assert_array_equal(back.activity_at_acquisition().array, back.array)


def test_file_order_does_not_matter(phantom_files: PhantomFiles, tmp_path: Path) -> None:
    src = phantom_files.pet_dirs[1]
    dst = tmp_path / "shuffled"
    dst.mkdir()
    files = sorted(src.iterdir())
    for i, f in enumerate(reversed(files)):
        shutil.copy(f, dst / f"x{(i * 7919) % len(files):05d}_{i}.dcm")
    (dst / "notes.txt").write_text("not dicom")
    a, b = read_pet_series(src), read_pet_series(dst)
    np.testing.assert_array_equal(a.array, b.array)
    np.testing.assert_allclose(a.affine, b.affine)


def _damaged(phantom_files: PhantomFiles, tmp_path: Path, edit: object, which: str = "all") -> Path:
    dst = tmp_path / "series"
    shutil.copytree(phantom_files.pet_dirs[0], dst)
    files = sorted(dst.iterdir())
    targets = files if which == "all" else [files[len(files) // 2]]
    for f in targets:
        ds = pydicom.dcmread(f)
        if edit(ds) is not False:  # type: ignore[operator]
            ds.save_as(f)
    return dst


def test_missing_slice_is_named(phantom_files: PhantomFiles, tmp_path: Path) -> None:
    dst = tmp_path / "gap"
    shutil.copytree(phantom_files.pet_dirs[0], dst)
    sorted(dst.iterdir())[10].unlink()
    with pytest.raises(DicomInputError, match="missing slice"):
        read_pet_series(dst)


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda ds: setattr(ds, "Units", "GML"), "not BQML"),
        (lambda ds: delattr(ds, "Units"), "missing"),
        (lambda ds: delattr(ds, "DecayCorrection"), "DecayCorrection"),
        (lambda ds: delattr(ds, "RadiopharmaceuticalInformationSequence"), "RadiopharmaceuticalStart"),
    ],
)
def test_unusable_series_named(phantom_files: PhantomFiles, tmp_path: Path, edit: object, match: str) -> None:
    folder = _damaged(phantom_files, tmp_path, edit)
    with pytest.raises(DicomInputError, match=match) as info:
        read_pet_series(folder)
    assert str(folder) in str(info.value)


def test_counts_need_calibration(phantom_files: PhantomFiles, tmp_path: Path) -> None:
    folder = _damaged(phantom_files, tmp_path, lambda ds: setattr(ds, "Units", "CNTS"))
    with pytest.raises(DicomInputError, match="calibration"):
        read_pet_series(folder)
    ref = read_pet_series(phantom_files.pet_dirs[0])
    scaled = read_pet_series(folder, calibration_bqml_per_count=2.5)
    np.testing.assert_allclose(scaled.array, ref.array * 2.5, rtol=1e-6)


def test_oblique_slice_refused(phantom_files: PhantomFiles, tmp_path: Path) -> None:
    def tilt(ds: pydicom.Dataset) -> None:
        ds.ImageOrientationPatient = [1, 0, 0, 0, 0.9950042, 0.0998334]

    folder = _damaged(phantom_files, tmp_path, tilt, which="one")
    with pytest.raises(DicomInputError, match="orientation"):
        read_pet_series(folder)


def test_two_series_in_one_folder(phantom_files: PhantomFiles, tmp_path: Path) -> None:
    dst = tmp_path / "mixed"
    shutil.copytree(phantom_files.pet_dirs[0], dst)
    shutil.copytree(phantom_files.pet_dirs[1], dst / "other")
    with pytest.raises(DicomInputError, match="2 series"):
        read_pet_series(dst)


def test_parse_datetime() -> None:
    assert parse_dicom_datetime("20260105", "093015.25").isoformat() == "2026-01-05T09:30:15.250000"  # type: ignore[union-attr]
    assert parse_dicom_datetime("20260105093015+0100").isoformat() == "2026-01-05T09:30:15"  # type: ignore[union-attr]
    assert parse_dicom_datetime("") is None


def _nm_multiframe(path: Path, small_phantom: Phantom, k: int) -> np.ndarray:
    """Write time point k as a reconstructed NM (SPECT) multi-frame image, as SPECT systems export."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.sequence import Sequence as DicomSequence
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    arr = small_phantom.activity_bqml[k]
    slope = float(arr.max()) / 60000
    stored = np.round(arr / slope).astype("<u2")
    aff = small_phantom.affine
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.20"
    ds.SOPInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = "NM"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "RECON TOMO", "EMISSION"]
    ds.SeriesDate, ds.SeriesTime = "20260106", "090000"
    ds.Units = "BQML"
    ds.DecayCorrection = "START"
    rp = Dataset()
    rp.RadiopharmaceuticalStartDateTime = "20260105090000"
    rp.RadionuclideTotalDose = 3.7e9
    rp.RadionuclideHalfLife = 8.0207 * 86400
    ds.RadiopharmaceuticalInformationSequence = DicomSequence([rp])
    det = Dataset()
    det.ImagePositionPatient = [float(v) for v in aff[:3, 3]]
    det.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.DetectorInformationSequence = DicomSequence([det])
    ds.SpacingBetweenSlices = 4.8
    ds.SliceThickness = 4.8
    ds.PixelSpacing = [4.8, 4.8]
    ds.NumberOfFrames = arr.shape[0]
    ds.Rows, ds.Columns = arr.shape[1], arr.shape[2]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.RescaleSlope = f"{slope:.10g}"
    ds.RescaleIntercept = 0
    ds.PixelData = stored.tobytes()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    path.mkdir()
    ds.save_as(path / "spect.dcm", enforce_file_format=True)
    return stored.astype(np.float64) * float(ds.RescaleSlope)


def test_spect_nm_multiframe(small_phantom: Phantom, tmp_path: Path) -> None:
    """A reconstructed NM multi-frame (SPECT) image reads with its geometry, units and timing."""
    expected = _nm_multiframe(tmp_path / "spect", small_phantom, 1)
    vol = read_pet_series(tmp_path / "spect")
    np.testing.assert_allclose(vol.array, expected, rtol=1e-6)
    np.testing.assert_allclose(vol.affine, small_phantom.affine, atol=1e-6)
    assert vol.nuclide == "I-131" and vol.time_since_admin_h == pytest.approx(24.0)
    assert vol.total_dose_bq == pytest.approx(3.7e9)
