"""`redif phantom`: write the synthetic multi-time-point 124I PET phantom (DICOM + truth.json).

Engine modules (numpy, scipy, matplotlib, pydicom, ...) are imported inside the commands: every ``redif``
start-up imports this module, and importing the engines here would take it from about 0.2 s to 2 s or
more (measured with ``python -X importtime -c "import redif.cli.main"``).
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from redif.cli._common import JsonOpt, console, emit_json, parse_float_list
from redif.cli._flags import field_flags
from redif.cli.dose_voxel import progress_bar
from redif.errors import InputError

__all__ = ["phantom", "register"]


@field_flags(times_h="--spect-time-points-h", administered_mbq="--spect-activity-gbq",
             lesion_uptake_factor="--spect-uptake-factor")
def phantom(
    outdir: Path = typer.Argument(..., help="Folder to write (created)."),
    seed: int = typer.Option(0, "--seed", help="Noise seed."),
    time_points_h: str = typer.Option("4,24,48,96", "--time-points-h", help="Scan times, h after injection."),
    shape: str = typer.Option("96,96,100", "--shape", help="columns,rows,slices (e.g. 192,192,300)."),
    voxel_mm: float = typer.Option(4.0, "--voxel-mm", help="Cubic voxel edge, mm."),
    noise_cv: float = typer.Option(0.0, "--noise-cv", help="Noise CV at the background level (0 = none)."),
    fwhm_mm: float = typer.Option(0.0, "--fwhm-mm", help="Gaussian blur FWHM, mm (0 = none)."),
    activity_mbq: float = typer.Option(37.0, "--activity-mbq", help="Injected 124I activity, MBq."),
    decay_correction: str = typer.Option("START", "--decay-correction", help="START or ADMIN."),
    no_ct: bool = typer.Option(False, "--no-ct", help="Skip the CT series."),
    spect: bool = typer.Option(False, "--spect", help="Also write post-therapy 131I SPECT (NM multi-frame, "
                               "Bq/mL and a counts variant) and spect_truth.json."),
    spect_time_points_h: str = typer.Option("24,72,144", "--spect-time-points-h",
                                            help="SPECT scan times, h after the 131I administration."),
    spect_activity_gbq: float = typer.Option(5.5, "--spect-activity-gbq", help="Administered 131I, GBq."),
    spect_uptake_factor: float = typer.Option(1.0, "--spect-uptake-factor",
                                              help="Lesion 131I uptake / uptake predicted from 124I."),
    motion_mm: str | None = typer.Option(None, "--motion-mm", help="X,Y,Z: shift (LPS mm) of every time "
                                         "point after the first (truth unchanged)."),
    rotation_deg: str | None = typer.Option(None, "--rotation-deg", help="X,Y,Z: rotation (deg) about "
                                            "the LPS axes through the FOV centre, with --motion-mm."),
    as_json: JsonOpt = False,
) -> None:
    """Write a realistic synthetic 124I PET study (PET per time point, CT, SEG) with analytic truth."""
    from redif.dosimetry.phantoms import PhantomSpec, make_phantom
    from redif.io.volume import DecayCorrection
    from redif.workflows.phantom_files import write_phantom

    dims = [int(v) for v in parse_float_list(shape, option="--shape")]
    if len(dims) != 3:
        raise InputError("shape needs three numbers", field="--shape", value=shape, remedy="e.g. 96,96,100")
    if decay_correction.upper() not in ("START", "ADMIN"):
        raise InputError("unknown decay correction", field="--decay-correction", value=decay_correction,
                         remedy="use START or ADMIN")
    if voxel_mm <= 0 or noise_cv < 0 or fwhm_mm < 0 or activity_mbq <= 0:
        raise InputError("voxel size and activity must be positive, noise and blur non-negative",
                         field="--voxel-mm/--noise-cv/--fwhm-mm/--activity-mbq")
    motion = _triple(motion_mm, "--motion-mm")
    rotation = _triple(rotation_deg, "--rotation-deg")
    spec = PhantomSpec(shape=(dims[2], dims[1], dims[0]), voxel_mm=voxel_mm,
                       time_points_h=tuple(parse_float_list(time_points_h, option="--time-points-h")),
                       injected_activity_mbq=activity_mbq, noise_cv=noise_cv, fwhm_mm=fwhm_mm, seed=seed,
                       motion_mm=motion, rotation_deg=rotation)
    ph = make_phantom(spec)
    with progress_bar("writing phantom", enabled=not as_json) as update:
        files = write_phantom(ph, outdir, decay_correction=DecayCorrection(decay_correction.upper()),
                              with_ct=not no_ct, progress=update)
    payload = {"outdir": str(outdir), "pet": [str(p) for p in files.pet_dirs],
               "ct": str(files.ct_dir) if files.ct_dir else None, "seg": str(files.seg_path),
               "truth": str(files.truth_path), "lesions": ph.truth["lesions"]}
    if spect:
        from redif.dosimetry.phantoms import make_spect_frames
        from redif.workflows.phantom_files import write_spect_files

        frames = make_spect_frames(
            ph, tuple(parse_float_list(spect_time_points_h, option="--spect-time-points-h")),
            administered_mbq=spect_activity_gbq * 1000.0, lesion_uptake_factor=spect_uptake_factor)
        sfiles = write_spect_files(ph, frames, outdir)
        payload["spect"] = [str(p.parent) for p in sfiles.spect]
        payload["spect_counts"] = [str(p.parent) for p in sfiles.spect_counts]
        payload["spect_truth"] = str(sfiles.truth_path)
    if as_json:
        emit_json(payload)
        return
    table = Table(title=f"synthetic 124I phantom in {outdir} (truth.json)", title_justify="left")
    for col in ("lesion", "volume mL", "T½eff 124I h", "TIA 124I MBq·h", "TIA 131I MBq·h (same MBq)"):
        table.add_column(col)
    for les in ph.truth["lesions"]:  # type: ignore[attr-defined]
        table.add_row(les["name"], f"{les['volume_ml']:.2f}", f"{les['effective_half_life_h_i124']:g}",
                      f"{les['tia_mbq_h_i124']:.3f}", f"{les['tia_mbq_h_i131_same_activity']:.3f}")
    console.print(table)
    console.print("PET: " + " ".join(p.name for p in files.pet_dirs) + f"; SEG: {files.seg_path.name}")
    if spect:
        console.print("131I SPECT: " + " ".join(Path(p).name for p in payload["spect"])  # type: ignore[attr-defined]
                      + "; counts: " + " ".join(Path(p).name for p in payload["spect_counts"])  # type: ignore[attr-defined]
                      + " (spect_truth.json)")
    if any(motion) or any(rotation):
        console.print(f"motion after the first time point: shift {motion} mm, rotation {rotation} deg "
                      "(truth.json unchanged)")


def _triple(text: str | None, option: str) -> tuple[float, float, float]:
    """Parse ``X,Y,Z`` (issue 14 motion options); ``None`` is no motion."""
    if text is None:
        return (0.0, 0.0, 0.0)
    vals = parse_float_list(text, option=option)
    if len(vals) != 3:
        raise InputError("needs three numbers X,Y,Z", field=option, value=text, remedy="e.g. 6,-4,10")
    return (vals[0], vals[1], vals[2])


def register(app: typer.Typer) -> None:
    """Add `redif phantom` to the root application."""
    app.command("phantom")(phantom)
