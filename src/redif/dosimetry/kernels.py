"""I-131 voxel S-value kernels (Lanconelli et al. 2012) shipped as package data.

The tabulated octant (i, j, k = 0..5) is mirrored into a full 11 x 11 x 11 kernel centred on the source
voxel. Values are in mGy/(MBq*s): absorbed dose to the target voxel per unit time-integrated activity in
the source voxel. The kernel is truncated at +/-5 voxels, so most I-131 photon energy deposited far from
the source is not counted (MIRD Pamphlet 17 kernels share this limitation).

Licence: the files are redistributed under the MIT licence of the MIRDCalculation project
(Copyright (c) 2021 MGH Radiation Oncology); see ``data/vsv_lanconelli2012_I131/README.md``.

References
----------
Lanconelli N, Pacilio M, Lo Meo S, et al. A free database of radionuclide voxel S values for the
dosimetry of nonuniform activity distributions. Phys Med Biol 2012;57(2):517-533.
Bolch WE et al. MIRD Pamphlet No. 17. J Nucl Med 1999;40:11S-36S.
"""

from __future__ import annotations

import enum
import re
from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from redif.data import data_path
from redif.dosimetry.nuclides import THERAPY_NUCLIDE, get_nuclide
from redif.errors import InputError

__all__ = ["Tissue", "available_voxel_sizes_mm", "load_kernel"]

# files as distributed by Lanconelli et al.: <mass><symbol><size>mm<tissue>.txt, e.g. 131I2.21mmsoft.txt
_NAME = re.compile(r"^[0-9]+[A-Za-z]+(?P<size>[0-9.]+)mm(?P<tissue>soft|bone)\.txt$")


class Tissue(enum.StrEnum):
    """Kernel medium."""

    SOFT = "soft"
    BONE = "bone"


def _kernel_dir(nuclide: str) -> Path:
    """The kernel folder the nuclide table names for ``nuclide``."""
    nuc = get_nuclide(nuclide)
    if nuc.voxel_kernels is None:
        raise InputError("no voxel S-value kernels are tabulated for this nuclide", field="nuclide",
                         value=nuclide, remedy=f"use {THERAPY_NUCLIDE} or the local-deposition method")
    return data_path(nuc.voxel_kernels)


@lru_cache(maxsize=4)
def _index(nuclide: str = THERAPY_NUCLIDE) -> dict[tuple[float, Tissue], Path]:
    out: dict[tuple[float, Tissue], Path] = {}
    for path in _kernel_dir(nuclide).iterdir():
        match = _NAME.match(path.name)
        if match:
            out[(float(match["size"]), Tissue(match["tissue"]))] = path
    return out


def available_voxel_sizes_mm(
    tissue: Tissue | str = Tissue.SOFT, nuclide: str = THERAPY_NUCLIDE,
) -> list[float]:
    """Voxel sizes (mm, cubic) for which a tabulated kernel of ``nuclide`` exists."""
    t = Tissue(tissue)
    return sorted(size for size, tis in _index(get_nuclide(nuclide).name) if tis is t)


@lru_cache(maxsize=32)
def _load(size_mm: float, tissue: Tissue, nuclide: str = THERAPY_NUCLIDE) -> NDArray[np.float64]:
    path = _index(nuclide)[(size_mm, tissue)]
    table = np.loadtxt(path, skiprows=2, encoding="utf-8", usecols=(0, 1, 2, 3))
    n = 6
    octant = np.zeros((n, n, n))
    idx = table[:, :3].astype(int)
    octant[idx[:, 0], idx[:, 1], idx[:, 2]] = table[:, 3]
    full = np.zeros((2 * n - 1,) * 3)
    rng = np.abs(np.arange(-(n - 1), n))
    full[:, :, :] = octant[np.ix_(rng, rng, rng)]
    full.setflags(write=False)
    return full


def load_kernel(
    voxel_size_mm: float, tissue: Tissue | str = Tissue.SOFT, nuclide: str = THERAPY_NUCLIDE,
) -> NDArray[np.float64]:
    """Return the full 11 x 11 x 11 voxel S-value kernel of ``nuclide`` (default the therapy nuclide,
    I-131) in mGy/(MBq*s) (read-only array).

    Parameters
    ----------
    voxel_size_mm
        Cubic voxel edge in mm; must be one of :func:`available_voxel_sizes_mm` (within 1e-6 mm).
    tissue
        ``"soft"`` (soft tissue) or ``"bone"`` (compact bone).
    nuclide
        A nuclide whose entry in ``data/nuclides.yaml`` names a kernel folder (``voxel_kernels``).

    Raises
    ------
    InputError
        If no kernel is tabulated for that nuclide or voxel size (resample instead).
    """
    try:
        t = Tissue(tissue)
    except ValueError:
        raise InputError(
            "unknown kernel tissue", field="tissue", value=tissue, remedy="use 'soft' or 'bone'"
        ) from None
    name = get_nuclide(nuclide).name
    sizes = available_voxel_sizes_mm(t, name)
    for size in sizes:
        if abs(size - voxel_size_mm) < 1e-6:
            return _load(size, t, name)
    raise InputError(
        f"no tabulated {name} kernel for this voxel size",
        field="voxel_size_mm",
        value=voxel_size_mm,
        remedy=f"use one of {sizes} mm or resample the kernel",
    )
