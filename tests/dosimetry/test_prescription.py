"""Prescription: which constraint binds, per-option lesion doses, schema errors.

Expected activities are closed forms of the engine's own inputs: A_lesion = D_target / (ã·S·3600);
MTA = 2 Gy / (c_β·ã_blood + c_γ/W^(2/3)·ã_WB); A_retention = L / r48 (docs/methods/dosimetry.md).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from redif import DISCLAIMER
from redif.dosimetry.blood import blood_dose_per_activity
from redif.dosimetry.prescription import DosimetryPlanInput, plan, plan_from_mapping
from redif.dosimetry.spheres import sphere_s_value
from redif.errors import InputError

ROOT = Path(__file__).resolve().parents[2]


def _case(**over: Any) -> dict[str, Any]:
    case: dict[str, Any] = {
        "weight_kg": 70,
        "whole_body": {"tia_h": 20.0, "retention_fraction_48h": 0.2},
        "blood": {"tia_h_per_ml": 0.002},
        "lesions": [{"name": "a", "mass_g": 2.0, "tia_h": 0.5}, {"name": "b", "mass_g": 5.0, "tia_h": 0.2}],
    }
    case.update(over)
    return case


def _ldpa(m: float, tia: float) -> float:
    return tia * sphere_s_value(m).s_mgy_per_mbq_s * 3600.0


def test_lesion_target_binds_when_within_limits() -> None:
    res = plan_from_mapping(_case())
    need = max(20 / _ldpa(2.0, 0.5), 20 / _ldpa(5.0, 0.2))
    assert res.recommended_activity_gbq == pytest.approx(need)
    assert res.binding_constraint == "lesion target: b"
    assert res.treat_by_lesion_threshold is True
    binding = [c for c in res.constraints if c.binding]
    assert len(binding) == 1 and binding[0].source.startswith("Ho AL")
    assert res.disclaimer == DISCLAIMER


def test_options_give_lesion_doses() -> None:
    res = plan_from_mapping(_case())
    emp = next(o for o in res.options if o.name == "empiric")
    assert emp.activity_gbq == pytest.approx(5.5)
    by = {d.name: d for d in emp.lesion_doses}
    assert by["a"].dose_gy == pytest.approx(5.5 * _ldpa(2.0, 0.5))
    assert by["b"].dose_gy == pytest.approx(5.5 * _ldpa(5.0, 0.2))
    dos = next(o for o in res.options if o.name == "dosimetric")
    assert {d.name: d.reaches_target for d in dos.lesion_doses} == {"a": True, "b": True}
    mta = blood_dose_per_activity(weight_kg=70, wholebody_tia_h=20.0, blood_tia_h_per_ml=0.002).mta_gbq
    assert emp.blood_dose_gy == pytest.approx(5.5 * 2.0 / mta)
    assert emp.retention_48h_gbq == pytest.approx(5.5 * 0.2)


def test_blood_limit_binds() -> None:
    """Lesion b needs far more than the MTA: the blood limit binds, lesion a still reaches 20 Gy."""
    res = plan_from_mapping(
        _case(
            lesions=[{"name": "a", "mass_g": 2.0, "tia_h": 0.5}, {"name": "b", "mass_g": 50.0, "tia_h": 0.05}]
        )
    )
    mta = blood_dose_per_activity(weight_kg=70, wholebody_tia_h=20.0, blood_tia_h_per_ml=0.002).mta_gbq
    assert res.recommended_activity_gbq == pytest.approx(mta)
    assert res.binding_constraint == "blood dose limit"
    assert res.treat_by_lesion_threshold is True
    assert "safety limit binds" in res.reason


def test_retention_limit_binds_with_lung_metastases() -> None:
    """r48 = 0.8 -> 3.0/0.8 = 3.75 GBq with diffuse lung metastases, below the MTA."""
    res = plan_from_mapping(
        _case(
            lung_metastases=True,
            whole_body={"tia_h": 20.0, "retention_fraction_48h": 0.8},
            lesions=[{"name": "b", "mass_g": 50.0, "tia_h": 0.05}],
        )
    )
    assert res.recommended_activity_gbq == pytest.approx(3.0 / 0.8)
    assert res.binding_constraint == "48-h whole-body retention limit"


def test_no_lesion_reaches_target() -> None:
    res = plan_from_mapping(_case(lesions=[{"name": "b", "mass_g": 500.0, "tia_h": 0.01}]))
    assert res.treat_by_lesion_threshold is False
    assert any("no lesion is predicted" in w for w in res.warnings)


def test_any_rule_uses_the_easiest_lesion() -> None:
    res = plan_from_mapping(_case(target_rule="any"))
    assert res.recommended_activity_gbq == pytest.approx(20 / _ldpa(2.0, 0.5))


def test_missing_safety_data_warns() -> None:
    res = plan_from_mapping({"weight_kg": 70, "lesions": [{"name": "a", "mass_g": 2.0, "tia_h": 0.5}]})
    assert res.recommended_activity_gbq == pytest.approx(20 / _ldpa(2.0, 0.5))
    assert any("blood dose limit not evaluated" in w for w in res.warnings)
    assert any("not capped" in w for w in res.warnings)


def test_example_file_plans_with_cis() -> None:
    data = yaml.safe_load((ROOT / "examples" / "dosimetry_plan.yaml").read_text(encoding="utf-8"))
    res = plan(DosimetryPlanInput.from_mapping(data))
    assert res.recommended_activity_gbq is not None
    for opt in res.options:
        for d in opt.lesion_doses:
            assert d.ci_lower_gy is not None and d.ci_lower_gy < d.dose_gy < (d.ci_upper_gy or 0)
    assert all(les.recovery_coefficient is not None for les in res.lesions)
    out = res.to_dict()
    assert {"recommended_activity_gbq", "binding_constraint", "options", "constraints", "disclaimer"} <= set(
        out
    )


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda c: c.pop("weight_kg"), "weight_kg"),
        (lambda c: c.update(weight_kg=-3), "weight_kg"),
        (lambda c: c["lesions"][0].update(volume_ml=2.0), "lesions.0"),
        (lambda c: c["lesions"][1].pop("tia_h"), "lesions.1"),
        (lambda c: c.update(colour="red"), "colour"),
        (lambda c: c["lesions"].append({"name": "a", "mass_g": 1.0, "tia_h": 0.1}), "dosimetry"),
        (lambda c: c["lesions"][0].update(mass_g=5000.0), "lesions.0.mass_g"),
    ],
)
def test_schema_errors_name_the_field(mutate: Any, field: str) -> None:
    case = _case()
    mutate(case)
    with pytest.raises(InputError) as info:
        plan_from_mapping(case, prefix="dosimetry")
    assert info.value.field is not None and field in info.value.field
    assert info.value.field.startswith("dosimetry")


def test_measurement_errors_name_the_lesion() -> None:
    case = _case(
        lesions=[
            {
                "name": "a",
                "mass_g": 2.0,
                "measurements": {
                    "decay_corrected": False,
                    "times_h": [4, 24, 12],
                    "values": [0.01, 0.008, 0.006],
                },
            }
        ]
    )
    with pytest.raises(InputError) as info:
        plan_from_mapping(case)
    assert info.value.field == "lesions.0.measurements.times_h"


def test_decay_correction_flag_is_required() -> None:
    case = _case(
        lesions=[
            {
                "name": "a",
                "mass_g": 2.0,
                "measurements": {"times_h": [4, 24, 48], "values": [0.01, 0.008, 0.006]},
            }
        ]
    )
    with pytest.raises(InputError) as info:
        plan_from_mapping(case)
    assert info.value.field == "lesions.0.measurements.decay_corrected"


def test_single_whole_body_measurement_gives_retention_limit(lam131: float) -> None:
    """One whole-body 131I measurement at 48 h (fraction 0.25, not decay-corrected): Hänscheid's curve passes
    through it, so r48 = 0.25 and the retention limit is 4.44/0.25 = 17.76 GBq."""
    case = _case(
        whole_body={
            "measurements": {"nuclide": "I-131", "decay_corrected": False, "times_h": [48], "values": [0.25]}
        }
    )
    res = plan_from_mapping(case)
    ret = next(c for c in res.constraints if c.name == "48-h whole-body retention limit")
    assert ret.activity_gbq == pytest.approx(4.44 / 0.25)
    assert res.whole_body is not None
    assert res.whole_body["tia_h"] == pytest.approx(0.25 * 96 / math.log(2))


def test_supplied_dose_per_activity_lesion() -> None:
    """A lesion with a supplied mean Gy/GBq (voxel dosimetry): A = 20/12.5 = 1.6 GBq, no S-value used."""
    res = plan_from_mapping(_case(lesions=[{"name": "v", "dose_per_activity_gy_per_gbq": 12.5}]))
    assert res.recommended_activity_gbq == pytest.approx(1.6)
    les = res.lesions[0]
    assert les.dose.s_value is None and les.mass_g is None
    assert "voxel" in res.constraints[0].rule
    emp = next(o for o in res.options if o.name == "empiric")
    assert emp.lesion_doses[0].dose_gy == pytest.approx(12.5 * 5.5)


def test_merge_voxel_summary() -> None:
    from redif.dosimetry.prescription import merge_voxel_summary

    summary = {
        "lesions": [
            {"name": "n1", "mass_g": 7.5, "mean_gy_per_gbq": 10.0},
            {"name": "n2", "mass_g": 1.8, "mean_gy_per_gbq": 4.0},
        ]
    }
    merged = merge_voxel_summary({"weight_kg": 70}, summary)
    assert [les["name"] for les in merged["lesions"]] == ["n1", "n2"]
    res = plan_from_mapping(merged)
    assert res.recommended_activity_gbq == pytest.approx(20 / 4.0)
    with pytest.raises(InputError, match="both in the case"):
        merge_voxel_summary(_case(lesions=[{"name": "n1", "mass_g": 2.0, "tia_h": 0.5}]), summary)
    with pytest.raises(InputError, match="voxel_json"):
        merge_voxel_summary({"weight_kg": 70}, {"lesions": [{"name": "x"}]})
    with pytest.raises(InputError, match="voxel_json"):
        merge_voxel_summary({"weight_kg": 70}, {"cases": []})


@settings(max_examples=40, deadline=None)
@given(
    ldpas=st.lists(st.floats(0.5, 60.0), min_size=1, max_size=4),
    blood_tia=st.floats(0.0005, 0.01),
    r48=st.floats(0.05, 0.9),
    lung=st.booleans(),
    rule=st.sampled_from(["all", "any"]),
)
def test_plan_invariants(ldpas: list[float], blood_tia: float, r48: float, lung: bool, rule: str) -> None:
    """Properties: the recommendation never exceeds the most restrictive safety limit; below it, the
    lesion targets are met (every lesion for `all`, at least one for `any`); exactly one constraint binds."""
    case = _case(
        lesions=[{"name": f"l{i}", "dose_per_activity_gy_per_gbq": v} for i, v in enumerate(ldpas)],
        blood={"tia_h_per_ml": blood_tia},
        whole_body={"tia_h": 20.0, "retention_fraction_48h": r48},
        lung_metastases=lung,
        target_rule=rule,
    )
    res = plan_from_mapping(case)
    assert res.recommended_activity_gbq is not None
    safety = min(c.activity_gbq for c in res.constraints if c.kind.value == "maximum")
    assert res.recommended_activity_gbq <= safety * (1 + 1e-12)
    assert sum(c.binding for c in res.constraints) == 1
    reached = [v * res.recommended_activity_gbq >= 20 * (1 - 1e-9) for v in ldpas]
    if res.recommended_activity_gbq < safety * (1 - 1e-12):
        assert all(reached) if rule == "all" else any(reached)
