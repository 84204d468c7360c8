"""Figures for group-sequential designs: the boundaries against the information (z scale) and, with a
sample size, on the effect scale (hazard ratio or rate difference at each look). Functions return a
:class:`matplotlib.figure.Figure`; the caller saves it.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from redif.design.effect_scale import EffectScaleBoundaries
from redif.design.group_sequential import GroupSequentialDesign

__all__ = ["boundary_figure"]

_EFFECT_LABEL = {"hazard_ratio": "hazard ratio at the boundary", "rate_difference": "p1 - p2 at the boundary"}
_INFO_LABEL = {"hazard_ratio": "events", "rate_difference": "patients (both arms)"}


def _pts(x: np.ndarray, ys: list[float | None]) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray([np.nan if v is None else v for v in ys], dtype=float)
    return x[: len(y)], y


def boundary_figure(
    design: GroupSequentialDesign,
    effect: EffectScaleBoundaries | None = None,
    *,
    title: str = "Group-sequential boundaries",
) -> Figure:
    """Left: efficacy (and futility) bounds on the z scale against the information rate; right (with
    ``effect``): the same bounds on the effect scale against the events or patients at each look."""
    fig = Figure(figsize=(8.4 if effect is not None else 4.6, 3.6), layout="constrained")
    axes = fig.subplots(1, 2 if effect is not None else 1, squeeze=False)[0]
    ax = axes[0]
    t = np.asarray(design.information_rates, dtype=float)
    u = np.asarray(design.critical_values, dtype=float)
    ax.plot(t, u, "o-", color="tab:green", lw=1.6, label="efficacy: reject H0 if z >= u_k")
    if design.sided == 2:
        ax.plot(t, -u, "o-", color="tab:green", lw=1.0, alpha=0.6, label="lower: |z| >= u_k")
    if design.futility_bounds is not None:
        ax.plot(
            t[:-1], design.futility_bounds, "s--", color="tab:red", lw=1.4, label="futility: stop if z <= l_k"
        )
    ax.axhline(0, color="0.6", lw=0.6)
    ax.set_xlabel("information rate t_k")
    ax.set_ylabel("z statistic")
    ax.set_xlim(0, 1.05)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    ax.set_title(f"{design.type_of_design}, K = {design.k}, alpha = {design.alpha:g}", fontsize=9)
    if effect is not None:
        ax2 = axes[1]
        x = np.asarray(effect.information, dtype=float)
        xe, ye = _pts(x, effect.efficacy)
        ax2.plot(xe, ye, "o-", color="tab:green", lw=1.6, label="efficacy boundary")
        if effect.efficacy_mirror is not None:
            xm, ym = _pts(x, effect.efficacy_mirror)
            ax2.plot(xm, ym, "o-", color="tab:green", lw=1.0, alpha=0.6, label="other side (two-sided)")
        if effect.futility is not None:
            xf, yf = _pts(x, effect.futility)
            ax2.plot(xf, yf, "s--", color="tab:red", lw=1.4, label="futility boundary")
        ax2.axhline(1.0 if effect.scale == "hazard_ratio" else 0.0, color="0.6", lw=0.6)
        ax2.set_xlabel(_INFO_LABEL.get(effect.scale, "information"))
        ax2.set_ylabel(_EFFECT_LABEL.get(effect.scale, "effect"))
        ax2.grid(alpha=0.3)
        ax2.legend(fontsize=7, loc="best")
        ax2.set_title("effect scale (observed effect crossing the bound)", fontsize=9)
    fig.suptitle(title, fontsize=10)
    return fig
