"""De-identification keeps quantitative dosimetry intact: the voxel dose of the dosimetry engine's
synthetic phantom (redif.dosimetry.phantoms + redif.workflows.phantom_files) is identical before and
after every file (PET time points and the SEG mask) goes through
:func:`redif.registry.deid.deidentify_dataset` (same key and per-patient date shift, as on ingest)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pydicom
import pytest

from redif.registry import deid

KEY = b"phantom-key-0123456789abcdef0123"


def _deid_tree(src: Path, dst: Path, shift: int) -> None:
    for f in sorted(src.rglob("*")):
        if not f.is_file():
            continue
        try:
            ds = pydicom.dcmread(f)
        except Exception:
            continue
        deid.deidentify_dataset(ds, pseudonym="A-0001", shift_days=shift, uid_key=KEY)
        out = dst / f.relative_to(src)
        out.parent.mkdir(parents=True, exist_ok=True)
        ds.save_as(out, enforce_file_format=False)


@pytest.mark.slow
def test_voxel_dose_identical_after_deidentification(tmp_path: Path) -> None:
    phantoms = pytest.importorskip("redif.dosimetry.phantoms")
    files_mod = pytest.importorskip("redif.workflows.phantom_files")
    pipeline = pytest.importorskip("redif.workflows.voxel_case")
    spec = phantoms.PhantomSpec(shape=(24, 32, 32), time_points_h=(4.0, 24.0, 96.0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        written = files_mod.write_phantom(phantoms.make_phantom(spec), tmp_path / "orig", with_ct=False)
    _deid_tree(tmp_path / "orig", tmp_path / "deid", deid.date_shift_days(KEY, "patient:1"))
    deid_pets = [tmp_path / "deid" / p.relative_to(tmp_path / "orig") for p in written.pet_dirs]
    deid_seg = tmp_path / "deid" / written.seg_path.relative_to(tmp_path / "orig")
    first = next(iter(sorted(deid_pets[0].glob("*"))))
    ds = pydicom.dcmread(first)
    assert "IDENT" not in str(ds.PatientName) and ds.PatientIdentityRemoved == "YES"
    before = pipeline.run_voxel_case(written.pet_dirs, written.seg_path, activity_gbq=5.5)
    after = pipeline.run_voxel_case(deid_pets, deid_seg, activity_gbq=5.5)
    b = {le.get("name", i): le for i, le in enumerate(before.lesions)}
    a = {le.get("name", i): le for i, le in enumerate(after.lesions)}
    assert b.keys() == a.keys() and len(b) >= 1
    n = 0
    for k in b:
        for field, value in b[k].items():
            if isinstance(value, float):
                assert a[k][field] == pytest.approx(value, rel=1e-12, abs=1e-12), (k, field)
                n += 1
    assert n >= 3
