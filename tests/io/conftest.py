"""Fixtures for the DICOM/NIfTI/mask tests: a small synthetic phantom written by redif's own writer.

The phantom is generated from documented parameters (redif.dosimetry.phantoms.PhantomSpec), not checked
in as opaque files.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from redif.dosimetry.phantoms import Phantom, PhantomSpec, make_phantom
from redif.io.dicom_write import SeriesContext, write_pet_series
from redif.io.volume import DecayCorrection
from redif.workflows.phantom_files import PhantomFiles, write_phantom

SMALL = PhantomSpec(shape=(40, 48, 48), voxel_mm=4.8)


@pytest.fixture(scope="session")
def small_phantom() -> Phantom:
    return make_phantom(SMALL)


@pytest.fixture(scope="session")
def phantom_files(small_phantom: Phantom, tmp_path_factory: pytest.TempPathFactory) -> PhantomFiles:
    return write_phantom(small_phantom, tmp_path_factory.mktemp("phantom"), with_ct=False)


@pytest.fixture(scope="session")
def admin_series(small_phantom: Phantom, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The last time point written with Decay Correction ADMIN (values corrected to the injection)."""
    folder = tmp_path_factory.mktemp("admin") / "pet_96h"
    write_pet_series(folder, small_phantom.activity_bqml[-1], small_phantom.affine, ctx=SeriesContext.new(),
                     time_h=small_phantom.spec.time_points_h[-1], injected_activity_mbq=37.0,
                     decay_correction=DecayCorrection.ADMIN)
    return folder


def copy_series(src: Path, dst: Path) -> Path:
    """Copy one series folder (for tests that damage files)."""
    import shutil

    shutil.copytree(src, dst)
    return dst
