"""RECIST 1.1 time-point response.

Expected answers are derived by hand from the rule text of RECIST 1.1 (Eisenhauer et al., Eur J Cancer
2009;45:228-247, §3-4.3, Tables 1-2) as transcribed in docs/methods/response.md: PR = sum decreased
by >= 30 % from baseline; PD = sum increased by >= 20 % over the nadir (smallest sum on study, baseline
included) AND by >= 5 mm; CR = non-nodal targets gone and target nodes < 10 mm short axis.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import hypothesis.strategies as st
import pytest
from hypothesis import given, settings

from redif.errors import InputError
from redif.response.recist import (
    NonTargetResponse,
    OverallResponse,
    TargetResponse,
    assess,
    case_from_dict,
    check_baseline,
    overall_response,
)


def _one(mk, targets, follow, **kw):
    return assess(case_from_dict(mk(targets, follow, **kw))).timepoints


# --- 30 % / 20 % / 5 mm boundaries, exact ---------------------------------------------------------------


def test_exactly_30_percent_decrease_is_pr(mk):
    """Sum 100 -> 70 mm is a decrease of exactly 30 %: PR (">= 30 %", RECIST 1.1 §4.3.1)."""
    tp = _one(mk, {"T1": 60, "T2": 40}, [{"target_mm": {"T1": 42, "T2": 28}}])[0]
    assert tp.target is TargetResponse.PR
    assert tp.change_from_baseline_pct == Fraction(-30)


def test_just_under_30_percent_is_sd(mk):
    """100 -> 70.1 mm is a 29.9 % decrease: SD."""
    tp = _one(mk, {"T1": 60, "T2": 40}, [{"target_mm": {"T1": "42.1", "T2": 28}}])[0]
    assert tp.target is TargetResponse.SD


def test_exactly_20_percent_and_20_mm_is_pd(mk):
    """100 -> 120 mm: +20 % and +20 mm over the nadir (baseline): PD."""
    tp = _one(mk, {"T1": 60, "T2": 40}, [{"target_mm": {"T1": 70, "T2": 50}}])[0]
    assert tp.target is TargetResponse.PD
    assert tp.change_from_nadir_mm == Decimal(20)


def test_just_under_20_percent_is_sd(mk):
    """100 -> 119.9 mm: +19.9 %: SD."""
    tp = _one(mk, {"T1": 60, "T2": 40}, [{"target_mm": {"T1": "69.9", "T2": 50}}])[0]
    assert tp.target is TargetResponse.SD


def test_20_percent_but_under_5_mm_is_not_pd(mk):
    """Nadir 20 mm -> 24.9 mm is +24.5 % but only +4.9 mm: not PD (both conditions needed); -> SD."""
    tp = _one(mk, {"T1": 20}, [{"target_mm": {"T1": "24.9"}}])[0]
    assert tp.target is TargetResponse.SD


def test_20_percent_and_exactly_5_mm_is_pd(mk):
    """Nadir 20 mm -> 25 mm: +25 % and exactly +5 mm: PD."""
    tp = _one(mk, {"T1": 20}, [{"target_mm": {"T1": 25}}])[0]
    assert tp.target is TargetResponse.PD


def test_5_mm_but_under_20_percent_is_not_pd(mk):
    """Nadir 100 mm -> 110 mm: +10 mm but only +10 %: SD."""
    tp = _one(mk, {"T1": 100}, [{"target_mm": {"T1": 110}}])[0]
    assert tp.target is TargetResponse.SD


def test_float_trap_30_percent(mk):
    """Baseline 34.9 + 11.4 + 55.7 = 102.0 mm; follow-up 39.9 + 22.1 + 9.4 = 71.4 mm = 0.7 x 102.0 exactly:
    PR. Summed in binary floating point the decrease is 29.999999999999993 %, which a float
    implementation classifies SD (found by search; recheck with ``(102.0-71.4)/102.0*100`` in float)."""
    fb = sum([34.9, 11.4, 55.7])
    ff = sum([39.9, 22.1, 9.4])
    assert (fb - ff) / fb * 100 < 30  # the trap is real in floats
    tp = _one(
        mk, {"T1": "34.9", "T2": "11.4", "T3": "55.7"}, [{"target_mm": {"T1": 39.9, "T2": 22.1, "T3": 9.4}}]
    )[0]
    assert tp.target is TargetResponse.PR
    assert tp.change_from_baseline_pct == Fraction(-30)


def test_float_trap_20_percent(mk):
    """Nadir 47.9 + 36.2 + 51.4 = 135.5 mm; follow-up 26.4 + 106.2 + 30.0 = 162.6 mm = 1.2 x 135.5 exactly
    (+27.1 mm): PD. In floats the increase is 19.999999999999996 %."""
    fb = sum([47.9, 36.2, 51.4])
    ff = sum([26.4, 106.2, 30.0])
    assert (ff - fb) / fb * 100 < 20
    tp = _one(
        mk, {"T1": 47.9, "T2": 36.2, "T3": 51.4}, [{"target_mm": {"T1": 26.4, "T2": 106.2, "T3": 30.0}}]
    )[0]
    assert tp.target is TargetResponse.PD


# --- nadir ------------------------------------------------------------------------------------------------


def test_pd_is_measured_from_the_nadir_not_baseline(mk):
    """Baseline 100 -> 60 (PR, nadir 60) -> 72 mm: +12 mm = +20 % over the nadir: PD, although 28 % below
    baseline."""
    tps = _one(mk, {"T1": 100}, [{"target_mm": {"T1": 60}}, {"target_mm": {"T1": 72}}])
    assert [t.target for t in tps] == [TargetResponse.PR, TargetResponse.PD]
    assert tps[1].nadir_mm == Decimal(60)
    assert tps[1].change_from_baseline_pct == Fraction(-28)


def test_baseline_is_the_nadir_when_smallest(mk):
    """Baseline 50 -> 55 (SD) -> 60 mm: the nadir is still the baseline 50; +10 mm = +20 %: PD."""
    tps = _one(mk, {"T1": 50}, [{"target_mm": {"T1": 55}}, {"target_mm": {"T1": 60}}])
    assert [t.target for t in tps] == [TargetResponse.SD, TargetResponse.PD]
    assert tps[1].nadir_mm == Decimal(50)


def test_incomplete_sum_does_not_set_the_nadir(mk):
    """A time point with a missing target (NE) does not lower the nadir: 100 -> (T2 missing, T1 30) ->
    T1 60 + T2 40 = 100: SD against the nadir 100, not PD against 30."""
    tps = _one(
        mk, {"T1": 60, "T2": 40}, [{"target_mm": {"T1": 30, "T2": None}}, {"target_mm": {"T1": 60, "T2": 40}}]
    )
    assert [t.target for t in tps] == [TargetResponse.NE, TargetResponse.SD]
    assert tps[1].nadir_mm == Decimal(100)


# --- missing measurements ---------------------------------------------------------------------------------


def test_missing_target_gives_ne(mk):
    """One target not measured and no PD from the others: NE (RECIST 1.1 Table 1, 'not all evaluated')."""
    tp = _one(mk, {"T1": 30, "T2": 30}, [{"target_mm": {"T1": 10}}])[0]
    assert tp.target is TargetResponse.NE and tp.overall is OverallResponse.NE
    assert tp.sum_mm is None


def test_missing_target_but_pd_already(mk):
    """Baseline 30 + 30 = 60 mm. T1 = 45 with T2 not measured: the measured sum 45 mm does not exceed the
    nadir, so NE. T1 = 80 with T2 missing: 80 - 60 = 20 mm >= 12 mm (20 % of 60) and >= 5 mm, and the
    missing T2 can only add: PD (RECIST 1.1 Table 1 footnote)."""
    tps = _one(mk, {"T1": 30, "T2": 30}, [{"target_mm": {"T1": 45, "T2": None}}, {"target_mm": {"T1": 80}}])
    assert [t.target for t in tps] == [TargetResponse.NE, TargetResponse.PD]
    assert "PD already established" in tps[1].notes[0]


# --- complete response and nodes -------------------------------------------------------------------------


def test_cr_with_nodes_below_10_mm(mk):
    """Non-nodal target 0 mm and target node 9 mm short axis: CR, although the sum is 9 mm (RECIST 1.1
    §4.3.1: node short axis < 10 mm)."""
    tp = _one(mk, {"T1": 25, "N1": 20}, [{"target_mm": {"T1": 0, "N1": 9}}], nodes=["N1"])[0]
    assert tp.target is TargetResponse.CR
    assert tp.sum_mm == Decimal(9)
    assert tp.overall is OverallResponse.CR


def test_node_at_10_mm_is_not_cr(mk):
    """A target node at exactly 10 mm is still pathological: not CR; 45 -> 10 mm is -77.8 %: PR."""
    tp = _one(mk, {"T1": 25, "N1": 20}, [{"target_mm": {"T1": 0, "N1": 10}}], nodes=["N1"])[0]
    assert tp.target is TargetResponse.PR


def test_nonnodal_residual_is_not_cr(mk):
    """A non-nodal target of 1 mm is not gone: PR, not CR."""
    tp = _one(mk, {"T1": 25}, [{"target_mm": {"T1": 1}}])[0]
    assert tp.target is TargetResponse.PR


# --- non-target and new lesions, RECIST 1.1 Tables 1-2 ---------------------------------------------------


@pytest.mark.parametrize(
    ("target", "non_target", "new", "expected"),
    [
        (TargetResponse.CR, NonTargetResponse.CR, False, OverallResponse.CR),
        (TargetResponse.CR, NonTargetResponse.NA, False, OverallResponse.CR),
        (TargetResponse.CR, NonTargetResponse.NON_CR_NON_PD, False, OverallResponse.PR),
        (TargetResponse.CR, NonTargetResponse.NE, False, OverallResponse.PR),
        (TargetResponse.PR, NonTargetResponse.NON_CR_NON_PD, False, OverallResponse.PR),
        (TargetResponse.PR, NonTargetResponse.NE, False, OverallResponse.PR),
        (TargetResponse.PR, NonTargetResponse.CR, False, OverallResponse.PR),
        (TargetResponse.SD, NonTargetResponse.NON_CR_NON_PD, False, OverallResponse.SD),
        (TargetResponse.SD, NonTargetResponse.NE, False, OverallResponse.SD),
        (TargetResponse.NE, NonTargetResponse.NON_CR_NON_PD, False, OverallResponse.NE),
        (TargetResponse.PD, NonTargetResponse.CR, False, OverallResponse.PD),
        (TargetResponse.CR, NonTargetResponse.PD, False, OverallResponse.PD),
        (TargetResponse.CR, NonTargetResponse.CR, True, OverallResponse.PD),
        (TargetResponse.NA, NonTargetResponse.CR, False, OverallResponse.CR),
        (TargetResponse.NA, NonTargetResponse.NON_CR_NON_PD, False, OverallResponse.NON_CR_NON_PD),
        (TargetResponse.NA, NonTargetResponse.NE, False, OverallResponse.NE),
        (TargetResponse.NA, NonTargetResponse.PD, False, OverallResponse.PD),
        (TargetResponse.NA, NonTargetResponse.NON_CR_NON_PD, True, OverallResponse.PD),
    ],
)
def test_recist_tables_1_and_2(target, non_target, new, expected):
    """Every row of RECIST 1.1 Table 1 (targets +/- non-targets) and Table 2 (non-targets only)."""
    assert overall_response(target, non_target, new) is expected


def test_non_target_statuses(mk):
    """Non-target: all absent -> CR; one present -> NON-CR/NON-PD; one not evaluated -> NE; any
    unequivocal progression -> PD (and overall PD even with a target PR)."""
    follow = [
        {"target_mm": {"T1": 0}, "non_target": {"NT1": "absent", "NT2": "absent"}},
        {"target_mm": {"T1": 0}, "non_target": {"NT1": "absent", "NT2": "present"}},
        {"target_mm": {"T1": 0}, "non_target": {"NT1": "absent"}},
        {"target_mm": {"T1": 10}, "non_target": {"NT1": "progression", "NT2": "present"}},
    ]
    tps = _one(mk, {"T1": 30}, follow, non_targets=["NT1", "NT2"])
    assert [t.non_target for t in tps] == [
        NonTargetResponse.CR,
        NonTargetResponse.NON_CR_NON_PD,
        NonTargetResponse.NE,
        NonTargetResponse.PD,
    ]
    assert [t.overall for t in tps] == [
        OverallResponse.CR,
        OverallResponse.PR,
        OverallResponse.PR,
        OverallResponse.PD,
    ]


def test_new_lesion_is_pd(mk):
    """An unequivocal new lesion makes PD even while the targets shrink."""
    tp = _one(mk, {"T1": 30}, [{"target_mm": {"T1": 10}, "new_lesions": [{"id": "N1", "organ": "liver"}]}])[0]
    assert tp.target is TargetResponse.PR
    assert tp.overall is OverallResponse.PD
    assert tp.new_lesions == "yes"


def test_equivocal_new_lesion_backdated_when_confirmed(mk):
    """RECIST 1.1 §4.3.2: an equivocal new lesion is not PD; when a later scan confirms it, PD is dated to
    the scan that first showed it."""
    follow = [
        {"target_mm": {"T1": 25}, "new_lesions": [{"id": "N1", "equivocal": True}]},
        {"target_mm": {"T1": 25}, "new_lesions": [{"id": "N1"}]},
    ]
    tps = _one(mk, {"T1": 30}, follow)
    assert [t.overall for t in tps] == [OverallResponse.PD, OverallResponse.PD]
    assert any("dated" in n for n in tps[0].notes)


def test_equivocal_new_lesion_not_confirmed(mk):
    """An equivocal new lesion never confirmed does not change the response."""
    tps = _one(mk, {"T1": 30}, [{"target_mm": {"T1": 25}, "new_lesions": [{"id": "N1", "equivocal": True}]}])
    assert tps[0].overall is OverallResponse.SD
    assert tps[0].new_lesions == "equivocal"


def test_non_target_only_disease(mk):
    """No target lesion: RECIST 1.1 Table 2; a finding says only non-target response can be assessed."""
    case = case_from_dict(
        {
            "lesions": [{"id": "NT1", "organ": "bone", "kind": "non-target"}],
            "baseline": {"date": "2025-01-01"},
            "follow_up": [
                {"date": "2025-04-01", "non_target": {"NT1": "present"}},
                {"date": "2025-07-01", "non_target": {"NT1": "absent"}},
            ],
        }
    )
    res = assess(case)
    assert [t.overall for t in res.timepoints] == [OverallResponse.NON_CR_NON_PD, OverallResponse.CR]
    assert [f.code for f in res.findings] == ["no_target_lesions"]
    assert res.timepoints[0].sum_mm is None


# --- baseline checks ---------------------------------------------------------------------------------------


def test_baseline_findings_name_the_lesions(mk):
    """RECIST 1.1 §3: a 9 mm non-nodal target (< 10 mm), a 14 mm target node (< 15 mm short axis), 6
    targets (> 5) and 3 in one organ (> 2) are each reported with the lesions concerned."""
    targets = {"T1": 9, "T2": 20, "T3": 20, "N1": 14, "T5": 20, "T6": 20}
    case = mk(targets, [], nodes=["N1"])
    for les in case["lesions"]:
        if les["id"] in ("T1", "T2", "T3"):
            les["organ"] = "Lung"
    res = check_baseline(case_from_dict(case))
    codes = {f.code: f.lesion_ids for f in res}
    assert codes["target_not_measurable"] == ("T1",)
    assert codes["node_target_too_small"] == ("N1",)
    assert codes["too_many_targets"] == ("T6",)
    assert codes["too_many_targets_in_organ"] == ("T1", "T2", "T3")
    assert all("Eisenhauer 2009" in f.source for f in res)


def test_boundary_sizes_are_measurable(mk):
    """Exactly 10 mm (non-nodal) and exactly 15 mm short axis (node) are measurable: no finding."""
    assert check_baseline(case_from_dict(mk({"T1": 10, "N1": 15}, [], nodes=["N1"]))) == []


# --- structural errors ----------------------------------------------------------------------------


def test_measurement_without_lesion_is_an_error(mk):
    case = mk({"T1": 20}, [{"target_mm": {"T1": 20, "T9": 5}}])
    with pytest.raises(InputError, match=r"follow_up\[0\]\.target_mm\.T9"):
        case_from_dict(case)


def test_dates_out_of_order_is_an_error(mk):
    case = mk(
        {"T1": 20},
        [{"date": "2025-05-01", "target_mm": {"T1": 20}}, {"date": "2025-03-01", "target_mm": {"T1": 20}}],
    )
    with pytest.raises(InputError, match=r"follow_up\[1\]\.date.*out of order"):
        case_from_dict(case)


def test_several_problems_reported_together(mk):
    """Two problems -> two lines, each naming its field."""
    case = mk({"T1": 20}, [{"date": "2025-13-01", "target_mm": {"T1": -3}}])
    with pytest.raises(InputError) as info:
        case_from_dict(case)
    lines = str(info.value).splitlines()
    assert len(lines) == 2
    assert "follow_up[0].date" in lines[0] and "follow_up[0].target_mm.T1" in lines[1]


def test_baseline_target_without_diameter_is_an_error(mk):
    case = mk({"T1": 20, "T2": None}, [])
    with pytest.raises(InputError, match=r"baseline\.target_mm\.T2"):
        case_from_dict(case)


# --- properties ---------------------------------------------------------------------------------------------

_mm = st.decimals(min_value=0, max_value=300, places=1, allow_nan=False, allow_infinity=False)


@settings(max_examples=150, deadline=None)
@given(
    base=st.lists(st.decimals(min_value=10, max_value=150, places=1), min_size=1, max_size=5),
    follow=st.lists(_mm, min_size=5, max_size=5),
)
def test_property_target_response_agrees_with_exact_rule(base, follow):
    """For any non-nodal targets: the engine's target response equals the rule evaluated directly on
    integers of tenths of a millimetre (PR iff 10 x sum <= 7 x baseline; PD iff increase >= 50 tenths
    and 5 x increase >= baseline), CR iff all 0."""
    ids = [f"T{i}" for i in range(len(base))]
    case = {
        "lesions": [{"id": k, "organ": k, "kind": "target"} for k in ids],
        "baseline": {"date": "2025-01-01", "target_mm": dict(zip(ids, base, strict=True))},
        "follow_up": [{"date": "2025-03-01", "target_mm": dict(zip(ids, follow, strict=False))}],
    }
    tp = assess(case_from_dict(case)).timepoints[0]
    b = int(sum(base) * 10)
    f = int(sum(follow[: len(base)]) * 10)
    if f == 0:
        expected = TargetResponse.CR
    elif f - b >= 50 and 5 * (f - b) >= b:
        expected = TargetResponse.PD
    elif 10 * f <= 7 * b:
        expected = TargetResponse.PR
    else:
        expected = TargetResponse.SD
    assert tp.target is expected


@settings(max_examples=100, deadline=None)
@given(scale=st.integers(min_value=1, max_value=1000))
def test_property_scale_invariance_at_30_percent(scale):
    """A 30 % decrease is PR at every scale (sum 10k -> 7k tenths of a mm)."""
    base = Decimal(scale)
    tp = assess(
        case_from_dict(
            {
                "lesions": [{"id": "T1", "organ": "lung", "kind": "target"}],
                "baseline": {"date": "2025-01-01", "target_mm": {"T1": str(base + 10)}},
                "follow_up": [{"date": "2025-03-01", "target_mm": {"T1": str((base + 10) * Decimal("0.7"))}}],
            }
        )
    ).timepoints[0]
    assert tp.target is TargetResponse.PR


def test_equivocal_twice_then_confirmed(mk):
    """Equivocal at scans 1 and 2, unequivocal at scan 3: all three are PD (the progression dates from
    scan 1, RECIST 1.1 §4.3.2); an unrelated equivocal lesion never confirmed changes nothing."""
    follow = [
        {"target_mm": {"T1": 25}, "new_lesions": [{"id": "N1", "equivocal": True}]},
        {
            "target_mm": {"T1": 25},
            "new_lesions": [{"id": "N1", "equivocal": True}, {"id": "N2", "equivocal": True}],
        },
        {"target_mm": {"T1": 25}, "new_lesions": [{"id": "N1"}]},
        {"target_mm": {"T1": 25}, "new_lesions": [{"id": "N3", "equivocal": True}]},
    ]
    tps = _one(mk, {"T1": 30}, follow)
    assert [t.overall for t in tps] == [OverallResponse.PD] * 3 + [OverallResponse.SD]


def test_keep_pr_eortc_faq(mk):
    """EORTC RECIST FAQ "Managing PR when TP measurements change slightly over time"
    (http://recist.eortc.org/faq/managing-pr-when-tp-measurements-change-slightly-over-time/): target sums
    100 (baseline), 70, 70, 80, 80, 80 with non-targets unchanged -> PR at all five time points. By the
    numbers alone (the default), 80 mm is only -20 % from baseline and +14 % over the nadir: SD."""
    from redif.response.recist import KeepPr

    follow = [{"target_mm": {"T1": v}, "non_target": {"NT1": "present"}} for v in (70, 70, 80, 80, 80)]
    case = case_from_dict(mk({"T1": 100}, follow, non_targets=["NT1"]))
    plain = [t.overall.value for t in assess(case).timepoints]
    assert plain == ["PR", "PR", "SD", "SD", "SD"]
    kept = assess(case, keep_pr=KeepPr.AFTER_PR).timepoints
    assert [t.overall.value for t in kept] == ["PR"] * 5
    assert "EORTC" in kept[2].notes[0]
    # monthly scans: the PR of 02-01 is confirmed by the PR of 03-01 (28 d), so PR is kept from 04-01 on
    conf = [t.overall.value for t in assess(case, keep_pr=KeepPr.AFTER_CONFIRMED_PR).timepoints]
    assert conf == ["PR"] * 5


def test_keep_pr_needs_confirmation_when_asked(mk):
    """PR on 02-01 then SD on 02-15 (14 d, no confirming PR): kept with after-pr, not with
    after-confirmed-pr; PD is never overridden."""
    from redif.response.recist import KeepPr

    follow = [
        {"date": "2025-02-01", "target_mm": {"T1": 70}},
        {"date": "2025-02-15", "target_mm": {"T1": 80}},
        {"date": "2025-03-20", "target_mm": {"T1": 84}},
    ]
    case = case_from_dict(mk({"T1": 100}, follow))
    assert [t.target.value for t in assess(case, keep_pr=KeepPr.AFTER_PR).timepoints] == ["PR", "PR", "PD"]
    assert [t.target.value for t in assess(case, keep_pr=KeepPr.AFTER_CONFIRMED_PR).timepoints] == [
        "PR",
        "SD",
        "PD",
    ]
