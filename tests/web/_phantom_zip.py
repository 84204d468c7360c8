"""A small synthetic 124I PET study (3 time points + SEG) from the dosimetry engine's phantom, zipped as a
user would upload it; shared by the dosimetry page, browser and screenshot tests."""

from __future__ import annotations

import io
import warnings
import zipfile
from pathlib import Path
from typing import Any


def write_small_phantom(outdir: Path) -> tuple[bytes, dict[str, Any]]:
    """Write the phantom under ``outdir``; return the zip bytes and the analytic truth."""
    from redif.dosimetry.phantoms import PhantomSpec, make_phantom
    from redif.workflows.phantom_files import write_phantom

    spec = PhantomSpec(shape=(24, 32, 32), time_points_h=(4.0, 24.0, 96.0))
    ph = make_phantom(spec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        write_phantom(ph, outdir, with_ct=False)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted(outdir.rglob("*.dcm")):
            z.write(f, str(f.relative_to(outdir)))
    return buf.getvalue(), dict(ph.truth)
