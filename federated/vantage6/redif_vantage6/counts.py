"""Per-site counts for the two-stage pools of restored uptake and objective response (issue 13).

Uptake: among the site's patients whose ``uptake_restored`` is assessed, per ``uptake_definition``, the
number restored (events) and assessed (total); a pool uses one definition only (definitions differ in what
"restored" means, so they are not mixed).

Response (RECIST 1.1 best overall response CR/PR after 131I), by denominator:

* ``treated``: patients given 131I (``response_denominator == treated``) whose response is evaluable
  (``objective_response`` not empty); events = responders.
* ``itt``: every patient who started the redifferentiation drug (``response_denominator`` ``treated`` or
  ``itt``); patients not given 131I or not evaluable count as non-responders; events = responders.

Disclosure: a cell (one definition, or one denominator) is returned only when its total is at least
``min_cell`` patients; otherwise a suppression record says what was withheld.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from redif_vantage6.dataset import AlgorithmInputError, column_values, one_site
from redif_vantage6.disclosure import suppressed

__all__ = ["DENOMINATORS", "combine_counts", "site_counts"]

DENOMINATORS = ("itt", "treated")


def _uptake(df: pd.DataFrame) -> dict[str, tuple[int, int]]:
    restored = column_values(df, "uptake_restored", "bool")
    definition = column_values(df, "uptake_definition", "text")
    cells: dict[str, list[int]] = {}
    for i, (r, d) in enumerate(zip(restored, definition, strict=True)):
        if r is None:
            continue
        if d == "":
            patient = str(df["patient"].iloc[i])
            raise AlgorithmInputError(
                f"patient {patient} (data row {i + 1}), column uptake_definition: empty while "
                "uptake_restored is given", field="sites", value="",
                remedy="give the uptake definition code (e.g. post_therapy_scan) or leave uptake_restored "
                       "empty")
        c = cells.setdefault(d, [0, 0])
        c[0] += int(r)
        c[1] += 1
    return {k: (v[0], v[1]) for k, v in cells.items()}


def _response(df: pd.DataFrame, denominator: str) -> tuple[int, int]:
    response = column_values(df, "objective_response", "bool")
    denom = column_values(df, "response_denominator", "text")
    events = total = 0
    for i, (r, d) in enumerate(zip(response, denom, strict=True)):
        if d not in ("", "treated", "itt"):
            patient = str(df["patient"].iloc[i])
            raise AlgorithmInputError(
                f"patient {patient} (data row {i + 1}), column response_denominator: bad value {d!r}",
                field="sites", value=d, remedy="response_denominator must be treated, itt or empty")
        if d == "":
            continue
        if denominator == "treated" and (d != "treated" or r is None):
            continue
        total += 1
        events += int(bool(r) and d == "treated")
    return events, total


def site_counts(df: pd.DataFrame, *, analysis: str, denominator: str = "itt",
                min_cell: int) -> dict[str, Any]:
    """The site's counts: ``{"site", "cells": [{"key", "events", "total"}], "suppressed": [...]}``.

    ``key`` is the uptake definition code (analysis ``uptake``) or the denominator (``response``).
    """
    site = one_site(df)
    if analysis == "uptake":
        raw = _uptake(df)
    elif analysis == "response":
        if denominator not in DENOMINATORS:
            raise AlgorithmInputError("unknown denominator", field="denominator", value=denominator,
                                      remedy="use itt or treated")
        raw = {denominator: _response(df, denominator)}
    else:
        raise AlgorithmInputError("unknown analysis", field="analysis", value=analysis,
                                  remedy="use uptake, response or survival")
    cells: list[dict[str, Any]] = []
    withheld: list[dict[str, Any]] = []
    for key in sorted(raw):
        events, total = raw[key]
        if total < min_cell or total == 0:
            withheld.append(suppressed(site, f"{analysis} counts ({key})",
                                       f"fewer than {min_cell} patients" if total else "no patients",
                                       key=key))
        else:
            cells.append({"key": key, "events": events, "total": total})
    return {"site": site, "cells": cells, "suppressed": withheld}


def combine_counts(results: list[dict[str, Any]], *, analysis: str,
                   definition: str | None) -> dict[str, Any]:
    """Central step: one ``{site, events, total}`` per site for the chosen definition (uptake) or the
    requested denominator (response), plus the suppression records.

    For uptake without ``definition``: the single definition reported by the sites; several -> an error
    asking for one (definitions are not mixed in one pool).
    """
    withheld = [s for r in results for s in r["suppressed"]]
    keys = sorted({c["key"] for r in results for c in r["cells"]} | {s["key"] for s in withheld})
    if analysis == "uptake":
        if definition is None:
            if len(keys) > 1:
                raise AlgorithmInputError(
                    "the sites report several uptake definitions", field="definition", value=",".join(keys),
                    remedy="choose one with --definition (one pool per definition)")
            definition = keys[0] if keys else None
        if definition is not None:
            withheld = [s for s in withheld if s["key"] == definition]
    sites = []
    for r in results:
        for c in r["cells"]:
            if analysis == "response" or c["key"] == definition:
                sites.append({"site": r["site"], "events": c["events"], "total": c["total"]})
    seen = [s["site"] for s in sites]
    dup = sorted({s for s in seen if seen.count(s) > 1})
    if dup:
        raise AlgorithmInputError("the same site code comes from several nodes", field="sites",
                                  value=",".join(dup), remedy="give each node's dataset its own site code")
    return {"definition": definition, "sites": sorted(sites, key=lambda s: s["site"]), "suppressed": withheld}
