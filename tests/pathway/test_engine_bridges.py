"""The pathway composing the dosimetry and response engines (skipped until those engines are installed).

Expected values:
- RECIST 1.1 (docs/methods/response.md): PR = >= 30% decrease of the sum of diameters from baseline. BRAF
  example:
  baseline 18 + 12 + 16 = 46 mm; 6 months 12 + 9 + 11 = 32 mm: (32 - 46) / 46 = -30.43% -> PR; 9 months
  29 mm -> PR; the two PRs are 94 days apart (>= 4 weeks) -> confirmed PR.
- Tg doubling time (docs/methods/response.md, Miyauchi 2011): least squares of ln(Tg) on time; DT = ln 2
  / slope,
  recomputed here with statistics.linear_regression.
- Ho 2013 (docs/methods/dosimetry.md): go when a lesion's Gy/GBq x maximum tolerable activity >= 20 Gy.
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


def test_no_response_section_without_assessments(examples_dir: Any) -> None:
    assert "response" not in assess_case(load_case(examples_dir / "case_ras.yaml")).to_dict()


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


def test_dosimetry_engine_error_names_the_case_field(make_case: Any, redif: Any, tmp_path: Any) -> None:
    """An engine-level error (blood data without whole-body data) is reported with its case-file path."""
    import yaml

    data = make_case(
        dosimetry={
            "plan": {
                "weight_kg": 70,
                "blood": {"tia_h_per_ml": 0.002},
                "lesions": [{"name": "L1", "volume_ml": 2, "tia_h": 0.05}],
            }
        }
    )
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data))
    out = redif("patient", "assess", str(path), "--json")
    assert out.returncode == 2
    assert out.stderr.startswith("error: dosimetry.plan.whole_body:")


def _response_case(make_case: Any, follow: dict[str, Any], labs: list[dict[str, Any]] | None = None) -> Any:
    data = make_case(
        lesions=[
            {"id": "L1", "site": "lung", "organ": "lung", "size_mm": 20, "detected_by": ["ct"]},
            {"id": "B1", "site": "T8", "organ": "bone", "detected_by": ["mri"]},
        ],
        response_assessments=[
            {"date": "2024-01-10", "target_mm": {"L1": 20}, "non_target": {"B1": "present"}},
            {"date": "2024-07-10", **follow},
        ],
        labs=labs or [],
    )
    return assess_case(parse_case(data)).to_dict()["response"]


@pytest.mark.parametrize(
    ("follow", "expected"),
    [
        # RECIST 1.1 Table 1: a new lesion is PD whatever the targets do
        ({"target_mm": {"L1": 10}, "non_target": {"B1": "present"}, "new_lesions": True}, "PD"),
        # unequivocal non-target progression is PD
        ({"target_mm": {"L1": 20}, "non_target": {"B1": "progression"}}, "PD"),
        # 20 -> 14 mm = -30%: PR (targets), non-target present -> PR overall
        ({"target_mm": {"L1": 14}, "non_target": {"B1": "present"}}, "PR"),
        # 20 -> 15 mm = -25%: SD
        ({"target_mm": {"L1": 15}, "non_target": {"B1": "present"}}, "SD"),
    ],
)
def test_recist_time_point_rules(make_case: Any, follow: dict[str, Any], expected: str) -> None:
    resp = _response_case(make_case, follow)
    assert [t["response"] for t in resp["time_points"]] == [expected]


def test_tg_antibody_flag_passes_through(make_case: Any) -> None:
    """docs/methods/response.md: Tg is uninterpretable when TgAb are present; the engine's flag reaches
    the report."""
    labs = [
        {"date": d, "tg_ng_ml": v, "tgab_positive": True, "tsh_state": "suppressed"}
        for d, v in (("2023-01-01", 2.0), ("2023-04-01", 3.0), ("2023-07-01", 4.5))
    ]
    resp = _response_case(make_case, {"target_mm": {"L1": 20}, "non_target": {"B1": "present"}}, labs)
    tg = resp["thyroglobulin"]
    assert isinstance(tg, dict) and tg["flags"]
    assert any("tgab" in f.lower() or "antibod" in f.lower() for f in tg["flags"])


def test_schema_embeds_plan_input() -> None:
    from redif.pathway.case import case_json_schema

    s = case_json_schema()
    assert "DosimetryPlanInput" in s["$defs"]
    assert s["$defs"]["DosimetrySection"]["properties"]["plan"]["anyOf"][0] == {
        "$ref": "#/$defs/DosimetryPlanInput"
    }
