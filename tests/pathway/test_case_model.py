"""Case model: validation messages (one line per problem, with the field path) and pseudonymity."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from redif.errors import InputError
from redif.pathway.case import CaseValidationError, case_json_schema, load_case, parse_case


def _problems(data: dict[str, Any]) -> list[str]:
    with pytest.raises(CaseValidationError) as info:
        parse_case(data, source="c.yaml")
    return info.value.problems


def test_every_example_validates(examples_dir: Path) -> None:
    files = sorted(examples_dir.glob("case_*.yaml"))
    assert len(files) >= 6
    for f in files:
        case = load_case(f)
        assert case.synthetic, f"{f.name} must be labelled synthetic"
        assert "SYNTHETIC" in f.read_text().splitlines()[0]


@pytest.mark.parametrize("key", ["name", "mrn", "birth_date", "date_of_birth", "Patient Name", "NHS-number"])
def test_identifying_fields_rejected(make_case: Any, key: str) -> None:
    problems = _problems(make_case(**{key: "x"}))
    assert problems == [
        f"{key}: identifying field not allowed; a case is pseudonymous: use case_id "
        "(a code) and year_of_birth or age_years only"
    ]


def test_identifying_field_nested(make_case: Any) -> None:
    data = make_case()
    data["lesions"][0]["mrn"] = "123"
    assert _problems(data)[0].startswith("lesions[0].mrn: identifying field not allowed")


def test_case_id_must_be_a_code(make_case: Any) -> None:
    problems = _problems(make_case(case_id="Jane Doe"))
    assert problems[0].startswith("case_id: must be a pseudonymous code")


def test_all_problems_listed_with_paths(make_case: Any) -> None:
    data = make_case(histology="pap", year_of_birth=1850)
    data["lesions"].append({"id": "L2", "site": "x", "organ": "lung", "size_mm": -3})
    data["lesions"].append({"id": "L3", "organ": "lung"})
    data["rai_courses"] = [{"date": "2020-13-01", "activity_gbq": 3.7, "intent": "ablation"}]
    problems = _problems(data)
    fields = [p.split(":")[0] for p in problems]
    assert fields == [
        "year_of_birth",
        "histology",
        "rai_courses[0].date",
        "lesions[1].size_mm",
        "lesions[2].site",
    ]
    assert all("\n" not in p for p in problems)


def test_cross_references(make_case: Any) -> None:
    data = make_case(
        rai_courses=[
            {
                "date": "2020-01-01",
                "activity_gbq": 3.7,
                "intent": "ablation",
                "post_therapy_scan": {"date": "2019-12-01", "uptake": {"L9": "absent"}},
            }
        ],
        response_assessments=[
            {"date": "2024-06-01", "target_mm": {"L1": 10}},
            {"date": "2024-01-01", "target_mm": {"X": 10, "L1": 9}},
        ],
    )
    data["lesions"].append(dict(data["lesions"][0]))
    problems = _problems(data)
    assert "lesions[1].id: duplicate lesion id (got 'L1')" in problems
    assert any(
        p.startswith("rai_courses[0].post_therapy_scan.uptake.L9: unknown lesion id 'L9'") for p in problems
    )
    assert any(p.startswith("rai_courses[0].post_therapy_scan.date: before the 131I") for p in problems)
    assert any(p.startswith("response_assessments[1].target_mm.X: unknown lesion id") for p in problems)
    assert any(p.startswith("response_assessments[1].date: dates out of order") for p in problems)


def test_negative_diameter_path(make_case: Any) -> None:
    data = make_case(response_assessments=[{"date": "2024-06-01", "target_mm": {"L1": -2}}])
    assert _problems(data) == [
        "response_assessments[0].target_mm.L1: Input should be greater than or equal to 0 (got -2)"
    ]


def test_error_message_is_one_line_per_problem(make_case: Any) -> None:
    with pytest.raises(CaseValidationError) as info:
        parse_case(make_case(histology="x", name="y"), source="c.yaml")
    lines = str(info.value).splitlines()
    assert lines[0] == "c.yaml: 2 problems in the case file"
    assert lines[1].strip().startswith("name:") and lines[2].strip().startswith("histology:")


def test_bad_yaml(tmp_path: Path) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text("case_id: [unclosed\n")
    with pytest.raises(InputError, match="not valid YAML/JSON at line"):
        load_case(p)


def test_json_case(tmp_path: Path, make_case: Any) -> None:
    p = tmp_path / "c.json"
    p.write_text(json.dumps(make_case()))
    assert load_case(p).case_id == "T-001"


def test_schema_documents_fields() -> None:
    s = case_json_schema()
    assert s["$schema"].startswith("https://json-schema.org/")
    props = s["properties"]
    for key in (
        "case_id",
        "histology",
        "genotype",
        "rai_courses",
        "diagnostic_scans",
        "lesions",
        "progression_events",
        "labs",
        "redifferentiation_course",
        "uptake_assessment",
        "dosimetry",
        "response_assessments",
    ):
        assert key in props
    assert "name" not in props and "mrn" not in props
    assert s["additionalProperties"] is False


def test_bad_yaml_date_names_the_field(tmp_path: Path) -> None:
    """An impossible unquoted YAML date (2024-13-01) is reported with its field path, not as a crash."""
    p = tmp_path / "c.yaml"
    p.write_text(
        "case_id: A-1\nhistology: papillary\n"
        "rai_courses:\n  - {date: 2024-13-01, activity_gbq: 3.7, intent: ablation}\n"
    )
    with pytest.raises(CaseValidationError) as info:
        load_case(p)
    assert info.value.problems[0].startswith("rai_courses[0].date: Input should be a valid date")
    p.write_text("case_id: A-1\nhistology: papillary\nassessment_date: 2024-02-29\n")
    assert str(load_case(p).assessment_date) == "2024-02-29"


def test_gene_and_tracer_are_the_model_vocabularies(make_case: Any) -> None:
    """Issue 10: the case file's gene and tracer draw their terms from redif.model (vocabularies ``gene``
    and ``tracer``): a lower-case symbol is the model's code, an unknown symbol or tracer is refused with
    the field named and the allowed codes listed."""
    data = make_case()
    data["genotype"] = [{"gene": "braf", "variant": "V600E"}]
    case = parse_case(data, source="test")
    assert case.genotype[0].gene == "BRAF"
    data["genotype"] = [{"gene": "EIF1AX"}]
    problems = _problems(data)
    assert problems[0].startswith("genotype[0].gene") and "NRAS" in problems[0]
    data = make_case()
    data["diagnostic_scans"] = [{"date": "2023-01-01", "tracer": "Tc-99m"}]
    problems = _problems(data)
    assert problems[0].startswith("diagnostic_scans[0].tracer") and "I-124" in problems[0]
