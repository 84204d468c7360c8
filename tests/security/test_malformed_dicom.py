"""Issue 9, Medium 7: malformed DICOM is refused at upload with a clear message and leaves nothing behind.

The files come from the registry's synthetic corpus (``tests/registry/dicom_corpus.py``: an I-124 PET
series of 8 x 8 slices, 16 bits) and the web tests' small dosimetry phantom (``tests/web/_phantom_zip.py``);
each test damages one of them the way the review did (cut at 1000 bytes, cut in half, Modality "XX",
a truncated PET slice in a dosimetry zip). Expected: 422 with the file named in ``value`` and a remedy;
no DICOM file stored anywhere under the data directory and no series row.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pydicom
import pytest
from _phantom_zip import write_small_phantom
from dicom_corpus import make_pet_series, stored_dicom_files
from sqlalchemy import func, select

from redif.registry.models import DicomSeries


def _assert_refused(env: Any, r: Any, name: str) -> dict[str, Any]:
    assert r.status_code == 422, r.text[:500]
    body: dict[str, Any] = r.json()
    assert body["field"] == "file" and name in str(body["value"]) and body["remedy"]
    assert stored_dicom_files(Path(env.app.state.settings.data_dir)) == []
    with env.app.state.db.session() as s:
        assert s.scalar(select(func.count()).select_from(DicomSeries)) == 0
    return body


def _upload(env: Any, name: str, data: bytes) -> Any:
    return env.client().post(f"/api/v1/patients/{env.patient_a}/dicom", headers=env.bearer("clin_a"),
                             files={"file": (name, data, "application/dicom")})


def test_intact_file_is_accepted(env: Any) -> None:
    """Control for the tests below: the undamaged corpus slice is accepted (201)."""
    r = _upload(env, "slice.dcm", make_pet_series(1).files[0])
    assert r.status_code == 201, r.text[:500]


def test_file_cut_at_1000_bytes_is_refused(env: Any) -> None:
    """Issue 9, Medium 7: a PET slice cut at byte 1000 (inside its header; was accepted and stored)."""
    data = make_pet_series(1).files[0]
    assert len(data) > 1000
    body = _assert_refused(env, _upload(env, "cut1000.dcm", data[:1000]), "cut1000.dcm")
    assert "truncated" in body["message"] or "incomplete" in body["message"]


def test_file_cut_in_half_is_refused(env: Any) -> None:
    """Issue 9, Medium 7: a PET slice cut in half (was accepted and stored)."""
    data = make_pet_series(1).files[0]
    body = _assert_refused(env, _upload(env, "half.dcm", data[: len(data) // 2]), "half.dcm")
    assert "truncated" in body["message"] or "incomplete" in body["message"]


def test_pixel_data_shorter_than_the_matrix_is_refused(env: Any) -> None:
    """Issue 9, Medium 7: a complete file whose PixelData holds fewer bytes than Rows x Columns x
    BitsAllocated / 8 (8 x 8 x 2 = 128 expected, 64 given; PS3.5 8.1.1)."""
    ds = pydicom.dcmread(io.BytesIO(make_pet_series(1).files[0]))
    ds.PixelData = bytes(ds.PixelData)[:64]
    buf = io.BytesIO()
    ds.save_as(buf)
    body = _assert_refused(env, _upload(env, "short.dcm", buf.getvalue()), "short.dcm")
    assert "PixelData" in body["message"]


def test_unknown_modality_is_refused(env: Any) -> None:
    """Issue 9, Medium 7: Modality "XX" (not a DICOM defined term, PS3.3 C.7.3.1.1.1; was stored)."""
    ds = pydicom.dcmread(io.BytesIO(make_pet_series(1).files[0]))
    ds.Modality = "XX"
    buf = io.BytesIO()
    ds.save_as(buf)
    body = _assert_refused(env, _upload(env, "xx.dcm", buf.getvalue()), "xx.dcm")
    assert "XX" in body["message"] and "PT" in body["message"]


@pytest.fixture(scope="module")
def phantom_zip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    blob, _ = write_small_phantom(tmp_path_factory.mktemp("phantom"))
    return blob


def test_truncated_pet_slice_in_dosimetry_zip_is_refused(env: Any, phantom_zip: bytes) -> None:
    """Issue 9, Medium 7: one PET slice of a dosimetry zip cut short in its pixel data (was a 500)."""
    src = zipfile.ZipFile(io.BytesIO(phantom_zip))
    names = sorted(n for n in src.namelist() if n.startswith("pet_"))
    victim = names[len(names) // 2]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for n in src.namelist():
            data = src.read(n)
            z.writestr(n, data[:-300] if n == victim else data)
    r = env.client().post(f"/api/v1/patients/{env.patient_a}/dosimetry", headers=env.bearer("clin_a"),
                          data={"activity_gbq": "5.5"},
                          files={"file": ("study.zip", buf.getvalue(), "application/zip")})
    _assert_refused(env, r, victim)
