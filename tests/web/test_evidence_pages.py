"""Evidence explorer and /api/v1/evidence/pool: public, filters, pooled table checked against R metafor,
forest plot inline, per-record table with source and grade, excluded rows with their reason."""

from __future__ import annotations

from typing import Any

import pytest


def test_response_pool_matches_metafor(env: Any) -> None:
    """Response (CR+PR), default filters (grade >= secondary), PLO, REML. Reference: R 4.2 metafor run
    here on the four records the pool uses (events/totals from the API's rows):
    ``rma(measure="PLO", xi=c(5,1,8,2), ni=c(8,7,21,10), method="REML")`` ->
    0.3534223301 (0.1951775523-0.5519747847), I2 28.05148294, tau2 0.1979300233."""
    r = env.client().get("/api/v1/evidence/pool", params={"outcome": "response"})
    assert r.status_code == 200
    b = r.json()
    assert [(x["events"], x["total"]) for x in b["rows"]] == [(5, 8), (1, 7), (8, 21), (2, 10)]
    assert b["estimate"] == pytest.approx(0.3534223301, rel=1e-5)
    assert b["ci_lower"] == pytest.approx(0.1951775523, rel=1e-5)
    assert b["ci_upper"] == pytest.approx(0.5519747847, rel=1e-5)
    assert b["i2"] == pytest.approx(28.05148294, rel=1e-4)
    assert b["excluded"]["count"] == len(b["excluded"]["ids"])
    page = env.client().get("/evidence", params={"outcome": "response"})
    assert page.status_code == 200
    assert "35%" in page.text and "20%–55%" in page.text
    assert 'src="data:image/svg+xml;base64,' in page.text and 'alt="Forest plot' in page.text
    assert 'id="arms"' in page.text and 'id="excluded"' in page.text and "<caption>" in page.text


def test_filters_subgroups_and_grades(env: Any) -> None:
    c = env.client()
    strict = c.get("/api/v1/evidence/pool", params={"min_grade": "primary"}).json()
    loose = c.get("/api/v1/evidence/pool", params={"min_grade": "unverified"}).json()
    assert strict["excluded"]["count"] >= loose["excluded"]["count"]
    by = c.get("/api/v1/evidence/pool", params={"by": "genotype"}).json()
    assert len(by["subgroups"]) >= 2
    page = c.get("/evidence", params={"by": "genotype"}).text
    assert "BRAF V600E" in page and "subgroup difference" in page
    braf = c.get("/api/v1/evidence/pool", params={"genotype": "BRAF V600E"}).json()
    assert {row["genotype"] for row in braf["rows"]} == {"BRAF V600E"}


def test_htmx_partial(env: Any) -> None:
    r = env.client().get("/evidence", params={"outcome": "uptake"},
                         headers={"HX-Request": "true", "HX-Target": "evidence-result"})
    assert r.status_code == 200 and "<html" not in r.text and 'id="pooled"' in r.text


@pytest.mark.parametrize(("params", "field"), [
    ({"min_grade": "excellent"}, "min_grade"),
    ({"genotype": "KRAS G12C"}, "genotype"),
    ({"outcome": "response", "definition": "uptake on diagnostic scan"}, "definition"),
    ({"measure": "XX"}, "measure"),
])
def test_bad_filters(env: Any, params: dict[str, str], field: str) -> None:
    c = env.client()
    page = c.get("/evidence", params=params)
    assert page.status_code == 422 and field in page.text
    api = c.get("/api/v1/evidence/pool", params=params)
    assert api.status_code == 422 and field in (api.json()["field"] or "")
