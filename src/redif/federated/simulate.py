"""``redif federated simulate``: the vantage6 algorithm over one CSV per site, as the central commands' JSON.

Uptake and response: the algorithm returns each site's counts (events, total); they are pooled here with
redif's meta-analysis engine (:func:`redif.evidence.rma.pool_proportions`, logit proportions ``PLO`` with
REML, the engine behind ``redif meta pool``), so the result equals ``redif meta pool`` on the per-site
table and carries the keys of ``redif ipd pool`` (``k_sites``, ``n``, ``events``, ``mu``, ``se``,
``estimate``, ``ci_lower``, ``ci_upper``, ``tau2``, ``sites``). Survival: pooled Kaplan-Meier per group
(``groups``), the log-rank test (``logrank``) and the site-stratified Cox model (``cox``), computed by the
algorithm's central function from the sites' aggregates. ``suppressed`` says what each site withheld under
its ``min_cell`` rule (docs/federated.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from redif.errors import InputError
from redif.evidence.rma import pool_proportions
from redif.federated.runner import run_algorithm

__all__ = ["ANALYSES", "pool_site_counts", "simulate", "suppressed_by_site"]

#: The analyses of ``redif federated simulate``.
ANALYSES = ("uptake", "response", "survival")


def suppressed_by_site(records: Sequence[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The suppression records grouped by site: ``{site: [{what, reason}, ...]}``."""
    out: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        out.setdefault(str(r["site"]), []).append({"what": r["what"], "reason": r["reason"]})
    return dict(sorted(out.items()))


def pool_site_counts(sites: Sequence[dict[str, Any]], *, level: float = 95.0) -> dict[str, Any]:
    """Two-stage pool of per-site counts ``[{site, events, total}]`` (PLO, REML; ``redif meta pool``);
    the output's ``sites`` carry ``source: site`` as ``redif ipd pool``'s do.

    Raises
    ------
    InputError
        When no site returned counts (``sites``), e.g. every site was suppressed by ``min_cell``.
    """
    if not sites:
        raise InputError("no site returned counts", field="sites", value="0 sites",
                         remedy="every site was withheld (min_cell or no assessed patients); "
                                "see `suppressed`")
    labels = [str(s["site"]) for s in sites]
    events = [int(s["events"]) for s in sites]
    totals = [int(s["total"]) for s in sites]
    res = pool_proportions(events, totals, labels, measure="PLO", method="REML", level=level)
    d = res.to_dict()
    out: dict[str, Any] = {
        "k_sites": len(sites), "n": sum(totals), "events": sum(events),
        "mu": d["mu"], "se": d["se"], "estimate": d["estimate"], "ci_lower": d["ci_lower"],
        "ci_upper": d["ci_upper"], "tau2": d["tau2"],
        "sites": [{"site": s, "events": e, "total": t, "source": "site"}
                  for s, e, t in zip(labels, events, totals, strict=True)],
        "measure": "PLO", "method": "two-stage", "tau2_method": "REML", "level": level,
        "i2": d["i2"], "pi_lower": d["pi_lower"], "pi_upper": d["pi_upper"],
    }
    return out


def simulate(
    sites: Path, *, analysis: str, time: str | None = None, event: str | None = None, by: str | None = None,
    covariates: Sequence[str] | None = None, strata: str | None = None, definition: str | None = None,
    denominator: str = "itt", min_cell: int | None = None, disclosed: bool = False,
) -> dict[str, Any]:
    """Run the federated analysis over the CSVs of ``sites`` (one per site) and return the result.

    ``min_cell`` plays every node's ``REDIF_MIN_CELL`` (None: the nodes' default, 5). ``disclosed`` adds
    the list of every aggregate the sites returned (key ``disclosed``), for audit.

    Raises
    ------
    InputError
        For a bad option, a bad site file (names file, patient, column) or a missing algorithm environment.
    """
    if analysis not in ANALYSES:
        raise InputError("unknown analysis", field="analysis", value=analysis,
                         remedy="use uptake, response or survival")
    if denominator not in ("itt", "treated"):
        raise InputError("unknown denominator", field="denominator", value=denominator,
                         remedy="use itt or treated")
    if strata not in (None, "site"):
        raise InputError("unknown strata", field="strata", value=strata, remedy="use site (or leave it out)")
    if min_cell is not None and min_cell < 0:
        raise InputError("min_cell must be >= 0", field="min_cell", value=min_cell,
                         remedy="give 0, 5, 10 ...")
    if not sites.is_dir():
        raise InputError(f"{sites}: not a folder", field="sites", value=str(sites),
                         remedy="give a folder holding one analysis CSV per site")
    extra_opts: dict[str, object]
    if analysis == "survival":
        extra_opts = {"definition": definition}
    else:
        extra_opts = {"time": time, "event": event, "by": by, "covariates": covariates, "strata": strata}
    for name, given in extra_opts.items():
        if given:
            raise InputError(f"not used by --analysis {analysis}", field=name, value=given,
                             remedy="drop it" + (" (survival options: --time, --event, --by, --covariates, "
                                                 "--strata)" if analysis != "survival" else ""))
    if analysis == "survival" and (not time or not event):
        raise InputError("survival needs a time and an event column", field="time", value=time,
                         remedy="give --time and --event, e.g. --time pfs_days --event pfs_event")
    args = ["--sites", str(sites), "--analysis", analysis, "--denominator", denominator]
    for flag, val in (("--time", time), ("--event", event), ("--by", by), ("--strata", strata),
                      ("--definition", definition)):
        if val:
            args += [flag, val]
    if covariates:
        args += ["--covariates", ",".join(covariates)]
    if min_cell is not None:
        args += ["--min-cell", str(min_cell)]
    if disclosed:
        args.append("--disclosed")
    raw = run_algorithm(args)
    suppressed = suppressed_by_site(raw.get("suppressed", []))
    extra = {"disclosed": raw["disclosed"]} if disclosed else {}
    if analysis in ("uptake", "response"):
        if not raw["sites"]:
            raise InputError("no site returned counts", field="sites", value=str(sites),
                             remedy=f"every site was withheld: {suppressed}")
        out = pool_site_counts(raw["sites"])
        out.update({"analysis": analysis,
                    "outcome": "uptake_restored" if analysis == "uptake" else "objective_response",
                    "definition": raw.get("definition"),
                    "denominator": raw.get("denominator"), "min_cell": min_cell, "suppressed": suppressed,
                    "files": raw.get("files", []), **extra})
        return out
    groups = raw["groups"]
    out = {"analysis": analysis, "time": time, "event": event, "by": by, "level": 95.0, "conf_type": "log",
           "n": sum(g["n"] for g in groups), "events": sum(g["events"] for g in groups), "groups": groups,
           "logrank": raw["logrank"], "min_cell": min_cell, "suppressed": suppressed,
           "files": raw.get("files", [])}
    if "cox" in raw:
        out["cox"] = raw["cox"]
    out.update(extra)
    return out
