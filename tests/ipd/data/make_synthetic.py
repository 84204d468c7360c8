"""Write the synthetic multi-site analysis datasets of tests/ipd (issue 13). Fixed seed; from the repo root:

    python tests/ipd/data/make_synthetic.py

sites.csv: 6 sites (A-F) with 30-60 patients each; site-specific uptake and response rates (a random site
effect, sd 0.6 on the logit scale); genotypes BRAF V600E / NRAS / HRAS / other; uptake assessed on the
diagnostic scan at sites A-E and by increased 124I uptake at site F (so the file mixes definitions);
PFS/TTNT from exponential times (median ~ 300-600 days, longer with restored uptake and by genotype) with
uniform censoring, in whole days (ties occur); DOR for responders; age in years. Not real patients.
published.csv: sites A-C plus a published arm written as one row per patient (source published:P07: 4 of 10
restored on the diagnostic scan, the evidence base's counts for that record) for the combination tests.
"""

from __future__ import annotations

import csv
import math
import random
from pathlib import Path

HERE = Path(__file__).parent
COLUMNS = ["patient", "site", "genotype", "uptake_restored", "uptake_definition", "objective_response",
           "response_denominator", "pfs_days", "pfs_event", "ttnt_days", "ttnt_event", "dor_days",
           "dor_event", "source", "age_years"]


def expit(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def main() -> None:
    rng = random.Random(20261207)
    rows = []
    sizes = {"A": 60, "B": 45, "C": 50, "D": 30, "E": 40, "F": 35}
    genos = ["BRAF V600E", "NRAS", "HRAS", "other"]
    gw = [0.5, 0.25, 0.1, 0.15]
    geff = {"BRAF V600E": 0.0, "NRAS": 0.6, "HRAS": 0.4, "other": -0.5}
    pid = 0
    for site, size in sizes.items():
        u_site = rng.gauss(0.0, 0.6)
        r_site = rng.gauss(0.0, 0.6)
        for _ in range(size):
            pid += 1
            g = rng.choices(genos, gw)[0]
            age = rng.randint(35, 82)
            assessed = rng.random() > 0.08
            up = rng.random() < expit(0.3 + u_site + geff[g]) if assessed else None
            defn = ("increased_124i_uptake" if site == "F" else "diagnostic_scan") if assessed else ""
            treated = bool(up)
            if treated:
                evaluable = rng.random() > 0.1
                resp = (rng.random() < expit(-0.4 + r_site + 0.5 * geff[g])) if evaluable else None
                denom = "treated"
            else:
                resp, denom = 0, "itt"
            scale = 350.0 * (1.8 if up else 1.0) * math.exp(0.4 * geff[g]) * math.exp(-0.01 * (age - 60))
            rate = 1.0 / scale
            t_ev = rng.expovariate(rate)
            t_c = rng.uniform(60, 1100)
            pfs = max(1, round(min(t_ev, t_c)))
            pfs_e = int(t_ev <= t_c)
            t_n = t_ev + rng.expovariate(1 / 150.0)
            ttnt = max(1, round(min(t_n, t_c + 100)))
            ttnt_e = int(t_n <= t_c + 100)
            dor = dor_e = ""
            if resp:
                d_ev = rng.expovariate(1 / 420.0)
                d_c = rng.uniform(60, 900)
                dor, dor_e = max(1, round(min(d_ev, d_c))), int(d_ev <= d_c)
            rows.append({
                "patient": f"P{pid:04d}", "site": site, "genotype": g,
                "uptake_restored": "" if up is None else int(up), "uptake_definition": defn,
                "objective_response": "" if resp is None else int(resp), "response_denominator": denom,
                "pfs_days": pfs, "pfs_event": pfs_e, "ttnt_days": ttnt, "ttnt_event": ttnt_e,
                "dor_days": dor, "dor_event": dor_e, "source": "site", "age_years": age,
            })
    with (HERE / "sites.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    pub = [r for r in rows if r["site"] in ("A", "B", "C")]
    for i in range(10):
        pub.append({c: "" for c in COLUMNS} | {
            "patient": f"P07-{i + 1:02d}", "site": "P07", "genotype": "NRAS", "uptake_restored": int(i < 4),
            "uptake_definition": "diagnostic_scan", "source": "published:P07"})
    with (HERE / "published.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(pub)


if __name__ == "__main__":
    main()
