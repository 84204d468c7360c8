"""Append-only, hash-chained audit trail written in the same transaction as the change.

Every flush that creates, updates or deletes a row of an audited table (every table except sessions,
login counters, database metadata and the audit table itself) appends one :class:`AuditEvent` per row
through the flushing session's own connection: the event commits with the change or rolls back with
it. Exports and reports are recorded with :func:`record`.

Chain
-----
Each event stores ``row_sha256`` (SHA-256 of the row as stored after the change, re-read from the
database; ``None`` after a delete), ``prev_sha256`` (the previous event's ``sha256``; 64 zeros for the
first) and ``sha256 = SHA-256(prev_sha256 || canonical JSON of the event's fields)``. :func:`verify`
recomputes the chain and compares every audited row with the digest of its last event, so a change
made behind the application's back (raw SQL on an audit event *or* on a data row, a deleted or
inserted row) is found and the first bad row is named.

Concurrency: on PostgreSQL the tail of the chain is read under a transaction-level advisory lock; on
SQLite write sessions start with ``BEGIN IMMEDIATE`` (:mod:`redif.registry.db`). ``seq`` is unique,
so a forked chain cannot be committed.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import logging
import uuid
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, delete, event, insert, inspect, select, text
from sqlalchemy.orm import Session, sessionmaker

from redif.registry.audit_anchor import (
    CHECKPOINT_FILE,
    ENV_KEY,
    KEY_FILE,
    AuditKeyring,
    Checkpoint,
    database_label,
)
from redif.registry.models import AuditEvent, Base, MetaEntry, Patient, utcnow

__all__ = [
    "DEFERRED_KEY",
    "GENESIS",
    "META_CHAIN_ID",
    "META_KEYED_FROM",
    "AuditProblem",
    "ChainInfo",
    "VerifyReport",
    "audited_tables",
    "defer",
    "install",
    "keyring_for",
    "note_list_read",
    "note_patient_read",
    "record",
    "record_login_failed",
    "register_keyring",
    "row_digest",
    "take_deferred",
    "verify",
]

GENESIS = "0" * 64
#: ``registry_meta`` key of the chain id (the chain key is derived from it).
META_CHAIN_ID = "audit_chain_id"
#: ``registry_meta`` key of the first ``seq`` hashed with the keyed HMAC (earlier: public SHA-256).
META_KEYED_FROM = "audit_keyed_from_seq"
#: ``session.info`` key of the events deferred to the end of the session (:func:`defer`).
DEFERRED_KEY = "_audit_deferred"
_DEFERRED = DEFERRED_KEY
_TOUCHED = "_audit_touched_patients"
log = logging.getLogger("redif.audit")
_ADVISORY_KEY = 0x7265646966  # "redif"
_SECRET_COLUMNS = {"password_hash", "token_sha256"}


def audited_tables() -> dict[str, Table]:
    """The tables the audit trail tracks, by name."""
    out: dict[str, Table] = {}
    for mapper in Base.registry.mappers:
        cls = mapper.class_
        if getattr(cls, "__audited__", True):
            table = mapper.local_table
            assert isinstance(table, Table)
            out[table.name] = table
    return out


def _canon(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dict):
        return {str(k): _canon(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canon(v) for v in value]
    return value


def _dumps(obj: Any) -> str:
    return json.dumps(_canon(obj), sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def row_digest(conn: Connection, table: Table, pk: Any) -> str | None:
    """SHA-256 of one row as stored (``None`` when the row does not exist)."""
    pk_col = next(iter(table.primary_key.columns))
    try:
        row = conn.execute(select(table).where(pk_col == pk)).mappings().first()
    except (ValueError, TypeError) as exc:  # a value altered into something its type cannot read
        return f"unreadable: {type(exc).__name__}"
    if row is None:
        return None
    return hashlib.sha256(_dumps({"table": table.name, **dict(row)}).encode()).hexdigest()


def _audit_rows(conn: Connection) -> list[dict[str, Any]]:
    """Audit events in ``seq`` order, read without type conversion (a tampered value must be reported,
    not crash the check); timestamps are parsed here."""
    t = AuditEvent.__table__
    cols = ", ".join(c.name for c in t.columns)
    out = []
    for raw in conn.exec_driver_sql(f"SELECT {cols} FROM audit_events ORDER BY seq").mappings():
        ev = dict(raw)
        ts = ev["occurred_at"]
        if isinstance(ts, str):
            with contextlib.suppress(ValueError):  # else left as text: its hash no longer matches
                ev["occurred_at"] = datetime.fromisoformat(ts)
        out.append(ev)
    return out


def _event_hash(prev: str, fields: dict[str, Any], key: bytes | None = None) -> str:
    """The chain hash of one event: HMAC-SHA256 with the chain key, or the legacy public SHA-256
    (``key=None``, events before ``registry_meta.audit_keyed_from_seq``)."""
    msg = (prev + _dumps(fields)).encode()
    if key is None:
        return hashlib.sha256(msg).hexdigest()
    return hmac.new(key, msg, hashlib.sha256).hexdigest()


def _hashed_fields(ev: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "seq",
        "occurred_at",
        "actor",
        "action",
        "entity",
        "entity_id",
        "site_id",
        "details",
        "row_sha256",
    )
    return {k: ev[k] for k in keys}


def _tail(conn: Connection) -> tuple[int, str]:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_KEY})
    t = AuditEvent.__table__
    row = conn.execute(select(t.c.seq, t.c.sha256).order_by(t.c.seq.desc()).limit(1)).first()
    if row is None:
        return 0, GENESIS
    return int(row[0]), str(row[1])


@dataclass(frozen=True)
class ChainInfo:
    """The database's chain markers in ``registry_meta``: its id and the first keyed ``seq``."""

    chain_id: str
    keyed_from: int


def _read_chain(conn: Connection) -> ChainInfo | None:
    m = MetaEntry.__table__
    rows = dict(
        conn.execute(select(m.c.key, m.c.value).where(m.c.key.in_([META_CHAIN_ID, META_KEYED_FROM]))).all()
    )
    if META_CHAIN_ID not in rows or META_KEYED_FROM not in rows:
        return None
    try:
        return ChainInfo(str(rows[META_CHAIN_ID]), int(rows[META_KEYED_FROM]))
    except ValueError:
        return None


def _chain_for_append(conn: Connection, keyring: AuditKeyring, tail_seq: int) -> ChainInfo:
    """The chain markers, written on the first append (a database made before the keyed chain switches
    to it at its next event, and the switch is recorded). Called with the chain's lock held."""
    cached: ChainInfo | None = keyring.chain_cache
    if cached is not None:
        return cached
    found = _read_chain(conn)
    if found is not None:
        keyring.chain_cache = found  # committed by an earlier transaction: safe to keep
        return found
    info = ChainInfo(uuid.uuid4().hex, tail_seq + 1)
    m = cast(Table, MetaEntry.__table__)
    conn.execute(delete(m).where(m.c.key.in_([META_CHAIN_ID, META_KEYED_FROM])))
    conn.execute(
        insert(m),
        [
            {"key": META_CHAIN_ID, "value": info.chain_id},
            {"key": META_KEYED_FROM, "value": str(info.keyed_from)},
        ],
    )
    return info


def _append(conn: Connection, events: Iterable[dict[str, Any]], info: dict[str, Any]) -> None:
    """Append ``events`` to the chain in ``conn``'s transaction; remember the new head in ``info`` (the
    session's) for the checkpoint written after the commit."""
    keyring = keyring_for(conn.engine)
    seq, prev = _tail(conn)
    chain = _chain_for_append(conn, keyring, seq)
    key = keyring.chain_key(chain.chain_id)
    rows = []
    for ev in events:
        seq += 1
        ev = {**ev, "seq": seq, "prev_sha256": prev}
        ev["sha256"] = _event_hash(prev, _hashed_fields(ev), key if seq >= chain.keyed_from else None)
        rows.append(ev)
        prev = ev["sha256"]
    if rows:
        conn.execute(insert(AuditEvent), rows)  # one executemany for a batch
    info["_audit_head"] = (chain, seq, prev)


def _site_of(conn: Connection, obj: Any) -> int | None:
    site = getattr(obj, "site_id", None)
    if site is not None:
        return int(site)
    patient_id = getattr(obj, "patient_id", None)
    if patient_id is not None:
        pt = Patient.__table__
        found = conn.execute(select(pt.c.site_id).where(pt.c.id == patient_id)).scalar()
        return None if found is None else int(found)
    return None


def _changes(obj: Any) -> dict[str, Any]:
    state = inspect(obj)
    out: dict[str, Any] = {}
    for attr in state.mapper.column_attrs:
        key = attr.key
        hist = state.attrs[key].history
        if hist.has_changes():
            new = hist.added[0] if hist.added else None
            out[key] = "<redacted>" if key in _SECRET_COLUMNS else _canon(new)
    return out


def _pk(obj: Any) -> Any:
    ident = inspect(obj).mapper.primary_key_from_instance(obj)
    return ident[0] if ident else None


def _touched_patient(obj: Any) -> str | None:
    if isinstance(obj, Patient):
        pk = _pk(obj)
        return None if pk is None else str(pk)
    pid = getattr(obj, "patient_id", None)
    return None if pid is None else str(pid)


def _write_deferred(session: Session) -> None:
    """Append the session's deferred events (reads, failed sign-ins) in its transaction. Reads of a
    patient that this transaction also changed or exported are left out: its own event names it."""
    if not session.info.get(_DEFERRED):
        return
    session.flush()  # the write events first, so that ``touched`` is complete
    deferred: list[dict[str, Any]] = session.info.pop(_DEFERRED, [])
    touched: set[str] = session.info.get(_TOUCHED, set())
    events = [
        e
        for e in deferred
        if not (e["action"] == "read" and e["entity_id"] is not None and e["entity_id"] in touched)
    ]
    if events:
        _append(session.connection(), events, session.info)


def install(factory: sessionmaker[Session]) -> None:
    """Attach the audit hooks to every session made by ``factory``."""

    @event.listens_for(factory, "before_flush")
    def _before_flush(session: Session, _ctx: Any, _instances: Any) -> None:
        for obj in list(session.dirty) + list(session.deleted):
            if isinstance(obj, AuditEvent):
                raise RuntimeError("audit events are append-only")
        pending: list[tuple[str, Any, dict[str, Any]]] = session.info.setdefault("_audit_pending", [])
        for obj in session.dirty:
            if getattr(type(obj), "__audited__", False) and session.is_modified(
                obj, include_collections=False
            ):
                pending.append(("update", obj, _changes(obj)))
        for obj in session.deleted:
            if getattr(type(obj), "__audited__", False):
                pending.append(("delete", obj, {}))
        for obj in session.new:
            if getattr(type(obj), "__audited__", False):
                pending.append(("create", obj, {}))

    @event.listens_for(factory, "after_flush")
    def _after_flush(session: Session, _ctx: Any) -> None:
        pending = session.info.pop("_audit_pending", [])
        if not pending:
            return
        conn = session.connection()
        actor = str(session.info.get("actor") or "system")
        now = utcnow()
        events = []
        touched: set[str] = session.info.setdefault(_TOUCHED, set())
        for action, obj, details in pending:
            table = type(obj).__table__
            pk = _pk(obj)
            if action == "create":
                details = {k: v for k, v in _changes(obj).items() if v is not None}
            tp = _touched_patient(obj)
            if tp is not None:
                touched.add(tp)
            events.append(
                {
                    "occurred_at": now,
                    "actor": actor,
                    "action": action,
                    "entity": table.name,
                    "entity_id": None if pk is None else str(pk),
                    "site_id": _site_of(conn, obj),
                    "details": _dumps(details),
                    "row_sha256": None if action == "delete" else row_digest(conn, table, pk),
                }
            )
        _append(conn, events, session.info)

    @event.listens_for(factory, "before_commit")
    def _before_commit(session: Session) -> None:
        _write_deferred(session)

    @event.listens_for(factory, "after_commit")
    def _after_commit(session: Session) -> None:
        if session.in_nested_transaction():  # a SAVEPOINT released (SQLAlchemy fires after_commit for it)
            return
        session.info.pop(_TOUCHED, None)
        head = session.info.pop("_audit_head", None)
        if head is not None:
            chain, seq, sha = head
            keyring = keyring_for(session.get_bind())
            if keyring.chain_cache is None:
                keyring.chain_cache = chain  # committed now
            keyring.append_checkpoint(chain.chain_id, chain.keyed_from, seq, sha)

    @event.listens_for(factory, "after_rollback")
    def _after_rollback(session: Session) -> None:
        session.info.pop("_audit_pending", None)
        session.info.pop("_audit_head", None)
        session.info.pop(_TOUCHED, None)


def _event(
    session: Session,
    *,
    action: str,
    entity: str,
    entity_id: Any,
    site_id: int | None,
    details: dict[str, Any] | None,
) -> dict[str, Any]:
    return {
        "occurred_at": utcnow(),
        "actor": str(session.info.get("actor") or "system"),
        "action": action,
        "entity": entity,
        "entity_id": None if entity_id is None else str(entity_id),
        "site_id": site_id,
        "details": _dumps(details or {}),
        "row_sha256": None,
    }


def record(
    session: Session,
    *,
    action: str,
    entity: str,
    entity_id: Any = None,
    site_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append an event that is not a row change (``export``, ``report``, ``login``) in ``session``'s
    transaction; it commits with the session."""
    if entity == "patients" and entity_id is not None:
        session.info.setdefault(_TOUCHED, set()).add(str(entity_id))
    ev = _event(session, action=action, entity=entity, entity_id=entity_id, site_id=site_id, details=details)
    _append(session.connection(), [ev], session.info)


def defer(
    session: Session,
    *,
    action: str,
    entity: str,
    entity_id: Any = None,
    site_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Note an event to be written when ``session`` ends, without taking the write lock now.

    In a write session (:meth:`redif.registry.db.Database.write_session`) the event is appended in the
    same transaction just before it commits (and is lost with it on a rollback). In a read session
    (:meth:`redif.registry.db.Database.session`) it is handed, when the session closes, to the
    database's deferred writer (:class:`redif.registry.audit_writer.DeferredAuditWriter`), which writes
    the events of many requests in one write transaction and is flushed by
    :meth:`redif.registry.db.Database.flush_audit` and on a normal shutdown.
    """
    ev = _event(session, action=action, entity=entity, entity_id=entity_id, site_id=site_id, details=details)
    session.info.setdefault(_DEFERRED, []).append(ev)


def note_patient_read(session: Session, patient: Patient) -> None:
    """Record that patient-level data of ``patient`` was read (once per session and patient)."""
    seen: set[int] = session.info.setdefault("_audit_read_ids", set())
    if patient.id in seen:
        return
    seen.add(patient.id)
    defer(session, action="read", entity="patients", entity_id=patient.id, site_id=patient.site_id)


def note_list_read(session: Session, patients: Sequence[Patient], *, query: str | None = None) -> None:
    """Record one read event for a list of patients, naming the ids shown."""
    if not patients:
        return
    sites = {p.site_id for p in patients}
    details: dict[str, Any] = {"ids": [p.id for p in patients], "n": len(patients)}
    if query:
        details["q"] = query
    defer(
        session,
        action="read",
        entity="patients",
        site_id=sites.pop() if len(sites) == 1 else None,
        details=details,
    )


def record_login_failed(
    session: Session, *, username: str, ip: str | None, via: str, reason: str = "wrong credentials"
) -> None:
    """Record a failed sign-in (``action="login_failed"``, entity ``users``).

    Parameters
    ----------
    session
        A write session: the event commits with it (call it after the failure counter is updated, in
        the same transaction); a read session: the event is deferred (:func:`defer`).
    username
        The name that was tried (cut to 64 characters; the password is never recorded).
    ip
        The client address.
    via
        ``"form"`` (``POST /login``) or ``"token"`` (a bearer token that matches no live token).
    reason
        ``"wrong credentials"``, ``"locked out"``, ``"inactive"``, ...
    """
    details = {"username": username[:64], "ip": ip or "unknown", "via": via, "reason": reason}
    if session.info.get("_audit_write"):
        record(session, action="login_failed", entity="users", details=details)
    else:
        defer(session, action="login_failed", entity="users", details=details)


def take_deferred(session: Session) -> list[dict[str, Any]]:
    """Remove and return the events deferred in a read session (for the deferred writer)."""
    return list(session.info.pop(_DEFERRED, []))


@dataclass(frozen=True)
class AuditProblem:
    """One inconsistency found by :func:`verify` (``seq``: the audit event concerned, when there is one)."""

    table: str
    row_id: str
    message: str
    seq: int | None = None

    def __str__(self) -> str:
        if self.table in (KEY_FILE, CHECKPOINT_FILE):  # a file outside the database
            return f"{self.table} {self.row_id}: {self.message}"
        if self.table == "audit_events" and self.seq is not None:
            if self.row_id == "-":  # the event is gone
                return f"audit_events seq {self.seq}: {self.message}"
            return f"audit_events row id={self.row_id} (seq {self.seq}): {self.message}"
        return f"{self.table} row id={self.row_id}: {self.message}"


@dataclass(frozen=True)
class VerifyReport:
    """Result of :func:`verify`: ``ok`` and the problems in order (the first bad event first, then
    problems of the checkpoint file, then of data rows)."""

    ok: bool
    n_events: int
    n_rows_checked: int
    problems: list[AuditProblem] = field(default_factory=list)
    keyed_from_seq: int | None = None
    n_checkpoints: int = 0
    last_checkpoint_seq: int | None = None
    checkpoint_file: str | None = None

    @property
    def first_bad(self) -> AuditProblem | None:
        """The first problem (``None`` when the trail is intact)."""
        return self.problems[0] if self.problems else None

    @property
    def first_bad_event(self) -> AuditProblem | None:
        """The first problem that names an audit event by ``seq``."""
        return next((p for p in self.problems if p.seq is not None), None)

    def summary(self) -> str:
        """One line: the first bad event (by ``seq``) or row, or the counts when intact."""
        if self.ok:
            return (
                f"{self.n_events} events, {self.n_rows_checked} rows checked, keyed from seq "
                f"{self.keyed_from_seq}, {self.n_checkpoints} checkpoints "
                f"(last seq {self.last_checkpoint_seq})"
            )
        ev = self.first_bad_event
        if ev is not None:
            where = "" if ev.row_id == "-" else f"row id={ev.row_id}: "
            return f"first bad event: seq {ev.seq} ({where}{ev.message})"
        return f"first bad row: {self.first_bad}"

    def to_dict(self) -> dict[str, Any]:
        """Stable JSON keys (``redif audit verify --json``, ``GET /api/v1/audit/verify``)."""
        ev = self.first_bad_event
        return {
            "ok": self.ok,
            "n_events": self.n_events,
            "n_rows_checked": self.n_rows_checked,
            "keyed_from_seq": self.keyed_from_seq,
            "n_checkpoints": self.n_checkpoints,
            "last_checkpoint_seq": self.last_checkpoint_seq,
            "checkpoint_file": self.checkpoint_file,
            "first_bad": str(self.first_bad) if self.first_bad else None,
            "first_bad_seq": None if ev is None else ev.seq,
            "summary": self.summary(),
            "problems": [str(p) for p in self.problems],
            "problem_details": [
                {"table": p.table, "row_id": p.row_id, "seq": p.seq, "message": p.message}
                for p in self.problems
            ],
        }


def _check_chain(
    events: list[dict[str, Any]], chain: ChainInfo | None, key: bytes | None
) -> list[AuditProblem]:
    problems: list[AuditProblem] = []
    prev = GENESIS
    expected_seq = 1
    for ev in events:
        rid = str(ev["id"])
        try:
            seq_v: int | None = int(ev["seq"])
        except (TypeError, ValueError):
            seq_v = None
        at = seq_v if seq_v is not None else expected_seq
        if seq_v != expected_seq:
            problems.append(
                AuditProblem(
                    "audit_events",
                    rid,
                    f"sequence gap: expected seq {expected_seq}, found {ev['seq']} "
                    "(an event was deleted or inserted)",
                    seq=expected_seq,
                )
            )
        if ev["prev_sha256"] != prev:
            problems.append(
                AuditProblem(
                    "audit_events",
                    rid,
                    "chain broken: prev_sha256 does not match the previous event",
                    seq=at,
                )
            )
        keyed = chain is not None and at >= chain.keyed_from
        if keyed and key is None:
            pass  # reported once by the caller
        elif _event_hash(str(ev["prev_sha256"]), _hashed_fields(ev), key if keyed else None) != ev["sha256"]:
            what = "keyed HMAC" if keyed else "legacy public SHA-256"
            problems.append(
                AuditProblem(
                    "audit_events",
                    rid,
                    f"hash mismatch ({what}): the event was altered or the chain recomputed after it was "
                    "written",
                    seq=at,
                )
            )
        prev = ev["sha256"]
        expected_seq = at + 1
    return problems


def _range(first: int, last: int) -> str:
    return f"event {first} was" if first == last else f"events {first}..{last} were"


def _check_anchor(
    events: list[dict[str, Any]],
    chain: ChainInfo | None,
    keyring: AuditKeyring,
    lines: list[Checkpoint],
) -> tuple[list[AuditProblem], list[AuditProblem], list[Checkpoint]]:
    """Problems of events against the checkpoint file, and problems of the file itself."""
    ev_problems: list[AuditProblem] = []
    file_problems: list[AuditProblem] = []
    where = str(keyring.checkpoint_path)
    mine = [c for c in lines if chain is not None and c.chain_id == chain.chain_id]
    if chain is None:
        if lines:
            file_problems.append(
                AuditProblem(
                    "registry_meta",
                    META_CHAIN_ID,
                    f"missing, but {where} holds {len(lines)} checkpoint(s) of this database "
                    f"(chain {lines[-1].chain_id}): the chain markers were deleted",
                )
            )
        return ev_problems, file_problems, []
    for c in mine:
        if not c.mac_ok:
            file_problems.append(
                AuditProblem(
                    CHECKPOINT_FILE, f"line {c.line_no}", "MAC does not match (forged line or other key)"
                )
            )
        elif c.keyed_from != chain.keyed_from:
            file_problems.append(
                AuditProblem(
                    "registry_meta",
                    META_KEYED_FROM,
                    f"is {chain.keyed_from} but {where} line {c.line_no} records {c.keyed_from}: changed",
                )
            )
    good = [c for c in mine if c.mac_ok]
    last_seq = max((c.seq for c in good), default=None)
    by_seq: dict[int, dict[str, Any]] = {}
    for ev in events:
        with contextlib.suppress(TypeError, ValueError):
            by_seq.setdefault(int(ev["seq"]), ev)
    db_max = max(by_seq, default=0)
    if last_seq is not None and last_seq > db_max:
        ev_problems.append(
            AuditProblem(
                "audit_events",
                "-",
                f"missing: {where} records events up to seq {last_seq} but the database ends at seq "
                f"{db_max}: {_range(db_max + 1, last_seq)} deleted (truncation)",
                seq=db_max + 1,
            )
        )
    reported: set[int] = set()
    for c in sorted(good, key=lambda c: c.seq):
        at = by_seq.get(c.seq)
        if at is None or c.seq in reported:
            if at is None and c.seq <= db_max:
                ev_problems.append(
                    AuditProblem(
                        "audit_events", "-", f"missing: checkpointed at {where} line {c.line_no}", seq=c.seq
                    )
                )
            continue
        if at["sha256"] != c.head:
            reported.add(c.seq)
            ev_problems.append(
                AuditProblem(
                    "audit_events",
                    str(at["id"]),
                    f"differs from its checkpoint ({where} line {c.line_no}): the chain was recomputed or "
                    "the event replaced",
                    seq=c.seq,
                )
            )
    n_keyed = sum(1 for s in by_seq if s >= chain.keyed_from)
    if n_keyed and not good:
        file_problems.append(
            AuditProblem(
                CHECKPOINT_FILE,
                where,
                f"no checkpoint of this chain although {n_keyed} keyed event(s) exist: truncation cannot be "
                "ruled out (checkpoint file lost, or verified with another data directory)",
            )
        )
    return ev_problems, file_problems, good


def verify(conn: Connection, keyring: AuditKeyring | None = None) -> VerifyReport:
    """Check the hash chain (keyed from ``registry_meta.audit_keyed_from_seq`` on, public SHA-256 before),
    the events against the checkpoint file, and every audited row against its last audit event.

    ``keyring`` defaults to the one :func:`redif.registry.db.open_database` registered for the engine.
    """
    keyring = keyring or keyring_for(conn.engine)
    # the checkpoint file before the database: a line is appended only after its commit, so every line
    # read now names an event that the snapshot taken below must hold (no false "truncation" under load)
    all_lines = keyring.checkpoints(every=True)
    chain = _read_chain(conn)
    events = _audit_rows(conn)
    lines = [
        c
        for c in all_lines
        if c.label == keyring.label or (chain is not None and c.chain_id == chain.chain_id)
    ]
    problems_meta: list[AuditProblem] = []
    key: bytes | None = None
    if chain is not None and any(_seq_at_least(e, chain.keyed_from) for e in events):
        key = keyring.chain_key(chain.chain_id, create=False)
        if key is None:
            problems_meta.append(
                AuditProblem(
                    KEY_FILE,
                    str(keyring.key_path),
                    f"no audit key: set {ENV_KEY} or restore the key file from backup "
                    f"(events from seq {chain.keyed_from} on cannot be checked)",
                )
            )
    ev_problems = _check_chain(events, chain, key)
    anchor_ev, anchor_file, good = _check_anchor(events, chain, keyring, lines)
    ev_problems = sorted(ev_problems + anchor_ev, key=lambda p: p.seq if p.seq is not None else 0)
    last: dict[tuple[str, str], dict[str, Any]] = {}
    for ev in events:
        if ev["action"] in ("create", "update", "delete") and ev["entity_id"] is not None:
            last[(ev["entity"], ev["entity_id"])] = ev
    row_problems: list[AuditProblem] = []
    n_rows = 0
    for name, table in audited_tables().items():
        pk_col = next(iter(table.primary_key.columns))
        seen: set[str] = set()
        for (pk,) in conn.execute(select(pk_col).order_by(pk_col)):
            n_rows += 1
            key_s = str(pk)
            seen.add(key_s)
            last_ev = last.get((name, key_s))
            if last_ev is None:
                row_problems.append(
                    AuditProblem(
                        name, key_s, "row has no audit event (written behind the application's back)"
                    )
                )
            elif last_ev["action"] == "delete":
                row_problems.append(
                    AuditProblem(name, key_s, "row exists but its last audit event is a delete")
                )
            elif row_digest(conn, table, pk) != last_ev["row_sha256"]:
                row_problems.append(
                    AuditProblem(
                        name,
                        key_s,
                        f"row differs from its last audited state (audit event id={last_ev['id']})",
                    )
                )
        for (entity, eid), ev in last.items():
            if entity == name and eid not in seen and ev["action"] != "delete":
                row_problems.append(AuditProblem(name, eid, "row was deleted without an audit event"))
    problems = problems_meta + ev_problems + anchor_file + row_problems
    return VerifyReport(
        ok=not problems,
        n_events=len(events),
        n_rows_checked=n_rows,
        problems=problems,
        keyed_from_seq=None if chain is None else chain.keyed_from,
        n_checkpoints=len(good),
        last_checkpoint_seq=max((c.seq for c in good), default=None),
        checkpoint_file=None if keyring.checkpoint_path is None else str(keyring.checkpoint_path),
    )


def _seq_at_least(ev: dict[str, Any], seq: int) -> bool:
    try:
        return int(ev["seq"]) >= seq
    except (TypeError, ValueError):
        return True


_KEYRINGS: weakref.WeakKeyDictionary[Engine, AuditKeyring] = weakref.WeakKeyDictionary()


def register_keyring(engine: Engine, keyring: AuditKeyring) -> None:
    """Make ``keyring`` the one used for ``engine`` (called by :func:`redif.registry.db.open_database`)."""
    _KEYRINGS[engine] = keyring


def keyring_for(bind: Any) -> AuditKeyring:
    """The keyring registered for an engine (a keyring without a data directory when none is: the key
    then comes only from ``REDIF_AUDIT_KEY``)."""
    engine = bind.engine if isinstance(bind, Connection) else bind
    found = _KEYRINGS.get(engine)
    if found is None:
        found = AuditKeyring(None, database_label(engine.url))
        _KEYRINGS[engine] = found
    return found
