"""Radionuclide decay data (I-131, I-124, ...) from the sourced table ``data/nuclides.yaml``.

References
----------
ICRP Publication 107: Nuclear decay data for dosimetric calculations. Ann ICRP 2008;38(3).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from redif.data import Grade, load_yaml
from redif.errors import InputError

__all__ = ["THERAPY_NUCLIDE", "Nuclide", "available_nuclides", "get_nuclide", "therapy_nuclide"]

_FILE = "nuclides.yaml"


@dataclass(frozen=True)
class Nuclide:
    """Decay data of one radionuclide.

    Attributes
    ----------
    name
        e.g. ``"I-131"``.
    half_life_h
        Physical half-life in hours.
    electron_energy_mev
        Mean energy emitted as electrons (beta, IC, Auger) per decay, MeV.
    photon_energy_mev
        Mean energy emitted as photons (gamma, X, annihilation) per decay, MeV.
    source, grade
        Citation and grade of the half-life.
    voxel_kernels
        Folder (in ``redif/data``) of the nuclide's voxel S-value kernels, ``None`` without any.
    sphere_svalue_column
        Column of ``sphere_svalues.csv`` holding its sphere S-values, ``None`` without any.
    """

    name: str
    half_life_h: float
    electron_energy_mev: float | None
    photon_energy_mev: float | None
    source: str
    grade: Grade
    voxel_kernels: str | None = None
    sphere_svalue_column: str | None = None

    @property
    def decay_constant_per_h(self) -> float:
        """Physical decay constant lambda = ln 2 / T1/2, in 1/h."""
        return math.log(2.0) / self.half_life_h

    @property
    def half_life_s(self) -> float:
        """Physical half-life in seconds."""
        return self.half_life_h * 3600.0


def _canonical(name: str) -> str:
    text = name.strip().upper().replace("_", "-").replace(" ", "")
    if "-" not in text:
        # "I131", "131I" -> "I-131"
        letters = "".join(c for c in text if c.isalpha())
        digits = "".join(c for c in text if c.isdigit())
        text = f"{letters}-{digits}"
    elif text[0].isdigit():
        mass, _, sym = text.partition("-")
        text = f"{sym}-{mass}"
    return text


@lru_cache(maxsize=16)
def get_nuclide(name: str) -> Nuclide:
    """Return the decay data of ``name`` (``"I-131"``, ``"I131"`` and ``"131I"`` all work).

    Raises
    ------
    InputError
        If the nuclide is not in the data table.
    """
    table = load_yaml(_FILE)["nuclides"]
    key = _canonical(name)
    if key not in table:
        raise InputError(
            "unknown nuclide", field="nuclide", value=name,
            remedy=f"use one of {', '.join(sorted(table))}",
        )
    entry = table[key]
    hl = entry["half_life_d"]

    def _energy(field: str) -> float | None:
        item = entry.get(field)
        return None if item is None else float(item["value"])

    return Nuclide(
        name=key,
        half_life_h=float(hl["value"]) * 24.0,
        electron_energy_mev=_energy("electron_energy_mev_per_decay"),
        photon_energy_mev=_energy("photon_energy_mev_per_decay"),
        source=str(hl["source"]),
        grade=Grade(hl["grade"]),
        voxel_kernels=entry.get("voxel_kernels"),
        sphere_svalue_column=entry.get("sphere_svalue_column"),
    )


def therapy_nuclide() -> str:
    """The nuclide doses refer to (``therapy_nuclide`` of the table)."""
    return str(load_yaml(_FILE)["therapy_nuclide"])


#: The therapy nuclide, read once from the table (the default of every dose function).
THERAPY_NUCLIDE: str = therapy_nuclide()


def available_nuclides() -> list[str]:
    """Names of the nuclides in the data table."""
    return sorted(load_yaml(_FILE)["nuclides"])
