"""Time-integrated activity from serial measurements: the fit and its Monte Carlo interval, in one call.

This is the one assembly behind ``redif dose tia`` and the web's TIA calculator (``/calc/tia``,
``/api/v1/calc/tia``): build the time-activity data, fit the kinetic model
(:func:`redif.dosimetry.kinetics.fit_kinetics`), and add the Monte Carlo confidence interval
(:func:`redif.dosimetry.uncertainty.monte_carlo_tia`).

Errors name the parameters of :func:`estimate_tia` (``times_h``, ``values``, ``unit``, ``model``,
``samples``, ``weighting``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redif.dosimetry.kinetics import KineticFit, KineticModel, TimeActivity, ValueUnit, fit_kinetics
from redif.dosimetry.nuclides import THERAPY_NUCLIDE, get_nuclide
from redif.dosimetry.uncertainty import TiaUncertainty, monte_carlo_tia
from redif.errors import InputError

__all__ = ["TiaEstimate", "estimate_tia", "parse_kinetic_model", "parse_value_unit"]


def parse_kinetic_model(model: str | KineticModel) -> KineticModel:
    """One of :class:`~redif.dosimetry.kinetics.KineticModel`; field ``model``."""
    try:
        return KineticModel(model)
    except ValueError:
        raise InputError("unknown model", field="model", value=model,
                         remedy="one of " + ", ".join(m.value for m in KineticModel)) from None


def parse_value_unit(unit: str | ValueUnit) -> ValueUnit:
    """``fraction`` (of the administered activity) or ``MBq``; field ``unit``."""
    try:
        return ValueUnit(unit)
    except ValueError:
        raise InputError("unknown unit", field="unit", value=unit,
                         remedy="use fraction (of administered activity) or MBq") from None


@dataclass(frozen=True)
class TiaEstimate:
    """A kinetic fit with its Monte Carlo uncertainty (``None`` when no samples were asked for)."""

    fit: KineticFit
    uncertainty: TiaUncertainty | None

    def to_dict(self) -> dict[str, Any]:
        """The ``redif dose tia --json`` keys: the fit's, ``ci_lower``/``ci_upper`` (``None`` without
        samples) and ``uncertainty`` (with samples)."""
        out: dict[str, Any] = self.fit.to_dict()
        out["ci_lower"] = out["ci_upper"] = None
        if self.uncertainty is not None:
            out["ci_lower"], out["ci_upper"] = self.uncertainty.ci_lower, self.uncertainty.ci_upper
            out["uncertainty"] = self.uncertainty.to_dict()
        return out

    def constants(self) -> list[dict[str, Any]]:
        """The sourced constants used (the measured nuclide's half-life), for display."""
        nuc = get_nuclide(self.fit.nuclide)
        return [{"name": f"{nuc.name} half-life", "value": nuc.half_life_h, "unit": "h",
                 "source": nuc.source, "grade": str(nuc.grade.value)}]


def estimate_tia(
    times_h: Sequence[float], values: Sequence[float], *, model: str = "auto",
    unit: str | ValueUnit = "fraction", decay_corrected: bool = False, nuclide: str = THERAPY_NUCLIDE,
    samples: int = 1000, seed: int = 0, measurement_cv: float | None = None, weighting: str = "uniform",
) -> TiaEstimate:
    """Fit a time-activity curve and integrate it, with a Monte Carlo CI from ``samples`` refits.

    Parameters
    ----------
    times_h, values
        Measurement times after administration (h) and activities (fraction or MBq, see ``unit``).
    model
        ``auto``, ``mono``, ``bi``, ``uptake`` or ``trapezoid``.
    unit
        ``fraction`` of the administered activity (TIA in h) or ``MBq`` (TIA in MBq h).
    decay_corrected
        Whether the values are decay-corrected to the administration.
    nuclide
        Measured nuclide (default the therapy nuclide of the nuclide table).
    samples, seed, measurement_cv
        Monte Carlo samples (0: none), random seed, relative SD of each measurement (default: the fit's
        residual SD).
    weighting
        ``uniform`` (least squares) or ``relative``.

    Raises
    ------
    InputError
        Naming the parameter at fault.
    """
    km = parse_kinetic_model(model)
    vunit = parse_value_unit(unit)
    if int(samples) != samples or samples < 0:
        raise InputError("must be a whole number >= 0", field="samples", value=samples)
    data = TimeActivity.create(times_h, values, decay_corrected=decay_corrected, nuclide=nuclide, unit=vunit)
    fit = fit_kinetics(data, km, weighting=weighting)
    unc = (monte_carlo_tia(fit, n_samples=int(samples), seed=seed, measurement_cv=measurement_cv)
           if samples > 0 else None)
    return TiaEstimate(fit, unc)
