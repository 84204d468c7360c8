"""Fixtures for the DICOM/NIfTI/mask tests: a small synthetic phantom written by redif's own writer.

The phantom is generated from documented parameters (redif.dosimetry.phantoms.PhantomSpec), not checked
in as opaque files.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from redif.dosimetry.phantoms import Phantom, PhantomSpec, make_phantom
from redif.io.phantom_files import PhantomFiles, write_phantom
from redif.io.volume import DecayCorrection

SMALL = PhantomSpec(shape=(40, 48, 48), voxel_mm=4.8)


@pytest.fixture(scope="session")
def small_phantom() -> Phantom:
    return make_phantom(SMALL)


@pytest.fixture(scope="session")
def phantom_files(small_phantom: Phantom, tmp_path_factory: pytest.TempPathFactory) -> PhantomFiles:
    return write_phantom(small_phantom, tmp_path_factory.mktemp("phantom"), with_ct=False)


@pytest.fixture(scope="session")
def phantom_files_admin(small_phantom: Phantom, tmp_path_factory: pytest.TempPathFactory) -> PhantomFiles:
    return write_phantom(small_phantom, tmp_path_factory.mktemp("phantom_admin"),
                         decay_correction=DecayCorrection.ADMIN, with_ct=False)


def copy_series(src: Path, dst: Path) -> Path:
    """Copy one series folder (for tests that damage files)."""
    import shutil

    shutil.copytree(src, dst)
    return dst
