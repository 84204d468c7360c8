"""Property test of the audit trail: after any sequence of creates, updates, deletes and exports the
trail verifies; changing any single stored audit field afterwards is always detected."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from registry_world import make_world  # type: ignore[import-not-found]
from sqlalchemy import text

from redif.registry import audit
from redif.registry import patients as reg
from redif.registry.db import migrate, open_database

_OPS = st.lists(
    st.tuples(st.sampled_from(["create", "update", "record", "delete", "export"]), st.integers(0, 5)),
    min_size=1,
    max_size=12,
)
_FIELDS = [
    "seq",
    "occurred_at",
    "actor",
    "action",
    "entity",
    "entity_id",
    "details",
    "row_sha256",
    "prev_sha256",
]


@settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
@given(ops=_OPS, victim=st.integers(0, 10_000), field=st.sampled_from(_FIELDS))
def test_random_histories_verify_and_any_tamper_is_found(ops, victim, field) -> None:  # type: ignore[no-untyped-def]
    path = Path(tempfile.gettempdir()) / f"redif-prop-{uuid.uuid4().hex}.sqlite"
    db = open_database(f"sqlite:///{path}")
    try:
        migrate(db)
        w = make_world(db)
        p, admin = w.principals["clin_a"], w.principals["admin"]
        ids: list[int] = []
        for i, (op, k) in enumerate(ops):
            with db.write_session(actor="prop") as s:
                if op == "create" or not ids:
                    ids.append(reg.create_patient(s, p, {"pseudonym": f"P-{i}"}).id)
                elif op == "update":
                    reg.update_patient(s, p, ids[k % len(ids)], {"birth_year": 1950 + k})
                elif op == "record":
                    reg.add_record(
                        s, p, ids[k % len(ids)], "labs", {"analyte": "Tg", "value": k, "unit": "ng/mL"}
                    )
                elif op == "delete":
                    reg.delete_patient(s, admin, ids.pop(k % len(ids)))
                else:
                    audit.record(s, action="export", entity="patients", entity_id=ids[k % len(ids)])
        with db.engine.connect() as conn:
            rep = audit.verify(conn)
            assert rep.ok, rep.problems
            n = conn.execute(text("SELECT count(*) FROM audit_events")).scalar_one()
        seq = 1 + victim % n
        with db.engine.begin() as conn:
            rid = conn.execute(text("SELECT id FROM audit_events WHERE seq = :s"), {"s": seq}).scalar_one()
            conn.execute(text(f"UPDATE audit_events SET {field} = {field} || 'x' WHERE id = :i"), {"i": rid})
            changed = conn.execute(
                text(f"SELECT {field} FROM audit_events WHERE id = :i"), {"i": rid}
            ).scalar()
        with db.engine.connect() as conn:
            rep = audit.verify(conn)
        if changed is None:  # NULL || 'x' is NULL: nothing changed
            assert rep.ok
        else:
            assert not rep.ok
            assert rep.first_bad is not None and rep.first_bad.table == "audit_events"
    finally:
        db.dispose()
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
