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
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Table, event, insert, inspect, select, text
from sqlalchemy.orm import Session, sessionmaker

from redif.registry.models import AuditEvent, Base, utcnow

__all__ = [
    "GENESIS",
    "AuditProblem",
    "VerifyReport",
    "audited_tables",
    "install",
    "record",
    "row_digest",
    "verify",
]

GENESIS = "0" * 64
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


def _event_hash(prev: str, fields: dict[str, Any]) -> str:
    return hashlib.sha256((prev + _dumps(fields)).encode()).hexdigest()


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


def _append(conn: Connection, events: Iterable[dict[str, Any]]) -> None:
    seq, prev = _tail(conn)
    for ev in events:
        seq += 1
        ev = {**ev, "seq": seq, "prev_sha256": prev}
        ev["sha256"] = _event_hash(prev, _hashed_fields(ev))
        conn.execute(insert(AuditEvent).values(**ev))
        prev = ev["sha256"]


def _site_of(conn: Connection, obj: Any) -> int | None:
    site = getattr(obj, "site_id", None)
    if site is not None:
        return int(site)
    patient_id = getattr(obj, "patient_id", None)
    if patient_id is not None:
        from redif.registry.models import Patient

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
        for action, obj, details in pending:
            table = type(obj).__table__
            pk = _pk(obj)
            if action == "create":
                details = {k: v for k, v in _changes(obj).items() if v is not None}
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
        _append(conn, events)

    @event.listens_for(factory, "after_rollback")
    def _after_rollback(session: Session) -> None:
        session.info.pop("_audit_pending", None)


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
    conn = session.connection()
    _append(
        conn,
        [
            {
                "occurred_at": utcnow(),
                "actor": str(session.info.get("actor") or "system"),
                "action": action,
                "entity": entity,
                "entity_id": None if entity_id is None else str(entity_id),
                "site_id": site_id,
                "details": _dumps(details or {}),
                "row_sha256": None,
            }
        ],
    )


@dataclass(frozen=True)
class AuditProblem:
    """One inconsistency found by :func:`verify`."""

    table: str
    row_id: str
    message: str

    def __str__(self) -> str:
        return f"{self.table} row id={self.row_id}: {self.message}"


@dataclass(frozen=True)
class VerifyReport:
    """Result of :func:`verify`: ``ok`` and the problems in order (the first bad row first)."""

    ok: bool
    n_events: int
    n_rows_checked: int
    problems: list[AuditProblem] = field(default_factory=list)

    @property
    def first_bad(self) -> AuditProblem | None:
        """The first problem (``None`` when the trail is intact)."""
        return self.problems[0] if self.problems else None


def verify(conn: Connection) -> VerifyReport:
    """Check the hash chain and every audited row against its last audit event."""
    problems: list[AuditProblem] = []
    prev = GENESIS
    expected_seq = 1
    last: dict[tuple[str, str], dict[str, Any]] = {}
    n = 0
    for ev in _audit_rows(conn):
        n += 1
        rid = str(ev["id"])
        try:
            seq_v: int | None = int(ev["seq"])
        except (TypeError, ValueError):
            seq_v = None
        if seq_v != expected_seq:
            problems.append(
                AuditProblem(
                    "audit_events",
                    rid,
                    f"sequence gap: expected seq {expected_seq}, found {ev['seq']} "
                    "(an event was deleted or inserted)",
                )
            )
        if ev["prev_sha256"] != prev:
            problems.append(
                AuditProblem(
                    "audit_events", rid, "chain broken: prev_sha256 does not match the previous event"
                )
            )
        if _event_hash(ev["prev_sha256"], _hashed_fields(ev)) != ev["sha256"]:
            problems.append(
                AuditProblem("audit_events", rid, "hash mismatch: the event was altered after it was written")
            )
        prev = ev["sha256"]
        expected_seq = (seq_v if seq_v is not None else expected_seq) + 1
        if ev["action"] in ("create", "update", "delete") and ev["entity_id"] is not None:
            last[(ev["entity"], ev["entity_id"])] = ev
    n_rows = 0
    for name, table in audited_tables().items():
        pk_col = next(iter(table.primary_key.columns))
        seen: set[str] = set()
        for (pk,) in conn.execute(select(pk_col).order_by(pk_col)):
            n_rows += 1
            key = str(pk)
            seen.add(key)
            last_ev = last.get((name, key))
            if last_ev is None:
                problems.append(
                    AuditProblem(name, key, "row has no audit event (written behind the application's back)")
                )
            elif last_ev["action"] == "delete":
                problems.append(AuditProblem(name, key, "row exists but its last audit event is a delete"))
            elif row_digest(conn, table, pk) != last_ev["row_sha256"]:
                problems.append(
                    AuditProblem(
                        name, key, f"row differs from its last audited state (audit event id={last_ev['id']})"
                    )
                )
        for (entity, eid), ev in last.items():
            if entity == name and eid not in seen and ev["action"] != "delete":
                problems.append(AuditProblem(name, eid, "row was deleted without an audit event"))
    return VerifyReport(ok=not problems, n_events=n, n_rows_checked=n_rows, problems=problems)
