"""Run the algorithm over one CSV per site with vantage6's ``MockAlgorithmClient`` and print JSON.

``python -m redif_vantage6.simulate --sites DIR --analysis uptake|response|survival [...]`` in the
algorithm's own environment (``.venv-vantage6``); ``redif federated simulate`` calls it as a subprocess.
Each ``*.csv`` of DIR is one organization's dataset, read as text (the file name is kept for error
messages). ``--min-cell N`` plays the nodes' configuration (``REDIF_MIN_CELL``), which in a real network
each node sets for itself.

Standard output is one JSON object: ``{"ok": true, "result": {...}, "files": {...}}`` or, for bad input,
``{"ok": false, "error": {"message", "field", "value", "remedy"}}`` with exit status 2. vantage6's own
log lines go to standard error.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from vantage6.algorithm.tools.mock_client import MockAlgorithmClient

import redif_vantage6 as package
from redif_vantage6.dataset import AlgorithmInputError
from redif_vantage6.disclosure import ENV_VAR

__all__ = ["main", "simulate"]

_PARTIALS = ("partial_counts", "partial_tables", "partial_cox")


def _recorded(name: str, fn: Callable[..., Any], record: list[dict[str, Any]]) -> Callable[..., Any]:
    """``fn`` (a ``@data`` partial function) that also appends what it returned to ``record``."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        out = fn(*args, **kwargs)
        record.append({"method": name, "result": json.loads(json.dumps(out))})
        return out

    wrapper.wrapped_in_data_decorator = True  # type: ignore[attr-defined]
    return wrapper


def _read_sites(sites: Path) -> tuple[list[pd.DataFrame], list[str]]:
    if not sites.is_dir():
        raise AlgorithmInputError(f"{sites}: not a folder", field="sites", value=str(sites),
                                  remedy="give a folder holding one analysis CSV per site")
    files = sorted(p for p in sites.iterdir() if p.suffix.lower() == ".csv" and p.is_file())
    if not files:
        raise AlgorithmInputError(f"{sites}: no .csv file", field="sites", value=str(sites),
                                  remedy="put one analysis CSV per site "
                                         "(redif registry export --format analysis)")
    frames = []
    for f in files:
        try:
            df = pd.read_csv(f, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise AlgorithmInputError(f"{f}: not a readable CSV ({exc})", field="sites", value=str(f),
                                      remedy="write UTF-8 CSV with a header row") from None
        df.attrs["source"] = str(f)
        frames.append(df)
    return frames, [str(f) for f in files]


def simulate(sites: Path, *, analysis: str, time: str | None = None, event: str | None = None,
             by: str | None = None, covariates: list[str] | None = None, strata: str | None = None,
             definition: str | None = None, denominator: str = "itt",
             disclosed: bool = False) -> dict[str, Any]:
    """Run the central function over the sites' datasets; returns its result.

    With ``disclosed``, the result also lists under ``disclosed`` every object the partial functions
    returned (what would leave each node), in the order the subtasks ran.
    """
    frames, files = _read_sites(sites)
    client = MockAlgorithmClient(datasets=[[{"database": df}] for df in frames], module="redif_vantage6")
    if analysis in ("uptake", "response"):
        method = "central_counts"
        kwargs: dict[str, Any] = {"analysis": analysis, "denominator": denominator, "definition": definition}
    elif analysis == "survival":
        if not time or not event:
            raise AlgorithmInputError("survival needs a time and an event column", field="time",
                                      value=time,
                                      remedy="give --time COL --event COL (e.g. pfs_days pfs_event)")
        if strata not in (None, "site"):
            raise AlgorithmInputError("unknown strata", field="strata", value=strata, remedy="use site")
        method = "central_survival"
        kwargs = {"time": time, "event": event, "by": by, "covariates": covariates or None, "strata": strata}
    else:
        raise AlgorithmInputError("unknown analysis", field="analysis", value=analysis,
                                  remedy="use uptake, response or survival")
    org0 = client.organization.list()[0]["id"]
    record: list[dict[str, Any]] = []
    saved = {name: getattr(package, name) for name in _PARTIALS}
    if disclosed:
        for name, fn in saved.items():
            setattr(package, name, _recorded(name, fn, record))
    try:
        task = client.task.create(input_={"method": method, "kwargs": kwargs}, organizations=[org0])
    finally:
        for name, fn in saved.items():
            setattr(package, name, fn)
    result = client.result.from_task(task["id"])[0]
    result["files"] = files
    if disclosed:
        result["disclosed"] = record
    return dict(result)


def main(argv: list[str] | None = None) -> int:
    """Command line of the runner (see the module docstring)."""
    ap = argparse.ArgumentParser(prog="python -m redif_vantage6.simulate")
    ap.add_argument("--sites", required=True, type=Path)
    ap.add_argument("--analysis", required=True)
    ap.add_argument("--time")
    ap.add_argument("--event")
    ap.add_argument("--by")
    ap.add_argument("--covariates")
    ap.add_argument("--strata")
    ap.add_argument("--definition")
    ap.add_argument("--denominator", default="itt")
    ap.add_argument("--min-cell", type=int)
    ap.add_argument("--disclosed", action="store_true",
                    help="also print what every partial function returned")
    a = ap.parse_args(argv)
    if a.min_cell is not None:
        os.environ[ENV_VAR] = str(a.min_cell)
    covs = [c.strip() for c in a.covariates.split(",")] if a.covariates else None
    try:
        with contextlib.redirect_stdout(sys.stderr):
            result = simulate(a.sites, analysis=a.analysis, time=a.time, event=a.event, by=a.by,
                              covariates=covs, strata=a.strata, definition=a.definition,
                              denominator=a.denominator, disclosed=a.disclosed)
    except AlgorithmInputError as exc:
        print(json.dumps({"ok": False, "error": exc.to_dict()}))
        return 2
    print(json.dumps({"ok": True, "result": result}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
