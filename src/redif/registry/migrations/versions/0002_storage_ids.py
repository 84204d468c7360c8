"""ids never reused and not sequential; storage keyed by upload; case documents in the database

- ``retired_ids``: tombstones of deleted patient-level ids (never handed out again). Ids missing below
  each table's largest id (rows deleted before this revision) are retired here too.
- ``case_documents``: the pathway case document of a patient (was ``<data_dir>/cases/<id>.json``; those
  files are *not* imported, see docs/web.md "Upgrading to revision 0002").
- ``created_at`` on every per-patient record table (records are listed in entry order; ids are random).
- ``dicom_series.instances``: per-file SHA-256 of each upload (its folder is ``dicom/<uuid>``, relative).
- PostgreSQL: the id sequences of the random-id tables are no longer used (their defaults are dropped).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_RECORD_TABLES = (
    "genotypes",
    "rai_history",
    "redif_courses",
    "uptake_assessments",
    "dosimetry_results",
    "iodine_administrations",
    "response_assessments",
    "lab_results",
    "adverse_events",
)
_RANDOM_ID_TABLES = ("patients", "dicom_series", *_RECORD_TABLES)
_NOW = sa.func.current_timestamp()


def _retire_gaps(conn: sa.Connection, retired: sa.Table) -> None:
    """Tombstone every id below a table's largest id that no row holds (deleted before this revision)."""
    for name in _RANDOM_ID_TABLES:
        ids = {int(x) for (x,) in conn.execute(sa.text(f"SELECT id FROM {name}"))}
        if not ids:
            continue
        gaps = [{"table_name": name, "id": i} for i in range(1, max(ids)) if i not in ids]
        for start in range(0, len(gaps), 10_000):
            conn.execute(retired.insert(), gaps[start : start + 10_000])


def upgrade() -> None:
    retired = op.create_table(
        "retired_ids",
        sa.Column("table_name", sa.String(length=64), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("retired_at", sa.DateTime(), nullable=False, server_default=_NOW),
        sa.PrimaryKeyConstraint("table_name", "id", name=op.f("pk_retired_ids")),
    )
    op.create_table(
        "case_documents",
        sa.Column("patient_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_case_documents_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("patient_id", name=op.f("pk_case_documents")),
    )
    for name in _RECORD_TABLES:
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.add_column(sa.Column("created_at", sa.DateTime(), nullable=False, server_default=_NOW))
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.alter_column("created_at", server_default=None)
    with op.batch_alter_table("dicom_series", schema=None) as batch_op:
        batch_op.add_column(sa.Column("instances", sa.JSON(), nullable=True))
    conn = op.get_bind()
    _retire_gaps(conn, retired)
    with op.batch_alter_table("retired_ids", schema=None) as batch_op:
        batch_op.alter_column("retired_at", server_default=None)
    if conn.dialect.name == "postgresql":
        for name in _RANDOM_ID_TABLES:
            op.alter_column(name, "id", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("dicom_series", schema=None) as batch_op:
        batch_op.drop_column("instances")
    for name in _RECORD_TABLES:
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.drop_column("created_at")
    op.drop_table("case_documents")
    op.drop_table("retired_ids")
