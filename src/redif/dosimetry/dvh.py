"""Per-lesion dose statistics and cumulative dose-volume histograms (pure).

``D_x`` is the minimum dose received by the hottest fraction ``x`` of the lesion volume: with the ``N``
voxel doses sorted in decreasing order, ``D_x = d_(ceil(x N))`` (voxels have equal volume). So D90 is
the dose that covers 90 % of the volume, D50 the median-like dose that covers half of it.

References
----------
ICRU Report 83 (dose-volume specification, D_x notation); docs/methods/dosimetry.md §7.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from redif.errors import InputError

__all__ = ["DoseVolumeHistogram", "LesionDose", "cumulative_dvh", "dose_covering", "lesion_statistics"]


@dataclass(frozen=True)
class LesionDose:
    """Dose statistics of one labelled lesion (doses in Gy, for the activity the caller states)."""

    label: int
    name: str
    voxels: int
    volume_ml: float
    mass_g: float
    mean_gy: float
    min_gy: float
    max_gy: float
    d50_gy: float
    d90_gy: float
    tia_mbq_h: float | None = None


@dataclass(frozen=True)
class DoseVolumeHistogram:
    """Cumulative DVH: ``volume_fraction[i]`` of the lesion receives at least ``dose_gy[i]``."""

    name: str
    dose_gy: NDArray[np.float64]
    volume_fraction: NDArray[np.float64]


def dose_covering(doses_gy: NDArray[np.floating], fraction: float) -> float:
    """``D_x``: the highest dose ``d`` such that at least ``fraction`` of the voxels receive ``>= d``."""
    if not 0 < fraction <= 1:
        raise InputError("fraction must be in (0, 1]", field="fraction", value=fraction)
    d = np.sort(np.asarray(doses_gy, dtype=np.float64).ravel())[::-1]
    if d.size == 0:
        return math.nan
    return float(d[math.ceil(fraction * d.size - 1e-9) - 1])


def lesion_statistics(
    dose_gy: NDArray[np.floating],
    labels: NDArray[np.integer],
    names: Mapping[int, str],
    voxel_volume_ml: float,
    *,
    density_g_per_ml: float,
    tia_mbq_h: NDArray[np.floating] | None = None,
) -> list[LesionDose]:
    """Statistics of every label in ``names`` (mass = voxel count x voxel volume x density)."""
    if dose_gy.shape != labels.shape:
        raise InputError("dose and label map differ in shape", field="labels",
                         value=(dose_gy.shape, labels.shape))
    flat = labels.ravel()
    idx = np.flatnonzero(flat)
    lab = flat[idx]
    vals = dose_gy.ravel()[idx].astype(np.float64)
    tvals = tia_mbq_h.ravel()[idx].astype(np.float64) if tia_mbq_h is not None else None
    out = []
    for label in sorted(names):
        sel = lab == label
        d = vals[sel]
        n = int(d.size)
        vol = n * voxel_volume_ml
        if n == 0:
            out.append(LesionDose(label, names[label], 0, 0.0, 0.0, *(math.nan,) * 5, None))
            continue
        out.append(LesionDose(
            label=int(label),
            name=names[label],
            voxels=n,
            volume_ml=vol,
            mass_g=vol * density_g_per_ml,
            mean_gy=float(d.mean()),
            min_gy=float(d.min()),
            max_gy=float(d.max()),
            d50_gy=dose_covering(d, 0.5),
            d90_gy=dose_covering(d, 0.9),
            tia_mbq_h=float(tvals[sel].sum()) if tvals is not None else None,
        ))
    return out


def cumulative_dvh(doses_gy: NDArray[np.floating], name: str = "", *, bins: int = 200,
                   max_gy: float | None = None) -> DoseVolumeHistogram:
    """Cumulative DVH on ``bins`` equally spaced dose levels from 0 to ``max_gy`` (default: the maximum)."""
    d = np.sort(np.asarray(doses_gy, dtype=np.float64).ravel())
    top = float(d[-1]) if max_gy is None and d.size else float(max_gy or 1.0)
    levels = np.linspace(0.0, top if top > 0 else 1.0, bins)
    if d.size == 0:
        return DoseVolumeHistogram(name, levels, np.zeros_like(levels))
    frac = 1.0 - np.searchsorted(d, levels, side="left") / d.size
    return DoseVolumeHistogram(name, levels, frac)
