"""Benchmark of redif.design: Simon search and MAP prior.

Run from the repository root::

    python benchmarks/design_bench.py

Prints wall-clock times (best of a few repeats) of

- the exhaustive Simon two-stage search (p0 = 0.2, p1 = 0.4, alpha = 0.05, beta = 0.1) at nmax = 50,
  100 and 200, beside a naive pure-Python loop over (n, n1, r1, r) at nmax = 50 in the same process
  (same conventions; the two must return the same designs);
- the MAP prior (quadrature + beta-mixture EM + ESS) from 10 and 100 simulated historical arms.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from redif.design.bayes import map_prior
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


def main() -> None:
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


if __name__ == "__main__":
    main()
