"""`redif federated` commands: the vantage6 algorithm over one CSV per site (thin: options -> analysis).

The algorithm runs in its own environment (``.venv-vantage6``; ``make vantage6-env``), as a subprocess,
with vantage6's ``MockAlgorithmClient`` (:mod:`redif.federated`). Engines are imported inside the command.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from redif import DISCLAIMER
from redif.cli._common import JsonOpt, console, emit_json
from redif.cli._flags import field_flags

__all__ = ["register"]


def _fmt(x: float | None, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    return f"{x:.{digits}f}"


def _render_counts(out: dict[str, Any]) -> None:
    what = (f"uptake restored ({out['definition']})" if out["analysis"] == "uptake"
            else f"objective response ({out['denominator']} denominator)")
    console.print(f"Federated two-stage pool: {what}; k = {out['k_sites']} sites (PLO, REML)")
    t = Table()
    t.add_column("Site")
    t.add_column("Events/Total", justify="right")
    for s in out["sites"]:
        t.add_row(s["site"], f"{s['events']}/{s['total']}")
    t.add_section()
    t.add_row("Pooled", f"{out['events']}/{out['n']}", style="bold")
    console.print(t)
    console.print(f"pooled proportion {_fmt(out['estimate'])} "
                  f"[{_fmt(out['ci_lower'])}, {_fmt(out['ci_upper'])}], "
                  f"tau2 = {_fmt(out['tau2'])}, mu = {_fmt(out['mu'])} (SE {_fmt(out['se'])}) "
                  "on the logit scale")


def _render_survival(out: dict[str, Any]) -> None:
    console.print(f"Federated Kaplan-Meier: {out['time']} / {out['event']}"
                  + (f" by {out['by']}" if out["by"] else ""))
    t = Table()
    for col in ("Group", "n", "Events", "Median [95% CI] (days)"):
        t.add_column(col, justify="left" if col == "Group" else "right")
    for g in out["groups"]:
        med = f"{_fmt(g['median'], 0)} [{_fmt(g['median_ci_lower'], 0)}, {_fmt(g['median_ci_upper'], 0)}]"
        t.add_row(g["group"], str(g["n"]), str(g["events"]), med)
    console.print(t)
    if out["min_cell"] != 0:
        console.print("Each site's event tables are coarsened to blocks of at least min_cell patients "
                      "leaving the risk set (docs/federated.md); with --min-cell 0 they are exact.")
    lr = out["logrank"]
    if lr is not None:
        console.print(f"log-rank{' (stratified by site)' if lr.get('strata') else ''}: chisq = "
                      f"{_fmt(lr['chisq'], 3)}, df = {lr['df']}, p = {_fmt(lr['p'])}")
    if "cox" in out:
        console.print("Site-stratified Cox model (Efron ties)")
        ct = Table()
        for col in ("Term", "coef", "SE", "HR [95% CI]", "p"):
            ct.add_column(col, justify="left" if col == "Term" else "right")
        for c in out["cox"]["coefficients"]:
            ct.add_row(c["name"], _fmt(c["coef"]), _fmt(c["se"]),
                       f"{_fmt(c['hr'], 3)} [{_fmt(c['ci_lower'], 3)}, {_fmt(c['ci_upper'], 3)}]",
                       _fmt(c["p"]))
        console.print(ct)


@field_flags(REDIF_VANTAGE6_PYTHON="REDIF_VANTAGE6_PYTHON")
def simulate_command(
    sites: Path = typer.Option(..., "--sites", help="Folder with one analysis CSV per site "
                                                    "(redif registry export --format analysis)."),
    analysis: str = typer.Option(..., "--analysis", help="uptake, response or survival."),
    time: str | None = typer.Option(None, "--time", help="Survival: time column (e.g. pfs_days)."),
    event: str | None = typer.Option(None, "--event", help="Survival: event column (e.g. pfs_event)."),
    by: str | None = typer.Option(None, "--by", help="Survival: group column for Kaplan-Meier and log-rank."),
    covariates: str | None = typer.Option(None, "--covariates",
                                          help="Survival: numeric columns of the site-stratified Cox model, "
                                               "comma-separated (e.g. uptake_restored,age_years)."),
    strata: str | None = typer.Option(None, "--strata", help="Survival: 'site' for the site-stratified "
                                                             "log-rank test."),
    definition: str | None = typer.Option(None, "--definition",
                                          help="Uptake: the uptake_definition code to pool (needed when "
                                               "the sites report several)."),
    denominator: str = typer.Option("itt", "--denominator", help="Response: itt or treated."),
    min_cell: int | None = typer.Option(None, "--min-cell",
                                        help="The nodes' disclosure threshold REDIF_MIN_CELL (default 5)."),
    disclosed: bool = typer.Option(False, "--disclosed", help="Also list every aggregate the sites returned "
                                                                "(what leaves each node), for audit."),
    as_json: JsonOpt = False,
) -> None:
    """Run the vantage6 algorithm over one CSV per site (MockAlgorithmClient): uptake, response, KM, Cox."""
    from redif.federated import simulate

    covs = [c.strip() for c in covariates.split(",")] if covariates else None
    out = simulate(sites, analysis=analysis, time=time, event=event, by=by, covariates=covs, strata=strata,
                   definition=definition, denominator=denominator, min_cell=min_cell,
                   disclosed=disclosed)
    out["disclaimer"] = DISCLAIMER
    if as_json:
        emit_json(out)
        return
    if analysis == "survival":
        _render_survival(out)
    else:
        _render_counts(out)
    for site, records in out["suppressed"].items():
        for r in records:
            console.print(f"withheld at site {site}: {r['what']} ({r['reason']})")
    console.print(f"[dim]{DISCLAIMER}[/dim]")


def register(app: typer.Typer) -> None:
    """Add the `federated` commands to the root application."""
    fed = typer.Typer(help="Federated analysis across sites with the vantage6 algorithm (only aggregates "
                           "leave a site).", no_args_is_help=True)
    fed.command("simulate")(simulate_command)
    app.add_typer(fed, name="federated")
