"""Per-voxel time-integrated activity (TIA) from multi-time-point activity images.

Two methods (docs/methods/dosimetry.md §7):

``fit``
    Every voxel is fitted (vectorised, closed form) with a mono-exponential by log-linear weighted least
    squares on its late points (weights = activity, the inverse variance of log-activity for Poisson
    counts), with lambda_eff >= lambda_phys (the data are **not** decay corrected, §3). The integral is:
    first point extrapolated back to t = 0 as a constant (rectangle ``A(t1) * t1``), trapezoids between
    the earlier points, and the analytic integral of the fitted exponential from the first late point
    to infinity.
``region``
    Region kinetics scaled per voxel (as PyTheranostics does): each labelled region (and the remainder
    outside every label) gets one time-activity curve (sum over its voxels) fitted as above; each voxel
    receives the region TIA times its share of the region's trapezoid-weighted activity
    ``sum_i w_i A_v(t_i) / sum_i w_i A_R(t_i)``. The per-region totals are preserved exactly.

Output unit: **MBq*h per voxel** (multiply by 3600 for MBq*s, the unit of the voxel S-values).

References
----------
Bolch WE et al. MIRD Pamphlet No. 17. J Nucl Med 1999;40:11S-36S.
docs/methods/dosimetry.md §3, §4, §7.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from redif.dosimetry.conversion import convert_activity
from redif.dosimetry.nuclides import THERAPY_NUCLIDE, get_nuclide
from redif.errors import InputError
from redif.io.volume import Volume, same_grid

__all__ = [
    "TiaMethod",
    "TimeSeries",
    "check_time_series",
    "region_tia",
    "swap_physical_decay",
    "tia_map",
    "voxel_fit_tia",
]


class TiaMethod(enum.StrEnum):
    """Per-voxel time-integration method."""

    FIT = "fit"
    REGION = "region"


@dataclass(frozen=True)
class TimeSeries:
    """Checked time points on one grid, as activity at acquisition (never decay corrected).

    Attributes
    ----------
    times_h
        Hours after administration, strictly increasing.
    activity_bqml
        float32 ``[time, slice, row, column]``, Bq/mL at each scan start.
    nuclide
        Imaged nuclide (e.g. ``"I-124"``); its physical decay is in the data.
    injected_activity_mbq
        Administered activity of the imaged nuclide (``None`` if the series did not record it).
    reference
        The first time point (geometry, identifiers; its array is not used).
    """

    times_h: NDArray[np.float64]
    activity_bqml: NDArray[np.float32]
    nuclide: str
    injected_activity_mbq: float | None
    reference: Volume

    @property
    def voxel_volume_ml(self) -> float:
        """Voxel volume, mL."""
        return self.reference.voxel_volume_ml


def check_time_series(volumes: Sequence[Volume], *, nuclide: str | None = None) -> TimeSeries:
    """Check time points and stack them as activity at acquisition time (decay correction undone).

    Raises
    ------
    InputError
        Naming the file: fewer than two time points, different grids, different administrations,
        unknown nuclide, a time point not after the previous one, or one before the administration.
    """
    if len(volumes) < 2:
        raise InputError("need at least two time points", field="volumes", value=len(volumes),
                         remedy="give one folder per time point, e.g. 4, 24, 48 and 96 h")
    first = volumes[0]
    name = nuclide or first.nuclide
    if name is None:
        raise InputError("cannot tell the nuclide from RadionuclideHalfLife", field=first.source,
                         value=first.half_life_s, remedy="give the nuclide explicitly (e.g. I-124)")
    get_nuclide(name)
    times: list[float] = []
    stack = np.empty((len(volumes), *first.shape), dtype=np.float32)
    for i, vol in enumerate(volumes):
        if vol.units != "BQML":
            raise InputError("time point not in Bq/mL", field=vol.source, value=vol.units)
        if not same_grid(vol.affine, vol.shape, first.affine, first.shape):
            raise InputError(f"time point {vol.source} is on a different grid from {first.source}",
                             field="volumes", remedy="resample all time points onto one grid first")
        if vol.radiopharmaceutical_start != first.radiopharmaceutical_start or (
                vol.nuclide or name) != name:
            raise InputError(f"time point {vol.source} belongs to another administration than "
                             f"{first.source} (injection time or nuclide differ)", field="volumes")
        t = vol.time_since_admin_h
        if t is None or t <= 0:
            raise InputError("acquisition not after the administration", field=vol.source, value=t,
                             remedy="check SeriesTime and RadiopharmaceuticalStartDateTime")
        if times and t <= times[-1]:
            raise InputError(f"time points not increasing: {t:g} h after {times[-1]:g} h",
                             field=vol.source, value=t, remedy="give the time points in time order")
        times.append(t)
        stack[i] = vol.activity_at_acquisition().array
    mbq = first.total_dose_bq / 1e6 if first.total_dose_bq is not None else None
    return TimeSeries(np.asarray(times, dtype=np.float64), stack, get_nuclide(name).name, mbq,
                      replace(first, array=np.empty((0, 0, 0), dtype=np.float32)))


def _swap_factors(times_h: NDArray[np.float64], from_nuclide: str, to_nuclide: str) -> NDArray[np.float64]:
    """Per-time factors ``exp((lambda_from - lambda_to) t)``: the region engine's conversion of a unit
    curve (:func:`redif.dosimetry.conversion.convert_activity`), applied to every voxel."""
    return np.asarray(convert_activity(times_h, np.ones_like(times_h), from_nuclide=from_nuclide,
                                       to_nuclide=to_nuclide), dtype=np.float64)


def swap_physical_decay(series: TimeSeries, to_nuclide: str = THERAPY_NUCLIDE) -> TimeSeries:
    """Predict the activity of ``to_nuclide`` with the same biological kinetics (per voxel).

    ``a_to(t) = a_from(t) * exp((lambda_from - lambda_to) * t)`` for the same administered activity
    (docs/methods/dosimetry.md §4), with the factors of :func:`redif.dosimetry.conversion.convert_activity`.

    References
    ----------
    docs/methods/dosimetry.md §4 (Jentzen et al. 2008; Ho et al. 2013).
    """
    factors = _swap_factors(series.times_h, series.nuclide, to_nuclide).astype(np.float32)
    swapped = series.activity_bqml * factors[:, None, None, None]
    return replace(series, activity_bqml=swapped, nuclide=get_nuclide(to_nuclide).name)


def _trapezoid_weights(times_h: NDArray[np.float64], stop: int) -> NDArray[np.float64]:
    """Weights w_i with sum_i w_i A_i = A_0 t_0 + trapezoids from t_0 to t_stop."""
    w = np.zeros(len(times_h))
    w[0] = times_h[0]
    for i in range(stop):
        dt = times_h[i + 1] - times_h[i]
        w[i] += dt / 2
        w[i + 1] += dt / 2
    return w


_BLOCK_VOXELS = 1 << 18  # cache-friendly block size of the vectorised fit


def voxel_fit_tia(
    times_h: NDArray[np.float64],
    activity: NDArray[np.float32],
    lambda_phys_per_h: float,
    *,
    n_late: int = 3,
    time_factors: NDArray[np.float64] | None = None,
    threads: int | None = None,
) -> NDArray[np.float32]:
    """Integral over 0..inf of each voxel's time-activity curve (unit: input unit x h).

    Parameters
    ----------
    times_h
        Sampling times (h after administration), strictly increasing, length n >= 2.
    activity
        ``[n, ...]`` activity (not decay corrected), any spatial shape.
    lambda_phys_per_h
        Physical decay constant of the nuclide whose curve is integrated (lower bound of lambda_eff).
    n_late
        Number of last points fitted (2 <= n_late <= n).
    time_factors
        Optional factor per time point applied on the fly (e.g. ``exp((lam124 - lam131) t)`` for the
        131I prediction, see :func:`swap_physical_decay`) without copying the 4-D stack.

    Notes
    -----
    Voxels with fewer than two positive late points get lambda_eff = lambda_phys from their last
    positive point (physical decay only, the conservative tail); all-zero voxels integrate to 0.
    The arithmetic is float32 with the fit times centred. The voxels are processed in blocks of 2^18
    (cache-friendly, small temporaries) on ``threads`` threads (default: CPU count; numpy releases the
    GIL in its loops); the result does not depend on the number of threads.
    """
    shape = activity.shape[1:]
    flat = activity.reshape(activity.shape[0], -1)
    nvox = flat.shape[1]
    out = np.empty(nvox, dtype=np.float32)
    starts = list(range(0, nvox, _BLOCK_VOXELS))

    def _run(start: int) -> None:
        stop = min(start + _BLOCK_VOXELS, nvox)
        out[start:stop] = _fit_block(times_h, flat[:, start:stop], lambda_phys_per_h, n_late, time_factors)

    workers = threads if threads is not None else (os.cpu_count() or 1)
    if workers > 1 and len(starts) > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(_run, starts))
    else:
        for start in starts:
            _run(start)
    return out.reshape(shape)


def _fit_block(
    times_h: NDArray[np.float64],
    activity: NDArray[np.float32],
    lambda_phys_per_h: float,
    n_late: int,
    time_factors: NDArray[np.float64] | None,
) -> NDArray[np.float32]:
    n = len(times_h)
    k = min(max(n_late, 2), n)
    first_late = n - k
    f = np.ones(n) if time_factors is None else np.asarray(time_factors, dtype=np.float64)
    shape = activity.shape[1:]
    acc = np.zeros(shape, dtype=np.float32)
    w = _trapezoid_weights(times_h, first_late)
    for i in range(first_late):
        if w[i]:
            acc += np.float32(w[i] * f[i]) * activity[i]
    tc = (times_h[first_late:] - times_h[first_late:].mean()).astype(np.float32)
    s = np.zeros(shape, dtype=np.float32)
    st = np.zeros(shape, dtype=np.float32)
    sy = np.zeros(shape, dtype=np.float32)
    npos = np.zeros(shape, dtype=np.int8)
    wts, logs = [], []
    for j in range(k):
        wj = activity[first_late + j] * np.float32(f[first_late + j])
        if j == 0 and w[first_late]:
            acc += np.float32(w[first_late]) * wj
        np.maximum(wj, np.float32(0), out=wj)
        pos = wj > 0
        yj = np.log(wj, where=pos, out=np.zeros(shape, dtype=np.float32))
        s += wj
        st += tc[j] * wj
        sy += wj * yj
        npos += pos
        wts.append(wj)
        logs.append(yj)
    has = s > 0
    safe_s = np.where(has, s, np.float32(1))
    tbar = st / safe_s
    ybar = sy / safe_s
    del st, sy
    num = np.zeros(shape, dtype=np.float32)
    den = np.zeros(shape, dtype=np.float32)
    for j in range(k):
        dt = tc[j] - tbar
        wdt = wts[j] * dt
        den += wdt * dt
        wdt *= logs[j] - ybar
        num += wdt
    ok = (npos >= 2) & (den > 0)
    lam = np.full(shape, np.float32(lambda_phys_per_h), dtype=np.float32)
    np.divide(-num, den, out=lam, where=ok)
    np.maximum(lam, np.float32(lambda_phys_per_h), out=lam)
    if not np.all(ok | ~has):
        # voxels without a fit: tail from the last positive point with physical decay only
        fix = has & ~ok
        last_idx = np.full(shape, -1, dtype=np.int8)
        for j in range(k):
            last_idx[wts[j] > 0] = j
        sel = np.flatnonzero(fix)
        li = last_idx.ravel()[sel]
        vals = np.stack([x.ravel()[sel] for x in wts])[li, np.arange(sel.size)]
        ybar.ravel()[sel] = np.log(vals)
        tbar.ravel()[sel] = tc[li]
    tail = np.exp(ybar - lam * (tc[0] - tbar))
    tail /= lam
    tail[~has] = 0
    acc += tail
    return acc


def region_tia(
    times_h: NDArray[np.float64],
    activity: NDArray[np.float32],
    labels: NDArray[np.integer],
    lambda_phys_per_h: float,
    *,
    n_late: int = 3,
    time_factors: NDArray[np.float64] | None = None,
) -> NDArray[np.float32]:
    """Region kinetics scaled per voxel (see module docstring); unit: input unit x h per voxel.

    ``labels`` has the spatial shape of ``activity[0]``; label 0 (outside every lesion) is a region too.
    ``time_factors`` as in :func:`voxel_fit_tia`.
    """
    n = len(times_h)
    f = np.ones(n) if time_factors is None else np.asarray(time_factors, dtype=np.float64)
    flat_labels = labels.ravel().astype(np.intp)
    nlab = int(flat_labels.max()) + 1
    curves = np.stack([f[i] * np.bincount(flat_labels, weights=activity[i].ravel(), minlength=nlab)
                       for i in range(n)])  # [n, nlab] float64
    region = voxel_fit_tia(times_h, curves.astype(np.float32), lambda_phys_per_h, n_late=n_late)
    w = _trapezoid_weights(times_h, n - 1)
    q = np.zeros(activity.shape[1:], dtype=np.float32)
    for i in range(n):
        q += np.float32(w[i] * f[i]) * activity[i]
    qsum = np.bincount(flat_labels, weights=q.ravel(), minlength=nlab)
    scale = np.where(qsum > 0, region.astype(np.float64) / np.where(qsum > 0, qsum, 1.0), 0.0)
    q *= scale.astype(np.float32)[labels]
    return q


def tia_map(
    series: TimeSeries,
    *,
    method: TiaMethod | str = TiaMethod.FIT,
    labels: NDArray[np.integer] | None = None,
    n_late: int = 3,
    to_nuclide: str | None = None,
) -> NDArray[np.float32]:
    """Time-integrated activity per voxel in **MBq*h** for the nuclide of ``series``.

    With ``to_nuclide`` (e.g. ``"I-131"``) the result is the predicted TIA of that nuclide for the same
    administered activity and biological kinetics (the decay swap of :func:`swap_physical_decay`,
    applied frame by frame without copying the stack).

    Parameters
    ----------
    series
        Checked time points (:func:`check_time_series`, optionally :func:`swap_physical_decay`).
    method
        ``"fit"`` (per-voxel fit) or ``"region"`` (region kinetics scaled per voxel; needs ``labels``).
    labels
        Label map on the same grid (``region`` method).
    n_late
        Late points used by the mono-exponential fit.
    """
    try:
        m = TiaMethod(method)
    except ValueError:
        raise InputError("unknown TIA method", field="method", value=method,
                         remedy="use fit or region") from None
    lam = get_nuclide(series.nuclide).decay_constant_per_h
    factors = None
    if to_nuclide is not None:
        factors = _swap_factors(series.times_h, series.nuclide, to_nuclide)
        lam = get_nuclide(to_nuclide).decay_constant_per_h
    if m is TiaMethod.FIT:
        conc = voxel_fit_tia(series.times_h, series.activity_bqml, lam, n_late=n_late,
                             time_factors=factors)
    else:
        if labels is None:
            raise InputError("the region method needs a label map", field="method", value="region")
        conc = region_tia(series.times_h, series.activity_bqml, labels, lam, n_late=n_late,
                          time_factors=factors)
    out: NDArray[np.float32] = np.asarray(conc, dtype=np.float32)
    out *= np.float32(series.voxel_volume_ml / 1e6)  # Bq*h/mL -> MBq*h per voxel
    return out

