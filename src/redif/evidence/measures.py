"""Effect-size measures for one proportion, their back-transformations and per-study intervals.

The conventions follow R ``metafor::escalc`` (Viechtbauer 2010) so that pooled results match it:

* ``PR`` raw proportion, ``PLO`` logit, ``PAS`` arcsine square root, ``PFT`` Freeman-Tukey double
  arcsine, ``GEN`` a generic effect size given directly as ``yi``/``vi``.
* Continuity correction (metafor's default ``add=1/2, to="only0"``): 0.5 is added to the events and
  non-events of a study only when it has 0 events or only events, for ``PR`` and ``PLO``; none for
  ``PAS``/``PFT`` (which need none) and none for the GLMM.
* The pooled PFT value is back-transformed with the harmonic mean of the sample sizes (Miller 1978);
  back-transformed values are clamped to [0, 1] as in ``metafor::transf.ipft.hm`` / ``transf.iarcsin``.

References
----------
Viechtbauer W. Conducting meta-analyses in R with the metafor package. J Stat Softw 2010;36(3):1-48.
Freeman MF, Tukey JW. Transformations related to the angular and the square root. Ann Math Stat
1950;21:607-611.
Miller JJ. The inverse of the Freeman-Tukey double arcsine transformation. Am Stat 1978;32:138.
Clopper CJ, Pearson ES. The use of confidence or fiducial limits illustrated in the case of the
binomial. Biometrika 1934;26:404-413.
Wilson EB. Probable inference, the law of succession, and statistical inference. J Am Stat Assoc
1927;22:209-212.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from redif.errors import InputError

__all__ = [
    "PROPORTION_MEASURES",
    "Measure",
    "StudyCI",
    "back_transform",
    "escalc",
    "study_intervals",
    "transf_pft",
]

FloatArray = NDArray[np.float64]


class Measure(enum.StrEnum):
    """Outcome measure (metafor names)."""

    PR = "PR"
    PLO = "PLO"
    PAS = "PAS"
    PFT = "PFT"
    GEN = "GEN"


class StudyCI(enum.StrEnum):
    """Per-study confidence interval for a proportion."""

    CLOPPER_PEARSON = "clopper-pearson"
    WILSON = "wilson"


PROPORTION_MEASURES = frozenset({Measure.PR, Measure.PLO, Measure.PAS, Measure.PFT})


def parse_measure(measure: str | Measure) -> Measure:
    """Return ``measure`` as a :class:`Measure`, raising :class:`InputError` if unknown."""
    try:
        return Measure(str(measure).upper())
    except ValueError:
        raise InputError(
            "unknown measure", field="measure", value=measure,
            remedy="use one of PR, PLO, PAS, PFT, GEN",
        ) from None


def check_counts(events: ArrayLike, totals: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Validate event counts and totals; return them as float arrays.

    Raises :class:`InputError` naming the (1-based) study for a negative, non-integer or
    non-finite value, or for events greater than the total.
    """
    try:
        x = np.asarray(events, dtype=float).ravel()
        n = np.asarray(totals, dtype=float).ravel()
    except (TypeError, ValueError):
        raise InputError(
            "events and totals must be numbers", field="events/total",
            remedy="give non-negative integer counts",
        ) from None
    if x.shape != n.shape:
        raise InputError(
            f"{x.size} event counts but {n.size} totals", field="events/total",
            remedy="give one events and one total value per study",
        )
    for name, arr in (("events", x), ("total", n)):
        bad = ~np.isfinite(arr) | (arr < 0) | (arr != np.round(arr))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"study {i + 1}: not a non-negative integer count", field=name, value=float(arr[i]),
                remedy="counts must be whole numbers >= 0",
            )
    zero_n = n <= 0
    if zero_n.any():
        i = int(np.flatnonzero(zero_n)[0])
        raise InputError(
            f"study {i + 1}: total must be at least 1", field="total", value=float(n[i]),
            remedy="drop studies with no participants",
        )
    over = x > n
    if over.any():
        i = int(np.flatnonzero(over)[0])
        raise InputError(
            f"study {i + 1}: events ({int(x[i])}) exceed total ({int(n[i])})", field="events",
            value=int(x[i]), remedy="events must be <= total",
        )
    return x, n


def escalc(
    measure: str | Measure, events: ArrayLike, totals: ArrayLike, *, add: float = 0.5
) -> tuple[FloatArray, FloatArray]:
    """Observed outcomes ``yi`` and sampling variances ``vi`` for single proportions.

    Parameters
    ----------
    measure
        ``PR``, ``PLO``, ``PAS`` or ``PFT``.
    events, totals
        Number of events ``x_i`` and sample size ``n_i`` per study.
    add
        Continuity correction added to events and non-events of studies with ``x_i = 0`` or
        ``x_i = n_i`` (``PR`` and ``PLO`` only; metafor ``add=1/2, to="only0"``).

    Returns
    -------
    yi, vi
        Arrays of length k on the analysis scale.

    References
    ----------
    metafor ``escalc()`` documentation, section "Outcome Measures for Single Proportions".
    """
    m = parse_measure(measure)
    if m is Measure.GEN:
        raise InputError("escalc needs a proportion measure", field="measure", value=str(m),
                         remedy="use PR, PLO, PAS or PFT; GEN takes yi and vi directly")
    x, n = check_counts(events, totals)
    if m in (Measure.PR, Measure.PLO):
        cc = (x == 0) | (x == n)
        x = x + np.where(cc, add, 0.0)
        n = n + np.where(cc, 2.0 * add, 0.0)
        p = x / n
        if m is Measure.PR:
            return p, p * (1.0 - p) / n
        with np.errstate(divide="ignore"):
            return np.log(x / (n - x)), 1.0 / x + 1.0 / (n - x)
    if m is Measure.PAS:
        return np.arcsin(np.sqrt(x / n)), 1.0 / (4.0 * n)
    return 0.5 * (np.arcsin(np.sqrt(x / (n + 1.0))) + np.arcsin(np.sqrt((x + 1.0) / (n + 1.0)))), 1.0 / (
        4.0 * n + 2.0
    )


def transf_pft(p: ArrayLike, n: ArrayLike) -> FloatArray:
    """Freeman-Tukey double arcsine of a proportion ``p`` for sample size ``n``."""
    p_ = np.asarray(p, dtype=float)
    n_ = np.asarray(n, dtype=float)
    x = p_ * n_
    return np.asarray(
        0.5 * (np.arcsin(np.sqrt(x / (n_ + 1.0))) + np.arcsin(np.sqrt((x + 1.0) / (n_ + 1.0)))), dtype=float
    )


def _ipft(t: FloatArray, n: FloatArray | float) -> FloatArray:
    s = np.sin(2.0 * t)
    c = np.cos(2.0 * t)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = 0.5 * (1.0 - np.sign(c) * np.sqrt(1.0 - (s + (s - 1.0 / s) / n) ** 2))
    z = np.where(t > transf_pft(1.0, n), 1.0, z)
    z = np.where(t < transf_pft(0.0, n), 0.0, z)
    return np.asarray(z, dtype=float)


def back_transform(
    measure: str | Measure, values: ArrayLike, totals: ArrayLike | None = None
) -> FloatArray:
    """Back-transform values from the analysis scale to the proportion scale.

    For ``PFT`` a pooled value (``totals`` = all studies' sizes) uses the harmonic mean of the sample
    sizes (Miller 1978; metafor ``transf.ipft.hm``); pass a single ``n`` to back-transform one study.
    ``PR`` values are clamped to [0, 1]; ``GEN`` values are returned unchanged.
    """
    m = parse_measure(measure)
    v = np.asarray(values, dtype=float)
    if m is Measure.GEN:
        return v
    if m is Measure.PR:
        return np.asarray(np.clip(v, 0.0, 1.0), dtype=float)
    if m is Measure.PLO:
        return np.asarray(special.expit(v), dtype=float)
    if m is Measure.PAS:
        z = np.sin(v) ** 2
        z = np.where(v < 0.0, 0.0, z)
        return np.asarray(np.where(v > np.arcsin(1.0), 1.0, z), dtype=float)
    if totals is None:
        raise InputError("PFT back-transformation needs the sample sizes", field="totals",
                         remedy="pass the study totals")
    n_all = np.asarray(totals, dtype=float).ravel()
    n_hm = float(1.0 / np.mean(1.0 / n_all))
    return _ipft(v, n_hm)


def study_intervals(
    events: Sequence[int] | FloatArray, totals: Sequence[int] | FloatArray, level: float = 95.0,
    method: str | StudyCI = StudyCI.CLOPPER_PEARSON,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per-study proportion and its confidence interval (Clopper-Pearson exact, or Wilson score).

    Returns ``(p, lower, upper)`` on the proportion scale.
    """
    x = np.asarray(events, dtype=float)
    n = np.asarray(totals, dtype=float)
    alpha = 1.0 - level / 100.0
    try:
        how = StudyCI(str(method).lower())
    except ValueError:
        raise InputError("unknown per-study interval", field="study_ci", value=method,
                         remedy="use clopper-pearson or wilson") from None
    p = x / n
    if how is StudyCI.CLOPPER_PEARSON:
        with np.errstate(invalid="ignore"):
            lo = np.where(x > 0, special.betaincinv(np.maximum(x, 1e-300), n - x + 1.0, alpha / 2.0), 0.0)
            hi = np.where(x < n, special.betaincinv(x + 1.0, np.maximum(n - x, 1e-300), 1.0 - alpha / 2.0),
                          1.0)
        return p, np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    z = float(-special.ndtri(alpha / 2.0))
    centre = (p + z * z / (2.0 * n)) / (1.0 + z * z / n)
    half = z * np.sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n)) / (1.0 + z * z / n)
    lo_w = np.asarray(np.clip(centre - half, 0.0, 1.0), dtype=float)
    hi_w = np.asarray(np.clip(centre + half, 0.0, 1.0), dtype=float)
    return p, lo_w, hi_w
