"""Unit-density sphere self-dose S-values (I-131, I-124) from the generated table ``sphere_svalues.csv``.

The table is made by ``scripts/make_sphere_svalues.py`` from the Lanconelli 2012 I-131 voxel kernels
(electron part) and a photon point kernel fitted to the kernels' far voxels; the CSV header states the
method, date and grade (unverified: the published OLINDA/EXM sphere tables were not obtained). Values
between tabulated masses are interpolated linearly in log(S) against log(mass).

References
----------
Stabin MG, Konijnenberg MW. Re-evaluation of absorbed fractions for photons and electrons in spheres of
various sizes. J Nucl Med 2000;41:149-160 (the sphere model).
Lanconelli N et al. Phys Med Biol 2012;57:517-533 (kernels).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from redif.data import Grade, data_path
from redif.dosimetry.nuclides import THERAPY_NUCLIDE, available_nuclides, get_nuclide
from redif.errors import InputError

__all__ = ["SphereSValue", "sphere_nuclides", "sphere_s_value", "sphere_table"]

_FILE = "sphere_svalues.csv"
SOURCE = (
    "redif sphere table (scripts/make_sphere_svalues.py) from Lanconelli 2012 I-131 voxel S-values "
    "and ICRP-107 energies; unit-density spheres"
)


@dataclass(frozen=True)
class SphereSValue:
    """Self-dose S-value of a unit-density sphere, mGy/(MBq·s)."""

    mass_g: float
    nuclide: str
    s_mgy_per_mbq_s: float
    source: str
    grade: Grade

    @property
    def s_gy_per_gbq_h(self) -> float:
        """Same S in Gy/(GBq·h) (1 mGy/(MBq·s) = 3600 Gy/(GBq·h))."""
        return self.s_mgy_per_mbq_s * 3600.0


@lru_cache(maxsize=1)
def sphere_table() -> dict[str, NDArray[np.float64]]:
    """The generated table as columns (read-only arrays)."""
    path = data_path(_FILE)
    with path.open(encoding="utf-8") as fh:
        lines = [ln for ln in fh if not ln.startswith("#") and ln.strip()]
    names = lines[0].strip().split(",")
    data = np.array([[float(v) for v in ln.strip().split(",")] for ln in lines[1:]])
    out = {name: data[:, i].copy() for i, name in enumerate(names)}
    for arr in out.values():
        arr.setflags(write=False)
    return out


def sphere_nuclides() -> list[str]:
    """The nuclides whose table entry names a sphere S-value column."""
    return [n for n in available_nuclides() if get_nuclide(n).sphere_svalue_column is not None]


def sphere_s_value(mass_g: float, nuclide: str = THERAPY_NUCLIDE) -> SphereSValue:
    """S-value of a unit-density sphere of ``mass_g`` grams (log-log interpolation).

    Raises
    ------
    InputError
        Mass outside the tabulated 0.01-1000 g, or a nuclide without a table.
    """
    nuc = get_nuclide(nuclide)
    name, column = nuc.name, nuc.sphere_svalue_column
    if column is None:
        raise InputError(
            "no sphere S-values for this nuclide",
            field="nuclide",
            value=nuclide,
            remedy=f"use one of {', '.join(sphere_nuclides())}",
        )
    tab = sphere_table()
    m = tab["mass_g"]
    if not (math.isfinite(mass_g) and m[0] * (1 - 1e-9) <= mass_g <= m[-1] * (1 + 1e-9)):
        raise InputError(
            f"lesion mass outside the sphere table ({m[0]:g}-{m[-1]:g} g)",
            field="mass_g",
            value=mass_g,
            remedy="check the volume/density; S is not extrapolated",
        )
    mm = min(max(mass_g, m[0]), m[-1])
    s = float(np.exp(np.interp(math.log(mm), np.log(m), np.log(tab[column]))))
    return SphereSValue(float(mass_g), name, s, SOURCE, Grade.UNVERIFIED)
