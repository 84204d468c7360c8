"""`redif ipd` commands: pooled analyses of the analysis dataset (one row per patient, several sites).

Thin: options -> :mod:`redif.ipd` -> render. The engine modules are imported inside the commands (start-up
time, see :mod:`redif.cli.meta`).
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
from redif.io.figures import check_plot_path, plot_format, write_plot

__all__ = ["register"]


def _fmt(x: float | None, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    return f"{x:.{digits}f}"


def _fmt_p(p: float | None) -> str:
    if p is None or not math.isfinite(p):
        return "-"
    return "< 0.0001" if p < 1e-4 else f"= {p:.4f}"


def _days(x: float | None) -> str:
    return "NR" if x is None else f"{x:g}"


@field_flags(tau2_method="--tau2-method", mix_definitions="--mix-definitions",
             with_evidence="--with-evidence", overlaps="--overlaps", source="source")
def pool_command(
    file: Path = typer.Argument(..., help="Analysis dataset CSV (one row per patient; docs/ipd.md)."),
    outcome: str = typer.Option(..., "--outcome", help="uptake_restored or objective_response."),
    method: str = typer.Option("two-stage", "--method", help="two-stage (per-site counts pooled with REML on "
                                                              "the logit scale) or one-stage (logistic mixed "
                                                              "model, random site intercept)."),
    by: str | None = typer.Option(None, "--by",
                                  help="Column for subgroups (two-stage) or a factor (one-stage)."),
    definition: str | None = typer.Option(None, "--definition", help="Uptake definition code to analyse."),
    mix_definitions: bool = typer.Option(False, "--mix-definitions",
                                         help="Allow pooling uptake across different definitions."),
    denominator: str = typer.Option("itt", "--denominator", help="Response denominator: itt or treated."),
    tau2_method: str = typer.Option("REML", "--tau2-method", help="Two-stage tau2 estimator (as meta pool)."),
    level: float = typer.Option(95.0, "--level", help="Confidence level in percent."),
    with_evidence: bool = typer.Option(False, "--with-evidence",
                                       help="Add the evidence base's published arms (same outcome, "
                                            "definition, denominator) as sites."),
    overlaps: str | None = typer.Option(None, "--overlaps",
                                        help="Comma-separated evidence record ids whose patients are in the "
                                             "registry (never counted twice)."),
    as_json: JsonOpt = False,
) -> None:
    """Pool uptake or response across sites (two-stage or one-stage IPD meta-analysis)."""
    from redif.ipd.dataset import read_analysis_csv
    from redif.ipd.pool import pool_ipd

    rows = read_analysis_csv(file)
    ov = [x.strip() for x in overlaps.split(",") if x.strip()] if overlaps else []
    res = pool_ipd(rows, outcome=outcome, method=method, by=by, definition=definition,
                   denominator=denominator, mix_definitions=mix_definitions, tau2_method=tau2_method,
                   level=level, with_evidence=with_evidence, overlaps=ov)
    out = res.to_json()
    out["disclaimer"] = DISCLAIMER
    if as_json:
        emit_json(out)
        return
    _render_pool(out)


def _render_pool(out: dict[str, Any]) -> None:
    what = out["outcome"] + (f" ({out['definition']})" if out["definition"] else "") + (
        f", {out['denominator']} denominator" if out["denominator"] else "")
    t = Table(title=f"IPD {out['method']} pool: {what}; {out['k_sites']} sites, n = {out['n']}")
    for col in ("Site", "Events/Total", "Proportion", "Source"):
        t.add_column(col, justify="left" if col in ("Site", "Source") else "right")
    for s in out["sites"]:
        t.add_row(s["site"], f"{s['events']}/{s['total']}", _fmt(s["events"] / s["total"], 3), s["source"])
    console.print(t)
    console.print(f"Pooled proportion {_fmt(out['estimate'])} [{_fmt(out['ci_lower'])}, "
                  f"{_fmt(out['ci_upper'])}] ({out['level']:g}% CI); mu = {_fmt(out['mu'])} "
                  f"(SE {_fmt(out['se'])}) on the logit scale; tau2 = {_fmt(out['tau2'])} "
                  f"({out['tau2_method']})")
    for c in out.get("coefficients") or []:
        console.print(f"  {c['name']}: {_fmt(c['estimate'])} (SE {_fmt(c['se'])}, p {_fmt_p(c['p'])})")
    for g in out.get("subgroups") or []:
        console.print(f"  {g['group']}: {g['events']}/{g['n']} in {g['k_sites']} sites, "
                      f"{_fmt(g['estimate'])} [{_fmt(g['ci_lower'])}, {_fmt(g['ci_upper'])}]")
    for e in out["published_excluded"]:
        console.print(f"left out: published record {e['record_id']}: {e['reason']}")
    for note in out["notes"]:
        console.print(f"note: {note}")
    console.print(f"[dim]{DISCLAIMER}[/dim]")


def survival_command(
    file: Path = typer.Argument(..., help="Analysis dataset CSV (one row per patient; docs/ipd.md)."),
    time: str = typer.Option(..., "--time", help="Time column in days (pfs_days, ttnt_days, dor_days)."),
    event: str = typer.Option(..., "--event", help="Event column, 1/0 (pfs_event, ttnt_event, dor_event)."),
    by: str | None = typer.Option(None, "--by",
                                  help="Group the curves and the log-rank test by this column."),
    covariates: str | None = typer.Option(None, "--covariates",
                                          help="Comma-separated Cox model covariates (text columns as "
                                               "factors)."),
    strata: str | None = typer.Option(None, "--strata", help="Stratify the log-rank test and the Cox model "
                                                             "by this column (e.g. site)."),
    level: float = typer.Option(95.0, "--level", help="Confidence level in percent."),
    plot: Path | None = typer.Option(None, "--plot", help="Write the Kaplan-Meier plot (.svg or .png)."),
    as_json: JsonOpt = False,
) -> None:
    """Kaplan-Meier medians, the log-rank test and a Cox model (Efron ties), as R's survival package."""
    from redif.ipd.dataset import read_analysis_csv
    from redif.ipd.survival import survival

    if plot is not None:
        check_plot_path(plot, field="plot")
    covs = [c.strip() for c in covariates.split(",")] if covariates else []
    if any(c == "" for c in covs):
        from redif.errors import InputError

        raise InputError("empty covariate name", field="covariates", value=covariates,
                         remedy="give comma-separated column names, e.g. uptake_restored,age_years")
    rows = read_analysis_csv(file)
    res = survival(rows, time=time, event=event, by=by, covariates=covs, strata=strata, level=level)
    out = res.to_json()
    if plot is not None:
        from redif.ipd.plots import km_plot_bytes

        write_plot(km_plot_bytes(res, plot_format(plot)), plot, field="plot")
        out["plot"] = str(plot)
    out["disclaimer"] = DISCLAIMER
    if as_json:
        emit_json(out)
        return
    t = Table(title=f"Kaplan-Meier: {time} / {event}" + (f" by {by}" if by else "") + " (median, days)")
    for col in ("Group", "n", "Events", "Median", f"{level:g}% CI (log)"):
        t.add_column(col, justify="left" if col == "Group" else "right")
    for g in out["groups"]:
        t.add_row(g["group"], str(g["n"]), str(g["events"]), _days(g["median"]),
                  f"[{_days(g['median_ci_lower'])}, {_days(g['median_ci_upper'])}]")
    console.print(t)
    lr = out["logrank"]
    if lr is not None:
        console.print(f"Log-rank{' stratified by ' + lr['strata'] if lr['strata'] else ''}: chisq = "
                      f"{_fmt(lr['chisq'], 3)}, df = {lr['df']}, p {_fmt_p(lr['p'])}")
    if "cox" in out:
        ct = Table(title="Cox model (Efron ties" + (f", strata({strata})" if strata else "") + ")")
        for col in ("Term", "coef", "SE", "HR", f"{level:g}% CI", "p"):
            ct.add_column(col, justify="left" if col == "Term" else "right")
        for c in out["cox"]["coefficients"]:
            ct.add_row(c["name"], _fmt(c["coef"]), _fmt(c["se"]), _fmt(c["hr"], 3),
                       f"[{_fmt(c['ci_lower'], 3)}, {_fmt(c['ci_upper'], 3)}]", _fmt_p(c["p"]))
        console.print(ct)
    for note in out["notes"]:
        console.print(f"note: {note}")
    if plot is not None:
        console.print(f"Kaplan-Meier plot written to {plot}")
    console.print(f"[dim]{DISCLAIMER}[/dim]")


def register(app: typer.Typer) -> None:
    """Add the `ipd` commands to the root application."""
    ipd_app = typer.Typer(help="Individual-patient-data analyses across sites: pooled uptake and response, "
                               "Kaplan-Meier, log-rank and Cox.", no_args_is_help=True)
    ipd_app.command("pool")(pool_command)
    ipd_app.command("survival")(survival_command)
    app.add_typer(ipd_app, name="ipd")
