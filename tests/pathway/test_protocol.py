"""Protocol scheduler against the trial designs of docs/methods/protocols.md.

Expected days by hand from the table in docs/methods/protocols.md:
- MERAIODE: drug 42 days in all, rhTSH diagnostic WBS on day 28, 5.5 GBq 131I on day 35 [primary RAS];
  response at 6 months (the evidence table P06/P07 response_timepoint).
- Rothenberg 2015: dabrafenib 25 days before the diagnostic WBS, 131I after 17 more days (day 42).
- SEL-I-METRY: 4 weeks of selumetinib before the 123I SPECT/CT (day 28).
- ERRITI: 123I scintigraphy at 21 +/- 3 days.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Calendar

from redif.errors import InputError
from redif.pathway._dates import add_months
from redif.pathway.case import CaseValidationError
from redif.pathway.protocol import (
    EventKind,
    available_protocols,
    get_protocol,
    load_protocol_file,
    parse_protocol,
    plan_to_ics,
    schedule,
)


def _days(name: str, start: dt.date | None = None) -> dict[str, int]:
    plan = schedule(get_protocol(name), start)
    return {e.id: e.day for e in plan.events}


def test_all_published_designs_present() -> None:
    assert set(available_protocols()) == {"meraiode", "ho2013", "erriti", "sel-i-metry", "rothenberg"}


def test_meraiode_days() -> None:
    """Day 28 diagnostic WBS, day 35 131I, day 42 drug stop; response 6 calendar months after 131I."""
    start = dt.date(2024, 3, 4)
    plan = schedule(get_protocol("meraiode"), start)
    by_id = {e.id: e for e in plan.events}
    assert by_id["drug_start"].day == 0 and by_id["drug_start"].date == start
    assert by_id["dx_scan"].day == 28 and by_id["dx_scan"].date == dt.date(2024, 4, 1)
    assert by_id["rai"].day == 35 and by_id["rai"].date == dt.date(2024, 4, 8)
    assert by_id["drug_stop"].day == 42 and by_id["drug_stop"].date == dt.date(2024, 4, 15)
    assert by_id["response_6m"].date == dt.date(2024, 10, 8)
    assert by_id["rai"].grade.value == "primary"
    # rhTSH days are not in the trial publications (docs/methods/protocols.md): they must be graded unverified
    assert all(e.grade.value == "unverified" for e in plan.events if e.kind is EventKind.RHTSH_INJECTION)
    assert [e.day for e in plan.events] == sorted(e.day for e in plan.events)


def test_rothenberg_and_selimetry_and_erriti_days() -> None:
    r = _days("rothenberg")
    assert (r["dx_scan"], r["rai"], r["drug_stop"]) == (25, 42, 42)
    assert _days("sel-i-metry")["dx_scan"] == 28
    assert _days("erriti")["dx_scan"] == 21
    assert _days("ho2013")["dx_scan"] == 28


def test_decision_rules_of_templates() -> None:
    assert get_protocol("sel-i-metry").decision_rules == ["new_uptake", "uptake_increase"]
    assert get_protocol("ho2013").decision_rules == ["lesion_dose_threshold"]
    assert get_protocol("rothenberg").decision_rules == ["new_uptake"]
    assert get_protocol("meraiode").decision_rules == []
    assert "whatever" in (get_protocol("meraiode").decision_policy or "")


def test_every_event_is_sourced() -> None:
    for t in available_protocols().values():
        for e in t.events:
            assert e.source.strip() and e.grade.value in {"primary", "secondary", "unverified"}


def test_add_months_clamps() -> None:
    """Calendar arithmetic: 31 Aug + 6 months = 28 Feb (29 in a leap year)."""
    assert add_months(dt.date(2023, 8, 31), 6) == dt.date(2024, 2, 29)
    assert add_months(dt.date(2022, 8, 31), 6) == dt.date(2023, 2, 28)
    assert add_months(dt.date(2024, 1, 15), -12) == dt.date(2023, 1, 15)


def test_ics_parses_back() -> None:
    """The iCalendar export parses with icalendar and holds one all-day event per plan event."""
    start = dt.date(2025, 1, 13)
    plan = schedule(get_protocol("meraiode"), start)
    cal = Calendar.from_ical(plan_to_ics(plan, case_id="SYN-1"))
    events = cal.walk("VEVENT")
    assert len(events) == len(plan.events)
    dates = sorted(ev.decoded("dtstart") for ev in events)
    assert dates[0] == start
    assert dt.date(2025, 2, 17) in dates  # day 35
    summaries = [str(ev.get("summary")) for ev in events]
    assert any(s.startswith("D35: 131I 5.5 GBq") for s in summaries)
    assert all("Source:" in str(ev.get("description")) for ev in events)
    assert len({str(ev.get("uid")) for ev in events}) == len(events)
    assert plan_to_ics(plan, case_id="SYN-1") == plan_to_ics(plan, case_id="SYN-1")  # deterministic


def test_ics_needs_a_start_date() -> None:
    """Issue 10: the engine names the plan's field ``start_date`` (the CLI shows ``--start-date``)."""
    with pytest.raises(InputError) as info:
        plan_to_ics(schedule(get_protocol("meraiode")))
    assert info.value.field == "start_date"


def _template(**over: Any) -> dict[str, Any]:
    t: dict[str, Any] = {
        "name": "local-4wk",
        "title": "Local",
        "source": "local SOP v2",
        "grade": "unverified",
        "decision_rules": ["new_uptake"],
        "events": [
            {
                "id": "start",
                "kind": "drug_start",
                "day": 0,
                "event": "Start",
                "source": "SOP",
                "grade": "unverified",
            },
            {
                "id": "scan",
                "kind": "diagnostic_scan",
                "after": "start",
                "days": 28,
                "event": "Scan",
                "source": "SOP",
                "grade": "unverified",
            },
            {
                "id": "rai",
                "kind": "rai_administration",
                "after": "scan",
                "days": 7,
                "event": "131I",
                "source": "SOP",
                "grade": "unverified",
            },
            {
                "id": "resp",
                "kind": "response_assessment",
                "after": "rai",
                "months": 6,
                "event": "RECIST",
                "source": "SOP",
                "grade": "unverified",
            },
        ],
    }
    t.update(over)
    return t


def test_user_template_from_file(tmp_path: Path) -> None:
    path = tmp_path / "local.yaml"
    path.write_text(yaml.safe_dump(_template()))
    plan = schedule(load_protocol_file(path), dt.date(2024, 1, 31))
    by_id = {e.id: e for e in plan.events}
    assert by_id["rai"].day == 35
    assert by_id["resp"].date == dt.date(2024, 9, 6)  # 2024-03-06 + 6 months
    assert get_protocol(str(path)).name == "local-4wk"


def test_user_template_errors_one_line_each() -> None:
    bad = _template(grade="gold", decision_rules=["vibes"])
    bad["events"][1]["after"] = "nowhere"
    bad["events"][2]["day"] = 3  # both day and after
    bad["events"][3]["kind"] = "party"
    with pytest.raises(CaseValidationError) as info:
        parse_protocol(bad, source="t.yaml")
    problems = info.value.problems
    joined = "\n".join(problems)
    assert any(p.startswith("grade:") for p in problems)
    assert any(p.startswith("events[2]") and "exactly one" in p for p in problems)
    assert any(p.startswith("events[3].kind") for p in problems)
    assert len(problems) == 3, joined  # cross-references are checked once the schema passes
    ok_schema = _template(decision_rules=["vibes"])
    ok_schema["events"][1]["after"] = "nowhere"
    with pytest.raises(CaseValidationError) as info2:
        parse_protocol(ok_schema, source="t.yaml")
    assert any(p.startswith("events[1].after: unknown event id 'nowhere'") for p in info2.value.problems)
    assert any(p.startswith("decision_rules[0]: unknown rule 'vibes'") for p in info2.value.problems)


def test_user_template_cycle() -> None:
    t = _template()
    t["events"][1]["after"] = "rai"
    with pytest.raises(CaseValidationError, match="cycle"):
        parse_protocol(t)


def test_unknown_protocol_name() -> None:
    with pytest.raises(InputError, match="meraiode"):
        get_protocol("nope")


@settings(max_examples=60, deadline=None)
@given(
    st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2090, 12, 31)),
    st.sampled_from(["meraiode", "ho2013", "erriti", "sel-i-metry", "rothenberg"]),
)
def test_property_dates_match_days(start: dt.date, name: str) -> None:
    """For any start date: date = start + day for every event, and the plan is in date order."""
    plan = schedule(get_protocol(name), start)
    for e in plan.events:
        assert e.date == start + dt.timedelta(days=e.day)
    assert [e.date for e in plan.events] == sorted(e.date for e in plan.events)
    assert plan.events[0].kind is EventKind.DRUG_START and plan.events[0].day == 0
