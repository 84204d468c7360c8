"""Evidence base: loading, validation rules, user-study merge.

Expected values are read by hand from the project's sourced evidence table (each row cites its
publication; docs/methods/sources-and-grades.md); each test quotes the cells it relies on.
"""

from __future__ import annotations

import csv
import itertools
from pathlib import Path
from typing import Any

import pytest
import yaml

from redif.errors import InputError
from redif.evidence.enums import CountFlag, EvidenceGrade, GenotypeGroup, UptakeDefinition
from redif.evidence.studies import (
    CSV_COLUMNS,
    load_evidence,
    merge_studies,
    parse_study,
    read_studies_file,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _record(**changes: Any) -> dict[str, Any]:
    """A minimal valid user record (illustrative numbers), with ``changes`` applied."""
    rec: dict[str, Any] = {
        "row_id": "T01", "row_type": "arm", "label": "Test arm", "genotype": "RAS", "grade": "primary",
        "source": "test", "n_enrolled": 10, "n_evaluable": 9,
        "uptake": [{"definition": "uptake on diagnostic scan", "restored": 4}],
        "recist_cr": 0, "recist_pr": 2, "recist_sd": 1, "recist_pd": 1, "response_denominator": 4,
    }
    rec.update(changes)
    return rec


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k, "") for k in CSV_COLUMNS})
    return path


def test_builtin_has_every_row_of_the_source_table() -> None:
    """The 27 row_id values of the evidence table, in its order (P01 ... C05), then the two registered trials
    without results added by issue 12 (O01 NCT04554680, O02 NCT02152995: ongoing, never pooled)."""
    base = load_evidence()
    assert base.ids == (
        "P01", "P01a", "P01b", "P01c", "P02", "P03", "P04", "P05", "P05b", "P05c", "P06", "P07", "P08",
        "R01", "R02", "R03", "S01", "S02", "S03", "S03a", "S03b", "S04", "C01", "C02", "C03", "C04", "C05",
        "O01", "O02",
    )
    assert {s.row_id for s in base if s.results_reported is False} == {"O01", "O02"}
    assert all(s.source for s in base)


def test_grades_copied_from_verification_column() -> None:
    """the evidence table 'verification': primary-abstract -> primary; S01/S02/C02/C04/C05 unverified;
    S03/S03a/S03b unreliable-secondary; P04, P06, P08, R01, R02, C01 secondary. Issue 12: C03 (Lee 2021
    JCI) is now primary (confirmed from its abstract, evidence table correction); O02 (NCT02152995,
    registry record not read) is unverified."""
    base = load_evidence()
    by_grade = {g: {s.row_id for s in base if s.grade is g} for g in EvidenceGrade}
    assert by_grade[EvidenceGrade.UNVERIFIED] == {"S01", "S02", "C02", "C04", "C05", "O02"}
    assert base.get("C03").grade is EvidenceGrade.PRIMARY
    assert by_grade[EvidenceGrade.UNRELIABLE_SECONDARY] == {"S03", "S03a", "S03b"}
    assert by_grade[EvidenceGrade.SECONDARY] == {"P04", "P06", "P08", "R01", "R02", "C01"}


def test_several_uptake_definitions_kept_apart() -> None:
    """the evidence table n_uptake_restored: P01 "12 increased; 8 reached threshold" of 20 evaluable;
    P07 "dcWBS2 4/10 (40%); post-therapy WBS 6/10 (60%)"; P06 "dcWBS day 28 65%; post-therapy WBS 95%
    (~20/21)" -- the 65% has no denominator, so no count. Issue 12: 5/65/95% fit a denominator of 20
    (1, 13, 19 of 20), not 21, so the post-therapy count is 19/20, flagged unverified with a note that
    says it is derived (shown as "derived, unverified")."""
    base = load_evidence()
    p01 = base.get("P01")
    inc = p01.uptake_for(UptakeDefinition.INCREASED_124I)
    thr = p01.uptake_for(UptakeDefinition.LESION_DOSE_THRESHOLD)
    assert inc and inc.restored and inc.evaluable and (inc.restored.value, inc.evaluable.value) == (12, 20)
    assert thr and thr.restored and (thr.restored.value,) == (8,)
    p07 = base.get("P07")
    diag = p07.uptake_for(UptakeDefinition.DIAGNOSTIC_SCAN)
    post = p07.uptake_for(UptakeDefinition.POST_THERAPY_SCAN)
    assert diag and diag.restored and diag.restored.value == 4
    assert post and post.restored and post.restored.value == 6
    p06 = base.get("P06")
    d6 = p06.uptake_for(UptakeDefinition.DIAGNOSTIC_SCAN)
    assert d6 is not None and d6.restored is None and d6.percent_reported == 65
    post6 = p06.uptake_for(UptakeDefinition.POST_THERAPY_SCAN)
    assert post6 and post6.restored and post6.evaluable
    assert (post6.restored.value, post6.evaluable.value) == (19, 20)
    assert post6.restored.flag is CountFlag.UNVERIFIED and post6.evaluable.flag is CountFlag.UNVERIFIED
    assert (post6.restored.note or "").startswith("derived")


def test_unverified_marks_become_flags() -> None:
    """the evidence table P02: pmid "25549723 (unverified, unverified)", n_uptake_restored "6
    (UNVERIFIED: ...)"."""
    p02 = load_evidence().get("P02")
    assert p02.pmid is not None and p02.pmid.value == "25549723" and p02.pmid.unverified
    outcome = p02.uptake[0]
    assert outcome.restored is not None and outcome.restored.unverified and outcome.restored.value == 6


def test_derived_counts_flagged() -> None:
    """the evidence table P01c: "6 (derived 20-9-5)", "3 increased (derived 12-4-5)"; P01 CR=0 derived."""
    base = load_evidence()
    p01c = base.get("P01c")
    assert p01c.n_evaluable is not None and p01c.n_evaluable.derived and p01c.n_evaluable.value == 6
    assert base.get("P01").recist_cr is not None and base.get("P01").recist_cr.derived  # type: ignore[union-attr]


def test_parts_link_to_their_whole() -> None:
    """the evidence table: P01a-c are genotype subgroups of P01; P05/P05b arms of P05c; S03a-b of S03."""
    base = load_evidence()
    assert {s.row_id for s in base.parts_of("P01")} == {"P01a", "P01b", "P01c"}
    assert {s.row_id for s in base.parts_of("P05c")} == {"P05", "P05b"}
    assert {s.row_id for s in base.parts_of("S03")} == {"S03a", "S03b"}


def test_genotype_groups_are_enums() -> None:
    base = load_evidence()
    assert base.get("C01").genotype is GenotypeGroup.NTRK_FUSION
    assert base.get("C04").genotype is GenotypeGroup.RET_FUSION
    assert base.get("P05b").genotype is GenotypeGroup.BRAF_WILD_TYPE


def test_valid_record_parses() -> None:
    arm = parse_study(_record(), origin="test")
    assert arm.uptake[0].evaluable is not None and arm.uptake[0].evaluable.value == 9


@pytest.mark.parametrize(
    ("changes", "field_fragment"),
    [
        ({"uptake": [{"definition": "uptake on diagnostic scan", "restored": 10}]}, "uptake[0].restored"),
        ({"n_evaluable": 11}, "n_evaluable"),
        ({"recist_sd": 2}, "recist_cr"),
        ({"recist_pd": 5, "recist_sd": None}, "recist_cr"),
        ({"genotype": "KRAS-ish"}, "genotype"),
        ({"uptake": [{"definition": "uptake somewhere", "restored": 1}]}, "uptake[0].definition"),
        ({"n_enrolled": -1}, "n_enrolled"),
        ({"n_enrolled": "ten"}, "n_enrolled"),
        ({"n_enrolled": 2.5}, "n_enrolled"),
        ({"grade": "gold"}, "grade"),
        ({"source": ""}, "source"),
        ({"colour": "red"}, "colour"),
        ({"n_enrolled": {"value": 3, "flag": "guessed"}}, "n_enrolled"),
        ({"activity_gbq": "lots"}, "activity_gbq"),
        ({"randomised": "maybe"}, "randomised"),
        ({"n_treated_131i": 12}, "n_treated_131i"),
        ({"uptake": [{"definition": "not reported"}]}, "uptake[0].restored"),
        ({"uptake": [{"definition": "not reported", "restored": 1},
                     {"definition": "not reported", "restored": 2}]}, "uptake[1].definition"),
        ({"response_denominator": None}, "response_denominator"),
    ],
)
def test_each_rule_names_row_and_field(changes: dict[str, Any], field_fragment: str) -> None:
    with pytest.raises(InputError) as info:
        parse_study(_record(**changes), origin="user.yaml record 1")
    message = str(info.value)
    assert "row T01" in message
    assert field_fragment in message
    assert "user.yaml" in message


def test_missing_row_id() -> None:
    with pytest.raises(InputError, match="no row_id"):
        parse_study(_record(row_id=""), origin="x.csv line 2")


def test_count_text_forms() -> None:
    arm = parse_study(_record(n_enrolled="10 (derived)", n_evaluable="9 (unverified: from memory)"))
    assert arm.n_enrolled is not None and arm.n_enrolled.flag is CountFlag.DERIVED
    assert arm.n_evaluable is not None and arm.n_evaluable.flag is CountFlag.UNVERIFIED
    assert arm.n_evaluable.note == "from memory"


def test_csv_merge(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "extra.csv", [{
        "row_id": "U01", "row_type": "arm", "label": "User arm", "genotype": "RET fusion",
        "grade": "primary", "source": "local", "n_evaluable": "5",
        "uptake_definition": "uptake on post-therapy scan", "n_uptake_restored": "3",
        "drugs": "selpercatinib",
    }])
    base = load_evidence([path])
    assert len(base) == len(load_evidence()) + 1 == 30  # 29 built-in records (issue 12: + O01, O02)
    arm = base.get("U01")
    assert arm.genotype is GenotypeGroup.RET_FUSION and arm.drugs == ("selpercatinib",)
    assert arm.uptake[0].restored is not None and arm.uptake[0].restored.value == 3


def test_yaml_merge_with_part_of_builtin(tmp_path: Path) -> None:
    """A user may split a built-in study further; the link is validated against the merged base."""
    path = tmp_path / "extra.yaml"
    path.write_text(yaml.safe_dump({"studies": [_record(row_id="U02", part_of="P08")]}), encoding="utf-8")
    base = load_evidence([path])
    assert base.get("U02").part_of == "P08"


def test_examples_are_valid() -> None:
    base = load_evidence([EXAMPLES / "extra_studies.csv", EXAMPLES / "extra_studies.yaml"])
    assert {"X01", "X02", "Y01"} <= set(base.ids)


def test_duplicate_row_id_against_builtin(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "dup.csv", [{
        "row_id": "P06", "row_type": "arm", "label": "dup", "genotype": "RAS", "grade": "primary",
        "source": "x",
    }])
    with pytest.raises(InputError, match="row P06, row_id"):
        load_evidence([path])


def test_part_of_unknown(tmp_path: Path) -> None:
    path = tmp_path / "e.yaml"
    path.write_text(yaml.safe_dump([_record(part_of="NOPE")]), encoding="utf-8")
    with pytest.raises(InputError, match="row T01, part_of"):
        load_evidence([path])


def test_parts_must_add_up_to_their_whole() -> None:
    """Two arms partitioning 10 evaluable patients (4 + 6) with 1 + 2 restored cannot belong to a whole
    that reports 5/10 under the same definition."""
    whole = parse_study(_record(row_id="W", row_type="study overall", n_enrolled=10, n_evaluable=10,
                                uptake=[{"definition": "not reported", "restored": 5}],
                                recist_cr=None, recist_pr=None, recist_sd=None, recist_pd=None,
                                response_denominator=None))
    parts = [
        parse_study(_record(row_id=f"W{i}", part_of="W", n_enrolled=n, n_evaluable=n,
                            uptake=[{"definition": "not reported", "restored": r}],
                            recist_cr=None, recist_pr=None, recist_sd=None, recist_pd=None,
                            response_denominator=None))
        for i, (n, r) in enumerate([(4, 1), (6, 2)])
    ]
    from redif.evidence.studies import EvidenceBase

    with pytest.raises(InputError, match=r"row W, uptake\.restored"):
        merge_studies(EvidenceBase((whole,)), parts)


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        ("empty.csv", "", "empty CSV"),
        ("header.csv", "row_id,row_type,label,genotype,grade,source\n", "no study rows"),
        ("nocol.csv", "row_id,label\nA,b\n", "missing column"),
        ("bad.yaml", "studies: [1, 2", "not valid YAML"),
        ("none.yaml", "studies: []\n", "no study records"),
        ("notes.txt", "x", "unknown file type"),
    ],
)
def test_bad_files(tmp_path: Path, name: str, content: str, fragment: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=fragment):
        read_studies_file(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        read_studies_file(tmp_path / "nope.csv")


def test_csv_error_names_the_line(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "bad.csv", [
        {"row_id": "A1", "row_type": "arm", "label": "a", "genotype": "RAS", "grade": "primary",
         "source": "s"},
        {"row_id": "A2", "row_type": "arm", "label": "b", "genotype": "RAS", "grade": "primary",
         "source": "s", "n_enrolled": "3", "n_evaluable": "4"},
    ])
    with pytest.raises(InputError) as info:
        read_studies_file(path)
    assert "bad.csv line 3" in str(info.value) and "row A2, n_evaluable" in str(info.value)


def test_to_dict_round_trip_keys() -> None:
    data = load_evidence().get("P07").to_dict()
    assert data["genotype"] == "RAS" and data["grade"] == "primary"
    assert data["uptake"][1]["definition"] == "uptake on post-therapy scan"
    assert data["pmid"]["value"] == "37350119"


def test_every_builtin_count_consistent() -> None:
    """Invariants on the curated base: restored <= evaluable <= enrolled; CR+PR+SD+PD = denominator."""
    for arm in load_evidence():
        for outcome in arm.uptake:
            if outcome.restored and outcome.evaluable:
                assert outcome.restored.value <= outcome.evaluable.value, arm.row_id
        if arm.n_enrolled and arm.n_evaluable:
            assert arm.n_evaluable.value <= arm.n_enrolled.value
        parts = [arm.recist_cr, arm.recist_pr, arm.recist_sd, arm.recist_pd]
        if all(parts) and arm.response_denominator:
            assert sum(p.value for p in parts if p) == arm.response_denominator.value
    # parts and wholes: P01 increased 4 + 5 + 3 = 12 of 9 + 5 + 6 = 20
    base = load_evidence()
    combos = [base.get(i).uptake_for(UptakeDefinition.INCREASED_124I) for i in ("P01a", "P01b", "P01c")]
    assert sum(c.restored.value for c in combos if c and c.restored) == 12
    assert list(itertools.accumulate(c.evaluable.value for c in combos if c and c.evaluable))[-1] == 20
