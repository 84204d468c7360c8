"""Blood and red-marrow dosimetry arithmetic.

The EANM SOP constants (108, 0.0188) are graded unverified, so they are never the expected value here:
the arithmetic is checked with overridden constants (c_β = 100, c_γ = 0.02), computed by hand:
D/A = 100·0.002 + 0.02/70^(2/3)·30 = 0.2 + 0.6/16.985 = 0.235325 Gy/GBq; MTA = 2/0.235325 = 8.4989 GBq.
The default path only checks that the data file is used and graded.
"""

from __future__ import annotations

import math

import pytest

from redif.data import sourced_value
from redif.dosimetry.blood import (
    blood_dose_per_activity,
    red_marrow_blood_ratio,
    red_marrow_tia_h,
    retention_limited_activity,
)
from redif.errors import InputError


def test_formula_arithmetic_with_overrides() -> None:
    res = blood_dose_per_activity(
        weight_kg=70,
        wholebody_tia_h=30,
        blood_tia_h_per_ml=0.002,
        beta_coefficient=100.0,
        gamma_coefficient=0.02,
    )
    expected = 100 * 0.002 + 0.02 / 70 ** (2 / 3) * 30
    assert res.dose_per_activity_gy_per_gbq == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(0.235325, rel=1e-5)
    assert res.mta_gbq == pytest.approx(2.0 / expected)
    assert res.beta_term_gy_per_gbq == pytest.approx(0.2)
    assert "user override" in res.constants[0].source


def test_mta_is_limit_over_dose_per_activity() -> None:
    res = blood_dose_per_activity(weight_kg=80, wholebody_tia_h=20, blood_tia_h_per_ml=0.003, limit_gy=3.0)
    assert res.mta_gbq == pytest.approx(3.0 / res.dose_per_activity_gy_per_gbq)


def test_defaults_come_from_the_data_file_with_grades() -> None:
    res = blood_dose_per_activity(weight_kg=70, wholebody_tia_h=30, blood_tia_h_per_ml=0.002)
    cb = sourced_value("dosimetry_thresholds.yaml", "blood_formula_beta_coefficient")
    cg = sourced_value("dosimetry_thresholds.yaml", "blood_formula_gamma_coefficient")
    assert cb.grade.value == "unverified" and cg.grade.value == "unverified"
    assert res.dose_per_activity_gy_per_gbq == pytest.approx(
        float(cb.value) * 0.002 + float(cg.value) / 70 ** (2 / 3) * 30
    )
    assert res.limit_gy == float(sourced_value("dosimetry_thresholds.yaml", "blood_dose_limit").value)
    assert "unverified" in res.rule


@pytest.mark.parametrize(("lung", "limit"), [(False, 4.44), (True, 3.0)])
def test_retention_limit_closed_form(lung: bool, limit: float) -> None:
    """Mono-exponential whole-body clearance, T_eff = 20 h: r48 = 2^(−48/20) = 0.18946;
    A_max = L / r48 (L = 4.44 GBq, or 3.0 GBq with diffuse lung metastases; docs/methods/dosimetry.md)."""
    r48 = 2 ** (-48 / 20)
    res = retention_limited_activity(r48, lung_metastases=lung)
    assert res.activity_gbq == pytest.approx(limit / r48)
    assert res.activity_gbq * r48 == pytest.approx(limit)


def test_rmblr() -> None:
    """RMBLR = 0.19/(1 − Hct) (Sgouros 1993): Hct 0.4 -> 0.31667; ã_RM = RMBLR·m·ã_blood."""
    assert red_marrow_blood_ratio(0.4) == pytest.approx(0.19 / 0.6)
    assert red_marrow_tia_h(0.002, 1170.0, 0.4) == pytest.approx(0.19 / 0.6 * 1170.0 * 0.002)


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"weight_kg": 0, "wholebody_tia_h": 30, "blood_tia_h_per_ml": 0.002}, "weight_kg"),
        ({"weight_kg": 70, "wholebody_tia_h": -1, "blood_tia_h_per_ml": 0.002}, "wb_tia_h"),
        ({"weight_kg": 70, "wholebody_tia_h": 30, "blood_tia_h_per_ml": math.nan}, "blood_tia_h_per_ml"),
        ({"weight_kg": 70, "wholebody_tia_h": 0, "blood_tia_h_per_ml": 0}, "blood_tia_h_per_ml"),
    ],
)
def test_bad_input(kw: dict[str, float], field: str) -> None:
    with pytest.raises(InputError) as info:
        blood_dose_per_activity(**kw)  # type: ignore[arg-type]
    assert info.value.field == field


def test_bad_haematocrit_and_retention() -> None:
    with pytest.raises(InputError, match="haematocrit"):
        red_marrow_blood_ratio(42)
    with pytest.raises(InputError, match="retention"):
        retention_limited_activity(1.5)
