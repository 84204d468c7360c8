"""Issue 16: the patient timeline and the cohort figures are built from hand-made registry patients
(``cohort_world.COHORT``: dates chosen so that every expected mark is counted by hand, see its
docstring) and checked from the figure data (marks: kind, date/day, lane, value, category), not from the
picture. The images are only checked to carry one hover ``<title>`` per mark.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
from cohort_world import add_cohort
from registry_world import make_world

from redif.errors import InputError
from redif.registry.analysis_export import ANALYSIS_COLUMNS, analysis_csv, derive_rows
from redif.registry.bulk_read import read_patients
from redif.registry.db import Database, migrate, open_database
from redif.response.cohort import best_change_from_baseline_pct, palette, swimmer_data, waterfall_data
from redif.response.timeline import patient_timeline
from redif.response.timeline_plot import figure_png, figure_svg, inline_svg, swimmer_figure, timeline_figure

CONTRACT_TAIL = ("drug_days", "first_131i_days", "first_response_days", "follow_up_days", "best_change_pct")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Database, Any]]:
    d = tmp_path_factory.mktemp("cohort")
    db = open_database(f"sqlite:///{d / 'r.sqlite'}")
    migrate(db)
    w = make_world(db)
    with db.write_session(actor="setup") as s:
        add_cohort(s, w.principals)
    yield db, w
    db.dispose()


def _patients(world: tuple[Database, Any], user: str) -> dict[str, dict[str, Any]]:
    db, w = world
    with db.session(actor=user) as s:
        return {p["pseudonym"]: p for p in read_patients(s, w.principals[user])}


def test_timeline_marks_of_a_registry_patient(world: tuple[Database, Any]) -> None:
    """Issue 16: A-T1's timeline has, by hand from its records: 1 course bar 2024-01-01 to 2024-02-15 (45 d)
    with 1 dose reduction, rhTSH on 2024-01-29 (start + 28 d), a restored uptake scan, 5.5 GBq 131I on
    2024-02-05 and its post-therapy scan, 3 RECIST time points (baseline unlabelled, PR, PD), 1 progression
    (the PD), Tg x2 and TgAb x1 (TSH not drawn)."""
    tl = patient_timeline(_patients(world, "coord")["A-T1"])
    counts: dict[str, int] = {}
    for m in tl.marks:
        counts[m.kind] = counts.get(m.kind, 0) + 1
    assert counts == {"course": 1, "dose_reduction": 1, "tsh_stimulation": 1, "uptake_scan": 1,
                      "post_therapy_scan": 1, "administration": 1, "response": 3, "progression": 1, "lab": 3}
    (course,) = tl.of_kind("course")
    assert (course.date, course.end, course.value, course.lane, course.ongoing) == (
        "2024-01-01", "2024-02-15", 45.0, "drug", False)
    assert tl.of_kind("dose_reduction")[0].value == 1.0
    stim = tl.of_kind("tsh_stimulation")[0]
    assert (stim.date, stim.label, stim.lane) == ("2024-01-29", "rhTSH", "stimulation")
    assert [(m.date, m.category) for m in tl.of_kind("uptake_scan")] == [("2024-01-29", "restored")]
    (i131,) = tl.of_kind("administration")
    assert (i131.date, i131.value, i131.unit, i131.lane) == ("2024-02-05", 5.5, "GBq", "131I")
    assert [(m.date, m.category) for m in tl.of_kind("response")] == [
        ("2023-12-20", "not_recorded"), ("2024-08-01", "PR"), ("2025-02-01", "PD")]
    assert [m.date for m in tl.of_kind("progression")] == ["2025-02-01"]
    assert sorted((m.category, m.value) for m in tl.of_kind("lab")) == [("Tg", 8.0), ("Tg", 120.0),
                                                                        ("TgAb", 20.0)]
    assert (tl.start, tl.end) == ("2023-12-20", "2025-02-01")
    assert tl.lanes == ("drug", "stimulation", "scan", "131I", "response", "lab")
    assert not tl.problems
    svg = figure_svg(timeline_figure(tl)).decode()
    assert svg.count("<title>") >= len(tl.marks)  # every mark has hover text (a bar and its label: 2)
    assert "Activity (GBq): 5.5" in svg and "Overall response: PR" in svg
    page = inline_svg(timeline_figure(tl), prefix="tl-")
    assert "style=" not in page and "<style" not in page  # inlined under the page's strict CSP
    assert len(set(re.findall(r'id="([^"]+)"', page))) == len(re.findall(r'id="([^"]+)"', page))
    assert figure_png(timeline_figure(tl)).startswith(b"\x89PNG")


def test_timeline_of_an_ongoing_course_and_undated_records() -> None:
    """Issue 16: a course without a stop date runs to the last dated record (marked ongoing); undated
    records are named in problems, never placed at a guessed date."""
    tl = patient_timeline({"pseudonym": "X", "records": {
        "courses": [{"course_number": 1, "drugs": "d", "start_date": "2024-01-01"}],
        "responses": [{"assessment_date": "2024-03-01", "overall_response": "SD"},
                      {"overall_response": "PR"}],
        "administrations": [{"activity_gbq": 3.7}]}})
    (course,) = tl.of_kind("course")
    assert (course.end, course.ongoing, course.value) == ("2024-03-01", True, 60.0)
    assert len(tl.of_kind("response")) == 1 and not tl.of_kind("administration")
    assert set(tl.problems) == {"responses: a response assessment has no date and is not drawn",
                                "administrations: a 131I administration has no date and is not drawn"}


def test_analysis_rows_carry_the_figure_columns(world: tuple[Database, Any]) -> None:
    """Issue 16: the analysis export's added columns (after the contract's) for the hand-made patients:
    days from 2024-01-01 counted by hand (see cohort_world)."""
    rows, _ = derive_rows(_patients(world, "coord").values())
    got = {r.values["patient"]: tuple(r.values[c] for c in CONTRACT_TAIL) for r in rows}
    assert got == {
        "A-T1": (45, 35, 213, 397, -40.0),
        "A-T2": (None, None, None, 152, 5.0),
        "B-T1": (60, 31, None, 121, -20.0),
    }
    assert ANALYSIS_COLUMNS[-len(CONTRACT_TAIL):] == CONTRACT_TAIL
    header = next(csv.reader(io.StringIO(analysis_csv(rows))))
    assert tuple(header[-len(CONTRACT_TAIL):]) == CONTRACT_TAIL


def test_best_change_closed_form() -> None:
    """Issue 16: best change = min((sum - baseline) / baseline) x 100 with the baseline the last sum on or
    before the index date (closed form: 50 -> 30 is -40 %; a sum before the baseline is ignored; no
    baseline -> None)."""
    from datetime import date

    d = date.fromisoformat
    sums = [(d("2023-11-01"), 20.0), (d("2023-12-01"), 50.0), (d("2024-03-01"), 45.0),
            (d("2024-06-01"), 30.0)]
    assert best_change_from_baseline_pct(sums, d("2024-01-01")) == -40.0
    assert best_change_from_baseline_pct(sums[2:], d("2024-01-01")) is None
    assert best_change_from_baseline_pct(sums, None) is None


def _csv_rows(world: tuple[Database, Any], user: str) -> list[dict[str, str]]:
    rows, _ = derive_rows(_patients(world, user).values())
    return list(csv.DictReader(io.StringIO(analysis_csv(rows))))


def test_swimmer_data_from_the_exported_rows(world: tuple[Database, Any]) -> None:
    """Issue 16: swimmer lanes (longest on top) and marks from the CSV text of the hand-made cohort:
    A-T1 397 d with drug 0-45, 131I day 35, response day 213, progression day 397; A-T2 152 d, drug to the
    end (no stop date), censored at 152 and an ongoing arrow; B-T1 121 d, censored at 121, arrow."""
    fig = swimmer_data(_csv_rows(world, "coord"), colour_by="genotype")
    assert [(lane["patient"], lane["end_days"], lane["ongoing"]) for lane in fig.lanes] == [
        ("A-T1", 397, False), ("A-T2", 152, True), ("B-T1", 121, True)]
    marks = {(m["patient"], m["kind"]): (m["day"], m["end"]) for m in fig.marks}
    assert marks == {
        ("A-T1", "drug"): (0, 45), ("A-T1", "131I"): (35, None), ("A-T1", "response"): (213, None),
        ("A-T1", "progression"): (397, None),
        ("A-T2", "drug"): (0, 152), ("A-T2", "censored"): (152, None), ("A-T2", "ongoing"): (152, None),
        ("B-T1", "drug"): (0, 60), ("B-T1", "131I"): (31, None), ("B-T1", "censored"): (121, None),
        ("B-T1", "ongoing"): (121, None),
    }
    # categories in sorted order, colours from the Okabe-Ito palette in its order
    assert list(fig.categories) == ["BRAF V600E", "RET/PTC", "unknown"]
    assert list(fig.categories.values()) == palette()[:3]
    by_uptake = swimmer_data(_csv_rows(world, "coord"), colour_by="uptake_restored")
    assert [lane["category"] for lane in by_uptake.lanes] == [
        "uptake restored", "uptake not restored", "uptake not assessed"]
    only_a = swimmer_data(_csv_rows(world, "coord"), colour_by="site", sites=["A"])
    assert [lane["patient"] for lane in only_a.lanes] == ["A-T1", "A-T2"] and list(only_a.categories) == ["A"]
    braf = swimmer_data(_csv_rows(world, "coord"), genotypes=["BRAF V600E"])
    assert [lane["patient"] for lane in braf.lanes] == ["A-T1"]
    svg = figure_svg(swimmer_figure(fig)).decode()
    assert "A-T1: 131I day 35" in svg  # hover text of the mark


def test_waterfall_data_and_site_scope(world: tuple[Database, Any]) -> None:
    """Issue 16: waterfall bars sorted from largest increase to largest decrease (+5.0, -20.0, -40.0) with
    the RECIST 1.1 levels +20 % / -30 % (Eisenhauer 2009); a site-A user's rows hold no site-B patient."""
    fig = waterfall_data(_csv_rows(world, "coord"), colour_by="site")
    assert [(m["patient"], m["value"], m["category"]) for m in fig.marks] == [
        ("A-T2", 5.0, "A"), ("B-T1", -20.0, "B"), ("A-T1", -40.0, "A")]
    assert fig.reference_lines == {"PD": 20.0, "PR": -30.0}
    site_a = waterfall_data(_csv_rows(world, "clin_a"))
    assert {m["patient"] for m in site_a.marks} == {"A-T1", "A-T2"}


def test_bad_colour_column_and_missing_days_are_reported() -> None:
    """Issue 16: an unknown colour column is an input error naming the field; a row without follow-up days
    is left out with its reason (not drawn at a guessed length)."""
    with pytest.raises(InputError) as exc:
        swimmer_data([{"patient": "p", "site": "A", "genotype": "x"}], colour_by="drug")
    assert exc.value.field == "colour_by"
    fig = swimmer_data([{"patient": "p", "site": "A", "genotype": "x", "follow_up_days": ""}])
    assert not fig.lanes and fig.left_out[0]["patient"] == "p"
    with pytest.raises(InputError):
        swimmer_data([{"patient": "p", "site": "A", "genotype": "x", "follow_up_days": "ten"}])


def test_inline_svg_escapes_record_text() -> None:
    """Issue 16: the page inlines the SVG as markup, so record text (drug names, scan findings, the
    pseudonym) must never come out as HTML: a script tag in a drug name stays text."""
    evil = "--><script>alert(1)</script><!--"
    tl = patient_timeline({"pseudonym": "<b>x</b>", "records": {
        "courses": [{"course_number": 1, "drugs": evil, "start_date": "2024-01-01",
                     "stop_date": "2024-02-01"}],
        "administrations": [{"administration_date": "2024-01-20", "activity_gbq": 5,
                             "post_therapy_scan": evil}]}})
    page = inline_svg(timeline_figure(tl))
    assert "<script" not in page and "<b>" not in page
    assert "&lt;script&gt;" in page  # the hover text keeps the words, escaped
