"""Speed of the response engines, each beside a simple baseline run in the same process.

Run: ``PYTHONPATH=src python benchmarks/response_bench.py [--subjects 20000]``

- BOR: ``best_overall_response`` (unconfirmed / confirmed) vs a bare "minimum rank" loop (the least any
  BOR derivation must do);
- RECIST: ``assess`` on random cases (exact rationals, validation, findings) vs summing the same
  diameters as floats;
- Tg: ``doubling_time`` vs ``numpy.polyfit`` of ln(Tg) on days (the bare fit).
"""

from __future__ import annotations

import argparse
import math
import random
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import numpy as np

from redif.response.bor import BorParameters, ResponseRecord, SubjectResponses, best_overall_response
from redif.response.codes import BestResponse, OverallResponse
from redif.response.recist import assess, case_from_dict
from redif.response.thyroglobulin import TgMeasurement, doubling_time


def _timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--subjects", type=int, default=20000)
    ap.add_argument("--cases", type=int, default=2000)
    ap.add_argument("--series", type=int, default=5000)
    args = ap.parse_args()
    rng = random.Random(20251121)
    start = date(2025, 1, 1)
    codes = list(OverallResponse)
    subjects = []
    for i in range(args.subjects):
        day = 0
        recs = []
        for _ in range(8):
            day += rng.randint(20, 70)
            recs.append(ResponseRecord(start + timedelta(days=day), rng.choice(codes)))
        subjects.append(SubjectResponses(str(i), start, tuple(recs)))
    rank = {c: BestResponse(c.value).rank for c in codes}
    base = _timed(lambda: [min((rank[r.response], r.date) for r in s.assessments) for s in subjects])
    unconf = _timed(lambda: [best_overall_response(s, BorParameters()) for s in subjects])
    conf = _timed(lambda: [best_overall_response(s, BorParameters(confirm=True)) for s in subjects])
    print(f"BOR, {args.subjects} subjects x 8 assessments")
    print(f"  baseline min-rank loop      {base:8.3f} s")
    print(f"  unconfirmed                 {unconf:8.3f} s  ({args.subjects / unconf:,.0f} subjects/s)")
    print(f"  confirmed                   {conf:8.3f} s  ({args.subjects / conf:,.0f} subjects/s)")

    cases = []
    for _ in range(args.cases):
        n = rng.randint(1, 5)
        ids = [f"T{k}" for k in range(n)]
        base_mm = {k: round(rng.uniform(10, 60), 1) for k in ids}
        follow = []
        for j in range(6):
            follow.append(
                {
                    "date": f"2025-{j + 2:02d}-01",
                    "target_mm": {k: round(v * rng.uniform(0.3, 1.6), 1) for k, v in base_mm.items()},
                }
            )
        cases.append(
            {
                "lesions": [{"id": k, "organ": k, "kind": "target"} for k in ids],
                "baseline": {"date": "2025-01-01", "target_mm": base_mm},
                "follow_up": follow,
            }
        )
    fbase = _timed(lambda: [[sum(f["target_mm"].values()) for f in c["follow_up"]] for c in cases])
    exact = _timed(lambda: [assess(case_from_dict(c)) for c in cases])
    print(f"RECIST, {args.cases} cases x 6 follow-ups")
    print(f"  baseline float sums         {fbase:8.3f} s")
    print(f"  parse + assess (exact)      {exact:8.3f} s  ({args.cases / exact:,.0f} cases/s)")

    series = []
    for _ in range(args.series):
        dt = rng.uniform(100, 2000)
        days = sorted(rng.sample(range(0, 1500), 6))
        series.append(
            [
                TgMeasurement(start + timedelta(days=d), 2.0 * 2 ** (d / dt) * rng.uniform(0.9, 1.1))
                for d in days
            ]
        )
    doubling_time(series[0])  # warm-up: imports scipy.special once
    t_np = _timed(
        lambda: [
            np.polyfit([(m.date - s[0].date).days for m in s], [math.log(m.tg_ng_ml) for m in s], 1)
            for s in series
        ]
    )
    t_dt = _timed(lambda: [doubling_time(s) for s in series])
    print(f"Tg doubling time, {args.series} series x 6 samples")
    print(f"  baseline numpy.polyfit      {t_np:8.3f} s")
    print(f"  doubling_time (fit+CI+flags){t_dt:8.3f} s  ({args.series / t_dt:,.0f} series/s)")


if __name__ == "__main__":
    main()
