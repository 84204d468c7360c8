"""Read a CT series (DICOM, single-slice images) as CT numbers (HU) on the grid of another volume.

Used by the density-scaled voxel dosimetry (``redif dose voxel --density-ct``): the CT numbers are
``stored value × RescaleSlope + RescaleIntercept`` (DICOM PS3.3 C.11.1.1.2, Hounsfield units for CT) and
are moved onto the PET grid by trilinear interpolation between the two grids' patient (LPS) coordinates;
PET voxel centres beyond the CT's outermost voxel centres are given air (−1000 HU). Interpolating CT
numbers and then mapping them to density equals interpolating densities wherever the HU-density curve is
linear between the neighbours.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
from numpy.typing import NDArray
from pydicom.errors import InvalidDicomError
from scipy import ndimage

from redif.errors import InputError
from redif.io.dicom import _files, _parse_slice, _pixels
from redif.io.dicom_common import _geometry

__all__ = ["AIR_HU", "read_ct_hu", "resample_to_grid"]

AIR_HU = -1000.0


def read_ct_hu(directory: str | Path) -> tuple[NDArray[np.float32], NDArray[np.float64]]:
    """CT numbers ``[slice, row, column]`` (float32, HU) and the index -> LPS mm affine of a CT folder.

    Raises
    ------
    InputError
        No CT slices in the folder (field: the folder), several series, or inconsistent geometry.
    """
    folder = Path(directory)
    if not folder.exists():
        raise InputError("no such CT folder", field=str(folder),
                         remedy="give the folder of the CT series (Modality CT) of the PET/CT")
    slices = []
    series: set[str] = set()
    for path in _files(folder):
        try:
            ds = pydicom.dcmread(path)
        except (InvalidDicomError, OSError):
            continue
        if str(ds.get("Modality", "")) != "CT" or "PixelData" not in ds:
            continue
        series.add(str(ds.get("SeriesInstanceUID", "")))
        slices.append(_parse_slice(path, ds))
    if not slices:
        raise InputError("no CT image slices found", field=str(folder),
                         remedy="give the folder of the CT series (Modality CT) of the PET/CT")
    if len(series) > 1:
        raise InputError(f"{len(series)} CT series in one folder", field=str(folder),
                         remedy="give a folder holding one CT series")
    order, affine = _geometry(slices, folder)
    hu = np.stack([_pixels(s) * np.float32(s.slope) + np.float32(s.intercept) for s in order])
    return hu.astype(np.float32), affine


def resample_to_grid(values: NDArray[np.floating], affine: NDArray[np.float64], shape: tuple[int, int, int],
                     target_affine: NDArray[np.float64], *, fill: float = AIR_HU) -> NDArray[np.float32]:
    """Trilinear resampling of ``values`` (index -> LPS ``affine``) onto another grid, slice by slice."""
    to_src = np.linalg.inv(affine) @ target_affine
    src = np.asarray(values, dtype=np.float32)
    out = np.empty(shape, dtype=np.float32)
    rows, cols = np.meshgrid(np.arange(shape[1]), np.arange(shape[2]), indexing="ij")
    ones = np.ones_like(rows)
    for k in range(shape[0]):
        idx = np.stack([np.full_like(rows, k), rows, cols, ones]).reshape(4, -1).astype(np.float64)
        coords = (to_src @ idx)[:3]
        out[k] = ndimage.map_coordinates(src, coords, order=1, mode="constant", cval=fill).reshape(
            shape[1], shape[2])
    return out
