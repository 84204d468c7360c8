"""Figures for trial designs: operating-characteristic curves and prior/posterior densities.

Functions return a :class:`matplotlib.figure.Figure` (object-oriented API, no global pyplot state);
the caller saves it.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure

from redif.design.mixture import BetaMixture
from redif.design.oc import OCTable

__all__ = ["oc_figure", "prior_posterior_figure"]


def oc_figure(
    table: OCTable,
    *,
    p0: float | None = None,
    p1: float | None = None,
    alpha: float | None = None,
    title: str = "Operating characteristics",
) -> Figure:
    """P(declare promising) against the true response rate for each design, with EN on a second panel."""
    fig = Figure(figsize=(8.0, 3.6), layout="constrained")
    ax, ax2 = fig.subplots(1, 2)
    for label, curve in table.curves.items():
        ax.plot(table.p, curve, label=label, lw=1.8)
        ax2.plot(table.p, table.expected_n[label], label=label, lw=1.8)
    for a in (ax, ax2):
        for val, name in ((p0, "p0"), (p1, "p1")):
            if val is not None:
                a.axvline(val, color="0.6", ls="--", lw=0.8)
                a.text(val, 1.0, f" {name}", transform=a.get_xaxis_transform(), va="bottom", fontsize=8)
        a.set_xlabel("true response rate p")
        a.grid(alpha=0.3)
    if alpha is not None:
        ax.axhline(alpha, color="tab:red", ls=":", lw=0.8)
    ax.set_ylabel("P(declare promising)")
    ax.set_ylim(-0.02, 1.02)
    ax2.set_ylabel("expected sample size")
    ax.legend(fontsize=8, loc="lower right")
    fig.suptitle(title, fontsize=10)
    return fig


def prior_posterior_figure(
    densities: Mapping[str, BetaMixture],
    *,
    title: str = "Prior and posterior",
    theta0: float | None = None,
    points: int = 801,
) -> Figure:
    """Densities of beta mixtures (e.g. MAP prior, robust prior, posterior) on one axis."""
    fig = Figure(figsize=(6.0, 3.6), layout="constrained")
    ax = fig.subplots()
    t = np.linspace(0.0005, 0.9995, points)
    for label, mix in densities.items():
        ax.plot(t, mix.pdf(t), label=f"{label} (mean {mix.mean:.2f}, sd {mix.sd:.2f})", lw=1.8)
    if theta0 is not None:
        ax.axvline(theta0, color="0.5", ls="--", lw=0.8)
    ax.set_xlabel("response rate")
    ax.set_ylabel("density")
    ax.set_xlim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=10)
    return fig
