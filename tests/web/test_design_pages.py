"""Trial designer and /api/v1/design/*: Simon designs checked against Simon (1989) Table 1, single-stage
against an exact binomial computation; bad input answered 4xx naming the field."""

from __future__ import annotations

from typing import Any

import pytest
from scipy import stats


def test_simon_matches_published_table(env: Any) -> None:
    """Simon R, Control Clin Trials 1989;10:1-10, Table 1, p0 = 0.05, p1 = 0.25, alpha = 0.05,
    beta = 0.20: optimal 0/9, 2/17; minimax 0/12, 2/16. PET(p0) = P(X1 <= r1 | n1, p0) = 0.95**n1 and
    EN(p0) = n1 + (1 - PET) (n - n1) in closed form (the table's 11.9 / 13.8, truncated)."""
    r = env.client().get("/api/v1/design/simon", params={"p0": 0.05, "p1": 0.25, "alpha": 0.05, "beta": 0.2})
    assert r.status_code == 200
    b = r.json()
    o, m = b["optimal"], b["minimax"]
    assert (o["r1"], o["n1"], o["r"], o["n"]) == (0, 9, 2, 17)
    assert o["pet0"] == pytest.approx(0.95**9, rel=1e-12)
    assert o["en0"] == pytest.approx(9 + (1 - 0.95**9) * 8, rel=1e-12)
    assert (m["r1"], m["n1"], m["r"], m["n"]) == (0, 12, 2, 16)
    assert m["en0"] == pytest.approx(12 + (1 - 0.95**12) * 4, rel=1e-12)
    page = env.client().get("/design", params={"p0": "0.05", "p1": "0.25", "alpha": "0.05", "beta": "0.2"})
    assert page.status_code == 200 and "<td>0/9</td><td>2/17</td>" in page.text and "Simon R" in page.text
    assert env.client().get("/calc/simon", follow_redirects=False).status_code == 303


def test_single_stage_exact(env: Any) -> None:
    """The first design is the smallest n with some r meeting P(X > r | p0) <= alpha and
    P(X <= r | p1) <= beta (scipy binomial, brute force here)."""
    b = env.client().get("/api/v1/design/single", params={"p0": 0.05, "p1": 0.25}).json()
    first = None
    for n in range(1, 60):
        for r in range(n):
            if stats.binom.sf(r, n, 0.05) <= 0.05 and stats.binom.cdf(r, n, 0.25) <= 0.2:
                first = (n, r)
                break
        if first:
            break
    assert (b["designs"][0]["n"], b["designs"][0]["r"]) == first


@pytest.mark.parametrize(("params", "field"), [
    ({"p0": "0.3", "p1": "0.2", "alpha": "0.05", "beta": "0.2"}, "p1"),
    ({"p0": "x", "p1": "0.2", "alpha": "0.05", "beta": "0.2"}, "p0"),
    ({"p0": "0.05", "p1": "0.25", "alpha": "0.05", "beta": "0.2", "nmax": "5000"}, "nmax"),
])
def test_bad_input(env: Any, params: dict[str, str], field: str) -> None:
    page = env.client().get("/design", params=params)
    assert page.status_code == 422 and field in page.text
    api = env.client().get("/api/v1/design/simon", params=params)
    assert 400 <= api.status_code < 500 and field in (api.json()["field"] or "")


def test_map_prior_from_evidence(env: Any) -> None:
    """Wiring check: the page/API answer is ``redif.design.bayes.map_prior`` on the arms the evidence base
    gives for the filters (the engine's numbers are checked against references in tests/design);
    invariants: mixture weights sum to 1 and the vague Beta(1, 1) component carries the robust weight."""
    from redif.design.bayes import map_prior
    from redif.design.historical import arms_from_evidence

    r = env.client().get("/api/v1/design/map", params={"outcome": "response", "robust_weight": 0.3})
    assert r.status_code == 200
    b = r.json()
    arms = arms_from_evidence("response")
    ref = map_prior(arms.r, arms.n, robust_weight=0.3)
    assert b["mean"] == pytest.approx(ref.mixture.mean, rel=1e-9)
    assert sum(c["w"] for c in b["mixture"]) == pytest.approx(1.0, abs=1e-9)
    assert any(c["a"] == 1.0 and c["b"] == 1.0 and c["w"] == pytest.approx(0.3) for c in b["mixture"])
    assert [a["r"] for a in b["historical"]["arms"]] == list(arms.r)
    page = env.client().get("/design/map", params={"outcome": "response", "robust_weight": "0.3"})
    assert page.status_code == 200 and 'id="map-summary"' in page.text and "Schmidli" in page.text
    bad = env.client().get("/design/map", params={"outcome": "response", "robust_weight": "2"})
    assert bad.status_code == 422 and 'id="err-robust_weight"' in bad.text
    api_bad = env.client().get("/api/v1/design/map", params={"outcome": "response", "robust_weight": 2})
    assert api_bad.status_code == 422 and "robust_weight" in api_bad.json()["field"]
