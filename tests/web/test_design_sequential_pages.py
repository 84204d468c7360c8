"""Issue 15 item 5: the group-sequential designer page, its API and the design-summary exports (HTTP test
client, as tests/web/test_design_bayes_pages.py). Wiring checks: the page and API show the engines'
numbers (the engines are checked against rpact 3.3.4 in tests/design/test_group_sequential_rpact.py and
tests/design/test_effect_scale_rpact.py); bad input is 422 naming the field."""

from __future__ import annotations

import contextlib
import zlib
from typing import Any

import numpy as np
import pytest
import scipy

from redif import __version__
from redif.design.effect_scale import survival_effect_boundaries
from redif.design.group_sequential import group_sequential_design
from redif.design.sample_size_gs import sample_size_rates, sample_size_survival

Q_SURV = {
    "k": "3",
    "alpha": "0.025",
    "sided": "1",
    "beta": "0.2",
    "type_of_design": "asOF",
    "beta_spending": "bsOF",
    "endpoint": "survival",
    "hr": "0.6",
    "median_control_months": "12",
    "accrual_months": "24",
    "followup_months": "12",
    "dropout_rate": "0.05",
    "dropout_months": "12",
    "ratio": "2",
}
Q_RATES = {"k": "2", "type_of_design": "asOF", "endpoint": "rates", "p1": "0.6", "p2": "0.35"}


def _ref_surv() -> tuple[Any, Any, Any]:
    d = group_sequential_design(3, 0.025, 0.2, 1, "asOF", beta_spending="bsOF")
    ss = sample_size_survival(
        0.6,
        accrual_months=24,
        followup_months=12,
        median_control_months=12,
        dropout_rate=0.05,
        dropout_months=12,
        design=d,
        ratio=2,
    )
    eff = survival_effect_boundaries(
        d.critical_values, ss.events_per_stage, ratio=2, futility_bounds=d.futility_bounds
    )
    return d, ss, eff


def test_survival_page_shows_engine_values(env: Any) -> None:
    """Issue 15: boundary table (z and HR scale), characteristics, events/patients and the plot equal the
    engines' values; the designer page links to it."""
    d, ss, eff = _ref_surv()
    page = env.client().get("/design/sequential", params=Q_SURV)
    assert page.status_code == 200
    t = page.text
    assert 'id="gs-boundaries"' in t and "data:image/svg+xml" in t
    for z in d.critical_values:
        assert f"{z:.4f}" in t
    for f in d.futility_bounds:
        assert f"{f:.4f}" in t
    for hr in eff.efficacy:
        assert f"{hr:.4f}" in t
    for hr in eff.futility:
        assert f"{hr:.4f}" in t
    assert f"{d.inflation_factor:.4f}" in t and f"{d.expected_information_h1:.4f}" in t
    assert f"{ss.events:.2f}" in t and f"{ss.subjects:.2f}" in t
    assert "/design/sequential/summary.pdf?" in t and "Schoenfeld" in t
    assert "/design/sequential" in env.client().get("/design").text
    assert env.client().get("/design/sequential").status_code == 200  # the empty form
    part = env.client().get(
        "/design/sequential", params=Q_SURV, headers={"HX-Request": "true", "HX-Target": "gs-result"}
    )
    assert part.status_code == 200 and 'id="gs-boundaries"' in part.text and "<form" not in part.text


def test_api_equals_engines(env: Any) -> None:
    """Issue 15: /api/v1/design/sequential returns the engines' JSON (survival and rates)."""
    d, ss, eff = _ref_surv()
    api = env.client().get("/api/v1/design/sequential", params=Q_SURV)
    assert api.status_code == 200
    j = api.json()
    assert j["endpoint"] == "survival" and "plot" not in j
    np.testing.assert_allclose(j["design"]["critical_values"], d.critical_values, rtol=1e-12)
    np.testing.assert_allclose(j["sample_size"]["events_per_stage"], ss.events_per_stage, rtol=1e-12)
    np.testing.assert_allclose(j["effect_scale"]["efficacy"], eff.efficacy, rtol=1e-12)
    assert j["effect_scale"]["scale"] == "hazard_ratio"
    r = env.client().get("/api/v1/design/sequential", params=Q_RATES).json()
    ref = sample_size_rates(0.6, 0.35, design=group_sequential_design(2, 0.025, 0.2, 1, "asOF"))
    np.testing.assert_allclose(r["sample_size"]["n_per_stage"], ref.n_per_stage, rtol=1e-12)
    assert r["effect_scale"]["scale"] == "rate_difference" and len(r["effect_scale"]["efficacy"]) == 2
    only = (
        env.client()
        .get(
            "/api/v1/design/sequential",
            params={"k": "4", "type_of_design": "P", "sided": "2", "alpha": "0.05"},
        )
        .json()
    )
    ref2 = group_sequential_design(4, 0.05, 0.2, 2, "P")
    assert only["sample_size"] is None and only["effect_scale"] is None
    np.testing.assert_allclose(only["design"]["critical_values"], ref2.critical_values, rtol=1e-12)


def _pdf_text(data: bytes) -> str:
    out = [data.decode("latin-1")]
    pos = 0
    while (i := data.find(b"stream", pos)) != -1:
        j = data.find(b"endstream", i)
        with contextlib.suppress(zlib.error):
            out.append(zlib.decompress(data[i + 6 : j].strip(b"\r\n")).decode("latin-1"))
        pos = j + 9
    return "\n".join(out)


def test_summary_exports(env: Any) -> None:
    """Issue 15: JSON and PDF summaries state the assumptions (HR, median, accrual, follow-up, drop-out,
    allocation, effect-scale formula), the references and the software versions."""
    eff = _ref_surv()[2]
    j = env.client().get("/design/sequential/summary.json", params=Q_SURV)
    assert j.status_code == 200
    s = j.json()
    assert s["kind"] == "group_sequential" and set(s["software"]) == {"redif", "python", "numpy", "scipy"}
    text = " ".join(s["assumptions"])
    for needle in (
        "alpha = 0.025",
        "hazard ratio to detect 0.6",
        "median 12 months",
        "uniform over 24 months",
        "follow-up 12 months",
        "Drop-out: exponential",
        "allocation 2:1",
        "exp(-z_k",
    ):
        assert needle in text, needle
    assert "bsOF (non-binding)" in s["method"] and "rpact 3.3.4" in s["method"]
    assert any("Lan KKG" in r for r in s["references"]) and any("Schoenfeld" in r for r in s["references"])
    bounds = s["tables"][0]
    assert bounds["columns"][-2:] == ["HR bound", "futility HR"]
    assert [row[-2] for row in bounds["rows"]] == [f"{x:.4f}" for x in eff.efficacy]
    assert "plot" not in s["design"] and "plot_svg" not in s["design"]
    pdf = env.client().get("/design/sequential/summary.pdf", params=Q_SURV)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    meta = _pdf_text(pdf.content)
    assert "Group-sequential design for a time-to-event endpoint" in meta and "group_sequential" in meta
    assert f"redif {__version__}" in meta and f"numpy {np.__version__}" in meta
    assert f"scipy {scipy.__version__}" in meta


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"k": "1"}, "k"),
        ({"k": "12"}, "k"),
        ({"k": "3", "type_of_design": "XX"}, "type_of_design"),
        ({"k": "3", "type_of_design": "WT"}, "delta_wt"),
        ({"k": "3", "alpha": "0.7"}, "alpha"),
        ({"k": "3", "info_rates": "0.5,a,1"}, "info_rates"),
        ({"k": "3", "info_rates": "0.6,0.3,1"}, "info_rates"),
        (
            {
                "k": "3",
                "endpoint": "survival",
                "hr": "1",
                "median_control_months": "12",
                "accrual_months": "24",
                "followup_months": "12",
            },
            "hr",
        ),
        (
            {
                "k": "3",
                "endpoint": "survival",
                "hr": "0.6",
                "median_control_months": "12",
                "followup_months": "12",
            },
            "accrual_months",
        ),
        ({"k": "3", "endpoint": "rates", "p1": "1.4", "p2": "0.3"}, "p1"),
        ({"k": "3", "endpoint": "other"}, "endpoint"),
        ({"k": "3", "endpoint": "rates", "p1": "0.5", "p2": "0.3", "ratio": "0"}, "ratio"),
        (
            {
                "k": "3",
                "endpoint": "survival",
                "hr": "0.6",
                "median_control_months": "12",
                "accrual_months": "24",
                "followup_months": "12",
                "dropout_rate": "0.1",
                "dropout_months": "0",
            },
            "dropout_months",
        ),
    ],
)
def test_bad_input(env: Any, params: dict[str, str], field: str) -> None:
    """Issue 15: bad input -> 422 page naming the field; the API answers 4xx with the field; the
    exports refuse it too."""
    page = env.client().get("/design/sequential", params=params)
    assert page.status_code == 422 and field in page.text
    api = env.client().get("/api/v1/design/sequential", params=params)
    assert 400 <= api.status_code < 500 and field in (api.json()["field"] or "")
    assert 400 <= env.client().get("/design/sequential/summary.json", params=params).status_code < 500
