"""Write a :class:`redif.dosimetry.phantoms.Phantom` as DICOM (PET per time point, CT, SEG) + truth.json."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pydicom

from redif.dosimetry.phantoms import Phantom
from redif.io.dicom_write import SeriesContext, pet_dirs, write_ct_series, write_json, write_pet_series
from redif.io.masks import write_seg
from redif.io.volume import DecayCorrection

__all__ = ["PhantomFiles", "write_phantom"]


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
