"""Decay data of the nuclides redif knows.

The table and its loader live in the foundation layer (:mod:`redif.data.nuclides`) because the DICOM and
NIfTI readers need half-lives too; this module is the engines' name for the same objects (no second
definition).
"""

from __future__ import annotations

from redif.data.nuclides import THERAPY_NUCLIDE, Nuclide, available_nuclides, get_nuclide, therapy_nuclide

__all__ = ["THERAPY_NUCLIDE", "Nuclide", "available_nuclides", "get_nuclide", "therapy_nuclide"]
