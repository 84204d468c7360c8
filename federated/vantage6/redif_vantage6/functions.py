"""The vantage6 4.x entry points (thin): partial functions run at each node, central functions combine.

Only this module imports vantage6; the arithmetic is in :mod:`redif_vantage6.counts` and
:mod:`redif_vantage6.survival` (numpy/pandas). Every partial function applies the node's ``min_cell``
(:mod:`redif_vantage6.disclosure`) before anything leaves the node.

Task input (vantage6 ``input_``): ``{"method": "central_counts" | "central_survival", "kwargs": {...}}``
sent to one organization (the one that runs the central part); the central function creates the
subtasks (``partial_*``) for the organizations of the collaboration.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from vantage6.algorithm.client import AlgorithmClient
from vantage6.algorithm.tools.decorators import algorithm_client, data
from vantage6.algorithm.tools.util import info

from redif_vantage6.counts import combine_counts, site_counts
from redif_vantage6.disclosure import effective_min_cell
from redif_vantage6.survival import cox_newton, cox_site, kaplan_meier, logrank, site_tables

__all__ = ["central_counts", "central_survival", "partial_counts", "partial_cox", "partial_tables"]


@data(1)
def partial_counts(df: pd.DataFrame, analysis: str, denominator: str = "itt",
                   min_cell: int | None = None) -> dict[str, Any]:
    """Site: events and totals (uptake per definition, or response for one denominator)."""
    return site_counts(df, analysis=analysis, denominator=denominator, min_cell=effective_min_cell(min_cell))


@data(1)
def partial_tables(df: pd.DataFrame, time: str, event: str, by: str | None = None,
                   min_cell: int | None = None) -> dict[str, Any]:
    """Site: event/risk-set tables per group, coarsened to blocks of >= min_cell exits."""
    return site_tables(df, time=time, event=event, by=by, min_cell=effective_min_cell(min_cell))


@data(1)
def partial_cox(df: pd.DataFrame, time: str, event: str, covariates: list[str], beta: list[float],
                min_cell: int | None = None) -> dict[str, Any]:
    """Site: log partial likelihood, score and information of its stratum at ``beta`` (Efron ties)."""
    return cox_site(df, time=time, event=event, covariates=covariates, beta=beta,
                    min_cell=effective_min_cell(min_cell))


def _organizations(client: AlgorithmClient, organizations: list[int] | None) -> list[int]:
    if organizations:
        return list(organizations)
    return [int(o["id"]) for o in client.organization.list()]


def _run(client: AlgorithmClient, orgs: list[int], method: str, kwargs: dict[str, Any]) -> list[Any]:
    task = client.task.create(input_={"method": method, "kwargs": kwargs}, organizations=orgs,
                              name=f"redif {method}", description="redif federated analysis (issue 13)")
    return list(client.wait_for_results(task_id=task["id"]))


@algorithm_client
def central_counts(client: AlgorithmClient, analysis: str, denominator: str = "itt",
                   definition: str | None = None, min_cell: int | None = None,
                   organizations: list[int] | None = None) -> dict[str, Any]:
    """Central: the per-site counts of the chosen definition/denominator (pooled by redif's meta engine)."""
    orgs = _organizations(client, organizations)
    info(f"redif: counts ({analysis}) from {len(orgs)} organizations")
    results = _run(client, orgs, "partial_counts",
                   {"analysis": analysis, "denominator": denominator, "min_cell": min_cell})
    out = combine_counts(results, analysis=analysis, definition=definition)
    out.update({"analysis": analysis, "denominator": denominator if analysis == "response" else None})
    return out


@algorithm_client
def central_survival(client: AlgorithmClient, time: str, event: str, by: str | None = None,
                     covariates: list[str] | None = None, strata: str | None = None,
                     min_cell: int | None = None, organizations: list[int] | None = None) -> dict[str, Any]:
    """Central: pooled KM per group, log-rank across groups, and the site-stratified Cox model."""
    orgs = _organizations(client, organizations)
    info(f"redif: survival ({time}, {event}) from {len(orgs)} organizations")
    tables = _run(client, orgs, "partial_tables",
                  {"time": time, "event": event, "by": by, "min_cell": min_cell})
    withheld = [s for r in tables for s in r["suppressed"]]
    site_groups: dict[str, dict[str, Any]] = {}
    for r in tables:
        site_groups[r["site"]] = {g["group"]: g["rows"] for g in r["groups"]}
    names = sorted({g for s in site_groups.values() for g in s})
    groups = []
    for g in names:
        km = kaplan_meier([s[g] for s in site_groups.values() if g in s])
        groups.append({"group": g, **{k: v for k, v in km.items() if k != "curve"}, "curve": km["curve"]})
    out: dict[str, Any] = {"time": time, "event": event, "by": by, "groups": groups,
                           "logrank": logrank(site_groups, stratified=strata == "site")}
    if covariates:
        def evaluate(beta: list[float]) -> list[dict[str, Any]]:
            return _run(client, orgs, "partial_cox", {"time": time, "event": event, "covariates": covariates,
                                                       "beta": beta, "min_cell": min_cell})

        cox = cox_newton(evaluate, covariates)
        withheld += cox.pop("suppressed")
        out["cox"] = cox
    out["suppressed"] = withheld
    return out
