"""Time-activity kinetics: model fits and AIC model choice.

Monte Carlo uncertainty is in :mod:`redif.dosimetry.uncertainty`, single-time-point estimates in
:mod:`redif.dosimetry.single_time_point`.

Values are activities at times ``time_h`` after administration, either as fractions of the
administered activity (then the time-integrated activity ``tia_h`` is the residence time in hours) or
in MBq (then ``tia_h`` is in MBq·h). Whether the values are decay-corrected is an explicit, typed flag
(:class:`DecayCorrection`); it is never guessed and never mixed:

* **not decay-corrected** data are fitted as f(t)·e^(−λ_phys·t), every effective rate ≥ λ_phys;
* **decay-corrected** data are fitted as the biological retention f(t) and λ_phys is added
  analytically when integrating.

In both cases the fitted parameters are *biological* (rates ``k_bio`` ≥ 0), so the time-integrated
activity for any nuclide follows analytically, ∫ f(t)·e^(−λt) dt — which is how :mod:`conversion`
predicts 131I from 124I.

References
----------
Burnham KP, Anderson DR. Model selection and multimodel inference. 2nd ed. Springer; 2002 (AICc,
Δ ≤ 2 rule).
"""

from __future__ import annotations

import dataclasses
import enum
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from redif.data import sourced_value
from redif.dosimetry._lm import levenberg_marquardt
from redif.dosimetry._models import MODELS, ExpModel
from redif.dosimetry.nuclides import THERAPY_NUCLIDE, get_nuclide
from redif.errors import ConvergenceError, InputError

__all__ = [
    "DecayCorrection",
    "KineticFit",
    "KineticModel",
    "ModelScore",
    "TimeActivity",
    "ValueUnit",
    "Weighting",
    "fit_kinetics",
]

FloatArray = NDArray[np.float64]
_THRESHOLDS = "dosimetry_thresholds.yaml"


class DecayCorrection(enum.StrEnum):
    """Whether measured values are corrected for physical decay back to the administration time."""

    DECAY_CORRECTED = "decay_corrected"
    NOT_DECAY_CORRECTED = "not_decay_corrected"

    @classmethod
    def from_bool(cls, decay_corrected: bool) -> DecayCorrection:
        """``True`` -> DECAY_CORRECTED, ``False`` -> NOT_DECAY_CORRECTED."""
        return cls.DECAY_CORRECTED if decay_corrected else cls.NOT_DECAY_CORRECTED


class ValueUnit(enum.StrEnum):
    """Unit of the time-activity values."""

    FRACTION = "fraction"  # of administered activity -> tia in h (residence time)
    MBQ = "MBq"  # -> tia in MBq*h


class Weighting(enum.StrEnum):
    """Least-squares weighting: uniform (absolute residuals) or relative (residual / value)."""

    UNIFORM = "uniform"
    RELATIVE = "relative"


def _weights(ys: FloatArray, weighting: Weighting) -> FloatArray:
    """Weights of the scaled values ``ys`` (max 1): 1, or 1/max(y, 1 % of the maximum)."""
    if weighting is Weighting.RELATIVE:
        return np.asarray(1.0 / np.maximum(ys, 0.01))
    return np.ones_like(ys)


class KineticModel(enum.StrEnum):
    """Time-activity models."""

    AUTO = "auto"
    MONO = "mono"
    BI = "bi"
    UPTAKE = "uptake"
    TRAPEZOID = "trapezoid"


@dataclass(frozen=True)
class TimeActivity:
    """Serial measurements of one source region.

    Parameters
    ----------
    times_h
        Times after administration in hours, strictly increasing, ≥ 0.
    values
        Activities at those times (fraction of administered activity, or MBq), ≥ 0 and finite.
    decay_correction
        Whether ``values`` are decay-corrected to the administration time.
    nuclide
        The nuclide measured (its physical half-life is used for the decay handling).
    unit
        :class:`ValueUnit` of ``values``.
    """

    times_h: tuple[float, ...]
    values: tuple[float, ...]
    decay_correction: DecayCorrection
    nuclide: str = THERAPY_NUCLIDE
    unit: ValueUnit = ValueUnit.FRACTION

    def __post_init__(self) -> None:
        t = np.asarray(self.times_h, dtype=float)
        y = np.asarray(self.values, dtype=float)
        if t.ndim != 1 or y.ndim != 1 or t.size == 0:
            raise InputError(
                "need one-dimensional, non-empty lists",
                field="times_h",
                value=self.times_h,
                remedy="give times and values as lists of numbers",
            )
        if t.size != y.size:
            raise InputError(
                f"{t.size} times but {y.size} values",
                field="values",
                value=self.values,
                remedy="give one value per time point",
            )
        if not np.all(np.isfinite(t)):
            raise InputError("times must be finite numbers (no NaN)", field="times_h", value=self.times_h)
        if not np.all(np.isfinite(y)):
            raise InputError(
                "values must be finite numbers (no NaN)",
                field="values",
                value=self.values,
                remedy="remove or re-measure the missing time point",
            )
        if np.any(t < 0):
            raise InputError("times must be >= 0 h after administration", field="times_h", value=self.times_h)
        if np.any(np.diff(t) <= 0):
            raise InputError(
                "times must be strictly increasing (non-monotonic or repeated time)",
                field="times_h",
                value=self.times_h,
                remedy="sort the measurements by time and merge duplicates",
            )
        if np.any(y < 0):
            raise InputError(
                "activities must be >= 0 (negative activity)",
                field="values",
                value=self.values,
                remedy="check background subtraction",
            )
        if self.unit is ValueUnit.FRACTION and np.any(y > 1.0 + 1e-9):
            raise InputError(
                "a fraction of the administered activity cannot exceed 1",
                field="values",
                value=self.values,
                remedy="give fractions (0-1) or use unit MBq",
            )
        object.__setattr__(self, "decay_correction", DecayCorrection(self.decay_correction))
        object.__setattr__(self, "unit", ValueUnit(self.unit))
        object.__setattr__(self, "nuclide", get_nuclide(self.nuclide).name)
        object.__setattr__(self, "times_h", tuple(float(v) for v in t))
        object.__setattr__(self, "values", tuple(float(v) for v in y))

    @classmethod
    def create(
        cls,
        times_h: ArrayLike,
        values: ArrayLike,
        *,
        decay_corrected: bool,
        nuclide: str = THERAPY_NUCLIDE,
        unit: ValueUnit | str = ValueUnit.FRACTION,
    ) -> TimeActivity:
        """Build from arrays with a boolean decay-correction flag."""
        return cls(
            tuple(np.atleast_1d(np.asarray(times_h, dtype=float)).tolist()),
            tuple(np.atleast_1d(np.asarray(values, dtype=float)).tolist()),
            DecayCorrection.from_bool(decay_corrected),
            nuclide,
            ValueUnit(unit),
        )

    @property
    def t(self) -> FloatArray:
        return np.asarray(self.times_h, dtype=float)

    @property
    def y(self) -> FloatArray:
        return np.asarray(self.values, dtype=float)

    @property
    def fit_decay_per_h(self) -> float:
        """Decay constant applied to the biological model to match these data (λ_phys or 0)."""
        if self.decay_correction is DecayCorrection.DECAY_CORRECTED:
            return 0.0
        return get_nuclide(self.nuclide).decay_constant_per_h

    def retention(self) -> FloatArray:
        """Biological (decay-corrected) retention at the measurement times."""
        return self.y * np.exp(self.fit_decay_per_h * self.t)


@dataclass(frozen=True)
class ModelScore:
    """Information criterion of one candidate model in an automatic choice."""

    model: KineticModel
    n_params: int
    aic: float | None
    aicc: float | None
    rss: float
    tia_h: float


@dataclass(frozen=True)
class KineticFit:
    """A fitted time-activity curve and its time-integrated activity.

    ``parameters`` are biological: amplitudes in the unit of the values, rates ``*_bio_per_h`` ≥ 0
    (effective rate = biological + λ_phys). ``tia_h`` integrates the physical (decaying) activity of
    ``nuclide`` from 0 to ∞: h for fractions (residence time), MBq·h for MBq.
    """

    model: KineticModel
    nuclide: str
    decay_correction: DecayCorrection
    unit: ValueUnit
    parameters: dict[str, float]
    parameter_se: dict[str, float]
    covariance: FloatArray | None
    tia_h: float
    effective_half_life_h: float
    aic: float | None
    aicc: float | None
    r2: float | None
    rss: float
    residuals: tuple[float, ...]
    fitted: tuple[float, ...]
    n_points: int
    n_params: int
    candidates: tuple[ModelScore, ...] = ()
    selection_rule: str = ""
    notes: tuple[str, ...] = ()
    extrapolated_fraction: float | None = None
    _u: FloatArray | None = field(default=None, repr=False, compare=False)
    stp_method: str | None = None
    weighting: Weighting = Weighting.UNIFORM
    _data: TimeActivity | None = field(default=None, repr=False, compare=False)

    @property
    def decay_corrected(self) -> bool:
        return self.decay_correction is DecayCorrection.DECAY_CORRECTED

    def tia_for(self, nuclide: str) -> float:
        """Time-integrated activity (h or MBq·h) of the same biology decaying as ``nuclide``."""
        lam = get_nuclide(nuclide).decay_constant_per_h
        if self.model is KineticModel.TRAPEZOID:
            assert self._data is not None
            return float(_trapezoid_tail(self._data.t, self._data.retention()[None, :], lam)[0][0])
        nat = np.array([[self.parameters[n] for n in MODELS[self.model.value].param_names]])
        return float(MODELS[self.model.value].integral(nat, lam)[0])

    def predict(self, times_h: ArrayLike, nuclide: str | None = None) -> FloatArray:
        """Physical (not decay-corrected) activity of ``nuclide`` (default: the fitted one) at times."""
        t = np.atleast_1d(np.asarray(times_h, dtype=float))
        lam = get_nuclide(nuclide or self.nuclide).decay_constant_per_h
        if self.model is KineticModel.TRAPEZOID:
            assert self._data is not None
            return np.asarray(np.interp(t, self._data.t, self._data.retention()) * np.exp(-lam * t))
        nat = np.array([[self.parameters[n] for n in MODELS[self.model.value].param_names]])
        return np.asarray(MODELS[self.model.value].curve(nat, t, lam)[0])

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly summary (stable keys)."""
        return {
            "model": self.model.value,
            "nuclide": self.nuclide,
            "decay_corrected": self.decay_corrected,
            "unit": self.unit.value,
            "tia_h": self.tia_h,
            "parameters": self.parameters,
            "parameter_se": self.parameter_se,
            "effective_half_life_h": self.effective_half_life_h,
            "aic": self.aic,
            "aicc": self.aicc,
            "r2": self.r2,
            "rss": self.rss,
            "residuals": list(self.residuals),
            "fitted": list(self.fitted),
            "n_points": self.n_points,
            "n_params": self.n_params,
            "candidates": [c.__dict__ for c in self.candidates],
            "selection_rule": self.selection_rule,
            "notes": list(self.notes),
            "extrapolated_fraction": self.extrapolated_fraction,
            "single_time_point_method": self.stp_method,
            "weighting": self.weighting.value,
        }


# ----------------------------------------------------------------------------------------------------
# information criteria
# ----------------------------------------------------------------------------------------------------
def _aic(rss: float, n: int, p: int) -> tuple[float | None, float | None]:
    """Least-squares AIC = n ln(RSS/n) + 2p and AICc = AIC + 2p(p+1)/(n-p-1) (None if undefined)."""
    if n <= p or rss <= 0:
        return None, None
    aic = n * math.log(rss / n) + 2 * p
    aicc = aic + 2 * p * (p + 1) / (n - p - 1) if n - p - 1 > 0 else None
    return aic, aicc


# ----------------------------------------------------------------------------------------------------
# fitting
# ----------------------------------------------------------------------------------------------------
def _fit_exp(data: TimeActivity, model: ExpModel, weighting: Weighting = Weighting.UNIFORM) -> KineticFit:
    t, y = data.t, data.y
    n, p = t.size, model.n_params
    if n < p:
        raise InputError(
            f"too few points for the {model.key} model: {n} time points, {p} parameters",
            field="times_h",
            value=data.times_h,
            remedy=f"give at least {p} (better {p + 2}) time points or choose a simpler model",
        )
    c = data.fit_decay_per_h
    scale = float(y.max()) if y.max() > 0 else 1.0
    ys = y / scale
    starts = model.to_unconstrained(model.start_points(t, ys, c))
    w = _weights(ys, weighting)

    def fn(u: FloatArray) -> tuple[FloatArray, FloatArray]:
        f, j = model.value_and_jacobian(u, t, c)
        return f * w[None, :], j * w[None, :, None]

    u, cost = levenberg_marquardt(fn, starts, ys * w, max_iter=150, tol=1e-10)
    best = int(np.nanargmin(cost))
    ub = u[best : best + 1]
    if not np.all(np.isfinite(ub)):
        raise ConvergenceError(f"{model.key} fit did not converge")
    nat = model.to_natural(ub)
    fitted_s, jac = fn(ub)
    fitted_s = fitted_s / w[None, :]
    resid_s = ys - fitted_s[0]
    wrss_s = float((resid_s * w) @ (resid_s * w))
    nat_scaled = nat[0].copy()
    amp_idx = [i for i, name in enumerate(model.param_names) if name.startswith("a")]
    nat_out = nat_scaled.copy()
    nat_out[amp_idx] *= scale
    # covariance: s^2 (J^T J)^-1 in u, delta method to natural, amplitudes rescaled
    cov: FloatArray | None = None
    se = dict.fromkeys(model.param_names, float("nan"))
    notes: list[str] = []
    if n > p:
        s2 = wrss_s / (n - p)
        jtj = jac[0].T @ jac[0]
        try:
            cov_u = s2 * np.linalg.pinv(jtj)
            d = model.natural_jacobian(ub)[0]
            cov_n = d @ cov_u @ d.T
            sc = np.ones(p)
            sc[amp_idx] = scale
            cov = cov_n * np.outer(sc, sc)
            se = {name: float(math.sqrt(max(cov[i, i], 0.0))) for i, name in enumerate(model.param_names)}
        except np.linalg.LinAlgError:
            notes.append("parameter covariance could not be computed (singular Jacobian)")
    else:
        notes.append("as many parameters as points: exact interpolation, no residual, no covariance")
    rss = float(resid_s @ resid_s) * scale**2
    tss = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - rss / tss if tss > 0 and n > p else None
    aic, aicc = _aic(rss if weighting is Weighting.UNIFORM else wrss_s, n, p)
    lam = get_nuclide(data.nuclide).decay_constant_per_h
    tia = float(model.integral(nat_out[None, :], lam)[0])
    k_term = float(model.terminal_rate(nat_out[None, :])[0])
    teff = math.log(2.0) / (k_term + lam)
    if k_term < 1e-8:
        notes.append("no biological clearance detected: the effective half-life equals the physical one")
    tail = float(model.integral_from(nat_out[None, :], lam, float(t[-1]))[0])
    extrap = tail / tia if tia > 0 else None
    notes.extend(_qa_notes(data, extrap))
    if data.unit is ValueUnit.FRACTION and model.key != "uptake":
        at0 = float(model.curve(nat_out[None, :], np.zeros(1), 0.0)[0, 0])
        if at0 > 1.0:
            notes.append(
                f"the fitted curve extrapolates to {at0:.3g} of the administered activity at t = 0 "
                "(> 1): early kinetics are not captured; add an early time point or another model"
            )
    return KineticFit(
        model=KineticModel(model.key),
        nuclide=data.nuclide,
        decay_correction=data.decay_correction,
        unit=data.unit,
        parameters={name: float(nat_out[i]) for i, name in enumerate(model.param_names)},
        parameter_se=se,
        covariance=cov,
        tia_h=tia,
        effective_half_life_h=teff,
        aic=aic,
        aicc=aicc,
        r2=r2,
        rss=rss,
        residuals=tuple(float(v) for v in resid_s * scale),
        fitted=tuple(float(v) for v in fitted_s[0] * scale),
        n_points=n,
        n_params=p,
        notes=tuple(notes),
        extrapolated_fraction=extrap,
        weighting=weighting,
        _u=ub[0].copy(),
        _data=data,
    )


def _qa_notes(data: TimeActivity, extrapolated_fraction: float | None) -> list[str]:
    """Quality notes shown with every fit (never silent)."""
    out: list[str] = []
    y = data.retention()
    if y.size >= 2 and y[-1] > y[-2]:
        out.append(
            "retention still rising at the last time point: the TIA rests on extrapolation; "
            "add a later measurement"
        )
    if extrapolated_fraction is not None and extrapolated_fraction > 0.5:
        out.append(
            f"{100 * extrapolated_fraction:.0f} % of the TIA lies after the last measurement: "
            "add a later time point"
        )
    return out


def _trapezoid_tail(t: FloatArray, f: FloatArray, lam: float) -> tuple[FloatArray, FloatArray]:
    """Trapezoid from (0, 0) through the points plus an exponential tail from the last two points.

    ``f`` (S, n) is biological retention; the integrated activity decays with ``lam``. The tail rate
    is the effective rate between the last two points, never below ``lam`` (biological rate ≥ 0).
    Returns (tia (S,), tail effective rate (S,)).
    """
    a = f * np.exp(-lam * t)[None, :]
    tt = np.concatenate([[0.0], t]) if t[0] > 0 else t
    aa = np.concatenate([np.zeros((a.shape[0], 1)), a], axis=1) if t[0] > 0 else a
    area = np.sum(0.5 * (aa[:, 1:] + aa[:, :-1]) * np.diff(tt)[None, :], axis=1)
    if t.size >= 2:
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = np.log(a[:, -2] / a[:, -1]) / (t[-1] - t[-2])
        rate = np.where(np.isfinite(rate), np.maximum(rate, lam), lam)
    else:
        rate = np.full(a.shape[0], lam)
    return area + a[:, -1] / rate, rate


def _fit_trapezoid(data: TimeActivity) -> KineticFit:
    lam = get_nuclide(data.nuclide).decay_constant_per_h
    if data.t.size < 2:
        raise InputError(
            "too few points for the trapezoid model: need at least 2", field="times_h", value=data.times_h
        )
    tia, rate = _trapezoid_tail(data.t, data.retention()[None, :], lam)
    tail_start = float(data.retention()[-1] * math.exp(-lam * data.t[-1]))
    params = {
        "tail_rate_eff_per_h": float(rate[0]),
        "tail_k_bio_per_h": float(rate[0] - lam),
        "tail_area": tail_start / float(rate[0]),
        "trapezoid_area": float(tia[0]) - tail_start / float(rate[0]),
    }
    extrap = params["tail_area"] / float(tia[0]) if tia[0] > 0 else None
    return KineticFit(
        model=KineticModel.TRAPEZOID,
        nuclide=data.nuclide,
        decay_correction=data.decay_correction,
        unit=data.unit,
        parameters=params,
        parameter_se={},
        covariance=None,
        tia_h=float(tia[0]),
        effective_half_life_h=math.log(2.0) / float(rate[0]),
        aic=None,
        aicc=None,
        r2=None,
        rss=0.0,
        residuals=tuple(0.0 for _ in data.times_h),
        fitted=data.values,
        n_points=data.t.size,
        n_params=0,
        notes=(
            "trapezoid from (0 h, 0) through the points, exponential tail from the last two points "
            "with effective rate >= lambda_phys",
            *_qa_notes(data, extrap),
        ),
        extrapolated_fraction=extrap,
        _data=data,
    )


def fit_kinetics(
    data: TimeActivity,
    model: KineticModel | str = KineticModel.AUTO,
    *,
    parsimony_delta_aic: float | None = None,
    weighting: Weighting | str = Weighting.UNIFORM,
) -> KineticFit:
    """Fit a time-activity curve and integrate it.

    Parameters
    ----------
    data
        The measurements with their explicit decay-correction flag.
    model
        ``mono``, ``bi``, ``uptake``, ``trapezoid`` or ``auto``. ``auto`` fits mono, bi and uptake
        wherever at least one residual degree of freedom remains (n ≥ p + 1), ranks them by AICc when
        AICc is defined for every candidate and by AIC otherwise (with 4 points AICc is undefined for
        the 3-parameter uptake-washout model, which would otherwise never be chosen), then applies the
        parsimony rule: the model with the fewest parameters within ``parsimony_delta_aic`` (default 2,
        from ``dosimetry_thresholds.yaml``) of the best wins. With 2 points it uses the mono-exponential
        fit.
    weighting
        ``uniform`` (ordinary least squares, the default) or ``relative`` (residuals divided by the
        value, floor 1 % of the maximum: constant relative error, e.g. counting statistics). AIC uses
        the weighted residual sum of squares.

    Returns
    -------
    KineticFit

    Raises
    ------
    InputError
        Too few points for the model; bad data (see :class:`TimeActivity`).

    References
    ----------
    Burnham & Anderson 2002 (AICc; ΔAIC ≤ 2 → prefer fewer parameters).
    """
    try:
        km = KineticModel(model)
    except ValueError:
        raise InputError(
            "unknown kinetic model",
            field="model",
            value=model,
            remedy="use auto, mono, bi, uptake or trapezoid",
        ) from None
    try:
        wt = Weighting(weighting)
    except ValueError:
        raise InputError(
            "unknown weighting", field="weighting", value=weighting, remedy="use uniform or relative"
        ) from None
    if km is KineticModel.TRAPEZOID:
        return _fit_trapezoid(data)
    if km is not KineticModel.AUTO:
        return _fit_exp(data, MODELS[km.value], wt)
    delta = (
        float(sourced_value(_THRESHOLDS, "kinetics_parsimony_delta_aic").value)
        if parsimony_delta_aic is None
        else parsimony_delta_aic
    )
    n = data.t.size
    fits: list[KineticFit] = []
    for key in ("mono", "uptake", "bi"):
        if n >= MODELS[key].n_params + 1:  # at least one residual degree of freedom
            try:
                fits.append(_fit_exp(data, MODELS[key], wt))
            except ConvergenceError:
                continue
    if not fits:
        fit = _fit_exp(data, MODELS["mono"], wt)
        return _replace(fit, selection_rule=f"only {n} points: no model comparison, mono-exponential used")
    # AICc where it is defined for every candidate; otherwise (e.g. 4 points and a 3-parameter
    # uptake-washout model) plain AIC for all candidates, so that one criterion ranks them all.
    use_aicc = all(f.aicc is not None for f in fits)
    crit_name = "AICc" if use_aicc else "AIC"

    def _crit(f: KineticFit) -> float:
        value = f.aicc if use_aicc else f.aic
        return float("inf") if value is None else float(value)

    best = min(_crit(f) for f in fits)
    eligible = sorted((f for f in fits if _crit(f) <= best + delta), key=lambda f: (f.n_params, _crit(f)))
    chosen = eligible[0]
    cands = tuple(ModelScore(f.model, f.n_params, f.aic, f.aicc, f.rss, f.tia_h) for f in fits)
    rule = (
        f"lowest {crit_name} {best:.3f}; parsimony: fewest parameters within Δ{crit_name} <= {delta:g} "
        f"-> {chosen.model.value} ({crit_name} {_crit(chosen):.3f})"
    )
    return _replace(chosen, candidates=cands, selection_rule=rule)


def _replace(fit: KineticFit, **changes: Any) -> KineticFit:
    return dataclasses.replace(fit, **changes)
