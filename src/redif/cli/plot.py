"""`redif plot` commands: cohort swimmer and waterfall plots of an analysis dataset (issue 16).

Thin: read the CSV of ``redif registry export --format analysis`` (contract in docs/analysis-dataset.md),
build the figure data with :mod:`redif.response.cohort`, draw it with
:mod:`redif.response.timeline_plot` and write SVG or PNG. ``--json`` prints the figure data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from redif.cli._common import JsonOpt, console, emit_json
from redif.cli._flags import field_flags
from redif.errors import InputError
from redif.io.figures import check_plot_path, plot_format, write_plot

__all__ = ["register"]

plot_app = typer.Typer(help="Cohort figures of an analysis dataset: swimmer and waterfall plots.",
                       no_args_is_help=True)

_COLOUR_HELP = "Colour the patients by genotype, site or uptake_restored."


def register(app: typer.Typer) -> None:
    """Add the `plot` commands to the root application."""
    app.add_typer(plot_app, name="plot")


def _split(values: list[str] | None) -> list[str]:
    return [v.strip() for x in values or [] for v in x.split(",") if v.strip()]


def _read(file: Path) -> list[dict[str, str]]:
    from redif.response.cohort import parse_cohort_csv

    if not file.is_file():
        raise InputError("file not found", field="file", value=str(file),
                         remedy="give the CSV written by `redif registry export --format analysis`")
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError("the file is not UTF-8 text", field="file", value=str(file),
                         remedy="give the CSV written by `redif registry export --format analysis`") from None
    return parse_cohort_csv(text, name=file.name)


def _run(kind: str, file: Path, out: Path | None, colour_by: str, genotype: list[str] | None,
         site: list[str] | None, as_json: bool) -> None:
    from redif.response.cohort import swimmer_data, waterfall_data
    from redif.response.timeline_plot import figure_png, figure_svg, swimmer_figure, waterfall_figure

    if out is not None:
        check_plot_path(out, field="out")
    rows = _read(file)
    build = swimmer_data if kind == "swimmer" else waterfall_data
    data = build(rows, colour_by=colour_by, genotypes=_split(genotype), sites=_split(site))
    if not data.lanes:
        raise InputError(f"no patient to draw in {file.name}", field="file", value=str(file),
                         remedy="check the --genotype/--site filters and the file's day columns")
    result: dict[str, Any] = data.to_dict()
    if out is not None:
        fig = (swimmer_figure if kind == "swimmer" else waterfall_figure)(data)
        write_plot(figure_svg(fig) if plot_format(out) == "svg" else figure_png(fig), out, field="out")
        result["out"] = str(out)
    if as_json:
        emit_json(result)
        return
    console.print(f"{kind} plot: {len(data.lanes)} patients coloured by {colour_by}, "
                  f"{len(data.left_out)} left out")
    for lo in data.left_out:
        console.print(f"  left out {lo['patient']}: {lo['reason']}")
    if out is not None:
        console.print(f"written to {out}")


@plot_app.command("swimmer")
@field_flags(colour_by="--colour-by", genotypes="--genotype", sites="--site", rows="FILE")
def swimmer_cmd(
    file: Path = typer.Argument(..., help="Analysis dataset CSV (redif registry export --format analysis)."),
    out: Path | None = typer.Option(None, "--out", help="Write the plot (.svg or .png)."),
    colour_by: str = typer.Option("genotype", "--colour-by", help=_COLOUR_HELP),
    genotype: list[str] | None = typer.Option(None, "--genotype", help="Keep only these genotype labels."),
    site: list[str] | None = typer.Option(None, "--site", help="Keep only these site codes."),
    as_json: JsonOpt = False,
) -> None:
    """Swimmer plot: one lane per patient from the first drug start (drug, 131I, response, progression)."""
    _run("swimmer", file, out, colour_by, genotype, site, as_json)


@plot_app.command("waterfall")
@field_flags(colour_by="--colour-by", genotypes="--genotype", sites="--site", rows="FILE")
def waterfall_cmd(
    file: Path = typer.Argument(..., help="Analysis dataset CSV (redif registry export --format analysis)."),
    out: Path | None = typer.Option(None, "--out", help="Write the plot (.svg or .png)."),
    colour_by: str = typer.Option("genotype", "--colour-by", help=_COLOUR_HELP),
    genotype: list[str] | None = typer.Option(None, "--genotype", help="Keep only these genotype labels."),
    site: list[str] | None = typer.Option(None, "--site", help="Keep only these site codes."),
    as_json: JsonOpt = False,
) -> None:
    """Waterfall plot: best percentage change of the sum of target diameters per patient."""
    _run("waterfall", file, out, colour_by, genotype, site, as_json)


@plot_app.command("timeline")
def timeline_cmd(
    file: Path = typer.Argument(..., help="A patient as JSON: the answer of GET /api/v1/patients/{id} "
                                          "(the patient with its records)."),
    out: Path | None = typer.Option(None, "--out", help="Write the timeline (.svg or .png)."),
    as_json: JsonOpt = False,
) -> None:
    """Patient timeline: drug courses, TSH stimulation, scans, 131I, RECIST responses, Tg/TgAb (the figure
    of the patient page and the PDF report)."""
    import json

    from redif.response.timeline import patient_timeline
    from redif.response.timeline_plot import figure_png, figure_svg, timeline_figure

    if out is not None:
        check_plot_path(out, field="out")
    if not file.is_file():
        raise InputError("file not found", field="file", value=str(file),
                         remedy="save a patient with GET /api/v1/patients/{id}")
    try:
        patient = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"not a JSON file ({exc})", field="file", value=str(file),
                         remedy="save a patient with GET /api/v1/patients/{id}") from None
    if not isinstance(patient, dict) or not isinstance(patient.get("records"), dict):
        raise InputError("the JSON is not a patient with records", field="file", value=str(file),
                         remedy="save a patient with GET /api/v1/patients/{id}")
    tl = patient_timeline(patient)
    result: dict[str, Any] = tl.to_dict()
    if out is not None:
        if not tl.marks:
            raise InputError("nothing to draw: no dated record", field="file", value=str(file))
        fig = timeline_figure(tl)
        write_plot(figure_svg(fig, prefix="tl-") if plot_format(out) == "svg" else figure_png(fig), out,
                   field="out")
        result["out"] = str(out)
    if as_json:
        emit_json(result)
        return
    console.print(f"timeline of {tl.subject}: {len(tl.marks)} marks from {tl.start} to {tl.end}")
    for p in tl.problems:
        console.print(f"  not drawn: {p}")
    if out is not None:
        console.print(f"written to {out}")
