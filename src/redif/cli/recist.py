"""`redif recist` commands: best overall response, time-point response, waterfall plot.

Thin: read the file, call :mod:`redif.response`, render (rich table or ``--json``).
"""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import typer
from rich import box
from rich.table import Table

from redif import DISCLAIMER
from redif.cli._common import console, emit_json
from redif.errors import InputError

recist_app = typer.Typer(
    help="RECIST 1.1: time-point response, best overall response, waterfall.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    """Add the `recist` commands to the root application."""
    app.add_typer(recist_app, name="recist")


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError("file not found", field="FILE", value=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read file: {exc}", field="FILE", value=str(path)) from None


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str | None]]]:
    """Header and rows of a CSV file (errors as :class:`InputError`)."""
    text = _read_text(path)
    reader = csv.DictReader(text.splitlines())
    if reader.fieldnames is None:
        raise InputError("empty CSV file (no header)", field="FILE", value=str(path))
    rows: list[dict[str, str | None]] = [dict(r) for r in reader]
    return list(reader.fieldnames), rows


def _read_case_json(path: Path) -> Any:
    """Read a RECIST case: JSON (numbers kept as exact decimals) or, for .yaml/.yml, YAML."""
    if path.suffix.lower() in {".yaml", ".yml"}:
        from redif.io.yaml_doc import MAX_FILE_BYTES, load_document

        try:
            return load_document(_read_text(path), field=str(path), max_bytes=MAX_FILE_BYTES,
                                 dates_as_text=False)
        except InputError as exc:
            raise InputError(f"invalid YAML ({exc.message})", field="FILE", value=str(path),
                             remedy=exc.remedy) from None
    try:
        return json.loads(_read_text(path), parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}", field="FILE", value=str(path)
        ) from None


@recist_app.command("bor")
def bor_cmd(
    file: Path = typer.Argument(
        ..., help="CSV with columns subject,treatment_start,date,response [,pd_date]."
    ),
    confirm: bool = typer.Option(False, "--confirm", help="Require confirmation of CR/PR."),
    confirm_days: int | None = typer.Option(
        None,
        "--confirm-days",
        help="Minimum days to the confirming assessment (default 28, data/recist.yaml).",
    ),
    start_window_days: int | None = typer.Option(
        None,
        "--start-window-days",
        help="SD counts only this many days after treatment start (default 28, data/recist.yaml).",
    ),
    max_ne: int | None = typer.Option(
        None,
        "--max-ne",
        help="NE assessments allowed between a response and its confirmation (default 1, data/recist.yaml).",
    ),
    accept_sd: bool = typer.Option(
        False, "--accept-sd", help="Accept one SD between a PR and its confirmation."
    ),
    missing_as_ne: bool = typer.Option(
        False, "--missing-as-ne", help="Subjects without assessment: NE, not MISSING."
    ),
    stop_at_pd: bool = typer.Option(False, "--stop-at-pd", help="Ignore assessments after the first PD."),
    as_json: bool = typer.Option(False, "--json", help='JSON output: {"subjects": [{subject, bor, date}]}.'),
) -> None:
    """Best overall response per subject (admiralonco semantics; see docs/response.md)."""
    from redif.response.bor import BorParameters, best_overall_responses
    from redif.response.tables import subjects_from_rows

    kwargs: dict[str, Any] = {
        "confirm": confirm,
        "accept_sd": accept_sd,
        "missing_as_ne": missing_as_ne,
        "stop_at_pd": stop_at_pd,
    }
    for name, value in (
        ("confirm_days", confirm_days),
        ("start_window_days", start_window_days),
        ("max_ne", max_ne),
    ):
        if value is not None:
            kwargs[name] = value
    params = BorParameters(**kwargs)
    columns, rows = read_csv(file)
    subjects = subjects_from_rows(rows, columns)
    results = best_overall_responses(subjects, params)
    if as_json:
        emit_json(
            {
                "subjects": [r.to_dict() for r in results],
                "parameters": {
                    "confirm": params.confirm,
                    "confirm_days": params.confirm_days,
                    "start_window_days": params.start_window_days,
                    "max_ne": params.max_ne,
                    "accept_sd": params.accept_sd,
                    "missing_as_ne": params.missing_as_ne,
                    "stop_at_pd": params.stop_at_pd,
                },
                "disclaimer": DISCLAIMER,
            }
        )
        return
    title = "Confirmed best overall response" if confirm else "Best overall response (unconfirmed)"
    table = Table(title=title)
    for col in ("subject", "BOR", "date", "why"):
        table.add_column(col)
    for r in results:
        table.add_row(r.subject, r.bor.label, "" if r.date is None else r.date.isoformat(), r.reason)
    console.print(table)
    console.print(
        f"confirm-days {params.confirm_days}, start-window-days {params.start_window_days}, "
        f"max-ne {params.max_ne}, "
        f"accept-sd {params.accept_sd} (RECIST 1.1 §4.4-4.6; admiralonco semantics)",
        style="dim",
    )
    console.print(DISCLAIMER, style="italic")


@recist_app.command("timepoint")
def timepoint_cmd(
    file: Path = typer.Argument(
        ..., help="JSON (or YAML) case: lesions, baseline, follow_up (see docs/response.md)."
    ),
    as_json: bool = typer.Option(False, "--json", help="JSON output."),
    plot: Path | None = typer.Option(None, "--plot", help="Write a sum-of-diameters plot (.png/.svg/.pdf)."),
    keep_pr: str = typer.Option(
        "off",
        "--keep-pr",
        help="Keep a target PR when later sums are SD by the numbers: off, after-pr, after-confirmed-pr "
        "(EORTC RECIST FAQ).",
    ),
) -> None:
    """RECIST 1.1 response at each time point from lesion measurements."""
    from redif.response.recist import KeepPr, assess, case_from_dict

    try:
        keep = KeepPr(keep_pr.strip().lower())
    except ValueError:
        raise InputError(
            "unknown value",
            field="--keep-pr",
            value=keep_pr,
            remedy="use off, after-pr or after-confirmed-pr",
        ) from None
    result = assess(case_from_dict(_read_case_json(file)), keep_pr=keep)
    if plot is not None:
        from redif.response.plots import save, sum_of_diameters_figure

        save(sum_of_diameters_figure(result), plot)
    if as_json:
        out = result.to_dict()
        out["disclaimer"] = DISCLAIMER
        emit_json(out)
        return
    for f in result.findings:
        console.print(f"[yellow]finding[/yellow] {f.message} ({f.source})")
    table = Table(
        title=f"RECIST 1.1 time points{' - ' + result.subject if result.subject else ''}",
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
        collapse_padding=True,
        pad_edge=False,
    )
    for col in ("date", "target", "non-target", "new", "overall", "sum mm", "vs base", "nadir", "vs nadir"):
        table.add_column(col, no_wrap=True)
    table.add_row(
        result.baseline_date.isoformat(), "baseline", "", "", "", f"{result.baseline_sum_mm}", "", "", ""
    )
    notes: list[str] = []
    for t in result.timepoints:
        d = t.to_dict()
        table.add_row(
            d["date"],
            d["target"],
            d["non_target"],
            d["new_lesions"],
            f"[bold]{d['overall']}[/bold]",
            "" if t.sum_mm is None else str(t.sum_mm),
            "" if d["change_from_baseline_pct"] is None else f"{d['change_from_baseline_pct']:+.1f}%",
            "" if t.nadir_mm is None else str(t.nadir_mm),
            "" if d["change_from_nadir_pct"] is None else f"{d['change_from_nadir_pct']:+.1f}%",
        )
        notes.extend(f"{d['date']}: {n}" for n in t.notes)
    console.print(table)
    for note in notes:
        console.print(f"note {note}")
    for label, best in (("unconfirmed", result.best_response), ("confirmed", result.best_response_confirmed)):
        if best is not None:
            console.print(
                f"best overall response ({label}): [bold]{best.bor.label}[/bold] "
                f"{'' if best.date is None else best.date.isoformat()} - {best.reason}"
            )
    console.print(
        "Rules: RECIST 1.1 (Eisenhauer 2009) §4.3, Tables 1-2; thresholds in data/recist.yaml.", style="dim"
    )
    console.print(DISCLAIMER, style="italic")


@recist_app.command("waterfall")
def waterfall_cmd(
    files: list[Path] = typer.Argument(..., help="JSON cases (one per subject)."),
    out: Path = typer.Option(..., "--out", help="Plot file (.png/.svg/.pdf)."),
    as_json: bool = typer.Option(False, "--json", help="JSON output of the plotted values."),
) -> None:
    """Waterfall plot of the best % change of the sum of diameters, one bar per case."""
    from redif.response.plots import save, waterfall_figure
    from redif.response.recist import assess, case_from_dict

    labels: list[str] = []
    changes: list[float] = []
    responses: list[str] = []
    for path in files:
        result = assess(case_from_dict(_read_case_json(path)))
        best = result.best_change_from_baseline_pct
        if best is None:
            continue
        labels.append(result.subject or path.stem)
        changes.append(float(best))
        responses.append(result.waterfall_response.label)
    save(waterfall_figure(labels, changes, responses), out)
    if as_json:
        emit_json(
            {
                "subjects": [
                    {"subject": s, "best_change_from_baseline_pct": round(c, 2), "bor": r}
                    for s, c, r in zip(labels, changes, responses, strict=True)
                ],
                "plot": str(out),
            }
        )
    else:
        console.print(f"wrote {out} ({len(labels)} subjects)")
