"""`redif meta` commands: meta-analysis of a user's CSV file (thin: options -> engine -> render).

The engine modules (numpy, scipy, matplotlib) are imported inside the commands: at module level they
would add about 2 s to every ``redif`` start-up, ``redif --help`` included (measured with
``python -X importtime -c "import redif.cli.main"``: 0.2 s deferred, 2.0-2.8 s at the top). The
estimator table (:mod:`redif.evidence.estimators`) is light and read at import for the help text.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from redif import DISCLAIMER
from redif.cli._common import JsonOpt, console, emit_json
from redif.cli._flags import field_flags
from redif.evidence.estimators import methods_help
from redif.io.figures import check_plot_path, plot_format, write_plot

if TYPE_CHECKING:
    from redif.evidence.effect_table import EffectTable

__all__ = ["read_meta_csv", "register"]

PROPORTION = ("PR", "PLO", "PAS", "PFT")
_MEASURE_HELP = "PR, PLO, PAS, PFT or GEN."


def read_meta_csv(path: Path, *, measure: str, extra_columns: list[str]) -> EffectTable:
    """Read a study-results CSV (kept name; the engine is
    :func:`redif.evidence.effect_table.read_effect_table`)."""
    from redif.evidence.effect_table import read_effect_table

    return read_effect_table(path, measure=measure, extra_columns=extra_columns)


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


@field_flags(moderators="--mods")
def pool_command(
    file: Path = typer.Argument(..., help="CSV with study,events,total (or study,yi,vi for GEN)."),
    measure: str = typer.Option("PLO", "--measure", help=_MEASURE_HELP),
    method: str = typer.Option("REML", "--method", help=methods_help()),
    knha: bool = typer.Option(False, "--knha", help="Knapp-Hartung adjustment (t with k-1 df)."),
    level: float = typer.Option(95.0, "--level", help="Confidence level in percent."),
    by: str | None = typer.Option(None, "--by", help="Column for subgroup analysis (separate tau2)."),
    mods: str | None = typer.Option(None, "--mods", help="Comma-separated moderator columns."),
    random: str | None = typer.Option(
        None, "--random", help="Nested random effects OUTER/INNER (two columns, e.g. trial/arm): a "
                               "multilevel model as metafor rma.mv(random = ~ 1 | OUTER/INNER); --method "
                               "REML or ML."),
    forest: Path | None = typer.Option(None, "--forest", help="Write a forest plot (.svg or .png)."),
    study_ci: str = typer.Option("clopper-pearson", "--study-ci",
                                 help="Per-study interval for proportions: clopper-pearson or wilson."),
    as_json: JsonOpt = False,
) -> None:
    """Pool proportions or generic effect sizes from a CSV file (metafor-compatible)."""
    from redif.evidence.effect_table import pool_effect_table
    from redif.evidence.plots import forest_bytes

    if random is not None:
        _pool_multilevel(file, measure=measure, method=method, random=random, mods=mods, level=level,
                         by=by, knha=knha, forest=forest, as_json=as_json)
        return
    if forest is not None:
        check_plot_path(forest, field="forest")
    pool = pool_effect_table(file, measure=measure, method=method, knha=knha, level=level, by=by,
                             moderators=mods, study_ci=study_ci)
    out = pool.to_dict()
    out["disclaimer"] = DISCLAIMER
    if forest is not None:
        write_plot(forest_bytes(pool.result, plot_format(forest)), forest, field="forest")
        out["forest"] = str(forest)
    if as_json:
        emit_json(out)
    else:
        _render(out, str(pool.measure))
        if forest is not None:
            console.print(f"forest plot written to {forest}")


def _pool_multilevel(file: Path, *, measure: str, method: str, random: str, mods: str | None, level: float,
                     by: str | None, knha: bool, forest: Path | None, as_json: bool) -> None:
    """``meta pool --random OUTER/INNER``: the nested model (:mod:`redif.evidence.multilevel`)."""
    from redif.errors import InputError
    from redif.evidence.multilevel import pool_multilevel_file

    for name, given in (("by", by is not None), ("knha", knha), ("forest", forest is not None)):
        if given:
            raise InputError("not available with the multilevel model", field=name,
                             remedy="drop it, or drop --random for the standard random-effects model")
    res = pool_multilevel_file(file, random=random, measure=measure, method=method, level=level,
                               moderators=mods)
    out = res.to_dict()
    out["disclaimer"] = DISCLAIMER
    if as_json:
        emit_json(out)
        return
    outer, inner = res.random
    prop = res.measure in PROPORTION
    scale = "proportion" if prop else "effect"
    console.print(f"Multilevel model ({res.measure}, {res.method}, k = {res.k}; random = ~ 1 | "
                  f"{outer}/{inner}, {res.n_levels[0]} {outer} and {res.n_levels[1]} {inner} levels)")
    head = "Intercept" if res.qm is not None else "Pooled"
    console.print(f"{head} {scale}: {_fmt(res.estimate)} [{_fmt(res.ci_lower)}, {_fmt(res.ci_upper)}], "
                  f"prediction interval [{_fmt(res.pi_lower)}, {_fmt(res.pi_upper)}] ({res.level:g}%, z)")
    console.print(f"mu = {_fmt(res.mu)} (SE {_fmt(res.se)}) on the {res.measure} scale; sigma2 {outer} = "
                  f"{_fmt(res.sigma2[0])}, sigma2 {inner} = {_fmt(res.sigma2[1])}; QE = {_fmt(res.qe, 2)} "
                  f"(df = {res.qe_df}, p {_fmt_p(res.qe_p)})")
    if res.qm is not None:
        ct = Table(title=f"Moderators ({res.measure} scale)")
        for col in ("Term", "Estimate", "SE", "z", "p", "CI"):
            ct.add_column(col, justify="left" if col == "Term" else "right")
        for c in res.coefficients:
            ct.add_row(c.name, _fmt(c.estimate), _fmt(c.se), _fmt(c.stat, 3), _fmt(c.p),
                       f"[{_fmt(c.ci_lower)}, {_fmt(c.ci_upper)}]")
        console.print(ct)
        console.print(f"QM = {_fmt(res.qm, 3)} (df = {res.qm_df}, p {_fmt_p(res.qm_p)})")
    for note in res.notes:
        console.print(f"note: {note}")
    console.print(f"[dim]{DISCLAIMER}[/dim]")


def _yi_vi(file: Path, measure: str) -> tuple[Any, Any, EffectTable, Any]:
    """Read FILE once and return (yi, vi, table, measure), yi/vi on the analysis scale."""
    from redif.evidence.effect_table import effect_sizes, parse_effect_measure, read_effect_table

    ms = parse_effect_measure(measure)
    table = read_effect_table(file, measure=ms)
    yi, vi = effect_sizes(table, ms)
    return yi, vi, table, ms


def bias_command(
    file: Path = typer.Argument(..., help="CSV with study,events,total (or study,yi,vi for GEN)."),
    measure: str = typer.Option("PLO", "--measure", help=_MEASURE_HELP),
    method: str = typer.Option("REML", "--method", help=methods_help(glmm=False)),
    knha: bool = typer.Option(False, "--knha", help="Knapp-Hartung adjustment for Egger's test."),
    as_json: JsonOpt = False,
) -> None:
    """Small-study effects: Egger's regression test, Begg's rank test, trim-and-fill (metafor)."""
    from redif.evidence.bias import ranktest, regtest, trimfill
    from redif.evidence.effect_table import require_tau2_method
    from redif.evidence.measures import Measure, back_transform

    require_tau2_method(method)
    yi, vi, table, ms = _yi_vi(file, measure)
    eg = regtest(yi, vi, method=method, knha=knha)
    rk = ranktest(yi, vi)
    tf = trimfill(yi, vi, method=method)
    out: dict[str, Any] = {"k": len(yi), "measure": str(ms), "method": method.upper(),
                           "egger": eg.to_dict(), "begg": rk.to_dict(), "trimfill": tf.to_dict()}
    if ms is not Measure.GEN:
        est = back_transform(ms, [tf.estimate, tf.ci_lower, tf.ci_upper], table.totals)
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
    measure: str = typer.Option("PLO", "--measure", help=_MEASURE_HELP),
    method: str = typer.Option("REML", "--method", help=methods_help(glmm=False)),
    knha: bool = typer.Option(False, "--knha", help="Knapp-Hartung adjustment."),
    as_json: JsonOpt = False,
) -> None:
    """Leave-one-out estimates and influence diagnostics per study (metafor leave1out/influence)."""
    from redif.evidence.effect_table import require_tau2_method
    from redif.evidence.influence import influence, leave_one_out

    require_tau2_method(method)
    yi, vi, table, ms = _yi_vi(file, measure)
    labels = table.labels
    loo = leave_one_out(yi, vi, labels, method=method, knha=knha)
    inf = influence(yi, vi, labels, method=method, knha=knha)
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


def register(app: typer.Typer) -> None:
    """Add the `meta` commands to the root application."""
    meta_app = typer.Typer(help="Meta-analysis of proportions or effect sizes from a CSV file "
                                "(metafor-compatible).", no_args_is_help=True)
    meta_app.command("pool")(pool_command)
    meta_app.command("bias")(bias_command)
    meta_app.command("influence")(influence_command)
    app.add_typer(meta_app, name="meta")
