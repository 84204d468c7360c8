"""Issue 11: no plan where there is no indication.

``protocol`` is ``[]`` unless ``eligibility.status == "candidate"`` and no safety finding has severity
``contraindication`` (ATA 2025 Rec 74A/74B, PMID 40844370); the output says what would have to change.
``--hypothetical`` shows the plan anyway with every entry flagged and every printed line labelled.
One function decides (:func:`redif.pathway.assess.plan_allowed`); CLI, web and PDF follow it.
Expected values: the issue's "Why" #2 (an adjuvant case printed a MERAIODE plan with "131I 5.5 GBq").
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from redif.data import Grade
from redif.model import SafetySeverity
from redif.pathway import assess_case
from redif.pathway.assess import gate_plan, plan_allowed
from redif.pathway.case import parse_case
from redif.pathway.registry_section import registry_report_section
from redif.pathway.safety import SafetyFinding

Run = Callable[..., subprocess.CompletedProcess[str]]


def _adjuvant(make_case: Any) -> dict[str, Any]:
    data: dict[str, Any] = make_case(
        setting="adjuvant",
        rai_courses=[
            {
                "date": "2021-01-10",
                "activity_gbq": 5.5,
                "intent": "treatment",
                "post_therapy_scan": {"uptake": {"L1": "absent"}},
            }
        ],
        progression_events=[{"date": "2024-01-15", "criterion": "recist_1_1"}],
        redifferentiation_course={
            "drugs": [{"drug": "dabrafenib"}, {"drug": "trametinib"}],
            "start_date": "2024-06-03",
            "protocol": "meraiode",
        },
    )
    return data


def _write(tmp_path: Path, data: dict[str, Any]) -> str:
    p = tmp_path / "case.yaml"
    p.write_text(yaml.safe_dump(data), encoding="utf-8")
    return str(p)


def test_adjuvant_has_no_plan(make_case: Any, redif: Run, tmp_path: Path) -> None:
    """Issue 11 Why #2: "Eligibility: not a candidate" then a MERAIODE plan with "131I 5.5 GBq" on day 35.
    Expected: protocol [], plan.allowed false, and the change needed (Rec 74B adjuvant) stated."""
    path = _write(tmp_path, _adjuvant(make_case))
    out = redif("patient", "assess", path, "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["eligibility"]["status"] == "not_candidate"
    assert doc["protocol"] == [] and doc["protocol_info"] is None
    assert doc["plan"]["allowed"] is False and doc["plan"]["hypothetical"] is False
    assert any("candidate" in c and "adjuvant" in c for c in doc["plan"]["what_would_have_to_change"])
    text = redif("patient", "assess", path).stdout
    assert "131I 5.5 GBq" not in text and "What would have to change" in text


def test_indeterminate_has_no_plan(make_case: Any) -> None:
    """Refractoriness indeterminate (no 131I scan) -> eligibility indeterminate -> no plan."""
    data = make_case(
        rai_courses=[{"date": "2021-01-10", "activity_gbq": 5.5, "intent": "treatment"}],
        progression_events=[{"date": "2024-01-15", "criterion": "recist_1_1"}],
        redifferentiation_course={"drugs": [{"drug": "dabrafenib"}], "start_date": "2024-06-03"},
    )
    doc = assess_case(parse_case(data)).to_dict()
    assert doc["eligibility"]["status"] == "indeterminate"
    assert doc["protocol"] == [] and doc["plan"]["what_would_have_to_change"]


def test_hypothetical_labels_every_entry_and_line(make_case: Any, redif: Run, tmp_path: Path) -> None:
    """--hypothetical: every JSON entry has "hypothetical": true; every printed protocol line says so."""
    path = _write(tmp_path, _adjuvant(make_case))
    out = redif("patient", "assess", path, "--json", "--hypothetical")
    doc = json.loads(out.stdout)
    assert doc["protocol"] and all(p["hypothetical"] is True for p in doc["protocol"])
    assert doc["plan"]["hypothetical"] is True and doc["plan"]["allowed"] is False
    md = tmp_path / "r.md"
    redif("patient", "assess", path, "--hypothetical", "--markdown", str(md))
    text = md.read_text(encoding="utf-8")
    section = text.split("Protocol: meraiode", 1)[1].split("\n## ", 1)[0]
    assert "HYPOTHETICAL — Protocol: meraiode" in text
    lines = [ln for ln in section.splitlines() if ln.strip() and not ln.startswith("|---")][1:]
    assert lines and all("HYPOTHETICAL" in ln for ln in lines if not ln.startswith("| day")), lines


def test_ics_refused_without_indication(make_case: Any, redif: Run, tmp_path: Path) -> None:
    """No calendar for a patient without an indication, hypothetical or not; the reason is given."""
    path = _write(tmp_path, _adjuvant(make_case))
    for extra in ((), ("--hypothetical",)):
        out = redif("patient", "assess", path, "--ics", str(tmp_path / "p.ics"), *extra)
        assert out.returncode == 2 and "--ics" in out.stderr and "adjuvant" in out.stderr
        assert not (tmp_path / "p.ics").exists()


def test_candidate_plan_unflagged(redif: Run) -> None:
    """A candidate keeps its plan, unflagged (examples/case_braf_v600e.yaml: MERAIODE, 131I on day 35)."""
    doc = json.loads(redif("patient", "assess", "examples/case_braf_v600e.yaml", "--json").stdout)
    assert doc["plan"]["allowed"] is True and doc["plan"]["what_would_have_to_change"] == []
    assert doc["protocol"] and not any(p["hypothetical"] for p in doc["protocol"])


def test_contraindication_blocks_plan(redif: Run, examples_dir: Path) -> None:
    """A safety finding of severity "contraindication" blocks the plan of a candidate; a "warning" does
    not. End to end: the pregnant example (a candidate by genotype and progression) gets ``protocol: []``
    and says why."""
    from redif.pathway.case import load_case

    result = assess_case(load_case(examples_dir / "case_braf_v600e.yaml"))
    ok, changes = plan_allowed(result)
    assert ok and changes == []

    def finding(severity: SafetySeverity) -> SafetyFinding:
        return SafetyFinding("pregnancy", severity, "pregnant", "test", Grade.UNVERIFIED)

    blocked = dataclasses.replace(result, safety=(finding(SafetySeverity.CONTRAINDICATION),))
    ok, changes = plan_allowed(blocked)
    assert not ok and any("pregnant" in c for c in changes)
    assert plan_allowed(dataclasses.replace(result, safety=(finding(SafetySeverity.WARNING),)))[0]
    gated = gate_plan(blocked)
    assert gated.protocol is None

    out = redif("patient", "assess", str(examples_dir / "case_pregnant.yaml"), "--json")
    doc = json.loads(out.stdout)
    assert doc["eligibility"]["status"] == "candidate"
    assert any(f["severity"] == "contraindication" for f in doc["safety"])
    assert doc["protocol"] == []
    assert any("contraindication" in c for c in doc["plan"]["what_would_have_to_change"])


def test_pdf_section_has_no_schedule_and_shows_evidence_level() -> None:
    """The PDF's pathway section (registry data) never shows a dated schedule, and a fusion is shown with
    its evidence level, not as meeting Rec 74A."""
    section = registry_report_section(
        {"records": {"genotypes": [{"gene": "RET", "fusion_partner": "CCDC6"}]}, "pseudonym": "P1"}
    )
    assert section is not None
    text = " ".join(section["lines"])
    assert "case reports only" in text and "not covered by ATA 2025 Rec 74A" in text
    assert "No dated schedule" in text
    assert "day" not in [c.lower() for c in (section["table"] or {}).get("columns", [])]
