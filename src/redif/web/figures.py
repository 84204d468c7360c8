"""Small figures for the web pages (dose map, DVH, response charts), drawn with matplotlib's object API
(no pyplot state, safe in worker threads) and returned as ``data:`` URIs for ``<img>`` tags (the page's
CSP allows ``img-src data:``; an SVG inside ``<img>`` keeps its own styles)."""

from __future__ import annotations

import base64
import datetime as dt
import io
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FormatStrFormatter, LogLocator
from numpy.typing import NDArray

__all__ = ["data_uri", "dose_map_png", "dvh_svg", "series_svg"]

_COLOURS = ("#0b5cad", "#b45309", "#166534", "#7c3aed", "#be123c", "#0f766e", "#4d7c0f", "#9a3412")


def data_uri(data: bytes, mime: str) -> str:
    """``data:`` URI of ``data``."""
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _save(fig: Figure, fmt: str) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, bbox_inches="tight", metadata={"Date": None} if fmt == "svg" else None)
    return buf.getvalue()


def dose_map_png(dose_gy: NDArray[np.floating], labels: NDArray[np.integer] | None = None, *,
                 title: str = "Absorbed dose, maximum intensity projection") -> bytes:
    """Coronal maximum-intensity projection of a 3-D dose map ``(z, y, x)`` in Gy, lesion outlines
    from ``labels`` (same shape) when given; PNG bytes."""
    dose = np.asarray(dose_gy, dtype=np.float32)
    mip = dose.max(axis=1)[::-1]  # (z, x), head up
    fig = Figure(figsize=(4.6, 3.8), dpi=110)
    ax = fig.add_subplot()
    im = ax.imshow(mip, cmap="inferno", interpolation="nearest", aspect="equal")
    if labels is not None and labels.shape == dose.shape:
        outline = (np.asarray(labels) > 0).max(axis=1)[::-1].astype(float)
        ax.contour(outline, levels=[0.5], colors="#22d3ee", linewidths=0.8)
    ax.set_title(title, fontsize=9)
    ax.set_axis_off()
    fig.colorbar(im, ax=ax, shrink=0.85, label="Gy")
    return _save(fig, "png")


def dvh_svg(curves: Mapping[str, tuple[Sequence[float], Sequence[float]]]) -> bytes:
    """Cumulative dose-volume histograms ``name -> (dose levels Gy, volume fraction)``; SVG bytes."""
    fig = Figure(figsize=(5.2, 3.4))
    ax = fig.add_subplot()
    for i, (name, (levels, frac)) in enumerate(curves.items()):
        ax.plot(levels, 100 * np.asarray(frac, dtype=float), label=name, color=_COLOURS[i % len(_COLOURS)])
    ax.set_xlabel("Absorbed dose (Gy)")
    ax.set_ylabel("Volume (%)")
    ax.set_ylim(0, 102)
    ax.set_xlim(left=0)
    ax.grid(alpha=0.3)
    if curves:
        ax.legend(fontsize=8, frameon=False)
    ax.set_title("Cumulative dose-volume histogram", fontsize=10)
    return _save(fig, "svg")


def series_svg(dates: Sequence[str], values: Sequence[float], *, ylabel: str, title: str,
               log: bool = False) -> bytes:
    """A dated series (e.g. sum of diameters, thyroglobulin on a log axis); SVG bytes."""
    x = [dt.date.fromisoformat(d) for d in dates]
    fig = Figure(figsize=(5.2, 3.0))
    ax = fig.add_subplot()
    ax.plot(x, list(values), marker="o", color=_COLOURS[0])  # type: ignore[arg-type]
    if log:
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
        ax.yaxis.set_minor_formatter(FormatStrFormatter(""))
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3, which="both")
    fig.autofmt_xdate()
    return _save(fig, "svg")
