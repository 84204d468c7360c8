"""Public calculators (pages and /api/v1/calc/*): usable without an account, results checked against
closed forms, the constants' source and grade shown, bad input answered 4xx naming the field."""

from __future__ import annotations

import math
from typing import Any

import pytest


def test_pages_are_public_and_show_the_disclaimer(env: Any) -> None:
    c = env.client()
    for path in ("/calc", "/calc/tia", "/calc/lesion", "/calc/blood"):
        r = c.get(path)
        assert r.status_code == 200, path
        assert "Decision support" in r.text
    assert 'href="/calc"' in c.get("/calc").text  # in the navigation for anonymous visitors


def test_tia_mono_exponential_closed_form(env: Any) -> None:
    """Noise-free mono-exponential data A(t) = a exp(-(k_bio + lambda_phys) t), not decay-corrected:
    TIA = a / (k_bio + lambda_phys) (closed form); lambda from the I-131 half-life 192.4968 h
    (ICRP 107, data/nuclides.yaml)."""
    a, kb = 0.02, 0.01
    lam = math.log(2) / 192.4968 + kb
    times = [4.0, 24.0, 48.0, 96.0, 144.0]
    values = [a * math.exp(-lam * t) for t in times]
    params = {"times_h": ",".join(map(str, times)), "values": ",".join(f"{v:.12g}" for v in values),
              "model": "mono", "samples": 200}
    r = env.client().get("/api/v1/calc/tia", params=params)
    assert r.status_code == 200
    body = r.json()
    assert body["tia_h"] == pytest.approx(a / lam, rel=1e-6)
    assert body["model"] == "mono" and body["constants"][0]["grade"] == "primary"
    page = env.client().get("/calc/tia", params=params)
    assert page.status_code == 200 and f"{a / lam:.4g} h" in page.text and "ICRP" in page.text


def test_lesion_closed_form_and_sources(env: Any) -> None:
    """Gy/GBq = S [mGy/(MBq s)] x TIA [h] x 3600 s/h (x 1000 MBq/GBq / 1000 mGy/Gy); activity for a
    target = target / (Gy/GBq)."""
    r = env.client().get("/api/v1/calc/lesion", params={"mass_g": 2, "tia_h": 20, "target_gy": 80})
    assert r.status_code == 200
    b = r.json()
    assert b["dose_per_activity_gy_per_gbq"] == pytest.approx(b["s_mgy_per_mbq_s"] * 20 * 3600, rel=1e-12)
    assert b["activity_for_target_gbq"] == pytest.approx(80 / b["dose_per_activity_gy_per_gbq"], rel=1e-12)
    page = env.client().get("/calc/lesion", params={"mass_g": "2", "tia_h": "20", "target_gy": "80"}).text
    assert "Lanconelli" in page and b["s_value_grade"] in page and "Jentzen" in page


def test_blood_closed_form(env: Any) -> None:
    """EANM SOP (Lassmann 2008): D/A0 = 108 * blood_tia + 0.0188 / W^(2/3) * wb_tia; MTA = 2 Gy / (D/A0),
    coefficients as the page reports them (data/dosimetry_thresholds.yaml)."""
    r = env.client().get("/api/v1/calc/blood", params={"weight_kg": 70, "wb_tia_h": 30,
                                                        "blood_tia_h_per_ml": 0.005})
    b = r.json()
    expected = 108 * 0.005 + 0.0188 / 70 ** (2 / 3) * 30
    assert b["dose_per_activity_gy_per_gbq"] == pytest.approx(expected, rel=1e-12)
    assert b["mta_gbq"] == pytest.approx(2.0 / expected, rel=1e-12)
    page = env.client().get("/calc/blood", params={"weight_kg": "70", "wb_tia_h": "30",
                                                   "blood_tia_h_per_ml": "0.005"}).text
    assert "Lassmann" in page and "unverified" in page and f"{2.0 / expected:.3g} GBq" in page


@pytest.mark.parametrize(("path", "params", "field"), [
    ("/calc/tia", {"times_h": "4,x,48", "values": "1,2,3"}, "times_h"),
    ("/calc/tia", {"times_h": "4,24,48", "values": "1,2,3", "model": "quadratic"}, "model"),
    ("/calc/tia", {"times_h": "4,24,48", "values": "1,2,3", "samples": "99999"}, "samples"),
    ("/calc/tia", {"times_h": "4,24,48", "values": "1,2,3", "samples": "2.5"}, "samples"),
    ("/calc/lesion", {"mass_g": "-2", "tia_h": "20"}, "mass_g"),
    ("/calc/lesion", {"mass_g": "2", "tia_h": "abc"}, "tia_h"),
    ("/calc/blood", {"weight_kg": "70", "wb_tia_h": "30", "blood_tia_h_per_ml": "0"}, "blood_tia_h_per_ml"),
])
def test_page_errors_are_shown_next_to_the_field(env: Any, path: str, params: dict[str, str],
                                                  field: str) -> None:
    r = env.client().get(path, params=params)
    assert r.status_code == 422
    assert f'id="err-{field}"' in r.text and f'id="f-{field}"' in r.text
    assert 'aria-invalid="true"' in r.text


def test_htmx_partial(env: Any) -> None:
    r = env.client().get("/calc/lesion", params={"mass_g": "2", "tia_h": "20"},
                         headers={"HX-Request": "true", "HX-Target": "div#calc-result"})
    assert r.status_code == 200 and "<html" not in r.text and "Gy/GBq" in r.text


@pytest.mark.parametrize(("path", "params", "field"), [
    ("/api/v1/calc/tia", {"times_h": "4,24", "values": "1"}, "values"),
    ("/api/v1/calc/tia", {"times_h": "", "values": "1"}, "times_h"),
    ("/api/v1/calc/lesion", {"mass_g": 0, "tia_h": 2}, "mass_g"),
    ("/api/v1/calc/lesion", {"tia_h": 2}, "mass_g"),
    ("/api/v1/calc/blood", {"weight_kg": "x", "wb_tia_h": 1, "blood_tia_h_per_ml": 1}, "weight_kg"),
])
def test_api_bad_input_is_4xx_naming_the_field(env: Any, path: str, params: dict[str, Any],
                                               field: str) -> None:
    r = env.client().get(path, params=params)
    assert 400 <= r.status_code < 500
    assert field in (r.json()["field"] or "")


def test_tia_in_mbq(env: Any) -> None:
    """Values in MBq: the same closed form a / lambda, in MBq*h."""
    a, lam = 500.0, math.log(2) / 192.4968 + 0.02
    times = [2.0, 24.0, 72.0, 120.0]
    params = {"times_h": ",".join(map(str, times)),
              "values": ",".join(f"{a * math.exp(-lam * t):.12g}" for t in times),
              "model": "mono", "unit": "MBq", "samples": 0}
    b = env.client().get("/api/v1/calc/tia", params=params).json()
    assert b["unit"] == "MBq" and b["tia_h"] == pytest.approx(a / lam, rel=1e-6)
    assert b["ci_lower"] is None  # samples=0: no Monte Carlo interval
    page = env.client().get("/calc/tia", params={k: str(v) for k, v in params.items()}).text
    assert "MBq·h" in page
    bad = env.client().get("/calc/tia", params={**params, "unit": "mCi"})
    assert bad.status_code == 422 and 'id="err-unit"' in bad.text
