"""Fixtures for the dosimetry tests: physical decay constants read from the nuclide table."""

from __future__ import annotations

import pytest

from redif.dosimetry.nuclides import get_nuclide


@pytest.fixture(scope="session")
def lam131() -> float:
    """I-131 decay constant (1/h), ln2 / T1/2 with T1/2 = 8.0207 d (ICRP-107)."""
    return get_nuclide("I-131").decay_constant_per_h


@pytest.fixture(scope="session")
def lam124() -> float:
    """I-124 decay constant (1/h), ln2 / T1/2 with T1/2 = 4.1760 d (ICRP-107)."""
    return get_nuclide("I-124").decay_constant_per_h
