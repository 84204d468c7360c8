"""Audit trail: same-transaction events, rollback, append-only, tamper detection naming the row."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

import pytest
from registry_world import make_world  # type: ignore[import-not-found]
from sqlalchemy import func, select, text

from redif.registry import audit
from redif.registry import patients as reg
from redif.registry.db import Database
from redif.registry.models import AuditEvent, Patient


def _events(db: Database) -> list[SimpleNamespace]:
    t = AuditEvent.__table__
    with db.engine.connect() as conn:
        return [SimpleNamespace(**dict(r)) for r in conn.execute(select(t).order_by(t.c.seq)).mappings()]


def test_create_update_delete_and_export_are_audited(db: Database) -> None:
    w = make_world(db)
    p = w.principals["clin_a"]
    n0 = len(_events(db))
    with db.write_session(actor="clin_a") as s:
        pid = reg.create_patient(s, p, {"pseudonym": "A-1"}).id
        reg.add_record(s, p, pid, "genotypes", {"gene": "BRAF", "variant": "V600E"})
    with db.write_session(actor="clin_a") as s:
        reg.update_patient(s, p, pid, {"histology": "papillary"})
    with db.write_session(actor="clin_a") as s:
        audit.record(s, action="export", entity="patients", entity_id=pid, details={"format": "csv"})
    with db.write_session(actor="admin") as s:
        reg.delete_patient(s, w.principals["admin"], pid)
    ev = _events(db)[n0:]
    got = [(e.action, e.entity) for e in ev]
    assert got[:4] == [
        ("create", "patients"),
        ("create", "genotypes"),
        ("update", "patients"),
        ("export", "patients"),
    ]
    assert sorted(got[4:]) == [("delete", "genotypes"), ("delete", "patients")]
    assert ev[0].actor == "clin_a" and ev[-1].actor == "admin"
    assert '"histology":"papillary"' in ev[2].details
    assert all(e.site_id == w.site_a for e in ev[:3])
    with db.engine.connect() as conn:
        rep = audit.verify(conn)
    assert rep.ok, rep.problems


def test_rollback_leaves_no_audit_row(db: Database) -> None:
    w = make_world(db)
    n0 = len(_events(db))
    with pytest.raises(RuntimeError, match="boom"), db.write_session(actor="clin_a") as s:
        reg.create_patient(s, w.principals["clin_a"], {"pseudonym": "A-1"})
        s.flush()
        assert s.execute(select(func.count(AuditEvent.id))).scalar_one() == n0 + 1  # written in the txn
        raise RuntimeError("boom")
    assert len(_events(db)) == n0
    with db.session() as s:
        assert s.execute(select(func.count(Patient.id))).scalar_one() == 0
    with db.engine.connect() as conn:
        assert audit.verify(conn).ok


def test_audit_events_are_append_only_through_the_orm(db: Database) -> None:
    make_world(db)
    with pytest.raises(RuntimeError, match="append-only"), db.write_session() as s:
        ev = s.execute(select(AuditEvent)).scalars().first()
        assert ev is not None
        ev.actor = "mallory"
        s.flush()


@pytest.mark.parametrize(
    "tamper, expect",
    [
        (
            "UPDATE patients SET histology = 'forged' WHERE pseudonym = 'A-2'",
            "patients row id={pid2}: row differs",
        ),
        (
            "UPDATE audit_events SET actor = 'mallory' WHERE seq = 3",
            "audit_events row id={ev3}: hash mismatch",
        ),
        ("DELETE FROM audit_events WHERE seq = 3", "audit_events row id={ev4}: sequence gap"),
        (
            "INSERT INTO lab_results (id, patient_id, analyte, value, unit, created_at) "
            "SELECT 1, id, 'Tg', 1.0, 'ng/mL', CURRENT_TIMESTAMP FROM patients WHERE pseudonym = 'A-1'",
            "lab_results row id=1: row has no audit event",
        ),
    ],
)
def test_tampering_is_found_and_named(db: Database, tamper: str, expect: str) -> None:
    """A change made with raw SQL behind the application's back is found; the first bad row is named."""
    w = make_world(db)
    with db.write_session(actor="clin_a") as s:
        reg.create_patient(s, w.principals["clin_a"], {"pseudonym": "A-1"})
        pid2 = reg.create_patient(s, w.principals["clin_a"], {"pseudonym": "A-2"}).id
    ids = {e.seq: e.id for e in _events(db)}
    with db.engine.connect() as conn:
        assert audit.verify(conn).ok
    with db.engine.begin() as conn:
        conn.execute(text(tamper))
    with db.engine.connect() as conn:
        rep = audit.verify(conn)
    assert not rep.ok
    assert str(rep.first_bad).startswith(expect.format(pid2=pid2, ev3=ids[3], ev4=ids[4]).split(":")[0])
    assert expect.format(pid2=pid2, ev3=ids[3], ev4=ids[4]).split(": ")[1] in str(rep.first_bad)


def test_cli_audit_verify_exit_status(db: Database) -> None:
    """`redif audit verify --database-url` exits 0 on an intact trail, 1 naming the altered row."""
    w = make_world(db)
    with db.write_session(actor="clin_a") as s:
        pid = reg.create_patient(s, w.principals["clin_a"], {"pseudonym": "A-1"}).id
    url = db.engine.url.render_as_string(hide_password=False)
    assert db.keyring is not None and db.keyring.data_dir is not None
    ddir = str(db.keyring.data_dir)  # where the audit key and the checkpoint file are
    if db.is_sqlite:  # the intact case once (process start-up is slow); the broken case on both backends
        ok = subprocess.run(
            [sys.executable, "-m", "redif", "audit", "verify", "--database-url", url, "--data-dir", ddir],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert ok.returncode == 0, ok.stderr
        assert "intact" in ok.stdout
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE patients SET birth_year = 1900 WHERE id = :i"), {"i": pid})
    bad = subprocess.run(
        [sys.executable, "-m", "redif", "audit", "verify", "--database-url", url, "--data-dir", ddir],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 1
    assert f"patients row id={pid}" in bad.stderr
