"""Evidence explorer and /api/v1/evidence/pool: public, filters, pooled table checked against R metafor,
forest plot inline, per-record table with source and grade, excluded rows with their reason."""

from __future__ import annotations

from typing import Any

import pytest


def test_response_pool_matches_metafor(env: Any) -> None:
    """Response (CR+PR), default filters (grade >= secondary), PLO, REML. Issue 12 defaults: the
    denominator is itt (everyone who started the drug: Ho 5/20, ERRITI 1/20, MERAIODE BRAF 8/24, RAS 2/11,
    see tests/evidence/test_studies_tables.py) and the test Knapp-Hartung with max(1, q). Reference: R 4.2.2
    metafor 3.8-1 run here on the four records the pool uses (events/totals from the API's rows):
    ``rma(measure="PLO", xi=c(5,1,8,2), ni=c(20,20,24,11), method="REML", test="adhoc")`` ->
    0.23763881 (0.08709729-0.50456650), I2 13.73805807, tau2 0.06188533."""
    r = env.client().get("/api/v1/evidence/pool", params={"outcome": "response"})
    assert r.status_code == 200
    b = r.json()
    assert [(x["events"], x["total"]) for x in b["rows"]] == [(5, 20), (1, 20), (8, 24), (2, 11)]
    assert b["denominator"] == "itt" and b["test"] == "adhoc"
    assert b["estimate"] == pytest.approx(0.23763881, abs=1e-4)
    assert b["ci_lower"] == pytest.approx(0.08709729, abs=1e-4)
    assert b["ci_upper"] == pytest.approx(0.50456650, abs=1e-4)
    assert b["i2"] == pytest.approx(13.73805807, abs=1e-2)
    assert b["tau2"] == pytest.approx(0.06188533, abs=1e-4)
    assert b["excluded"]["count"] == len(b["excluded"]["ids"])
    page = env.client().get("/evidence", params={"outcome": "response"})
    assert page.status_code == 200
    assert "24%" in page.text and "9%–50%" in page.text
    assert 'src="data:image/svg+xml;base64,' in page.text and 'alt="Forest plot' in page.text
    assert 'id="arms"' in page.text and 'id="excluded"' in page.text and "<caption>" in page.text


def test_denominator_test_and_definitions_shown(env: Any) -> None:
    """Issue 12: the explorer says which denominator and test it used and whether definitions are mixed;
    the API and page take denominator, test and mix_definitions. Treated counts (Ho 5/8, ERRITI 1/7,
    MERAIODE RAS 2/10) are the hand counts of tests/evidence/test_studies_tables.py."""
    c = env.client()
    page = c.get("/evidence", params={"outcome": "response"}).text
    assert "response denominator: <strong>itt</strong>" in page and "Knapp–Hartung with max(1, q)" in page
    treated = c.get("/api/v1/evidence/pool", params={"outcome": "response", "denominator": "treated",
                                                      "test": "z"}).json()
    assert [(x["events"], x["total"]) for x in treated["rows"]] == [(5, 8), (1, 7), (2, 10)]
    assert treated["denominator"] == "treated" and treated["test"] == "z"
    page = c.get("/evidence", params={"outcome": "response", "denominator": "treated", "test": "z"}).text
    assert "response denominator: <strong>treated</strong>" in page and "Test: <strong>z</strong>" in page
    split = c.get("/api/v1/evidence/pool", params={"outcome": "uptake"}).json()
    assert split["overall_pooled"] is False and "estimate" not in split
    assert all(len(sub["definitions"]) == 1 for sub in split["subgroups"].values())
    page = c.get("/evidence", params={"outcome": "uptake"}).text
    assert "no pool across definitions" in page and "All (mixed definitions)" not in page
    mixed = c.get("/api/v1/evidence/pool", params={"outcome": "uptake", "mix_definitions": "true"}).json()
    assert mixed["mixed_definitions"] is True and mixed["overall_pooled"] is True and "estimate" in mixed
    page = c.get("/evidence", params={"outcome": "uptake", "mix_definitions": "yes"}).text
    assert "mixed definitions</strong>" in page and "All (mixed definitions)" in page
    glmm = c.get("/api/v1/evidence/pool", params={"outcome": "response", "method": "GLMM"})
    assert glmm.status_code == 200 and glmm.json()["test"] == "z"


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
    ({"denominator": "everyone"}, "denominator"),
    ({"test": "t"}, "test"),
])
def test_bad_filters(env: Any, params: dict[str, str], field: str) -> None:
    c = env.client()
    page = c.get("/evidence", params=params)
    assert page.status_code == 422 and field in page.text
    api = c.get("/api/v1/evidence/pool", params=params)
    assert api.status_code == 422 and field in (api.json()["field"] or "")
