"""The pathway composing the dosimetry and response engines (skipped until those engines are installed).

Expected values:
- RECIST 1.1 (RULES.md §6): PR = >= 30% decrease of the sum of diameters from baseline. BRAF example:
  baseline 18 + 12 + 16 = 46 mm; 6 months 12 + 9 + 11 = 32 mm: (32 - 46) / 46 = -30.43% -> PR; 9 months
  29 mm -> PR; the two PRs are 94 days apart (>= 4 weeks) -> confirmed PR.
- Tg doubling time (RULES.md §6, Miyauchi 2011): least squares of ln(Tg) on time; DT = ln 2 / slope,
  recomputed here with statistics.linear_regression.
- Ho 2013 (RULES.md §5): go when a lesion's Gy/GBq x maximum tolerable activity >= 20 Gy.
"""

from __future__ import annotations

import json
import math
import statistics
from datetime import date
from typing import Any

import pytest

from redif.pathway.assess import assess_case
from redif.pathway.case import CaseValidationError, load_case, parse_case
from redif.pathway.evidence_link import engine_available

needs_response = pytest.mark.skipif(
    not engine_available("redif.response.recist"), reason="response engine absent"
)
needs_dosimetry = pytest.mark.skipif(
    not engine_available("redif.dosimetry.prescription"), reason="dosimetry engine absent"
)


@needs_response
def test_recist_and_tg_through_the_pathway(examples_dir: Any) -> None:
    doc = assess_case(load_case(examples_dir / "case_braf_v600e.yaml")).to_dict()
    resp = doc["response"]
    assert [t["response"] for t in resp["time_points"]] == ["PR", "PR"]
    assert [t["sum_mm"] for t in resp["time_points"]] == [32.0, 29.0]
    assert resp["time_points"][0]["change_from_baseline_pct"] == pytest.approx(-30.43, abs=0.005)
    assert resp["best_overall_response"] == "PR"
    assert resp["best_overall_response_confirmed"] == "PR"
    tg = resp["thyroglobulin"]
    days = [
        (date(2023, 6, 1) - date(2023, 6, 1)).days,
        (date(2023, 9, 1) - date(2023, 6, 1)).days,
        (date(2023, 12, 1) - date(2023, 6, 1)).days,
    ]
    slope, _ = statistics.linear_regression(days, [math.log(12.0), math.log(16.5), math.log(23.0)])
    assert tg["n"] == 3
    assert tg["doubling_time_days"] == pytest.approx(math.log(2) / slope, rel=1e-9)
    json.dumps(doc, allow_nan=False)


@needs_response
def test_no_response_section_without_assessments(examples_dir: Any) -> None:
    assert "response" not in assess_case(load_case(examples_dir / "case_ras.yaml")).to_dict()


@needs_dosimetry
def test_dosimetry_plan_feeds_the_go_rule(examples_dir: Any) -> None:
    """The decision uses the engine's lesion Gy/GBq and its most restrictive safety limit as the MTA."""
    from redif.dosimetry.plan_input import DosimetryPlanInput
    from redif.dosimetry.prescription import ConstraintKind, plan

    case = load_case(examples_dir / "case_braf_dosimetry.yaml")
    assert case.dosimetry is not None and case.dosimetry.plan is not None
    ref = plan(DosimetryPlanInput.model_validate(case.dosimetry.plan))
    mta = min(c.activity_gbq for c in ref.constraints if c.kind is ConstraintKind.MAXIMUM)
    doc = assess_case(case).to_dict()
    d = doc["decision"]
    assert d["rule"] == "lesion_dose_threshold"
    assert d["max_tolerable_activity_gbq"] == pytest.approx(mta)
    by_id = {x["lesion_id"]: x for x in d["lesion_doses"]}
    for les in ref.lesions:
        gy = les.dose.dose_per_activity_gy_per_gbq * mta
        assert by_id[les.name]["dose_at_mta_gy"] == pytest.approx(gy)
    assert d["go"] is any(x["dose_at_mta_gy"] >= 20 for x in by_id.values())
    assert doc["dosimetry"]["plan"]["recommended_activity_gbq"] == pytest.approx(ref.recommended_activity_gbq)


@needs_dosimetry
def test_dosimetry_plan_validation(make_case: Any) -> None:
    data = make_case(
        dosimetry={"plan": {"weight_kg": -1, "lesions": [{"name": "L9", "volume_ml": 2, "tia_h": 1}]}}
    )
    with pytest.raises(CaseValidationError) as info:
        parse_case(data)
    assert any(p.startswith("dosimetry.plan.weight_kg:") for p in info.value.problems)
    data = make_case(
        dosimetry={"plan": {"weight_kg": 70, "lesions": [{"name": "L9", "volume_ml": 2, "tia_h": 1}]}}
    )
    with pytest.raises(CaseValidationError) as info:
        parse_case(data)
    assert info.value.problems == [
        "dosimetry.plan.lesions[0].name: 'L9' is not a lesion id of the case; use one of L1"
    ]
