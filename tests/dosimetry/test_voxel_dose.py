"""Dose from TIA: kernel reproduction, uniform medium, chunking, resampling, local deposition.

Independent expected values:
* the kernel files themselves (Lanconelli 2012 tables, shipped unchanged): a single 1 MBq*s source
  voxel must give the tabulated kernel, and a uniform map larger than the kernel gives TIA * sum(S);
* the closed form of local electron deposition, E_e * 1e6 * 1.602176634e-13 J / m, which for I-131 at
  1 g is 3.0737e-2 mGy/(MBq*s) (docs/methods/dosimetry.md §5, computed there from ICRP-107);
* conservation of the total TIA by the box-overlap resampling (exact arithmetic identity).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from redif.dosimetry.kernels import available_voxel_sizes_mm, load_kernel
from redif.dosimetry.resample import resample_extensive, resample_intensive, target_grid
from redif.dosimetry.voxel import dose_from_tia, kernel_voxel_size_for, local_deposition_dose
from redif.errors import InputError


@pytest.mark.parametrize("size", available_voxel_sizes_mm("soft"))
def test_single_voxel_reproduces_kernel(size: float) -> None:
    k = load_kernel(size, "soft")
    x = np.zeros((15, 17, 16))
    x[7, 8, 6] = 1.0
    exact = dose_from_tia(x, size)  # the public default ("auto": float64 for small maps)
    np.testing.assert_allclose(exact[2:13, 3:14, 1:12], k, rtol=1e-10, atol=1e-14)
    assert exact.sum() == pytest.approx(k.sum(), rel=1e-10)  # nothing outside the kernel support
    fast = dose_from_tia(x, size, precision="float32")  # float32 FFT, as used for large maps
    assert fast.dtype == np.float32
    np.testing.assert_allclose(fast[2:13, 3:14, 1:12], k, atol=2e-6 * k.max())


def test_bone_kernel_and_corner_source() -> None:
    k = load_kernel(3.0, "bone")
    x = np.zeros((12, 12, 12))
    x[0, 0, 0] = 2.5
    d = dose_from_tia(x, 3.0, tissue="bone", precision="float64")
    np.testing.assert_allclose(d[:6, :6, :6], 2.5 * k[5:, 5:, 5:], rtol=1e-10)


def test_uniform_medium_equals_tia_times_sum_s() -> None:
    size = 4.8
    x = np.full((24, 24, 24), 3.0)
    d = dose_from_tia(x, size, precision="float64")
    inner = d[5:-5, 5:-5, 5:-5]
    np.testing.assert_allclose(inner, 3.0 * load_kernel(size).sum(), rtol=1e-12)
    # at a face the dose is lower (half-space)
    assert d[0, 12, 12] < inner.min()


def test_chunked_overlap_add_equals_single_pass() -> None:
    rng = np.random.default_rng(3)
    x = rng.random((37, 20, 22)).astype(np.float32)
    full = dose_from_tia(x, 3.0, precision="float32")
    for chunk in (1, 5, 11, 36):
        chunked = dose_from_tia(x, 3.0, chunk_slices=chunk, precision="float32")
        np.testing.assert_allclose(chunked, full, atol=1e-6 * full.max())


@settings(max_examples=25, deadline=None)
@given(
    shape=st.tuples(st.integers(3, 14), st.integers(3, 14), st.integers(3, 14)),
    spacing=st.tuples(st.floats(1.5, 7.0), st.floats(1.5, 7.0), st.floats(1.5, 7.0)),
    new=st.sampled_from([2.21, 3.0, 4.8, 6.8]),
    seed=st.integers(0, 1000),
)
def test_resampling_conserves_total_tia(shape: tuple[int, int, int], spacing: tuple[float, float, float],
                                        new: float, seed: int) -> None:
    x = np.random.default_rng(seed).random(shape).astype(np.float32)
    grid = target_grid(shape, spacing, new)
    moved = resample_extensive(x, spacing, grid)
    assert float(moved.sum()) == pytest.approx(float(x.sum()), rel=1e-5)
    # a constant intensive field maps back to the same constant
    back = resample_intensive(np.ones(grid.shape, dtype=np.float32), grid, shape, spacing)
    np.testing.assert_allclose(back, 1.0, rtol=1e-5)


def test_non_tabulated_voxels_uniform_medium() -> None:
    """Anisotropic 4 x 4 x 3.27 mm voxels: uniform-region dose = TIA density x sum(S) of the grid used."""
    spacing = (4.0, 4.0, 3.27)
    size = kernel_voxel_size_for(spacing)
    assert size == 3.59  # nearest tabulated edge to the cube root of the voxel volume (3.74 mm)
    x = np.ones((40, 40, 44))
    d = dose_from_tia(x, spacing)
    expected = load_kernel(size).sum() * size**3 / float(np.prod(spacing))
    assert d[20, 20, 22] == pytest.approx(expected, rel=1e-4)


def test_non_tabulated_point_source_conserves_energy() -> None:
    """1 MBq*s in one 5.3-mm voxel: resampled to the 5.0-mm grid, convolved and mapped back, the energy
    per unit mass-volume (sum of dose x voxel volume) equals sum(S_5mm) x (5 mm)^3 (closed form of the
    tabulated kernel; TIA and energy are both conserved by the box resampling)."""
    x = np.zeros((21, 21, 21))
    x[10, 10, 10] = 1.0
    d = dose_from_tia(x, 5.3)
    assert kernel_voxel_size_for((5.3, 5.3, 5.3)) == 5.0
    assert float(d.sum()) * 5.3**3 == pytest.approx(load_kernel(5.0).sum() * 5.0**3, rel=1e-4)
    # the peak is not the 5.0-mm self-dose (the source is spread over the overlapping 5-mm voxels)
    assert d.max() < load_kernel(5.0)[5, 5, 5]


def test_local_deposition_closed_form() -> None:
    d = local_deposition_dose(np.ones((2, 2, 2)), voxel_volume_ml=1.0, nuclide="I-131", density_g_per_ml=1.0)
    np.testing.assert_allclose(d, 3.0737e-2, rtol=2e-4)
    via_api = dose_from_tia(np.ones((2, 2, 2)), 10.0, method="local", density_g_per_ml=1.0)
    np.testing.assert_allclose(via_api, 3.0737e-2, rtol=2e-4)


def test_kernel_method_refuses_other_nuclides() -> None:
    """Issue 10: I-124 has no kernels in the nuclide table (data/nuclides.yaml), so the kernel method
    refuses it and names the therapy nuclide to convert to."""
    with pytest.raises(InputError, match=r"no voxel S-value kernels.*I-131"):
        dose_from_tia(np.ones((3, 3, 3)), 4.8, nuclide="I-124")
    with pytest.raises(InputError, match="tissue"):
        dose_from_tia(np.ones((3, 3, 3)), 4.8, tissue="lung")
    with pytest.raises(InputError, match="3-D"):
        dose_from_tia(np.ones((3, 3)), 4.8)
    with pytest.raises(InputError, match="precision"):
        dose_from_tia(np.ones((3, 3, 3)), 4.8, precision="float16")


@pytest.mark.parametrize("chunk", [None, 4])
def test_matches_scipy_fftconvolve(chunk: int | None) -> None:
    """Random TIA map: same result as scipy.signal.fftconvolve(mode="same"), an independent engine."""
    from scipy.signal import fftconvolve

    x = np.random.default_rng(11).random((19, 23, 17))
    ref = fftconvolve(x, load_kernel(2.4), mode="same")
    got = dose_from_tia(x, 2.4, precision="float64", chunk_slices=chunk)
    np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-12 * ref.max())
