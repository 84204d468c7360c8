"""The raw element reader agrees with pydicom (the reference parser) on every transfer syntax it takes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.uid import ImplicitVRLittleEndian

from redif.io._fastdicom import read_raw
from redif.io.dicom import read_pet_series
from redif.workflows.phantom_files import PhantomFiles

KEYS = ["ImagePositionPatient", "RescaleSlope", "SOPInstanceUID", "Rows", "PixelData", "AcquisitionTime"]


def _check(path: Path) -> None:
    raw = read_raw(path, KEYS)
    assert raw is not None
    ref = pydicom.dcmread(path)
    for key in KEYS:
        elem = raw.get_item(key)
        assert elem is not None, key
        got = elem.value
        if key == "Rows":
            assert int.from_bytes(got[:2], "little") == ref.Rows
        elif key == "PixelData":
            assert got == ref.PixelData
        elif key == "ImagePositionPatient":
            np.testing.assert_allclose([float(x) for x in got.split(b"\\")],
                                       [float(x) for x in ref.ImagePositionPatient])
        elif key == "RescaleSlope":
            assert float(got) == pytest.approx(float(ref.RescaleSlope))
        else:
            assert got.rstrip(b"\x00 ").decode() == str(ref[key].value)


@pytest.mark.parametrize("variant", ["explicit", "implicit", "undefined_length_sequence"])
def test_raw_reader_matches_pydicom(phantom_files: PhantomFiles, tmp_path: Path, variant: str) -> None:
    src = sorted(phantom_files.pet_dirs[0].iterdir())[7]
    if variant == "explicit":
        _check(src)
        return
    ds = pydicom.dcmread(src)
    out = tmp_path / "x.dcm"
    if variant == "implicit":
        ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
        ds.save_as(out, implicit_vr=True, little_endian=True)
    else:
        seq = ds.RadiopharmaceuticalInformationSequence
        seq.is_undefined_length = True
        for item in seq:
            item.is_undefined_length_sequence_item = True
        ds.save_as(out)
    _check(out)


def test_whole_series_identical_with_and_without_fast_path(phantom_files: PhantomFiles, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    fast = read_pet_series(phantom_files.pet_dirs[2])
    monkeypatch.setattr("redif.io.dicom.read_raw", lambda path, keys: None)  # force pydicom parsing
    slow = read_pet_series(phantom_files.pet_dirs[2])
    np.testing.assert_array_equal(fast.array, slow.array)
    np.testing.assert_array_equal(fast.affine, slow.affine)
    assert fast.sop_instance_uids == slow.sop_instance_uids
    assert fast.acquisition_datetime == slow.acquisition_datetime


def test_not_dicom_returns_none(tmp_path: Path) -> None:
    p = tmp_path / "a.dcm"
    p.write_bytes(b"\x00" * 300)
    assert read_raw(p, KEYS) is None
    assert read_raw(tmp_path / "missing.dcm", KEYS) is None
