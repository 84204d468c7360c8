"""Lesion dosimetry with the sphere self-dose model.

D/A₀ = ã · S_self(m): lesion dose per administered activity LDpA [Gy/GBq] = ã [h] · S [Gy/(GBq·h)];
activity for a target dose A = D_target / LDpA; mass = volume × density (1.04 g/mL default); dose
classes after Jentzen 2008 (≤ 5 Gy/GBq low, 5-10 medium, > 10 high), thresholds from
``dosimetry_thresholds.yaml``.

References
----------
Jentzen W et al. 2008 (124I PET lesion dosimetry; LDpA classes), docs/methods/dosimetry.md.
Ho AL et al. N Engl J Med 2013;368:623-632 (20 Gy lesion threshold).
Stabin MG, Konijnenberg MW. J Nucl Med 2000;41:149-160 (sphere model).
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from redif.data import SourcedValue, sourced_value
from redif.dosimetry.nuclides import THERAPY_NUCLIDE
from redif.dosimetry.spheres import SphereSValue, sphere_s_value
from redif.errors import InputError

__all__ = [
    "DoseClass",
    "LesionDose",
    "classify_dose_per_activity",
    "lesion_dose",
    "lesion_dose_from_dose_per_activity",
    "lesion_mass_g",
]

_FILE = "dosimetry_thresholds.yaml"
_MGY_PER_MBQ_S_TO_GY_PER_GBQ_H = 3600.0


class DoseClass(enum.StrEnum):
    """Jentzen 2008 classes of lesion dose per administered activity."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


def classify_dose_per_activity(gy_per_gbq: float) -> DoseClass:
    """≤ 5 Gy/GBq low, 5-10 medium, > 10 high (Jentzen 2008; thresholds from the data file)."""
    low = float(sourced_value(_FILE, "lesion_dose_class_low_max").value)
    med = float(sourced_value(_FILE, "lesion_dose_class_medium_max").value)
    if gy_per_gbq <= low:
        return DoseClass.LOW
    if gy_per_gbq <= med:
        return DoseClass.MEDIUM
    return DoseClass.HIGH


def lesion_mass_g(volume_ml: float, density_g_per_ml: float | None = None) -> float:
    """Mass (g) = volume (mL) × density (default 1.04 g/mL from the data file)."""
    if not (math.isfinite(volume_ml) and volume_ml > 0):
        raise InputError("lesion volume must be > 0 mL", field="volume_ml", value=volume_ml)
    rho = (
        float(sourced_value(_FILE, "soft_tissue_density").value)
        if density_g_per_ml is None
        else density_g_per_ml
    )
    if not (math.isfinite(rho) and 0.5 <= rho <= 3.0):
        raise InputError("density must lie in 0.5-3 g/mL", field="density_g_per_ml", value=density_g_per_ml)
    return volume_ml * rho


@dataclass(frozen=True)
class LesionDose:
    """Lesion dose per administered activity and the activity for a target dose."""

    mass_g: float | None
    nuclide: str
    tia_h: float | None
    s_mgy_per_mbq_s: float | None
    dose_per_activity_gy_per_gbq: float
    dose_class: DoseClass
    target_gy: float | None
    activity_for_target_gbq: float | None
    ci_lower_gy_per_gbq: float | None
    ci_upper_gy_per_gbq: float | None
    s_value: SphereSValue | None
    rules: tuple[SourcedValue, ...]
    activity_ci_lower_gbq: float | None = None
    activity_ci_upper_gbq: float | None = None
    method: str = "sphere self-dose: ã·S(m) (S-values unverified)"

    def dose_gy(self, activity_gbq: float) -> float:
        """Lesion dose (Gy) for an administered activity (GBq)."""
        return self.dose_per_activity_gy_per_gbq * activity_gbq

    def to_dict(self) -> dict[str, Any]:
        return {
            "mass_g": self.mass_g,
            "nuclide": self.nuclide,
            "tia_h": self.tia_h,
            "s_mgy_per_mbq_s": self.s_mgy_per_mbq_s,
            "dose_per_activity_gy_per_gbq": self.dose_per_activity_gy_per_gbq,
            "dose_class": self.dose_class.value,
            "target_gy": self.target_gy,
            "activity_for_target_gbq": self.activity_for_target_gbq,
            "ci_lower": self.ci_lower_gy_per_gbq,
            "ci_upper": self.ci_upper_gy_per_gbq,
            "activity_ci_lower_gbq": self.activity_ci_lower_gbq,
            "activity_ci_upper_gbq": self.activity_ci_upper_gbq,
            "s_value_source": None if self.s_value is None else self.s_value.source,
            "s_value_grade": None if self.s_value is None else self.s_value.grade.value,
            "method": self.method,
            "rules": [r.to_dict() for r in self.rules],
        }


def lesion_dose(
    *,
    mass_g: float,
    tia_h: float,
    nuclide: str = THERAPY_NUCLIDE,
    target_gy: float | None = None,
    tia_samples_h: ArrayLike | None = None,
    ci_level: float = 0.95,
) -> LesionDose:
    """Lesion dose per administered activity (Gy/GBq) with the sphere self-dose model.

    Parameters
    ----------
    mass_g
        Lesion mass in g (0.01-1000 g).
    tia_h
        Lesion time-integrated activity coefficient ã (h) of ``nuclide`` per administered activity.
    target_gy
        Optional target lesion dose (e.g. 20 Gy, Ho 2013) -> ``activity_for_target_gbq``.
    tia_samples_h
        Monte Carlo samples of ã (from :func:`redif.dosimetry.kinetics.monte_carlo_tia`) -> CI.

    References
    ----------
    LDpA = ã·S (MIRD); Jentzen 2008 classes; Ho 2013 20 Gy.
    """
    if not (math.isfinite(tia_h) and tia_h >= 0):
        raise InputError("time-integrated activity must be >= 0 h", field="tia_h", value=tia_h)
    if target_gy is not None and not (math.isfinite(target_gy) and target_gy > 0):
        raise InputError("target dose must be > 0 Gy", field="target_gy", value=target_gy)
    sv = sphere_s_value(mass_g, nuclide)
    s_gy_gbq_h = sv.s_mgy_per_mbq_s * _MGY_PER_MBQ_S_TO_GY_PER_GBQ_H
    ldpa = tia_h * s_gy_gbq_h
    act = None
    if target_gy is not None:
        act = target_gy / ldpa if ldpa > 0 else math.inf
    lo = hi = None
    act_lo = act_hi = None
    if tia_samples_h is not None:
        smp = np.asarray(tia_samples_h, dtype=float)
        smp = smp[np.isfinite(smp)]
        if smp.size:
            a = (1 - ci_level) / 2
            qlo, qhi = np.quantile(smp * s_gy_gbq_h, [a, 1 - a])
            lo, hi = float(qlo), float(qhi)
            if target_gy is not None and lo > 0:
                # A = D/LDpA is monotone decreasing in LDpA: the CI bounds swap
                act_lo, act_hi = target_gy / hi, target_gy / lo
    rules = (
        sourced_value(_FILE, "lesion_dose_class_low_max"),
        sourced_value(_FILE, "lesion_dose_class_medium_max"),
    )
    return LesionDose(
        mass_g,
        sv.nuclide,
        tia_h,
        sv.s_mgy_per_mbq_s,
        ldpa,
        classify_dose_per_activity(ldpa),
        target_gy,
        act,
        lo,
        hi,
        sv,
        rules,
        act_lo,
        act_hi,
    )


def lesion_dose_from_dose_per_activity(
    *,
    dose_per_activity_gy_per_gbq: float,
    mass_g: float | None = None,
    target_gy: float | None = None,
    method: str = "voxel dosimetry (mean lesion dose per GBq 131I, supplied)",
) -> LesionDose:
    """A lesion whose dose per administered 131I activity comes from elsewhere (e.g. voxel dosimetry).

    Classes and the activity for a target follow as for :func:`lesion_dose`; no S-value is involved.
    """
    ldpa = dose_per_activity_gy_per_gbq
    if not (math.isfinite(ldpa) and ldpa >= 0):
        raise InputError(
            "dose per activity must be >= 0 Gy/GBq", field="dose_per_activity_gy_per_gbq", value=ldpa
        )
    if target_gy is not None and not (math.isfinite(target_gy) and target_gy > 0):
        raise InputError("target dose must be > 0 Gy", field="target_gy", value=target_gy)
    act = None if target_gy is None else (target_gy / ldpa if ldpa > 0 else math.inf)
    rules = (
        sourced_value(_FILE, "lesion_dose_class_low_max"),
        sourced_value(_FILE, "lesion_dose_class_medium_max"),
    )
    return LesionDose(
        mass_g,
        THERAPY_NUCLIDE,
        None,
        None,
        ldpa,
        classify_dose_per_activity(ldpa),
        target_gy,
        act,
        None,
        None,
        None,
        rules,
        method=method,
    )
