"""`redif dose verify`: predicted (124I) against delivered (131I SPECT) lesion doses, Bland-Altman.

Attached to the `dose` group of :mod:`redif.cli.dose`. Engine modules are imported inside the command
(start-up time, see :mod:`redif.cli.dose_voxel`).
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich import box
from rich.table import Table

from redif import DISCLAIMER
from redif.cli._common import JsonOpt, console, emit_json, to_jsonable
from redif.cli._flags import field_flags
from redif.cli.dose_voxel import progress_bar

__all__ = ["register", "verify"]


def _f(v: object, nd: int = 2) -> str:
    return "-" if v is None else f"{float(v):.{nd}f}"  # type: ignore[arg-type]


@field_flags(volumes="--spect")
def verify(
    ctx: typer.Context,
    predicted: Path = typer.Option(..., "--predicted", help="`redif dose voxel --json` (or `dose lesion "
                                   "--json`) output of the 124I prediction."),
    spect: list[str] = typer.Option(..., "--spect", help="Post-therapy 131I SPECT time points (NM file or "
                                    "folder each), in time order: --spect A B or --spect A --spect B."),
    mask: Path = typer.Option(..., "--mask", help="Lesion mask on the SPECT grid (SEG, RTSTRUCT, NIfTI)."),
    calibration_cps_per_mbq: float | None = typer.Option(
        None, "--calibration-cps-per-mbq", help="System calibration factor for SPECT in counts, cps/MBq."),
    dead_time_us: float | None = typer.Option(None, "--dead-time-us", help="Effective dead time, us "
                                              "(counts input; default: no dead-time correction)."),
    dead_time_model: str | None = typer.Option(None, "--dead-time-model", help="paralysable (default) or "
                                               "non-paralysable."),
    acquisition_duration_s: float | None = typer.Option(
        None, "--acquisition-duration-s", help="Counts input: acquisition duration, s (default: from the "
        "Rotation Information Sequence)."),
    energy_window: int | None = typer.Option(None, "--energy-window", help="Energy window (1-based) of an "
                                             "image holding several."),
    activity_gbq: float | None = typer.Option(None, "--activity-gbq", help="Administered 131I, GBq (default: "
                                              "RadionuclideTotalDose of the SPECT)."),
    u_predicted: float | None = typer.Option(None, "--u-predicted", help="Relative standard uncertainty "
                                             "of the predicted doses (overrides the one the "
                                             "prediction file states)."),
    u_delivered: float | None = typer.Option(None, "--u-delivered", help="Relative standard uncertainty "
                                             "of the delivered doses."),
    method: str = typer.Option("fit", "--method", help="TIA method of the SPECT time points: fit or region."),
    tissue: str = typer.Option("soft", "--tissue", help="Kernel medium: soft or bone."),
    effective_half_life_h: float | None = typer.Option(
        None, "--effective-half-life-h", help="One SPECT time point: Madsen 2018 with this T_eff "
        "(default Hänscheid 2018)."),
    as_json: JsonOpt = False,
) -> None:
    """Compare predicted with delivered lesion doses: ratio, its uncertainty, Bland-Altman statistics."""
    from redif.workflows.post_therapy import run_verification

    paths = [*spect, *ctx.args]
    with progress_bar("verification", enabled=not as_json) as update:
        update(0, 1, "reading SPECT")
        report, _ = run_verification(
            predicted, paths, mask, calibration_cps_per_mbq=calibration_cps_per_mbq,
            dead_time_us=dead_time_us, dead_time_model=dead_time_model,
            acquisition_duration_s=acquisition_duration_s, energy_window=energy_window,
            activity_gbq=activity_gbq, u_predicted=u_predicted, u_delivered=u_delivered, method=method,
            tissue=tissue, effective_half_life_h=effective_half_life_h)
    if as_json:
        emit_json(report)
        return
    table = Table(title=f"Predicted (124I) vs delivered (131I SPECT) mean lesion dose, "
                  f"{report.administered_gbq:g} GBq 131I. Doses in Gy.", title_justify="left",
                  box=box.SIMPLE_HEAD)
    table.add_column("lesion", no_wrap=True)
    for col in ("predicted", "delivered", "ratio", "u(ratio)", "95% interval"):
        table.add_column(col, justify="right", no_wrap=True)
    for row in report.lesions:
        lo, hi = row["ratio_ci95_lower"], row["ratio_ci95_upper"]
        table.add_row(str(row["name"]), _f(row["predicted_gy"], 1), _f(row["delivered_gy"], 1),
                      _f(row["ratio"], 3), _f(row["u_ratio"], 3),
                      "-" if lo is None else f"{_f(lo, 3)}-{_f(hi, 3)}")
    console.print(table)
    ba = to_jsonable(report.bland_altman)
    if ba:
        console.print(f"Bland-Altman on ln(delivered/predicted), n = {ba['n']}: geometric-mean ratio "
                      f"{ba['ratio_geometric_mean']:.3f}, 95% limits of agreement "
                      f"{ba['ratio_loa_lower']:.3f}-{ba['ratio_loa_upper']:.3f} (Bland & Altman 1986)")
    console.print(f"delivered: {report.delivered_method}")
    for note in report.notes:
        console.print(f"note: {note}")
    console.print(f"[dim]{DISCLAIMER}[/dim]")


def register(app: typer.Typer) -> None:
    """Attach `redif dose verify` to :data:`redif.cli.dose.dose_app`."""
    from redif.cli.dose import dose_app

    dose_app.command("verify", context_settings={"allow_extra_args": True})(verify)
