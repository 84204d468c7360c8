"""`redif patient` commands: validate a case, print its schema, assess it, plan a protocol."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import typer

from redif.cli._common import JsonOpt, console, emit_json
from redif.errors import InputError

__all__ = ["register"]

patient_app = typer.Typer(
    help="One patient's pathway: RAI-refractoriness, regimens, protocol, go/no-go, response.",
    no_args_is_help=True,
)


def _parse_date(text: str | None, option: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InputError("not a date", field=option, value=text, remedy="use YYYY-MM-DD") from None


def _write(path: Path, data: bytes | str, option: str) -> None:
    try:
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write file: {exc.strerror}", field=option, value=str(path)) from None


@patient_app.command("validate")
def validate(
    case_file: Path = typer.Argument(..., help="Case file (YAML or JSON)."),
    as_json: JsonOpt = False,
) -> None:
    """Validate a case file: every problem on its own line, naming the field; exit status 2 if any."""
    from redif.pathway.case import load_case

    case = load_case(case_file)
    if as_json:
        emit_json({"file": str(case_file), "valid": True, "case_id": case.case_id,
                   "n_lesions": len(case.lesions), "n_rai_courses": len(case.rai_courses)})
        return
    typer.echo(
        f"{case_file}: valid case {case.case_id} ({len(case.lesions)} lesions, "
        f"{len(case.rai_courses)} 131I courses)"
    )


@patient_app.command("schema")
def schema() -> None:
    """Print the JSON Schema of a case file."""
    from redif.pathway.case import case_json_schema

    typer.echo(json.dumps(case_json_schema(), indent=2))


@patient_app.command("assess")
def assess(
    case_file: Path = typer.Argument(..., help="Case file (YAML or JSON)."),
    as_json: JsonOpt = False,
    markdown: Path | None = typer.Option(None, "--markdown", help="Also write a Markdown report here."),
    start_date: str | None = typer.Option(None, "--start-date", help="Day 0 of the protocol, YYYY-MM-DD."),
    protocol: str | None = typer.Option(
        None,
        "--protocol",
        help="Protocol template name (the list: redif patient protocols) or a template .yaml path.",
    ),
    ics: Path | None = typer.Option(None, "--ics", help="Also write the dated protocol as iCalendar."),
    studies: list[Path] = typer.Option(
        [], "--studies", help="Extra study file (CSV/YAML) merged into the evidence base; repeatable."
    ),
    hypothetical: bool = typer.Option(
        False,
        "--hypothetical",
        help="Show the dated plan even without an indication (not a candidate, or a contraindication); "
        "every entry is then flagged and labelled HYPOTHETICAL.",
    ),
) -> None:
    """Whole chain for one case, every recommendation with its rule and source.

    A dated protocol is shown only for a candidate without contraindication; otherwise the output says
    what would have to change (``--hypothetical`` shows the plan anyway, labelled on every line)."""
    from redif.pathway.assess import assess_case, plan_allowed
    from redif.pathway.case import load_case
    from redif.pathway.protocol import plan_to_ics
    from redif.pathway.report import report_blocks, to_markdown, to_rich

    start = _parse_date(start_date, "--start-date")
    case = load_case(case_file)
    result = assess_case(
        case, start_date=start, protocol=protocol, studies=studies, hypothetical=hypothetical
    )
    doc = result.to_dict()
    if ics is not None:
        allowed, changes = plan_allowed(result)
        if not allowed:
            raise InputError(
                "no protocol to export: no indication for a plan"
                + (" (a hypothetical plan is never exported as a calendar)" if result.hypothetical else ""),
                field="--ics",
                remedy="what would have to change: " + "; ".join(changes),
            )
        if result.protocol is None:
            raise InputError(
                "no protocol to export",
                field="--ics",
                remedy="give --protocol NAME (the case has no candidate regimen)",
            )
        _write(ics, plan_to_ics(result.protocol, case_id=case.case_id), "--ics")
    blocks = report_blocks(doc)
    if markdown is not None:
        _write(markdown, to_markdown(blocks), "--markdown")
    if as_json:
        emit_json(doc)
        return
    for renderable in to_rich(blocks):
        console.print(renderable)


@patient_app.command("protocol")
def protocol_cmd(
    name: str = typer.Argument(..., help="Template name or a template .yaml path."),
    start_date: str | None = typer.Option(None, "--start-date", help="Day 0, YYYY-MM-DD."),
    as_json: JsonOpt = False,
    ics: Path | None = typer.Option(None, "--ics", help="Write the plan as iCalendar (needs --start-date)."),
) -> None:
    """Dated plan from a protocol template (packaged or user-defined)."""
    from rich.table import Table

    from redif.pathway.protocol import get_protocol, plan_to_ics, schedule

    plan = schedule(get_protocol(name), _parse_date(start_date, "--start-date"))
    if ics is not None:
        _write(ics, plan_to_ics(plan), "--ics")
    if as_json:
        emit_json(
            {
                "protocol": plan.protocol,
                "title": plan.title,
                "source": plan.source,
                "grade": plan.grade.value,
                "start_date": plan.start_date,
                "events": plan.table(),
                "decision_rules": list(plan.decision_rules),
                "notes": list(plan.notes),
            }
        )
        return
    t = Table(title=f"{plan.title}\n{plan.source} [grade {plan.grade.value}]", show_lines=False)
    for h in ("day", "date", "event", "source", "grade"):
        t.add_column(h, overflow="fold")
    for row in plan.table():
        t.add_row(str(row["day"]), row["date"] or "—", row["event"], row["source"], row["grade"])
    console.print(t)


@patient_app.command("protocols")
def protocols_cmd(as_json: JsonOpt = False) -> None:
    """List the packaged protocol templates."""
    from redif.pathway.protocol import available_protocols

    rows = [
        {"name": t.name, "title": t.title, "source": t.source, "grade": t.grade.value}
        for t in available_protocols().values()
    ]
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        console.print(f"[bold]{r['name']}[/bold]: {r['title']} ({r['source']}; grade {r['grade']})")


#: Commands that compute nothing (``schema`` prints the JSON Schema itself): no ``--json``.
ACTIONS = frozenset({"schema"})


def register(app: typer.Typer) -> None:
    """Add the `patient` commands to the root application."""
    app.add_typer(patient_app, name="patient")
