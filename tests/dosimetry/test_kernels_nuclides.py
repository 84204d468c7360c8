"""Kernel loading and nuclide data.

Expected values are read from the kernel files themselves (src/redif/data/vsv_lanconelli2012_I131,
e.g. 131I3mmsoft.txt row "0 0 0 8.99E-01" and "0 0 1 3.02E-02"), and half-lives are cross-checked
against the independent ``radioactivedecay`` package (ICRP-107 data set).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from redif.dosimetry.kernels import available_voxel_sizes_mm, load_kernel
from redif.dosimetry.nuclides import get_nuclide
from redif.errors import InputError


def test_thirteen_sizes_both_tissues() -> None:
    assert len(available_voxel_sizes_mm("soft")) == 13
    assert len(available_voxel_sizes_mm("bone")) == 13


def test_kernel_values_match_file() -> None:
    k = load_kernel(3.0, "soft")
    assert k.shape == (11, 11, 11)
    assert k[5, 5, 5] == pytest.approx(8.99e-01)
    # symmetric mirror of the octant: (0,0,1) appears at all six face neighbours
    for off in [(1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1)]:
        assert k[5 + off[0], 5 + off[1], 5 + off[2]] == pytest.approx(3.02e-02)
    assert np.all(k > 0)


def test_unknown_voxel_size_is_clear() -> None:
    with pytest.raises(InputError, match="voxel_size_mm"):
        load_kernel(3.3, "soft")


def test_half_lives_against_radioactivedecay() -> None:
    rd = pytest.importorskip("radioactivedecay")
    for name, rd_name in [("I-131", "I-131"), ("I-124", "I-124")]:
        ours = get_nuclide(name).half_life_h
        theirs = rd.Nuclide(rd_name).half_life("h")
        assert math.isclose(ours, theirs, rel_tol=1e-4), (name, ours, theirs)


def test_nuclide_aliases_and_errors() -> None:
    assert get_nuclide("131I").name == "I-131"
    assert get_nuclide("i131").name == "I-131"
    with pytest.raises(InputError, match="nuclide"):
        get_nuclide("Lu-177x")
