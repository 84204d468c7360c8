"""Per-voxel time-integrated activity: vectorised fit, region scaling, decay swap, time-series checks.

Expected values are closed forms: for A(t) = A0 exp(-lam t) sampled at t1 < ... < tn with the last k
points fitted, TIA = A(t1) t1 + trapezoids up to the first fitted point + A(t_f)/lam (the fit is exact on
noise-free exponentials); the 124I -> 131I swap is a(t) exp((lam124 - lam131) t)
(docs/methods/dosimetry.md §4).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from redif.dosimetry.nuclides import get_nuclide
from redif.dosimetry.voxel_tia import (
    check_time_series,
    region_tia,
    swap_physical_decay,
    tia_map,
    voxel_fit_tia,
)
from redif.errors import InputError
from redif.io.volume import DecayCorrection, Volume

T = np.array([4.0, 24.0, 48.0, 96.0])
LAM131 = get_nuclide("I-131").decay_constant_per_h


def _closed_form(a0: np.ndarray, lam: np.ndarray, n_late: int) -> np.ndarray:
    a = a0[None] * np.exp(-lam[None] * T[:, None])
    f = len(T) - n_late
    out = a[0] * T[0]
    for i in range(f):
        out = out + (a[i] + a[i + 1]) / 2 * (T[i + 1] - T[i])
    return out + a[f] / lam


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from([2, 3, 4]))
def test_fit_is_exact_on_exponentials(seed: int, n_late: int) -> None:
    rng = np.random.default_rng(seed)
    a0 = rng.uniform(10, 1e5, 50)
    lam = rng.uniform(LAM131, 0.2, 50)
    act = (a0[None] * np.exp(-lam[None] * T[:, None])).astype(np.float32)
    got = voxel_fit_tia(T, act, LAM131, n_late=n_late)
    np.testing.assert_allclose(got, _closed_form(a0, lam, n_late), rtol=2e-4)


def test_effective_decay_never_slower_than_physical() -> None:
    """Rising or flat late points are integrated with lambda_phys (lambda_eff >= lambda_phys).

    With the slope fixed, the least-squares line passes through the weighted centroid of the fitted
    points (t = 56 h for 24, 48, 96 h at equal weights), so the tail is 100 exp(lam (56 - 24)) / lam.
    """
    act = np.array([[100.0], [100.0], [100.0], [100.0]], dtype=np.float32)
    got = voxel_fit_tia(T, act, LAM131, n_late=3)
    tail = 100 * math.exp(LAM131 * (56 - 24)) / LAM131
    assert got[0] == pytest.approx(100 * 4 + 100 * 20 + tail, rel=1e-5)
    rising = np.array([[10.0], [20.0], [30.0], [40.0]], dtype=np.float32)
    r = voxel_fit_tia(T, rising, LAM131, n_late=3)
    # fitted line through log(20, 30, 40) rises: clamped to lambda_phys, anchored at the weighted mean
    assert np.isfinite(r[0]) and r[0] > 40 / LAM131 * 0.5


def test_zero_and_negative_voxels() -> None:
    act = np.array([[0.0, 5.0, -1.0], [0.0, 3.0, -1.0], [0.0, 0.0, -1.0], [0.0, 0.0, -1.0]],
                   dtype=np.float32)
    got = voxel_fit_tia(T, act, LAM131, n_late=3)
    assert got[0] == 0.0
    # voxel 2: one positive late point (24 h, 3.0) -> physical decay from there
    assert got[1] == pytest.approx(5 * 4 + (5 + 3) / 2 * 20 + 3 / LAM131, rel=1e-5)
    assert np.isfinite(got[2])


def test_region_method_preserves_region_totals() -> None:
    rng = np.random.default_rng(5)
    labels = np.zeros((6, 7, 8), dtype=np.uint8)
    labels[1:3, 1:4, 2:6] = 1
    labels[4:6, 3:7, 0:3] = 2
    lam = np.where(labels == 1, 0.02, np.where(labels == 2, 0.05, 0.1))
    scale = rng.uniform(0.5, 2.0, labels.shape)
    act = (1000 * scale[None] * np.exp(-lam[None] * T[:, None, None, None])).astype(np.float32)
    out = region_tia(T, act, labels, LAM131, n_late=3)
    for lab, lm in ((1, 0.02), (2, 0.05)):
        sel = labels == lab
        region_curve_a0 = 1000 * scale[sel].sum()
        expected = _closed_form(np.array([region_curve_a0]), np.array([lm]), 3)[0]
        assert out[sel].sum() == pytest.approx(expected, rel=1e-4)
        # within a region of one half-life, voxel TIA is proportional to its activity
        ratio = out[sel] / scale[sel]
        np.testing.assert_allclose(ratio, ratio.mean(), rtol=1e-4)


def test_swap_physical_decay_closed_form() -> None:
    vols = _volumes([np.full((2, 2, 2), 100.0, dtype=np.float32)] * 4)
    series = check_time_series(vols)
    out = swap_physical_decay(series, "I-131")
    lam124 = get_nuclide("I-124").decay_constant_per_h
    expected = 100 * np.exp((lam124 - LAM131) * T)
    np.testing.assert_allclose(out.activity_bqml[:, 0, 0, 0], expected, rtol=1e-6)
    assert out.nuclide == "I-131"


def _volumes(arrays: list[np.ndarray], times: np.ndarray = T, **kw: object) -> list[Volume]:
    start = datetime(2026, 1, 5, 9, 0)
    base = {"affine": np.diag([4.8, 4.8, 4.8, 1.0]), "radiopharmaceutical_start": start,
            "total_dose_bq": 37e6, "half_life_s": get_nuclide("I-124").half_life_s, "nuclide": "I-124",
            "decay_correction": DecayCorrection.START}
    base.update(kw)
    return [Volume(array=a, acquisition_datetime=start + timedelta(hours=float(t)), source=f"tp{i}",
                   **base)  # type: ignore[arg-type]
            for i, (a, t) in enumerate(zip(arrays, times, strict=True))]


def test_time_series_checks() -> None:
    a = np.ones((2, 2, 2), dtype=np.float32)
    with pytest.raises(InputError, match="not increasing") as info:
        check_time_series(_volumes([a] * 4, np.array([4.0, 48.0, 24.0, 96.0])))
    assert "tp2" in str(info.value)
    with pytest.raises(InputError, match="at least two"):
        check_time_series(_volumes([a], np.array([4.0])))
    vols = _volumes([a] * 4)
    vols[3] = Volume(array=np.ones((2, 2, 3), dtype=np.float32), affine=vols[0].affine,
                     acquisition_datetime=vols[3].acquisition_datetime,
                     radiopharmaceutical_start=vols[0].radiopharmaceutical_start, nuclide="I-124",
                     source="tp3")
    with pytest.raises(InputError, match="different grid"):
        check_time_series(vols)


def test_admin_corrected_time_points_are_converted() -> None:
    """ADMIN values A*exp(lam t) become A again before fitting (never mixed)."""
    lam = get_nuclide("I-124").decay_constant_per_h
    arrays = [np.full((2, 2, 2), 50 * math.exp(lam * t), dtype=np.float32) for t in T]
    s = check_time_series(_volumes(arrays, decay_correction=DecayCorrection.ADMIN))
    np.testing.assert_allclose(s.activity_bqml[:, 0, 0, 0], 50.0, rtol=1e-5)


def test_tia_map_units_mbq_h() -> None:
    """1e6 Bq/mL constant... in a 1-mL voxel decaying physically: TIA = 1 MBq * (t1 + 1/lambda) h."""
    lam = get_nuclide("I-124").decay_constant_per_h
    arrays = [np.full((2, 2, 2), 1e6 * math.exp(-lam * t), dtype=np.float32) for t in T]
    s = check_time_series(_volumes(arrays, affine=np.diag([10.0, 10.0, 10.0, 1.0])))
    m = tia_map(s, method="fit", n_late=4)
    np.testing.assert_allclose(m, math.exp(-lam * 4) * (4 + 1 / lam), rtol=1e-4)
    with pytest.raises(InputError, match="label map"):
        tia_map(s, method="region")
    with pytest.raises(InputError, match="unknown TIA method"):
        tia_map(s, method="bogus")


@pytest.mark.parametrize("method", ["fit", "region"])
def test_on_the_fly_swap_equals_explicit_swap(method: str) -> None:
    rng = np.random.default_rng(9)
    lam = rng.uniform(0.01, 0.05, (3, 4, 5))
    arrays = [(1e4 * np.exp(-lam * t)).astype(np.float32) for t in T]
    s = check_time_series(_volumes(arrays))
    labels = np.zeros((3, 4, 5), dtype=np.uint8)
    labels[1] = 1
    a = tia_map(s, method=method, labels=labels, to_nuclide="I-131")
    b = tia_map(swap_physical_decay(s, "I-131"), method=method, labels=labels)
    np.testing.assert_allclose(a, b, rtol=1e-5)
