"""Post-therapy verification: predicted (124I) against delivered (131I SPECT) lesion doses (pure).

Per lesion the delivered dose ``D_d`` (from the post-therapy SPECT time points) is compared with the
predicted dose ``D_p`` (124I PET, decay swapped, scaled to the administered 131I activity):

* ratio ``R = D_d / D_p``, difference ``D_d - D_p`` (Gy) and log ratio ``ln R``;
* the ratio's relative standard uncertainty by first-order propagation for a quotient of independent
  quantities (GUM, JCGM 100:2008 §5.1.6): ``u(R)/R = sqrt((u(D_d)/D_d)^2 + (u(D_p)/D_p)^2)``, the
  stated relative standard uncertainties of both doses; ``u(ln R) = u(R)/R`` to first order, so the 95 %
  interval of ``R`` is ``R exp(+/- z u(R)/R)`` (``z`` the 97.5 % normal quantile). Where either
  uncertainty is not stated the ratio's is not given (never assumed zero).

Over the lesions, Bland-Altman statistics (Bland & Altman 1986): mean difference (bias), its SD, the
95 % limits of agreement ``mean +/- z SD`` and their approximate 95 % confidence intervals (standard
errors ``SD / sqrt(n)`` for the bias and ``sqrt(3 SD^2 / n)`` for each limit, with Student's t on
``n - 1`` degrees of freedom, as in the 1986 paper). The primary scale is the **log ratio**
``ln(D_d / D_p)`` (dose errors are multiplicative: a calibration or uptake factor scales every dose),
reported back-transformed as a geometric-mean ratio and ratio limits; the difference in Gy is given too.
Bland & Altman 1986 used ``2 SD``; ``z = 1.96`` is used here as in their 1999 paper.

References
----------
Bland JM, Altman DG. Statistical methods for assessing agreement between two methods of clinical
measurement. Lancet 1986;1(8476):307-310.
Bland JM, Altman DG. Measuring agreement in method comparison studies. Stat Methods Med Res
1999;8:135-160.
JCGM 100:2008 (GUM), Evaluation of measurement data - Guide to the expression of uncertainty in
measurement, §5.1.6.
Hänscheid H et al. J Nucl Med 2018;59:75-81 (single-time-point TIA).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from redif.dosimetry.dvh import LesionDose, lesion_statistics
from redif.dosimetry.kernels import Tissue
from redif.dosimetry.nuclides import THERAPY_NUCLIDE, get_nuclide
from redif.dosimetry.single_time_point import hanscheid_tia_h, madsen_tia_h
from redif.dosimetry.voxel import dose_from_tia, soft_tissue_density
from redif.errors import InputError
from redif.io.volume import Volume

__all__ = [
    "Z95",
    "BlandAltman",
    "DosePair",
    "LesionVerification",
    "VerificationResult",
    "bland_altman",
    "ratio_uncertainty",
    "single_time_point_lesion_doses",
    "verify_lesion_doses",
]

#: 97.5 % quantile of the standard normal distribution (95 % two-sided)
Z95 = float(stats.norm.ppf(0.975))


@dataclass(frozen=True)
class DosePair:
    """Predicted and delivered mean dose of one lesion (Gy) with stated relative standard uncertainties."""

    name: str
    predicted_gy: float
    delivered_gy: float
    u_predicted_rel: float | None = None
    u_delivered_rel: float | None = None
    label: int | None = None


@dataclass(frozen=True)
class LesionVerification:
    """Per-lesion comparison (see module docstring)."""

    label: int | None
    name: str
    predicted_gy: float
    delivered_gy: float
    ratio: float
    log_ratio: float
    difference_gy: float
    u_predicted_rel: float | None
    u_delivered_rel: float | None
    u_ratio_rel: float | None
    u_ratio: float | None
    ratio_ci95_lower: float | None
    ratio_ci95_upper: float | None


@dataclass(frozen=True)
class BlandAltman:
    """Bland-Altman statistics of ``delivered - predicted`` on one scale (``log_ratio`` or ``difference_gy``).

    ``ratio_*`` (log scale only) are the back-transformed geometric-mean ratio and ratio limits.
    """

    scale: str
    n: int
    mean: float
    sd: float
    loa_lower: float
    loa_upper: float
    z: float
    mean_ci95: tuple[float, float]
    loa_lower_ci95: tuple[float, float]
    loa_upper_ci95: tuple[float, float]
    ratio_geometric_mean: float | None = None
    ratio_loa_lower: float | None = None
    ratio_loa_upper: float | None = None


@dataclass(frozen=True)
class VerificationResult:
    """All lesions, and the Bland-Altman statistics over them (``None`` with fewer than two lesions)."""

    lesions: list[LesionVerification]
    bland_altman_log_ratio: BlandAltman | None
    bland_altman_difference_gy: BlandAltman | None
    notes: list[str]


def _check_u(u: float | None, field: str) -> float | None:
    if u is None:
        return None
    if not (math.isfinite(u) and u >= 0):
        raise InputError("relative standard uncertainty must be finite and >= 0", field=field, value=u,
                         remedy="give a fraction, e.g. 0.1 for 10 %")
    return float(u)


def ratio_uncertainty(u_predicted_rel: float | None, u_delivered_rel: float | None) -> float | None:
    """Relative standard uncertainty of ``D_d / D_p`` (independent inputs, first order); ``None`` if either
    is not stated."""
    up = _check_u(u_predicted_rel, "u_predicted")
    ud = _check_u(u_delivered_rel, "u_delivered")
    if up is None or ud is None:
        return None
    return math.hypot(up, ud)


def bland_altman(delivered: Sequence[float], predicted: Sequence[float], *, log: bool = True) -> BlandAltman:
    """Bland-Altman statistics of ``delivered`` against ``predicted`` (see module docstring).

    Raises
    ------
    InputError
        Fewer than two pairs, unequal lengths, or (log scale) a dose that is not positive.
    """
    a = np.asarray(delivered, dtype=np.float64)
    b = np.asarray(predicted, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise InputError("delivered and predicted need one value per lesion each", field="lesions",
                         value=(a.shape, b.shape))
    n = int(a.size)
    if n < 2:
        raise InputError("Bland-Altman statistics need at least two lesions", field="lesions", value=n)
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise InputError("doses must be finite", field="lesions")
    if log:
        if np.any(a <= 0) or np.any(b <= 0):
            raise InputError("log-ratio statistics need positive doses", field="lesions",
                             remedy="drop lesions with a zero dose")
        d = np.log(a) - np.log(b)
    else:
        d = a - b
    mean = float(d.mean())
    sd = float(d.std(ddof=1))
    t = float(stats.t.ppf(0.975, n - 1))
    se_mean = sd / math.sqrt(n)
    se_loa = math.sqrt(3.0 * sd * sd / n)
    lo, hi = mean - Z95 * sd, mean + Z95 * sd
    out = BlandAltman(
        scale="log_ratio" if log else "difference_gy", n=n, mean=mean, sd=sd, loa_lower=lo, loa_upper=hi,
        z=Z95, mean_ci95=(mean - t * se_mean, mean + t * se_mean),
        loa_lower_ci95=(lo - t * se_loa, lo + t * se_loa), loa_upper_ci95=(hi - t * se_loa, hi + t * se_loa),
    )
    if log:
        out = BlandAltman(**{**out.__dict__, "ratio_geometric_mean": math.exp(mean),
                             "ratio_loa_lower": math.exp(lo), "ratio_loa_upper": math.exp(hi)})
    return out


def verify_lesion_doses(pairs: Sequence[DosePair], notes: Sequence[str] = ()) -> VerificationResult:
    """Per-lesion ratios with uncertainty and Bland-Altman statistics over the lesions (pure).

    Raises
    ------
    InputError
        No lesions, or a dose that is not finite and positive.
    """
    if not pairs:
        raise InputError("no lesion to compare", field="lesions", remedy="check the lesion names in the "
                         "prediction and the mask")
    rows = []
    for p in pairs:
        for what, v in (("predicted", p.predicted_gy), ("delivered", p.delivered_gy)):
            if not (math.isfinite(v) and v > 0):
                raise InputError(f"{what} dose of lesion {p.name!r} is not a positive number", field=what,
                                 value=v, remedy="check the lesion mask and the images")
        r = p.delivered_gy / p.predicted_gy
        u = ratio_uncertainty(p.u_predicted_rel, p.u_delivered_rel)
        rows.append(LesionVerification(
            label=p.label, name=p.name, predicted_gy=p.predicted_gy, delivered_gy=p.delivered_gy, ratio=r,
            log_ratio=math.log(r), difference_gy=p.delivered_gy - p.predicted_gy,
            u_predicted_rel=p.u_predicted_rel, u_delivered_rel=p.u_delivered_rel, u_ratio_rel=u,
            u_ratio=None if u is None else r * u,
            ratio_ci95_lower=None if u is None else r * math.exp(-Z95 * u),
            ratio_ci95_upper=None if u is None else r * math.exp(Z95 * u),
        ))
    out_notes = list(notes)
    ba_log = ba_diff = None
    if len(rows) >= 2:
        dd = [r.delivered_gy for r in rows]
        pp = [r.predicted_gy for r in rows]
        ba_log = bland_altman(dd, pp, log=True)
        ba_diff = bland_altman(dd, pp, log=False)
    else:
        out_notes.append("Bland-Altman statistics need at least two lesions")
    return VerificationResult(rows, ba_log, ba_diff, out_notes)


def single_time_point_lesion_doses(
    volume: Volume,
    labels: NDArray[np.integer],
    names: Mapping[int, str],
    *,
    effective_half_life_h: float | None = None,
    tissue: Tissue | str = Tissue.SOFT,
    density_g_per_ml: float | None = None,
) -> list[LesionDose]:
    """Lesion doses (Gy) of the administered 131I from ONE post-therapy SPECT time point (pure).

    Each voxel's TIA is its activity at the scan times the single-time-point factor: Hänscheid et al.
    2018 (``2 t / ln 2``, exact for mono-exponential kinetics sampled at ``t = T_eff``) or, with
    ``effective_half_life_h``, Madsen et al. 2018 (``exp(lambda_eff t) / lambda_eff``); then the same
    kernel convolution and lesion statistics as :func:`redif.dosimetry.voxel_pipeline.compute_voxel_dose`.
    """
    if volume.nuclide is not None and get_nuclide(volume.nuclide).name != THERAPY_NUCLIDE:
        raise InputError(f"post-therapy image of {volume.nuclide}, not {THERAPY_NUCLIDE}",
                         field=volume.source, value=volume.nuclide, remedy="give the post-therapy 131I SPECT")
    t = volume.time_since_admin_h
    if t is None or t <= 0:
        raise InputError("acquisition not after the administration", field=volume.source, value=t,
                         remedy="check SeriesTime and RadiopharmaceuticalStartDateTime")
    if labels.shape != volume.shape:
        raise InputError("mask and SPECT differ in shape", field="mask", value=(labels.shape, volume.shape))
    if effective_half_life_h is None:
        factor_h = hanscheid_tia_h(1.0, t)
    else:
        factor_h = madsen_tia_h(1.0, t, effective_half_life_h)
    act = volume.activity_at_acquisition().array
    tia_mbq_h = (act * np.float32(volume.voxel_volume_ml / 1e6 * factor_h)).astype(np.float32)
    dose_gy = np.asarray(dose_from_tia(tia_mbq_h * np.float32(3600.0), volume.spacing_mm, THERAPY_NUCLIDE,
                                       str(Tissue(tissue))), dtype=np.float32) / np.float32(1000.0)
    rho = soft_tissue_density() if density_g_per_ml is None else float(density_g_per_ml)
    return lesion_statistics(dose_gy, labels, names, volume.voxel_volume_ml, density_g_per_ml=rho,
                             tia_mbq_h=tia_mbq_h)
