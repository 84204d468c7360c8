"""Run in the algorithm's environment by test_algorithm_node.py: prints what the node-side code returns.

``python node_checks.py SITE_CSV`` -> one JSON object (no vantage6 infrastructure needed).
"""

from __future__ import annotations

import json
import os
import sys

import pandas as pd
from redif_vantage6.counts import site_counts
from redif_vantage6.dataset import AlgorithmInputError
from redif_vantage6.disclosure import effective_min_cell
from redif_vantage6.survival import site_tables


def thresholds() -> dict[str, object]:
    out: dict[str, object] = {}
    cases = (("", None), ("5", 0), ("5", 10), ("0", None), ("0", 3), ("abc", None), ("-1", None))
    for env, requested in cases:
        os.environ["REDIF_MIN_CELL"] = env
        try:
            out[f"{env}|{requested}"] = effective_min_cell(requested)
        except AlgorithmInputError as exc:
            out[f"{env}|{requested}"] = f"error {exc.field}"
    return out


def main() -> None:
    path = sys.argv[1]
    as_text = pd.read_csv(path, dtype=str, keep_default_na=False)
    as_node = pd.read_csv(path)  # what vantage6's load_data gives a node: numbers and NaN
    res = {
        "thresholds": thresholds(),
        "counts_text": site_counts(as_text, analysis="uptake", min_cell=5),
        "counts_node": site_counts(as_node, analysis="uptake", min_cell=5),
        "tables_text": site_tables(as_text, time="pfs_days", event="pfs_event", by="genotype", min_cell=0),
        "tables_node": site_tables(as_node, time="pfs_days", event="pfs_event", by="genotype", min_cell=0),
    }
    print(json.dumps(res))


if __name__ == "__main__":
    main()
