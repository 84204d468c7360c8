"""`redif evidence add | rob | grade | prisma`: the living review (risk of bias, GRADE, PRISMA 2020).

Thin layer over :mod:`redif.evidence.risk_of_bias`, :mod:`redif.evidence.grade` and
:mod:`redif.evidence.prisma`; the commands join the ``evidence`` group of :mod:`redif.cli.evidence`.
Engines are imported inside the command bodies so that ``redif --help`` stays light.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from redif import DISCLAIMER
from redif.cli._common import JsonOpt, emit_json
from redif.cli.evidence import console, evidence_app
from redif.errors import InputError

__all__ = ["register"]

_LogOpt = typer.Option(None, "--log", help="Screening log file (YAML); default: the built-in log.")
_DRAFT_NOTE = ("Risk-of-bias answers are a draft from the evidence base's own fields (grade unverified, "
               "no paper read): a starting point for the consortium's reviewers.")


def _read_log(path: Path | None) -> dict[str, Any]:
    from redif.evidence.prisma import load_log
    from redif.io.yaml_doc import MAX_FILE_BYTES, load_document

    if path is None:
        return load_log()
    if not path.is_file():
        raise InputError("file not found", field="--log", value=str(path),
                         remedy="give an existing screening log (created by `redif evidence add --log`)")
    data = load_document(path.read_bytes(), field=path.name, max_bytes=MAX_FILE_BYTES)
    if not isinstance(data, dict):
        raise InputError("expected a mapping", field="--log", value=str(path))
    return data


def _rob(
    out: Path | None = typer.Option(None, "--out", help="Traffic-light plot, .svg or .png."),
    summary_out: Path | None = typer.Option(None, "--summary-out", help="Summary bar plot, .svg or .png."),
    as_json: JsonOpt = False,
) -> None:
    """Risk of bias per record (JBI checklist for case series) with the overall judgement (redif's rule)."""
    from redif.evidence.risk_of_bias import load_assessments, load_tool, summarise
    from redif.evidence.rob_plots import rob_summary_bytes, traffic_light_bytes
    from redif.evidence.studies import load_evidence
    from redif.io.figures import check_plot_path, plot_format, write_plot

    for path, flag in ((out, "--out"), (summary_out, "--summary-out")):
        if path is not None:
            check_plot_path(path, field=flag)
    tool = load_tool()
    assessments = load_assessments(load_evidence().ids)
    summary = summarise(assessments, tool)
    plots: list[str] = []
    if out is not None:
        plots.append(str(write_plot(traffic_light_bytes(assessments, tool, plot_format(out)), out,
                                    field="--out")))
    if summary_out is not None:
        plots.append(str(write_plot(rob_summary_bytes(summary, tool, plot_format(summary_out)), summary_out,
                                    field="--summary-out")))
    if as_json:
        emit_json({"tool": {"name": tool.name, "source": tool.source, "grade": tool.grade,
                            "items": [{"id": i, "text": t} for i, t in tool.items],
                            "judgement_rule": tool.rule},
                   "assessments": [a.to_dict() for a in assessments], "summary": summary.to_dict(),
                   "plots": plots, "note": _DRAFT_NOTE})
        return
    grid = Table(title=f"Risk of bias: {tool.name}", title_justify="left")
    for col in ("record", *tool.item_ids, "overall"):
        grid.add_column(col)
    short = {"yes": "Y", "no": "N", "unclear": "?", "not_applicable": "NA"}
    for a in assessments:
        answers = {i: short[ans] for i, ans, _ in a.answers}
        label = a.record + (f" (= {a.same_as})" if a.same_as else "")
        grid.add_row(label, *(answers.get(i, "") for i in tool.item_ids), a.judgement)
    console.print(grid)
    console.print("Judgements: " + ", ".join(f"{k} {v}" for k, v in summary.judgements.items())
                  + f" ({summary.n_records} appraisals; arms sharing their study's count once)",
                  highlight=False)
    console.print(f"Overall rule: {tool.rule}", highlight=False, style="dim")
    console.print(_DRAFT_NOTE, style="dim")
    for p in plots:
        console.print(f"wrote {p}", highlight=False)


def _grade(as_json: JsonOpt = False) -> None:
    """GRADE summary of findings: uptake per definition and response, certainty with reasons."""
    from redif.evidence.grade import summary_of_findings
    from redif.evidence.risk_of_bias import load_assessments
    from redif.evidence.studies import load_evidence

    base = load_evidence()
    judgements = {a.record: a.judgement for a in load_assessments(base.ids)}
    rows = summary_of_findings(base.studies, judgements)
    if as_json:
        emit_json({"outcomes": [r.to_dict() for r in rows], "note": _DRAFT_NOTE, "disclaimer": DISCLAIMER})
        return
    grid = Table(title="GRADE summary of findings", title_justify="left", show_lines=True)
    for col in ("outcome", "records", "events/total", "estimate (95% CI)", "certainty", "reasons"):
        grid.add_column(col, overflow="fold")
    for r in rows:
        ln = r.line
        reasons = "\n".join(f"{d.domain}: {d.rating}" + (f" (-{d.downgrade})" if d.downgrade else "")
                            for d in r.domains)
        grid.add_row(r.outcome, ", ".join(r.records), f"{ln.events}/{ln.total}",
                     f"{100 * ln.estimate:.0f}% ({100 * ln.ci_lower:.0f}-{100 * ln.ci_upper:.0f}%)",
                     r.certainty.replace("_", " "), reasons)
    console.print(grid)
    console.print("Certainty starts low (single-arm/observational evidence, Balshem 2011); thresholds are "
                  "redif rules (grade_rules.yaml, unverified); --json gives each reason in full.",
                  style="dim")
    console.print(_DRAFT_NOTE, style="dim")


def _prisma(
    out: Path = typer.Option(..., "--out", help="Output file, .svg."),
    log: Path | None = _LogOpt,
    as_json: JsonOpt = False,
) -> None:
    """Draw the PRISMA 2020 flow diagram from the screening log (unknown counts shown as unknown)."""
    from redif.evidence.prisma import prisma_counts, prisma_svg
    from redif.io.figures import check_plot_path

    check_plot_path(out, suffixes=(".svg",))
    counts = prisma_counts(_read_log(log))
    out.write_text(prisma_svg(counts), encoding="utf-8")
    if as_json:
        data = counts.to_dict()
        data["plot"] = str(out)
        emit_json(data)
        return
    console.print(f"wrote {out} (reports included: {counts.reports_included})", highlight=False)


def _add(
    file: Path = typer.Argument(..., help="New study records (.yaml or .csv), checked like the base."),
    log: Path = typer.Option(Path("screening_log.yaml"), "--log",
                             help="Screening log to append to (created from the built-in log if missing)."),
    note: str | None = typer.Option(None, "--note", help="A note for the log entry."),
    as_json: JsonOpt = False,
) -> None:
    """Validate new records against the evidence base; log them, dated, in the screening log."""
    import yaml

    from redif.evidence.prisma import add_entry, prisma_counts
    from redif.evidence.studies import load_evidence, merge_studies, read_studies_file

    studies = read_studies_file(file)
    merge_studies(load_evidence(), studies)
    current = _read_log(log if log.exists() else None)
    updated = add_entry(current, [s.row_id for s in studies], file=file.name, note=note)
    prisma_counts(updated)
    log.write_text(yaml.safe_dump(updated, sort_keys=False, allow_unicode=True), encoding="utf-8")
    entry = updated["entries"][-1]
    if as_json:
        emit_json({"added": entry["records"], "log": str(log), "entry": entry})
        return
    console.print(f"validated {len(studies)} record(s) ({', '.join(entry['records'])}); logged in {log} "
                  f"on {entry['date']}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add the living-review commands to the ``evidence`` group (registered by :mod:`redif.cli.evidence`)."""
    del app  # the commands join the evidence group, already attached to the root application
    evidence_app.command("add")(_add)
    evidence_app.command("rob")(_rob)
    evidence_app.command("grade")(_grade)
    evidence_app.command("prisma")(_prisma)
