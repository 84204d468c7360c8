"""Kaplan-Meier plot with the numbers at risk under the time axis (matplotlib, Agg; SVG or PNG).

Returns the figure's bytes (:func:`redif.io.figures.figure_bytes`); the CLI writes them
(:func:`redif.io.figures.write_plot`), the web app sends them.

References
----------
Kaplan EL, Meier P. Nonparametric estimation from incomplete observations. J Am Stat Assoc
1958;53:457-481.
Pocock SJ, Clayton TC, Altman DG. Survival plots of time-to-event outcomes in clinical trials: good
practice and pitfalls. Lancet 2002;359:1686-1689 (numbers at risk under the axis).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

from redif.io.figures import figure_bytes
from redif.ipd.survival import SurvivalResult

__all__ = ["km_plot_bytes"]


def _ticks(tmax: float) -> list[float]:
    step = max(1.0, float(np.ceil(tmax / 6.0 / 30.0) * 30.0))  # whole months of 30 days
    return [float(x) for x in np.arange(0.0, tmax + step, step)]


def km_plot_bytes(result: SurvivalResult, fmt: str = "svg", *, title: str | None = None) -> bytes:
    """Step curves per group (censorings as ticks) with numbers at risk at the axis ticks."""
    groups = result.groups
    tmax = max(float(g.time.max()) for g in groups)
    ticks = _ticks(tmax)
    height = 4.0 + 0.2 * (len(groups) + 1)
    fig, ax = plt.subplots(figsize=(7.5, height))
    fig.subplots_adjust(left=0.24, right=0.97, top=0.92, bottom=(0.75 + 0.2 * (len(groups) + 1)) / height)
    for g in groups:
        x = np.concatenate(([0.0], g.time))
        y = np.concatenate(([1.0], g.surv))
        (line,) = ax.step(x, y, where="post", label=f"{g.group} (n = {g.n}, events = {g.events})")
        cens = (g.n_risk - np.concatenate((g.n_risk[1:], [0.0])) - g.n_event) > 0
        ax.plot(g.time[cens], g.surv[cens], "|", color=line.get_color(), markersize=7)
    ax.set_xlim(0.0, ticks[-1])
    ax.set_ylim(0.0, 1.02)
    ax.set_xticks(ticks)
    ax.set_xlabel(f"Time ({result.time}, days)")
    ax.set_ylabel("Probability without event")
    ax.set_title(title or f"Kaplan-Meier: {result.time} / {result.event}"
                 + (f" by {result.by}" if result.by else ""))
    ax.legend(loc="upper right", fontsize=8, frameon=False)
    ax.grid(alpha=0.3)
    # numbers at risk: one row per group under the axis (offsets in points below the axis)
    ax.annotate("Number at risk", xy=(0.0, 0.0), xycoords="axes fraction", xytext=(-8, -36),
                textcoords="offset points", fontsize=8, ha="right", va="top", fontweight="bold")
    for r, g in enumerate(groups):
        dy = -50 - 13 * r
        ax.annotate(g.group, xy=(0.0, 0.0), xycoords="axes fraction", xytext=(-14, dy),
                    textcoords="offset points", fontsize=8, ha="right", va="top")
        for t in ticks:
            ax.annotate(str(g.at_risk(t)), xy=(t, 0.0), xycoords=("data", "axes fraction"), xytext=(0, dy),
                        textcoords="offset points", fontsize=8, ha="center", va="top")
    data = figure_bytes(fig, fmt)
    plt.close(fig)
    return data
