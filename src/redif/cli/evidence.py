"""`redif evidence`: the redifferentiation evidence base and its living meta-analysis.

Thin layer: parse options -> :mod:`redif.evidence.studies` / :mod:`redif.evidence.tables` /
:mod:`redif.evidence.synthesis` / :mod:`redif.evidence.plots` -> render. Bad input raises
:class:`redif.errors.InputError`, printed by ``redif.cli.main`` as one line with exit status 2.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from redif import DISCLAIMER
from redif.cli._common import JsonOpt, emit_json
from redif.cli._common import console as _console
from redif.cli._flags import field_flags
from redif.errors import InputError
from redif.evidence.estimators import methods_help

__all__ = ["register"]

# Wide tables: when writing to a file or pipe, do not wrap at rich's default 80 columns.
console = _console if _console.is_terminal else Console(width=160)

evidence_app = typer.Typer(
    name="evidence",
    help="The redifferentiation evidence base: list, show, pool, forest, funnel, regress, summary.",
    no_args_is_help=True,
)

_STUDIES_HELP = "Extra study file (.csv or .yaml, see examples/extra_studies.csv); repeatable."
_GRADE_HELP = ("Lowest grade kept: primary, secondary (default), unverified, unreliable-secondary. "
               "Rows below it are left out and reported.")

_OutcomeOpt = typer.Option("uptake", "--outcome", help="uptake (restored/evaluable) or response ((CR+PR)/n).")
_GenotypeOpt = typer.Option(None, "--genotype", help="Keep one genotype group (e.g. 'BRAF V600E', RAS).")
_DefinitionOpt = typer.Option(
    None, "--definition",
    help="Keep one definition of restored uptake (e.g. 'uptake on diagnostic scan', or: 124I, threshold, "
         "diagnostic, post-therapy, protocol).")
_GradeOpt = typer.Option("secondary", "--min-grade", help=_GRADE_HELP)
_StudiesOpt = typer.Option(None, "--studies", help=_STUDIES_HELP)
_MeasureOpt = typer.Option("PLO", "--measure", help="PR, PLO (default), PAS or PFT.")
_MethodOpt = typer.Option("REML", "--method", help=methods_help())
_KnhaOpt = typer.Option(False, "--knha",
                        help="Knapp-Hartung without the max(1, q) safeguard (= --test knha).")
_TestOpt = typer.Option(None, "--test", help="adhoc (default: Knapp-Hartung with max(1, q), metafor "
                        "test='adhoc'), knha or z.")
_DenomOpt = typer.Option("itt", "--denominator", help="Response denominator: itt (default; everyone who "
                         "started the redifferentiation drug) or treated (those given 131I).")
_MixOpt = typer.Option(False, "--mix-definitions", help="Allow one uptake pool across definitions of "
                       "restored uptake (labelled 'mixed definitions').")
_LevelOpt = typer.Option(95.0, "--level", help="Confidence level in percent.")
_PreferOpt = typer.Option("arms", "--prefer",
                          help="arms (default) or overall: which level of a study with arms comes first.")


def _base(studies: list[Path] | None) -> Any:
    from redif.evidence.studies import load_evidence

    return load_evidence(studies or [])


def _table(outcome: str, genotype: str | None, definition: str | None, min_grade: str,
           studies: list[Path] | None, prefer: str, denominator: str = "itt") -> Any:
    from redif.evidence.tables import outcome_table

    if prefer not in ("arms", "overall"):
        raise InputError("unknown value", field="--prefer", value=prefer, remedy="use arms or overall")
    return outcome_table(_base(studies), outcome, genotype=genotype, definition=definition,
                         min_grade=min_grade, prefer=prefer, denominator=denominator)  # type: ignore[arg-type]


def _model_text(pool: Any) -> str:
    res = pool.overall
    test = {"adhoc": "Knapp-Hartung with max(1, q)", "knha": "Knapp-Hartung", "z": "z"}[pool.test]
    bits = [f"{res.method}, {res.measure}, {test}"]
    if pool.table.denominator:
        bits.append(f"response denominator: {pool.table.denominator}")
    if pool.mixed_definitions:
        bits.append("MIXED DEFINITIONS of restored uptake")
    elif pool.stratified:
        bits.append("one group per definition of restored uptake (no pool across definitions)")
    return "; ".join(bits)


def _print_notes(pool: Any) -> None:
    for line in pool.group_table():
        if line.note:
            console.print(f"  note ({line.name}): {line.note}", highlight=False, style="dim")


_SHORT_DEF = {
    "increased 124I uptake": "124I increase",
    "lesion-dose threshold reached": "dose threshold",
    "uptake on diagnostic scan": "diagnostic scan",
    "uptake on post-therapy scan": "post-therapy scan",
    "protocol-defined sufficient uptake": "protocol-sufficient",
}


def _pct(x: float | None) -> str:
    return "NA" if x is None or not math.isfinite(x) else f"{100 * x:.0f}%"


def _ci(lo: float, hi: float) -> str:
    return f"{_pct(lo)}-{_pct(hi)}"


def _count_text(count: Any) -> str:
    if count is None:
        return ""
    flag = count.flag.value
    if flag == "unverified" and (count.note or "").lower().startswith("derived"):
        flag = "derived, unverified"
    return f"{count.value}" + ("" if flag == "reported" else f" ({flag})")


def _print_excluded(table: Any) -> None:
    if not table.excluded:
        console.print(f"Left out: none (min grade {table.min_grade.value}).")
        return
    console.print(f"Left out: {len(table.excluded)} record(s) (min grade {table.min_grade.value}):")
    for e in table.excluded:
        console.print(f"  {e.row_id}: {e.reason}", highlight=False)


def _pool_table_render(pool: Any, title: str) -> Table:
    grid = Table(title=title, title_justify="left", show_lines=False)
    show_defs = pool.by != "definition"
    columns = [("group", "left"), ("k", "right"), ("events/total", "right"), ("estimate", "right"),
               ("95% CI", "right"), ("95% PI", "right"), ("I²", "right")]
    if show_defs:
        uptake = pool.table.outcome.value == "uptake"
        columns.append(("uptake definitions (rows)" if uptake else "outcome", "left"))
    for col, just in columns:
        grid.add_column(col, justify=just)  # type: ignore[arg-type]
    if pool.overall.level != 95.0:
        grid.columns[4].header = f"{pool.overall.level:g}% CI"
        grid.columns[5].header = f"{pool.overall.level:g}% PI"

    for line in pool.group_table():
        defs = line.definitions
        def_text = ("; ".join(f"{_SHORT_DEF.get(d, d)} ×{n}" for d, n in defs.items()) if defs
                    else "RECIST 1.1 CR+PR")
        pi = "—" if line.pi_lower is None else _ci(line.pi_lower, line.pi_upper)
        i2 = "—" if line.i2 is None else f"{line.i2:.0f}%"
        bold = line.name == "all"
        ci = _ci(line.ci_lower, line.ci_upper)
        cells = [f"[bold]{line.name}[/bold]" if bold else line.name, str(line.k),
                 f"{line.events}/{line.total}", _pct(line.estimate), ci, pi, i2]
        grid.add_row(*cells, *([def_text] if show_defs else []))
    return grid


def _render_pool(pool: Any) -> None:
    from redif.evidence.meta import SubgroupResult

    res = pool.overall
    title = f"Pooled {pool.table.outcome.value}" + (f" by {pool.by}" if pool.by else "")
    if pool.mixed_definitions:
        title += " (mixed definitions)"
    if pool.table.denominator:
        title += f" (denominator: {pool.table.denominator})"
    console.print(_pool_table_render(pool, title))
    if pool.stratified:
        console.print(f"Model: {_model_text(pool)}", highlight=False)
    else:
        console.print(f"Model: {_model_text(pool)}; I² = {res.i2:.1f}%, tau² = {res.tau2:.4f}, "
                      f"Q = {res.q:.2f} (df = {res.q_df}, p = {res.q_p:.3g})", highlight=False)
    _print_notes(pool)
    if isinstance(pool.result, SubgroupResult):
        tb = pool.result.test_between
        console.print(f"Test for subgroup differences: Q = {tb.q:.2f}, df = {tb.df}, p = {tb.p:.3g}",
                      highlight=False)
    _print_excluded(pool.table)


def _list(
    studies: list[Path] | None = _StudiesOpt,
    as_json: JsonOpt = False,
) -> None:
    """List every record of the evidence base (with any extra study files merged)."""
    base = _base(studies)
    if as_json:
        emit_json([s.to_dict() for s in base])
        return
    grid = Table(title=f"redif evidence base: {len(base)} records", title_justify="left")
    for col in ("id", "type", "study", "genotype", "drug(s)", "wk", "uptake (definition)", "CR+PR/n",
                "grade"):
        grid.add_column(col)
    for s in base:
        if s.results_reported is False:
            continue
        uptake = "; ".join(
            f"{_pair_text(o.restored, o.evaluable)} ({o.definition.label})" if o.restored and o.evaluable
            else f"{o.percent_reported:g}% ({o.definition.label})" for o in s.uptake)
        response = (_pair_text(s.recist_cr, s.recist_pr, s.response_denominator)
                    if s.recist_cr and s.recist_pr and s.response_denominator else "")
        wk = s.weeks_drug_before_uptake_assessment
        weeks = "" if wk is None else f"{wk:g}"
        grid.add_row(s.row_id, s.row_type.value, s.short_label or s.label, s.genotype.value, s.regimen_label,
                     weeks, uptake, response, s.grade.value)
    console.print(grid)
    console.print("Grades: primary (abstract/registry), secondary (transcription), unverified and "
                  "unreliable-secondary (left out of default analyses). A count marked (derived) was "
                  "computed by arithmetic, (unverified) was not checked against a source.")
    ongoing = [s for s in base if s.results_reported is False]
    if ongoing:
        console.print(f"Ongoing (registered, no results; never pooled): {len(ongoing)} — see "
                      "`redif evidence ongoing`.", highlight=False)


def _pair_text(*counts: Any) -> str:
    """``events/total`` (``cr+pr/total`` for three counts) with the worst flag of the counts shown."""
    values = [c.value for c in counts]
    text = f"{values[0] + values[1]}/{values[2]}" if len(values) == 3 else f"{values[0]}/{values[1]}"
    flags = {_count_text(c).partition(" ")[2].strip("()") for c in counts} - {""}
    order = ("derived, unverified", "unverified", "derived")
    worst = next((f for f in order if f in flags), "")
    return text + (f" ({worst})" if worst else "")


def _ongoing(
    studies: list[Path] | None = _StudiesOpt,
    as_json: JsonOpt = False,
) -> None:
    """Registered trials without results (never pooled)."""
    rows = [s for s in _base(studies) if s.results_reported is False]
    if as_json:
        emit_json([s.to_dict() for s in rows])
        return
    grid = Table(title=f"Ongoing: {len(rows)} registered trial(s) without results (never pooled)",
                 title_justify="left")
    for col in ("id", "registry", "trial", "drug(s)", "design", "grade"):
        grid.add_column(col, overflow="fold")
    for s in rows:
        grid.add_row(s.row_id, ", ".join(s.registry_ids), s.label, s.regimen_label, s.design or "",
                     s.grade.value)
    console.print(grid)


def _show(
    row_id: str = typer.Argument(..., help="Record id, e.g. P06."),
    studies: list[Path] | None = _StudiesOpt,
    as_json: JsonOpt = False,
) -> None:
    """Show every field of one record, with the source and grade of its facts."""
    arm = _base(studies).get(row_id)
    if as_json:
        emit_json(arm.to_dict())
        return
    from redif.evidence.model import Count, Identifier

    grid = Table(title=f"{arm.row_id}: {arm.label}", title_justify="left", show_header=False)
    grid.add_column("field", style="bold")
    grid.add_column("value", overflow="fold")
    for key in arm.__dataclass_fields__:
        value = getattr(arm, key)
        if value in (None, "", (), {}) or key in ("row_id", "label"):
            continue
        if key == "uptake":
            text = "\n".join(
                f"{o.definition.label}: "
                + (f"{_count_text(o.restored)}/{_count_text(o.evaluable)}" if o.restored and o.evaluable
                   else f"{o.percent_reported:g}% (no count)")
                + (f" — {o.note}" if o.note else "") for o in value)
        elif isinstance(value, Count):
            text = _count_text(value) + (f" — {value.note}" if value.note else "")
        elif isinstance(value, Identifier):
            text = value.value + (" (unverified)" if value.unverified else "") + (
                f" — {value.note}" if value.note else "")
        elif isinstance(value, tuple):
            text = ", ".join(str(v) for v in value)
        elif isinstance(value, bool):
            text = "yes" if value else "no"
        elif isinstance(value, float):
            text = f"{value:g}"
        else:
            text = str(getattr(value, "value", value))
        grid.add_row(key, text)
    console.print(grid)


def _pool(
    outcome: str = _OutcomeOpt,
    by: str | None = typer.Option(None, "--by", help="Subgroups: genotype, definition, drug, ..."),
    genotype: str | None = _GenotypeOpt,
    definition: str | None = _DefinitionOpt,
    min_grade: str = _GradeOpt,
    studies: list[Path] | None = _StudiesOpt,
    measure: str = _MeasureOpt,
    method: str = _MethodOpt,
    knha: bool = _KnhaOpt,
    test: str | None = _TestOpt,
    denominator: str = _DenomOpt,
    mix_definitions: bool = _MixOpt,
    level: float = _LevelOpt,
    prefer: str = _PreferOpt,
    nested: bool = typer.Option(
        False, "--nested",
        help="Arms nested in their trials: a two-level model (metafor rma.mv, random = ~ 1 | trial/arm; "
             "REML or ML, z); uptake needs one --definition."),
    as_json: JsonOpt = False,
) -> None:
    """Pool restored uptake (one definition at a time) or response across the evidence base."""
    from redif.evidence.synthesis import pool_outcome

    table = _table(outcome, genotype, definition, min_grade, studies, prefer, denominator)
    if nested:
        _pool_nested(table, by=by, measure=measure, method=method, level=level, as_json=as_json)
        return
    pool = pool_outcome(table, by=by, measure=measure, method=method, knha=knha, level=level, test=test,
                        mix_definitions=mix_definitions)
    if as_json:
        emit_json(pool.to_dict())
        return
    _render_pool(pool)
    console.print(DISCLAIMER, style="dim")


def _pool_nested(table: Any, *, by: str | None, measure: str, method: str, level: float,
                 as_json: bool) -> None:
    """``evidence pool --nested``: arms nested in trials (:func:`redif.evidence.nested.pool_nested`)."""
    from redif.evidence.nested import pool_nested, trial_of

    if by is not None:
        raise InputError("not available with the nested model", field="--by", value=by,
                         remedy="drop --by, or drop --nested")
    if table.outcome.value == "uptake" and table.definition is None:
        raise InputError("the nested model pools one definition of restored uptake at a time",
                         field="--definition", remedy="give --definition (see `redif evidence list`)")
    from redif.evidence.tables import MixedDefinitionsError

    try:
        res = pool_nested(table, measure=measure, method=method, level=level)
    except MixedDefinitionsError as exc:
        raise exc.with_names("--definition", "--mix-definitions (without --nested)") from None
    out = res.to_dict()
    out["records"] = [{"id": r.row_id, "trial": trial_of(r), "events": r.events, "total": r.total}
                      for r in table.rows]
    out["denominator"] = table.denominator
    out["excluded"] = table.excluded_dict()
    out["disclaimer"] = DISCLAIMER
    if as_json:
        emit_json(out)
        return
    console.print(f"Pooled {table.outcome.value}, arms nested in trials ({res.measure}, {res.method}, "
                  f"k = {res.k}; {res.n_levels[0]} trials, {res.n_levels[1]} arms)", highlight=False)
    width = max(6, *(len(trial_of(r)) for r in table.rows))
    for r in table.rows:
        console.print(f"  {trial_of(r):{width}s} {r.row_id:6s} {r.events}/{r.total}  {r.label}",
                      highlight=False)
    console.print(f"estimate {_pct(res.estimate)} [{_pct(res.ci_lower)}, {_pct(res.ci_upper)}], "
                  f"prediction interval [{_pct(res.pi_lower)}, {_pct(res.pi_upper)}] ({res.level:g}%, z); "
                  f"sigma2 trial = {res.sigma2[0]:.4f}, sigma2 arm = {res.sigma2[1]:.4f}", highlight=False)
    for note in res.notes:
        console.print(f"note: {note}", highlight=False)
    _print_excluded(table)
    console.print(DISCLAIMER, style="dim")


def _forest(
    out: Path = typer.Option(..., "--out", help="Output file, .svg or .png."),
    outcome: str = _OutcomeOpt,
    by: str | None = typer.Option(None, "--by", help="Subgroup blocks: genotype, definition, drug, ..."),
    genotype: str | None = _GenotypeOpt,
    definition: str | None = _DefinitionOpt,
    min_grade: str = _GradeOpt,
    studies: list[Path] | None = _StudiesOpt,
    measure: str = _MeasureOpt,
    method: str = _MethodOpt,
    knha: bool = _KnhaOpt,
    test: str | None = _TestOpt,
    denominator: str = _DenomOpt,
    mix_definitions: bool = _MixOpt,
    level: float = _LevelOpt,
    prefer: str = _PreferOpt,
    title: str | None = typer.Option(None, "--title", help="Plot title."),
    as_json: JsonOpt = False,
) -> None:
    """Draw a forest plot of a pooled outcome (SVG or PNG by the file suffix)."""
    from redif.evidence.plots import forest_bytes
    from redif.evidence.synthesis import pool_outcome
    from redif.io.figures import check_plot_path, plot_format, write_plot

    check_plot_path(out)
    table = _table(outcome, genotype, definition, min_grade, studies, prefer, denominator)
    pool = pool_outcome(table, by=by, measure=measure, method=method, knha=knha, level=level, test=test,
                        mix_definitions=mix_definitions)
    path = write_plot(forest_bytes(pool.result, plot_format(out), title=title or _default_title(pool),
                                    show_overall=not pool.stratified), out)
    _report_plot(pool, path, as_json=as_json)


def _funnel(
    out: Path = typer.Option(..., "--out", help="Output file, .svg or .png."),
    outcome: str = _OutcomeOpt,
    genotype: str | None = _GenotypeOpt,
    definition: str | None = _DefinitionOpt,
    min_grade: str = _GradeOpt,
    studies: list[Path] | None = _StudiesOpt,
    measure: str = _MeasureOpt,
    method: str = _MethodOpt,
    denominator: str = _DenomOpt,
    mix_definitions: bool = _MixOpt,
    prefer: str = _PreferOpt,
    as_json: JsonOpt = False,
) -> None:
    """Draw a funnel plot (effect on the analysis scale against its standard error)."""
    from redif.evidence.plots import funnel_bytes
    from redif.evidence.synthesis import pool_outcome
    from redif.io.figures import check_plot_path, plot_format, write_plot

    check_plot_path(out)
    table = _table(outcome, genotype, definition, min_grade, studies, prefer, denominator)
    pool = pool_outcome(table, measure=measure, method=method, mix_definitions=mix_definitions)
    if pool.stratified:
        raise InputError(f"a funnel plot is drawn around one pooled mean, but the rows use "
                         f"{len(set(pool.groups))} definitions of restored uptake",
                         field="definition", value=None,
                         remedy="choose one with --definition, or pass --mix-definitions (labelled mixed)")
    path = write_plot(funnel_bytes(pool.result, plot_format(out), title=_default_title(pool)), out)
    _report_plot(pool, path, as_json=as_json)


def _report_plot(pool: Any, path: Path, *, as_json: bool) -> None:
    """After a plot is written: the pool's JSON with the plot's path, or the path and the records left
    out."""
    if as_json:
        data = pool.to_dict()
        data["plot"] = str(path)
        emit_json(data)
        return
    console.print(f"wrote {path}", highlight=False)
    _print_excluded(pool.table)


def _default_title(pool: Any) -> str:
    uptake = pool.table.outcome.value == "uptake"
    what = "Restored radioiodine uptake" if uptake else "Objective response (CR+PR)"
    bits = [f"{k}: {v}" for k, v in pool.table.filters.items() if k in ("genotype", "definition")]
    if pool.mixed_definitions:
        bits.append("MIXED DEFINITIONS")
    elif pool.stratified:
        bits.append("by definition")
    if pool.table.denominator:
        bits.append(f"denominator: {pool.table.denominator}")
    return what + (f" by {pool.by}" if pool.by else "") + (f" ({'; '.join(bits)})" if bits else "")


@field_flags(moderators="--mods")
def _regress(
    mods: str = typer.Option(..., "--mods", help="Comma-separated moderators, e.g. "
                             "weeks_drug_before_uptake_assessment,definition"),
    outcome: str = _OutcomeOpt,
    genotype: str | None = _GenotypeOpt,
    definition: str | None = _DefinitionOpt,
    min_grade: str = _GradeOpt,
    studies: list[Path] | None = _StudiesOpt,
    measure: str = _MeasureOpt,
    method: str = _MethodOpt,
    knha: bool = _KnhaOpt,
    test: str | None = _TestOpt,
    denominator: str = _DenomOpt,
    force: bool = typer.Option(False, "--force", help="Fit even when a moderator level has one record."),
    mix_definitions: bool = typer.Option(
        False, "--mix-definitions",
        help="Uptake: regress across definitions of restored uptake without 'definition' among the "
             "moderators (labelled 'mixed definitions')."),
    level: float = _LevelOpt,
    prefer: str = _PreferOpt,
    as_json: JsonOpt = False,
) -> None:
    """Meta-regression of uptake or response on trial-design moderators (mixed effects). Uptake rows
    under several definitions of restored uptake need 'definition' among --mods, one --definition, or
    --mix-definitions."""
    from redif.evidence.synthesis import regress_outcome
    from redif.evidence.tables import MixedDefinitionsError

    table = _table(outcome, genotype, definition, min_grade, studies, prefer, denominator)
    try:
        reg = regress_outcome(table, mods.split(","), measure=measure, method=method, knha=knha, level=level,
                              test=test, force=force, mix_definitions=mix_definitions)
    except MixedDefinitionsError as exc:
        raise exc.with_names("--definition", "--mix-definitions",
                             also="add definition to --mods (one intercept per definition)") from None
    if as_json:
        emit_json(reg.to_dict())
        return
    res = reg.result
    mixed = " — MIXED DEFINITIONS (--mix-definitions)" if reg.mixed_definitions else ""
    grid = Table(title=f"Meta-regression of {table.outcome.value} ({res.measure} scale, {res.method}), "
                       f"k = {res.k}{mixed}", title_justify="left")
    for col in ("coefficient", "estimate", "se", "z" if res.inference == "z" else "t", "p", "CI"):
        grid.add_column(col, justify="left" if col == "coefficient" else "right")
    for c in res.coefficients:
        grid.add_row(c.name, f"{c.estimate:.3f}", f"{c.se:.3f}", f"{c.stat:.2f}", f"{c.p:.3g}",
                     f"{c.ci_lower:.3f} to {c.ci_upper:.3f}")
    console.print(grid)
    r2 = "NA" if res.r2 is None else f"{res.r2:.1f}%"
    console.print(f"QM = {res.qm:.2f} (p = {res.qm_p:.3g}); QE = {res.qe:.2f} (p = {res.qe_p:.3g}); "
                  f"R² = {r2}; tau² = {res.tau2:.4f}; test: {reg.test}"
                  + (f"; response denominator: {table.denominator}" if table.denominator else ""),
                  highlight=False)
    for name, counts in reg.levels.items():
        console.print(f"  k per level of {name}: " + ", ".join(f"{lev} {n}" for lev, n in counts.items()),
                      highlight=False)
    if reg.single_levels:
        console.print(f"  FORCED with single-record level(s): {', '.join(reg.single_levels)}",
                      highlight=False)
    for row_id, why in reg.dropped:
        console.print(f"  dropped {row_id}: {why}", highlight=False)
    _print_excluded(table)
    console.print(DISCLAIMER, style="dim")


def _summary(
    out_dir: Path = typer.Option(Path("out"), "--out-dir", help="Folder for the forest plots (created)."),
    min_grade: str = _GradeOpt,
    studies: list[Path] | None = _StudiesOpt,
    measure: str = _MeasureOpt,
    method: str = _MethodOpt,
    knha: bool = _KnhaOpt,
    test: str | None = _TestOpt,
    denominator: str = _DenomOpt,
    mix_definitions: bool = _MixOpt,
    formats: str = typer.Option("svg,png", "--formats", help="Plot formats to write: svg, png or both."),
    as_json: JsonOpt = False,
) -> None:
    """The main job: pooled uptake and response by genotype, uptake by definition, forest plots."""
    from redif.evidence.plots import forest_bytes
    from redif.evidence.synthesis import evidence_summary
    from redif.io.figures import write_plot

    if out_dir.exists() and not out_dir.is_dir():
        raise InputError("not a folder", field="--out-dir", value=str(out_dir), remedy="give a folder path")
    suffixes = [f".{f.strip().lower()}" for f in formats.split(",") if f.strip()]
    if not suffixes or any(sfx not in (".svg", ".png") for sfx in suffixes):
        raise InputError("unknown plot format", field="--formats", value=formats,
                         remedy="use svg, png or svg,png")
    base = _base(studies)
    summary = evidence_summary(base.studies, measure=measure, method=method, knha=knha,
                               min_grade=min_grade, test=test, denominator=denominator,
                               mix_definitions=mix_definitions)
    out_dir.mkdir(parents=True, exist_ok=True)
    plots: list[Path] = []
    for name, pool in summary.pools.items():
        for suffix in dict.fromkeys(suffixes):
            image = forest_bytes(pool.result, suffix.lstrip("."), title=_default_title(pool),
                                 show_overall=not pool.stratified)
            plots.append(write_plot(image, out_dir / f"forest_{name}{suffix}"))
    if as_json:
        data = summary.to_dict()
        data["plots"] = [str(p) for p in plots]
        data["disclaimer"] = DISCLAIMER
        emit_json(data)
        return
    console.print(f"[bold]redif evidence summary[/bold]: {len(base)} records; analyses keep grade "
                  f"{summary.min_grade.value} or better.")
    console.print("Each patient counts once per analysis: a study's arms replace its overall row when they "
                  "partition it.", style="dim")
    console.print("'Restored uptake' differs between trials: one definition per arm (go/no-go criterion "
                  "first, post-therapy scan last); uptake is pooled within one definition at a time"
                  + (" — here MIXED DEFINITIONS (--mix-definitions)" if summary.uptake.mixed_definitions
                     else "") + ".", style="dim")
    for name, pool in summary.pools.items():
        console.print()
        console.print(_pool_table_render(pool, {
            "uptake": "Restored radioiodine uptake, by definition × genotype"
                      + (" (mixed definitions)" if pool.mixed_definitions else ""),
            "response": f"Objective response (RECIST CR+PR), by genotype (denominator: {denominator})",
            "uptake_by_definition": "Restored uptake, by definition of restored uptake",
        }[name]))
        from redif.evidence.meta import SubgroupResult

        model = _model_text(pool)
        between = ""
        if isinstance(pool.result, SubgroupResult):
            tb = pool.result.test_between
            between = f"; subgroup differences Q = {tb.q:.2f}, df = {tb.df}, p = {tb.p:.3g}"
        console.print(f"Model: {model}; PI = 95% prediction interval; a group with k = 1 is not pooled "
                      f"(its own exact CI is shown){between}", highlight=False, style="dim")
        _print_notes(pool)
    console.print()
    excluded: dict[str, dict[str, str]] = {}
    for pool in summary.pools.values():
        for e in pool.table.excluded:
            excluded.setdefault(e.row_id, {})[pool.table.outcome.value] = e.reason
    console.print(f"Left out of at least one analysis: {len(excluded)} record(s)", highlight=False)
    for row_id, whys in excluded.items():
        console.print(f"  {row_id}: " + "; ".join(f"{k}: {v}" for k, v in whys.items()), highlight=False)
    no_data = [s.row_id for s in base if not s.uptake and s.response_denominator is None]
    console.print(f"Records with no uptake or response counts (citations only): {len(no_data)} "
                  f"({', '.join(no_data)})", highlight=False)
    console.print()
    console.print("Forest plots:")
    for p in plots:
        console.print(f"  {p}", highlight=False)
    console.print()
    console.print(DISCLAIMER, style="bold")


def register(app: typer.Typer) -> None:
    """Add the `evidence` commands to the root application."""
    evidence_app.command("list")(_list)
    evidence_app.command("show")(_show)
    evidence_app.command("ongoing")(_ongoing)
    evidence_app.command("pool")(_pool)
    evidence_app.command("forest")(_forest)
    evidence_app.command("funnel")(_funnel)
    evidence_app.command("regress")(_regress)
    evidence_app.command("summary")(_summary)
    app.add_typer(evidence_app, name="evidence")
