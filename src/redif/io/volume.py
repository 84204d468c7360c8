"""Typed image volumes with geometry, units and decay information.

Array convention (as highdicom's ``Volume``): ``array[slice, row, column]``; ``affine`` is the 4 x 4
matrix that maps the index vector ``(slice, row, column, 1)`` to patient coordinates in mm in the DICOM
patient system (LPS). NIfTI writers convert to RAS.

References
----------
DICOM PS3.3 C.7.6.2 (Image Plane Module) and C.8.9.1 (PET Series Module: Units, Decay Correction).
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

__all__ = ["DecayCorrection", "Volume", "affine_from_geometry", "same_grid"]


class DecayCorrection(enum.StrEnum):
    """DICOM Decay Correction (0054,1102): the time the pixel values are decay corrected to.

    ``START``: the acquisition (series) start; ``ADMIN``: the radiopharmaceutical administration;
    ``NONE``: not decay corrected.
    """

    START = "START"
    ADMIN = "ADMIN"
    NONE = "NONE"


@dataclass(frozen=True)
class Volume:
    """One 3-D image (one time point) in activity concentration, with its geometry and timing.

    Attributes
    ----------
    array
        float32 ``[slice, row, column]``; Bq/mL when ``units == "BQML"``.
    affine
        4 x 4 index -> LPS mm matrix (see module docstring).
    units
        ``"BQML"`` (the only quantitative unit accepted downstream).
    acquisition_datetime
        Reference time of the values (series/acquisition start).
    radiopharmaceutical_start
        Administration (injection) date-time; ``None`` when unknown.
    total_dose_bq
        Administered activity (Bq) from RadionuclideTotalDose; ``None`` when unknown.
    half_life_s
        RadionuclideHalfLife (s); ``None`` when unknown.
    nuclide
        Nuclide name such as ``"I-124"`` (matched from the half-life); ``None`` when unknown.
    decay_correction
        What the values are decay corrected to.
    series_uid, frame_of_reference_uid, study_uid
        DICOM identifiers (empty strings for non-DICOM input).
    sop_instance_uids
        Per-slice SOP Instance UIDs in array order (DICOM input only).
    source
        File or directory the volume came from (used in error messages).
    """

    array: NDArray[np.float32]
    affine: NDArray[np.float64]
    units: str = "BQML"
    acquisition_datetime: datetime | None = None
    radiopharmaceutical_start: datetime | None = None
    total_dose_bq: float | None = None
    half_life_s: float | None = None
    nuclide: str | None = None
    decay_correction: DecayCorrection = DecayCorrection.NONE
    series_uid: str = ""
    frame_of_reference_uid: str = ""
    study_uid: str = ""
    sop_instance_uids: tuple[str, ...] = ()
    source: str = ""
    patient: dict[str, str] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int, int]:
        """Array shape ``(slices, rows, columns)``."""
        s = self.array.shape
        return (int(s[0]), int(s[1]), int(s[2]))

    @property
    def spacing_mm(self) -> tuple[float, float, float]:
        """Voxel spacing along (slice, row, column) in mm."""
        cols = np.linalg.norm(self.affine[:3, :3], axis=0)
        return (float(cols[0]), float(cols[1]), float(cols[2]))

    @property
    def voxel_volume_ml(self) -> float:
        """Voxel volume in mL (= cm^3)."""
        return float(abs(np.linalg.det(self.affine[:3, :3]))) / 1000.0

    @property
    def time_since_admin_h(self) -> float | None:
        """Hours from administration to the acquisition reference time (``None`` if unknown)."""
        if self.acquisition_datetime is None or self.radiopharmaceutical_start is None:
            return None
        return (self.acquisition_datetime - self.radiopharmaceutical_start).total_seconds() / 3600.0

    def with_array(self, array: NDArray[np.float32], **changes: object) -> Volume:
        """Copy with a new array (same geometry) and optional field changes."""
        return replace(self, array=array, **changes)  # type: ignore[arg-type]

    def activity_at_acquisition(self) -> Volume:
        """Return the volume with values as activity concentration at the acquisition start.

        Values decay corrected to the administration (``ADMIN``) are multiplied by
        ``exp(-lambda * (t_acq - t_admin))``; ``START`` values already refer to the acquisition start;
        ``NONE`` values are taken as they are (decay during one frame ignored). The result is flagged
        ``START`` so that it is never decay corrected twice.

        References
        ----------
        DICOM PS3.3 C.8.9.1.1.3 (Decay Correction); docs/methods/dosimetry.md §3, §8.
        """
        if self.decay_correction is not DecayCorrection.ADMIN:
            return replace(self, decay_correction=DecayCorrection.START)
        if self.half_life_s is None or self.time_since_admin_h is None:
            raise ValueError("ADMIN decay correction needs the half-life and both date-times")
        lam_per_s = math.log(2.0) / self.half_life_s
        factor = math.exp(-lam_per_s * self.time_since_admin_h * 3600.0)
        return replace(
            self,
            array=(self.array * np.float32(factor)).astype(np.float32, copy=False),
            decay_correction=DecayCorrection.START,
        )


def affine_from_geometry(
    position_mm: tuple[float, float, float] | NDArray[np.float64],
    orientation: tuple[float, ...] | NDArray[np.float64],
    pixel_spacing_mm: tuple[float, float],
    slice_step_mm: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Build the ``(slice, row, column)`` -> LPS affine from DICOM image-plane attributes.

    Parameters
    ----------
    position_mm
        ImagePositionPatient of the first slice.
    orientation
        ImageOrientationPatient (row direction cosines, then column direction cosines).
    pixel_spacing_mm
        PixelSpacing ``(between rows, between columns)``.
    slice_step_mm
        Vector from one slice origin to the next, mm.
    """
    o = np.asarray(orientation, dtype=np.float64)
    row_dir, col_dir = o[:3], o[3:6]
    aff = np.eye(4)
    aff[:3, 0] = slice_step_mm
    aff[:3, 1] = col_dir * float(pixel_spacing_mm[0])  # moving down one row
    aff[:3, 2] = row_dir * float(pixel_spacing_mm[1])  # moving right one column
    aff[:3, 3] = np.asarray(position_mm, dtype=np.float64)
    return aff


def same_grid(a: NDArray[np.float64], shape_a: tuple[int, ...], b: NDArray[np.float64],
              shape_b: tuple[int, ...], atol_mm: float = 1e-3) -> bool:
    """Whether two (affine, shape) pairs describe the same voxel grid within ``atol_mm``."""
    return tuple(shape_a) == tuple(shape_b) and bool(np.allclose(a, b, atol=atol_mm, rtol=0.0))
