"""Conservative resampling between box grids (used to bring a TIA map onto a tabulated kernel grid).

Each voxel is a box; a new voxel receives the fraction of every old voxel's content that its box
overlaps (1-D overlap lengths, applied separably along each axis). Extensive quantities (activity,
time-integrated activity) are conserved exactly; intensive quantities (absorbed dose) are mapped back
as volume-weighted means of the overlapping boxes, which conserves energy in a uniform medium.
Voxel S-values are never interpolated in voxel size (S of the source voxel scales with 1/mass).

References
----------
docs/methods/dosimetry.md §7 ("resample the activity map to the kernel grid preserving total Ã").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

__all__ = ["BoxGrid", "overlap_matrix", "resample_extensive", "resample_intensive", "target_grid"]


@dataclass(frozen=True)
class BoxGrid:
    """A regular grid along three axes: ``shape`` voxels of ``spacing_mm``, first edge at ``origin_mm``."""

    shape: tuple[int, int, int]
    spacing_mm: tuple[float, float, float]
    origin_mm: tuple[float, float, float] = (0.0, 0.0, 0.0)


def target_grid(shape: tuple[int, int, int], spacing_mm: tuple[float, float, float],
                new_spacing_mm: float) -> BoxGrid:
    """Cubic grid of ``new_spacing_mm`` covering the old extent, centred on it (edges at 0 .. n*d)."""
    new_shape = []
    origin = []
    for n, d in zip(shape, spacing_mm, strict=True):
        extent = n * d
        m = max(1, math.ceil(extent / new_spacing_mm - 1e-9))
        new_shape.append(m)
        origin.append((extent - m * new_spacing_mm) / 2)
    return BoxGrid((new_shape[0], new_shape[1], new_shape[2]), (new_spacing_mm,) * 3,
                   (origin[0], origin[1], origin[2]))


def overlap_matrix(n_old: int, d_old: float, n_new: int, d_new: float,
                   origin_new: float) -> sparse.csr_matrix:
    """Sparse ``[n_new, n_old]`` matrix of overlap lengths / ``d_old`` (old edges at ``i * d_old``)."""
    rows, cols, vals = [], [], []
    for j in range(n_new):
        lo = origin_new + j * d_new
        hi = lo + d_new
        i0 = max(0, math.floor(lo / d_old))
        i1 = min(n_old - 1, math.ceil(hi / d_old) - 1)
        for i in range(i0, i1 + 1):
            ov = min(hi, (i + 1) * d_old) - max(lo, i * d_old)
            if ov > 1e-12:
                rows.append(j)
                cols.append(i)
                vals.append(ov / d_old)
    return sparse.csr_matrix((vals, (rows, cols)), shape=(n_new, n_old), dtype=np.float64)


def _apply(array: NDArray[np.float32], mats: list[sparse.csr_matrix]) -> NDArray[np.float32]:
    out = np.asarray(array, dtype=np.float32)
    for axis, mat in enumerate(mats):
        moved = np.moveaxis(out, axis, 0)
        shp = moved.shape
        res = mat.astype(np.float32) @ moved.reshape(shp[0], -1)
        out = np.moveaxis(np.asarray(res, dtype=np.float32).reshape(mat.shape[0], *shp[1:]), 0, axis)
    return np.ascontiguousarray(out)


def resample_extensive(array: NDArray[np.float32], spacing_mm: tuple[float, float, float],
                       grid: BoxGrid) -> NDArray[np.float32]:
    """Move a per-voxel content map (e.g. MBq*s per voxel) onto ``grid``; totals are conserved."""
    mats = [overlap_matrix(n, d, m, e, o) for n, d, m, e, o in
            zip(array.shape, spacing_mm, grid.shape, grid.spacing_mm, grid.origin_mm, strict=True)]
    return _apply(array, mats)


def resample_intensive(array: NDArray[np.float32], grid: BoxGrid, shape: tuple[int, int, int],
                       spacing_mm: tuple[float, float, float]) -> NDArray[np.float32]:
    """Map a per-mass quantity (dose) from ``grid`` back onto the old grid as volume-weighted means."""
    mats = []
    for n, d, m, e, o in zip(shape, spacing_mm, grid.shape, grid.spacing_mm, grid.origin_mm, strict=True):
        fwd = overlap_matrix(n, d, m, e, o)  # [new, old], overlap / d_old
        mats.append(fwd.T.tocsr())  # rows: old voxel; sum over new of overlap/d_old = 1 inside
    return _apply(array, mats)
