"""RAI-refractoriness against the rule text of docs/methods/refractoriness.md.

Every expected status below is derived by hand from that text:
- ATA 2025 strong (i): "no 131I uptake on a post-therapy scan while disease is visible on structural or
  FDG imaging"; strong (ii): "progression < 6 months after a treatment-appropriate therapeutic 131I
  activity despite uptake on the post-therapy scan" [secondary, PMID 40844370].
- "RAI-R cannot be diagnosed in a patient who has not received an ablative/treatment activity".
- "A negative diagnostic or post-therapy scan alone is not sufficient; a cumulative activity above a
  limit is not sufficient (consensus table, PMC7581611 Table 3)" [primary].
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from redif.pathway.case import parse_case
from redif.pathway.refractoriness import RefractoryStatus, assess_refractoriness


def _course(date: str, gbq: float, intent: str, uptake: dict[str, str] | None) -> dict[str, Any]:
    c: dict[str, Any] = {"date": date, "activity_gbq": gbq, "intent": intent}
    if uptake is not None:
        c["post_therapy_scan"] = {"uptake": uptake}
    return c


def _assess(data: dict[str, Any]) -> Any:
    return assess_refractoriness(parse_case(data))


def test_strong_i_no_uptake_with_ct_visible_disease(make_case: Any) -> None:
    """Post-therapy scan without uptake in L1, L1 seen on CT -> strong (i) -> refractory."""
    r = _assess(make_case(rai_courses=[_course("2022-01-10", 5.5, "treatment", {"L1": "absent"})]))
    assert r.status is RefractoryStatus.REFRACTORY
    ids = [m.id for m in r.criteria_met]
    assert "ata2025.strong.no_uptake_post_therapy" in ids
    met = next(m for m in r.criteria_met if m.id == "ata2025.strong.no_uptake_post_therapy")
    assert met.grade.value == "secondary" and "PMID 40844370" in met.source
    assert any("L1" in e and "ct" in e for e in met.evidence)


def test_negative_post_therapy_scan_alone_is_not_refractory(make_case: Any) -> None:
    """A negative post-therapy scan with no structural/FDG imaging of the lesion is a negative scan alone:
    never refractory (PMC7581611 Table 3); the missing imaging is listed."""
    data = make_case(
        lesions=[{"id": "L1", "site": "lung", "organ": "lung"}],
        rai_courses=[_course("2022-01-10", 5.5, "treatment", {"L1": "absent"})],
    )
    r = _assess(data)
    assert r.status is not RefractoryStatus.REFRACTORY
    assert r.status is RefractoryStatus.INDETERMINATE
    assert any("imaging" in m for m in r.missing_data)
    neg = next(n for n in r.non_criteria if n.id == "negative_scan_alone")
    assert neg.applies


def test_negative_diagnostic_scan_alone_is_not_refractory(make_case: Any) -> None:
    """No uptake on a diagnostic 123I scan despite CT-visible disease is supplemental criterion A
    ("reduced RAI sensitivity") only: with an avid post-therapy scan the status is not refractory-by-rule
    but indeterminate, never refractory."""
    data = make_case(
        rai_courses=[_course("2021-01-10", 3.7, "ablation", {"L1": "present"})],
        diagnostic_scans=[{"date": "2023-01-10", "tracer": "I-123", "uptake": {"L1": "absent"}}],
    )
    r = _assess(data)
    assert r.status is RefractoryStatus.INDETERMINATE
    assert [m.id for m in r.criteria_met] == ["ata2025.supplemental.no_uptake_diagnostic"]
    assert r.frameworks["ata2025"] == "reduced RAI sensitivity"


def test_cumulative_activity_alone_is_not_refractory(make_case: Any) -> None:
    """Five avid courses totalling 5 x 7.4 = 37 GBq (>= the 22 GBq ATA 2015 discusses) and no progression:
    not refractory; the cumulative-activity note applies but is not a criterion."""
    courses = [_course(f"{2015 + i}-03-01", 7.4, "treatment", {"L1": "present"}) for i in range(5)]
    r = _assess(make_case(rai_courses=courses))
    assert r.status is RefractoryStatus.NOT_REFRACTORY
    assert r.criteria_met == ()
    assert r.cumulative_activity_gbq == pytest.approx(37.0)
    cum = next(n for n in r.non_criteria if n.id == "cumulative_activity_alone")
    assert cum.applies and cum.grade.value == "primary"


def test_no_prior_activity_cannot_be_refractory(make_case: Any) -> None:
    """No 131I course: RAI-R cannot be diagnosed (ATA 2025 good practice), even with a negative
    diagnostic scan and CT-visible progressing disease."""
    data = make_case(
        diagnostic_scans=[{"date": "2023-01-10", "tracer": "I-131", "uptake": {"L1": "absent"}}],
        progression_events=[{"date": "2023-05-01", "criterion": "recist_1_1"}],
    )
    r = _assess(data)
    assert r.status is RefractoryStatus.NOT_REFRACTORY
    assert r.rule is not None and r.rule.id == "prior_activity_required"
    assert "ablative/treatment" in r.rule.text


@pytest.mark.parametrize(
    ("progression", "expected"),
    [
        ("2022-07-09", RefractoryStatus.REFRACTORY),  # 5 months 29 days after 2022-01-10: < 6 months
        ("2022-07-10", RefractoryStatus.INDETERMINATE),  # exactly 6 months: not "< 6 months"
    ],
)
def test_strong_ii_six_month_boundary(make_case: Any, progression: str, expected: RefractoryStatus) -> None:
    """Strong (ii) needs progression strictly less than 6 calendar months after the treatment activity.
    At exactly 6 months only ATA 2015 category (iv) remains -> indeterminate."""
    data = make_case(
        rai_courses=[_course("2022-01-10", 5.5, "treatment", {"L1": "present"})],
        progression_events=[{"date": progression, "criterion": "recist_1_1"}],
    )
    r = _assess(data)
    assert r.status is expected
    ids = {m.id for m in r.criteria_met}
    assert "ata2015.progression_despite_concentration" in ids
    assert ("ata2025.strong.progression_despite_uptake" in ids) == (expected is RefractoryStatus.REFRACTORY)


def test_strong_ii_needs_a_treatment_activity(make_case: Any) -> None:
    """Progression 3 months after a remnant-ablation activity with uptake is not strong (ii), which needs a
    "treatment-appropriate therapeutic" activity."""
    data = make_case(
        rai_courses=[_course("2022-01-10", 1.1, "ablation", {"L1": "present"})],
        progression_events=[{"date": "2022-04-10", "criterion": "recist_1_1"}],
    )
    r = _assess(data)
    assert r.status is RefractoryStatus.INDETERMINATE
    assert "ata2025.strong.progression_despite_uptake" not in {m.id for m in r.criteria_met}


def test_partial_uptake_is_supplemental_b(make_case: Any) -> None:
    """Uptake in L1 but not L2 on the post-therapy scan: supplemental B and ATA 2015 (iii); indeterminate."""
    data = make_case(
        lesions=[
            {"id": "L1", "site": "lung", "organ": "lung", "size_mm": 15, "detected_by": ["ct"]},
            {"id": "L2", "site": "bone", "organ": "bone", "size_mm": 20, "detected_by": ["mri"]},
        ],
        rai_courses=[_course("2022-01-10", 5.5, "treatment", {"L1": "present", "L2": "absent"})],
        assessment_date="2023-06-01",
    )
    r = _assess(data)
    assert r.status is RefractoryStatus.INDETERMINATE
    assert {m.id for m in r.criteria_met} == {
        "ata2025.supplemental.partial_uptake_post_therapy",
        "ata2015.some_lesions_not_others",
    }
    assert any("strong criterion" in m for m in r.missing_data)


def test_missing_post_therapy_scan_is_indeterminate(make_case: Any) -> None:
    """A course without a post-therapy scan result leaves the strong criteria undecidable."""
    r = _assess(make_case(rai_courses=[_course("2022-01-10", 5.5, "treatment", None)]))
    assert r.status is RefractoryStatus.INDETERMINATE
    assert any("post-therapy scan" in m for m in r.missing_data)


def test_follow_up_shorter_than_window_is_indeterminate(make_case: Any) -> None:
    """Avid treatment scan 2 months before the 'as of' date and no progression yet: strong (ii) cannot be
    excluded until 6 months have passed -> indeterminate, naming the date."""
    data = make_case(rai_courses=[_course("2024-04-01", 5.5, "treatment", {"L1": "present"})])
    r = _assess(data)
    assert r.status is RefractoryStatus.INDETERMINATE
    assert any("2024-10-01" in m for m in r.missing_data)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(min_value=0.5, max_value=11.1), min_size=1, max_size=8))
def test_property_avid_courses_never_refractory(activities: list[float]) -> None:
    """Invariant (PMC7581611 Table 3): whatever the number of courses and the cumulative activity, a
    patient whose every post-therapy scan shows uptake and who never progressed is never refractory."""
    data = {
        "case_id": "P-1",
        "histology": "papillary",
        "assessment_date": "2030-01-01",
        "lesions": [{"id": "L1", "site": "lung", "organ": "lung", "detected_by": ["ct"]}],
        "rai_courses": [
            _course(f"{2000 + i}-01-01", a, "treatment", {"L1": "present"}) for i, a in enumerate(activities)
        ],
    }
    r = _assess(data)
    assert r.status is RefractoryStatus.NOT_REFRACTORY
    assert r.cumulative_activity_gbq == pytest.approx(sum(activities))


def test_later_avid_scan_supersedes_earlier_negative(make_case: Any) -> None:
    """Strong (i) reads the most recent post-therapy scan: negative in 2020, avid in 2022 -> not (i)."""
    data = make_case(
        rai_courses=[
            _course("2020-01-10", 5.5, "treatment", {"L1": "absent"}),
            _course("2022-01-10", 7.4, "treatment", {"L1": "present"}),
        ],
    )
    r = _assess(data)
    assert "ata2025.strong.no_uptake_post_therapy" not in {m.id for m in r.criteria_met}
    assert r.status is RefractoryStatus.NOT_REFRACTORY
    neg = next(n for n in r.non_criteria if n.id == "negative_scan_alone")
    assert "2020-01-10" in neg.detail


_UPTAKE = st.sampled_from(["present", "absent", "equivocal", "not_assessed"])


@settings(max_examples=60, deadline=None)
@given(
    scans=st.lists(st.tuples(st.integers(0, 3000), _UPTAKE), max_size=4),
    progressions=st.lists(st.integers(0, 3000), max_size=3),
)
def test_property_never_refractory_without_prior_activity(
    scans: list[tuple[int, str]], progressions: list[int]
) -> None:
    """ATA 2025 good practice: with no prior 131I activity the answer is never 'refractory', whatever the
    diagnostic scans and progression events say."""
    import datetime as dt

    day0 = dt.date(2015, 1, 1)
    data = {
        "case_id": "P-2",
        "histology": "papillary",
        "lesions": [{"id": "L1", "site": "lung", "organ": "lung", "detected_by": ["ct"]}],
        "diagnostic_scans": [
            {"date": str(day0 + dt.timedelta(days=d)), "tracer": "I-123", "uptake": {"L1": u}}
            for d, u in scans
        ],
        "progression_events": [
            {"date": str(day0 + dt.timedelta(days=d)), "criterion": "recist_1_1"} for d in progressions
        ],
    }
    assert _assess(data).status is RefractoryStatus.NOT_REFRACTORY


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 3000), st.sampled_from(["ablation", "adjuvant", "treatment"])),
        min_size=1,
        max_size=4,
    )
)
def test_property_negative_scans_without_imaging_never_refractory(courses: list[tuple[int, str]]) -> None:
    """PMC7581611 Table 3: negative post-therapy scans with no structural/FDG imaging of the disease and no
    progression are a 'negative scan alone' -> never refractory."""
    import datetime as dt

    day0 = dt.date(2012, 1, 1)
    data = {
        "case_id": "P-3",
        "histology": "papillary",
        "assessment_date": "2025-01-01",
        "lesions": [{"id": "L1", "site": "lung", "organ": "lung"}],
        "rai_courses": [
            _course(str(day0 + dt.timedelta(days=d)), 3.7, intent, {"L1": "absent"}) for d, intent in courses
        ],
    }
    assert _assess(data).status is not RefractoryStatus.REFRACTORY
