"""Migrations: the Alembic head creates exactly the schema of the models, on both backends."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from redif.registry.db import Database
from redif.registry.models import Base


def test_head_matches_models(db: Database) -> None:
    """Autogenerate finds no difference between the migrated database and the models (so a model change
    without a migration fails here)."""
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == []
    tables = set(inspect(db.engine).get_table_names())
    assert {
        "patients",
        "genotypes",
        "redif_courses",
        "uptake_assessments",
        "dosimetry_results",
        "iodine_administrations",
        "response_assessments",
        "lab_results",
        "adverse_events",
        "dicom_series",
        "audit_events",
        "web_sessions",
        "users",
        "sites",
        "alembic_version",
    } <= tables


def test_sqlite_is_wal(db: Database) -> None:
    if not db.is_sqlite:
        return
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_cli_db_upgrade_creates_database(tmp_path: Path) -> None:
    """`redif db upgrade --data-dir D` creates D/redif.sqlite at the head revision; migrating again is a
    no-op."""
    r = subprocess.run(
        [sys.executable, "-m", "redif", "db", "upgrade", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "redif.sqlite").exists()
    from redif.registry.db import migrate, open_database

    db = open_database(f"sqlite:///{tmp_path / 'redif.sqlite'}")
    migrate(db)
    db.dispose()
    import sqlite3

    from alembic.script import ScriptDirectory

    import redif.registry.db as dbmod

    head = ScriptDirectory(str(Path(dbmod.__file__).with_name("migrations"))).get_current_head()
    assert head is not None
    con = sqlite3.connect(tmp_path / "redif.sqlite")
    assert con.execute("select version_num from alembic_version").fetchone() == (head,)


def test_cli_bad_database_url() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "redif", "db", "upgrade", "--database-url", "mysql://x/y"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "unsupported database backend" in r.stderr
