"""Issue 13: the node side of the vantage6 algorithm (run in its own environment by a helper script).

* The node's threshold ``REDIF_MIN_CELL`` (default 5) can be raised by a task's ``min_cell`` but never
  lowered; a bad node value is an error, not a silent default (docs/federated.md, "Disclosure control").
* A node reads its CSV with ``pandas.read_csv`` (vantage6 ``load_data``: ``1``/``0``/empty become
  ``1.0``/``0.0``/``NaN``); the results equal those of the text reading used by the simulation.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

SITE = Path(__file__).with_name("data") / "sites" / "site_A.csv"
SCRIPT = Path(__file__).with_name("node_checks.py")


def _run(v6_python: Path) -> dict[str, object]:
    proc = subprocess.run([str(v6_python), str(SCRIPT), str(SITE)], capture_output=True, text=True,
                          check=True, timeout=300)
    out: dict[str, object] = json.loads(proc.stdout)
    return out


def test_node_threshold_only_raised_by_a_task_and_node_reading(v6_python: Path) -> None:
    """Issue 13: effective min_cell = max(node, task) (closed form); a node-read frame = text-read frame."""
    res = _run(v6_python)
    assert res["thresholds"] == {"|None": 5, "5|0": 5, "5|10": 10, "0|None": 0, "0|3": 3,
                                 "abc|None": "error REDIF_MIN_CELL", "-1|None": "error REDIF_MIN_CELL"}
    assert res["counts_node"] == res["counts_text"]
    assert res["tables_node"] == res["tables_text"]
