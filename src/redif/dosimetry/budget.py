"""Uncertainty budget of a lesion dose after the EANM guidance (Gear et al. 2018): GUM and Monte Carlo.

Measurement model
-----------------
The lesion dose per administered activity is modelled, as in the EANM guidance, as the product of the
time-integrated activity and a dose factor, with every activity value obtained from a count rate, a
calibration factor and a recovery coefficient::

    D = (C / RC) · Ã(θ) · S(m) · f_S,        m = ρ · V,        A_target = D_target / D

* ``C`` — calibration factor (relative standard uncertainty ``u_calibration``). The *same* factor
  multiplies every time point, so its effect on Ã is fully correlated across the time points: scaling
  every value of an exponential fit by ``C`` scales its amplitudes by ``C`` and leaves its rates alone,
  so the relative sensitivity of Ã to ``C`` is exactly 1 — not the ``1/√n`` an uncorrelated treatment of
  ``n`` time points would give (JCGM 100:2008 §5.2, correlated input quantities).
* ``RC`` — recovery coefficient (``u_recovery``); also one value for every time point: sensitivity −1.
* ``V`` — delineated volume (``u_volume``). It enters through the S-value's mass dependence,
  sensitivity ``∂ln S/∂ln m`` (the local log-log slope of the sphere S-value table, about −0.9 for 131I
  self-dose in grams), and — when a recovery curve RC(V) was used — again through RC, sensitivity
  ``−∂ln RC/∂ln V``; both are one input quantity, so the two terms add *before* squaring.
* ``θ`` — kinetic fit parameters with the fit's covariance matrix Σ (:attr:`KineticFit.covariance`,
  ``s²(JᵀJ)⁻¹`` mapped to the natural parameters). ``u²(Ã) = gᵀ Σ g`` with ``g = ∂Ã/∂θ`` (the analytic
  integral of the fitted model for the dose nuclide, differentiated numerically).
* ``f_S`` — S-value (dose factor) model uncertainty (``u_svalue``), sensitivity 1.

First-order GUM (JCGM 100:2008, law of propagation of uncertainty): with relative sensitivity
coefficients ``c_i = ∂ln y/∂ln x_i`` and relative standard uncertainties ``u_i``, the relative combined
standard uncertainty is ``u_c,rel(y)² = Σ (c_i u_i)²`` (the inputs are independent once the correlated
repetitions — calibration and recovery in every time point, volume in S and RC — are written as one
quantity each). A component's *contribution* is ``|c_i| u_i`` (a relative standard uncertainty of the
output) and its *variance share* ``(c_i u_i)² / u_c,rel²``.

Monte Carlo (JCGM 101:2008, propagation of distributions): ``C``, ``RC``, ``V`` and ``f_S`` are drawn
from normal distributions about 1 with the given relative standard deviations, ``θ`` from the
multivariate normal N(θ̂, Σ); the model above is evaluated for each draw (with the actual sphere table
S(m), not its slope, and the actual 1/RC); the estimate is the mean and the standard uncertainty the
standard deviation of the draws; draws with a non-physical parameter vector (negative amplitude or
effective rate) are discarded and counted.

References
----------
Gear JI, Cox MG, Gustafsson J, et al. EANM practical guidance on uncertainty analysis for molecular
radiotherapy absorbed dose calculations. Eur J Nucl Med Mol Imaging 2018;45(13):2456-2474.
doi:10.1007/s00259-018-4136-7.
JCGM 100:2008. Evaluation of measurement data — Guide to the expression of uncertainty in measurement
(GUM), §5.1-5.2.
JCGM 101:2008. Evaluation of measurement data — Supplement 1 to the GUM: propagation of distributions
using a Monte Carlo method, §7.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from redif.data import sourced_value
from redif.dosimetry._models import MODELS
from redif.dosimetry.conversion import RecoveryCurve
from redif.dosimetry.kinetics import KineticFit, KineticModel, TimeActivity, ValueUnit, fit_kinetics
from redif.dosimetry.nuclides import THERAPY_NUCLIDE, get_nuclide
from redif.dosimetry.plan_input import DosimetryPlanInput
from redif.dosimetry.prescription import PlanResult
from redif.dosimetry.spheres import sphere_s_value, sphere_table
from redif.errors import ConvergenceError, InputError

__all__ = [
    "COMPONENTS",
    "Budget",
    "DoseBudget",
    "MonteCarloBudget",
    "UncertaintyInputs",
    "dose_budget",
    "fit_tia_relative_uncertainty",
    "plan_budgets",
    "recovery_volume_slope",
    "svalue_mass_slope",
    "voxel_lesion_budget",
]

FloatArray = NDArray[np.float64]

#: Components of the budget, in the order of the EANM guidance's dosimetry chain.
COMPONENTS: tuple[str, ...] = ("calibration", "recovery", "volume", "fit", "svalue")

_MC_MIN = 100
_MC_MAX = 10_000_000
_THRESHOLDS = "dosimetry_thresholds.yaml"
_AGREEMENT = 0.05  # analytic vs Monte Carlo relative standard uncertainty, relative


@dataclass(frozen=True)
class UncertaintyInputs:
    """Relative standard uncertainties (fractions, e.g. 0.05 for 5 %) of the budget's type-B inputs.

    The defaults are 0: redif ships no default values (the EANM guidance's values are examples from one
    clinical setting, not defaults); give the site's own. The fit's uncertainty is not an input: it comes
    from the data (the fit's covariance).
    """

    u_calibration: float = 0.0
    u_recovery: float = 0.0
    u_volume: float = 0.0
    u_svalue: float = 0.0

    def __post_init__(self) -> None:
        for name in ("u_calibration", "u_recovery", "u_volume", "u_svalue"):
            v = getattr(self, name)
            if not (isinstance(v, int | float) and math.isfinite(v) and 0.0 <= v < 1.0):
                raise InputError(
                    "a relative standard uncertainty must be a fraction in [0, 1)",
                    field=name,
                    value=v,
                    remedy="give e.g. 0.05 for 5 %",
                )

    @property
    def any(self) -> bool:
        """Whether any type-B input is non-zero."""
        return any(v > 0 for v in (self.u_calibration, self.u_recovery, self.u_volume, self.u_svalue))

    def to_dict(self) -> dict[str, float]:
        return {"calibration": self.u_calibration, "recovery": self.u_recovery, "volume": self.u_volume,
                "svalue": self.u_svalue}


@dataclass(frozen=True)
class Budget:
    """First-order (GUM) budget of one output quantity.

    ``components[k]`` is the relative standard uncertainty that input ``k`` contributes to the output
    (``|c_k| u_k``); ``relative_standard`` is their root sum of squares.
    """

    quantity: str
    value: float
    unit: str
    relative_standard: float
    components: dict[str, float]
    sensitivity: dict[str, float]
    variance_share: dict[str, float]

    @property
    def standard(self) -> float:
        """Absolute combined standard uncertainty (unit of ``value``)."""
        return self.relative_standard * abs(self.value)

    def to_dict(self) -> dict[str, Any]:
        return {
            "quantity": self.quantity,
            "value": self.value,
            "unit": self.unit,
            "relative_standard": self.relative_standard,
            "standard": self.standard,
            "components": dict(self.components),
            "sensitivity": dict(self.sensitivity),
            "variance_share": dict(self.variance_share),
        }


@dataclass(frozen=True)
class MonteCarloBudget:
    """Monte Carlo (JCGM 101) result for one output quantity, beside the analytic figure."""

    quantity: str
    n_samples: int
    n_discarded: int
    seed: int
    mean: float
    standard: float
    relative_standard: float
    ci_lower: float
    ci_upper: float
    ci_level: float
    analytic_relative_standard: float
    relative_difference: float

    @property
    def agrees(self) -> bool:
        """Analytic and Monte Carlo relative standard uncertainties within 5 % (relative) of each other."""
        return abs(self.relative_difference) <= _AGREEMENT

    def to_dict(self) -> dict[str, Any]:
        return {
            "quantity": self.quantity,
            "n_samples": self.n_samples,
            "n_discarded": self.n_discarded,
            "seed": self.seed,
            "mean": self.mean,
            "standard": self.standard,
            "relative_standard": self.relative_standard,
            "ci_lower": self.ci_lower,
            "ci_upper": self.ci_upper,
            "ci_level": self.ci_level,
            "analytic_relative_standard": self.analytic_relative_standard,
            "relative_difference": self.relative_difference,
            "agrees_within_5pct": self.agrees,
        }


@dataclass(frozen=True)
class DoseBudget:
    """Budgets of the TIA, the dose per activity and the activity for a target, for one lesion."""

    inputs: UncertaintyInputs
    tia: Budget
    dose: Budget
    activity: Budget | None
    monte_carlo: dict[str, MonteCarloBudget] | None = None
    notes: tuple[str, ...] = ()
    svalue_slope: float = 0.0
    recovery_volume_slope: float = 0.0
    _samples: dict[str, FloatArray] = field(default_factory=dict, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The ``uncertainty`` object of a dose: ``relative_standard`` and ``components`` of the dose,
        with the TIA and activity budgets, the inputs, the Monte Carlo figures (when run) and notes."""
        out: dict[str, Any] = {
            "relative_standard": self.dose.relative_standard,
            "components": dict(self.dose.components),
            "variance_share": dict(self.dose.variance_share),
            "sensitivity": dict(self.dose.sensitivity),
            "inputs": self.inputs.to_dict(),
            "tia": self.tia.to_dict(),
            "dose": self.dose.to_dict(),
            "activity_for_target": None if self.activity is None else self.activity.to_dict(),
            "method": "first-order GUM (JCGM 100:2008) after Gear et al., EJNMMI 2018;45:2456-2474",
            "notes": list(self.notes),
        }
        if self.monte_carlo is not None:
            out["monte_carlo"] = {k: v.to_dict() for k, v in self.monte_carlo.items()}
        return out

    def table_rows(self) -> list[tuple[str, float, float, float]]:
        """``(component, input u, contribution to the dose, variance share)`` rows, then the total."""
        ins = self.inputs.to_dict()
        fit_u = self.tia.components.get("fit", 0.0)
        rows = [(k, ins.get(k, fit_u) if k != "fit" else fit_u, self.dose.components[k],
                 self.dose.variance_share[k]) for k in COMPONENTS]
        rows.append(("combined", float("nan"), self.dose.relative_standard, 1.0 if self.dose.relative_standard
                     > 0 else 0.0))
        return rows


def svalue_mass_slope(mass_g: float, nuclide: str = THERAPY_NUCLIDE) -> float:
    """``∂ln S/∂ln m`` of the sphere S-value table at ``mass_g`` (the slope of its log-log segment).

    The table is interpolated linearly in log S against log m (:func:`redif.dosimetry.spheres.
    sphere_s_value`), so the slope is that of the segment holding ``mass_g`` (at a knot: the mean of the
    two adjacent segments).
    """
    sphere_s_value(mass_g, nuclide)  # checks the mass range and the nuclide
    column = get_nuclide(nuclide).sphere_svalue_column
    assert column is not None
    tab = sphere_table()
    lm, ls = np.log(tab["mass_g"]), np.log(tab[column])
    slopes = np.diff(ls) / np.diff(lm)
    x = math.log(mass_g)
    i = int(np.searchsorted(lm, x, side="right")) - 1
    i = min(max(i, 0), slopes.size - 1)
    if abs(x - lm[i]) < 1e-12 and i > 0:
        return float(0.5 * (slopes[i - 1] + slopes[i]))
    if i + 1 < lm.size and abs(x - lm[i + 1]) < 1e-12 and i + 1 < slopes.size:
        return float(0.5 * (slopes[i] + slopes[i + 1]))
    return float(slopes[i])


def _s_of_mass(mass_g: FloatArray, nuclide: str) -> FloatArray:
    """Sphere S-values (mGy/(MBq·s)) for an array of masses (log-log interpolation, clipped to the table)."""
    column = get_nuclide(nuclide).sphere_svalue_column
    assert column is not None
    tab = sphere_table()
    m = np.clip(mass_g, tab["mass_g"][0], tab["mass_g"][-1])
    return np.asarray(np.exp(np.interp(np.log(m), np.log(tab["mass_g"]), np.log(tab[column]))))


def _nat_params(fit: KineticFit) -> FloatArray:
    return np.array([fit.parameters[n] for n in MODELS[fit.model.value].param_names], dtype=float)


def _fit_gradient(fit: KineticFit, lam: float) -> FloatArray:
    """∂Ã/∂θ of the fitted model's analytic integral for decay constant ``lam`` (central differences)."""
    model = MODELS[fit.model.value]
    theta = _nat_params(fit)
    grad = np.zeros_like(theta)
    for i in range(theta.size):
        h = 1e-6 * max(abs(theta[i]), 1e-9)
        up, dn = theta.copy(), theta.copy()
        up[i] += h
        dn[i] -= h
        grad[i] = float((model.integral(up[None, :], lam)[0] - model.integral(dn[None, :], lam)[0]) / (2 * h))
    return grad


def _has_covariance(fit: KineticFit) -> bool:
    return (fit.model is not KineticModel.TRAPEZOID and fit.stp_method is None and fit.covariance is not None
            and bool(np.all(np.isfinite(fit.covariance))))


def fit_tia_relative_uncertainty(fit: KineticFit, nuclide: str | None = None) -> float:
    """Relative standard uncertainty of the TIA from the fit's parameter covariance: √(gᵀΣg) / Ã.

    ``nuclide``: integrate for this nuclide (e.g. I-131 for a 124I fit; the biology is shared). Returns 0
    where the fit has no covariance (trapezoid, single time point, as many parameters as points).
    """
    if not _has_covariance(fit):
        return 0.0
    lam = get_nuclide(nuclide or fit.nuclide).decay_constant_per_h
    theta = _nat_params(fit)
    tia = float(MODELS[fit.model.value].integral(theta[None, :], lam)[0])
    if not tia > 0:
        return 0.0
    g = _fit_gradient(fit, lam)
    assert fit.covariance is not None
    var = float(g @ np.asarray(fit.covariance, dtype=float) @ g)
    return math.sqrt(max(var, 0.0)) / tia


def _budget(quantity: str, value: float, unit: str, sens: dict[str, float], u: dict[str, float]) -> Budget:
    contrib = {k: abs(sens[k]) * u[k] for k in COMPONENTS}
    total = math.sqrt(sum(c * c for c in contrib.values()))
    share = {k: (contrib[k] ** 2 / total**2 if total > 0 else 0.0) for k in COMPONENTS}
    return Budget(quantity, value, unit, total, contrib, dict(sens), share)


def dose_budget(
    *,
    dose_per_activity_gy_per_gbq: float,
    tia_h: float,
    mass_g: float | None,
    inputs: UncertaintyInputs,
    fit: KineticFit | None = None,
    fit_relative_uncertainty: float | None = None,
    dose_nuclide: str = THERAPY_NUCLIDE,
    target_gy: float | None = None,
    recovery_volume_slope: float = 0.0,
    monte_carlo_samples: int = 0,
    seed: int = 0,
    ci_level: float = 0.95,
) -> DoseBudget:
    """Uncertainty budget of one lesion's TIA, dose per activity and activity for a target dose.

    Parameters
    ----------
    dose_per_activity_gy_per_gbq, tia_h
        The estimates (Gy/GBq; h, or MBq·h — only relative uncertainties are formed).
    mass_g
        Lesion mass (g), for the S-value's mass dependence (volume component); ``None``: no mass, the
        volume component is 0 and a note says so.
    inputs
        Relative standard uncertainties of calibration, recovery, volume and S-value.
    fit
        The kinetic fit whose covariance gives the fit component (integrated for ``dose_nuclide``).
    fit_relative_uncertainty
        Instead of ``fit``: the TIA's relative standard uncertainty from a fit done elsewhere (the voxel
        pipeline's lesion curve). Monte Carlo then draws it as a normal factor.
    target_gy
        Target dose -> the budget of the activity for it (A = D_target / D: sensitivities −1).
    recovery_volume_slope
        ``∂ln RC/∂ln V`` of the recovery curve used (0: no volume-dependent RC).
    monte_carlo_samples, seed, ci_level
        JCGM 101 draws (0: none; else 100 to 10 million), random seed, coverage interval level.

    Raises
    ------
    InputError
        Bad sample count or level (fields ``uncertainty_mc``, ``ci_level``).
    """
    if not (math.isfinite(dose_per_activity_gy_per_gbq) and dose_per_activity_gy_per_gbq >= 0):
        raise InputError("dose per activity must be >= 0", field="dose_per_activity_gy_per_gbq",
                         value=dose_per_activity_gy_per_gbq)
    if monte_carlo_samples and not (_MC_MIN <= monte_carlo_samples <= _MC_MAX):
        raise InputError(f"Monte Carlo samples must be 0 or {_MC_MIN}-{_MC_MAX}", field="uncertainty_mc",
                         value=monte_carlo_samples, remedy="give e.g. 100000")
    if not 0 < ci_level < 1:
        raise InputError("ci_level must be between 0 and 1", field="ci_level", value=ci_level)
    notes: list[str] = []
    use_fit = fit is not None and _has_covariance(fit)
    if fit_relative_uncertainty is not None:
        u_fit = float(fit_relative_uncertainty)
    elif fit is not None:
        u_fit = fit_tia_relative_uncertainty(fit, dose_nuclide)
        if not use_fit:
            notes.append(f"fit component 0: the {fit.model.value} fit has no parameter covariance "
                         "(trapezoid, single time point, or no residual degree of freedom)")
    else:
        u_fit = 0.0
        notes.append("fit component 0: the TIA was given, not fitted here")
    slope = 0.0
    if mass_g is not None:
        try:
            slope = svalue_mass_slope(mass_g, dose_nuclide)
        except InputError:
            notes.append("volume component through S(m) 0: mass outside the sphere S-value table")
    else:
        notes.append("volume component through S(m) 0: no lesion mass")
    u = {"calibration": inputs.u_calibration, "recovery": inputs.u_recovery, "volume": inputs.u_volume,
         "fit": u_fit, "svalue": inputs.u_svalue}
    vol_tia = -recovery_volume_slope
    tia_sens = {"calibration": 1.0, "recovery": -1.0, "volume": vol_tia, "fit": 1.0, "svalue": 0.0}
    dose_sens = {**tia_sens, "volume": vol_tia + slope, "svalue": 1.0}
    tia_b = _budget("tia", tia_h, "h", tia_sens, u)
    dose_b = _budget("dose_per_activity", dose_per_activity_gy_per_gbq, "Gy/GBq", dose_sens, u)
    act_b = None
    if target_gy is not None and dose_per_activity_gy_per_gbq > 0:
        act_b = _budget("activity_for_target", target_gy / dose_per_activity_gy_per_gbq, "GBq",
                        {k: -v for k, v in dose_sens.items()}, u)
    mc = None
    samples: dict[str, FloatArray] = {}
    if monte_carlo_samples:
        mc, samples = _monte_carlo(
            tia_b, dose_b, act_b, u, fit if use_fit and fit_relative_uncertainty is None else None,
            mass_g if slope != 0.0 else None, dose_nuclide, recovery_volume_slope,
            int(monte_carlo_samples), seed, ci_level)
    return DoseBudget(inputs, tia_b, dose_b, act_b, mc, tuple(notes), slope, recovery_volume_slope, samples)


def _monte_carlo(
    tia_b: Budget, dose_b: Budget, act_b: Budget | None, u: dict[str, float], fit: KineticFit | None,
    mass_g: float | None, nuclide: str, rc_slope: float, n: int, seed: int, level: float,
) -> tuple[dict[str, MonteCarloBudget], dict[str, FloatArray]]:
    rng = np.random.default_rng(seed)
    cal = 1.0 + u["calibration"] * rng.standard_normal(n)
    rc = 1.0 + u["recovery"] * rng.standard_normal(n)
    vol = 1.0 + u["volume"] * rng.standard_normal(n)
    fs = 1.0 + u["svalue"] * rng.standard_normal(n)
    ok = (cal > 0) & (rc > 0) & (vol > 0) & (fs > 0)
    if fit is not None:
        model = MODELS[fit.model.value]
        theta = _nat_params(fit)
        assert fit.covariance is not None
        draws = rng.multivariate_normal(theta, np.asarray(fit.covariance, dtype=float), size=n,
                                        method="eigh")
        lam = get_nuclide(nuclide).decay_constant_per_h
        t0 = float(model.integral(theta[None, :], lam)[0])
        amp = [i for i, name in enumerate(model.param_names) if name.startswith("a")]
        rates = [i for i in range(theta.size) if i not in amp]
        ok &= np.all(draws[:, amp] >= 0, axis=1) & np.all(draws[:, rates] + lam > 0, axis=1)
        with np.errstate(all="ignore"):
            tfac = model.integral(draws, lam) / t0
    else:
        tfac = 1.0 + u["fit"] * rng.standard_normal(n)
    ok &= np.isfinite(tfac) & (tfac > 0)
    rc_eff = rc * vol**rc_slope
    tia = tia_b.value * cal / rc_eff * tfac
    sfac = fs
    if mass_g is not None:
        sfac = fs * _s_of_mass(mass_g * vol, nuclide) / _s_of_mass(np.array([mass_g]), nuclide)[0]
    dose = dose_b.value * cal / rc_eff * tfac * sfac
    n_bad = int(n - ok.sum())
    out = {"tia": (tia_b, tia[ok]), "dose_per_activity": (dose_b, dose[ok])}
    if act_b is not None:
        out["activity_for_target"] = (act_b, act_b.value * dose_b.value / dose[ok])
    alpha = (1 - level) / 2
    res: dict[str, MonteCarloBudget] = {}
    for key, (b, x) in out.items():
        mean = float(np.mean(x))
        sd = float(np.std(x, ddof=1))
        rel = sd / abs(mean) if mean != 0 else float("nan")
        lo, hi = np.quantile(x, [alpha, 1 - alpha])
        diff = (rel / b.relative_standard - 1.0) if b.relative_standard > 0 else (0.0 if rel == 0 else
                                                                                  float("inf"))
        res[key] = MonteCarloBudget(key, int(x.size), n_bad, seed, mean, sd, rel, float(lo), float(hi), level,
                                    b.relative_standard, diff)
    return res, {k: v[1] for k, v in out.items()}


def recovery_volume_slope(curve: RecoveryCurve, volume_ml: float) -> float:
    """``∂ln RC/∂ln V`` of a recovery curve at ``volume_ml`` (central difference in log volume, kept
    inside the calibrated range)."""
    v = np.asarray(curve.volumes_ml, dtype=float)
    lo = max(math.log(volume_ml) - 1e-4, math.log(v[0]))
    hi = min(math.log(volume_ml) + 1e-4, math.log(v[-1]))
    if hi <= lo:
        return 0.0
    return (math.log(curve.rc(math.exp(hi))) - math.log(curve.rc(math.exp(lo)))) / (hi - lo)


def plan_budgets(
    inp: DosimetryPlanInput, result: PlanResult, inputs: UncertaintyInputs, *, monte_carlo_samples: int = 0,
    seed: int = 0,
) -> list[DoseBudget]:
    """The budget of every lesion of a ``redif dose plan`` result (same order as ``result.lesions``).

    Measured lesions take the fit component from their kinetic fit (integrated for 131I) and, when the
    plan's recovery curve corrected them, the volume's second path through RC(V); lesions given as
    ``tia_h`` or as a dose per activity (e.g. from the voxel pipeline) have no fit component here.
    """
    curve = None
    if inp.recovery_curve is not None:
        curve = RecoveryCurve(tuple(inp.recovery_curve.volumes_ml), tuple(inp.recovery_curve.recovery))
    out = []
    for les_in, les in zip(inp.lesions, result.lesions, strict=True):
        rc_slope = 0.0
        if curve is not None and les.recovery_coefficient is not None and les.mass_g is not None:
            vol = les_in.volume_ml if les_in.volume_ml is not None else les.mass_g / (
                les_in.density_g_per_ml or float(sourced_value(_THRESHOLDS, "soft_tissue_density").value))
            rc_slope = recovery_volume_slope(curve, vol)
        budget = dose_budget(
            dose_per_activity_gy_per_gbq=les.dose.dose_per_activity_gy_per_gbq,
            tia_h=les.tia_h if les.tia_h is not None else float("nan"), mass_g=les.mass_g, inputs=inputs,
            fit=les.fit, dose_nuclide=les.dose.nuclide, target_gy=les.target_gy,
            recovery_volume_slope=rc_slope, monte_carlo_samples=monte_carlo_samples, seed=seed)
        if les.tia_h is None:
            budget = DoseBudget(budget.inputs, budget.tia, budget.dose, budget.activity, budget.monte_carlo,
                                (*budget.notes, "dose per activity supplied (voxel dosimetry): its fit "
                                 "uncertainty is in the voxel result's own budget"),
                                budget.svalue_slope, budget.recovery_volume_slope)
        out.append(budget)
    return out


def voxel_lesion_budget(
    *, times_h: list[float], tac_mbq: list[float], imaged_nuclide: str, dose_per_activity_gy_per_gbq: float,
    tia_h: float, mass_g: float | None, inputs: UncertaintyInputs, dose_nuclide: str = THERAPY_NUCLIDE,
    target_gy: float | None = None, monte_carlo_samples: int = 0, seed: int = 0,
) -> DoseBudget:
    """Budget of a voxel-dosimetry lesion dose (mean, D50, D90: the budget is relative, the same for each).

    The fit component is that of the lesion's summed time-activity curve (``tac_mbq``, the imaged nuclide
    at acquisition, not decay corrected), fitted with the automatic model choice and integrated for
    ``dose_nuclide``: the per-voxel fits of the pipeline carry no lesion covariance, and the lesion curve's
    fit is the EANM guidance's VOI-level fit. The volume enters through the sphere S-value's mass
    dependence — the self-dose approximation of the lesion's mean dose.
    """
    notes: list[str] = []
    fit: KineticFit | None = None
    try:
        data = TimeActivity.create(times_h, tac_mbq, decay_corrected=False, nuclide=imaged_nuclide,
                                   unit=ValueUnit.MBQ)
        fit = fit_kinetics(data, KineticModel.AUTO) if len(times_h) >= 2 else None
    except (InputError, ConvergenceError) as exc:
        notes.append(f"fit component 0: the lesion time-activity curve could not be fitted ({exc})")
    if fit is None and not notes:
        notes.append("fit component 0: a single time point has no fit covariance")
    u_fit = fit_tia_relative_uncertainty(fit, dose_nuclide) if fit is not None else 0.0
    budget = dose_budget(dose_per_activity_gy_per_gbq=dose_per_activity_gy_per_gbq, tia_h=tia_h,
                         mass_g=mass_g, inputs=inputs, fit_relative_uncertainty=u_fit,
                         dose_nuclide=dose_nuclide, target_gy=target_gy,
                         monte_carlo_samples=monte_carlo_samples, seed=seed)
    if fit is not None:
        notes.append(f"fit component from the lesion time-activity curve ({fit.model.value} fit, "
                     f"{fit.n_points} time points)")
    return DoseBudget(budget.inputs, budget.tia, budget.dose, budget.activity, budget.monte_carlo,
                      (*budget.notes, *notes), budget.svalue_slope, budget.recovery_volume_slope)
