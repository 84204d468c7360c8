"""Dosimetry-guided 131I activity prescription.

Combines lesion-dose targets (minimum activities: lesion dose ≥ 20 Gy, Ho 2013) with safety limits
(maximum activities: blood ≤ 2 Gy, EANM SOP; 48-h whole-body retention ≤ 4.44 GBq, 3.0 GBq with diffuse
lung metastases, Benua 1962) into a recommended activity, shows which constraint binds and why, and
puts the empiric alternative (5.5 GBq, MERAIODE / SEL-I-METRY) beside it with the lesion doses each
option would give (with Monte Carlo confidence intervals when the kinetics were measured).

Rule: recommended = the activity that meets the lesion targets (``all``: the largest per-lesion
activity; ``any``: the smallest) if it is within every safety limit; otherwise the most restrictive
safety limit, with the lesions that still reach their target listed. Decision support only
(:data:`redif.DISCLAIMER`).

References
----------
Ho AL et al. N Engl J Med 2013;368:623-632 (PMID 23406027).
Lassmann M et al. Eur J Nucl Med Mol Imaging 2008 (PMID 18491092), EANM SOP.
Benua RS et al. AJR 1962;87:171-182, restated in PMC5724631.
Jentzen W et al. 2008 (lesion dose per activity classes).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from redif import DISCLAIMER
from redif.data import sourced_value
from redif.dosimetry.blood import blood_dose_per_activity, retention_limited_activity
from redif.dosimetry.conversion import RecoveryCurve
from redif.dosimetry.kinetics import KineticFit, TimeActivity, fit_kinetics
from redif.dosimetry.lesion import LesionDose, lesion_dose, lesion_dose_from_dose_per_activity, lesion_mass_g
from redif.dosimetry.nuclides import THERAPY_NUCLIDE
from redif.dosimetry.plan_input import (
    DosimetryPlanInput,
    LesionInput,
    MeasurementsInput,
    TargetRule,
)
from redif.dosimetry.single_time_point import single_time_point_fit
from redif.dosimetry.uncertainty import monte_carlo_tia
from redif.errors import InputError

__all__ = [
    "Constraint",
    "ConstraintKind",
    "DosimetryPlanInput",
    "LesionPlan",
    "Option",
    "PlanResult",
    "merge_voxel_summary",
    "plan",
    "plan_from_mapping",
]

_FILE = "dosimetry_thresholds.yaml"
_THERAPY = THERAPY_NUCLIDE
FloatArray = NDArray[np.float64]


class ConstraintKind(enum.StrEnum):
    """A lesion target sets a minimum activity; a safety limit a maximum."""

    MINIMUM = "minimum"
    MAXIMUM = "maximum"


@dataclass(frozen=True)
class Constraint:
    """One constraint on the 131I activity with its rule and source."""

    name: str
    kind: ConstraintKind
    activity_gbq: float
    rule: str
    source: str
    grade: str
    binding: bool = False
    ci_lower_gbq: float | None = None
    ci_upper_gbq: float | None = None


@dataclass(frozen=True)
class LesionPlan:
    """Dosimetry of one lesion."""

    name: str
    mass_g: float | None
    tia_h: float | None
    target_gy: float
    dose: LesionDose
    fit: KineticFit | None
    recovery_coefficient: float | None
    tia_samples_h: FloatArray | None = field(default=None, repr=False)

    def ldpa_samples(self) -> FloatArray | None:
        """Monte Carlo samples of the dose per activity (Gy/GBq), when the kinetics were measured."""
        if self.tia_samples_h is None or self.dose.s_mgy_per_mbq_s is None:
            return None
        return np.asarray(self.tia_samples_h * self.dose.s_mgy_per_mbq_s * 3600.0)

    def to_dict(self) -> dict[str, Any]:
        d = self.dose.to_dict()
        d.update(
            {
                "name": self.name,
                "target_gy": self.target_gy,
                "recovery_coefficient": self.recovery_coefficient,
                "kinetics": None if self.fit is None else self.fit.to_dict(),
            }
        )
        return d


@dataclass(frozen=True)
class LesionOutcome:
    """Dose one lesion would receive under one option."""

    name: str
    dose_gy: float
    ci_lower_gy: float | None
    ci_upper_gy: float | None
    reaches_target: bool


@dataclass(frozen=True)
class Option:
    """An activity option and what it gives."""

    name: str
    activity_gbq: float
    lesion_doses: tuple[LesionOutcome, ...]
    blood_dose_gy: float | None
    retention_48h_gbq: float | None
    within_safety_limits: bool | None
    rule: str


@dataclass(frozen=True)
class PlanResult:
    """Recommended activity, binding constraint, constraints and options."""

    recommended_activity_gbq: float | None
    binding_constraint: str | None
    reason: str
    treat_by_lesion_threshold: bool | None
    constraints: tuple[Constraint, ...]
    options: tuple[Option, ...]
    lesions: tuple[LesionPlan, ...]
    blood: dict[str, Any] | None
    whole_body: dict[str, Any] | None
    warnings: tuple[str, ...]
    disclaimer: str = DISCLAIMER

    def to_dict(self) -> dict[str, Any]:
        return {
            "recommended_activity_gbq": self.recommended_activity_gbq,
            "binding_constraint": self.binding_constraint,
            "reason": self.reason,
            "treat_by_lesion_threshold": self.treat_by_lesion_threshold,
            "constraints": [c.__dict__ for c in self.constraints],
            "options": [
                {
                    **{k: v for k, v in o.__dict__.items() if k != "lesion_doses"},
                    "lesion_doses": [ld.__dict__ for ld in o.lesion_doses],
                }
                for o in self.options
            ],
            "lesions": [les.to_dict() for les in self.lesions],
            "blood": self.blood,
            "whole_body": self.whole_body,
            "warnings": list(self.warnings),
            "disclaimer": self.disclaimer,
        }


def _fit(meas: MeasurementsInput, field_name: str) -> KineticFit:
    try:
        data = TimeActivity.create(
            meas.times_h, meas.values, decay_corrected=meas.decay_corrected, nuclide=meas.nuclide
        )
        if len(meas.times_h) == 1:
            return single_time_point_fit(
                data, meas.single_time_point_method, effective_half_life_h=meas.effective_half_life_h
            )
        return fit_kinetics(data, meas.model, weighting=meas.weighting)
    except InputError as exc:
        raise InputError(
            exc.message,
            field=f"{field_name}.{exc.field or 'measurements'}",
            value=exc.value,
            remedy=exc.remedy,
        ) from None


def _samples(fit: KineticFit, inp: DosimetryPlanInput) -> FloatArray | None:
    mc = inp.monte_carlo
    if mc.n_samples == 0:
        return None
    unc = monte_carlo_tia(
        fit,
        n_samples=mc.n_samples,
        seed=mc.seed,
        measurement_cv=mc.measurement_cv,
        nuclide=_THERAPY,
        ci_level=mc.ci_level,
    )
    return unc.samples_h if unc.n_samples else None


def _lesion(
    les: LesionInput, i: int, inp: DosimetryPlanInput, target_default: float, rc_curve: RecoveryCurve | None
) -> LesionPlan:
    where = f"lesions.{i}"
    target = les.target_gy if les.target_gy is not None else target_default
    if les.dose_per_activity_gy_per_gbq is not None:
        mass_opt = les.mass_g
        if mass_opt is None and les.volume_ml is not None:
            mass_opt = lesion_mass_g(les.volume_ml, les.density_g_per_ml)
        dose = lesion_dose_from_dose_per_activity(
            dose_per_activity_gy_per_gbq=les.dose_per_activity_gy_per_gbq, mass_g=mass_opt, target_gy=target
        )
        return LesionPlan(les.name, mass_opt, None, target, dose, None, None, None)
    mass = les.mass_g if les.mass_g is not None else lesion_mass_g(les.volume_ml or 0.0, les.density_g_per_ml)
    fit = None
    rc = None
    samples = None
    if les.measurements is not None:
        meas = les.measurements
        if rc_curve is not None and les.partial_volume_correction:
            vol = les.volume_ml if les.volume_ml is not None else mass / (les.density_g_per_ml or 1.04)
            try:
                rc = rc_curve.rc(vol)
            except InputError as exc:
                raise InputError(
                    exc.message, field=f"{where}.volume_ml", value=vol, remedy=exc.remedy
                ) from None
            meas = meas.model_copy(update={"values": [v / rc for v in meas.values]})
        fit = _fit(meas, f"{where}.measurements")
        tia = fit.tia_for(_THERAPY)
        samples = _samples(fit, inp)
    else:
        tia = float(les.tia_h or 0.0)
    try:
        dose = lesion_dose(
            mass_g=mass, tia_h=tia, target_gy=target, tia_samples_h=samples, ci_level=inp.monte_carlo.ci_level
        )
    except InputError as exc:
        raise InputError(
            exc.message, field=f"{where}.{exc.field}", value=exc.value, remedy=exc.remedy
        ) from None
    return LesionPlan(les.name, mass, tia, target, dose, fit, rc, samples)


def _ci(values: FloatArray | None, level: float) -> tuple[float | None, float | None]:
    if values is None or values.size == 0:
        return None, None
    a = (1 - level) / 2
    lo, hi = np.quantile(values, [a, 1 - a])
    return float(lo), float(hi)


def plan(inp: DosimetryPlanInput) -> PlanResult:
    """Recommend a 131I activity from lesion targets and blood / whole-body safety limits.

    See the module docstring for the rule. Every constraint carries its rule, source and grade.
    """
    target_sv = sourced_value(_FILE, "lesion_target_dose")
    target_default = inp.target_gy if inp.target_gy is not None else float(target_sv.value)
    emp_sv = sourced_value(_FILE, "empiric_activity")
    empiric = inp.empiric_activity_gbq if inp.empiric_activity_gbq is not None else float(emp_sv.value)
    level = inp.monte_carlo.ci_level
    warnings: list[str] = []
    rc_curve = None
    if inp.recovery_curve is not None:
        try:
            rc_curve = RecoveryCurve(tuple(inp.recovery_curve.volumes_ml), tuple(inp.recovery_curve.recovery))
        except InputError as exc:
            raise InputError(exc.message, field=exc.field, value=exc.value, remedy=exc.remedy) from None

    lesions = tuple(_lesion(les, i, inp, target_default, rc_curve) for i, les in enumerate(inp.lesions))
    constraints: list[Constraint] = []

    # --- lesion minimum activities -------------------------------------------------------------
    for les in lesions:
        a = les.dose.activity_for_target_gbq
        lo = hi = None
        ldpa = les.ldpa_samples()
        if ldpa is not None:
            with np.errstate(divide="ignore"):
                lo, hi = _ci(les.target_gy / ldpa[ldpa > 0], level)
        constraints.append(
            Constraint(
                name=f"lesion target: {les.name}",
                kind=ConstraintKind.MINIMUM,
                activity_gbq=math.inf if a is None else a,
                rule=f"lesion dose >= {les.target_gy:g} Gy: A = {les.target_gy:g} Gy / "
                f"{les.dose.dose_per_activity_gy_per_gbq:.4g} Gy/GBq ({les.dose.method})",
                source=target_sv.source,
                grade=target_sv.grade.value,
                ci_lower_gbq=lo,
                ci_upper_gbq=hi,
            )
        )

    # --- blood limit -------------------------------------------------------------------------------
    wb_tia: float | None = None
    wb_fit: KineticFit | None = None
    wb_samples = None
    wb_info: dict[str, Any] | None = None
    if inp.whole_body is not None:
        if inp.whole_body.measurements is not None:
            wb_fit = _fit(inp.whole_body.measurements, "whole_body.measurements")
            wb_tia = wb_fit.tia_for(_THERAPY)
            wb_samples = _samples(wb_fit, inp)
        else:
            wb_tia = float(inp.whole_body.tia_h or 0.0)
        wb_info = {"tia_h": wb_tia, "kinetics": None if wb_fit is None else wb_fit.to_dict()}
    blood_info: dict[str, Any] | None = None
    blood_fit: KineticFit | None = None
    d_blood_per_a: float | None = None
    if inp.blood is not None:
        if wb_tia is None:
            raise InputError(
                "the blood dose needs the whole-body TIA too",
                field="whole_body",
                remedy="add whole_body.tia_h or whole_body.measurements",
            )
        b_fit = None
        b_samples = None
        if inp.blood.measurements is not None:
            b_fit = blood_fit = _fit(inp.blood.measurements, "blood.measurements")
            b_tia = b_fit.tia_for(_THERAPY)
            b_samples = _samples(b_fit, inp)
        else:
            b_tia = float(inp.blood.tia_h_per_ml or 0.0)
        bd = blood_dose_per_activity(
            weight_kg=inp.weight_kg,
            wholebody_tia_h=wb_tia,
            blood_tia_h_per_ml=b_tia,
            limit_gy=inp.blood_limit_gy,
        )
        d_blood_per_a = bd.dose_per_activity_gy_per_gbq
        lo = hi = None
        if b_samples is not None or wb_samples is not None:
            n = min(x.size for x in (b_samples, wb_samples) if x is not None)
            bs = b_samples[:n] if b_samples is not None else np.full(n, b_tia)
            ws = wb_samples[:n] if wb_samples is not None else np.full(n, wb_tia)
            cb = float(bd.constants[0].value)
            cg = float(bd.constants[1].value)
            dpa = cb * bs + cg / inp.weight_kg ** (2 / 3) * ws
            lo, hi = _ci(bd.limit_gy / dpa[dpa > 0], level)
        blood_info = {
            **bd.to_dict(),
            "blood_tia_h_per_ml": b_tia,
            "kinetics": None if b_fit is None else b_fit.to_dict(),
        }
        lim_sv = sourced_value(_FILE, "blood_dose_limit")
        constraints.append(
            Constraint(
                name="blood dose limit",
                kind=ConstraintKind.MAXIMUM,
                activity_gbq=bd.mta_gbq,
                rule=bd.rule,
                source=lim_sv.source,
                grade=f"limit {lim_sv.grade.value}; formula constants {bd.constants[0].grade.value}",
                ci_lower_gbq=lo,
                ci_upper_gbq=hi,
            )
        )
    else:
        warnings.append(
            "blood dose limit not evaluated: no blood data (EANM SOP needs blood and whole-body TIAs)"
        )

    # --- 48-h whole-body retention -----------------------------------------------------------------
    r48: float | None = None
    if inp.whole_body is not None:
        if inp.whole_body.retention_fraction_48h is not None:
            r48 = inp.whole_body.retention_fraction_48h
        elif wb_fit is not None:
            r48 = float(wb_fit.predict([48.0], _THERAPY)[0])
    if r48 is not None and r48 > 0:
        rl = retention_limited_activity(min(r48, 1.0), lung_metastases=inp.lung_metastases)
        constraints.append(
            Constraint(
                name="48-h whole-body retention limit",
                kind=ConstraintKind.MAXIMUM,
                activity_gbq=rl.activity_gbq,
                rule=rl.rule,
                source=rl.constants[0].source,
                grade=rl.constants[0].grade.value,
            )
        )
        if wb_info is not None:
            wb_info["retention_fraction_48h"] = r48
    else:
        warnings.append(
            "48-h whole-body retention limit not evaluated: no whole-body kinetics or 48-h retention given"
        )

    # --- combine -----------------------------------------------------------------------------------
    mins = [c for c in constraints if c.kind is ConstraintKind.MINIMUM]
    maxs = [c for c in constraints if c.kind is ConstraintKind.MAXIMUM]
    safety_max = min((c.activity_gbq for c in maxs), default=None)
    limiting_max = min(maxs, key=lambda c: c.activity_gbq) if maxs else None
    required = None
    req_c = None
    if mins:
        pick = max if inp.target_rule is TargetRule.ALL else min
        req_c = pick(mins, key=lambda c: c.activity_gbq)
        required = req_c.activity_gbq
    recommended: float | None
    binding: str | None
    treat: bool | None = None
    if required is not None and math.isfinite(required):
        if safety_max is None or required <= safety_max:
            recommended, binding = required, req_c.name if req_c else None
            reason = (
                f"the lesion target ({inp.target_rule.value} lesions) needs {required:.3g} GBq, within "
                + (
                    "every evaluated safety limit"
                    if safety_max is not None
                    else "the targets (no safety limit evaluated)"
                )
            )
            if safety_max is None:
                warnings.append("no safety limit evaluated: the recommendation is not capped")
        else:
            assert limiting_max is not None
            recommended, binding = safety_max, limiting_max.name
            reason = (
                f"the lesion target needs {required:.3g} GBq, above the {limiting_max.name} "
                f"({safety_max:.3g} GBq): the safety limit binds"
            )
        treat = True if safety_max is None else any(c.activity_gbq <= safety_max for c in mins)
    elif safety_max is not None and limiting_max is not None:
        recommended, binding = safety_max, limiting_max.name
        reason = (
            "no lesion target evaluated: maximum safe activity given by the most restrictive safety limit"
        )
    else:
        recommended, binding = None, None
        reason = "no constraint could be evaluated: give lesions and/or blood and whole-body data"
    if treat is False:
        warnings.append(
            f"no lesion is predicted to reach its target within the safety limits "
            f"(Ho 2013 treated only if >= {target_default:g} Gy was predicted)"
        )
    constraints = [Constraint(**{**c.__dict__, "binding": c.name == binding}) for c in constraints]

    # --- options -------------------------------------------------------------------------------------
    def option(name: str, act: float, rule: str) -> Option:
        outs = []
        for les in lesions:
            smp = les.ldpa_samples()
            lo, hi = _ci(None if smp is None else smp * act, level)
            d = les.dose.dose_gy(act)
            outs.append(LesionOutcome(les.name, d, lo, hi, d >= les.target_gy * (1 - 1e-9)))
        within = None if safety_max is None else act <= safety_max * (1 + 1e-9)
        return Option(
            name,
            act,
            tuple(outs),
            None if d_blood_per_a is None else d_blood_per_a * act,
            None if r48 is None else r48 * act,
            within,
            rule,
        )

    options = []
    if recommended is not None:
        options.append(option("dosimetric", recommended, f"binding constraint: {binding}"))
    options.append(option("empiric", empiric, f"fixed activity ({emp_sv.source}; {emp_sv.grade.value})"))
    if safety_max is not None and (recommended is None or abs(safety_max - recommended) > 1e-9):
        options.append(
            option(
                "maximum safe",
                safety_max,
                f"most restrictive safety limit: {limiting_max.name if limiting_max else ''}",
            )
        )
    fits = [(f"lesion {les.name}", les.fit) for les in lesions]
    fits += [("whole body", wb_fit), ("blood", blood_fit)]
    for region, fit in fits:
        if fit is not None:
            warnings.extend(f"{region}: {note}" for note in fit.notes)
    for les in lesions:
        if les.fit is not None and les.fit.model.value != "trapezoid" and les.tia_samples_h is None:
            warnings.append(
                f"lesion {les.name}: no confidence interval (no residual degrees of freedom); "
                "set monte_carlo.measurement_cv"
            )
    return PlanResult(
        recommended,
        binding,
        reason,
        treat,
        tuple(constraints),
        tuple(options),
        lesions,
        blood_info,
        wb_info,
        tuple(warnings),
    )


def plan_from_mapping(data: Mapping[str, Any], *, prefix: str = "") -> PlanResult:
    """Validate ``data`` as :class:`DosimetryPlanInput` and :func:`plan` it.

    ``prefix`` (e.g. ``"dosimetry"`` inside a patient case file) is put in front of the field path of
    every :class:`InputError`, from validation or from the engines.
    """
    inp = DosimetryPlanInput.from_mapping(data, prefix=prefix)
    try:
        return plan(inp)
    except InputError as exc:
        if not prefix:
            raise
        raise InputError(
            exc.message,
            field=".".join(p for p in (prefix, exc.field) if p),
            value=exc.value,
            remedy=exc.remedy,
        ) from None


def merge_voxel_summary(case: Mapping[str, Any], summary: Mapping[str, Any]) -> dict[str, Any]:
    """Add the lesions of a ``redif dose voxel --json`` result to a plan case (pure; returns a new mapping).

    Each voxel lesion becomes ``{name, mass_g, dose_per_activity_gy_per_gbq: mean_gy_per_gbq}``: the mean
    lesion dose per GBq of 131I from the voxel pipeline replaces the sphere model for that lesion.

    Raises
    ------
    InputError
        If the summary has no lesions with ``name`` and ``mean_gy_per_gbq``, or a lesion name is already in
        the case (give each lesion once).
    """
    if not isinstance(summary, Mapping) or not isinstance(summary.get("lesions"), list):
        raise InputError(
            "not a voxel-dosimetry result (no 'lesions' list)",
            field="voxel_json",
            remedy="give the JSON output of the voxel dose calculation",
        )
    out = dict(case)
    lesions = list(out.get("lesions") or [])
    names = {les.get("name") for les in lesions if isinstance(les, Mapping)}
    for i, vl in enumerate(summary["lesions"]):
        if not isinstance(vl, Mapping) or "name" not in vl or vl.get("mean_gy_per_gbq") is None:
            raise InputError(
                "voxel lesion without name or mean_gy_per_gbq",
                field=f"voxel_json.lesions.{i}",
                remedy="give the JSON output of the voxel dose calculation",
            )
        name = str(vl["name"])
        if name in names:
            raise InputError(
                "lesion is both in the case and in the voxel result",
                field=f"voxel_json.lesions.{i}",
                value=name,
                remedy="remove it from one of them",
            )
        entry: dict[str, Any] = {"name": name, "dose_per_activity_gy_per_gbq": float(vl["mean_gy_per_gbq"])}
        if vl.get("mass_g") is not None and float(vl["mass_g"]) > 0:
            entry["mass_g"] = float(vl["mass_g"])
        lesions.append(entry)
        names.add(name)
    out["lesions"] = lesions
    return out
