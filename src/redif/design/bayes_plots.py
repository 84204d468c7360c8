"""Figures for the Bayesian monitoring and borrowing designs: stopping boundaries against the number of
patients (responses and response-rate scale), OC curves against the true rate, and the borrowing OC
across true control rates. Functions return a :class:`matplotlib.figure.Figure`; the caller saves it.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from redif.design.borrowing import BorrowingDesign
from redif.design.monitoring import StoppingTable, monitoring_oc

__all__ = ["borrowing_figure", "monitoring_figure"]


def monitoring_figure(
    table: StoppingTable, *, p0: float, p1: float, title: str = "Stopping boundaries"
) -> Figure:
    """Left: futility boundary r_n (responses) and r_n / n (rate scale) against n; right: P(declare
    promising), P(early stop) and E[N]/Nmax against the true response rate (exact)."""
    fig = Figure(figsize=(8.4, 3.6), layout="constrained")
    ax, ax2 = fig.subplots(1, 2)
    n = np.asarray(table.looks, dtype=float)
    r = np.asarray(table.r, dtype=float)
    keep = r[:-1] >= 0
    xs = np.append(n[:-1][keep], n[-1])
    ys = np.append(r[:-1][keep], r[:-1][keep][-1:] if keep.any() else [])
    if keep.any():
        ax.step(xs, ys, where="post", color="tab:red", lw=1.6, label="stop if responses <= r_n")
        ax.plot(n[:-1][keep], r[:-1][keep], ".", color="tab:red", ms=4)
    ax.plot([n[-1]], [r[-1]], "o", color="tab:green", label="final: promising if > r")
    ax.set_xlabel("patients evaluated n")
    ax.set_ylabel("responses")
    axr = ax.twinx()
    axr.plot(n[:-1][keep], r[:-1][keep] / n[:-1][keep], ":", color="0.4", lw=1.0)
    axr.set_ylabel("boundary rate r_n / n (dotted)")
    axr.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    p = np.linspace(0.0, 1.0, 101)
    oc = monitoring_oc(table, p)
    ax2.plot(p, oc.reject, lw=1.8, label="P(declare promising)")
    ax2.plot(p, oc.pet, lw=1.4, label="P(early stop)")
    ax2.plot(p, oc.expected_n / table.nmax, lw=1.2, ls="--", label="E[N] / Nmax")
    for val, name in ((p0, "p0"), (p1, "p1")):
        ax2.axvline(val, color="0.6", ls="--", lw=0.8)
        ax2.text(val, 1.0, f" {name}", transform=ax2.get_xaxis_transform(), va="bottom", fontsize=8)
    ax2.set_xlabel("true response rate p")
    ax2.set_ylim(-0.02, 1.02)
    ax2.grid(alpha=0.3)
    ax2.legend(fontsize=7, loc="center right")
    fig.suptitle(title, fontsize=10)
    return fig


def borrowing_figure(design: BorrowingDesign, title: str = "Borrowing the control arm") -> Figure:
    """Type I error and power across true control rates, with and without borrowing, and the boundary:
    the smallest treated responses declaring success for each control count."""
    fig = Figure(figsize=(8.4, 3.6), layout="constrained")
    ax, ax2 = fig.subplots(1, 2)
    oc = design.oc
    ax.plot(oc.p_control, oc.type1_error, color="tab:red", lw=1.8, label="type I error, borrowing")
    ax.plot(oc.p_control, oc.type1_error_vague, color="tab:red", ls="--", lw=1.2, label="type I error, vague")
    ax.plot(oc.p_control, oc.power, color="tab:blue", lw=1.8, label=f"power (+{design.effect:g}), borrowing")
    ax.plot(oc.p_control, oc.power_vague, color="tab:blue", ls="--", lw=1.2, label="power, vague")
    ax.axvline(design.prior_control.mean, color="0.6", ls=":", lw=0.8)
    ax.set_xlabel("true control rate p_c")
    ax.set_ylabel("P(success)")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    xc = np.arange(design.n_control + 1)
    for reg, style, lab in ((design.region, "-", "borrowing"), (design.region_vague, "--", "vague")):
        b = [np.nan if v is None else v for v in design.boundary(reg)]
        ax2.step(xc, b, where="mid", ls=style, lw=1.5, label=lab)
    ax2.set_xlabel("control responders x_c")
    ax2.set_ylabel("treated responders needed")
    ax2.grid(alpha=0.3)
    ax2.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    return fig
