"""`redif tg` commands: thyroglobulin doubling time."""

from __future__ import annotations

from pathlib import Path

import typer

from redif import DISCLAIMER
from redif.cli._common import JsonOpt, console, emit_json
from redif.cli.recist import read_csv
from redif.errors import InputError

tg_app = typer.Typer(
    help="Thyroglobulin kinetics: doubling time, doubling rate, % change.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    """Add the `tg` commands to the root application."""
    app.add_typer(tg_app, name="tg")


@tg_app.command("doubling-time")
def doubling_time_cmd(
    file: Path = typer.Argument(..., help="CSV with columns date,tg (ng/mL) and optionally tgab, tsh_state."),
    as_json: JsonOpt = False,
    plot: Path | None = typer.Option(
        None, "--plot", help="Write Tg on a log axis with the fit (.png/.svg/.pdf)."
    ),
    tgab_cutoff: float | None = typer.Option(
        None,
        "--tgab-cutoff",
        help="Positivity cut-off of the TgAb assay (IU/mL) when tgab holds numeric titres.",
    ),
    tsh_state: str | None = typer.Option(
        None, "--tsh-state", help="Fit only samples in this TSH state (suppressed or stimulated)."
    ),
) -> None:
    """Tg doubling time by least squares of ln(Tg) on time (Miyauchi 2011)."""
    from redif.response.thyroglobulin import TshState, doubling_time, measurements_from_rows

    state = None
    if tsh_state is not None:
        try:
            state = TshState(tsh_state.strip().lower())
        except ValueError:
            raise InputError(
                "unknown TSH state",
                field="--tsh-state",
                value=tsh_state,
                remedy="use suppressed or stimulated",
            ) from None
    columns, rows = read_csv(file)
    if tgab_cutoff is not None and not tgab_cutoff > 0:
        raise InputError("must be > 0", field="--tgab-cutoff", value=tgab_cutoff)
    kin = doubling_time(measurements_from_rows(rows, columns, tgab_cutoff=tgab_cutoff), tsh_state=state)
    if plot is not None:
        from redif.response.plots import save, tg_figure

        save(tg_figure(kin), plot)
    if as_json:
        out = kin.to_dict()
        out["method"] = "OLS of ln(Tg) on time; DT = ln 2 / slope (Miyauchi et al., Thyroid 2011;21:707-716)"
        out["disclaimer"] = DISCLAIMER
        emit_json(out)
        return
    if kin.doubling_time_days is None:
        console.print("doubling time: undefined (slope 0)")
    else:
        console.print(
            f"doubling time: [bold]{kin.doubling_time_days:.1f} days[/bold] "
            f"({kin.doubling_time_years:.3f} years)"
        )
    console.print(
        f"doubling rate: {kin.doubling_rate_per_year:.3f} per year; slope of ln Tg "
        f"{kin.slope_per_year:.4f} per year"
    )
    r2 = "n/a" if kin.r2 is None else f"{kin.r2:.4f}"
    console.print(
        f"fit: n = {kin.n}, span {kin.span_days} days ({kin.first_date} to {kin.last_date}), r2 = {r2}"
    )
    if kin.slope_ci95_per_year is not None:
        lo, hi = kin.doubling_rate_ci95_per_year or (0.0, 0.0)
        console.print(f"doubling rate 95% CI: {lo:.3f} to {hi:.3f} per year")
    console.print(f"change from first sample: {kin.percent_change_from_baseline:+.1f}%")
    for flag, note in zip(kin.flags, kin.notes, strict=True):
        console.print(f"[yellow]flag {flag}[/yellow]: {note}")
    console.print(
        "Method: least squares of ln(Tg) on time, DT = ln 2 / slope (Miyauchi et al., Thyroid "
        "2011;21:707-716).",
        style="dim",
    )
    console.print(DISCLAIMER, style="italic")
