"""Issue 15 item 5: group-sequential boundaries on the effect scale equal rpact 3.3.4's
``criticalValuesEffectScale`` (and ``...Lower/Upper``, ``futilityBoundsEffectScale``) to 1e-4 relative.

Expected values: ``tests/design/data/rpact_effect_scale.json``, written by the R script beside it
(``rpact_effect_scale.R``: ``getSampleSizeSurvival`` for five designs - one- and two-sided, HR < 1 and
HR > 1, allocation 1, 1.5 and 2, beta spending binding and non-binding - and ``getSampleSizeRates`` for
five designs, p1 above and below p2). Our boundaries are computed from our own design and sample size
(themselves checked against rpact in test_group_sequential_rpact.py), so the test covers the whole
chain.
rpact rounds ``futilityBoundsEffectScale`` to 8 decimals, well inside the tolerance.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from redif.design.effect_scale import (
    effect_boundaries_for,
    rates_effect_boundaries,
    survival_effect_boundaries,
)
from redif.design.group_sequential import group_sequential_design
from redif.design.sample_size_gs import sample_size_rates, sample_size_survival
from redif.errors import InputError

REF = json.loads((Path(__file__).parent / "data" / "rpact_effect_scale.json").read_text(encoding="utf-8"))
RTOL = 1e-4


def _design(sp: dict[str, Any]) -> Any:
    return group_sequential_design(
        sp["k"],
        sp["alpha"],
        sp["beta"],
        sp["sided"],
        sp["type"],
        info_rates=sp.get("info"),
        gamma_a=sp.get("gamma_a"),
        beta_spending=sp.get("bs", "none"),
        binding=bool(sp.get("binding", False)),
    )


def _efficacy_ref(case: dict[str, Any]) -> tuple[list[float], list[float] | None]:
    """rpact's efficacy side: one-sided ``criticalValuesEffectScale``; two-sided the Lower (HR < 1,
    directionUpper FALSE) or Upper matrix, the other one being the mirror."""
    if case["input"]["sided"] == 1:
        return case["criticalValuesEffectScale"], None
    lo, up = case["criticalValuesEffectScaleLower"], case["criticalValuesEffectScaleUpper"]
    return (up, lo) if case["directionUpper"] else (lo, up)


def _close(ours: Any, theirs: Any, what: str) -> float:
    a = np.asarray([np.nan if x is None else x for x in ours], dtype=float)
    b = np.asarray([np.nan if x is None else x for x in theirs], dtype=float)
    np.testing.assert_allclose(a, b, rtol=RTOL, equal_nan=True, err_msg=what)
    ok = ~np.isnan(b)
    return float(np.max(np.abs(a[ok] - b[ok]) / np.abs(b[ok]), initial=0.0))


@pytest.mark.parametrize("case", REF["survival"], ids=lambda c: json.dumps(c["input"]))
def test_survival_hr_boundaries_equal_rpact(case: dict[str, Any]) -> None:
    """Issue 15: HR_k = exp(-z_k (1 + r) / sqrt(r d_k)) (one-sided benefit) equals rpact at 1e-4."""
    sp = case["input"]
    d = _design(sp)
    ss = sample_size_survival(
        sp["hr"], accrual_months=24, followup_months=12, median_control_months=12, design=d, ratio=sp["ratio"]
    )
    _close(ss.events_per_stage, case["eventsPerStage"], "events")
    eff = survival_effect_boundaries(
        d.critical_values,
        ss.events_per_stage,
        ratio=sp["ratio"],
        sided=sp["sided"],
        direction_upper=sp["hr"] > 1,
        futility_bounds=d.futility_bounds,
    )
    ref, mirror = _efficacy_ref(case)
    assert case["directionUpper"] == (sp["hr"] > 1)
    _close(eff.efficacy, ref, "efficacy")
    if mirror is None:
        assert eff.efficacy_mirror is None
    else:
        assert eff.efficacy_mirror is not None
        _close(eff.efficacy_mirror, mirror, "mirror")
    if case["futilityBoundsEffectScale"] is None:
        assert eff.futility is None
    else:
        assert eff.futility is not None
        _close(eff.futility, case["futilityBoundsEffectScale"], "futility")


@pytest.mark.parametrize("case", REF["rates"], ids=lambda c: json.dumps(c["input"]))
def test_rate_difference_boundaries_equal_rpact(case: dict[str, Any]) -> None:
    """Issue 15: the rate difference at which the pooled-variance z reaches z_k equals rpact at 1e-4."""
    sp = case["input"]
    d = _design(sp)
    ss = sample_size_rates(sp["p1"], sp["p2"], design=d, ratio=sp["ratio"])
    _close(ss.n_per_stage, case["numberOfSubjects"], "subjects")
    eff = rates_effect_boundaries(
        d.critical_values,
        ss.n_per_stage,
        sp["p2"],
        ratio=sp["ratio"],
        sided=sp["sided"],
        direction_upper=sp["p1"] > sp["p2"],
        futility_bounds=d.futility_bounds,
    )
    ref, mirror = _efficacy_ref(case)
    _close(eff.efficacy, ref, "efficacy")
    if mirror is not None:
        assert eff.efficacy_mirror is not None
        _close(eff.efficacy_mirror, mirror, "mirror")
    if case["futilityBoundsEffectScale"] is not None:
        assert eff.futility is not None
        _close(eff.futility, case["futilityBoundsEffectScale"], "futility")


def test_max_relative_difference_report() -> None:
    """Issue 15: the largest relative difference over all effect-scale references (the parity figure),
    through ``effect_boundaries_for`` (the direction taken from the planned HR or p1 - p2)."""
    worst = 0.0
    for case in REF["survival"]:
        sp = case["input"]
        d = _design(sp)
        ss = sample_size_survival(
            sp["hr"],
            accrual_months=24,
            followup_months=12,
            median_control_months=12,
            design=d,
            ratio=sp["ratio"],
        )
        eff = effect_boundaries_for(d, ss)
        worst = max(worst, _close(eff.efficacy, _efficacy_ref(case)[0], "efficacy"))
    for case in REF["rates"]:
        sp = case["input"]
        d = _design(sp)
        ss = sample_size_rates(sp["p1"], sp["p2"], design=d, ratio=sp["ratio"])
        eff = effect_boundaries_for(d, ss)
        worst = max(worst, _close(eff.efficacy, _efficacy_ref(case)[0], "efficacy"))
    print(f"effect-scale parity: max relative difference {worst:.2e}")
    assert worst < RTOL


def test_closed_form_and_bad_input() -> None:
    """Issue 15: the stated survival formula at one look (closed form), and bad input naming the field."""
    eff = survival_effect_boundaries([1.959963984540054], [100.0])
    assert eff.efficacy[0] == pytest.approx(np.exp(-1.959963984540054 * 2 / 10), rel=1e-14)
    with pytest.raises(InputError) as e:
        survival_effect_boundaries([2.0, 1.9], [50.0])
    assert e.value.field == "events"
    with pytest.raises(InputError) as e:
        rates_effect_boundaries([2.0], [-3.0], 0.3)
    assert e.value.field == "subjects"
    with pytest.raises(InputError) as e:
        rates_effect_boundaries([2.0], [30.0], 1.3)
    assert e.value.field == "p2"
    # a boundary out of reach of any pi_1 in [0, 1] (tiny n) -> None, as rpact's NA
    assert rates_effect_boundaries([8.0], [4.0], 0.5).efficacy == [None]
