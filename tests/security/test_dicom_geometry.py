"""Issue 9, High 3: unbounded memory from geometry.

A dosimetry upload whose PET claims absurd voxel sizes or grids must be refused (422, naming the field,
the value and the limit) *before* anything is allocated for it, both through the web (the upload is
refused before the ingest stores a file) and through the engine (``redif dose voxel`` =
:func:`redif.workflows.voxel_case.run_voxel_case`).

The synthetic study is the web tests' small phantom (``tests/web/_phantom_zip.py``: 3 time points of
24 x 32 x 32 voxels of 4 mm + one SEG), with the geometry attributes of its PET slices rewritten.
The memory bounds are generous (the phantom itself needs a few MB; the unfixed code grew without
bound): the point is that the refusal comes from a check, not from running out of memory.
"""

from __future__ import annotations

import io
import time
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pydicom
import pytest
from _phantom_zip import write_small_phantom
from dicom_corpus import stored_dicom_files
from sqlalchemy import func, select

from redif.errors import InputError
from redif.registry.models import DicomSeries
from redif.workflows.voxel_case import run_voxel_case

_MEMORY_BOUND = 200 * 1024 * 1024  # bytes; the refused request itself needs well under 10 MB
_TIME_BOUND_S = 20.0


@pytest.fixture(scope="module")
def phantom(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("phantom")
    write_small_phantom(d)
    return d


def _rewrite(src: Path, dst: Path, change: Callable[[pydicom.Dataset], None]) -> Path:
    """Copy the phantom folder, applying ``change`` to every PET slice."""
    for f in sorted(src.rglob("*.dcm")):
        out = dst / f.relative_to(src)
        out.parent.mkdir(parents=True, exist_ok=True)
        ds = pydicom.dcmread(f)
        if str(ds.Modality) == "PT":
            change(ds)
        ds.save_as(out)
    return dst


def _zip(folder: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted(folder.rglob("*.dcm")):
            z.write(f, str(f.relative_to(folder)))
    return buf.getvalue()


def _huge_spacing(ds: pydicom.Dataset) -> None:
    ds.PixelSpacing = [1e9, 1e9]
    ds.SliceThickness = 1e9


def _post(env: Any, blob: bytes) -> tuple[Any, float, int]:
    c = env.client()
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        r = c.post(f"/api/v1/patients/{env.patient_a}/dosimetry", headers=env.bearer("clin_a"),
                   data={"activity_gbq": "5.5"}, files={"file": ("study.zip", blob, "application/zip")})
        elapsed = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return r, elapsed, peak


def _assert_nothing_stored(env: Any) -> None:
    assert stored_dicom_files(Path(env.app.state.settings.data_dir)) == []
    with env.app.state.db.session() as s:
        assert s.scalar(select(func.count()).select_from(DicomSeries)) == 0


def test_huge_spacing_is_refused_quickly_with_bounded_memory(
        env: Any, phantom: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Issue 9, High 3: PixelSpacing [1e9, 1e9] and SliceThickness 1e9 (the reported upload; no answer
    in 120 s, memory +60 MB/s) -> 422 naming PixelSpacing, the value and the accepted range, within
    seconds and without allocating for the absurd grid; nothing is stored. The accepted range is the
    one documented in redif/data/voxel_dosimetry.yaml (pet_voxel_mm_min/max)."""
    blob = _zip(_rewrite(phantom, tmp_path_factory.mktemp("bad"), _huge_spacing))
    r, elapsed, peak = _post(env, blob)
    assert r.status_code == 422, r.text[:500]
    body = r.json()
    assert body["field"] == "PixelSpacing"
    assert "1e+09" in body["value"] or "1000000000" in body["value"]
    assert body["limit"] and body["remedy"]
    assert elapsed < _TIME_BOUND_S
    assert peak < _MEMORY_BOUND
    _assert_nothing_stored(env)


def test_huge_grid_is_refused(env: Any, phantom: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Issue 9, High 3: a PET whose header claims a 4096 x 4096 matrix (67 M voxels per slice, far above
    the web job limit; the limit comes from WebSettings.max_dosimetry_bytes) -> 422 naming the grid and
    the limit, before the ingest stores anything."""

    def grow(ds: pydicom.Dataset) -> None:
        ds.Rows = ds.Columns = 4096

    blob = _zip(_rewrite(phantom, tmp_path_factory.mktemp("big"), grow))
    r, elapsed, peak = _post(env, blob)
    assert r.status_code == 422, r.text[:500]
    body = r.json()
    assert body["limit"] and body["remedy"]
    assert elapsed < _TIME_BOUND_S
    assert peak < _MEMORY_BOUND
    _assert_nothing_stored(env)


def test_engine_refuses_huge_spacing_before_allocating(phantom: Path, tmp_path: Path) -> None:
    """Issue 9, High 3, CLI path (`redif dose voxel`): the engine itself refuses the absurd voxel size
    (InputError naming PixelSpacing) quickly and with bounded memory, not only the web upload."""
    bad = _rewrite(phantom, tmp_path / "bad", _huge_spacing)
    pets = sorted(p for p in bad.iterdir() if p.is_dir() and p.name.startswith("pet_"))
    seg = next(bad.glob("seg*.dcm"))
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        with pytest.raises(InputError) as info:
            run_voxel_case(pets, seg, activity_gbq=5.5)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - t0 < _TIME_BOUND_S
    assert peak < _MEMORY_BOUND
    assert info.value.field == "PixelSpacing"


def test_engine_refuses_a_job_above_its_memory_limit(phantom: Path) -> None:
    """Issue 9, High 3: the per-job memory cap of the engine: the phantom (3 x 24 x 32 x 32 voxels,
    about 19 MB estimated) with a cap of 1 MB -> InputError naming the estimate and the limit."""
    pets = sorted(p for p in phantom.iterdir() if p.is_dir() and p.name.startswith("pet_"))
    seg = next(phantom.glob("seg*.dcm"))
    with pytest.raises(InputError) as info:
        run_voxel_case(pets, seg, activity_gbq=5.5, max_bytes=1_000_000)
    assert "1000000" in str(info.value) or "1.0 MB" in str(info.value)
