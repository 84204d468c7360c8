"""Write the synthetic site CSVs of the federated tests (issue 13): ``python make_sites.py``.

Four sites (A 40, B 34, C 26, D 4 patients) in the analysis-dataset contract (ANALYSIS_CONTRACT), from a
fixed seed: genotype, restored uptake (post-therapy scan; a few 124I PET definitions at site B), objective
response with ITT/treated denominators, PFS/TTNT/DOR in days with ties (times rounded to 7 days), and an
extra column ``age_years``. Site D is smaller than the default min_cell (5) on purpose.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

COLUMNS = ["patient", "site", "genotype", "uptake_restored", "uptake_definition", "objective_response",
           "response_denominator", "pfs_days", "pfs_event", "ttnt_days", "ttnt_event", "dor_days",
           "dor_event", "age_years"]
SITES = {"A": 40, "B": 34, "C": 26, "D": 4}
GENOTYPES = ["BRAF V600E", "NRAS", "HRAS"]


def main() -> None:
    rng = np.random.default_rng(13)
    out = Path(__file__).with_name("sites")
    out.mkdir(exist_ok=True)
    for s, (site, n) in enumerate(SITES.items()):
        rows = []
        for i in range(n):
            g = GENOTYPES[int(rng.choice(3, p=[0.5, 0.3, 0.2]))]
            age = int(rng.integers(35, 82))
            assessed = rng.random() > 0.1
            restored = int(rng.random() < (0.45 if g == "BRAF V600E" else 0.7)) if assessed else None
            definition = ("increased_124i_uptake" if site == "B" and i % 6 == 0 else "post_therapy_scan") \
                if assessed else ""
            treated = restored == 1
            denom = "treated" if treated else "itt"
            resp = int(rng.random() < 0.45) if treated else 0
            resp_cell = "" if treated and rng.random() < 0.1 else str(resp)  # "": treated, not evaluable
            scale = 420.0 * (1.6 if restored else 1.0) * (0.9 if s == 1 else 1.1 if s == 2 else 1.0)
            t_event = rng.exponential(scale) * np.exp(-0.01 * (age - 60))
            t_cens = rng.uniform(200, 1400)
            pfs = int(7 * max(1, round(min(t_event, t_cens) / 7)))
            pfs_event = int(t_event <= t_cens)
            ttnt = pfs + int(7 * round(rng.uniform(0, 200) / 7))
            ttnt_event = int(pfs_event and rng.random() < 0.7)
            dor, dor_event = ("", "")
            if resp_cell == "1":
                dor, dor_event = str(max(7, pfs - 60)), str(pfs_event)
            rows.append([f"{site}{i + 1:03d}", site, g, "" if restored is None else str(restored), definition,
                         resp_cell, denom, str(pfs), str(pfs_event), str(ttnt), str(ttnt_event), dor,
                         dor_event, str(age)])
        with (out / f"site_{site}.csv").open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(COLUMNS)
            w.writerows(rows)


if __name__ == "__main__":
    main()
