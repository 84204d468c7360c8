"""Lesion statistics and DVH: D_x by its definition on hand-made dose lists (closed form)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from redif.dosimetry.dvh import cumulative_dvh, dose_covering, lesion_statistics
from redif.errors import InputError


def test_dose_covering_definition() -> None:
    d = np.arange(1.0, 11.0)  # 1..10 Gy in ten equal voxels
    assert dose_covering(d, 0.9) == 2.0  # 9 of 10 voxels receive >= 2 Gy
    assert dose_covering(d, 0.5) == 6.0  # 5 voxels receive >= 6 Gy
    assert dose_covering(d, 1.0) == 1.0
    assert dose_covering(d, 0.1) == 10.0
    assert dose_covering(np.array([7.0]), 0.9) == 7.0
    with pytest.raises(InputError):
        dose_covering(d, 0.0)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0, 1e3, allow_nan=False), min_size=1, max_size=200))
def test_ordering_invariants(values: list[float]) -> None:
    d = np.array(values)
    d90, d50 = dose_covering(d, 0.9), dose_covering(d, 0.5)
    assert d.min() <= d90 <= d50 <= d.max()
    assert np.mean(d >= d90) >= 0.9 - 1e-12
    dvh = cumulative_dvh(d, bins=50)
    assert dvh.volume_fraction[0] == 1.0
    assert np.all(np.diff(dvh.volume_fraction) <= 0)


def test_lesion_statistics() -> None:
    dose = np.zeros((2, 3, 4), dtype=np.float32)
    labels = np.zeros((2, 3, 4), dtype=np.uint8)
    labels[0, :, :] = 1  # 12 voxels with doses 0..11
    dose[0] = np.arange(12).reshape(3, 4)
    labels[1, 0, 0] = 2
    dose[1, 0, 0] = 40.0
    tia = np.ones_like(dose) * 0.5
    stats = lesion_statistics(dose, labels, {1: "a", 2: "b", 3: "absent"}, 0.1, density_g_per_ml=1.04,
                              tia_mbq_h=tia)
    a, b, c = stats
    assert (a.voxels, a.volume_ml, a.mass_g) == (12, pytest.approx(1.2), pytest.approx(1.248))
    assert (a.mean_gy, a.min_gy, a.max_gy) == (5.5, 0.0, 11.0)
    assert a.d90_gy == 1.0 and a.d50_gy == 6.0  # ceil(0.9*12)=11th highest; ceil(6)=6th highest
    assert a.tia_mbq_h == pytest.approx(6.0)
    assert b.mean_gy == b.d90_gy == 40.0
    assert c.voxels == 0 and np.isnan(c.mean_gy)


def test_figures_render(tmp_path: Path) -> None:
    """The DVH and overlay figures build from real arrays and save as PNG (smoke test of the plots)."""
    from redif.dosimetry.voxel_plots import dose_overlay_figure, dvh_figure, lesion_dvhs

    rng = np.random.default_rng(0)
    dose = rng.random((8, 10, 12)).astype(np.float32)
    labels = np.zeros((8, 10, 12), dtype=np.uint8)
    labels[2:5, 3:6, 4:8] = 1
    dose[labels == 1] += 5
    dvhs = lesion_dvhs(dose, labels, {1: "a"})
    assert dvhs[0].volume_fraction[0] == 1.0 and dvhs[0].volume_fraction[-1] == 0.0
    out = tmp_path
    dvh_figure(dvhs, title="t", reference_gy=5.0, reference_label="20 Gy").savefig(out / "dvh.png")
    dose_overlay_figure(dose, dose, labels, (4.0, 4.0, 4.0), title="t").savefig(out / "ov.png")
    assert (out / "dvh.png").stat().st_size > 1000 and (out / "ov.png").stat().st_size > 1000
