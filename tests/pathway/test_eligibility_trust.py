"""Issue 11: eligibility cannot be satisfied by weak evidence.

Expected values come from the issue's "Why" list and the sourced rules: ATA 2025 Rec 74A ("progressive
RAI-R DTC with targetable mutations", secondary transcription) read with the ITOG statement (BRAF/RAS in
prospective trials, RET/NTRK fusions in case reports; PMID 40318680); the trials' entry criterion of RECIST
progression (SEL-I-METRY PMC6567392 Table 1; MERAIODE 1743MO); TgAb interference making Tg unreliable
(Spencer et al. 2014, PMID 25122493; the thyroglobulin engine's ``tgab_positive`` flag).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from redif.pathway import assess_case
from redif.pathway.case import parse_case

Run = Callable[..., subprocess.CompletedProcess[str]]
STATUSES = {"candidate", "not_candidate", "indeterminate"}


def _refractory(make_case: Any, **over: Any) -> dict[str, Any]:
    """RAI-refractory by ATA 2025 strong criterion (i): treatment 131I, no uptake in the CT-visible L1."""
    base: dict[str, Any] = dict(
        rai_courses=[
            {
                "date": "2021-01-10",
                "activity_gbq": 5.5,
                "intent": "treatment",
                "post_therapy_scan": {"uptake": {"L1": "absent"}},
            }
        ],
        progression_events=[{"date": "2024-01-15", "criterion": "recist_1_1", "lesion_ids": ["L1"]}],
    )
    base.update(over)
    data: dict[str, Any] = make_case(**base)
    return data


def _doc(data: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return assess_case(parse_case(data), **kw).to_dict()


def _tgab_labs(positive: bool | None) -> list[dict[str, Any]]:
    return [
        {"date": "2023-06-01", "tg_ng_ml": 2.0, "tgab_positive": positive, "tsh_state": "suppressed"},
        {"date": "2023-10-01", "tg_ng_ml": 4.1, "tgab_positive": positive, "tsh_state": "suppressed"},
        {"date": "2024-01-10", "tg_ng_ml": 8.3, "tgab_positive": positive, "tsh_state": "suppressed"},
    ]


def test_biochemical_only_with_tgab_is_indeterminate(make_case: Any) -> None:
    """Issue 11 Why #1: BRAF V600E, rising Tg as the only progression, TgAb positive at every measurement
    was called "candidate". Expected: indeterminate (structural progression required), the data that would
    decide it named (RECIST / structural imaging), and Tg marked unreliable because of TgAb."""
    data = _refractory(
        make_case,
        progression_events=[{"date": "2024-01-10", "criterion": "biochemical", "note": "rising Tg"}],
        labs=_tgab_labs(True),
    )
    doc = _doc(data)
    e = doc["eligibility"]
    assert e["status"] == "indeterminate" and e["eligible"] is None
    assert any("RECIST 1.1" in m for m in e["missing_data"])
    tg = next(c for c in e["checks"] if c["id"] == "tgab_positive")
    assert tg["status"] == "not met"
    assert "UNRELIABLE" in tg["detail"] and "TgAb positive at 3 of 3" in tg["detail"]
    assert "PMID 25122493" in tg["source"] and tg["grade"] == "primary"
    assert any("TgAb" in n for n in e["notes"])
    assert doc["protocol"] == []


def test_biochemical_only_tgab_negative_still_indeterminate(make_case: Any) -> None:
    """Issue 11: a reliable rising Tg is still biochemical progression: not enough for "candidate"."""
    doc = _doc(
        _refractory(
            make_case,
            progression_events=[{"date": "2024-01-10", "criterion": "biochemical"}],
            labs=_tgab_labs(False),
        )
    )
    assert doc["eligibility"]["status"] == "indeterminate"
    tg = next(c for c in doc["eligibility"]["checks"] if c["id"] == "tgab_positive")
    assert tg["status"] == "met" and "TgAb negative" in tg["detail"]


def test_rising_tgab_titre_marks_tg_unreliable(make_case: Any) -> None:
    """Issue 11: TgAb rising (titre 40 -> 95 IU/mL, flag not set) also makes Tg unreliable; the rising
    rule is graded unverified (any rise counts: a redif convention) and says so."""
    labs = _tgab_labs(None)
    for lab, titre in zip(labs, (40.0, 60.0, 95.0), strict=True):
        lab["tgab_iu_ml"] = titre
    doc = _doc(
        _refractory(
            make_case, progression_events=[{"date": "2024-01-10", "criterion": "biochemical"}], labs=labs
        )
    )
    tg = next(c for c in doc["eligibility"]["checks"] if c["id"] == "tgab_positive")
    assert tg["status"] == "not met"
    assert "TgAb rising from 40 IU/mL" in tg["detail"] and "grade unverified" in tg["detail"]


def test_structural_progression_makes_candidate(make_case: Any) -> None:
    """Control: RECIST 1.1 progression + strong criterion (i) + BRAF V600E -> candidate (Rec 74A)."""
    doc = _doc(_refractory(make_case, labs=_tgab_labs(False)))
    assert doc["eligibility"]["status"] == "candidate"
    assert doc["plan"]["allowed"] is True and doc["protocol"]


@pytest.mark.parametrize(
    ("genotype", "group"),
    [
        ({"gene": "RET", "kind": "fusion", "fusion_partner": "CCDC6"}, "RET fusion"),
        ({"gene": "NTRK3", "kind": "fusion", "fusion_partner": "ETV6"}, "NTRK fusion"),
    ],
)
def test_fusions_not_reported_as_meeting_rec74a(make_case: Any, genotype: dict[str, Any], group: str) -> None:
    """Issue 11 Why #7: RET/NTRK fusion cases were reported as meeting ATA 2025 Rec 74A.
    docs/methods/refractoriness.md, docs/methods/protocols.md: the
    recommendation as transcribed covers BRAF/RAS (prospective trials); fusions rest on case reports."""
    doc = _doc(_refractory(make_case, genotype=[genotype]))
    e = doc["eligibility"]
    assert e["status"] == "indeterminate"
    rec74a = next(c for c in e["checks"] if c["id"] == "rec74a")
    assert rec74a["status"] != "met"
    (g,) = e["genotype"]
    assert g["group"] == group and g["evidence_level"] == "case reports only" and g["rec74a"] is False
    assert "case reports" in rec74a["detail"]


def test_v600k_plus_kras_kept_with_conflict_and_course_mismatch(make_case: Any) -> None:
    """Issue 11 Why #4: BRAF V600K + KRAS G12C; V600K was dropped and the tumour mapped to RAS while the
    course is dabrafenib + trametinib, with no note. Expected: both entries kept and shown; V600K is a BRAF
    V600 variant with no sourced regimen (graded unverified); a conflict note; a regimen-mismatch note."""
    data = _refractory(
        make_case,
        genotype=[
            {"gene": "BRAF", "kind": "mutation", "variant": "V600K"},
            {"gene": "KRAS", "kind": "mutation", "variant": "G12C"},
        ],
        redifferentiation_course={"drugs": [{"drug": "dabrafenib"}, {"drug": "trametinib"}]},
    )
    doc = _doc(data)
    groups = {g["alteration"]: g for g in doc["eligibility"]["genotype"]}
    assert set(groups) == {"BRAF V600K", "KRAS G12C"}
    assert groups["BRAF V600K"]["group"] == "BRAF V600 other"
    assert groups["BRAF V600K"]["grade"] == "unverified" and groups["BRAF V600K"]["rec74a"] is None
    assert groups["KRAS G12C"]["group"] == "RAS"
    notes = doc["notes"]
    assert any("conflicting alterations" in n and "BRAF V600K" in n and "KRAS G12C" in n for n in notes)
    assert any(
        "regimen mismatch" in n and "dabrafenib + trametinib" in n and "braf-dabrafenib-trametinib" in n
        for n in notes
    )
    assert doc["eligibility"]["status"] == "candidate"  # KRAS G12C is RAS: covered by Rec 74A


def test_v600k_alone_is_indeterminate(make_case: Any) -> None:
    """A non-V600E V600 variant alone: the regimen table's BRAF sources enrolled V600E; unsourced ->
    indeterminate, shown with grade unverified, not dropped."""
    doc = _doc(_refractory(make_case, genotype=[{"gene": "BRAF", "variant": "V600K"}]))
    e = doc["eligibility"]
    assert e["status"] == "indeterminate"
    assert [g["alteration"] for g in e["genotype"]] == ["BRAF V600K"]
    assert doc["regimens"] == []


def test_unmatched_alteration_kept(make_case: Any) -> None:
    """Every genotype entry is shown: TERT + BRAF V600E gives two rows (TERT under 'no regimen group')."""
    doc = _doc(
        _refractory(
            make_case,
            genotype=[{"gene": "TERT", "variant": "C228T"}, {"gene": "BRAF", "variant": "V600E"}],
        )
    )
    assert [g["group"] for g in doc["eligibility"]["genotype"]] == ["no regimen group", "BRAF V600E"]
    assert doc["eligibility"]["status"] == "candidate"


def test_vemurafenib_on_ho2013_template_warns(redif: Run) -> None:
    """Issue 11 Why #7: the vemurafenib case runs the Ho 2013 template (written for selumetinib 75 mg BID,
    docs/methods/protocols.md) without a mismatch note. Expected: a drug/protocol mismatch warning."""
    out = redif("patient", "assess", "examples/case_braf_dosimetry.yaml", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert any(
        "drug/protocol mismatch" in n and "vemurafenib" in n and "ho2013" in n and "selumetinib" in n
        for n in doc["notes"]
    )


@pytest.mark.parametrize(
    "name",
    [
        "case_braf_v600e.yaml",
        "case_braf_dosimetry.yaml",
        "case_no_target.yaml",
        "case_not_refractory.yaml",
        "case_ntrk_fusion.yaml",
        "case_ras.yaml",
        "case_ret_fusion.yaml",
        "case_tgab_biochemical_only.yaml",
        "case_not_candidate.yaml",
    ],
)
def test_status_vocabulary(redif: Run, name: str) -> None:
    """Issue 11 interface: ``eligibility.status`` is exactly candidate / not_candidate / indeterminate."""
    out = redif("patient", "assess", f"examples/{name}", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["eligibility"]["status"] in STATUSES
