"""Issue 15 item 5: the Bayesian trial designer page, its API and the design-summary exports (HTTP test
client, as tests/web/test_design_pages.py). Wiring checks: the page and API answer the engines'
numbers (checked against brute-force enumeration in tests/design); bad input is 4xx naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from redif.design.bop2 import bop2_design
from redif.design.mixture import BetaMixture

Q_BOP2 = {"kind": "bop2", "p0": "0.2", "p1": "0.4", "nmax": "40", "looks": "10,20,30"}


def test_bop2_page_api_and_plot(env: Any) -> None:
    """Issue 15: the page shows the stopping table, OC and the boundary plot; the API equals the engine."""
    ref = bop2_design(0.2, 0.4, 40, looks=[10, 20, 30], alpha=0.1)
    page = env.client().get("/design/bayes", params=Q_BOP2)
    assert page.status_code == 200
    assert 'id="stopping-table"' in page.text and "data:image/svg+xml" in page.text
    assert f"final: promising if responses &gt; {ref.table.r[-1]}" in page.text
    assert "/design/bayes/summary.pdf?" in page.text and "Zhou H" in page.text
    api = env.client().get("/api/v1/design/bayes", params=Q_BOP2).json()
    assert api["lambda"] == ref.lam and api["stopping_table"]["looks"] == [10, 20, 30, 40]
    assert "/design/bayes" in env.client().get("/design").text


def test_predictive_and_borrow_pages(env: Any) -> None:
    """Issue 15: the predictive design (cohort looks) and the borrowing design (explicit prior) render."""
    p = env.client().get(
        "/design/bayes",
        params={
            "kind": "predictive",
            "p0": "0.2",
            "p1": "0.4",
            "nmax": "30",
            "alpha": "0.1",
            "looks": "10,15,20,25",
        },
    )
    assert p.status_code == 200 and "θ<sub>L</sub>" in p.text
    b = env.client().get(
        "/design/bayes",
        params={
            "kind": "borrow",
            "n_control": "20",
            "n_treatment": "40",
            "effect": "0.25",
            "prior": "0.8,10,30;0.2,1,1",
        },
    )
    assert b.status_code == 200 and 'id="borrow-oc"' in b.text and "ELIR" in b.text
    mix = BetaMixture.from_arrays([0.8, 0.2], [10, 1], [30, 1])
    assert f"{mix.mean:.3f}" in b.text


def test_summary_exports(env: Any) -> None:
    """Issue 15: JSON and PDF summaries of the design in the query string, with versions and references."""
    j = env.client().get("/design/bayes/summary.json", params=Q_BOP2)
    assert j.status_code == 200
    s = j.json()
    assert s["kind"] == "bop2" and set(s["software"]) == {"redif", "python", "numpy", "scipy"}
    assert s["assumptions"] and s["references"] and "plot" not in s["design"]
    pdf = env.client().get("/design/bayes/summary.pdf", params=Q_BOP2)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"kind": "bop2", "p0": "0.4", "p1": "0.2", "nmax": "40"}, "p1"),
        ({"kind": "predictive", "p0": "0.2", "p1": "0.4", "nmax": "500"}, "nmax"),
        ({"kind": "bop2", "p0": "0.2", "p1": "0.4", "nmax": "40", "looks": "a,b"}, "looks"),
        (
            {"kind": "borrow", "n_control": "20", "n_treatment": "40", "effect": "0.2", "prior": "1,2,3,4"},
            "prior",
        ),
    ],
)
def test_bad_input(env: Any, params: dict[str, str], field: str) -> None:
    """Issue 15: bad input -> 422 page naming the field; the API answers 4xx with the field."""
    page = env.client().get("/design/bayes", params=params)
    assert page.status_code == 422 and field in page.text
    api = env.client().get("/api/v1/design/bayes", params=params)
    assert 400 <= api.status_code < 500 and field in (api.json()["field"] or "")


def test_borrow_from_evidence_api(env: Any) -> None:
    """Issue 15: with no prior given, the control prior is the robust MAP prior of the evidence base's
    arms for the outcome (``redif design map --from-evidence``): its source arms are reported, the mixture
    carries the vague component at the robust weight, and the OC grid is complete."""
    b = env.client().get(
        "/api/v1/design/bayes",
        params={
            "kind": "borrow",
            "n_control": "15",
            "n_treatment": "30",
            "effect": "0.3",
            "outcome": "response",
        },
    )
    assert b.status_code == 200
    d = b.json()
    src = d["control_prior_source"]
    assert src["historical"]["arms"] and src["robust_weight"] == pytest.approx(0.2)
    assert sum(m["w"] for m in d["prior_control"]["mixture"]) == pytest.approx(1.0, abs=1e-12)
    assert len(d["oc"]["type1_error"]) == 19 and d["kind"] == "borrow"
