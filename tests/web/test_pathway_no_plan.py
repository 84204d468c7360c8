"""Issue 11: the web pathway page follows the same plan gate as the CLI
(:func:`redif.pathway.assess.plan_allowed`): for a non-candidate (examples/case_not_candidate.yaml,
adjuvant -> ATA 2025 Rec 74B) no schedule, no calendar link, the .ics route refuses with the reason, and
the page says what would have to change. Expected values: the issue's "Why" #2."""

from __future__ import annotations

from pathlib import Path
from typing import Any

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "case_not_candidate.yaml"


def test_not_candidate_page_has_no_plan(env: Any) -> None:
    c, csrf = env.login("clin_a")
    pid = env.patient_a
    r = c.post(
        f"/patients/{pid}/case",
        data={"csrf_token": csrf, "case": EXAMPLE.read_text()},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = c.get(f"/patients/{pid}/assessment").text
    assert "Eligibility: not_candidate" in page and 'class="status-not-candidate"' in page
    assert "protocol.ics" not in page and 'id="no-plan"' in page and "Rec 74B" in page
    assert "131I 5.5 GBq" not in page
    ics = c.get(f"/patients/{pid}/protocol.ics")
    assert 400 <= ics.status_code < 500 and "VCALENDAR" not in ics.text
    api = env.client().get(f"/api/v1/patients/{pid}/assessment", headers=env.bearer("clin_a")).json()
    assert api["protocol"] == [] and api["plan"]["allowed"] is False
