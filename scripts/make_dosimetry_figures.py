"""Figures for docs/dosimetry.md: a fitted time-activity curve and the sphere S-value table.

Run from the repository root: ``python scripts/make_dosimetry_figures.py`` (writes
``docs/img/dosimetry_tac.png`` and ``docs/img/dosimetry_svalues.png``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from redif.dosimetry.kinetics import TimeActivity, fit_kinetics  # noqa: E402
from redif.dosimetry.spheres import sphere_table  # noqa: E402
from redif.dosimetry.uncertainty import monte_carlo_tia  # noqa: E402

OUT = ROOT / "docs" / "img"


def tac_figure() -> None:
    t = np.array([1, 4, 8, 24, 48, 72, 120, 168], dtype=float)
    y = np.array([0.62, 0.48, 0.36, 0.17, 0.11, 0.085, 0.055, 0.036])
    data = TimeActivity.create(t, y, decay_corrected=False)
    fit = fit_kinetics(data, "auto")
    unc = monte_carlo_tia(fit, n_samples=1000, seed=0, measurement_cv=0.05)
    tt = np.linspace(0, 240, 400)
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    ax.plot(t, y, "ko", label="measured (not decay-corrected)")
    for cand in fit.candidates:
        f = fit_kinetics(data, cand.model)
        ax.plot(
            tt,
            f.predict(tt),
            lw=1.6 if cand.model is fit.model else 1.0,
            ls="-" if cand.model is fit.model else "--",
            label=f"{cand.model.value} (AICc {cand.aicc:.1f}, TIA {cand.tia_h:.1f} h)",
        )
    ax.set_xlabel("time after administration (h)")
    ax.set_ylabel("fraction of administered I-131")
    ax.set_yscale("log")
    ax.set_title(
        f"auto -> {fit.model.value}: TIA {fit.tia_h:.2f} h (95% MC CI {unc.ci_lower:.2f}-{unc.ci_upper:.2f})",
        fontsize=9,
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(OUT / "dosimetry_tac.png", dpi=120)
    plt.close(fig)


def svalue_figure() -> None:
    tab = sphere_table()
    m = tab["mass_g"]
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    ax.plot(m, tab["s_i131_mgy_per_mbq_s"] * m, "k-", label="I-131 total")
    ax.plot(m, tab["s_i131_electron"] * m, "b--", label="I-131 electrons")
    ax.plot(m, tab["s_i131_photon"] * m, "r--", label="I-131 photons")
    ax.plot(m, tab["s_i124_mgy_per_mbq_s"] * m, "g-", label="I-124 total (unverified model)")
    ax.axhline(3.0737e-2, color="b", lw=0.6, ls=":", label="electron-only limit 3.0737e-2")
    ax.set_xscale("log")
    ax.set_xlabel("sphere mass (g)")
    ax.set_ylabel("S·m  (mGy·g/(MBq·s))")
    ax.set_title("Unit-density sphere self-dose (scripts/make_sphere_svalues.py)", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(OUT / "dosimetry_svalues.png", dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    tac_figure()
    svalue_figure()
    print(f"wrote {OUT / 'dosimetry_tac.png'} and {OUT / 'dosimetry_svalues.png'}")
