"""Issue 11: the assessment shows the ATA 2015 response to therapy per follow-up time point.

Expected categories come from ATA 2015 Table 13 (Haugen BR et al., Thyroid 2016;26:1-133, PMID 26462967)
as transcribed in PMC7578621 Table 1: negative imaging + suppressed Tg < 0.2 ng/mL -> excellent; negative
imaging + suppressed Tg >= 1 ng/mL -> biochemical incomplete; structural or functional evidence of disease
(here radioiodine uptake in a lesion on the post-therapy scan, or a RECIST time point with a measured target
lesion) -> structural incomplete; TgAb positive -> Tg not interpretable (indeterminate at best).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from redif.pathway import assess_case, parse_case
from redif.pathway.report import report_blocks, to_markdown
from redif.reports import pdf

Run = Callable[..., subprocess.CompletedProcess[str]]

CASE: dict[str, Any] = {
    "case_id": "ATA-01",
    "synthetic": True,
    "histology": "papillary",
    "genotype": [{"gene": "BRAF", "variant": "V600E"}],
    "lesions": [{"id": "L1", "site": "right lung", "organ": "lung", "size_mm": 12,
                 "detected_by": ["ct"]}],
    "rai_courses": [
        {"date": "2023-01-10", "activity_gbq": 3.7, "intent": "ablation",
         "post_therapy_scan": {"date": "2023-01-17", "uptake": {"L1": "present"}}},
    ],
    "labs": [
        {"date": "2023-12-01", "tg_ng_ml": 0.1, "tsh_state": "suppressed", "tgab_positive": False},
        {"date": "2024-03-01", "tg_ng_ml": 2.5, "tsh_state": "suppressed", "tgab_positive": False},
        {"date": "2024-06-01", "tg_ng_ml": 0.1, "tsh_state": "suppressed", "tgab_positive": True,
         "tgab_iu_ml": 120},
    ],
    "response_assessments": [
        {"date": "2023-11-20", "target_mm": {"L1": 0}},
        {"date": "2024-09-01", "target_mm": {"L1": 14}},
    ],
}


def _doc(case: dict[str, Any] = CASE) -> dict[str, Any]:
    return assess_case(parse_case(case)).to_dict()


def test_ata_response_in_the_assessment_json() -> None:
    """Issue 11: ``ata_response`` lists {date, category, rule, source, grade} per follow-up time point:
    post-therapy scan uptake -> structural; CT negative without Tg -> indeterminate (no_tg, a redif
    convention); CT negative + suppressed Tg 0.1 (TgAb negative) -> excellent;
    suppressed Tg 2.5 -> biochemical incomplete; TgAb negative -> positive (de novo, a rising pattern of
    Reverter 2020) -> biochemical incomplete; RECIST target
    14 mm -> structural."""
    doc = _doc()
    got = [(p["date"], p["category"], p["rule"]) for p in doc["ata_response"]]
    assert got == [
        ("2023-01-17", "structural_incomplete", "structural_evidence"),
        ("2023-11-20", "indeterminate", "no_tg"),
        ("2023-12-01", "excellent", "excellent"),
        ("2024-03-01", "biochemical_incomplete", "tg_suppressed_high"),
        ("2024-06-01", "biochemical_incomplete", "tgab_rising"),
        ("2024-09-01", "structural_incomplete", "structural_evidence"),
    ]
    for p in doc["ata_response"]:
        assert {"date", "category", "rule", "source", "grade"} <= set(p)
        assert p["grade"] in ("primary", "secondary", "unverified") and p["source"]
    assert "total thyroidectomy" in doc["ata_response_scope"]["text"]


def test_post_therapy_scan_before_ct_window() -> None:
    """Issue 11: the post-therapy uptake of 2023-01-17 is outside the window of the 2023-12-01 point (183
    days, a redif convention), so that point uses the 2023-11-20 CT (negative) and its own Tg."""
    pts = {p["date"]: p for p in _doc()["ata_response"]}
    assert "response_assessments[0]" in pts["2023-12-01"]["detail"]


def test_cli_json_has_ata_response(redif: Run, tmp_path: Path) -> None:
    """Issue 11: ``redif patient assess --json`` carries ``ata_response``."""
    path = tmp_path / "case.yaml"
    path.write_text(yaml.safe_dump(CASE))
    out = redif("patient", "assess", str(path), "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert [p["category"] for p in doc["ata_response"]][-1] == "structural_incomplete"


def test_text_report_has_the_section() -> None:
    """Issue 11: the text report has an "ATA response to therapy" section with the caveat and a table of
    date, category, rule, source and grade."""
    md = to_markdown(report_blocks(_doc()))
    assert "## ATA response to therapy" in md
    assert "Caveat:" in md and "total thyroidectomy" in md
    assert "Biochemical incomplete response" in md and "tg_suppressed_high" in md


def test_empty_ata_response_is_explained() -> None:
    """Issue 11: a case without follow-up after 131I says why the list is empty."""
    case = {k: v for k, v in CASE.items() if k not in ("labs", "response_assessments", "rai_courses")}
    doc = _doc(case)
    assert doc["ata_response"] == []
    assert "No follow-up time point" in to_markdown(report_blocks(doc))


REGISTRY_PATIENT: dict[str, Any] = {
    "id": 7, "pseudonym": "A-0009", "site_code": "A", "sex": "female", "birth_year": 1960,
    "is_demo": False, "histology": "papillary", "rai_refractory_criterion": None,
    "diagnosis_date": "2015-03-01", "progression_date": None, "last_follow_up_date": None,
    "records": {
        "rai-history": [
            {"id": 1, "treatment_date": "2016-01-10", "activity_gbq": 3.7, "indication": "ablation"}
        ],
        "labs": [
            {"id": 1, "sample_date": "2016-09-01", "analyte": "Tg", "value": 0.1, "unit": "ng/mL"},
            {"id": 2, "sample_date": "2017-03-01", "analyte": "Tg", "value": 20.0, "unit": "ng/mL"},
        ],
        "responses": [{"id": 1, "assessment_date": "2016-08-20", "overall_response": "CR"}],
    },
}


def test_pdf_has_the_ata_section() -> None:
    """Issue 11: the PDF report has an "ATA response to therapy" section from the registry records: CR on
    2016-08-20 (negative imaging) + Tg 0.1 of unknown TSH state (< 0.2: excellent under both thresholds,
    but no TgAb reported -> indeterminate), Tg 20 ng/mL (>= 10: biochemical incomplete either way)."""
    payload = pdf._payload(REGISTRY_PATIENT, datetime(2026, 1, 2))
    (ata,) = [s for s in payload["sections"] if s["title"] == "ATA response to therapy"]
    assert ata["available"] and any("total thyroidectomy" in line for line in ata["lines"])
    rows = ata["table"]["rows"]
    assert [r[:2] for r in rows] == [
        ["2016-08-20", "Indeterminate response"],
        ["2016-09-01", "Indeterminate response"],
        ["2017-03-01", "Biochemical incomplete response"],
    ]
    assert pdf.patient_report_pdf(REGISTRY_PATIENT, generated_at=datetime(2026, 1, 2)).startswith(b"%PDF")
