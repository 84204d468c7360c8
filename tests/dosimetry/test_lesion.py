"""Lesion dose per administered activity: LDpA = ã·S, A = D/LDpA, Jentzen classes, mass = V·ρ.

Expected values are arithmetic on the S-value the engine reads (1 mGy/(MBq·s) = 3600 Gy/(GBq·h),
docs/methods/dosimetry.md §1) and the thresholds of docs/methods/dosimetry.md (≤ 5 low, 5-10 medium, > 10
high Gy/GBq).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from redif.dosimetry.lesion import DoseClass, classify_dose_per_activity, lesion_dose, lesion_mass_g
from redif.dosimetry.spheres import sphere_s_value
from redif.errors import InputError


def test_dose_per_activity_and_activity_for_target() -> None:
    s = sphere_s_value(2.0).s_mgy_per_mbq_s
    res = lesion_dose(mass_g=2.0, tia_h=0.5, target_gy=20.0)
    assert res.s_mgy_per_mbq_s == pytest.approx(s)
    assert res.dose_per_activity_gy_per_gbq == pytest.approx(0.5 * s * 3600.0)
    assert res.activity_for_target_gbq == pytest.approx(20.0 / (0.5 * s * 3600.0))
    assert res.dose_gy(3.0) == pytest.approx(3.0 * 0.5 * s * 3600.0)


@pytest.mark.parametrize(
    ("ldpa", "cls"),
    [
        (0.1, DoseClass.LOW),
        (5.0, DoseClass.LOW),
        (5.01, DoseClass.MEDIUM),
        (10.0, DoseClass.MEDIUM),
        (10.01, DoseClass.HIGH),
    ],
)
def test_jentzen_classes(ldpa: float, cls: DoseClass) -> None:
    assert classify_dose_per_activity(ldpa) is cls


def test_mass_from_volume_default_density() -> None:
    """1.04 g/mL default (docs/methods/dosimetry.md §5): 2 mL -> 2.08 g; user density overrides."""
    assert lesion_mass_g(2.0) == pytest.approx(2.08)
    assert lesion_mass_g(2.0, 1.0) == pytest.approx(2.0)


def test_ci_from_tia_samples() -> None:
    smp = np.linspace(0.4, 0.6, 1001)
    res = lesion_dose(mass_g=2.0, tia_h=0.5, tia_samples_h=smp)
    s = res.s_mgy_per_mbq_s * 3600
    assert res.ci_lower_gy_per_gbq == pytest.approx(np.quantile(smp, 0.025) * s)
    assert res.ci_upper_gy_per_gbq == pytest.approx(np.quantile(smp, 0.975) * s)


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"mass_g": 2.0, "tia_h": -1.0}, "tia_h"),
        ({"mass_g": 0.001, "tia_h": 1.0}, "mass_g"),
        ({"mass_g": 2.0, "tia_h": 1.0, "target_gy": 0.0}, "target_gy"),
    ],
)
def test_bad_input(kw: dict[str, float], field: str) -> None:
    with pytest.raises(InputError) as info:
        lesion_dose(**kw)  # type: ignore[arg-type]
    assert info.value.field == field


def test_bad_volume_and_density() -> None:
    with pytest.raises(InputError, match="volume_ml"):
        lesion_mass_g(-1.0)
    with pytest.raises(InputError, match="density"):
        lesion_mass_g(1.0, 10.0)


@settings(max_examples=40, deadline=None)
@given(m=st.floats(0.02, 900.0), tia=st.floats(0.01, 10.0), target=st.floats(1.0, 100.0))
def test_target_activity_gives_target_dose(m: float, tia: float, target: float) -> None:
    """Property: the activity for the target dose delivers exactly the target; bigger spheres get less
    dose per activity for the same ã."""
    res = lesion_dose(mass_g=m, tia_h=tia, target_gy=target)
    assert res.activity_for_target_gbq is not None
    assert res.dose_gy(res.activity_for_target_gbq) == pytest.approx(target)
    assert (
        lesion_dose(mass_g=m * 1.1, tia_h=tia).dose_per_activity_gy_per_gbq < res.dose_per_activity_gy_per_gbq
    )


def test_activity_ci_is_the_inverted_dose_ci() -> None:
    """A = D/LDpA decreases with LDpA, so the activity CI is (D/LDpA_upper, D/LDpA_lower)."""
    smp = np.linspace(0.4, 0.6, 1001)
    res = lesion_dose(mass_g=2.0, tia_h=0.5, target_gy=20.0, tia_samples_h=smp)
    assert res.ci_upper_gy_per_gbq is not None and res.ci_lower_gy_per_gbq is not None
    assert res.activity_ci_lower_gbq == pytest.approx(20.0 / res.ci_upper_gy_per_gbq)
    assert res.activity_ci_upper_gbq == pytest.approx(20.0 / res.ci_lower_gy_per_gbq)
