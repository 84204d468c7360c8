"""NIfTI input/output for activity images and dose maps (nibabel).

redif arrays are ``[slice, row, column]`` with an LPS affine; NIfTI stores an RAS affine, so the writer
applies ``diag(-1, -1, 1)`` and keeps the array order (the affine carries the axis meaning). NIfTI has no
units or timing: readers take them as explicit arguments.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from redif.data.nuclides import get_nuclide
from redif.errors import InputError
from redif.io.volume import DecayCorrection, Volume

__all__ = ["UNITS_TO_BQML", "read_nifti_volume", "write_nifti"]

_RAS_FROM_LPS = np.diag([-1.0, -1.0, 1.0, 1.0])
#: Accepted activity-concentration units and their factor to Bq/mL (definitions of the SI prefixes).
UNITS_TO_BQML = {"Bq/mL": 1.0, "kBq/mL": 1e3, "MBq/mL": 1e6}
_EPOCH = datetime(2000, 1, 1)


def write_nifti(path: str | Path, array: NDArray[np.generic], affine_lps: NDArray[np.float64], *,
                description: str = "") -> None:
    """Write ``array`` (index order as given) with the LPS ``affine_lps`` converted to RAS."""
    import nibabel as nib

    img: Any = nib.Nifti1Image(np.asarray(array), _RAS_FROM_LPS @ affine_lps)  # type: ignore[no-untyped-call]
    img.header["descrip"] = description[:79].encode("ascii", "replace")
    img.set_qform(img.affine, code=1)
    img.set_sform(img.affine, code=1)
    nib.save(img, str(path))


def read_nifti_volume(
    path: str | Path,
    *,
    units: str,
    time_h: float,
    nuclide: str,
    injected_activity_mbq: float | None = None,
    decay_correction: DecayCorrection | str = DecayCorrection.START,
) -> Volume:
    """Read a 3-D activity image with explicit units and timing.

    Parameters
    ----------
    units
        One of :data:`UNITS_TO_BQML` (NIfTI does not record units; there is no default on purpose).
    time_h
        Hours from administration to this scan.
    nuclide, injected_activity_mbq
        Imaged nuclide and administered activity.
    decay_correction
        What the values are decay corrected to (``START`` = activity at the scan; ``ADMIN`` = corrected
        to the administration).
    """
    import nibabel as nib

    if units not in UNITS_TO_BQML:
        raise InputError("unknown activity units for a NIfTI image", field=str(path), value=units,
                         remedy=f"give one of {', '.join(UNITS_TO_BQML)}")
    p = Path(path)
    if not p.is_file():
        raise InputError("NIfTI file not found", field="path", value=str(p))
    img: Any = nib.load(str(p))
    data = np.asarray(img.dataobj, dtype=np.float32)
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise InputError("NIfTI activity image must be 3-D", field=str(p), value=data.shape)
    nuc = get_nuclide(nuclide)
    start = _EPOCH
    return Volume(
        array=np.ascontiguousarray(data * np.float32(UNITS_TO_BQML[units])),
        affine=_RAS_FROM_LPS @ np.asarray(img.affine, dtype=np.float64),
        units="BQML",
        acquisition_datetime=start + timedelta(hours=float(time_h)),
        radiopharmaceutical_start=start,
        total_dose_bq=None if injected_activity_mbq is None else injected_activity_mbq * 1e6,
        half_life_s=nuc.half_life_s,
        nuclide=nuc.name,
        decay_correction=DecayCorrection(decay_correction),
        source=str(p),
    )
