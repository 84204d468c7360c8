"""Issue 11: the safety findings on the web pathway page and in the API's assessment JSON.

Expected values: the rules of ``src/redif/data/safety_rules.yaml`` applied to ``examples/case_pregnant.yaml``
(pregnant: true -> the contraindication ``pregnancy``), as ``redif patient assess`` gives them.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

PREGNANT = Path(__file__).resolve().parents[2] / "examples" / "case_pregnant.yaml"


def test_pathway_page_shows_the_safety_section(env: Any) -> None:
    """Issue 11: the page summarises the contraindication and shows the Safety table with source and
    grade; the API's assessment JSON carries the same `safety` list."""
    c, csrf = env.login("clin_a")
    pid = env.patient_a
    r = c.post(f"/patients/{pid}/case", data={"csrf_token": csrf, "case": PREGNANT.read_text()},
               follow_redirects=False)
    assert r.status_code == 303
    page = html.unescape(c.get(f"/patients/{pid}/assessment").text)
    assert 'id="safety-summary"' in page and "1 contraindication" in page
    assert "Safety: 1 contraindication" in page
    assert "pregnancy: Pregnancy is a contraindication to 131I therapy" in page
    assert "Thyroid 1999;9(7):721-726" in page
    api = env.client().get(f"/api/v1/patients/{pid}/assessment", headers=env.bearer("clin_a"))
    assert api.status_code == 200
    safety = api.json()["safety"]
    assert safety[0]["id"] == "pregnancy" and safety[0]["severity"] == "contraindication"
    assert all(set(f) == {"id", "severity", "text", "source", "grade"} for f in safety)
