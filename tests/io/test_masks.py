"""Masks on the PET grid: SEG (highdicom), NIfTI label maps (incl. permuted axes), RTSTRUCT rasterisation.

Expected values: the generator's label map; for RTSTRUCT, the closed-form pixel count of an axis-aligned
square contour whose edges fall between pixel centres, and of a square with a square hole.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from redif.dosimetry.phantoms import Phantom
from redif.errors import InputError
from redif.io.dicom import read_pet_series
from redif.io.masks import read_mask
from redif.io.nifti import write_nifti
from redif.workflows.phantom_files import PhantomFiles

_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


def test_seg_matches_generator(small_phantom: Phantom, phantom_files: PhantomFiles) -> None:
    ref = read_pet_series(phantom_files.pet_dirs[0])
    lm = read_mask(phantom_files.seg_path, ref)
    np.testing.assert_array_equal(lm.array, small_phantom.labels)
    assert list(lm.names.values()) == list(small_phantom.lesion_names)


def test_nifti_same_order_and_permuted(small_phantom: Phantom, phantom_files: PhantomFiles,
                                       tmp_path: Path) -> None:
    ref = read_pet_series(phantom_files.pet_dirs[0])
    p1 = tmp_path / "labels.nii.gz"
    write_nifti(p1, small_phantom.labels, small_phantom.affine)
    (tmp_path / "labels.json").write_text('{"1": "A", "2": "B", "3": "C", "4": "D"}')
    lm = read_mask(p1, ref)
    np.testing.assert_array_equal(lm.array, small_phantom.labels)
    assert lm.names[2] == "B"
    # dcm2niix-like storage: (column, row, slice) with a flipped row axis
    arr = np.transpose(small_phantom.labels, (2, 1, 0))[:, ::-1, :]
    aff = small_phantom.affine[:, [2, 1, 0, 3]].copy()
    aff[:3, 3] = aff[:3, 3] + aff[:3, 1] * (arr.shape[1] - 1)
    aff[:3, 1] = -aff[:3, 1]
    p2 = tmp_path / "perm.nii.gz"
    nib.save(nib.Nifti1Image(np.ascontiguousarray(arr), _RAS @ aff), str(p2))
    np.testing.assert_array_equal(read_mask(p2, ref).array, small_phantom.labels)


@pytest.mark.parametrize("what", ["spacing", "shift", "shape"])
def test_mask_on_another_grid_is_resampled(small_phantom: Phantom, phantom_files: PhantomFiles,
                                           tmp_path: Path, what: str) -> None:
    """Issue 14: a NIfTI mask on another grid of the same coordinates is resampled (nearest neighbour),
    no longer refused; each label keeps its name and the resampled map says so."""
    ref = read_pet_series(phantom_files.pet_dirs[0])
    aff = small_phantom.affine.copy()
    labels = small_phantom.labels
    if what == "spacing":  # half the voxel edge, same corner: 8 mask voxels per PET voxel
        aff[:3, :3] *= 0.5
        aff[:3, 3] -= 0.25 * small_phantom.affine[:3, :3].sum(axis=1)
        labels = np.repeat(np.repeat(np.repeat(labels, 2, 0), 2, 1), 2, 2)
    elif what == "shift":
        aff[:3, 3] += 1.3
    else:
        labels = labels[:-2]
    p = tmp_path / "other.nii.gz"
    write_nifti(p, labels, aff)
    lm = read_mask(p, ref)
    assert lm.resampled and set(lm.fractions) == set(lm.names)
    if what in ("spacing", "shape"):  # exact: every PET centre falls inside one mask voxel of its label
        np.testing.assert_array_equal(lm.array, small_phantom.labels)


def test_mask_outside_the_image_names_both_files(phantom_files: PhantomFiles, tmp_path: Path) -> None:
    ref = read_pet_series(phantom_files.pet_dirs[0])
    aff = np.diag([2.0, 2.0, 2.0, 1.0])
    aff[:3, 3] = 5000.0
    p = tmp_path / "bad.nii.gz"
    write_nifti(p, np.ones((6, 6, 6), dtype=np.uint8), aff)
    with pytest.raises(InputError, match="different grids") as info:
        read_mask(p, ref)
    assert str(p) in str(info.value) and str(phantom_files.pet_dirs[0]) in str(info.value)


def _rtstruct(ref_for: str, contours: list[tuple[str, list[np.ndarray]]], path: Path) -> Path:
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.481.3"
    ds.SOPInstanceUID = generate_uid()
    ds.Modality = "RTSTRUCT"
    rois, roicont = [], []
    for n, (name, polys) in enumerate(contours, start=1):
        r = Dataset()
        r.ROINumber = n
        r.ROIName = name
        r.ReferencedFrameOfReferenceUID = ref_for
        rois.append(r)
        c = Dataset()
        c.ReferencedROINumber = n
        items = []
        for poly in polys:
            it = Dataset()
            it.ContourGeometricType = "CLOSED_PLANAR"
            it.NumberOfContourPoints = len(poly)
            it.ContourData = [f"{v:.4f}" for v in poly.ravel()]
            items.append(it)
        c.ContourSequence = DicomSequence(items)
        roicont.append(c)
    ds.StructureSetROISequence = DicomSequence(rois)
    ds.ROIContourSequence = DicomSequence(roicont)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    ds.save_as(path, enforce_file_format=True)
    return path


def _square(ref_affine: np.ndarray, k: int, r0: float, r1: float, c0: float, c1: float) -> np.ndarray:
    idx = np.array([[k, r0, c0, 1], [k, r0, c1, 1], [k, r1, c1, 1], [k, r1, c0, 1]], dtype=float)
    return (ref_affine @ idx.T).T[:, :3]


def test_rtstruct_rasterised_closed_form(phantom_files: PhantomFiles, tmp_path: Path) -> None:
    """Square from row 9.5 to 19.5 and column 4.5 to 14.5 covers exactly 10 x 10 pixel centres."""
    ref = read_pet_series(phantom_files.pet_dirs[0])
    a = ref.affine
    outer = [_square(a, k, 9.5, 19.5, 4.5, 14.5) for k in (5, 6, 7)]
    hole = _square(a, 6, 11.5, 15.5, 6.5, 10.5)  # 4 x 4 hole on slice 6 (even-odd rule)
    other = [_square(a, 20, 30.5, 33.5, 30.5, 32.5)]  # 3 x 2
    p = _rtstruct(ref.frame_of_reference_uid, [("tumour", [*outer, hole]), ("node", other)],
                  tmp_path / "rs.dcm")
    lm = read_mask(p, ref)
    assert lm.names == {1: "tumour", 2: "node"}
    assert np.count_nonzero(lm.array == 1) == 3 * 100 - 16
    assert np.count_nonzero(lm.array == 2) == 6
    assert lm.array[6, 13, 8] == 0 and lm.array[5, 13, 8] == 1


def test_rtstruct_other_frame_of_reference(phantom_files: PhantomFiles, tmp_path: Path) -> None:
    ref = read_pet_series(phantom_files.pet_dirs[0])
    p = _rtstruct(generate_uid(), [("x", [_square(ref.affine, 5, 1.5, 3.5, 1.5, 3.5)])], tmp_path / "rs.dcm")
    with pytest.raises(InputError, match="different grids"):
        read_mask(p, ref)


def test_not_a_mask(phantom_files: PhantomFiles, tmp_path: Path) -> None:
    ref = read_pet_series(phantom_files.pet_dirs[0])
    some_pet = sorted(phantom_files.pet_dirs[0].iterdir())[0]
    with pytest.raises(InputError, match="not a mask"):
        read_mask(some_pet, ref)
    bad = tmp_path / "x.txt"
    bad.write_text("hello")
    with pytest.raises(InputError, match="not a NIfTI or DICOM"):
        read_mask(bad, ref)


def test_seg_fast_path_equals_highdicom(phantom_files: PhantomFiles) -> None:
    """The direct pydicom reading of a BINARY SEG agrees with highdicom's reading."""
    import pydicom

    from redif.io.masks import _read_seg

    ref = read_pet_series(phantom_files.pet_dirs[0])
    fast = _read_seg(phantom_files.seg_path, ref, pydicom.dcmread(phantom_files.seg_path))
    slow = _read_seg(phantom_files.seg_path, ref, None)
    np.testing.assert_array_equal(fast.array, slow.array)
    assert fast.names == slow.names
