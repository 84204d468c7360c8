"""Issue 11: ATA 2015 response to therapy per follow-up time point (redif.response.ata_response).

Expected categories come from ATA 2015 Table 13 (Haugen BR et al., Thyroid 2016;26:1-133, PMID 26462967)
as transcribed in PMC7578621 Table 1 (rows: excellent = negative imaging and suppressed Tg < 0.2 or
stimulated Tg < 1 ng/mL; indeterminate = non-specific imaging, suppressed Tg detectable but < 1, stimulated
Tg detectable but < 10 ng/mL, TgAb stable or declining; biochemical incomplete = negative imaging and
suppressed Tg >= 1 or stimulated Tg >= 10 ng/mL or rising TgAb; structural incomplete = structural or
functional evidence of disease, any Tg). "Rising" TgAb: more than 50 % above the previous titre, or de novo
positive (Reverter 2020, abstract). The missing-data rules are the redif conventions of
``data/ata_response.yaml`` (graded unverified there).
"""

from __future__ import annotations

import datetime as dt

import pytest

from redif.data import Grade, load_yaml
from redif.errors import InputError
from redif.model import AtaResponse, TshState, vocabulary
from redif.response.ata_response import (
    ImagingFinding,
    LabSample,
    classify_time_points,
    rules,
    scope,
    thresholds,
)

D0 = dt.date(2024, 1, 10)  # 131I
D = dt.date(2024, 7, 1)  # follow-up
NEG = ImagingFinding(dt.date(2024, 6, 20), "negative", "neck US 2024-06-20: no disease")
SUP, STIM = TshState.SUPPRESSED, TshState.STIMULATED


def _one(
    tg: float | None = None,
    state: TshState = SUP,
    *,
    imaging: tuple[ImagingFinding, ...] = (NEG,),
    tgab: bool | None = False,
    extra: tuple[LabSample, ...] = (),
) -> tuple[AtaResponse, str]:
    labs = (*extra, LabSample(D, tg_ng_ml=tg, tsh_state=state, tgab_positive=tgab))
    pts = classify_time_points(labs, imaging, therapy_dates=[D0])
    last = pts[-1]
    assert last.date == D
    return last.category, last.rule.id


E, IND, B, S = (AtaResponse.EXCELLENT, AtaResponse.INDETERMINATE, AtaResponse.BIOCHEMICAL_INCOMPLETE,
              AtaResponse.STRUCTURAL_INCOMPLETE)


@pytest.mark.parametrize(
    ("tg", "expected"),
    [
        (0.0, E), (0.19, E),  # Table 13 row "excellent": suppressed Tg < 0.2 ng/mL
        (0.2, IND), (0.5, IND), (0.99, IND),  # row "indeterminate": non-stimulated Tg detectable but < 1
        (1.0, B), (1.01, B), (50.0, B),  # row "biochemical incomplete": suppressed Tg >= 1 (PMC7578621)
    ],
)
def test_suppressed_tg_boundaries(tg: float, expected: AtaResponse) -> None:
    """Issue 11: suppressed Tg at and around 0.2 and 1 ng/mL (ATA 2015 Table 13, suppressed Tg rows)."""
    assert _one(tg, SUP)[0] is expected


@pytest.mark.parametrize(
    ("tg", "expected"),
    [
        (0.0, E), (0.99, E),  # row "excellent": TSH-stimulated Tg < 1 ng/mL
        (1.0, IND), (5.0, IND), (9.99, IND),  # row "indeterminate": stimulated Tg detectable but < 10
        (10.0, B), (10.01, B),  # row "biochemical incomplete": stimulated Tg >= 10
    ],
)
def test_stimulated_tg_boundaries(tg: float, expected: AtaResponse) -> None:
    """Issue 11: stimulated Tg at and around 1 and 10 ng/mL (ATA 2015 Table 13, stimulated Tg rows)."""
    assert _one(tg, STIM)[0] is expected


def test_thresholds_are_the_sourced_values() -> None:
    """Issue 11: the engine reads its numbers from data/ata_response.yaml, each with source and grade; the
    Table 13 numbers (0.2, 1, 1, 10 ng/mL) are graded secondary (read in PMC7578621's transcription)."""
    t = thresholds()
    assert (t.excellent_suppressed_tg_below, t.excellent_stimulated_tg_below) == (0.2, 1.0)
    assert (t.biochemical_suppressed_tg_at_least, t.biochemical_stimulated_tg_at_least) == (1.0, 10.0)
    data = load_yaml("ata_response.yaml")
    for name, entry in data["thresholds"].items():
        assert entry["source"] and Grade(entry["grade"]), name
    for name in ("excellent_suppressed_tg_below", "biochemical_stimulated_tg_at_least"):
        entry = data["thresholds"][name]
        assert entry["grade"] == "secondary" and "Table 13" in entry["source"]
    for r in rules().values():
        assert r.source and isinstance(r.grade, Grade) and r.category in AtaResponse


def test_vocabulary_is_in_the_model() -> None:
    """Issue 11: the four categories are a redif.model vocabulary with source and grade."""
    assert vocabulary("ata_response").codes() == (
        "excellent", "indeterminate", "biochemical_incomplete", "structural_incomplete")
    assert AtaResponse.parse("Structural incomplete response") is S
    assert all(t.grade is Grade.SECONDARY for t in vocabulary("ata_response").terms)


def test_structural_evidence_wins_over_any_tg_and_tgab() -> None:
    """Issue 11: Table 13 row "structural incomplete": structural or functional evidence of disease with
    any Tg level, with or without TgAb."""
    disease = (ImagingFinding(dt.date(2024, 6, 1), "disease", "CT: lung nodule 12 mm"),)
    assert _one(0.0, SUP, imaging=disease) == (S, "structural_evidence")
    assert _one(None, SUP, imaging=disease, tgab=True) == (S, "structural_evidence")


def test_no_imaging_never_structural_never_excellent() -> None:
    """Issue 11: without imaging a point cannot be structural incomplete (no evidence) nor excellent
    (Table 13 excellent needs negative imaging): a low Tg gives indeterminate with the rule that says so;
    a high Tg stays biochemical incomplete and the detail says structural disease is not excluded."""
    assert _one(0.1, SUP, imaging=()) == (IND, "excellent_range_no_imaging")
    cat, rid = _one(5.0, SUP, imaging=())
    assert (cat, rid) == (B, "tg_suppressed_high")
    pts = classify_time_points([LabSample(D, tg_ng_ml=5.0, tsh_state=SUP, tgab_positive=False)], [],
                               therapy_dates=[D0])
    assert "not excluded" in pts[0].detail


def test_nonspecific_imaging_is_indeterminate() -> None:
    """Issue 11: Table 13 row "indeterminate": non-specific findings on imaging (faint/equivocal uptake)."""
    img = (ImagingFinding(dt.date(2024, 6, 1), "nonspecific", "WBS: faint thyroid-bed uptake"),)
    assert _one(0.1, SUP, imaging=img) == (IND, "imaging_nonspecific")
    assert _one(2.0, SUP, imaging=img) == (B, "tg_suppressed_high")  # a high Tg still counts


def test_tgab_positive_makes_tg_uninterpretable() -> None:
    """Issue 11: with TgAb positive the Tg thresholds do not apply (Table 13: 'in the absence of anti-Tg
    antibodies'): an undetectable Tg is not excellent; a single TgAb gives indeterminate (trend unknown);
    stable or declining TgAb gives indeterminate (Table 13 indeterminate row)."""
    assert _one(0.0, SUP, tgab=True) == (IND, "tgab_positive_trend_unknown")
    earlier = (LabSample(dt.date(2024, 3, 1), tgab_positive=True, tgab_iu_ml=100.0),)
    labs = (*earlier, LabSample(D, tg_ng_ml=0.0, tsh_state=SUP, tgab_positive=True, tgab_iu_ml=80.0))
    last = classify_time_points(labs, [NEG], therapy_dates=[D0])[-1]
    assert (last.category, last.rule.id) == (IND, "tgab_positive_stable")


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (100.0, 150.0, IND),  # +50 %: not more than 50 % -> stable
        (100.0, 151.0, B),  # +51 %: rising (Reverter 2020: an increase of more than 50 %)
        (100.0, 40.0, IND),  # declining
    ],
)
def test_tgab_rising_rule(before: float, after: float, expected: AtaResponse) -> None:
    """Issue 11: Table 13 biochemical incomplete row 'rising anti-Tg antibody levels'; rising = more than
    50 % above the previous titre (data/ata_response.yaml tgab_rise_fraction, Reverter 2020)."""
    labs = [
        LabSample(dt.date(2024, 3, 1), tgab_positive=True, tgab_iu_ml=before),
        LabSample(D, tg_ng_ml=0.1, tsh_state=SUP, tgab_positive=True, tgab_iu_ml=after),
    ]
    last = classify_time_points(labs, [NEG], therapy_dates=[D0])[-1]
    assert last.category is expected
    if expected is B:
        assert last.rule.id == "tgab_rising" and "Table 13" in last.rule.source


def test_tgab_de_novo_is_rising() -> None:
    """Issue 11: TgAb turning positive is a rising pattern (Reverter 2020 'de novo appearance')."""
    labs = [LabSample(dt.date(2024, 3, 1), tg_ng_ml=0.1, tsh_state=SUP, tgab_positive=False),
            LabSample(D, tg_ng_ml=0.1, tsh_state=SUP, tgab_positive=True)]
    assert classify_time_points(labs, [NEG], therapy_dates=[D0])[-1].rule.id == "tgab_rising"


def test_tgab_not_reported_blocks_excellent() -> None:
    """Issue 11: a low Tg without a negative TgAb is not excellent (redif convention, unverified)."""
    cat, rid = _one(0.1, SUP, tgab=None)
    assert (cat, rid) == (IND, "excellent_range_tgab_unknown")
    assert rules()[rid].grade is Grade.UNVERIFIED


@pytest.mark.parametrize(
    ("tg", "expected", "rule"),
    [(0.1, E, "excellent"), (0.5, IND, "tsh_state_unknown"), (5.0, IND, "tsh_state_unknown"),
     (10.0, B, "tg_stimulated_high")],
)
def test_unknown_tsh_state_judged_both_ways(tg: float, expected: AtaResponse, rule: str) -> None:
    """Issue 11: a Tg of unknown TSH state is judged under both Table 13 rows; where they disagree the
    point is indeterminate (rule tsh_state_unknown), where they agree that category holds."""
    assert _one(tg, TshState.UNKNOWN) == (expected, rule)


def test_worst_of_same_day_samples_and_missing_tg() -> None:
    """Issue 11: suppressed < 0.2 and stimulated 5 ng/mL on the same day -> indeterminate (the worse);
    TgAb negative without Tg -> indeterminate (no_tg)."""
    labs = [LabSample(D, tg_ng_ml=0.1, tsh_state=SUP, tgab_positive=False),
            LabSample(D, tg_ng_ml=5.0, tsh_state=STIM, tgab_positive=False)]
    assert classify_time_points(labs, [NEG], therapy_dates=[D0])[-1].category is IND
    assert _one(None, SUP) == (IND, "no_tg")


def test_time_points_follow_therapy_and_window() -> None:
    """Issue 11: only dates after the first 131I are time points; evidence before the last 131I or outside
    the window is not used; as_of cuts later data."""
    labs = [LabSample(dt.date(2023, 12, 1), tg_ng_ml=30.0, tsh_state=SUP, tgab_positive=False),
            LabSample(D, tg_ng_ml=0.1, tsh_state=SUP, tgab_positive=False)]
    old = ImagingFinding(dt.date(2024, 1, 5), "disease", "CT before 131I")
    pts = classify_time_points(labs, [old, NEG], therapy_dates=[D0])
    assert [p.date for p in pts] == [NEG.date, D] and pts[-1].category is E
    cut = classify_time_points(labs, [NEG], therapy_dates=[D0], as_of=dt.date(2024, 6, 30))
    assert cut[-1].date == NEG.date
    far = ImagingFinding(D - dt.timedelta(days=thresholds().window_days + 1), "negative", "old US")
    stale = classify_time_points(labs[1:], [far], therapy_dates=[D0])
    assert stale[-1].rule.id == "excellent_range_no_imaging"


def test_json_shape_and_scope() -> None:
    """Issue 11: each point is {date, category, rule, source, grade, ...}; the scope caveat says Table 13
    is defined after total thyroidectomy and RAI remnant ablation."""
    d = classify_time_points([LabSample(D, tg_ng_ml=0.1, tsh_state=SUP, tgab_positive=False)], [NEG],
                             therapy_dates=[D0])[-1].to_dict()
    assert {"date", "category", "rule", "source", "grade"} <= set(d)
    assert d["date"] == "2024-07-01" and d["category"] == "excellent" and d["grade"] == "secondary"
    assert "total thyroidectomy" in scope()["text"]


def test_bad_input_names_the_field() -> None:
    """Issue 11: bad input raises InputError naming the field and the value."""
    with pytest.raises(InputError) as err:
        classify_time_points([LabSample(D, tg_ng_ml=-1.0)], [])
    assert err.value.field == "labs[0].tg_ng_ml"
    with pytest.raises(InputError) as err:
        classify_time_points([], [ImagingFinding(D, "maybe", "x")])  # type: ignore[arg-type]
    assert err.value.field == "imaging[0].status"
