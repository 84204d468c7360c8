"""Every example case end to end through `redif patient assess --json`.

Expected answers derived by hand from docs/methods/sources-and-grades.md (section cited per test) and the case
files' own numbers; each example's header comment states the reasoning.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from icalendar import Calendar

from redif import DISCLAIMER

Run = Callable[..., subprocess.CompletedProcess[str]]


def _assess(redif: Run, name: str, *extra: str) -> dict[str, Any]:
    out = redif("patient", "assess", f"examples/{name}", "--json", *extra)
    assert out.returncode == 0, out.stderr
    doc: dict[str, Any] = json.loads(out.stdout)
    for key in ("refractory", "eligibility", "regimens", "protocol", "disclaimer"):
        assert key in doc
    assert doc["disclaimer"] == DISCLAIMER
    assert {"status", "criteria_met", "missing_data"} <= set(doc["refractory"])
    for m in doc["refractory"]["criteria_met"]:
        assert m["source"] and m["grade"] in {"primary", "secondary", "unverified"} and m["evidence"]
    for r in doc["regimens"]:
        assert {"drug", "dose", "evidence", "source", "grade"} <= set(r)
    for p in doc["protocol"]:
        assert {"day", "date", "event", "source", "grade"} <= set(p)
    return doc


def _ids(doc: dict[str, Any]) -> list[str]:
    return [m["id"] for m in doc["refractory"]["criteria_met"]]


def test_braf_v600e(redif: Run) -> None:
    """docs/methods/refractoriness.md strong (i): 5.5 GBq treatment scan without uptake in L1/L2/N1, all
    CT-visible ->
    refractory. §3 MERAIODE from 2024-03-04: day 28 = 2024-04-01, day 35 = 2024-04-08, day 42 =
    2024-04-15. New uptake in L1 and N1 on drug -> go (new_uptake; MERAIODE itself gives 131I anyway)."""
    doc = _assess(redif, "case_braf_v600e.yaml")
    assert doc["refractory"]["status"] == "refractory"
    assert "ata2025.strong.no_uptake_post_therapy" in _ids(doc)
    assert doc["eligibility"]["status"] == "candidate"
    assert [r["drug"] for r in doc["regimens"]] == [
        "dabrafenib + trametinib",
        "dabrafenib",
        "vemurafenib",
        "selumetinib",
    ]
    assert doc["regimens"][0]["dose"] is None  # not in the sources read: stays blank
    assert [r["matches_course"] for r in doc["regimens"]] == [True, False, False, False]
    assert doc["regimens"][1]["dose"] == "150 mg BID"
    rows = {(p["day"], p["event"].split(" (")[0]): p["date"] for p in doc["protocol"]}
    assert rows[(28, "rhTSH diagnostic WBS")] == "2024-04-01"
    assert rows[(35, "131I 5.5 GBq")] == "2024-04-08"
    assert any(p["day"] == 42 and p["date"] == "2024-04-15" for p in doc["protocol"])
    d = doc["decision"]
    assert d["go"] is True and d["rule"] == "new_uptake" and "NCT01534897" in d["source"]
    assert "whatever" in d["policy"]


def test_ras(redif: Run) -> None:
    """§2 strong (ii): progression 2022-10-15 is 4.5 months after the 7.4 GBq treatment of 2022-06-01
    with uptake -> refractory. §2 MERAIODE 'no lesion > 3 cm': B1 35 mm -> trial criterion not met, yet
    eligible. §5 Ho 2013: 2.5 Gy/GBq x 9.0 GBq = 22.5 Gy >= 20 Gy -> go; 20 Gy reached at 8.0 GBq."""
    doc = _assess(redif, "case_ras.yaml")
    assert doc["refractory"]["status"] == "refractory"
    assert "ata2025.strong.progression_despite_uptake" in _ids(doc)
    checks = {c["id"]: c for c in doc["eligibility"]["checks"]}
    assert checks["meraiode_lesion_size"]["status"] == "not met"
    assert checks["meraiode_lesion_size"]["label"] == "trial criterion meraiode_lesion_size: not met"
    assert doc["eligibility"]["eligible"] is True
    assert [r["drug"] for r in doc["regimens"]] == ["trametinib", "selumetinib"]
    d = doc["decision"]
    assert d["go"] is True and d["rule"] == "lesion_dose_threshold"
    l1 = next(x for x in d["lesion_doses"] if x["lesion_id"] == "L1")
    assert l1["dose_at_mta_gy"] == pytest.approx(22.5)
    assert l1["activity_for_threshold_gbq"] == pytest.approx(8.0)


def test_ret_fusion(redif: Run) -> None:
    """§3 SEL-I-METRY: L1 1.0 -> 1.3 %IA is exactly +30% -> go by uptake_increase; RET fusion evidence is
    case reports only (§1 ITOG), outside Rec 74A as transcribed (§2: BRAF/RAS) -> eligibility
    indeterminate (issue 11), so no plan unless --hypothetical."""
    doc = _assess(redif, "case_ret_fusion.yaml", "--start-date", "2024-09-16")
    assert doc["refractory"]["status"] == "refractory"
    assert doc["eligibility"]["status"] == "indeterminate"
    assert [r["drug"] for r in doc["regimens"]] == ["selpercatinib"]
    assert doc["regimens"][0]["evidence_level"] == "case reports only"
    assert doc["protocol"] == [] and doc["plan"]["allowed"] is False
    assert any("case reports" in c for c in doc["plan"]["what_would_have_to_change"])
    hypo = _assess(redif, "case_ret_fusion.yaml", "--start-date", "2024-09-16", "--hypothetical")
    assert hypo["protocol_info"]["name"] == "sel-i-metry"
    assert all(p["hypothetical"] for p in hypo["protocol"])
    d = doc["decision"]
    assert d["go"] is True and d["rule"] == "uptake_increase"
    outcomes = {o["id"]: o["outcome"] for o in d["rules"]}
    assert outcomes == {"new_uptake": "not met", "uptake_increase": "met"}


def test_ntrk_fusion(redif: Run) -> None:
    """§3 Groussin 2022: larotrectinib 100 mg BID for 4 weeks; no uptake assessment -> no decision key.
    §2 ATA 2015 (ii): L1/L2 avid in 2021, non-avid in 2023 -> 'loses ability'."""
    doc = _assess(redif, "case_ntrk_fusion.yaml")
    assert doc["refractory"]["status"] == "refractory"
    assert "ata2015.loses_ability" in _ids(doc)
    l1 = next(les for les in doc["lesions"] if les["id"] == "L1")
    assert [(a["date"], a["uptake"]) for a in l1["avidity"]] == [
        ("2021-09-08", "present"),
        ("2023-05-09", "absent"),
    ]
    assert [(r["drug"], r["dose"]) for r in doc["regimens"]] == [("larotrectinib", "100 mg BID")]
    assert doc["regimens"][0]["evidence_level"] == "case reports only"
    assert "decision" not in doc
    assert doc["eligibility"]["status"] == "indeterminate" and doc["protocol"] == []
    hypo = _assess(redif, "case_ntrk_fusion.yaml", "--hypothetical")
    assert hypo["protocol"][0]["date"] == "2025-01-13" and hypo["protocol"][0]["hypothetical"] is True


def test_not_refractory(redif: Run) -> None:
    """§2: every post-therapy scan avid, no progression; 24.0 GBq cumulative is not a criterion ->
    not refractory, not a candidate, no protocol planned."""
    doc = _assess(redif, "case_not_refractory.yaml")
    r = doc["refractory"]
    assert r["status"] == "not refractory" and r["criteria_met"] == []
    assert r["cumulative_activity_gbq"] == pytest.approx(24.0)
    cum = next(n for n in r["non_criteria"] if n["id"] == "cumulative_activity_alone")
    assert cum["applies"] is True
    assert doc["eligibility"]["eligible"] is False
    assert doc["protocol"] == [] and "decision" not in doc


def test_no_targetable_alteration(redif: Run) -> None:
    """§2 Rec 74A needs a targetable mutation: TERT only -> refractory but not a candidate, no regimen."""
    doc = _assess(redif, "case_no_target.yaml")
    assert doc["refractory"]["status"] == "refractory"
    assert doc["eligibility"]["status"] == "not_candidate"
    assert doc["regimens"] == [] and doc["protocol"] == []
    assert "selumetinib" in doc["eligibility"]["trial_context"]


def test_markdown_and_ics(redif: Run, tmp_path: Path) -> None:
    md, ics = tmp_path / "r.md", tmp_path / "p.ics"
    out = redif(
        "patient", "assess", "examples/case_braf_v600e.yaml", "--markdown", str(md), "--ics", str(ics)
    )
    assert out.returncode == 0, out.stderr
    assert "RAI-refractoriness: refractory" in out.stdout
    text = md.read_text()
    assert text.startswith("# redif assessment — SYN-BRAF-001 (SYNTHETIC case)")
    assert (
        DISCLAIMER in text and "PMID 40844370" in text and "| day | date | event | source | grade |" in text
    )
    cal = Calendar.from_ical(ics.read_bytes())
    assert len(cal.walk("VEVENT")) == 11


def test_protocol_override_and_start_date(redif: Run) -> None:
    doc = _assess(redif, "case_braf_v600e.yaml", "--protocol", "rothenberg", "--start-date", "2024-05-06")
    assert doc["protocol_info"]["name"] == "rothenberg"
    assert doc["protocol"][0]["date"] == "2024-05-06"
    assert doc["decision"]["rule"] == "new_uptake"


def test_bad_case_exit_2_one_line_per_problem(redif: Run, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "case_id: X-1\nname: Someone\nhistology: papillary\nlesions:\n"
        "  - {id: L1, site: lung, organ: lung, size_mm: -4}\n  - {id: L2, organ: bone}\n"
    )
    for cmd in ("assess", "validate"):
        out = redif("patient", cmd, str(bad))
        assert out.returncode == 2
        assert "Traceback" not in out.stderr
        lines = out.stderr.strip().splitlines()
        assert lines[0] == f"error: {bad}: 3 problems in the case file"
        assert [ln.strip().split(":")[0] for ln in lines[1:]] == [
            "name",
            "lesions[0].size_mm",
            "lesions[1].site",
        ]


def test_bad_options(redif: Run) -> None:
    out = redif("patient", "assess", "examples/case_ras.yaml", "--start-date", "2024-13-01")
    assert (
        out.returncode == 2
        and out.stderr.strip() == "error: --start-date: not a date (got '2024-13-01'); use YYYY-MM-DD"
    )
    out = redif("patient", "assess", "examples/case_ras.yaml", "--protocol", "nope")
    assert out.returncode == 2 and "meraiode" in out.stderr
    out = redif("patient", "assess", "examples/missing.yaml")
    assert out.returncode == 2 and "cannot read case file" in out.stderr


def test_validate_and_schema(redif: Run) -> None:
    out = redif("patient", "validate", "examples/case_ras.yaml")
    assert out.returncode == 0 and "valid case SYN-RAS-002" in out.stdout
    out = redif("patient", "schema")
    assert out.returncode == 0
    assert json.loads(out.stdout)["title"] == "redif case"


def test_protocol_command_json(redif: Run) -> None:
    out = redif("patient", "protocol", "meraiode", "--start-date", "2024-03-04", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert [e["day"] for e in doc["events"] if e["kind"] == "rai_administration"] == [35]


def test_subprocess_entry_point(redif_subprocess: Run, tmp_path: Path) -> None:
    """The real console entry (`python -m redif`): JSON on stdout, and a bad file -> exit 2, no traceback."""
    out = redif_subprocess("patient", "assess", "examples/case_ret_fusion.yaml", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["decision"]["rule"] == "uptake_increase"
    bad = tmp_path / "b.yaml"
    bad.write_text("case_id: X-1\nhistology: nope\n")
    out = redif_subprocess("patient", "validate", str(bad))
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.splitlines()[1].strip().startswith("histology: Input should be")


def test_protocol_command_user_template_and_errors(redif: Run, tmp_path: Path) -> None:
    tpl = tmp_path / "t.yaml"
    tpl.write_text(
        "name: local\ntitle: Local\nsource: SOP\ngrade: unverified\nevents:\n"
        "  - {id: s, kind: drug_start, day: 0, event: Start, source: SOP, grade: unverified}\n"
        "  - {id: r, kind: rai_administration, after: s, days: 30, event: 131I,"
        " source: SOP, grade: unverified}\n"
    )
    ics = tmp_path / "p.ics"
    out = redif("patient", "protocol", str(tpl), "--start-date", "2025-01-01", "--ics", str(ics))
    assert out.returncode == 0, out.stderr
    assert len(Calendar.from_ical(ics.read_bytes()).walk("VEVENT")) == 2
    out = redif("patient", "protocol", "meraiode", "--ics", str(ics))
    assert out.returncode == 2 and "--start-date" in out.stderr
    tpl.write_text("name: local\ntitle: Local\nsource: SOP\ngrade: gold\nevents: []\n")
    out = redif("patient", "protocol", str(tpl))
    assert out.returncode == 2
    assert [ln.strip().split(":")[0] for ln in out.stderr.splitlines()[1:]] == ["grade", "events"]
    out = redif("patient", "protocols", "--json")
    assert {p["name"] for p in json.loads(out.stdout)} == {
        "meraiode",
        "ho2013",
        "erriti",
        "sel-i-metry",
        "rothenberg",
    }


def test_braf_dosimetry_example(redif: Run) -> None:
    """Ho 2013 template: the lesion-dose rule decides; the dosimetry engine computes the plan (checked in
    test_engine_bridges.py)."""
    doc = _assess(redif, "case_braf_dosimetry.yaml")
    assert doc["protocol_info"]["name"] == "ho2013"
    d = doc["decision"]
    assert d["rule"] == "lesion_dose_threshold" and d["go"] is True
    assert isinstance(doc["dosimetry"]["plan"], dict)


def test_tgab_biochemical_only(redif: Run) -> None:
    """Issue 11: BRAF V600E, strong criterion (i) (L1/L2 absent on the 5.5 GBq treatment scan, CT-visible)
    -> refractory; the only progression is biochemical with TgAb positive at 3 of 3 Tg values -> eligibility
    indeterminate (structural progression needed, docs/methods/refractoriness.md trial entry = RECIST
    progression), Tg marked
    unreliable (TgAb), no plan."""
    doc = _assess(redif, "case_tgab_biochemical_only.yaml")
    assert doc["refractory"]["status"] == "refractory"
    e = doc["eligibility"]
    assert e["status"] == "indeterminate"
    assert any("RECIST 1.1" in m for m in e["missing_data"])
    tg = next(c for c in e["checks"] if c["id"] == "tgab_positive")
    assert tg["status"] == "not met" and "TgAb positive at 3 of 3" in tg["detail"]
    assert doc["protocol"] == [] and doc["plan"]["allowed"] is False


def test_not_candidate_adjuvant(redif: Run) -> None:
    """Issue 11: adjuvant setting -> Rec 74B (§2) -> not_candidate; the case names MERAIODE but protocol is
    [] and the output says what would have to change; no "131I 5.5 GBq" line is printed."""
    doc = _assess(redif, "case_not_candidate.yaml")
    assert doc["eligibility"]["status"] == "not_candidate"
    assert doc["protocol"] == [] and doc["protocol_info"] is None
    assert any("Rec 74B" in c for c in doc["plan"]["what_would_have_to_change"])
    text = redif("patient", "assess", "examples/case_not_candidate.yaml").stdout
    assert "131I 5.5 GBq" not in text and "What would have to change" in text
