"""Issue 14 (item 4): density-scaled kernel dosimetry from the CT (HU -> density, D·ρ_water/ρ).

Expected values: the HU-density points of Schneider et al. 2000 as distributed with OpenGATE
(opengate/data/Schneider2000DensitiesTable.txt: -1000 0.00121, -98 0.93, -97 0.930486, 14 1.03, 23 1.031,
100 1.1199, 101 1.0762, 1600 1.9642, 3000 2.8), typed here from that file; closed forms: a uniform water
CT (0 HU) leaves the dose exactly as it is, a uniform density ρ scales it by ρ(0 HU)/ρ; the phantom's CT
numbers (redif.dosimetry.phantoms: -1000 air, 40 body, -780 lung, 650 bone, 45 lesions).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from redif.dosimetry.heterogeneity import (
    density_from_hu,
    density_scaled_dose,
    hu_density_curve,
    reference_density,
)
from redif.dosimetry.nuclides import get_nuclide
from redif.dosimetry.phantoms import PhantomSpec, make_phantom
from redif.dosimetry.voxel_pipeline import compute_voxel_dose
from redif.dosimetry.voxel_tia import check_time_series
from redif.errors import InputError
from redif.io.ct import read_ct_hu, resample_to_grid
from redif.io.volume import DecayCorrection, Volume

SOURCE_TABLE = [(-1000, 0.00121), (-98, 0.93), (-97, 0.930486), (14, 1.03), (23, 1.031), (100, 1.1199),
                (101, 1.0762), (1600, 1.9642), (3000, 2.8)]


def test_curve_reproduces_the_source_table() -> None:
    """Issue 14: every point of the shipped curve gives the source table's density; between points the
    curve is linear; beyond its ends it is constant; source and grade are carried."""
    hu = np.array([h for h, _ in SOURCE_TABLE], dtype=float)
    rho = np.array([r for _, r in SOURCE_TABLE])
    np.testing.assert_allclose(density_from_hu(hu), rho, rtol=1e-6)
    mid = 0.5 * (hu[3] + hu[4])
    assert float(density_from_hu([mid])[0]) == pytest.approx(0.5 * (rho[3] + rho[4]), rel=1e-6)
    assert float(density_from_hu([-3000])[0]) == pytest.approx(0.00121, rel=1e-6)
    assert float(density_from_hu([5000])[0]) == pytest.approx(2.8, rel=1e-6)
    c = hu_density_curve()
    assert "Schneider" in c.source and c.grade.value == "secondary"
    # water, 0 HU: between -97 and 14 HU
    assert reference_density() == pytest.approx(0.930486 + 97 / 111 * (1.03 - 0.930486), rel=1e-6)


def test_uniform_density_closed_form() -> None:
    """Issue 14: a uniform density ρ scales every voxel's dose by exactly ρ_water/ρ; 0 HU changes nothing."""
    rng = np.random.default_rng(0)
    dose = rng.uniform(0, 10, (6, 7, 8)).astype(np.float32)
    water = density_from_hu(np.zeros(dose.shape))
    assert np.array_equal(density_scaled_dose(dose, water), dose)
    for rho in (0.25, 1.0, 1.9):
        out = density_scaled_dose(dose, np.full(dose.shape, rho, dtype=np.float32))
        np.testing.assert_allclose(out, dose * (reference_density() / rho), rtol=1e-6)


def test_bad_density_input() -> None:
    """Issue 14: a density map of the wrong shape names density_ct; zero density is refused."""
    dose = np.ones((2, 2, 2), dtype=np.float32)
    with pytest.raises(InputError) as exc:
        density_scaled_dose(dose, np.ones((2, 2, 3), dtype=np.float32))
    assert exc.value.field == "density_ct"
    with pytest.raises(InputError):
        density_scaled_dose(dose, np.zeros((2, 2, 2), dtype=np.float32))
    with pytest.raises(InputError):
        density_from_hu([np.nan])


def _series_and_labels():  # type: ignore[no-untyped-def]
    ph = make_phantom(PhantomSpec(shape=(24, 24, 20), voxel_mm=6.0))
    start = datetime(2026, 1, 5, 9, 0)
    vols = [Volume(array=a, affine=ph.affine, acquisition_datetime=start + timedelta(hours=float(t)),
                   radiopharmaceutical_start=start, total_dose_bq=ph.spec.injected_activity_mbq * 1e6,
                   half_life_s=get_nuclide("I-124").half_life_s, nuclide="I-124",
                   decay_correction=DecayCorrection.START, source=f"tp{i}")
            for i, (a, t) in enumerate(zip(ph.activity_bqml, ph.spec.time_points_h, strict=True))]
    names = {i + 1: n for i, n in enumerate(ph.lesion_names)}
    return check_time_series(vols), ph.labels, names, ph.ct_hu


def test_pipeline_water_ct_equals_homogeneous_and_phantom_ct_scales() -> None:
    """Issue 14: the voxel pipeline with a uniform water CT gives exactly today's dose; with the phantom's
    CT every lesion (45 HU) is scaled by ρ(0 HU)/ρ(45 HU), and the lesion's CT density and mass are
    reported."""
    series, labels, names, ct = _series_and_labels()
    base = compute_voxel_dose(series, labels, names, method="region")
    water = compute_voxel_dose(series, labels, names, method="region",
                               density_map_g_per_ml=density_from_hu(np.zeros(labels.shape)))
    assert np.array_equal(water.dose_gy, base.dose_gy)
    het = compute_voxel_dose(series, labels, names, method="region",
                             density_map_g_per_ml=density_from_hu(ct.astype(np.float32)))
    factor = reference_density() / float(density_from_hu([45.0])[0])
    for a, b in zip(base.summary.lesions, het.summary.lesions, strict=True):
        assert float(b["mean_gy"]) == pytest.approx(float(a["mean_gy"]) * factor, rel=1e-5)  # type: ignore[arg-type]
        assert b["mean_density_g_per_ml"] == pytest.approx(float(density_from_hu([45.0])[0]), rel=1e-6)
    assert het.summary.heterogeneity is not None and base.summary.heterogeneity is None
    lung = ct == -780
    assert lung.any()
    ratio = het.dose_gy[lung] / np.maximum(base.dose_gy[lung], 1e-30)
    np.testing.assert_allclose(ratio[base.dose_gy[lung] > 0], reference_density()
                               / float(density_from_hu([-780.0])[0]), rtol=1e-5)


def test_bone_kernel_with_ct_is_refused() -> None:
    """Issue 14: density scaling is applied to the soft-tissue kernel only (the CT gives bone its density)."""
    series, labels, names, ct = _series_and_labels()
    with pytest.raises(InputError) as exc:
        compute_voxel_dose(series, labels, names, method="region", tissue="bone",
                           density_map_g_per_ml=density_from_hu(ct.astype(np.float32)))
    assert exc.value.field == "tissue"


def test_ct_resampling_linear_ramp() -> None:
    """Issue 14: trilinear resampling of a linear HU ramp onto a grid shifted by half a voxel gives the
    ramp at the new centres (exact for linear data); a centre beyond the CT's last voxel centre is air."""
    hu = np.broadcast_to(np.arange(10, dtype=np.float32)[None, None, :] * 10.0, (4, 5, 10)).copy()
    aff = np.diag([2.0, 2.0, 2.0, 1.0])
    target = aff.copy()
    target[2, 3] = 1.0  # columns shifted by half a voxel (1 mm)
    out = resample_to_grid(hu, aff, (4, 5, 10), target)
    np.testing.assert_allclose(out[:, :, :9], hu[:, :, :9] + 5.0, rtol=1e-6)
    assert out[0, 0, 9] == -1000.0  # 9.5 voxels: beyond the last CT centre


# --------------------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------------------
def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    from redif.cli.main import main

    capsys.readouterr()
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_density_ct(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Issue 14: `redif dose voxel --density-ct CT --json`: lesions carry mean_density_g_per_ml, mass_g_ct
    and heterogeneity; the phantom's CT reads back its CT numbers; --heterogeneity density without a CT
    exits 2 naming --density-ct."""
    ph = tmp_path / "ph"
    code, _, err = _cli(capsys, "phantom", str(ph), "--shape", "24,24,20", "--voxel-mm", "6", "--json")
    assert code == 0, err
    hu, _ = read_ct_hu(ph / "ct")
    assert set(np.unique(hu).tolist()) <= {-1000.0, 40.0, -780.0, 650.0, 45.0}
    pets = sorted(str(p) for p in ph.glob("pet_*"))
    args = ["dose", "voxel", "--pet", *pets, "--mask", str(ph / "seg_lesions.dcm"), "--method", "region"]
    code, out, err = _cli(capsys, *args, "--out", str(tmp_path / "a.nii.gz"), "--json")
    assert code == 0, err
    base = json.loads(out)
    code, out, err = _cli(capsys, *args, "--out", str(tmp_path / "b.nii.gz"), "--density-ct", str(ph / "ct"),
                          "--json")
    assert code == 0, err
    het = json.loads(out)
    base_rows = base["lesions"] if isinstance(base, dict) else base
    het_rows = het["lesions"] if isinstance(het, dict) else het
    factor = reference_density() / float(density_from_hu([45.0])[0])
    for a, b in zip(base_rows, het_rows, strict=True):
        assert b["mean_gy"] == pytest.approx(a["mean_gy"] * factor, rel=1e-5)
        assert {"mean_density_g_per_ml", "mass_g_ct"} <= set(b)
        assert b["heterogeneity"]["method"] == "density" and a["heterogeneity"] is None
    code, out, err = _cli(capsys, *args, "--out", str(tmp_path / "c.nii.gz"), "--heterogeneity", "density")
    assert code == 2
    assert "--density-ct" in out + err


def test_missing_ct_folder_is_named(tmp_path: Path) -> None:
    """Issue 14: a CT folder that does not exist, or holds no CT slices, is refused naming the folder."""
    with pytest.raises(InputError, match="no such CT folder") as exc:
        read_ct_hu(tmp_path / "nope")
    assert exc.value.field == str(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no CT image slices"):
        read_ct_hu(tmp_path / "empty")
