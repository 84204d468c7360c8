"""From 124I PET to 131I therapy: same biology, different physical decay.

With a₁₂₄(t) the measured 124I fraction of the administered activity (not decay-corrected), the
biological retention is f(t) = a₁₂₄(t)·e^(λ₁₂₄ t) and the predicted 131I fraction is
a₁₃₁(t) = a₁₂₄(t)·e^((λ₁₂₄ − λ₁₃₁) t). For f = U·e^(−λ_bio t): ã₁₃₁ = U/(λ_bio + λ₁₃₁).

Small lesions on 124I PET need a partial-volume correction A_true = A_meas / RC(V), with RC from a
sphere-phantom calibration supplied by the user's site (:class:`RecoveryCurve`).

References
----------
docs/methods/dosimetry.md §4. Jentzen W et al. 2008 (124I PET lesion dosimetry: 4-96 h imaging).
Ho AL et al. N Engl J Med 2013;368:623-632 (dosimetry on the redifferentiation drug).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from redif.dosimetry.kinetics import KineticFit, KineticModel, TimeActivity, fit_kinetics
from redif.dosimetry.nuclides import THERAPY_NUCLIDE, get_nuclide
from redif.dosimetry.uncertainty import TiaUncertainty, monte_carlo_tia
from redif.errors import InputError

__all__ = ["ConversionResult", "RecoveryCurve", "convert_activity", "convert_time_activity"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class RecoveryCurve:
    """Site-measured recovery coefficients RC(V) of the PET scanner (sphere phantom).

    Interpolated linearly in log(volume); volumes outside the calibrated range are refused.
    """

    volumes_ml: tuple[float, ...]
    recovery: tuple[float, ...]

    def __post_init__(self) -> None:
        v = np.asarray(self.volumes_ml, dtype=float)
        rc = np.asarray(self.recovery, dtype=float)
        if v.ndim != 1 or v.size < 2 or v.size != rc.size:
            raise InputError(
                "need at least two (volume, RC) pairs of equal length",
                field="recovery_curve",
                value=(self.volumes_ml, self.recovery),
            )
        if not (np.all(np.isfinite(v)) and np.all(v > 0) and np.all(np.diff(v) > 0)):
            raise InputError(
                "volumes must be positive and strictly increasing",
                field="recovery_curve.volumes_ml",
                value=self.volumes_ml,
            )
        if not (np.all(np.isfinite(rc)) and np.all(rc > 0) and np.all(rc <= 1.5)):
            raise InputError(
                "recovery coefficients must lie in (0, 1.5]",
                field="recovery_curve.recovery",
                value=self.recovery,
            )

    def rc(self, volume_ml: float) -> float:
        """RC at ``volume_ml`` (log-volume interpolation)."""
        v = np.asarray(self.volumes_ml, dtype=float)
        if not (math.isfinite(volume_ml) and v[0] <= volume_ml <= v[-1]):
            raise InputError(
                f"lesion volume outside the recovery curve ({v[0]:g}-{v[-1]:g} mL)",
                field="volume_ml",
                value=volume_ml,
                remedy="extend the phantom calibration; RC is not extrapolated",
            )
        return float(np.interp(math.log(volume_ml), np.log(v), np.asarray(self.recovery, dtype=float)))


@dataclass(frozen=True)
class ConversionResult:
    """Predicted activity of the target nuclide and its time-integrated activity."""

    from_nuclide: str
    to_nuclide: str
    times_h: tuple[float, ...]
    values: tuple[float, ...]  # predicted target-nuclide values, NOT decay-corrected
    tia_h: float
    fit: KineticFit
    recovery_coefficient: float | None
    uncertainty: TiaUncertainty | None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "from": self.from_nuclide,
            "to": self.to_nuclide,
            "times_h": list(self.times_h),
            "values": list(self.values),
            "values_decay_corrected": False,
            "tia_h": self.tia_h,
            "model": self.fit.model.value,
            "parameters": self.fit.parameters,
            "effective_half_life_h": math.log(2.0) / (self._terminal_k() + _lam(self.to_nuclide)),
            "source_decay_corrected": self.fit.decay_corrected,
            "recovery_coefficient": self.recovery_coefficient,
            "ci_lower": None,
            "ci_upper": None,
        }
        if self.uncertainty is not None:
            out["ci_lower"] = self.uncertainty.ci_lower
            out["ci_upper"] = self.uncertainty.ci_upper
            out["uncertainty"] = self.uncertainty.to_dict()
        return out

    def _terminal_k(self) -> float:
        p = self.fit.parameters
        for key in ("k2_bio_per_h", "k_washout_bio_per_h", "k_bio_per_h", "tail_k_bio_per_h"):
            if key in p:
                return max(p[key], 0.0)
        return 0.0


def _lam(nuclide: str) -> float:
    return get_nuclide(nuclide).decay_constant_per_h


def convert_activity(
    times_h: ArrayLike,
    values: ArrayLike,
    *,
    from_nuclide: str = "I-124",
    to_nuclide: str = THERAPY_NUCLIDE,
    decay_corrected: bool = False,
) -> FloatArray:
    """Predicted ``to_nuclide`` activity (not decay-corrected) at the same times.

    a_to(t) = a_from(t)·e^((λ_from − λ_to)t) for not-decay-corrected input; a_to = f(t)·e^(−λ_to t)
    for decay-corrected input (f = the biological retention).
    """
    data = TimeActivity.create(times_h, values, decay_corrected=decay_corrected, nuclide=from_nuclide)
    return np.asarray(data.retention() * np.exp(-_lam(to_nuclide) * data.t))


def convert_time_activity(
    data: TimeActivity,
    *,
    to_nuclide: str = THERAPY_NUCLIDE,
    model: KineticModel | str = KineticModel.AUTO,
    recovery_curve: RecoveryCurve | None = None,
    volume_ml: float | None = None,
    n_samples: int = 1000,
    seed: int = 0,
    measurement_cv: float | None = None,
) -> ConversionResult:
    """Predict the ``to_nuclide`` (131I) curve and TIA from serial ``data`` (124I).

    The kinetic model is fitted to the measured data (in their own decay representation) and the
    biological parameters are integrated with λ of ``to_nuclide``. With a recovery curve and the
    lesion volume, every value is divided by RC(V) first. ``n_samples = 0`` skips the Monte Carlo.

    References
    ----------
    docs/methods/dosimetry.md §4: a₁₃₁(t) = a₁₂₄(t)·e^((λ₁₂₄ − λ₁₃₁)t); ã₁₃₁ = U/(λ_bio + λ₁₃₁).
    """
    rc: float | None = None
    if recovery_curve is not None:
        if volume_ml is None:
            raise InputError(
                "a recovery curve needs the lesion volume",
                field="volume_ml",
                remedy="give the lesion volume in mL",
            )
        rc = recovery_curve.rc(volume_ml)
        data = TimeActivity(
            data.times_h, tuple(v / rc for v in data.values), data.decay_correction, data.nuclide, data.unit
        )
    fit = fit_kinetics(data, model)
    to = get_nuclide(to_nuclide).name
    values = data.retention() * np.exp(-_lam(to) * data.t)
    unc = None
    if n_samples > 0:
        u = monte_carlo_tia(fit, n_samples=n_samples, seed=seed, measurement_cv=measurement_cv, nuclide=to)
        unc = u if u.n_samples > 0 else None
    return ConversionResult(
        from_nuclide=data.nuclide,
        to_nuclide=to,
        times_h=data.times_h,
        values=tuple(float(v) for v in values),
        tia_h=fit.tia_for(to),
        fit=fit,
        recovery_coefficient=rc,
        uncertainty=unc,
    )
