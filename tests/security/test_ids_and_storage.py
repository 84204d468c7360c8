"""Issue 9, High 1: cross-site leak through reused ids.

Before the fix, SQLite gave a deleted patient's id to the next patient, the case document lived in
``<data_dir>/cases/<patient id>.json`` and the DICOM files in ``<data_dir>/dicom/<patient id>/``; both
stayed on disk after the delete, so a site-A patient created afterwards showed site B's case. The
expected values here are the security requirements of the issue: ids are never reused and are not
sequential, nothing stored for a deleted patient is visible under another patient, and a deleted
patient's files are gone.
"""

from __future__ import annotations

import io
import itertools
import json
import secrets
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from dicom_corpus import make_pet_series
from sqlalchemy import select, text

from redif.registry import models
from redif.registry.db import migrate, open_database

_EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _case_document() -> dict[str, Any]:
    doc = yaml.safe_load((_EXAMPLES / "case_braf_v600e.yaml").read_text(encoding="utf-8"))
    out: dict[str, Any] = json.loads(json.dumps(doc, default=str))  # dates as ISO text, as a client sends
    return out


def _series_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for i, f in enumerate(make_pet_series(3).files):
            z.writestr(f"{i}.dcm", f)
    return buf.getvalue()


def _create(env: Any, user: str, pseudonym: str, **extra: Any) -> int:
    r = env.client().post(
        "/api/v1/patients", json={"pseudonym": pseudonym, **extra}, headers=env.bearer(user)
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def test_deleted_case_never_surfaces_under_a_new_patient(env_any: Any) -> None:
    """Issue 9, High 1 (repro of the review): B stores a case, an admin deletes B's patient, A creates a
    patient. The new patient must not get B's id, and its assessment and protocol calendar must not show
    B's pseudonym or case (expected: absent, by the site-isolation rule)."""
    c = env_any.client()
    pid_b = _create(env_any, "clin_b", "B-CASE", histology="papillary")
    put = c.put(f"/api/v1/patients/{pid_b}/case", json=_case_document(), headers=env_any.bearer("clin_b"))
    assert put.status_code == 200, put.text
    assert put.json()["case_id"] == "B-CASE"
    assert c.delete(f"/api/v1/patients/{pid_b}", headers=env_any.bearer("admin")).status_code == 204
    pid_a = _create(env_any, "clin_a", "A-NEW", histology="papillary")
    assert pid_a != pid_b
    r = c.get(f"/api/v1/patients/{pid_a}/assessment", headers=env_any.bearer("clin_a"))
    assert r.status_code == 200, r.text
    assert "B-CASE" not in r.text and r.json()["basis"].startswith("registry records")
    ics = c.get(f"/patients/{pid_a}/protocol.ics", headers=env_any.bearer("clin_a"))
    assert "B-CASE" not in ics.text and "B-CASE" not in ics.headers.get("content-disposition", "")
    # B's old id answers 404 to everybody, its case document row is gone with it
    assert c.get(f"/api/v1/patients/{pid_b}/assessment", headers=env_any.bearer("admin")).status_code == 404
    with env_any.app.state.db.session() as s:
        assert s.get(models.CaseDocument, pid_b) is None
        assert s.get(models.RetiredId, ("patients", pid_b)) is not None
    # the case document row was deleted through the application: the audit trail is intact
    verify = c.get("/api/v1/audit/verify", headers=env_any.bearer("auditor"))
    assert verify.status_code == 200 and verify.json()["ok"], verify.text


def test_case_document_is_kept_in_the_database(env_any: Any) -> None:
    """Issue 9, High 1: the case document is a database row of its patient, not a file keyed by the row
    id (a stale ``cases/<id>.json`` left by an old version is ignored; expected: registry basis)."""
    data_dir = Path(env_any.app.state.settings.data_dir)
    pid = _create(env_any, "clin_a", "A-CASE", histology="papillary")
    stale = data_dir / "cases" / f"{pid}.json"
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_text('{"case_id": "B-LEAK", "histology": "papillary"}', encoding="utf-8")
    r = env_any.client().get(f"/api/v1/patients/{pid}/assessment", headers=env_any.bearer("clin_a"))
    assert r.status_code == 200 and "B-LEAK" not in r.text
    put = env_any.client().put(
        f"/api/v1/patients/{pid}/case", json=_case_document(), headers=env_any.bearer("clin_a")
    )
    assert put.status_code == 200, put.text
    with env_any.app.state.db.session() as s:
        row = s.get(models.CaseDocument, pid)
        assert row is not None and '"A-CASE"' in row.document
    r = env_any.client().get(f"/api/v1/patients/{pid}/assessment", headers=env_any.bearer("clin_a"))
    assert r.json()["basis"] == "stored case document"


def test_ids_are_not_sequential(env_any: Any) -> None:
    """Issue 9, High 1: a site must not learn other sites' activity from its ids. Ten consecutive creates
    (patients and records) give ids with no step of 1 (random 31-bit ids: a step of 1 has probability
    ~1e-8)."""
    ids = [_create(env_any, "clin_a", f"A-SEQ-{i}") for i in range(10)]
    steps = [b - a for a, b in itertools.pairwise(ids)]
    assert 1 not in steps and all(1 <= i <= 2_147_483_647 for i in ids)
    c = env_any.client()
    recs = []
    for i in range(5):
        r = c.post(f"/api/v1/patients/{ids[0]}/records/labs", headers=env_any.bearer("clin_a"),
                   json={"analyte": "Tg", "value": float(i + 1), "unit": "ng/mL"})
        assert r.status_code == 201, r.text
        recs.append(int(r.json()["id"]))
    assert 1 not in [b - a for a, b in itertools.pairwise(recs)]
    # records are listed in the order they were entered, not by id
    got = c.get(f"/api/v1/patients/{ids[0]}", headers=env_any.bearer("clin_a")).json()["records"]["labs"]
    assert [x["id"] for x in got] == recs
    # newest patient first
    listed = c.get("/api/v1/patients", headers=env_any.bearer("clin_a")).json()
    items = listed["items"] if isinstance(listed, dict) else listed
    assert [x["id"] for x in items][:10] == ids[::-1]


def test_retired_id_is_never_handed_out_again(env_any: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 9, High 1: the id generator skips ids of deleted rows (tombstones) and ids in use. The
    random source is forced to offer the retired id, then a used one, then a free one (expected: the
    free one)."""
    pid_b = _create(env_any, "clin_b", "B-GONE")
    assert env_any.client().delete(f"/api/v1/patients/{pid_b}", headers=env_any.bearer("admin")).status_code \
        == 204
    offers = iter([pid_b - 1, env_any.patient_a - 1, 12345 - 1])
    monkeypatch.setattr(secrets, "randbelow", lambda _n: next(offers))
    assert _create(env_any, "clin_a", "A-AFTER") == 12345


def test_deleted_patient_files_are_removed(env_any: Any) -> None:
    """Issue 9, High 1: deleting a patient removes their stored DICOM files after the commit (expected:
    the upload folder no longer exists) and retires the series id."""
    data_dir = Path(env_any.app.state.settings.data_dir)
    pid = _create(env_any, "clin_b", "B-FILES")
    up = env_any.client().post(f"/api/v1/patients/{pid}/dicom", headers=env_any.bearer("clin_b"),
                               files={"file": ("s.zip", _series_zip(), "application/zip")})
    assert up.status_code == 201, up.text
    sid = int(up.json()["id"])
    files = sorted((data_dir / "dicom").rglob("*.dcm"))
    assert len(files) == 3
    admin, csrf = env_any.login("admin")
    r = admin.post(f"/patients/{pid}/delete", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert not any(f.exists() for f in files)
    assert sorted((data_dir / "dicom").rglob("*.dcm")) == []
    with env_any.app.state.db.session() as s:
        retired = set(s.execute(select(models.RetiredId.table_name, models.RetiredId.id)).tuples())
    assert ("dicom_series", sid) in retired and ("patients", pid) in retired


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def bare_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'old.sqlite'}"
    url: str = request.getfixturevalue("pg").new_database()
    return url


def test_upgrade_retires_ids_deleted_before(bare_url: str) -> None:
    """Issue 9, High 1: a database at revision 0001 whose patient 2 was deleted (ids 1 and 3 remain)
    is upgraded; id 2 is retired by the migration (expected: a ``retired_ids`` row, so it is never
    handed out again), the existing records get a ``created_at`` and stay readable."""
    db = open_database(bare_url)
    try:
        migrate(db, "0001")
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO sites (id, code, name, is_demo, created_at) "
                              "VALUES (1, 'A', 'Site A', false, CURRENT_TIMESTAMP)"))
            for pid in (1, 3):
                conn.execute(text(
                    "INSERT INTO patients (id, pseudonym, site_id, sex, is_demo, created_at, updated_at) "
                    f"VALUES ({pid}, 'P{pid}', 1, 'unknown', false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
            conn.execute(text("INSERT INTO lab_results (id, patient_id, analyte, value, unit) "
                              "VALUES (5, 3, 'Tg', 1.0, 'ng/mL')"))
        migrate(db)
        with db.session() as s:
            retired = set(s.execute(select(models.RetiredId.table_name, models.RetiredId.id)).tuples())
            lab = s.get(models.LabResult, 5)
            assert lab is not None and lab.created_at is not None
        assert retired == {("patients", 2), ("lab_results", 1), ("lab_results", 2), ("lab_results", 3),
                           ("lab_results", 4)}
    finally:
        db.dispose()
