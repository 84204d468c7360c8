"""Issue 11: the patient's pathway assessment page shows the "ATA response to therapy" section (ATA 2015
Table 13 categories per follow-up time point, with rule, source and grade), the same blocks as
``redif patient assess`` (redif.pathway.report.report_blocks)."""

from __future__ import annotations

from typing import Any

import yaml

CASE: dict[str, Any] = {
    "case_id": "ATA-01",
    "synthetic": True,
    "histology": "papillary",
    "genotype": [{"gene": "BRAF", "variant": "V600E"}],
    "lesions": [{"id": "L1", "site": "right lung", "organ": "lung", "size_mm": 12, "detected_by": ["ct"]}],
    "rai_courses": [
        {"date": "2023-01-10", "activity_gbq": 3.7, "intent": "ablation",
         "post_therapy_scan": {"date": "2023-01-17", "uptake": {"L1": "present"}}},
    ],
    "labs": [{"date": "2024-03-01", "tg_ng_ml": 2.5, "tsh_state": "suppressed", "tgab_positive": False}],
    "response_assessments": [{"date": "2023-11-20", "target_mm": {"L1": 0}}],
}


def test_assessment_page_shows_ata_response(env: Any) -> None:
    """Issue 11: after storing a case document with follow-up Tg and imaging after 131I, the assessment
    page has the section, its caveat and a category from Table 13."""
    c, csrf = env.login("clin_a")
    pid = env.patient_a
    r = c.post(f"/patients/{pid}/case", data={"csrf_token": csrf, "case": yaml.safe_dump(CASE)},
               follow_redirects=False)
    assert r.status_code == 303
    page = c.get(f"/patients/{pid}/assessment").text
    assert "ATA response to therapy" in page and "total thyroidectomy" in page
    # 2023-01-17 uptake on the post-therapy scan; 2024-03-01 suppressed Tg 2.5 ng/mL (>= 1) with CT negative
    assert "Biochemical incomplete response" in page and "Structural incomplete response" in page
    api = env.client().get(f"/api/v1/patients/{pid}/assessment", headers=env.bearer("clin_a")).json()
    assert any(p["rule"] == "tg_suppressed_high" for p in api["ata_response"])
