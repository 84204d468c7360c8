"""Response plots: sum of target diameters over time, waterfall of best % change, Tg on a log axis.

Figures are built with :class:`matplotlib.figure.Figure` directly (no pyplot global state, Agg-safe) and
returned; :func:`save` writes one to a file whose suffix picks the format (``.png``, ``.svg``, ``.pdf``).
Threshold lines come from ``data/recist.yaml`` (RECIST 1.1: -30 % PR, +20 % PD).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import matplotlib.dates as mdates
from matplotlib.figure import Figure
from matplotlib.ticker import ScalarFormatter

from redif.errors import InputError
from redif.response.criteria import recist_criteria
from redif.response.recist import RecistResult
from redif.response.thyroglobulin import TgKinetics

__all__ = ["save", "sum_of_diameters_figure", "tg_figure", "waterfall_figure"]

_COLOURS = {
    "CR": "#1a9850",
    "PR": "#91cf60",
    "SD": "#fee08b",
    "NON-CR/NON-PD": "#d9ef8b",
    "PD": "#d73027",
    "NE": "#999999",
}

_TEXT = {
    "CR": "#1a7837",
    "PR": "#4d9221",
    "SD": "#8c6d00",
    "NON-CR/NON-PD": "#4d9221",
    "PD": "#b2182b",
    "NE": "#555555",
}


def _num(dates: Sequence[date]) -> list[float]:
    """Dates as matplotlib date numbers (typed; the date axis is set by ``xaxis_date``)."""
    date2num: Any = mdates.date2num
    return [float(x) for x in date2num(list(dates))]


def sum_of_diameters_figure(result: RecistResult) -> Figure:
    """Sum of target diameters (mm) over time, with the running nadir, the PR level (baseline x 0.7) and
    the PD level of each time point (nadir x 1.2, and at least nadir + 5 mm); points labelled with the
    overall response."""
    c = recist_criteria()
    fig = Figure(figsize=(7, 4.2), layout="constrained")
    ax = fig.add_subplot()
    dates = [result.baseline_date] + [t.date for t in result.timepoints]
    sums = [float(result.baseline_sum_mm)] + [
        None if t.sum_mm is None else float(t.sum_mm) for t in result.timepoints
    ]
    xs = [d for d, s in zip(dates, sums, strict=True) if s is not None]
    ys = [s for s in sums if s is not None]
    ax.plot(_num(xs), ys, "-o", color="#2c7bb6", label="sum of diameters", zorder=3)
    base = float(result.baseline_sum_mm)
    ax.axhline(
        base * float(1 - c.pr_decrease),
        color="#1a9850",
        ls="--",
        lw=1,
        label=f"PR: -{float(c.pr_decrease) * 100:.0f}% from baseline",
    )
    if result.timepoints and all(t.nadir_mm is not None for t in result.timepoints):
        # the reference used at scan i holds over the interval (scan i-1, scan i]: a 'pre' step
        nd = [result.baseline_date] + [t.date for t in result.timepoints]
        refs = [float(t.nadir_mm) for t in result.timepoints if t.nadir_mm is not None]
        nadirs = [refs[0], *refs]
        pd_levels = [max(n * float(1 + c.pd_increase), n + float(c.pd_absolute_mm)) for n in nadirs]
        ax.step(_num(nd), nadirs, where="pre", color="#555555", lw=1, label="nadir before each scan")
        ax.step(
            _num(nd),
            pd_levels,
            where="pre",
            color="#d73027",
            ls="--",
            lw=1,
            label=f"PD level: +{float(c.pd_increase) * 100:.0f}% and "
            f"+{float(c.pd_absolute_mm):g} mm over nadir",
        )
    for t in result.timepoints:
        y = float(t.sum_mm) if t.sum_mm is not None else float(t.measured_sum_mm)
        ax.annotate(
            t.overall.label,
            (_num([t.date])[0], y),
            textcoords="offset points",
            xytext=(0, 8),
            ha="center",
            fontsize=8,
            color=_TEXT.get(t.overall.label, "black"),
            fontweight="bold",
        )
    ax.xaxis_date()
    ax.set_ylabel("sum of target diameters (mm)")
    ax.set_ylim(bottom=0)
    ax.set_title(f"RECIST 1.1{' - ' + result.subject if result.subject else ''}")
    ax.legend(fontsize=7, loc="best")
    fig.autofmt_xdate()
    return fig


def waterfall_figure(
    labels: Sequence[str], best_change_pct: Sequence[float], responses: Sequence[str] | None = None
) -> Figure:
    """Waterfall plot: one bar per subject, best % change of the sum of diameters from baseline, sorted
    from largest increase to largest decrease, with the +20 % and -30 % RECIST lines."""
    if len(labels) != len(best_change_pct) or (responses is not None and len(responses) != len(labels)):
        raise InputError("labels, changes and responses must have the same length", field="waterfall")
    if not labels:
        raise InputError(
            "no subject with a complete follow-up sum to plot",
            field="waterfall",
            remedy="give at least one case with a measured follow-up",
        )
    c = recist_criteria()
    order = sorted(range(len(labels)), key=lambda i: -best_change_pct[i])
    fig = Figure(figsize=(max(5.0, 0.45 * len(labels) + 2), 4.2), layout="constrained")
    ax = fig.add_subplot()
    colours = [_COLOURS.get(responses[i], "#2c7bb6") if responses else "#2c7bb6" for i in order]
    ax.bar(range(len(order)), [best_change_pct[i] for i in order], color=colours, edgecolor="black", lw=0.5)
    ax.axhline(
        float(c.pd_increase) * 100,
        color="#d73027",
        ls="--",
        lw=1,
        label=f"+{float(c.pd_increase) * 100:.0f}%",
    )
    ax.axhline(
        -float(c.pr_decrease) * 100,
        color="#1a9850",
        ls="--",
        lw=1,
        label=f"-{float(c.pr_decrease) * 100:.0f}%",
    )
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(range(len(order)), [labels[i] for i in order], rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("best change of sum of diameters from baseline (%)")
    if responses:
        from matplotlib.patches import Patch

        present = [r for r in _COLOURS if r in set(responses)]
        handles = [Patch(color=_COLOURS[r], label=r) for r in present]
        ax.legend(handles=handles + ax.get_legend_handles_labels()[0], fontsize=7, loc="upper right")
    ax.set_title("Waterfall (RECIST 1.1 best overall response colours)")
    return fig


def tg_figure(kin: TgKinetics) -> Figure:
    """Thyroglobulin on a log axis against date, with the least-squares fit and its doubling time."""
    fig = Figure(figsize=(7, 4.2), layout="constrained")
    ax = fig.add_subplot()
    dates = _num([p.date for p in kin.points])
    ax.xaxis_date()
    ax.semilogy(dates, [p.tg_ng_ml for p in kin.points], "o", color="#2c7bb6", label="Tg")
    ax.semilogy(
        dates, [p.fitted_tg_ng_ml for p in kin.points], "-", color="#d73027", label="least squares on ln(Tg)"
    )
    if kin.doubling_time_days is None:
        text = "slope 0: doubling time undefined"
    elif kin.doubling_time_days > 0:
        text = f"doubling time {kin.doubling_time_days:.0f} d ({kin.doubling_time_years:.2f} y)"
    else:
        text = f"halving time {-kin.doubling_time_days:.0f} d (doubling time {kin.doubling_time_days:.0f} d)"
    r2 = "n/a" if kin.r2 is None else f"{kin.r2:.3f}"
    ax.set_title(f"Thyroglobulin: {text}, r\u00b2 = {r2}, n = {kin.n}", fontsize=9)
    ax.set_ylabel("Tg (ng/mL, log scale)")
    ax.yaxis.set_major_formatter(ScalarFormatter())
    ax.yaxis.set_minor_formatter(ScalarFormatter())
    ax.tick_params(axis="y", which="minor", labelsize=7)
    if kin.flags:
        ax.text(
            0.01, 0.02, "flags: " + ", ".join(kin.flags), transform=ax.transAxes, fontsize=7, color="#b2182b"
        )
    ax.legend(fontsize=8)
    fig.autofmt_xdate()
    return fig


def save(fig: Figure, path: str | Path) -> Path:
    """Write ``fig`` to ``path`` (format from the suffix: png, svg, pdf); return the path."""
    out = Path(path)
    if out.suffix.lower() not in {".png", ".svg", ".pdf"}:
        raise InputError(
            "unsupported plot format",
            field="--plot",
            value=str(out),
            remedy="use a file name ending in .png, .svg or .pdf",
        )
    if not out.parent.exists():
        raise InputError("folder does not exist", field="--plot", value=str(out.parent))
    fig.savefig(out, dpi=150, metadata={"Date": None} if out.suffix.lower() == ".svg" else None)
    return out
