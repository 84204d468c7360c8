"""Issue 9, High 2: uploads of the same series shared one folder, and the Low item "API responses include
absolute storage_dir paths".

Before the fix the files of an upload went to ``<data_dir>/dicom/<patient id>/<series UID>/``: a second
upload of the same series overwrote the files behind the first row, a failing upload (PatientWeight
``abcd``: a 500) deleted the shared folder, an empty SeriesInstanceUID put files in the patient folder,
and a rejected dosimetry upload replaced the files behind a committed run. The expected values are the
issue's requirements: every recorded SHA-256 matches its files after any sequence of uploads, malformed
input is a 422 naming the file, and no API answer holds a server path.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path
from typing import Any

import pydicom
import pytest
from _phantom_zip import write_small_phantom
from dicom_corpus import make_pet_series
from pydicom.uid import generate_uid
from sqlalchemy import select

from redif.registry import storage
from redif.registry.models import DicomSeries

_UID = generate_uid()


def _zip(files: list[bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for i, f in enumerate(files):
            z.writestr(f"slice{i}.dcm", f)
    return buf.getvalue()


def _edit(data: bytes, **attrs: Any) -> bytes:
    ds = pydicom.dcmread(io.BytesIO(data))
    for k, v in attrs.items():
        setattr(ds, k, v)
    out = io.BytesIO()
    ds.save_as(out)
    return out.getvalue()


def _same_series(seed: int) -> list[bytes]:
    """Three slices of one fixed SeriesInstanceUID whose pixels depend on ``seed``."""
    return [_edit(f, SeriesInstanceUID=_UID) for f in make_pet_series(3, seed=seed).files]


def _files_match(env: Any, row: DicomSeries) -> bool:
    """Recompute the series digest from the files on disk (SHA-256 of the files' bytes in order)."""
    folder = Path(env.app.state.settings.data_dir) / row.storage_dir
    files = sorted(folder.glob("*.dcm"))
    if len(files) != row.n_instances:
        return False
    h = hashlib.sha256()
    for f in files:
        h.update(f.read_bytes())
    return h.hexdigest() == row.sha256


def _rows(env: Any, pid: int) -> list[DicomSeries]:
    with env.app.state.db.session() as s:
        rows = list(s.execute(select(DicomSeries).where(DicomSeries.patient_id == pid)).scalars())
        s.expunge_all()
    return rows


def _upload(env: Any, pid: int, blob: bytes, name: str = "s.zip") -> Any:
    return env.client().post(f"/api/v1/patients/{pid}/dicom", headers=env.bearer("clin_a"),
                             files={"file": (name, blob, "application/zip")})


def test_nine_uploads_of_one_series_keep_every_file(env_any: Any) -> None:
    """Issue 9, High 2: nine uploads of the same series (different pixels) give nine rows whose recorded
    SHA-256 all match their files (before: 3 of 9); an identical re-upload is idempotent (same row)."""
    pid = env_any.patient_a
    ids = []
    blobs = [_zip(_same_series(seed)) for seed in range(9)]
    for blob in blobs:
        r = _upload(env_any, pid, blob)
        assert r.status_code == 201, r.text
        ids.append(int(r.json()["id"]))
    rows = _rows(env_any, pid)
    assert len(rows) == 9 and len({r.storage_dir for r in rows}) == 9
    assert all(_files_match(env_any, r) for r in rows)
    again = _upload(env_any, pid, blobs[3])
    assert again.status_code == 201 and int(again.json()["id"]) == ids[3]
    assert len(_rows(env_any, pid)) == 9


def test_failed_upload_leaves_earlier_upload_intact(env_any: Any) -> None:
    """Issue 9, High 2: an upload with PatientWeight ``abcd`` after a good one is a 422 naming the file and
    the attribute (before: 500), and the good upload's files still match its digest."""
    pid = env_any.patient_a
    good = _same_series(0)
    assert _upload(env_any, pid, _zip(good)).status_code == 201
    # PatientWeight (0010,1030) DS "70.5" (dicom_corpus.WEIGHT_KG) patched to the bytes "abcd" on disk
    stored = b"\x10\x00\x30\x10DS\x04\x0070.5"
    assert _same_series(1)[1].count(stored) == 1
    bad = [good[0], _same_series(1)[1].replace(stored, stored[:-4] + b"abcd"), good[2]]
    r = _upload(env_any, pid, _zip(bad))
    assert r.status_code == 422, r.text
    body = r.json()
    assert "slice1.dcm" in str(body) and "PatientWeight" in str(body)
    rows = _rows(env_any, pid)
    assert len(rows) == 1 and _files_match(env_any, rows[0])


@pytest.mark.parametrize("uid", ["", "   "])
def test_empty_series_uid_is_refused(env_any: Any, uid: str) -> None:
    """Issue 9, High 2: a file with an empty SeriesInstanceUID is refused with a 422 naming the file
    (before: stored in the patient folder itself); nothing is stored."""
    files = make_pet_series(2).files
    r = _upload(env_any, env_any.patient_a, _zip([files[0], _edit(files[1], SeriesInstanceUID=uid)]))
    assert r.status_code == 422, r.text
    assert "slice1.dcm" in str(r.json()) and "SeriesInstanceUID" in str(r.json())
    assert _rows(env_any, env_any.patient_a) == []
    assert list((Path(env_any.app.state.settings.data_dir) / "dicom").rglob("*.dcm")) == []


@pytest.fixture(scope="module")
def phantom(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    blob: bytes = write_small_phantom(tmp_path_factory.mktemp("phantom"))[0]
    return blob


def test_rejected_dosimetry_upload_keeps_committed_run(env_any: Any, phantom: bytes) -> None:
    """Issue 9, High 2: after a committed voxel run, a rejected upload of the same PET series with changed
    pixels and no SEG is a 422 and the files behind the run still match their digests (before: they were
    replaced)."""
    h = env_any.bearer("clin_a")
    pid = env_any.patient_a
    c = env_any.client()
    ok = c.post(f"/api/v1/patients/{pid}/dosimetry", headers=h, data={"activity_gbq": "5.5"},
                files={"file": ("run.zip", phantom, "application/zip")})
    assert ok.status_code == 201, ok.text
    before = _rows(env_any, pid)
    assert before and all(_files_match(env_any, r) for r in before)
    src = zipfile.ZipFile(io.BytesIO(phantom))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name in src.namelist():
            if name.startswith("seg"):
                continue
            ds = pydicom.dcmread(io.BytesIO(src.read(name)))
            ds.PixelData = bytes(len(ds.PixelData))
            out = io.BytesIO()
            ds.save_as(out)
            z.writestr(name, out.getvalue())
    bad = c.post(f"/api/v1/patients/{pid}/dosimetry", headers=h, data={"activity_gbq": "5.5"},
                 files={"file": ("noseg.zip", buf.getvalue(), "application/zip")})
    assert bad.status_code == 422, bad.text
    after = _rows(env_any, pid)
    assert {r.id for r in after} == {r.id for r in before}
    assert all(_files_match(env_any, r) for r in after)
    runs = c.get(f"/api/v1/patients/{pid}/dosimetry", headers=h)
    assert runs.status_code == 200 and len(runs.json()["runs"]) == 1
    assert str(env_any.app.state.settings.data_dir) not in runs.text


def test_api_answers_hold_no_server_paths(env_any: Any) -> None:
    """Issue 9, Low: "API responses include absolute storage_dir paths" — no API answer about a patient
    and their series holds the data directory or a storage_dir."""
    pid = env_any.patient_a
    data_dir = str(Path(env_any.app.state.settings.data_dir).resolve())
    r = _upload(env_any, pid, _zip(_same_series(0)))
    assert r.status_code == 201
    answers = [r.text]
    for url in (f"/api/v1/patients/{pid}", "/api/v1/patients", f"/api/v1/patients/{pid}/dosimetry"):
        answers.append(env_any.client().get(url, headers=env_any.bearer("clin_a")).text)
    for text in answers:
        assert data_dir not in text and str(env_any.app.state.settings.data_dir) not in text
        assert "storage_dir" not in text


def test_files_of_a_series_deleted_in_a_savepoint_stay_when_the_transaction_rolls_back(env_any: Any) -> None:
    """Issue 9, High 2 (nothing accepted is lost): SQLAlchemy reports a released SAVEPOINT as a commit;
    the files of a series deleted inside one must stay while the outer transaction can still roll back
    (they did not before), and go once the outer transaction commits."""
    pid = env_any.patient_a
    assert _upload(env_any, pid, _zip(_same_series(0))).status_code == 201
    (row,) = _rows(env_any, pid)
    data_dir = Path(env_any.app.state.settings.data_dir)
    folder = storage.resolve(data_dir, row.storage_dir)
    db = env_any.app.state.db
    with pytest.raises(RuntimeError, match="boom"), db.write_session(actor="admin") as s:
        storage.bind_data_dir(s, data_dir)
        with s.begin_nested():
            s.delete(s.get(DicomSeries, row.id))
        assert folder.is_dir()  # the savepoint is released, the transaction is not committed
        raise RuntimeError("boom")
    assert folder.is_dir() and _files_match(env_any, row)
    with db.write_session(actor="admin") as s:
        storage.bind_data_dir(s, data_dir)
        with s.begin_nested():
            s.delete(s.get(DicomSeries, row.id))
    assert not folder.exists()
