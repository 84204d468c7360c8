"""Benchmark of redif.design: Simon search and MAP prior.

Run from the repository root::

    python benchmarks/design_bench.py

Prints wall-clock times (best of a few repeats) of

- the exhaustive Simon two-stage search (p0 = 0.2, p1 = 0.4, alpha = 0.05, beta = 0.1) at nmax = 50,
  100 and 200, beside a naive pure-Python loop over (n, n1, r1, r) at nmax = 50 in the same process
  (same conventions; the two must return the same designs);
- the MAP prior (quadrature + beta-mixture EM + ESS) from 10 and 100 simulated historical arms;
- the rpact reference grid of group-sequential designs (``tests/design/data/rpact_reference.json``: 178
  designs, boundaries + characteristics) in redif, with the largest relative difference from rpact per
  quantity, beside rpact 3.3.4's own time for the same grid (``Rscript``, when R is available; rpact's
  default tolerance 1e-8), in the same run.

``python benchmarks/design_bench.py gs`` runs only the group-sequential part.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from redif.design.bayes import map_prior
from redif.design.group_sequential import group_sequential_design
from redif.design.simon import simon_design

P0, P1, ALPHA, BETA = 0.2, 0.4, 0.05, 0.1


def naive_simon(p0: float, p1: float, alpha: float, beta: float, nmax: int) -> dict[int, tuple[int, ...]]:
    """Pure-Python baseline: for every n, n1, r1, scan r downwards (clinfun's order) with binomial
    tables from math.comb; keep the minimum-EN(p0) design per n."""
    pmf0 = [[math.comb(m, x) * p0**x * (1 - p0) ** (m - x) for x in range(m + 1)] for m in range(nmax + 1)]
    pmf1 = [[math.comb(m, x) * p1**x * (1 - p1) ** (m - x) for x in range(m + 1)] for m in range(nmax + 1)]

    def sf(pmf: list[list[float]], m: int, k: int) -> float:  # P(Bin(m) > k)
        if k < 0:
            return 1.0
        return sum(pmf[m][k + 1 :])

    best: dict[int, tuple[int, ...]] = {}
    for n in range(2, nmax + 1):
        en_best = float(n)
        for n1 in range(1, n):
            n2 = n - n1
            for r1 in range(n1 - 1, -1, -1):
                pet = sum(pmf0[n1][: r1 + 1])
                en = n1 + (1 - pet) * n2
                if en >= en_best:
                    continue
                for r in range(n2 + r1, r1 - 1, -1):
                    pw = sum(pmf1[n1][x1] * sf(pmf1, n2, r - x1) for x1 in range(r1 + 1, n1 + 1))
                    if 1 - pw >= beta:
                        continue
                    a = sum(pmf0[n1][x1] * sf(pmf0, n2, r - x1) for x1 in range(r1 + 1, n1 + 1))
                    if a < alpha:
                        en_best = en
                        best[n] = (r1, n1, r, n)
                    break
    return best


def timed(fn, repeats: int = 3):  # type: ignore[no-untyped-def]
    best = math.inf
    out = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


REF = Path(__file__).resolve().parents[1] / "tests" / "design" / "data" / "rpact_reference.json"

R_GRID = r"""
suppressMessages({library(rpact); library(jsonlite)})
ref <- fromJSON(commandArgs(trailingOnly = TRUE)[1], simplifyVector = FALSE)
t0 <- proc.time()[["elapsed"]]
for (case in ref$designs) {
  s <- case$input
  a <- list(kMax = s$k, alpha = s$alpha, beta = s$beta, sided = s$sided, typeOfDesign = s$type)
  if (!is.null(s$info)) a$informationRates <- unlist(s$info)
  if (!is.null(s$delta_wt)) a$deltaWT <- s$delta_wt
  if (!is.null(s$gamma_a)) a$gammaA <- s$gamma_a
  if (!is.null(s$bs)) { a$typeBetaSpending <- s$bs; a$bindingFutility <- s$binding
                        if (!is.null(s$gamma_b)) a$gammaB <- s$gamma_b }
  d <- suppressWarnings(do.call(getDesignGroupSequential, a))
  ch <- getDesignCharacteristics(d)
}
cat(proc.time()[["elapsed"]] - t0, "\n")
"""

_PAIRS = [
    ("critical_values", "criticalValues"),
    ("futility_bounds", "futilityBounds"),
    ("alpha_spent", "alphaSpent"),
    ("beta_spent", "betaSpent"),
    ("inflation_factor", "inflationFactor"),
    ("power", "power"),
    ("expected_information_h0", "averageSampleNumber0"),
    ("expected_information_h01", "averageSampleNumber01"),
    ("expected_information_h1", "averageSampleNumber1"),
]


def _gs_grid() -> list:  # type: ignore[type-arg]
    ref = json.loads(REF.read_text(encoding="utf-8"))
    out = []
    for case in ref["designs"]:
        s = case["input"]
        out.append(group_sequential_design(
            s["k"], s["alpha"], s["beta"], s["sided"], s["type"], info_rates=s.get("info"),
            delta_wt=s.get("delta_wt"), gamma_a=s.get("gamma_a"), beta_spending=s.get("bs", "none"),
            gamma_b=s.get("gamma_b"), binding=bool(s.get("binding", False))))
    return out


def group_sequential_bench() -> None:
    ref = json.loads(REF.read_text(encoding="utf-8"))
    n = len(ref["designs"])
    print(f"Group-sequential designs: the rpact reference grid ({n} designs, boundaries + characteristics)")
    t, designs = timed(_gs_grid, repeats=1)
    print(f"  redif (recursive integration, Simpson): {t:7.2f} s  ({1000 * t / n:.1f} ms per design)")
    worst: dict[str, float] = {}
    for d, case in zip(designs, ref["designs"], strict=True):
        for ours, theirs in _PAIRS:
            a, b = getattr(d, ours), case[theirs]
            if a is None or b is None or ("bs" not in case["input"] and ours == "futility_bounds"):
                continue
            av = np.atleast_1d(np.asarray(a, dtype=float))
            bv = np.atleast_1d(np.asarray(b, dtype=float))
            big = np.abs(bv) > 1e-6
            rel = float(np.max(np.abs(av[big] - bv[big]) / np.abs(bv[big]), initial=0.0))
            worst[ours] = max(worst.get(ours, 0.0), rel)
    print("  largest relative difference from rpact 3.3.4: "
          + ", ".join(f"{k} {v:.1e}" for k, v in worst.items()))
    if shutil.which("Rscript") is None:
        print("  rpact: Rscript not found, no baseline")
        return
    with_r = subprocess.run(["Rscript", "-e", R_GRID, str(REF)], capture_output=True, text=True, check=False)
    if with_r.returncode != 0:
        print(f"  rpact: failed ({with_r.stderr.strip().splitlines()[-1:]})")
        return
    tr = float(with_r.stdout.split()[-1])
    print(f"  rpact 3.3.4 (same grid, Rscript, R's elapsed time): {tr:7.2f} s  "
          f"({1000 * tr / n:.1f} ms per design; redif x{tr / t:.1f})")


def main() -> None:
    if sys.argv[1:] == ["gs"]:
        group_sequential_bench()
        return
    print("Simon two-stage search, p0=0.2 p1=0.4 alpha=0.05 beta=0.1")
    t_naive, naive = timed(lambda: naive_simon(P0, P1, ALPHA, BETA, 50), repeats=1)
    t50, res50 = timed(lambda: simon_design(P0, P1, ALPHA, BETA, nmax=50))
    same = {d.n: (d.r1, d.n1, d.r, d.n) for d in res50.by_n} == naive
    print(f"  naive pure-Python loop, nmax=50 : {t_naive:8.3f} s")
    print(f"  redif vectorised,       nmax=50 : {t50:8.3f} s   "
          f"(x{t_naive / t50:,.0f} faster; same designs: {same})")
    for nmax in (100, 200):
        t, res = timed(lambda nmax=nmax: simon_design(P0, P1, ALPHA, BETA, nmax=nmax), repeats=2)
        o = res.optimal
        print(f"  redif vectorised,       nmax={nmax}: {t:8.3f} s   optimal {o.r1}/{o.n1}, {o.r}/{o.n}")
    print("MAP prior (deterministic quadrature + beta-mixture EM + ESS)")
    rng = np.random.default_rng(20261121)
    for k in (10, 100):
        n = rng.integers(10, 60, k)
        r = rng.binomial(n, rng.uniform(0.25, 0.45, k))
        t, prior = timed(lambda r=r, n=n: map_prior(r, n), repeats=1)
        print(f"  {k:3d} arms: {t:7.2f} s   mixture of {prior.map_mixture.n_components} + vague, "
              f"mean {prior.mixture.mean:.3f}, ESS(ELIR) {prior.ess.elir:.1f}")
    group_sequential_bench()


if __name__ == "__main__":
    main()
