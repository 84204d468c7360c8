"""Issue 9, Medium 4: audit trail gaps.

Before the fix the chain used a public SHA-256 and nothing outside the database anchored it: deleting the
last audit rows still verified as intact, a changed row with the chain recomputed verified too, and reads
of patient data were not audited. Expected values: the ``seq`` named as the first bad event is the one
the test itself deleted or changed (the tampering is the independent source); read events are expected
by the issue's requirement (one ``read`` event naming the patient per read request).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import stat
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from web_world import Env  # type: ignore[import-not-found]

from redif.errors import InputError
from redif.registry import audit
from redif.registry.audit_anchor import CHECKPOINT_FILE, KEY_FILE, AuditKeyring
from redif.registry.db import Database
from redif.registry.models import AuditEvent

_FIELDS = ("seq", "occurred_at", "actor", "action", "entity", "entity_id", "site_id", "details", "row_sha256")


def _db(env: Env) -> Database:
    db: Database = env.app.state.db
    return db


def _write_some(env: Env, n: int = 4) -> None:
    """A few audited writes through the API (each commit writes events and a checkpoint)."""
    c = env.client()
    for i in range(n):
        r = c.patch(
            f"/api/v1/patients/{env.patient_a}",
            json={"birth_year": 1950 + i},  # every write changes the row (histology is coded since issue 10)
            headers=env.bearer("clin_a"),
        )
        assert r.status_code == 200, r.text
    _db(env).flush_audit()


def _max_seq(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(text("SELECT max(seq) FROM audit_events")).scalar_one())


def _verify(db: Database) -> audit.VerifyReport:
    db.flush_audit()
    with db.engine.connect() as conn:
        return audit.verify(conn)


def _rechain_from(db: Database, seq: int, key: bytes | None) -> None:
    """Recompute ``sha256``/``prev_sha256`` of every event from ``seq`` on, as an attacker with database
    access would: with the public SHA-256 (``key=None``) or an HMAC under a key of their own."""
    t = AuditEvent.__table__
    with db.engine.begin() as conn:
        rows = [dict(r) for r in conn.execute(select(t).order_by(t.c.seq)).mappings()]
        prev = next(r["sha256"] for r in rows if r["seq"] == seq - 1) if seq > 1 else audit.GENESIS
        for r in rows:
            if r["seq"] < seq:
                continue
            fields = {k: r[k] for k in _FIELDS}
            msg = (prev + audit._dumps(fields)).encode()
            sha = hmac.new(key, msg, hashlib.sha256).hexdigest() if key else hashlib.sha256(msg).hexdigest()
            conn.execute(
                t.update().where(t.c.id == r["id"]).values(prev_sha256=prev, sha256=sha),
            )
            prev = sha


def test_truncation_of_the_last_rows_is_detected(env_any: Env) -> None:
    """Issue 9, Medium 4: ``delete from audit_events where seq >= N`` is found; seq N is named."""
    db = _db(env_any)
    _write_some(env_any)
    assert _verify(db).ok
    cut = _max_seq(db) - 3
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE seq >= :s"), {"s": cut})
    rep = _verify(db)
    assert not rep.ok
    assert rep.first_bad_event is not None and rep.first_bad_event.seq == cut
    assert "truncation" in str(rep.first_bad_event)


def test_truncation_of_only_the_last_event_is_detected(env_any: Env) -> None:
    """Issue 9, Medium 4: deleting only the very last event is found (the checkpoint names its seq)."""
    db = _db(env_any)
    _write_some(env_any, 2)
    last = _max_seq(db)
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE seq = :s"), {"s": last})
    rep = _verify(db)
    assert not rep.ok
    assert rep.first_bad_event is not None and rep.first_bad_event.seq == last


@pytest.mark.parametrize("attacker_key", [None, "own"], ids=["public-sha256", "hmac-without-the-key"])
def test_changed_row_with_recomputed_chain_is_detected(env_any: Env, attacker_key: str | None) -> None:
    """Issue 9, Medium 4: an event altered and the chain recomputed (with the public SHA-256, or with an
    HMAC under a key other than the server's) is found, naming the altered event's seq."""
    db = _db(env_any)
    _write_some(env_any)
    victim = _max_seq(db) - 2
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET actor = 'mallory' WHERE seq = :s"), {"s": victim})
    _rechain_from(db, victim, None if attacker_key is None else secrets.token_bytes(32))
    rep = _verify(db)
    assert not rep.ok
    assert rep.first_bad_event is not None and rep.first_bad_event.seq == victim
    assert "hash mismatch" in str(rep.first_bad_event)


def test_cli_verify_exit_status_and_json(env: Env) -> None:
    """Issue 9, Medium 4: ``redif audit verify`` exits 0 when intact and 1 naming
    ``first bad event: seq N`` after a truncation; ``--json`` has stable keys."""
    db = _db(env)
    _write_some(env, 2)
    assert db.keyring is not None and db.keyring.data_dir is not None
    cmd = [sys.executable, "-m", "redif", "audit", "verify", "--database-url", db.url]
    cmd += ["--data-dir", str(db.keyring.data_dir)]
    run_env = {**os.environ, "PYTHONPATH": str(Path(audit.__file__).resolve().parents[2])}
    ok = subprocess.run([*cmd, "--json"], capture_output=True, text=True, timeout=120, env=run_env)
    assert ok.returncode == 0, ok.stderr
    out = json.loads(ok.stdout)
    for key in (
        "ok",
        "n_events",
        "keyed_from_seq",
        "n_checkpoints",
        "first_bad",
        "first_bad_seq",
        "problems",
    ):
        assert key in out
    assert out["ok"] is True and out["keyed_from_seq"] == 1 and out["n_checkpoints"] >= 1
    last = _max_seq(db)
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE seq = :s"), {"s": last})
    bad = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=run_env)
    assert bad.returncode == 1
    assert f"first bad event: seq {last} " in bad.stderr


def _read_events(db: Database, start: int) -> list[dict[str, Any]]:
    db.flush_audit()
    t = AuditEvent.__table__
    with db.engine.connect() as conn:
        q = select(t).where(t.c.seq > start, t.c.action == "read").order_by(t.c.seq)
        return [dict(r) for r in conn.execute(q).mappings()]


@pytest.mark.parametrize(
    "path, via",
    [
        ("/api/v1/patients/{pid}", "api"),
        ("/api/v1/patients/{pid}/assessment", "api"),
        ("/api/v1/patients/{pid}/dosimetry", "api"),
        ("/patients/{pid}", "page"),
        ("/patients/{pid}/assessment", "page"),
        ("/patients/{pid}/response", "page"),
        ("/patients/{pid}/dosimetry", "page"),
        ("/patients/{pid}/protocol.ics", "page"),
    ],
)
def test_a_read_of_patient_data_writes_a_read_event(env_any: Env, path: str, via: str) -> None:
    """Issue 9, Medium 4: a read of a patient (page, API, assessment, response, dosimetry, .ics) writes
    a ``read`` event naming the reader, the patient and its site."""
    db = _db(env_any)
    db.flush_audit()
    start = _max_seq(db)
    url = path.format(pid=env_any.patient_a)
    if via == "api":
        r = env_any.client().get(url, headers=env_any.bearer("clin_a"))
    else:
        c, _csrf = env_any.login("clin_a")  # signing in shows the list page: its read is written first
        db.flush_audit()
        start = _max_seq(db)
        r = c.get(url)
    # patient A has no protocol: the .ics answers 422, but the patient's data was read all the same
    assert r.status_code == (422 if url.endswith(".ics") else 200), r.text
    reads = [e for e in _read_events(db, start) if e["entity_id"] == str(env_any.patient_a)]
    # one per database session that loaded the patient (a page may use two: at least one, all named)
    assert reads, "no read event"
    assert all(e["actor"] == "clin_a" and e["entity"] == "patients" for e in reads)
    assert all(e["site_id"] is not None for e in reads)
    assert _verify(db).ok


def test_a_patient_list_writes_one_read_event_naming_the_ids(env_any: Env) -> None:
    """Issue 9, Medium 4: a list read writes one event naming the patient ids shown."""
    db = _db(env_any)
    db.flush_audit()
    start = _max_seq(db)
    r = env_any.client().get("/api/v1/patients", headers=env_any.bearer("coord"))
    assert r.status_code == 200
    shown = sorted(x["id"] for x in r.json()["items"])
    reads = _read_events(db, start)
    assert len(reads) == 1
    assert sorted(json.loads(reads[0]["details"])["ids"]) == shown


def test_key_file_is_owner_only_and_wider_modes_are_refused(env: Env, tmp_path: Path) -> None:
    """Issue 9, Medium 4: the key is outside the database in ``audit.key`` with mode 0600; a key file
    readable by others is refused with an error naming the file and the fix."""
    db = _db(env)
    assert db.keyring is not None and db.keyring.key_path is not None
    _write_some(env, 1)
    key_path = db.keyring.key_path
    assert key_path.name == KEY_FILE
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert (key_path.parent / CHECKPOINT_FILE).exists()
    with db.engine.connect() as conn:  # the key is not in the database
        key_hex = key_path.read_text().strip()
        dump = " ".join(str(v) for r in conn.execute(text("SELECT * FROM registry_meta")) for v in r)
        assert key_hex not in dump
    other = tmp_path / "wide"
    other.mkdir()
    (other / KEY_FILE).write_text(secrets.token_hex(32))
    (other / KEY_FILE).chmod(0o644)
    with pytest.raises(InputError, match="chmod 600"):
        AuditKeyring(other, "x").master_key()


def test_key_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Issue 9, Medium 4: ``REDIF_AUDIT_KEY`` (hex) is used instead of a key file; a short key is refused."""
    key = secrets.token_hex(32)
    monkeypatch.setenv("REDIF_AUDIT_KEY", key)
    ring = AuditKeyring(tmp_path, "x")
    assert ring.master_key() == bytes.fromhex(key)
    assert not (tmp_path / KEY_FILE).exists()
    monkeypatch.setenv("REDIF_AUDIT_KEY", "abcd")
    with pytest.raises(InputError, match="32 bytes"):
        AuditKeyring(tmp_path, "y").master_key()


def test_legacy_public_chain_still_verifies_and_switches_to_the_keyed_scheme(env_any: Env) -> None:
    """Issue 9, Medium 4: a trail written before the keyed chain (public SHA-256, no markers, no
    checkpoint file) still verifies; the next event starts the keyed scheme and records its seq."""
    db = _db(env_any)
    assert db.keyring is not None and db.keyring.checkpoint_path is not None
    n = _max_seq(db)
    with db.engine.begin() as conn:  # make it look like a database made before the change
        conn.execute(text("DELETE FROM registry_meta WHERE key LIKE 'audit_%'"))
    _rechain_from(db, 1, None)
    db.keyring.checkpoint_path.unlink()
    db.keyring.chain_cache = None
    rep = _verify(db)
    assert rep.ok, rep.problems
    assert rep.keyed_from_seq is None
    _write_some(env_any, 1)
    rep = _verify(db)
    assert rep.ok, rep.problems
    assert rep.keyed_from_seq == n + 1
    with db.engine.begin() as conn:  # tampering with a legacy event is still found
        conn.execute(text("UPDATE audit_events SET actor = 'mallory' WHERE seq = 2"))
    rep = _verify(db)
    assert rep.first_bad_event is not None and rep.first_bad_event.seq == 2


def test_deleting_the_chain_markers_is_detected(env_any: Env) -> None:
    """Issue 9, Medium 4: deleting the keyed-scheme markers (to pass the chain off as legacy) is found."""
    db = _db(env_any)
    _write_some(env_any, 1)
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM registry_meta WHERE key LIKE 'audit_%'"))
    _rechain_from(db, 1, None)
    rep = _verify(db)
    assert not rep.ok
    assert any("chain markers were deleted" in str(p) for p in rep.problems)


def test_record_login_failed_writes_an_event_in_write_and_read_sessions(env_any: Env) -> None:
    """Issue 9, Medium 4: the function the sign-in code calls for a failed login writes a
    ``login_failed`` event (in the write transaction, or deferred from a read session such as a bearer
    token lookup) with the username tried and the address, never the password. The calls from
    ``POST /login`` and the bearer-token check belong to the sign-in code (helper authweb)."""
    db = _db(env_any)
    db.flush_audit()
    start = _max_seq(db)
    with db.write_session(actor="anonymous") as s:
        audit.record_login_failed(s, username="clin_a", ip="10.0.0.9", via="form")
    with db.session(actor="anonymous") as s:
        audit.record_login_failed(s, username="?", ip="10.0.0.9", via="token", reason="unknown token")
    db.flush_audit()
    t = AuditEvent.__table__
    with db.engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(select(t).where(t.c.seq > start).order_by(t.c.seq)).mappings()]
    assert [r["action"] for r in rows] == ["login_failed", "login_failed"]
    assert [json.loads(r["details"])["via"] for r in rows] == ["form", "token"]
    assert json.loads(rows[0]["details"])["username"] == "clin_a"
    assert _verify(db).ok


def test_verify_during_writes_reports_no_false_truncation(env: Env) -> None:
    """Issue 9, Medium 4: ``verify`` run while other requests commit (and append checkpoints) stays
    intact: the checkpoint file is read before the database snapshot, so a line never names an event
    the snapshot cannot hold (expected: every one of the runs is intact)."""
    db = _db(env)
    stop = threading.Event()

    def writer() -> None:
        c = env.client()
        i = 0
        while not stop.is_set():
            i += 1
            c.patch(
                f"/api/v1/patients/{env.patient_a}", json={"birth_year": 1940 + i % 50},
                headers=env.bearer("clin_a"),
            )
            c.get(f"/api/v1/patients/{env.patient_a}", headers=env.bearer("clin_a"))

    t = threading.Thread(target=writer)
    t.start()
    try:
        reports = []
        for _ in range(8):
            with db.engine.connect() as conn:
                reports.append(audit.verify(conn))
    finally:
        stop.set()
        t.join()
    assert all(r.ok for r in reports), [r.problems for r in reports if not r.ok]
    assert _verify(db).ok
