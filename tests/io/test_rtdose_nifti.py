"""Dose writers: RT Dose round trip through pydicom, NIfTI affine (LPS -> RAS), NIfTI input units.

Expected values: the written array itself (RT Dose stores uint32 x DoseGridScaling, so the error is at
most half a scaling step) and the definition of the NIfTI RAS convention (x and y negated from LPS).
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from redif.errors import InputError
from redif.io.dicom import read_pet_series
from redif.io.nifti import read_nifti_volume, write_nifti
from redif.io.rtdose import read_rtdose, write_rtdose
from redif.workflows.phantom_files import PhantomFiles


def test_rtdose_round_trip(phantom_files: PhantomFiles, tmp_path: Path) -> None:
    ref = read_pet_series(phantom_files.pet_dirs[0])
    rng = np.random.default_rng(1)
    dose = (rng.random(ref.shape) * 80).astype(np.float32)
    p = tmp_path / "rd.dcm"
    write_rtdose(p, dose, ref)
    arr, aff, ds = read_rtdose(p)
    assert ds.DoseUnits == "GY" and ds.DoseType == "PHYSICAL" and ds.Modality == "RTDOSE"
    assert ds.FrameOfReferenceUID == ref.frame_of_reference_uid
    assert ds.StudyInstanceUID == ref.study_uid
    assert np.abs(arr - dose).max() <= float(ds.DoseGridScaling) * 0.5 + 1e-6
    np.testing.assert_allclose(aff, ref.affine, atol=1e-6)
    assert int(ds.NumberOfFrames) == ref.shape[0]


def test_nifti_affine_is_ras(phantom_files: PhantomFiles, tmp_path: Path) -> None:
    ref = read_pet_series(phantom_files.pet_dirs[0])
    p = tmp_path / "d.nii.gz"
    write_nifti(p, ref.array, ref.affine)
    img = nib.load(str(p))
    np.testing.assert_allclose(img.affine, np.diag([-1, -1, 1, 1]) @ ref.affine, atol=1e-5)
    np.testing.assert_array_equal(np.asarray(img.dataobj), ref.array)


def test_nifti_input_units(phantom_files: PhantomFiles, tmp_path: Path) -> None:
    ref = read_pet_series(phantom_files.pet_dirs[0])
    p = tmp_path / "a.nii.gz"
    write_nifti(p, ref.array / 1000.0, ref.affine)
    vol = read_nifti_volume(p, units="kBq/mL", time_h=4.0, nuclide="I-124", injected_activity_mbq=37.0)
    np.testing.assert_allclose(vol.array, ref.array, rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(vol.affine, ref.affine, atol=1e-5)
    assert vol.time_since_admin_h == pytest.approx(4.0)
    with pytest.raises(InputError, match="units"):
        read_nifti_volume(p, units="SUV", time_h=4.0, nuclide="I-124")
