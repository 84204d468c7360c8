"""Write a :class:`redif.dosimetry.phantoms.Phantom` as DICOM (PET per time point, CT, SEG) + truth.json."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pydicom

from redif.dosimetry.phantoms import Phantom, SpectFrames
from redif.errors import InputError
from redif.io.dicom_write import (
    SeriesContext,
    SpectCounts,
    pet_dirs,
    spect_paths,
    write_ct_series,
    write_json,
    write_nm_spect,
    write_pet_series,
)
from redif.io.masks import write_seg
from redif.io.volume import DecayCorrection

__all__ = ["PHANTOM_SPECT_COUNTS", "PhantomFiles", "SpectFiles", "write_phantom", "write_spect_files"]


@dataclass(frozen=True)
class PhantomFiles:
    """Paths written by :func:`write_phantom`."""

    pet_dirs: tuple[Path, ...]
    ct_dir: Path | None
    seg_path: Path
    truth_path: Path


def write_phantom(
    phantom: Phantom,
    outdir: str | Path,
    *,
    decay_correction: DecayCorrection = DecayCorrection.START,
    with_ct: bool = True,
    progress: object = None,
) -> PhantomFiles:
    """Write the phantom: ``pet_XXXpXh/`` per time point, ``ct/``, ``seg_lesions.dcm``, ``truth.json``.

    ``progress`` is an optional callable ``progress(done, total, label)``.
    """
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    ctx = SeriesContext.new()
    dirs = pet_dirs(out, phantom.spec.time_points_h)
    steps = len(dirs) + 2
    first_dir = dirs[0]
    for i, (d, t, arr) in enumerate(zip(dirs, phantom.spec.time_points_h, phantom.activity_bqml,
                                        strict=True)):
        write_pet_series(d, arr, phantom.affine, ctx=ctx, time_h=t,
                         injected_activity_mbq=phantom.spec.injected_activity_mbq,
                         decay_correction=decay_correction, series_number=100 + i)
        if callable(progress):
            progress(i + 1, steps, f"PET {t:g} h")
    ct_dir = None
    if with_ct:
        ct_dir = out / "ct"
        write_ct_series(ct_dir, phantom.ct_hu, phantom.affine, ctx=ctx)
    if callable(progress):
        progress(len(dirs) + 1, steps, "CT")
    sources = [pydicom.dcmread(p) for p in sorted(first_dir.glob("PT*.dcm"))]
    seg_path = out / "seg_lesions.dcm"
    write_seg(seg_path, phantom.labels, phantom.lesion_names, sources)
    truth = dict(phantom.truth)
    truth["files"] = {
        "pet": [d.name for d in dirs],
        "ct": ct_dir.name if ct_dir else None,
        "seg": seg_path.name,
        "decay_correction": decay_correction.value,
    }
    truth_path = out / "truth.json"
    write_json(truth_path, truth)
    if callable(progress):
        progress(steps, steps, "SEG + truth")
    return PhantomFiles(tuple(dirs), ct_dir, seg_path, truth_path)


#: The counts variant of ``redif phantom --spect``: illustrative system parameters of the synthetic
#: camera (not clinical data), recorded in ``spect_truth.json``.
PHANTOM_SPECT_COUNTS = SpectCounts(calibration_cps_per_mbq=10.0, dead_time_us=4.0,
                                   dead_time_model="paralysable")


@dataclass(frozen=True)
class SpectFiles:
    """Paths written by :func:`write_spect_files`."""

    spect: tuple[Path, ...]
    spect_counts: tuple[Path, ...]
    truth_path: Path


def write_spect_files(phantom: Phantom, frames: SpectFrames, outdir: str | Path, *, with_counts: bool = True,
                      counts: SpectCounts = PHANTOM_SPECT_COUNTS) -> SpectFiles:
    """Write post-therapy 131I SPECT time points next to a phantom written by :func:`write_phantom`.

    One NM multi-frame file per time point in Bq/mL (``spect_XXXpXh/NM0001.dcm``) and, with
    ``with_counts``, the same activity as observed counts (``spect_counts_XXXpXh/``; calibration factor,
    dead time and model in ``spect_truth.json``). The study and frame of reference are those of the
    phantom's PET, so its SEG applies to the SPECT grid.
    """
    out = Path(outdir)
    first_pet = sorted(p for p in out.glob("pet_*/PT*.dcm"))
    if not first_pet:
        raise InputError("no phantom PET in the folder", field=str(out), remedy="write the phantom first")
    head = pydicom.dcmread(first_pet[0], stop_before_pixels=True)
    ctx = SeriesContext(str(head.StudyInstanceUID), str(head.FrameOfReferenceUID))
    affine = phantom.affine
    bq = spect_paths(out, frames.time_points_h)
    cn = spect_paths(out, frames.time_points_h, counts=True) if with_counts else []
    for i, (t, arr) in enumerate(zip(frames.time_points_h, frames.activity_bqml, strict=True)):
        write_nm_spect(bq[i], arr, affine, ctx=ctx, time_h=t,
                       administered_activity_mbq=frames.administered_mbq, series_number=200 + i)
        if with_counts:
            write_nm_spect(cn[i], arr, affine, ctx=ctx, time_h=t,
                           administered_activity_mbq=frames.administered_mbq, counts=counts,
                           series_number=300 + i)
    truth = dict(frames.truth)
    truth["files"] = {"spect": [str(p.relative_to(out)) for p in bq],
                      "spect_counts": [str(p.relative_to(out)) for p in cn]}
    if with_counts:
        truth["counts"] = {"calibration_cps_per_mbq": counts.calibration_cps_per_mbq,
                           "dead_time_us": counts.dead_time_us, "dead_time_model": counts.dead_time_model,
                           "acquisition_duration_s": counts.duration_s,
                           "note": "illustrative parameters of the synthetic camera, not clinical data"}
    truth_path = out / "spect_truth.json"
    write_json(truth_path, truth)
    return SpectFiles(tuple(bq), tuple(cn), truth_path)

