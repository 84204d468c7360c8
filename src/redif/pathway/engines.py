"""Bridges to the dosimetry and response engines.

* ``dosimetry.plan`` of a case is the input model of :mod:`redif.dosimetry.prescription`
  (``DosimetryPlanInput``); lesion ``name`` values are the case's lesion ids. The plan's recommended
  activity, binding constraint and lesion doses are reported, and its most restrictive safety limit (the
  maximum tolerable activity) with each lesion's Gy/GBq feeds the Ho 2013 go / no-go rule.
* ``response_assessments`` go to :mod:`redif.response.recist` (time-point and best overall response; the
  first assessment is the baseline) and ``labs`` to :mod:`redif.response.thyroglobulin` (doubling time).
"""

from __future__ import annotations

import math
from typing import Any

from redif.dosimetry.plan_input import DosimetryPlanInput
from redif.dosimetry.prescription import ConstraintKind, plan
from redif.errors import InputError
from redif.pathway.case import Case, DosimetryResults, LesionDosimetry
from redif.response.lesions import case_from_dict
from redif.response.recist import assess
from redif.response.thyroglobulin import TgMeasurement, TshState, doubling_time

__all__ = ["dosimetry_section", "response_section"]

_DOSIMETRY = "redif.dosimetry.prescription"
_RECIST = "redif.response.recist"
_TG = "redif.response.thyroglobulin"


def _plan(case: Case) -> tuple[dict[str, Any], DosimetryResults | None]:
    assert case.dosimetry is not None and case.dosimetry.plan is not None
    try:
        result = plan(DosimetryPlanInput.model_validate(case.dosimetry.plan))
    except InputError as exc:  # name the field inside the case file
        field = f"dosimetry.plan.{exc.field}" if exc.field else "dosimetry.plan"
        raise InputError(exc.message, field=field, value=exc.value, remedy=exc.remedy) from None
    maxima = [
        c
        for c in result.constraints
        if c.kind is ConstraintKind.MAXIMUM and math.isfinite(c.activity_gbq) and c.activity_gbq > 0
    ]
    section: dict[str, Any] = {
        "engine": f"{_DOSIMETRY}.plan",
        "recommended_activity_gbq": result.recommended_activity_gbq,
        "binding_constraint": result.binding_constraint,
        "reason": result.reason,
        "treat_by_lesion_threshold": result.treat_by_lesion_threshold,
        "constraints": [
            {
                "name": c.name,
                "kind": c.kind.value,
                "activity_gbq": c.activity_gbq if math.isfinite(c.activity_gbq) else None,
                "binding": c.binding,
                "rule": c.rule,
                "source": c.source,
                "grade": c.grade,
            }
            for c in result.constraints
        ],
        "options": [
            {
                "name": o.name,
                "activity_gbq": o.activity_gbq,
                "rule": o.rule,
                "within_safety_limits": o.within_safety_limits,
                "blood_dose_gy": o.blood_dose_gy,
                "lesion_doses": [
                    {
                        "lesion_id": d.name,
                        "dose_gy": d.dose_gy,
                        "ci_lower_gy": d.ci_lower_gy,
                        "ci_upper_gy": d.ci_upper_gy,
                        "reaches_target": d.reaches_target,
                    }
                    for d in o.lesion_doses
                ],
            }
            for o in result.options
        ],
        "warnings": list(result.warnings),
    }
    lesions = [
        LesionDosimetry(
            lesion_id=les.name, dose_per_activity_gy_per_gbq=les.dose.dose_per_activity_gy_per_gbq
        )
        for les in result.lesions
        if les.dose.dose_per_activity_gy_per_gbq > 0
    ]
    if not maxima or not lesions:
        section["decision_input"] = (
            "not available: the plan gives no safety limit (maximum tolerable activity) or no lesion dose"
        )
        return section, None
    limit = min(maxima, key=lambda c: c.activity_gbq)
    results = DosimetryResults(
        method=f"{_DOSIMETRY}.plan",
        max_tolerable_activity_gbq=limit.activity_gbq,
        mta_constraint=limit.name,
        lesions=lesions,
    )
    return section, results


def dosimetry_section(case: Case) -> tuple[dict[str, Any] | None, DosimetryResults | None]:
    """The ``dosimetry`` JSON section and, when the engine planned it, results for the go / no-go rule."""
    if case.dosimetry is None:
        return None, None
    out: dict[str, Any] = {}
    computed: DosimetryResults | None = None
    if case.dosimetry.results is not None:
        out["results"] = case.dosimetry.results.model_dump(mode="json")
        out["results_source"] = "case file (dosimetry.results)"
    if case.dosimetry.plan is not None:
        out["plan"], computed = _plan(case)
    return out, computed


def _recist_input(case: Case) -> dict[str, Any]:
    base, *follow = case.response_assessments
    lesions = []
    for lid in base.target_mm:
        les = case.lesion(lid)
        assert les is not None
        lesions.append({"id": lid, "organ": les.organ, "kind": "target", "is_node": les.lymph_node})
    for lid in base.non_target:
        les = case.lesion(lid)
        assert les is not None
        lesions.append({"id": lid, "organ": les.organ, "kind": "non-target", "is_node": les.lymph_node})

    def tp(a: Any) -> dict[str, Any]:
        return {
            "date": a.date.isoformat(),
            "target_mm": dict(a.target_mm),
            "non_target": {k: v.value for k, v in a.non_target.items()},
            "new_lesions": a.new_lesions,
        }

    data: dict[str, Any] = {
        "subject": case.case_id,
        "lesions": lesions,
        "baseline": tp(base),
        "follow_up": [tp(a) for a in follow],
    }
    data["baseline"].pop("new_lesions")
    rc = case.redifferentiation_course
    if rc is not None and rc.start_date is not None:
        data["treatment_start"] = rc.start_date.isoformat()
    return data


def _tg(case: Case) -> dict[str, Any] | str:
    labs = sorted((lab for lab in case.labs if lab.tg_ng_ml is not None), key=lambda lab: lab.date)
    if not labs:
        return "no thyroglobulin values in labs"
    series = [
        TgMeasurement(
            date=lab.date,
            tg_ng_ml=float(lab.tg_ng_ml or 0.0),
            tgab_positive=lab.tgab_positive,
            tsh_state=None if lab.tsh_state.value == "unknown" else TshState(lab.tsh_state.value),
        )
        for lab in labs
    ]
    try:
        kin = doubling_time(series)
    except InputError as exc:
        return f"not computed: {exc}"
    return {
        "engine": f"{_TG}.doubling_time",
        "n": kin.n,
        "first_date": kin.first_date.isoformat(),
        "last_date": kin.last_date.isoformat(),
        "doubling_time_days": kin.doubling_time_days,
        "doubling_time_years": kin.doubling_time_years,
        "halving_time_days": kin.halving_time_days,
        "doubling_rate_per_year": kin.doubling_rate_per_year,
        "r2": kin.r2,
        "percent_change_from_baseline": kin.percent_change_from_baseline,
        "flags": list(kin.flags),
    }


def response_section(case: Case) -> dict[str, Any] | None:
    """The ``response`` JSON section (RECIST 1.1 and thyroglobulin kinetics) when assessments exist."""
    if not case.response_assessments:
        return None
    out: dict[str, Any] = {
        "engine": f"{_RECIST}.assess",
        "source": "RECIST 1.1, Eisenhauer EA et al., Eur J Cancer 2009;45:228-247",
    }
    try:
        result = assess(case_from_dict(_recist_input(case)))
    except InputError as exc:
        out["status"] = f"not computed: response_assessments: {exc}"
        return out
    doc = result.to_dict()
    out["recist"] = doc
    out["time_points"] = [
        {
            "date": t["date"],
            "response": t.get("overall"),
            "sum_mm": t.get("sum_mm"),
            "change_from_baseline_pct": t.get("change_from_baseline_pct"),
        }
        for t in doc.get("timepoints", [])
    ]
    for key in ("best_overall_response", "best_overall_response_confirmed"):
        bor = doc.get(key)
        out[key] = bor.get("bor") if isinstance(bor, dict) else None
    out["thyroglobulin"] = _tg(case)
    return out
