"""Benchmark of the redif meta-analysis engine against R metafor on the same simulated data.

Fits, for k = 20, 100 and 1000 simulated studies of one proportion:

* ``REML``: random-effects model on logits (redif ``pool_proportions(method="REML")``, which also
  computes Q-profile CIs and per-study Clopper-Pearson intervals; metafor ``rma(measure="PLO")``);
* ``GLMM``: binomial-normal model (redif ``pool_proportions(method="GLMM")``; metafor
  ``rma.glmm(measure="PLO")`` = lme4 ``glmer(nAGQ=7)``);
* ``REG3``: meta-regression on 3 moderators, two continuous and one binary (redif
  ``meta_regression``; metafor ``rma(yi, vi, mods=~m1+m2+m3)``), REML.

Times are per fit, from repeated fits until ``--min-time`` seconds have elapsed; R's time is measured
inside R (``system.time`` around the repeated fits, so R start-up is excluded). The pooled
estimates of both are printed side by side so that the comparison is of equal work.

Usage::

    python benchmarks/meta_bench.py            # with R if Rscript + metafor exist
    python benchmarks/meta_bench.py --no-r --ks 20,100
"""

from __future__ import annotations

import argparse
import csv
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from redif.evidence.meta import escalc, meta_regression, pool_proportions

MODELS = ("REML", "GLMM", "REG3")

R_SCRIPT = r"""
suppressMessages(library(metafor))
args <- commandArgs(trailingOnly = TRUE)
min_time <- as.numeric(args[1]); files <- args[-1]
tm <- function(f) {
  t1 <- system.time(r <- f())[["elapsed"]]
  if (t1 >= min_time) return(list(t = t1, r = r))
  reps <- max(2, ceiling(min_time / max(t1, 1e-5)))
  t <- system.time(for (i in seq_len(reps)) f())[["elapsed"]] / reps
  list(t = t, r = r)
}
# warm-up: load lme4 and byte-compile metafor's code paths before any timing
invisible(rma(measure = "PLO", xi = c(3, 5, 7), ni = c(10, 12, 15), method = "REML"))
invisible(suppressWarnings(rma.glmm(measure = "PLO", xi = c(3, 5, 7, 4), ni = c(10, 12, 15, 9))))
for (f in files) {
  d <- read.csv(f); k <- nrow(d)
  es <- escalc("PLO", xi = d$x, ni = d$n); es$m1 <- d$m1; es$m2 <- d$m2; es$m3 <- d$m3
  a <- tm(function() rma(measure = "PLO", xi = d$x, ni = d$n, method = "REML"))
  cat(k, "REML", a$t, c(a$r$beta), "\n")
  a <- tm(function() rma.glmm(measure = "PLO", xi = d$x, ni = d$n))
  cat(k, "GLMM", a$t, c(a$r$beta), "\n")
  a <- tm(function() rma(yi, vi, mods = ~ m1 + m2 + m3, data = es, method = "REML"))
  cat(k, "REG3", a$t, c(a$r$beta)[2], "\n")
}
"""


def simulate(k: int, seed: int) -> dict[str, np.ndarray]:
    """k studies: n ~ U{20..200}, logit p ~ N(-0.5 + 0.3 m1 - 0.2 m3, 0.6^2), x ~ Bin(n, p)."""
    rng = np.random.default_rng(seed)
    n = rng.integers(20, 201, size=k)
    m1, m2 = rng.normal(size=k), rng.normal(size=k)
    m3 = rng.integers(0, 2, size=k)
    theta = rng.normal(-0.5 + 0.3 * m1 - 0.2 * m3, 0.6)
    x = rng.binomial(n, 1.0 / (1.0 + np.exp(-theta)))
    return {"x": x, "n": n, "m1": m1, "m2": m2, "m3": m3}


def per_fit(fn: Callable[[], float], min_time: float) -> tuple[float, float]:
    """Seconds per call (repeated until ``min_time``) and the value of the last call."""
    t0 = time.perf_counter()
    value = fn()
    first = time.perf_counter() - t0
    if first >= min_time:
        return first, value
    reps = max(2, int(np.ceil(min_time / max(first, 1e-6))))
    t0 = time.perf_counter()
    for _ in range(reps):
        value = fn()
    return (time.perf_counter() - t0) / reps, value


def redif_fits(d: dict[str, np.ndarray]) -> dict[str, Callable[[], float]]:
    """The three fits for data set ``d``; each returns the estimate compared with metafor."""
    yi, vi = escalc("PLO", d["x"], d["n"])
    mods = {"m1": d["m1"].tolist(), "m2": d["m2"].tolist(), "m3": d["m3"].tolist()}
    return {
        "REML": lambda: pool_proportions(d["x"], d["n"], measure="PLO", method="REML").mu,
        "GLMM": lambda: pool_proportions(d["x"], d["n"], measure="PLO", method="GLMM").mu,
        "REG3": lambda: meta_regression(yi, vi, mods, method="REML").coefficients[1].estimate,
    }


def r_available() -> bool:
    """Rscript on PATH with metafor and lme4 loadable."""
    if shutil.which("Rscript") is None:
        return False
    proc = subprocess.run(["Rscript", "-e", "suppressMessages({library(metafor); library(lme4)})"],
                          capture_output=True, timeout=120)
    return proc.returncode == 0


def run_r(files: list[Path], min_time: float, timeout: float) -> dict[tuple[int, str], tuple[float, float]]:
    """Time metafor inside R on the same CSV files; {(k, model): (seconds per fit, estimate)}."""
    with tempfile.NamedTemporaryFile("w", suffix=".R", delete=False) as fh:
        fh.write(R_SCRIPT)
        script = fh.name
    proc = subprocess.run(["Rscript", script, str(min_time), *map(str, files)], capture_output=True,
                          text=True, timeout=timeout)
    out: dict[tuple[int, str], tuple[float, float]] = {}
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[1] in MODELS:
            out[(int(parts[0]), parts[1])] = (float(parts[2]), float(parts[3]))
    if proc.returncode != 0:
        print(f"R failed: {proc.stderr.strip()[-500:]}", file=sys.stderr)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ks", default="20,100,1000", help="comma-separated numbers of studies")
    ap.add_argument("--min-time", type=float, default=0.5, help="seconds of repeated fits per timing")
    ap.add_argument("--no-r", action="store_true", help="skip metafor even if R is installed")
    ap.add_argument("--r-timeout", type=float, default=3600.0, help="seconds allowed for the R run")
    ap.add_argument("--seed", type=int, default=20260101)
    args = ap.parse_args()
    ks = [int(k) for k in args.ks.split(",")]
    data = {k: simulate(k, args.seed + k) for k in ks}
    tmp = Path(tempfile.mkdtemp(prefix="meta_bench_"))
    files = []
    for k, d in data.items():
        path = tmp / f"k{k}.csv"
        with path.open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["x", "n", "m1", "m2", "m3"])
            for i in range(k):
                w.writerow([int(d["x"][i]), int(d["n"][i]), repr(float(d["m1"][i])), repr(float(d["m2"][i])),
                            int(d["m3"][i])])
        files.append(path)
    redif: dict[tuple[int, str], tuple[float, float]] = {}
    for fn in redif_fits(simulate(5, 0)).values():  # warm-up (imports, caches), not timed
        fn()
    for k, d in data.items():
        for model, fn in redif_fits(d).items():
            redif[(k, model)] = per_fit(fn, args.min_time)
    use_r = not args.no_r and r_available()
    r = run_r(files, args.min_time, args.r_timeout) if use_r else {}
    print(f"redif meta-analysis benchmark (numpy {np.__version__}); time per fit in milliseconds")
    header = f"{'model':<6}{'k':>6}{'redif ms':>12}{'metafor ms':>12}{'speed-up':>10}{'|d estimate|':>14}"
    print(header)
    print("-" * len(header))
    for model in MODELS:
        for k in ks:
            t, est = redif[(k, model)]
            if (k, model) in r:
                tr, er = r[(k, model)]
                line = f"{model:<6}{k:>6}{t * 1e3:>12.2f}{tr * 1e3:>12.2f}{tr / t:>9.1f}x"
                print(f"{line}{abs(est - er):>14.1e}")
            else:
                print(f"{model:<6}{k:>6}{t * 1e3:>12.2f}{'-':>12}{'-':>10}{'-':>14}")
    if not use_r:
        print("(metafor not run: Rscript with metafor and lme4 not found, or --no-r)")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
