"""`redif meta` commands: meta-analysis of a user's CSV file (thin: read -> engine -> render)."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from redif import DISCLAIMER
from redif.cli._common import console, emit_json
from redif.errors import InputError

__all__ = ["MetaTable", "read_meta_csv", "register"]

PROPORTION = ("PR", "PLO", "PAS", "PFT")


@dataclass(frozen=True)
class MetaTable:
    """Validated contents of a ``redif meta pool`` CSV file."""

    labels: list[str]
    events: list[int] | None
    totals: list[int] | None
    yi: list[float] | None
    vi: list[float] | None
    columns: dict[str, list[str]]


def _number(text: str, *, path: str, row: int, column: str) -> float:
    t = text.strip()
    if t == "":
        raise InputError(f"{path} row {row}: empty value", field=column,
                         remedy="fill in every value or remove the row")
    try:
        value = float(t)
    except ValueError:
        raise InputError(f"{path} row {row}: not a number", field=column, value=t) from None
    if not math.isfinite(value):
        raise InputError(f"{path} row {row}: not a finite number", field=column, value=t)
    return value


def _count(text: str, *, path: str, row: int, column: str) -> int:
    value = _number(text, path=path, row=row, column=column)
    if value < 0:
        raise InputError(f"{path} row {row}: negative count", field=column, value=text.strip(),
                         remedy="counts must be >= 0")
    if value != int(value):
        raise InputError(f"{path} row {row}: not a whole number", field=column, value=text.strip(),
                         remedy="counts must be integers")
    return int(value)


def read_meta_csv(path: Path, *, measure: str, extra_columns: list[str]) -> MetaTable:
    """Read and validate ``study,events,total`` (proportions) or ``study,yi,vi`` (GEN) plus the
    grouping/moderator columns in ``extra_columns``.

    Rows are numbered from 1 for the first data row (the header is row 0). Raises
    :class:`InputError` naming the file, row and column of the first problem.
    """
    name = str(path)
    if not path.is_file():
        raise InputError("file not found", field="FILE", value=name, remedy="give the path of a CSV file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputError("not a UTF-8 text file", field="FILE", value=name) from None
    rows = list(csv.reader(line for line in text.splitlines() if line.strip()))
    if not rows:
        raise InputError(f"{name} is empty", field="FILE",
                         remedy="give a header line and one row per study")
    header = [h.strip() for h in rows[0]]
    body = rows[1:]
    if not body:
        raise InputError(f"{name} has a header but no studies", field="FILE", remedy="add one row per study")
    needed = ["events", "total"] if measure in PROPORTION else ["yi", "vi"]
    for col in ["study", *needed, *extra_columns]:
        if col not in header:
            raise InputError(f"{name}: missing column {col!r} (found: {', '.join(header)})", field=col,
                             remedy=f"the file needs columns study,{','.join(needed)}")
    idx = {h: i for i, h in enumerate(header)}
    for r, row in enumerate(body, start=1):
        if len(row) != len(header):
            raise InputError(f"{name} row {r}: {len(row)} fields but the header has {len(header)}",
                             field="FILE", remedy="every row needs one value per column")
    labels = [row[idx["study"]].strip() or f"Study {r}" for r, row in enumerate(body, start=1)]
    events = totals = None
    yi = vi = None
    if measure in PROPORTION:
        events, totals = [], []
        for r, row in enumerate(body, start=1):
            x = _count(row[idx["events"]], path=name, row=r, column="events")
            n = _count(row[idx["total"]], path=name, row=r, column="total")
            if n == 0:
                raise InputError(f"{name} row {r}: total is 0", field="total", remedy="total must be >= 1")
            if x > n:
                raise InputError(f"{name} row {r}: events ({x}) exceed total ({n})", field="events",
                                 remedy="events must be <= total")
            events.append(x)
            totals.append(n)
    else:
        yi, vi = [], []
        for r, row in enumerate(body, start=1):
            yi.append(_number(row[idx["yi"]], path=name, row=r, column="yi"))
            v = _number(row[idx["vi"]], path=name, row=r, column="vi")
            if v <= 0:
                raise InputError(f"{name} row {r}: sampling variance must be > 0", field="vi", value=v,
                                 remedy="vi is a variance, not a standard error")
            vi.append(v)
    columns: dict[str, list[str]] = {}
    for col in extra_columns:
        vals = [row[idx[col]].strip() for row in body]
        for r, val in enumerate(vals, start=1):
            if val == "":
                raise InputError(f"{name} row {r}: empty value", field=col,
                                 remedy="fill in the column for every study")
        columns[col] = vals
    return MetaTable(labels, events, totals, yi, vi, columns)


def _fmt(x: float | None, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    return f"{x:.{digits}f}"


def _fmt_p(p: float | None) -> str:
    if p is None or not math.isfinite(p):
        return "-"
    return "< 0.0001" if p < 1e-4 else f"= {p:.4f}"


def _render(result: dict[str, Any], measure: str) -> None:
    prop = measure in PROPORTION
    scale = "proportion" if prop else "effect"
    t = Table(title=f"Meta-analysis ({measure}, {result['method']}, k = {result['k']})")
    t.add_column("Study")
    if prop:
        t.add_column("Events/Total", justify="right")
    t.add_column(f"{scale.capitalize()} [{result['level']:g}% CI]", justify="right")
    t.add_column("Weight %", justify="right")
    for s in result["studies"]:
        cells = [s["label"]]
        if prop:
            cells.append(f"{s['events']}/{s['total']}")
        cells += [f"{_fmt(s['estimate'])} [{_fmt(s['ci_lower'])}, {_fmt(s['ci_upper'])}]",
                  _fmt(s["weight_percent"], 1)]
        t.add_row(*cells)
    t.add_section()
    pooled = [f"Pooled ({result['inference']})"] + ([""] if prop else []) + [
        f"{_fmt(result['estimate'])} [{_fmt(result['ci_lower'])}, {_fmt(result['ci_upper'])}]", "100.0"]
    t.add_row(*pooled, style="bold")
    t.add_row(*(["Prediction interval"] + ([""] if prop else [])
                + [f"[{_fmt(result['pi_lower'])}, {_fmt(result['pi_upper'])}]", ""]))
    console.print(t)
    console.print(
        f"tau2 = {_fmt(result['tau2'])}, I2 = {_fmt(result['i2'], 1)}%, H2 = {_fmt(result['h2'], 2)}, "
        f"Q = {_fmt(result['q'], 2)} (df = {result['q_df']}, p {_fmt_p(result['q_p'])}); "
        f"mu = {_fmt(result['mu'])} (SE {_fmt(result['se'])}) on the {measure} scale; "
        f"PI uses {result['pi_convention']}."
    )
    if result.get("tau2_ci_lower") is not None:
        console.print(f"Q-profile {result['level']:g}% CI: tau2 [{_fmt(result['tau2_ci_lower'])}, "
                      f"{_fmt(result['tau2_ci_upper'])}], I2 [{_fmt(result['i2_ci_lower'], 1)}, "
                      f"{_fmt(result['i2_ci_upper'], 1)}]%")
    for note in result.get("notes", []):
        console.print(f"note: {note}")
    if "subgroups" in result:
        st = Table(title="Subgroups (separate tau2)")
        for col in ("Group", "k", f"{scale.capitalize()} [CI]", "Prediction interval", "tau2", "I2 %"):
            st.add_column(col, justify="left" if col == "Group" else "right")
        for g, r in result["subgroups"].items():
            ci = f"{_fmt(r['estimate'])} [{_fmt(r['ci_lower'])}, {_fmt(r['ci_upper'])}]"
            st.add_row(g, str(r["k"]), ci,
                       f"[{_fmt(r['pi_lower'])}, {_fmt(r['pi_upper'])}]", _fmt(r["tau2"]), _fmt(r["i2"], 1))
        console.print(st)
        tb = result["test_between"]
        console.print(f"Test of subgroup differences: Q = {_fmt(tb['q'], 2)}, df = {tb['df']}, "
                      f"p {_fmt_p(tb['p'])}")
    if "coefficients" in result:
        ct = Table(title=f"Meta-regression ({measure} scale)")
        for col in ("Term", "Estimate", "SE", "z/t", "p", "CI"):
            ct.add_column(col, justify="left" if col == "Term" else "right")
        for c in result["coefficients"]:
            ct.add_row(c["name"], _fmt(c["estimate"]), _fmt(c["se"]), _fmt(c["stat"], 3), _fmt(c["p"]),
                       f"[{_fmt(c['ci_lower'])}, {_fmt(c['ci_upper'])}]")
        console.print(ct)
        r2 = result["r2"]
        console.print(f"QM = {_fmt(result['qm'], 3)} (p {_fmt_p(result['qm_p'])}), "
                      f"QE = {_fmt(result['qe'], 2)} (p {_fmt_p(result['qe_p'])}), "
                      f"R2 = {_fmt(r2, 1) if r2 is not None else '-'}%, residual tau2 = "
                      f"{_fmt(result['residual_tau2'])}")
    console.print(f"[dim]{DISCLAIMER}[/dim]")


def pool_command(
    file: Path = typer.Argument(..., help="CSV with study,events,total (or study,yi,vi for GEN)."),
    measure: str = typer.Option("PLO", "--measure", help="PR, PLO, PAS, PFT or GEN."),
    method: str = typer.Option("REML", "--method", help="EE, DL, HE, SJ, ML, REML, EB, PM, HS or GLMM."),
    knha: bool = typer.Option(False, "--knha", help="Knapp-Hartung adjustment (t with k-1 df)."),
    level: float = typer.Option(95.0, "--level", help="Confidence level in percent."),
    by: str | None = typer.Option(None, "--by", help="Column for subgroup analysis (separate tau2)."),
    mods: str | None = typer.Option(None, "--mods", help="Comma-separated moderator columns."),
    forest: Path | None = typer.Option(None, "--forest", help="Write a forest plot (.svg or .png)."),
    study_ci: str = typer.Option("clopper-pearson", "--study-ci",
                                 help="Per-study interval for proportions: clopper-pearson or wilson."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Pool proportions or generic effect sizes from a CSV file (metafor-compatible)."""
    from redif.evidence import meta as engine

    ms = _measure(measure)
    mod_cols = [c.strip() for c in mods.split(",")] if mods else []
    if mods is not None and (not mod_cols or any(c == "" for c in mod_cols)):
        raise InputError("empty moderator name", field="--mods", value=mods,
                         remedy="give comma-separated column names, e.g. --mods weeks,activity")
    extra = ([by] if by else []) + [c for c in mod_cols if c != by]
    table = read_meta_csv(file, measure=str(ms), extra_columns=extra)
    prop = ms is not engine.Measure.GEN
    result: Any
    if by:
        groups = table.columns[by]
        if prop:
            result = engine.pool_subgroups(table.events or [], table.totals or [], groups, table.labels,
                                           measure=str(ms), method=method, knha=knha, level=level,
                                           study_ci=study_ci)
        else:
            result = engine.pool_subgroups_generic(table.yi or [], table.vi or [], groups, table.labels,
                                                   method=method, knha=knha, level=level)
    elif prop:
        result = engine.pool_proportions(table.events or [], table.totals or [], table.labels,
                                         measure=str(ms), method=method, knha=knha, level=level,
                                         study_ci=study_ci)
    else:
        result = engine.pool_generic(table.yi or [], table.vi or [], table.labels, method=method, knha=knha,
                                     level=level)
    out: dict[str, Any] = result.to_dict()
    if mod_cols:
        if method.strip().upper() == "GLMM":
            raise InputError("--mods is not available with --method GLMM", field="--mods",
                             remedy="use --method REML for meta-regression")
        yi: Any
        vi: Any
        if prop:
            yi, vi = engine.escalc(str(ms), table.events or [], table.totals or [])
        else:
            yi, vi = table.yi or [], table.vi or []
        reg = engine.meta_regression(yi, vi, {c: table.columns[c] for c in mod_cols}, method=method,
                                     knha=knha, level=level, measure=str(ms))
        rd = reg.to_dict()
        for key in ("coefficients", "qm", "qm_df", "qm_df2", "qm_p", "qe", "qe_df", "qe_p", "r2"):
            out[key] = rd[key]
        out["residual_tau2"] = rd["tau2"]
    out["disclaimer"] = DISCLAIMER
    if forest is not None:
        _forest(result, forest)
        out["forest"] = str(forest)
    if as_json:
        emit_json(out)
    else:
        _render(out, str(ms))
        if forest is not None:
            console.print(f"forest plot written to {forest}")


def _measure(text: str) -> Any:
    from redif.evidence.meta import Measure

    key = text.strip().upper()
    if key not in Measure.__members__:
        raise InputError("unknown measure", field="--measure", value=text,
                         remedy="use PR, PLO, PAS, PFT or GEN")
    return Measure(key)


def _yi_vi(file: Path, measure: str) -> tuple[Any, Any, Any, Any]:
    """Read FILE once and return (yi, vi, table, measure), yi/vi on the analysis scale."""
    from redif.evidence import meta as engine

    ms = _measure(measure)
    table = read_meta_csv(file, measure=str(ms), extra_columns=[])
    if ms is engine.Measure.GEN:
        return table.yi, table.vi, table, ms
    yi, vi = engine.escalc(str(ms), table.events or [], table.totals or [])
    return yi, vi, table, ms


def _no_glmm(method: str) -> None:
    if method.strip().upper() == "GLMM":
        raise InputError("this analysis works on escalc values, not the GLMM", field="--method", value=method,
                         remedy="use a tau2 estimator such as REML")


def bias_command(
    file: Path = typer.Argument(..., help="CSV with study,events,total (or study,yi,vi for GEN)."),
    measure: str = typer.Option("PLO", "--measure", help="PR, PLO, PAS, PFT or GEN."),
    method: str = typer.Option("REML", "--method", help="tau2 estimator (not GLMM)."),
    knha: bool = typer.Option(False, "--knha", help="Knapp-Hartung adjustment for Egger's test."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Small-study effects: Egger's regression test, Begg's rank test, trim-and-fill (metafor)."""
    from redif.evidence import meta as engine

    _no_glmm(method)
    yi, vi, table, ms = _yi_vi(file, measure)
    eg = engine.regtest(yi, vi, method=method, knha=knha)
    rk = engine.ranktest(yi, vi)
    tf = engine.trimfill(yi, vi, method=method)
    out: dict[str, Any] = {"k": len(yi), "measure": str(ms), "method": method.upper(),
                           "egger": eg.to_dict(), "begg": rk.to_dict(), "trimfill": tf.to_dict()}
    if ms is not engine.Measure.GEN:
        est = engine.back_transform(ms, [tf.estimate, tf.ci_lower, tf.ci_upper], table.totals)
        out["trimfill"]["estimate_proportion"] = [float(x) for x in est]
    if as_json:
        emit_json(out)
        return
    console.print(f"Egger regression test ({'t' if knha else 'z'}): stat = {_fmt(eg.stat, 3)}, "
                  f"p {_fmt_p(eg.p)}; limit estimate {_fmt(eg.limit_estimate)} "
                  f"[{_fmt(eg.limit_ci_lower)}, {_fmt(eg.limit_ci_upper)}] ({ms} scale)")
    console.print(f"Begg rank correlation: Kendall tau = {_fmt(rk.tau, 3)}, p {_fmt_p(rk.p)}"
                  f"{' (exact)' if rk.exact else ' (normal approximation, ties)'}")
    line = (f"Trim-and-fill ({tf.estimator}): {tf.k0} studies imputed on the {tf.side} side; adjusted "
            f"estimate {_fmt(tf.estimate)} [{_fmt(tf.ci_lower)}, {_fmt(tf.ci_upper)}] ({ms} scale)")
    if "estimate_proportion" in out["trimfill"]:
        e = out["trimfill"]["estimate_proportion"]
        line += f" = proportion {_fmt(e[0])} [{_fmt(e[1])}, {_fmt(e[2])}]"
    console.print(line)
    console.print(f"[dim]{DISCLAIMER}[/dim]")


def influence_command(
    file: Path = typer.Argument(..., help="CSV with study,events,total (or study,yi,vi for GEN)."),
    measure: str = typer.Option("PLO", "--measure", help="PR, PLO, PAS, PFT or GEN."),
    method: str = typer.Option("REML", "--method", help="tau2 estimator (not GLMM)."),
    knha: bool = typer.Option(False, "--knha", help="Knapp-Hartung adjustment."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Leave-one-out estimates and influence diagnostics per study (metafor leave1out/influence)."""
    from redif.evidence import meta as engine

    _no_glmm(method)
    yi, vi, table, ms = _yi_vi(file, measure)
    labels = table.labels
    loo = engine.leave_one_out(yi, vi, labels, method=method, knha=knha)
    inf = engine.influence(yi, vi, labels, method=method, knha=knha)
    rows: list[dict[str, Any]] = []
    for r, d in zip(loo, inf.to_dict()["studies"], strict=True):
        row: dict[str, Any] = {"label": r.omitted, "loo": r.to_dict()}
        row.update({k: v for k, v in d.items() if k != "label"})
        rows.append(row)
    out = {"k": len(yi), "measure": str(ms), "method": method.upper(), "studies": rows}
    if as_json:
        emit_json(out)
        return
    t = Table(title=f"Leave-one-out and influence ({ms} scale, {method.upper()})")
    for col in ("Omitted", "Estimate [CI]", "tau2", "I2 %", "rstudent", "DFFITS", "Cook D", "hat", "infl."):
        t.add_column(col, justify="left" if col == "Omitted" else "right", no_wrap=col == "Estimate [CI]")
    for row in rows:
        lo = row["loo"]
        t.add_row(row["label"], f"{_fmt(lo['estimate'])} [{_fmt(lo['ci_lower'])}, {_fmt(lo['ci_upper'])}]",
                  _fmt(lo["tau2"]), _fmt(lo["i2"], 1), _fmt(row["rstudent"], 3), _fmt(row["dffits"], 3),
                  _fmt(row["cook_d"], 3), _fmt(row["hat"], 3), "*" if row["influential"] else "")
    console.print(t)
    console.print(f"[dim]{DISCLAIMER}[/dim]")


def _forest(result: Any, path: Path) -> None:
    out = check_plot_path(path, field="forest")
    write_plot(forest_bytes(result, plot_format(out)), out, field="forest")


def register(app: typer.Typer) -> None:
    """Add the `meta` commands to the root application."""
    meta_app = typer.Typer(help="Meta-analysis of proportions or effect sizes from a CSV file "
                                "(metafor-compatible).", no_args_is_help=True)
    meta_app.command("pool")(pool_command)
    meta_app.command("bias")(bias_command)
    meta_app.command("influence")(influence_command)
    app.add_typer(meta_app, name="meta")
