"""Issue 14: quantitative 131I SPECT reading (NM multi-frame) in Bq/mL and in counts.

Expected values are closed forms: the synthetic activity written by redif's NM writer (uint16 with a
float slope, so the reader must reproduce it within half a quantisation step), and for counts
``A = C / T * f_DT / K`` with the dead-time factor of the model: paralysable ``m = n exp(-n tau)`` so
``n / m = exp(n tau)``; non-paralysable ``m = n / (1 + n tau)`` so ``n / m = 1 + n tau`` (n = K x total MBq).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pydicom
import pytest

from redif.dosimetry.phantoms import Phantom
from redif.errors import DicomInputError, InputError
from redif.io.dicom_write import SeriesContext, SpectCounts, write_nm_spect
from redif.io.spect import DeadTimeModel, dead_time_factor, read_spect
from redif.io.volume import DecayCorrection
from redif.workflows.phantom_files import PhantomFiles

K = 12.5  # cps/MBq, test value
TAU_US = 20.0  # test value, large enough for a ~10-30 % loss


def _activity(small_phantom: Phantom) -> np.ndarray:
    return (small_phantom.activity_bqml[1] * np.float32(200.0)).astype(np.float32)


def _write(tmp: Path, arr: np.ndarray, affine: np.ndarray, counts: SpectCounts | None = None) -> Path:
    path = tmp / "NM0001.dcm"
    write_nm_spect(path, arr, affine, ctx=SeriesContext.new(), time_h=48.0, administered_activity_mbq=5500.0,
                   counts=counts)
    return path


def test_bqml_real_world_value_mapping(small_phantom: Phantom, tmp_path: Path) -> None:
    """Issue 14: a Bq/mL SPECT (Real World Value Mapping Bq/ml) reads back its activity, geometry and "
      "timing."""
    arr = _activity(small_phantom)
    path = _write(tmp_path, arr, small_phantom.affine)
    sv = read_spect(tmp_path)
    slope = float(pydicom.dcmread(path, stop_before_pixels=True).RealWorldValueMappingSequence[0]
                  .RealWorldValueSlope)
    assert np.max(np.abs(sv.volume.array - arr)) <= slope * 0.5 + 1e-3
    np.testing.assert_allclose(sv.volume.affine, small_phantom.affine, atol=1e-4)
    assert sv.volume.nuclide == "I-131" and sv.volume.time_since_admin_h == pytest.approx(48.0)
    assert sv.volume.total_dose_bq == pytest.approx(5.5e9)
    assert sv.volume.decay_correction is DecayCorrection.NONE
    assert sv.units_source == "RealWorldValueMapping Bq/ml" and sv.dead_time_factor == 1.0


@pytest.mark.parametrize("model", ["paralysable", "non-paralysable"])
def test_counts_calibration_and_dead_time(small_phantom: Phantom, tmp_path: Path, model: str) -> None:
    """Issue 14: counts + calibration (cps/MBq) + dead time recover the activity (closed-form dead-time "
      "factor)."""
    arr = _activity(small_phantom)
    counts = SpectCounts(calibration_cps_per_mbq=K, dead_time_us=TAU_US, dead_time_model=model)
    _write(tmp_path, arr, small_phantom.affine, counts)
    voxel_ml = float(abs(np.linalg.det(small_phantom.affine[:3, :3]))) / 1000.0
    n = float(arr.astype(np.float64).sum()) * voxel_ml / 1e6 * K  # true count rate, cps
    expected = math.exp(n * TAU_US * 1e-6) if model == "paralysable" else 1.0 + n * TAU_US * 1e-6
    assert expected > 1.1  # the correction matters in this test
    sv = read_spect(tmp_path, calibration_cps_per_mbq=K, dead_time_us=TAU_US, dead_time_model=model)
    assert sv.dead_time_factor == pytest.approx(expected, rel=1e-4)
    assert sv.acquisition_duration_s == pytest.approx(counts.duration_s)
    np.testing.assert_allclose(sv.volume.array, arr, rtol=0, atol=float(arr.max()) * 2e-4)
    # without the dead-time correction the activity is low by exactly 1/f
    raw = read_spect(tmp_path, calibration_cps_per_mbq=K)
    assert float(raw.volume.array.sum() / sv.volume.array.sum()) == pytest.approx(1 / expected, rel=1e-4)


def test_dead_time_factor_closed_forms() -> None:
    """Issue 14: n/m of both models inverts m = n exp(-n tau) and m = n / (1 + n tau) exactly."""
    tau = 5e-6
    for n in (1e3, 2e4, 1e5):
        m_par = n * math.exp(-n * tau)
        m_non = n / (1 + n * tau)
        assert dead_time_factor(m_par, tau, DeadTimeModel.PARALYSABLE) == pytest.approx(n / m_par, rel=1e-10)
        assert dead_time_factor(m_non, tau, "non-paralysable") == pytest.approx(n / m_non, rel=1e-12)
    with pytest.raises(InputError, match="1/e"):
        dead_time_factor(1.0 / tau, tau, "paralysable")
    with pytest.raises(InputError, match="unknown dead-time model"):
        dead_time_factor(1e3, tau, "lossy")


def test_energy_window_selection(small_phantom: Phantom, tmp_path: Path) -> None:
    """Issue 14: an image with two energy windows needs --energy-window; the chosen window's frames are "
      "read."""
    arr = _activity(small_phantom)
    path = _write(tmp_path, arr, small_phantom.affine)
    ds = pydicom.dcmread(path)
    nz = arr.shape[0]
    stored = np.asarray(ds.pixel_array)
    scatter = (stored // 4).astype("<u2")
    ds.PixelData = np.concatenate([scatter, stored]).tobytes()  # window 1 = scatter, window 2 = photopeak
    ds.NumberOfFrames = 2 * nz
    ds.NumberOfEnergyWindows = 2
    ds.EnergyWindowVector = [1] * nz + [2] * nz
    ds.DetectorVector = [1] * (2 * nz)
    ds.SliceVector = list(range(1, nz + 1)) * 2
    ds.EnergyWindowInformationSequence.append(ds.EnergyWindowInformationSequence[0])
    ds.save_as(path)
    with pytest.raises(DicomInputError, match="--energy-window"):
        read_spect(path)
    sv = read_spect(path, energy_window=2)
    assert sv.energy_window == 2
    slope = float(ds.RealWorldValueMappingSequence[0].RealWorldValueSlope)
    assert np.max(np.abs(sv.volume.array - arr)) <= slope * 0.5 + 1e-3


def _damage(path: Path, **changes: object) -> Path:
    ds = pydicom.dcmread(path)
    for key, value in changes.items():
        if value is None:
            del ds[key]
        else:
            setattr(ds, key, value)
    ds.save_as(path)
    return path


def test_bad_inputs_are_named(small_phantom: Phantom, phantom_files: PhantomFiles, tmp_path: Path) -> None:
    """Issue 14: wrong SOP class, missing units, counts without calibration, double corrections are refused
    with the file, the tag and the remedy."""
    with pytest.raises(DicomInputError, match=r"SOPClassUID \(0008,0016\).*NM Image Storage"):
        read_spect(next(phantom_files.pet_dirs[0].glob("*.dcm")))
    arr = _activity(small_phantom)
    (tmp_path / "a").mkdir()
    path = _damage(_write(tmp_path / "a", arr, small_phantom.affine), RealWorldValueMappingSequence=None)
    with pytest.raises(DicomInputError, match=r"no Units.*RealWorldValueMappingSequence") as err:
        read_spect(path)
    assert str(path) in str(err.value) and "--calibration-cps-per-mbq" in str(err.value)
    (tmp_path / "b").mkdir()
    counts = _write(tmp_path / "b", arr, small_phantom.affine, SpectCounts(calibration_cps_per_mbq=K))
    with pytest.raises(DicomInputError, match="needs the system calibration factor"):
        read_spect(counts)
    (tmp_path / "c").mkdir()
    bq = _write(tmp_path / "c", arr, small_phantom.affine)
    with pytest.raises(DicomInputError, match="already in Bq/mL"):
        read_spect(bq, calibration_cps_per_mbq=K)
    _damage(counts, CorrectedImage=["UNIF", "DTIM"])
    with pytest.raises(DicomInputError, match="DTIM"):
        read_spect(counts, calibration_cps_per_mbq=K, dead_time_us=TAU_US)
    _damage(bq, ImageType=["ORIGINAL", "PRIMARY", "TOMO", "EMISSION"])
    with pytest.raises(DicomInputError, match="RECON TOMO"):
        read_spect(bq)
    (tmp_path / "d").mkdir()
    units = _damage(_write(tmp_path / "d", arr, small_phantom.affine), RealWorldValueMappingSequence=None,
                    Units="SUV")
    with pytest.raises(DicomInputError, match="neither BQML nor CNTS"):
        read_spect(units)


def test_read_pet_series_accepts_quantitative_spect(small_phantom: Phantom, tmp_path: Path) -> None:
    """Issue 14: `dose voxel --pet` (read_pet_series) reads an NM SPECT in Bq/mL through its Real World Value
    Mapping exactly as read_spect does (so post-therapy SPECT time points can be dosed directly)."""
    from redif.io.dicom import read_pet_series

    _write(tmp_path, _activity(small_phantom), small_phantom.affine)
    vol = read_pet_series(tmp_path)
    ref = read_spect(tmp_path).volume
    assert np.array_equal(vol.array, ref.array) and vol.source == str(tmp_path)
    assert vol.nuclide == "I-131" and vol.time_since_admin_h == pytest.approx(48.0)
