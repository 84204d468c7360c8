"""Figures for voxel dosimetry: cumulative DVHs and a dose-map overlay (matplotlib, no global state).

The functions build and return :class:`matplotlib.figure.Figure` objects (no pyplot, no files); the
caller saves them.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from numpy.typing import NDArray

from redif.dosimetry.dvh import DoseVolumeHistogram, cumulative_dvh

__all__ = ["dose_overlay_figure", "dvh_figure", "lesion_dvhs"]


def lesion_dvhs(dose_gy: NDArray[np.floating], labels: NDArray[np.integer],
                names: Mapping[int, str]) -> list[DoseVolumeHistogram]:
    """One cumulative DVH per label, on a common dose axis (0 to the highest lesion dose)."""
    top = max((float(dose_gy[labels == k].max()) for k in names if np.any(labels == k)), default=1.0)
    return [cumulative_dvh(dose_gy[labels == k], names[k], max_gy=top * 1.02) for k in names]


def dvh_figure(dvhs: Sequence[DoseVolumeHistogram], *, title: str = "", reference_gy: float | None = None,
               reference_label: str = "") -> Figure:
    """Cumulative DVHs (volume fraction receiving at least the dose) with an optional reference dose line."""
    fig = Figure(figsize=(6.4, 4.2), dpi=120, layout="constrained")
    ax = fig.add_subplot()
    for dvh in dvhs:
        ax.plot(dvh.dose_gy, 100 * dvh.volume_fraction, label=dvh.name, lw=1.8)
    if reference_gy is not None:
        ax.axvline(reference_gy, color="0.3", ls="--", lw=1)
        if reference_label:
            ax.text(reference_gy, 3, f" {reference_label}", color="0.3", fontsize=8)
    ax.set_xlabel("absorbed dose (Gy)")
    ax.set_ylabel("volume receiving at least that dose (%)")
    ax.set_ylim(0, 102)
    ax.set_xlim(left=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(textwrap.fill(title, 80), fontsize=8)
    return fig


def dose_overlay_figure(background: NDArray[np.floating], dose_gy: NDArray[np.floating],
                        labels: NDArray[np.integer], spacing_mm: Sequence[float], *,
                        centre: tuple[int, int, int] | None = None, title: str = "") -> Figure:
    """Axial and coronal slices: background in grey, dose in colour (Gy), lesion outlines.

    Arrays are ``[slice, row, column]``; ``centre`` defaults to the voxel of maximum dose.
    """
    if centre is None:
        flat = int(np.argmax(dose_gy))
        centre = tuple(int(v) for v in np.unravel_index(flat, dose_gy.shape))  # type: ignore[assignment]
    assert centre is not None
    k, r, _ = centre
    sz, sr, sc = (float(s) for s in spacing_mm)
    vmax = float(np.percentile(dose_gy[labels > 0], 99.5)) if np.any(labels > 0) else float(dose_gy.max())
    positive = background[background > 0]
    bg_max = float(np.percentile(positive, 99.0)) if positive.size else 1.0
    fig = Figure(figsize=(9.0, 4.4), dpi=120, layout="constrained")
    axes = fig.subplots(1, 2)
    views = [
        ("axial", background[k], dose_gy[k], labels[k],
         (0, background.shape[2] * sc, background.shape[1] * sr, 0)),
        ("coronal", background[:, r, :], dose_gy[:, r, :], labels[:, r, :],
         (0, background.shape[2] * sc, 0, background.shape[0] * sz)),
    ]
    im = None
    for ax, (name, bg, d, lab, extent) in zip(axes, views, strict=True):
        origin = "upper" if name == "axial" else "lower"
        ax.imshow(np.clip(bg / bg_max, 0, 1) ** 0.5, cmap="gray", vmin=0, vmax=1.6, extent=extent,
                  origin=origin,
                  interpolation="nearest")
        masked = np.ma.masked_less(d, 0.02 * vmax)
        im = ax.imshow(masked, cmap="inferno", vmin=0, vmax=vmax, alpha=0.75, extent=extent, origin=origin,
                       interpolation="nearest")
        if np.any(lab > 0):
            ny, nx = lab.shape
            xs = (np.arange(nx) + 0.5) * (extent[1] - extent[0]) / nx
            ys = (np.arange(ny) + 0.5) * abs(extent[3] - extent[2]) / ny
            ax.contour(xs, ys, (lab > 0).astype(float), levels=[0.5],
                       colors="cyan", linewidths=0.8, origin=origin)
        ax.set_title(f"{name}", fontsize=9)
        ax.set_xlabel("mm")
        ax.set_aspect("equal")
    if im is not None:
        fig.colorbar(im, ax=axes, label="absorbed dose (Gy)", shrink=0.85)
    if title:
        fig.suptitle(textwrap.fill(title, 110), fontsize=8)
    return fig
