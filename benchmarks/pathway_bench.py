"""Time to assess one case: the whole chain vs the pathway rules alone, in the same process.

* full chain: :func:`redif.pathway.assess_case` (refractoriness, eligibility, regimens with live evidence
  pooled by the meta-analysis engine, protocol, go / no-go, dosimetry plan, RECIST and Tg) on every example
  case in ``examples/case_*.yaml``;
* baseline: the pathway's own rules only (refractoriness, genotype, eligibility, protocol, go / no-go), no
  evidence pooling and no engines — what a rules-only checklist tool would do.

Both are timed warm (the data files and the evidence base are loaded once before timing; the cost of that
first load is printed separately).

Run: ``python benchmarks/pathway_bench.py [--repeat 20]``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from redif.pathway import assess_case, load_case  # noqa: E402
from redif.pathway.decision import decide  # noqa: E402
from redif.pathway.eligibility import assess_eligibility  # noqa: E402
from redif.pathway.protocol import get_protocol, schedule  # noqa: E402
from redif.pathway.refractoriness import assess_refractoriness  # noqa: E402
from redif.pathway.regimens import classify_genotype, regimens_for  # noqa: E402


def rules_only(case):  # type: ignore[no-untyped-def]
    refr = assess_refractoriness(case)
    geno = classify_genotype(case)
    elig = assess_eligibility(case, refr, geno)
    regs = regimens_for(geno)
    plan = schedule(get_protocol(regs[0].default_protocol), None) if regs else None
    return elig, plan, decide(case)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    cases = [load_case(p) for p in sorted((ROOT / "examples").glob("case_*.yaml"))]
    t0 = time.perf_counter()
    for c in cases:
        assess_case(c)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(args.repeat):
        for c in cases:
            assess_case(c)
    full = (time.perf_counter() - t0) / (args.repeat * len(cases))
    t0 = time.perf_counter()
    for _ in range(args.repeat):
        for c in cases:
            rules_only(c)
    base = (time.perf_counter() - t0) / (args.repeat * len(cases))
    print(f"cases: {len(cases)} examples x {args.repeat} repeats")
    print(f"first pass (loads data files, evidence base): {first * 1000:8.1f} ms for all cases")
    print(f"full chain per case (warm):                   {full * 1000:8.2f} ms")
    print(f"baseline, rules only per case (warm):         {base * 1000:8.2f} ms")
    print(f"engines + evidence pooling add:               {(full - base) * 1000:8.2f} ms per case")


if __name__ == "__main__":
    main()
