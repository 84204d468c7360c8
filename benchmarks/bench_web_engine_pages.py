"""Latency of the engine pages and endpoints of the web app (in-process TestClient, SQLite), beside a
baseline in the same process: the engine calls the page makes, done directly (no HTTP, no cache).

    python benchmarks/bench_web_engine_pages.py [--n 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
warnings.filterwarnings("ignore")


def _times(fn: Callable[[], object], n: int) -> tuple[float, float]:
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t) * 1000)
    ts.sort()
    return statistics.median(ts), ts[min(len(ts) - 1, int(0.99 * len(ts)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20)
    n = ap.parse_args().n
    from fastapi.testclient import TestClient

    from redif.evidence.plots import forest_bytes
    from redif.evidence.studies import load_evidence
    from redif.evidence.synthesis import pool_outcome
    from redif.evidence.tables import outcome_table
    from redif.web.app import create_app
    from redif.web.settings import WebSettings

    d = Path(tempfile.mkdtemp())
    c = TestClient(create_app(WebSettings(database_url=f"sqlite:///{d / 'r.sqlite'}", data_dir=d)))
    t = time.perf_counter()
    c.get("/evidence")
    first_ms = (time.perf_counter() - t) * 1000
    print(f"first /evidence request (imports, evidence base, plot): {first_ms:.0f} ms")

    def baseline() -> None:
        table = outcome_table(load_evidence([]), "uptake", genotype=None, definition=None)
        res = pool_outcome(table, by="genotype")
        (d / "f.svg").write_bytes(forest_bytes(res.result, "svg", title="x"))

    rows = [
        ("baseline: outcome_table + pool_outcome + forest_bytes (direct)", baseline),
        ("GET /evidence?by=genotype (page, cached pool and plot)", lambda: c.get("/evidence?by=genotype")),
        ("GET /api/v1/evidence/pool", lambda: c.get("/api/v1/evidence/pool")),
        ("GET /api/v1/calc/lesion", lambda: c.get("/api/v1/calc/lesion?mass_g=2&tia_h=20&target_gy=80")),
        ("GET /calc/tia (1000 Monte Carlo samples)",
         lambda: c.get("/calc/tia?times_h=4,24,48,96&values=0.02,0.015,0.01,0.004")),
        ("GET /design (Simon nmax 60 + single stage)",
         lambda: c.get("/design?p0=0.05&p1=0.25&alpha=0.05&beta=0.2")),
    ]
    print(f"{'operation':64s} {'p50 ms':>8s} {'p99 ms':>8s}  (n={n})")
    for name, fn in rows:
        p50, p99 = _times(fn, n)
        print(f"{name:64s} {p50:8.1f} {p99:8.1f}")


if __name__ == "__main__":
    main()
