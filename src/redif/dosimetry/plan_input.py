"""Input schema of a dosimetry-guided 131I prescription (``redif dose plan CASE.yaml``).

The same model is the ``dosimetry`` section of a patient case file. Build it with
:meth:`DosimetryPlanInput.from_mapping` (validation errors become one :class:`~redif.errors.InputError`
naming the field path). Example: ``examples/dosimetry_plan.yaml``.

YAML schema (units in every name)::

    weight_kg: 72                      # required
    lung_metastases: false             # diffuse lung metastases -> 3.0 GBq 48-h retention limit
    target_gy: 20                      # lesion target (default 20 Gy, Ho 2013)
    target_rule: all                   # all: every lesion reaches target; any: at least one
    blood_limit_gy: 2                  # default 2 Gy (EANM SOP)
    empiric_activity_gbq: 5.5          # default 5.5 GBq (MERAIODE / SEL-I-METRY)
    monte_carlo: {n_samples: 1000, seed: 0, measurement_cv: 0.1}
    recovery_curve: {volumes_ml: [0.5, 1, 2.6, 5.6, 11.5, 26.5], recovery: [0.3, ...]}   # optional
    # Every `measurements` block may set `model` (auto/mono/bi/uptake/trapezoid) and `weighting`
    # (uniform/relative). A `measurements` block with ONE time point is a single-time-point estimate
    # (Hänscheid 2018 by default; `single_time_point_method: madsen` with `effective_half_life_h`).
    whole_body:                        # either tia_h (131I residence time, h) ...
      measurements:                    # ... or serial measurements (fractions of administered activity)
        nuclide: I-124
        decay_corrected: false         # required: never guessed
        times_h: [4, 24, 48, 72, 96]
        values: [0.85, 0.45, 0.25, 0.15, 0.09]
    blood:                             # either tia_h_per_ml or measurements (fractions per mL)
      tia_h_per_ml: 0.0021
    lesions:
      - name: "right lung nodule"
        volume_ml: 1.8                 # or mass_g; density_g_per_ml optional (1.04)
        target_gy: 20                  # optional per-lesion target
        measurements: {nuclide: I-124, decay_corrected: false, times_h: [...], values: [...]}
      - name: "mediastinal node"
        mass_g: 3.2
        tia_h: 0.9                     # 131I TIA coefficient, h
      - name: "lesion 3"
        dose_per_activity_gy_per_gbq: 12.5   # e.g. mean Gy/GBq from `redif dose voxel` (no S-value used)
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from redif.errors import InputError

__all__ = [
    "BloodInput",
    "DosimetryPlanInput",
    "LesionInput",
    "MeasurementsInput",
    "MonteCarloInput",
    "RecoveryCurveInput",
    "TargetRule",
    "WholeBodyInput",
]


class TargetRule(enum.StrEnum):
    """How lesion targets combine into a required activity."""

    ALL = "all"  # every lesion reaches its target -> max over lesions
    ANY = "any"  # at least one lesion reaches its target (Ho 2013 go criterion) -> min over lesions


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MeasurementsInput(_Model):
    """Serial measurements of one region (fractions of administered activity; per mL for blood)."""

    nuclide: str = "I-124"
    decay_corrected: bool
    times_h: list[float] = Field(min_length=1)
    values: list[float] = Field(min_length=1)
    model: str = "auto"
    weighting: str = "uniform"  # or "relative"
    single_time_point_method: str = "hanscheid"  # used when there is exactly one measurement
    effective_half_life_h: float | None = Field(default=None, gt=0)  # prior for madsen


class MonteCarloInput(_Model):
    """Monte Carlo settings for the confidence intervals."""

    n_samples: int = Field(default=1000, ge=0, le=200_000)
    seed: int = 0
    measurement_cv: float | None = Field(default=None, ge=0, le=2)
    ci_level: float = Field(default=0.95, gt=0, lt=1)


class RecoveryCurveInput(_Model):
    """Site PET recovery coefficients RC(volume) for partial-volume correction of lesions."""

    volumes_ml: list[float] = Field(min_length=2)
    recovery: list[float] = Field(min_length=2)


class WholeBodyInput(_Model):
    """Whole-body 131I residence time (h), or measurements to fit; optional measured 48-h retention."""

    tia_h: float | None = Field(default=None, ge=0)
    retention_fraction_48h: float | None = Field(default=None, gt=0, le=1)
    measurements: MeasurementsInput | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if (self.tia_h is None) == (self.measurements is None):
            raise ValueError("give exactly one of tia_h or measurements")
        return self


class BloodInput(_Model):
    """Blood 131I TIA per mL (h/mL), or measurements (fraction per mL) to fit."""

    tia_h_per_ml: float | None = Field(default=None, ge=0)
    measurements: MeasurementsInput | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if (self.tia_h_per_ml is None) == (self.measurements is None):
            raise ValueError("give exactly one of tia_h_per_ml or measurements")
        return self


class LesionInput(_Model):
    """One lesion: size (volume or mass) and uptake (131I TIA or serial measurements), or its dose per
    administered 131I activity from elsewhere (e.g. ``redif dose voxel``: mean Gy/GBq; size optional)."""

    name: str = Field(min_length=1)
    volume_ml: float | None = Field(default=None, gt=0)
    mass_g: float | None = Field(default=None, gt=0)
    density_g_per_ml: float | None = Field(default=None, ge=0.5, le=3.0)
    tia_h: float | None = Field(default=None, ge=0)
    measurements: MeasurementsInput | None = None
    dose_per_activity_gy_per_gbq: float | None = Field(default=None, ge=0)
    target_gy: float | None = Field(default=None, gt=0)
    partial_volume_correction: bool = True

    @model_validator(mode="after")
    def _checks(self) -> Self:
        sources = [self.tia_h, self.measurements, self.dose_per_activity_gy_per_gbq]
        if sum(s is not None for s in sources) != 1:
            raise ValueError("give exactly one of tia_h, measurements or dose_per_activity_gy_per_gbq")
        if self.volume_ml is not None and self.mass_g is not None:
            raise ValueError("give exactly one of volume_ml or mass_g")
        if self.dose_per_activity_gy_per_gbq is None and self.volume_ml is None and self.mass_g is None:
            raise ValueError("give exactly one of volume_ml or mass_g")
        return self


class DosimetryPlanInput(_Model):
    """A dosimetry-guided 131I prescription case (see the module docstring for the YAML schema)."""

    weight_kg: float = Field(gt=0, le=400)
    lung_metastases: bool = False
    target_gy: float | None = Field(default=None, gt=0)
    target_rule: TargetRule = TargetRule.ALL
    blood_limit_gy: float | None = Field(default=None, gt=0)
    empiric_activity_gbq: float | None = Field(default=None, gt=0)
    whole_body: WholeBodyInput | None = None
    blood: BloodInput | None = None
    lesions: list[LesionInput] = Field(default_factory=list)
    recovery_curve: RecoveryCurveInput | None = None
    monte_carlo: MonteCarloInput = Field(default_factory=MonteCarloInput)

    @model_validator(mode="after")
    def _unique_names(self) -> Self:
        names = [les.name for les in self.lesions]
        if len(set(names)) != len(names):
            raise ValueError("lesion names must be unique")
        return self

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, prefix: str = "") -> DosimetryPlanInput:
        """Validate a mapping (parsed YAML/JSON).

        Parameters
        ----------
        data
            The mapping.
        prefix
            Field-path prefix for error messages (e.g. ``"dosimetry"`` inside a patient case file).

        Raises
        ------
        InputError
            Naming the first invalid field path, the bad value and what is expected.
        """
        if not isinstance(data, Mapping):
            raise InputError(
                "expected a mapping of dosimetry plan fields",
                field=prefix or "case",
                value=type(data).__name__,
            )
        try:
            return cls.model_validate(dict(data))
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err.get("loc", ()))
            path = ".".join(p for p in (prefix, loc) if p) or (prefix or "case")
            value = err.get("input")
            if isinstance(value, Mapping):
                value = None
            raise InputError(
                str(err.get("msg", "invalid value")),
                field=path,
                value=value,
                remedy="see the schema in redif.dosimetry.plan_input (example: examples/dosimetry_plan.yaml)",
            ) from None
