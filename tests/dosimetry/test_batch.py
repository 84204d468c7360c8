"""Batch runs: manifest validation, failures reported per case, identical results across executors.

Expected values: the single-case pipeline run directly (run_voxel_case) on the same phantom.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from redif.dosimetry.phantoms import PhantomSpec, make_phantom
from redif.errors import InputError
from redif.workflows.phantom_files import PhantomFiles, write_phantom
from redif.workflows.voxel_batch import BatchCase, read_manifest, run_batch, run_case
from redif.workflows.voxel_case import run_voxel_case


@pytest.fixture(scope="module")
def two_phantoms(tmp_path_factory: pytest.TempPathFactory) -> list[PhantomFiles]:
    root = tmp_path_factory.mktemp("batch")
    out = []
    for seed in (1, 2):
        spec = PhantomSpec(shape=(24, 32, 32), voxel_mm=6.0, time_points_h=(4.0, 24.0, 96.0),
                           noise_cv=0.05, seed=seed)
        out.append(write_phantom(make_phantom(spec), root / f"case{seed}", with_ct=False))
    return out


def _manifest(tmp: Path, phantoms: list[PhantomFiles]) -> Path:
    rows = ["case_id,pet,mask,activity_gbq,method"]
    for i, ph in enumerate(phantoms, start=1):
        pets = ";".join(str(p) for p in ph.pet_dirs)
        rows.append(f"P{i},{pets},{ph.seg_path},3.7,{'fit' if i == 1 else 'region'}")
    rows.append(f"BROKEN,{tmp / 'nowhere'},{phantoms[0].seg_path},,")
    p = tmp / "manifest.csv"
    p.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return p


def test_sequential_equals_process_and_direct(two_phantoms: list[PhantomFiles], tmp_path: Path) -> None:
    cases = read_manifest(_manifest(tmp_path, two_phantoms), out_dir=tmp_path / "out")
    seq = run_batch(cases, executor="sequential")
    par = run_batch(cases, executor="process", workers=2)
    assert [r.case_id for r in seq] == ["P1", "P2", "BROKEN"]
    assert seq == par  # identical, whatever the executor
    assert seq[0].ok and seq[1].ok and not seq[2].ok
    assert "nowhere" in (seq[2].error or "") and "\n" not in (seq[2].error or "")
    direct = run_voxel_case(cases[0].pet, cases[0].mask, activity_gbq=3.7, method="fit")
    got = seq[0].result["lesions"]  # type: ignore[index]
    assert [x["mean_gy"] for x in got] == [x["mean_gy"] for x in direct.lesions]  # type: ignore[union-attr]
    assert (tmp_path / "out" / "P1_dose.nii.gz").is_file()


def test_run_case_never_raises(tmp_path: Path) -> None:
    res = run_case(BatchCase("X", (str(tmp_path),), str(tmp_path / "m.nii.gz")))
    assert not res.ok and res.error


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("case_id,mask\nA,m\n", "lacks column"),
        ("case_id,pet,mask\nA,,m\n", "row 2, column pet"),
        ("case_id,pet,mask\nA,p,m\nA,p,m\n", "duplicate"),
        ("case_id,pet,mask,activity_gbq\nA,p,m,lots\n", "activity_gbq"),
        ("case_id,pet,mask,activity_gbq\nA,p,m,-1\n", "positive"),
        ("case_id,pet,mask\n", "no cases"),
    ],
)
def test_manifest_errors(tmp_path: Path, text: str, match: str) -> None:
    p = tmp_path / "m.csv"
    p.write_text(text)
    with pytest.raises(InputError, match=match):
        read_manifest(p)


def test_unknown_executor(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="executor"):
        run_batch([BatchCase("A", ("x",), "m")], executor="cluster")
    with pytest.raises(InputError, match="workers"):
        run_batch([BatchCase("A", ("x",), "m")], executor="process", workers=0)
    assert dataclasses.is_dataclass(BatchCase)


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("REDIF_TEST_DASK"), reason="starts a Dask cluster (~1 min on 2 "
                    "busy cores); set REDIF_TEST_DASK=1")
def test_dask_executor_matches_sequential(two_phantoms: list[PhantomFiles], tmp_path: Path) -> None:
    """The optional Dask executor (local cluster of 2 worker processes) gives the sequential results."""
    pytest.importorskip("distributed")
    cases = read_manifest(_manifest(tmp_path, two_phantoms))
    assert run_batch(cases, executor="dask", workers=2) == run_batch(cases, executor="sequential")


def test_parallel_reading_gives_the_same_case(two_phantoms: list[PhantomFiles]) -> None:
    """Reading the time points in 2 worker processes changes nothing in the result."""
    ph = two_phantoms[0]
    a = run_voxel_case([str(p) for p in ph.pet_dirs], ph.seg_path, read_workers=1)
    b = run_voxel_case([str(p) for p in ph.pet_dirs], ph.seg_path, read_workers=2)
    assert a.lesions == b.lesions  # type: ignore[union-attr]
