"""Benchmark of the Bayesian monitoring designs (issue 15): the predictive-probability design search with
exact operating characteristics at Nmax = 60 (continuous monitoring, 960 (theta_L, theta_T) pairs), beside
a naive baseline in the same process (every pair evaluated from scratch: PP recomputed per pair, OC by a
per-patient Python loop); BOP2 at N = 40; the borrowing design (20 + 40 patients, 19 control rates).

Run from the repository root::

    python benchmarks/design_bayes_bench.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from redif.design.bop2 import bop2_design
from redif.design.borrowing import borrowing_design
from redif.design.mixture import BetaMixture
from redif.design.predictive import _THETA_L, _THETA_T, predictive_design, predictive_table

P0, P1, NMAX, ALPHA, POWER = 0.2, 0.4, 60, 0.05, 0.8


def _naive_oc(r: tuple[int, ...], p: float) -> tuple[float, float]:
    dist = np.zeros(NMAX + 1)
    dist[0] = 1.0
    en = 0.0
    for n in range(1, NMAX + 1):
        new = np.zeros(NMAX + 1)
        for x in range(n):
            new[x] += dist[x] * (1 - p)
            new[x + 1] += dist[x] * p
        dist = new
        if n < NMAX and r[n - 1] >= 0:
            en += n * dist[: r[n - 1] + 1].sum()
            dist[: r[n - 1] + 1] = 0.0
    return float(dist[r[-1] + 1 :].sum()), en + NMAX * float(dist.sum())


def naive_search(grid_l: tuple[float, ...], grid_t: tuple[float, ...]) -> float:
    best = np.inf
    for t in grid_t:
        for lo in grid_l:
            tab = predictive_table(P0, NMAX, lo, t, P0, 1 - P0)
            a, en0 = _naive_oc(tab.r, P0)
            pw, _ = _naive_oc(tab.r, P1)
            if a <= ALPHA and pw >= POWER:
                best = min(best, en0)
    return best


def main() -> None:
    t0 = time.perf_counter()
    res = predictive_design(P0, P1, NMAX, alpha=ALPHA, power=POWER)
    t_redif = time.perf_counter() - t0
    sub_l, sub_t = _THETA_L[::8], _THETA_T[::5]
    t0 = time.perf_counter()
    naive_en0 = naive_search(sub_l, sub_t)
    t_naive_sub = time.perf_counter() - t0
    t_naive = t_naive_sub * (len(_THETA_L) * len(_THETA_T)) / (len(sub_l) * len(sub_t))
    sub = predictive_design(P0, P1, NMAX, alpha=ALPHA, power=POWER, theta_l_grid=sub_l, theta_t_grid=sub_t)
    d = res.design
    print(f"Predictive-probability design, p0={P0} p1={P1} Nmax={NMAX} continuous, {res.n_evaluated} pairs")
    print(
        f"  redif (boundary cache, exact recursion): {t_redif:8.3f} s  theta_L={d.theta_l} "
        f"theta_T={d.theta_t}"
        f" alpha={d.alpha:.4f} power={d.power:.4f} EN0={d.en0:.2f}"
    )
    print(
        f"  naive per-pair loop on a 1/{len(_THETA_L) * len(_THETA_T) // (len(sub_l) * len(sub_t))} "
        f"sub-grid: {t_naive_sub:8.3f} s (full grid ~{t_naive:.1f} s); same best EN0 on the sub-grid: "
        f"{abs(naive_en0 - sub.design.en0) < 1e-9}"
    )
    t0 = time.perf_counter()
    b = bop2_design(P0, P1, 40, looks=[10, 20, 30], alpha=0.1)
    print(f"BOP2 N=40, 4 analyses, {b.n_evaluated} (lambda, gamma) pairs: {time.perf_counter() - t0:8.3f} s")
    t0 = time.perf_counter()
    borrowing_design(BetaMixture.from_arrays([0.8, 0.2], [10, 1], [30, 1]), 20, 40, effect=0.25)
    print(f"Borrowing design 20+40, 19 control rates:            {time.perf_counter() - t0:8.3f} s")


if __name__ == "__main__":
    main()
