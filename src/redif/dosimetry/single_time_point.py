"""Single-time-point estimates of the time-integrated activity (Hänscheid 2018, Madsen 2018).

References
----------
Hänscheid H, Lapa C, Buck AK, Lassmann M, Werner RA. Dose mapping after endoradiotherapy with
177Lu-DOTATATE/-TATE: a single-time-point approach. J Nucl Med 2018;59:75-81.
doi:10.2967/jnumed.117.193706.
Madsen MT, Menda Y, O'Dorisio TM, O'Dorisio MS. Single time point dose estimate for exponential
clearance. Med Phys 2018;45:2318-2324.
"""

from __future__ import annotations

import enum
import math

from redif.dosimetry.kinetics import DecayCorrection, KineticFit, KineticModel, TimeActivity
from redif.dosimetry.nuclides import THERAPY_NUCLIDE, get_nuclide
from redif.errors import InputError

__all__ = ["StpMethod", "hanscheid_tia_h", "madsen_tia_h", "single_time_point_fit"]


def _physical_value(value: float, time_h: float, decay_corrected: bool, nuclide: str) -> float:
    if not (math.isfinite(value) and value >= 0):
        raise InputError("activity must be a finite number >= 0", field="value", value=value)
    if not (math.isfinite(time_h) and time_h > 0):
        raise InputError("time must be > 0 h", field="time_h", value=time_h)
    if decay_corrected:
        return value * math.exp(-get_nuclide(nuclide).decay_constant_per_h * time_h)
    return value


def hanscheid_tia_h(
    value: float, time_h: float, *, decay_corrected: bool = False, nuclide: str = THERAPY_NUCLIDE
) -> float:
    """Single-time-point TIA after Hänscheid et al. 2018: Ã ≈ A(t)·2t/ln 2.

    Exact for mono-exponential kinetics when the measurement is taken at t = T_eff; the physical
    (not decay-corrected) activity is used (decay-corrected input is converted).

    References
    ----------
    Hänscheid H et al. J Nucl Med 2018;59:75-81. doi:10.2967/jnumed.117.193706.
    """
    a = _physical_value(value, time_h, decay_corrected, nuclide)
    return a * 2.0 * time_h / math.log(2.0)


def madsen_tia_h(
    value: float,
    time_h: float,
    effective_half_life_h: float,
    *,
    decay_corrected: bool = False,
    nuclide: str = THERAPY_NUCLIDE,
) -> float:
    """Single-time-point TIA after Madsen et al. 2018: Ã = A(t)·e^(λ_eff t)/λ_eff.

    ``effective_half_life_h`` is a prior (population) effective half-life; exact for mono-exponential
    kinetics with that half-life at any measurement time.

    References
    ----------
    Madsen MT et al. Med Phys 2018;45:2318-2324.
    """
    if not (math.isfinite(effective_half_life_h) and effective_half_life_h > 0):
        raise InputError(
            "effective half-life must be > 0 h", field="effective_half_life_h", value=effective_half_life_h
        )
    a = _physical_value(value, time_h, decay_corrected, nuclide)
    lam = math.log(2.0) / effective_half_life_h
    return a * math.exp(lam * time_h) / lam


class StpMethod(enum.StrEnum):
    """Single-time-point methods."""

    HANSCHEID = "hanscheid"
    MADSEN = "madsen"


def single_time_point_fit(
    data: TimeActivity,
    method: StpMethod | str = StpMethod.HANSCHEID,
    *,
    effective_half_life_h: float | None = None,
) -> KineticFit:
    """A mono-exponential curve through one measurement, usable like any other fit.

    Hänscheid 2018 is Madsen's formula with T_eff = t (exact when the measurement is taken at T_eff);
    Madsen 2018 takes a prior effective half-life of the *measured* nuclide. The biological rate
    k_bio = ln2/T_eff − λ_phys is kept (so :meth:`KineticFit.tia_for` predicts 131I from a 124I
    measurement); a prior faster than physical decay allows is refused, and k_bio < 0 (T_eff longer
    than the physical half-life) is clipped to 0 with a note.

    References
    ----------
    Hänscheid H et al. J Nucl Med 2018;59:75-81; Madsen MT et al. Med Phys 2018;45:2318-2324.
    """
    if data.t.size != 1:
        raise InputError(
            "a single-time-point estimate takes exactly one measurement",
            field="times_h",
            value=data.times_h,
            remedy="give one time and one value, or fit the series",
        )
    try:
        m = StpMethod(method)
    except ValueError:
        raise InputError(
            "unknown single-time-point method", field="method", value=method, remedy="use hanscheid or madsen"
        ) from None
    t = float(data.t[0])
    if t <= 0:
        raise InputError("the measurement time must be > 0 h", field="times_h", value=data.times_h)
    lam = get_nuclide(data.nuclide).decay_constant_per_h
    if m is StpMethod.HANSCHEID:
        teff = t
        tia = hanscheid_tia_h(
            data.values[0],
            t,
            decay_corrected=data.decay_correction is DecayCorrection.DECAY_CORRECTED,
            nuclide=data.nuclide,
        )
        rule = f"Hänscheid 2018: A(t)*2t/ln2, i.e. mono-exponential with T_eff = t = {t:g} h"
    else:
        if effective_half_life_h is None:
            raise InputError(
                "Madsen's method needs a prior effective half-life",
                field="effective_half_life_h",
                remedy="give the population effective half-life of the measured nuclide in h",
            )
        teff = effective_half_life_h
        tia = madsen_tia_h(
            data.values[0],
            t,
            teff,
            decay_corrected=data.decay_correction is DecayCorrection.DECAY_CORRECTED,
            nuclide=data.nuclide,
        )
        rule = f"Madsen 2018: A(t)*exp(lambda_eff t)/lambda_eff with prior T_eff = {teff:g} h"
    notes = [rule]
    k_bio = math.log(2.0) / teff - lam
    if k_bio < 0:
        notes.append(
            f"T_eff {teff:g} h exceeds the physical half-life of {data.nuclide}: biological "
            "clearance set to 0"
        )
        k_bio = 0.0
    r = k_bio + lam
    a_phys = float(data.retention()[0]) * math.exp(-lam * t)
    a0 = a_phys * math.exp(r * t)
    tia_model = a0 / r
    return KineticFit(
        model=KineticModel.MONO,
        nuclide=data.nuclide,
        decay_correction=data.decay_correction,
        unit=data.unit,
        parameters={"a": a0, "k_bio_per_h": k_bio},
        parameter_se={},
        covariance=None,
        tia_h=tia_model if k_bio == 0.0 else tia,
        effective_half_life_h=math.log(2.0) / r,
        aic=None,
        aicc=None,
        r2=None,
        rss=0.0,
        residuals=(0.0,),
        fitted=data.values,
        n_points=1,
        n_params=2,
        selection_rule=f"single time point ({m.value})",
        notes=tuple(notes),
        extrapolated_fraction=math.exp(-r * t),
        stp_method=m.value,
        _data=data,
    )
