"""Limits of one voxel-dosimetry job, checked from the geometry alone, before any array is allocated.

A job is ``n_time_points`` images of ``shape`` voxels of ``spacing_mm``. :func:`plan_voxel_job` checks
that every voxel edge is finite and within the accepted range (``pet_voxel_mm_min`` ..
``pet_voxel_mm_max`` of ``voxel_dosimetry.yaml``), works out the kernel grid the TIA map is resampled
onto (:func:`redif.dosimetry.resample.target_grid`) and the FFT grid of the convolution, and estimates
the bytes the run allocates at its peak. :meth:`VoxelJobPlan.check_memory` refuses a job whose estimate
exceeds a limit (the web app's ``WebSettings.max_dosimetry_bytes``, or :data:`DEFAULT_MAX_JOB_BYTES`
for ``redif dose voxel``).

The estimate counts the arrays of :func:`redif.dosimetry.voxel_pipeline.run_voxel_case`: the time points
as read and stacked (float32, twice: the volumes and the stack), about ten float32 maps on the image grid
(activity at acquisition, TIA as imaged, 131I TIA, MBq*s, dose, labels, statistics and temporaries),
and on the kernel grid the resampled map and the convolution (input, output, real FFT spectrum of the
padded grid, its inverse, the kernel spectrum) in float64 up to 2^22 voxels, float32 above
(:func:`redif.dosimetry.voxel.convolve_kernel`), plus 16 MB of fixed overhead. It errs on the high side:
the peaks measured with ``tracemalloc`` for phantoms of 24 x 32 x 32 to 64 x 128 x 128 voxels of 2 to
5.5 mm (3 time points, with and without resampling) were 0.7 to 0.95 of it.

References
----------
docs/methods/dosimetry.md §7; issue 9 (High 3: unbounded memory from geometry).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import fft

from redif.data import sourced_value
from redif.dosimetry.kernels import Tissue, load_kernel
from redif.dosimetry.resample import target_grid
from redif.dosimetry.voxel import kernel_voxel_size_for
from redif.errors import InputError, LimitExceeded

__all__ = ["DEFAULT_MAX_JOB_BYTES", "VoxelJobPlan", "plan_voxel_job", "voxel_mm_range"]

_DATA = "voxel_dosimetry.yaml"
#: Memory limit of one job of the engine (``redif dose voxel``), bytes; the web app has its own.
DEFAULT_MAX_JOB_BYTES = 16 * 1024**3
_IMAGE_MAPS = 10  # float32 maps on the image grid besides the time points (see the module docstring)
_OVERHEAD_BYTES = 16 * 1024**2  # kernel tables, label statistics, interpreter objects
_FLOAT64_MAX_VOXELS = 1 << 22  # convolve_kernel(precision="auto") switches to float32 above
_AXIS_FIELDS = ("SliceThickness", "PixelSpacing", "PixelSpacing")  # (slice, row, column) axes


def voxel_mm_range() -> tuple[float, float]:
    """Accepted voxel edge (mm) of every axis: ``(min, max)`` from ``voxel_dosimetry.yaml``."""
    return (float(sourced_value(_DATA, "pet_voxel_mm_min").value),
            float(sourced_value(_DATA, "pet_voxel_mm_max").value))


def _mb(n: float) -> str:
    return f"{n / 1024**2:.1f} MB"


@dataclass(frozen=True)
class VoxelJobPlan:
    """Geometry and estimated peak memory of one job (see the module docstring)."""

    shape: tuple[int, int, int]
    spacing_mm: tuple[float, float, float]
    n_time_points: int
    kernel_voxel_mm: float
    kernel_shape: tuple[int, int, int]
    fft_shape: tuple[int, int, int]
    estimated_bytes: int

    def check_memory(self, max_bytes: int, *, remedy: str | None = None) -> None:
        """Refuse the job if its estimated peak memory exceeds ``max_bytes``.

        Raises
        ------
        LimitExceeded
            Naming the grid, the estimate and the limit.
        """
        if self.estimated_bytes > max_bytes:
            grid = "x".join(str(n) for n in self.shape)
            raise LimitExceeded(
                f"a dose job on {self.n_time_points} time points of {grid} voxels (kernel grid "
                f"{'x'.join(str(n) for n in self.kernel_shape)}) needs about "
                f"{_mb(self.estimated_bytes)}", limit=f"{max_bytes} bytes ({_mb(max_bytes)}) per job",
                field="grid", value=grid,
                remedy=remedy or "crop the images to the region of the lesions, or run on a machine with "
                "more memory (max_bytes of run_voxel_case)")


def _check_spacing(spacing_mm: Sequence[float]) -> tuple[float, float, float]:
    lo, hi = voxel_mm_range()
    vals = tuple(float(v) for v in spacing_mm)
    if len(vals) != 3:
        raise LimitExceeded("voxel size must have three edges", limit="3 edges (slice, row, column)",
                            field="voxel_size_mm", value=vals)
    for axis, v in enumerate(vals):
        if not (math.isfinite(v) and lo <= v <= hi):
            raise LimitExceeded(
                f"voxel edge {v:g} mm is outside the accepted range", limit=f"{lo:g} to {hi:g} mm",
                field=_AXIS_FIELDS[axis], value=v,
                remedy="check the image geometry (PixelSpacing, SliceThickness, ImagePositionPatient); "
                "the I-131 voxel kernels are tabulated for voxels of 2.21 to 9.28 mm")
    return vals[0], vals[1], vals[2]


def plan_voxel_job(shape: Sequence[int], spacing_mm: Sequence[float], n_time_points: int,
                   tissue: Tissue | str = Tissue.SOFT) -> VoxelJobPlan:
    """Check the geometry of a job and estimate its peak memory (no array is allocated).

    Parameters
    ----------
    shape
        ``(slices, rows, columns)`` of one time point.
    spacing_mm
        Voxel edges ``(slice, row, column)``, mm.
    n_time_points
        Number of images (time points).

    Raises
    ------
    LimitExceeded
        A voxel edge that is not finite or outside :func:`voxel_mm_range`, or an empty grid.
    """
    try:
        tissue = Tissue(tissue)
    except ValueError:
        raise InputError("unknown kernel tissue", field="tissue", value=tissue,
                         remedy="use soft or bone") from None
    spacing = _check_spacing(spacing_mm)
    dims = tuple(int(n) for n in shape)
    if len(dims) != 3 or min(dims) < 1:
        raise LimitExceeded("the image grid is empty", limit="at least 1 voxel per axis", field="grid",
                            value=dims)
    grid3 = (dims[0], dims[1], dims[2])
    size = kernel_voxel_size_for(spacing, tissue)
    kshape = target_grid(grid3, spacing, size).shape
    r = load_kernel(size, str(tissue)).shape[0] // 2
    fshape = (fft.next_fast_len(kshape[0] + r, real=True), fft.next_fast_len(kshape[1] + r, real=True),
              fft.next_fast_len(kshape[2] + r, real=True))
    n = math.prod(grid3)
    m = math.prod(kshape)
    f = math.prod(fshape)
    real = 8 if m <= _FLOAT64_MAX_VOXELS else 4
    # kernel grid: resampled map (float32) + its resampling temporaries, conv input and output; FFT:
    # spectrum (complex, half), kernel spectrum (real, half), inverse (real, full)
    kernel_bytes = 4 * m * 2 + real * m * 2 + real * f * 2
    image_bytes = 4 * n * (2 * int(n_time_points) + _IMAGE_MAPS)
    return VoxelJobPlan(grid3, spacing, int(n_time_points), size, kshape, fshape,
                        int(image_bytes + kernel_bytes + _OVERHEAD_BYTES))
