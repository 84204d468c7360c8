"""Issue 11: dates that make sense. Case validation refuses, one line per problem naming the field (exit 2
from the CLI), an uptake assessment before the drug start, a ``days_on_drug`` that disagrees with the dates
(tolerance +/-1 day: the first dose counted as day 0 or day 1), a 131I administration before the uptake
assessment it should follow, and a follow-up response assessment before the treatment.

Expected values: the issue's example (scan 2024-05-01, drug start 2024-06-03, ``days_on_drug: 3``) and
calendar arithmetic on the dates written in each test.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from redif.pathway.case import DAYS_ON_DRUG_TOLERANCE, CaseValidationError, parse_case

Run = Callable[..., subprocess.CompletedProcess[str]]


def _course(start: str = "2024-06-03") -> dict[str, Any]:
    return {"drugs": [{"drug": "dabrafenib"}, {"drug": "trametinib"}], "start_date": start}


def _ua(date: str, days: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"date": date, "lesions": [{"lesion_id": "L1", "new_uptake": True}]}
    if days is not None:
        out["days_on_drug"] = days
    return out


def _problems(data: dict[str, Any]) -> list[str]:
    with pytest.raises(CaseValidationError) as info:
        parse_case(data)
    return info.value.problems


def test_issue_example_refused_cli_exit_2(make_case: Any, redif: Run, tmp_path: Path) -> None:
    """Issue 11 Why #3: scan 2024-05-01 before drug start 2024-06-03 with days_on_drug 3 validated and
    gave "go". Expected: exit 2, one line for the date and one for days_on_drug (2024-05-01 - 2024-06-03
    = -33 days)."""
    data = make_case(redifferentiation_course=_course(), uptake_assessment=_ua("2024-05-01", 3))
    path = tmp_path / "case.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    for cmd in ("validate", "assess"):
        out = redif("patient", cmd, str(path))
        assert out.returncode == 2, out.stdout
        lines = [ln.strip() for ln in out.stderr.splitlines()]
        assert any(ln.startswith("uptake_assessment.date:") and "before the drug start" in ln for ln in lines)
        assert any(ln.startswith("uptake_assessment.days_on_drug:") and "-33 days" in ln for ln in lines), (
            out.stderr
        )
        assert "Traceback" not in out.stderr


@pytest.mark.parametrize(("days", "ok"), [(27, True), (28, True), (29, True), (26, False), (30, False)])
def test_days_on_drug_tolerance(make_case: Any, days: int, ok: bool) -> None:
    """2024-06-03 -> 2024-07-01 is 28 days; +/-1 day is accepted (counting convention), +/-2 is refused."""
    assert DAYS_ON_DRUG_TOLERANCE == 1
    data = make_case(redifferentiation_course=_course(), uptake_assessment=_ua("2024-07-01", days))
    if ok:
        parse_case(data)
    else:
        (line,) = _problems(data)
        assert line.startswith("uptake_assessment.days_on_drug:") and "28 days" in line


def test_rai_before_uptake_assessment(make_case: Any) -> None:
    """131I on 2024-06-20, after drug start 2024-06-03 but before the day-28 uptake scan 2024-07-01."""
    data = make_case(
        redifferentiation_course=_course(),
        uptake_assessment=_ua("2024-07-01", 28),
        rai_courses=[
            {"date": "2021-01-10", "activity_gbq": 5.5, "intent": "treatment"},
            {"date": "2024-06-20", "activity_gbq": 5.5, "intent": "treatment"},
        ],
    )
    (line,) = _problems(data)
    assert line.startswith("rai_courses[1].date:") and "before the uptake assessment" in line


def test_rai_after_uptake_assessment_ok(make_case: Any) -> None:
    """131I on day 35 (2024-07-08) after the day-28 scan is the MERAIODE order: valid."""
    data = make_case(
        redifferentiation_course=_course(),
        uptake_assessment=_ua("2024-07-01", 28),
        rai_courses=[{"date": "2024-07-08", "activity_gbq": 5.5, "intent": "treatment"}],
    )
    parse_case(data)


def test_response_before_treatment(make_case: Any) -> None:
    """A follow-up response time point before the drug start is refused; the baseline may precede it."""
    data = make_case(
        redifferentiation_course=_course(),
        response_assessments=[
            {"date": "2024-05-20", "target_mm": {"L1": 15}},
            {"date": "2024-05-30", "target_mm": {"L1": 14}},
        ],
    )
    (line,) = _problems(data)
    assert line.startswith("response_assessments[1].date:") and "before the treatment" in line
    data["response_assessments"][1]["date"] = "2024-12-01"
    parse_case(data)


def test_on_drug_scan_before_start(make_case: Any) -> None:
    """A diagnostic scan marked on_redifferentiation_drug cannot precede the drug start."""
    data = make_case(
        redifferentiation_course=_course(),
        diagnostic_scans=[
            {
                "date": "2024-05-01",
                "tracer": "I-123",
                "on_redifferentiation_drug": True,
                "uptake": {"L1": "present"},
            }
        ],
    )
    (line,) = _problems(data)
    assert line.startswith("diagnostic_scans[0].date:")


def test_all_problems_one_line_each(make_case: Any) -> None:
    """Several date problems: each on its own line, each naming its field."""
    data = make_case(
        redifferentiation_course=_course(),
        uptake_assessment=_ua("2024-05-01", 3),
        response_assessments=[
            {"date": "2024-05-20", "target_mm": {"L1": 15}},
            {"date": "2024-05-30", "target_mm": {"L1": 14}},
        ],
    )
    fields = sorted(p.split(":")[0] for p in _problems(data))
    assert fields == [
        "response_assessments[1].date",
        "uptake_assessment.date",
        "uptake_assessment.days_on_drug",
    ]


def test_examples_still_valid(redif: Run) -> None:
    """Every example's dates are consistent (e.g. case_braf_v600e: 2024-03-04 + 28 = 2024-04-01)."""
    for path in sorted(Path("examples").glob("case_*.yaml")):
        out = redif("patient", "validate", str(path))
        assert out.returncode == 0, out.stderr
