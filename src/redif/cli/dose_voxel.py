"""`redif dose voxel` and `redif dose batch` (attached to the `dose` group of :mod:`redif.cli.dose`).

Engine modules (numpy, scipy, matplotlib, pydicom, ...) are imported inside the commands: every ``redif``
start-up imports this module, and importing the engines here would take it from about 0.2 s to 2 s or
more (measured with ``python -X importtime -c "import redif.cli.main"``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich import box
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from redif import DISCLAIMER
from redif.cli._common import JsonOpt, console, emit_json, err_console, parse_float_list, to_jsonable
from redif.cli._flags import field_flags
from redif.data import sourced_value

__all__ = ["lesion_rows", "progress_bar", "register", "registration_lines"]


@contextmanager
def progress_bar(description: str, *, enabled: bool = True) -> Iterator[Callable[[int, int, str], None]]:
    """Yield ``update(done, total, label)`` drawing a transient bar on standard error."""
    if not enabled or not err_console.is_terminal:
        yield lambda done, total, label: None
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[step]}"),
                  TimeElapsedColumn(), console=err_console, transient=True) as bar:
        task = bar.add_task(description, total=None, step="")

        def update(done: int, total: int, label: str) -> None:
            bar.update(task, completed=done, total=total, step=label)

        yield update


_CONTEXT_KEYS = ("dose_refers_to", "activity_gbq", "imaged_nuclide", "dose_nuclide", "method", "tissue",
                 "kernel_voxel_mm", "time_points_h", "outputs", "disclaimer", "heterogeneity")


def lesion_rows(summary: object) -> list[dict[str, object]]:
    """The ``--json`` list: one object per lesion, each carrying what its doses refer to."""
    data = to_jsonable(summary)
    context = {key: data[key] for key in _CONTEXT_KEYS}
    return [{**les, **context} for les in data["lesions"]]


def _fmt(v: object, nd: int = 2) -> str:
    return "-" if v is None else f"{float(v):.{nd}f}"  # type: ignore[arg-type]


@field_flags(volumes="--pet", path="--pet", register="--register",
             reference_time_point="--reference-time-point")
def voxel(
    ctx: typer.Context,
    pet: list[str] = typer.Option(..., "--pet", help="Time-point folders (DICOM) or NIfTI files, in time "
                                  "order: --pet D1 D2 D3 or --pet D1 --pet D2."),
    mask: Path = typer.Option(..., "--mask", help="Lesion mask: DICOM SEG, RTSTRUCT or NIfTI labels."),
    out: Path = typer.Option(..., "--out", help="Dose map to write (NIfTI, Gy)."),
    rtdose: Path | None = typer.Option(None, "--rtdose", help="Also write the dose as DICOM RT Dose."),
    activity_gbq: float | None = typer.Option(None, "--activity-gbq", help="131I activity the doses "
                                              "refer to (124I input: default 1 GBq)."),
    method: str = typer.Option("fit", "--method", help="fit (per-voxel fit) or region (region kinetics "
                               "scaled per voxel)."),
    tissue: str = typer.Option("soft", "--tissue", help="Kernel medium: soft or bone."),
    calibration: float | None = typer.Option(None, "--calibration-bqml-per-count",
                                             help="Needed for Units CNTS."),
    nifti_units: str | None = typer.Option(None, "--nifti-units", help="NIfTI input: Bq/mL, kBq/mL, MBq/mL."),
    times_h: str | None = typer.Option(None, "--times-h", help="NIfTI input: hours after administration."),
    nuclide: str | None = typer.Option(None, "--nuclide", help="NIfTI input: imaged nuclide (I-124/I-131)."),
    injected_mbq: float | None = typer.Option(None, "--injected-mbq", help="NIfTI input: imaged activity."),
    plan_yaml: Path | None = typer.Option(None, "--plan-lesions-yaml", help="Write the lesions block "
                                          "(name, mass_g, tia_h) for `redif dose plan`."),
    dvh_png: Path | None = typer.Option(None, "--dvh-png", help="Write the lesion DVH plot (PNG)."),
    overlay_png: Path | None = typer.Option(None, "--overlay-png", help="Write a dose-map overlay (PNG)."),
    read_workers: int = typer.Option(1, "--read-workers", help="Processes reading the time points "
                                     "(1 is fastest for local files; more can help on network storage)."),
    u_calibration: float = typer.Option(0.0, "--u-calibration", help="Relative standard uncertainty of "
                                        "the calibration factor (fraction; default 0)."),
    u_recovery: float = typer.Option(0.0, "--u-recovery", help="Relative standard uncertainty of the "
                                     "recovery coefficient (fraction; default 0)."),
    u_volume: float = typer.Option(0.0, "--u-volume", help="Relative standard uncertainty of the "
                                   "delineated volume (fraction; default 0)."),
    u_svalue: float = typer.Option(0.0, "--u-svalue", help="Relative standard uncertainty of the dose "
                                   "kernel / S-value (fraction; default 0)."),
    density_ct: Path | None = typer.Option(None, "--density-ct", help="CT folder of the PET/CT: scale the "
                                           "kernel dose by water/local density (lung, bone; see docs)."),
    heterogeneity: str = typer.Option("none", "--heterogeneity", help="none (homogeneous kernel medium) or "
                                      "density (needs --density-ct; implied by it)."),
    uncertainty_mc: int = typer.Option(0, "--uncertainty-mc", help="Also propagate the budget by Monte "
                                       "Carlo (JCGM 101) with N draws (0: no)."),
    register: str | None = typer.Option(None, "--register", help="Register the time points to the "
                                        "reference one: rigid, affine or none (default rigid for more "
                                        "than one time point; mutual information, SimpleITK)."),
    reference_time_point: int = typer.Option(1, "--reference-time-point", help="Time point (1-based, "
                                             "in --pet order) the others are registered to."),
    as_json: JsonOpt = False,
) -> None:
    """Voxel dosimetry: per-voxel TIA, 131I dose by kernel convolution, per-lesion statistics."""
    from redif.cli.dose import budget_inputs
    from redif.dosimetry.voxel_pipeline import VoxelDoseOutput, VoxelDoseSummary
    from redif.workflows.voxel_case import run_voxel_case

    inputs = budget_inputs(u_calibration, u_recovery, u_volume, u_svalue)
    density_ct = _density_ct(heterogeneity, density_ct)
    pets = [*pet, *ctx.args]
    nifti: dict[str, object] | None = None
    if nifti_units or times_h or nuclide:
        nifti = {"units": nifti_units or "", "nuclide": nuclide or "I-124",
                 "times_h": parse_float_list(times_h or "", option="--times-h"),
                 "injected_activity_mbq": injected_mbq}
    plots = dvh_png is not None or overlay_png is not None
    with progress_bar("voxel dosimetry", enabled=not as_json) as update:
        result = run_voxel_case(pets, mask, out=out, rtdose=rtdose, activity_gbq=activity_gbq,
                                method=method, tissue=tissue, calibration_bqml_per_count=calibration,
                                nifti_inputs=nifti, progress=update,
                                read_workers=max(1, read_workers), keep_arrays=plots,
                                density_ct=density_ct, register=register,
                                reference_time_point=reference_time_point)
    if isinstance(result, VoxelDoseOutput):
        _plots(result, dvh_png, overlay_png)
        summary = result.summary
    else:
        summary = result
    assert isinstance(summary, VoxelDoseSummary)
    attach_voxel_budgets(summary, inputs, uncertainty_mc)
    if plan_yaml is not None:
        import yaml

        from redif.dosimetry.voxel_pipeline import plan_lesions

        header = (f"# lesions from redif dose voxel ({summary.dose_refers_to}); "
                  "tia_h = 131I TIA per administered activity, h\n")
        plan_yaml.write_text(header + yaml.safe_dump({"lesions": plan_lesions(summary)}, sort_keys=False),
                             encoding="utf-8")
        summary.outputs["plan_lesions_yaml"] = str(plan_yaml)
    if as_json:
        emit_json({"lesions": lesion_rows(summary), "registration": summary.registration})
        return
    table = Table(title=summary.dose_refers_to + ". Doses in Gy; TIA in MBq·h.", title_justify="left",
                  box=box.SIMPLE_HEAD)
    table.add_column("lesion", no_wrap=True)
    for col in ("mL", "g", "TIA", "mean", "D50", "D90", "max", "Gy/GBq"):
        table.add_column(col, justify="right", no_wrap=True)
    for les in summary.lesions:
        table.add_row(str(les["name"]), _fmt(les["volume_ml"], 1), _fmt(les["mass_g"], 1),
                      _fmt(les["tia_mbq_h"], 1), _fmt(les["mean_gy"], 1), _fmt(les["d50_gy"], 1),
                      _fmt(les["d90_gy"], 1), _fmt(les["max_gy"], 1), _fmt(les["mean_gy_per_gbq"], 2))
    console.print(table)
    console.print(f"method: {summary.method} TIA; kernel: Lanconelli I-131 {summary.tissue} "
                  f"{summary.kernel_voxel_mm} mm"
                  f"{' (TIA resampled conservatively)' if summary.resampled else ''};"
                  f" time points {', '.join(f'{t:g}' for t in summary.time_points_h)} h")
    if summary.heterogeneity:
        ref = summary.heterogeneity["reference_g_per_ml"]
        console.print(f"heterogeneity: kernel dose x rho_water/rho(x) from the CT (rho_water {ref:.4f} g/mL "
                      "at 0 HU; Schneider 2000 curve)")
    for line in registration_lines(summary.registration):
        console.print(line)
    console.print(f"written: {', '.join(summary.outputs.values())}")
    from redif.cli.dose import print_budget

    for les in summary.lesions:
        print_budget(f"Uncertainty budget: lesion {les['name']} (mean, D50, D90 alike; Gear et al. 2018)",
                     les["uncertainty"])  # type: ignore[arg-type]
    console.print(f"[dim]{DISCLAIMER}[/dim]")


def attach_voxel_budgets(summary: object, inputs: object, uncertainty_mc: int) -> None:
    """Give every lesion of a voxel summary its ``uncertainty`` (relative: the same for each of its doses)."""
    from redif.dosimetry.budget import UncertaintyInputs, voxel_lesion_budget
    from redif.dosimetry.voxel_pipeline import VoxelDoseSummary

    assert isinstance(summary, VoxelDoseSummary) and isinstance(inputs, UncertaintyInputs)
    for les in summary.lesions:
        tac = les.get("tac_mbq_imaged")
        budget = voxel_lesion_budget(
            times_h=list(summary.time_points_h), tac_mbq=list(tac) if isinstance(tac, list) else [],
            imaged_nuclide=summary.imaged_nuclide, dose_nuclide=summary.dose_nuclide,
            dose_per_activity_gy_per_gbq=float(les["mean_gy_per_gbq"]),  # type: ignore[arg-type]
            tia_h=float(les["tia_h"] or 0.0),  # type: ignore[arg-type]
            mass_g=float(les["mass_g"]), inputs=inputs,  # type: ignore[arg-type]
            monte_carlo_samples=uncertainty_mc)
        les["uncertainty"] = budget.to_dict()


def _density_ct(heterogeneity: str, density_ct: Path | None) -> Path | None:
    """The CT folder to density-scale with, or ``None`` (homogeneous); checks the two options agree."""
    from redif.dosimetry.heterogeneity import Heterogeneity
    from redif.errors import InputError

    try:
        het = Heterogeneity(heterogeneity)
    except ValueError:
        raise InputError("unknown heterogeneity", field="heterogeneity", value=heterogeneity,
                         remedy="use none or density") from None
    if het is Heterogeneity.DENSITY and density_ct is None:
        raise InputError("density scaling needs the CT", field="density_ct",
                         remedy="give --density-ct CTDIR (the CT series of the PET/CT)")
    return density_ct  # --density-ct alone implies density scaling
def registration_lines(registration: list[dict[str, object]]) -> list[str]:
    """One line per time point: its transform to the reference time point (issue 14)."""
    lines = []
    for r in registration:
        t = r.get("time_point")
        when = f"{float(t):g} h" if isinstance(t, int | float) else f"#{r.get('index')}"
        if r.get("reference"):
            lines.append(f"registration: {when} is the reference time point")
        elif r.get("kind") == "none":
            lines.append(f"registration: {when} not registered (--register none)")
        else:
            x, y, z = (float(v) for v in r["translation_mm"])  # type: ignore[attr-defined]
            lines.append(f"registration ({r['kind']}): {when} translation x {x:+.2f}, y {y:+.2f}, "
                         f"z {z:+.2f} mm, rotation {float(r['rotation_deg']):.2f} deg, "  # type: ignore[arg-type]
                         f"Mattes MI {float(r['metric']):.3f}")  # type: ignore[arg-type]
    return lines


def _plots(result: object, dvh_png: Path | None, overlay_png: Path | None) -> None:
    from redif.dosimetry.voxel_pipeline import VoxelDoseOutput
    from redif.dosimetry.voxel_plots import dose_overlay_figure, dvh_figure, lesion_dvhs

    assert isinstance(result, VoxelDoseOutput) and result.labels is not None
    names = {les.label: les.name for les in result.lesions}
    title = result.summary.dose_refers_to
    if dvh_png is not None:
        target = sourced_value("dosimetry_thresholds.yaml", "lesion_target_dose")
        fig = dvh_figure(lesion_dvhs(result.dose_gy, result.labels, names), title=title,
                         reference_gy=float(target.value),
                         reference_label=f"{float(target.value):g} Gy lesion target (Ho 2013)")
        fig.savefig(dvh_png)
        result.summary.outputs["dvh_png"] = str(dvh_png)
    if overlay_png is not None:
        fig = dose_overlay_figure(result.tia_mbq_h, result.dose_gy, result.labels,
                                  result.spacing_mm or (1.0, 1.0, 1.0), title=title)
        fig.savefig(overlay_png)
        result.summary.outputs["overlay_png"] = str(overlay_png)


def batch(
    manifest: Path = typer.Argument(..., help="CSV: case_id, pet (';'-separated), mask, activity_gbq, "
                                    "method, tissue, out."),
    executor: str = typer.Option("sequential", "--executor", help="sequential, process or dask."),
    workers: int | None = typer.Option(None, "--workers", help="Worker processes (process/dask)."),
    scheduler: str | None = typer.Option(None, "--scheduler", help="Dask scheduler address (optional)."),
    out_dir: Path | None = typer.Option(None, "--out-dir", help="Folder for <case_id>_dose.nii.gz."),
    as_json: JsonOpt = False,
) -> None:
    """Run many voxel-dosimetry cases; failed cases are reported, not fatal."""
    from redif.workflows.voxel_batch import read_manifest, run_batch

    cases = read_manifest(manifest, out_dir=out_dir)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    with progress_bar("cases", enabled=not as_json) as update:
        results = run_batch(cases, executor=executor, workers=workers, scheduler=scheduler, progress=update)
    n_failed = sum(not r.ok for r in results)
    if as_json:
        emit_json({"executor": executor, "n_cases": len(results), "n_ok": len(results) - n_failed,
                   "n_failed": n_failed, "cases": to_jsonable(results), "disclaimer": DISCLAIMER})
        return
    table = Table(title=f"{len(results)} cases, {n_failed} failed ({executor})", title_justify="left")
    for col in ("case", "status", "lesions", "highest mean Gy", "dose refers to / error"):
        table.add_column(col)
    for r in results:
        if r.ok and r.result is not None:
            les = r.result["lesions"]
            top = max((float(x["mean_gy"]) for x in les), default=float("nan"))
            table.add_row(r.case_id, "ok", str(len(les)), f"{top:.2f}", str(r.result["dose_refers_to"]))
        else:
            table.add_row(r.case_id, "[red]failed[/red]", "-", "-", str(r.error))
    console.print(table)
    console.print(f"[dim]{DISCLAIMER}[/dim]")


def register(app: typer.Typer) -> None:
    """Attach the voxel commands to :data:`redif.cli.dose.dose_app`."""
    from redif.cli.dose import dose_app

    dose_app.command("voxel", context_settings={"allow_extra_args": True})(voxel)
    dose_app.command("batch")(batch)
