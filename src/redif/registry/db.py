"""Engine and session factory of the registry, and programmatic Alembic migrations.

Default storage is an embedded SQLite database (``redif.sqlite``) in a data directory, opened in WAL
mode with foreign keys enforced and a busy timeout; several sites share a PostgreSQL database given
by URL (``postgresql+psycopg://user@host/db``).

Write transactions on SQLite begin with ``BEGIN IMMEDIATE`` so that two writers serialise at the start
of the transaction instead of failing half-way (the audit hash chain reads its tail in the same
transaction); on PostgreSQL the chain takes a transaction-level advisory lock
(:mod:`redif.registry.audit`).
"""

from __future__ import annotations

import atexit
import os
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

from redif.errors import InputError
from redif.registry import audit
from redif.registry.audit_anchor import AuditKeyring, database_label
from redif.registry.audit_writer import DeferredAuditWriter

__all__ = [
    "DEFAULT_DATA_DIR",
    "Database",
    "audit_data_dir",
    "cli_data_dir",
    "default_sqlite_url",
    "migrate",
    "open_database",
]

#: Data directory used when neither ``--data-dir`` nor ``REDIF_DATA_DIR`` is given.
DEFAULT_DATA_DIR = Path("redif-data")
_SQLITE_NAME = "redif.sqlite"
_DEMO_SQLITE_NAME = "redif-demo.sqlite"


def default_sqlite_url(data_dir: Path, *, demo: bool = False) -> str:
    """URL of the embedded SQLite database in ``data_dir`` (created if missing)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    name = _DEMO_SQLITE_NAME if demo else _SQLITE_NAME
    return f"sqlite:///{(data_dir / name).resolve()}"


def _install_sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy (not the sqlite3 module) emit BEGIN, so that we choose its kind below.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA synchronous=FULL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        kind = "IMMEDIATE" if conn.get_execution_options().get("redif_write") else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {kind}")


@dataclass
class Database:
    """An opened registry database: an engine plus read and write session factories.

    Use :meth:`session` for reading and :meth:`write_session` for any change (it commits on success
    and rolls back on error).
    """

    url: str
    engine: Engine
    _read: sessionmaker[Session] = field(repr=False)
    _write: sessionmaker[Session] = field(repr=False)
    #: The audit chain's key and checkpoint file (:mod:`redif.registry.audit_anchor`).
    keyring: AuditKeyring | None = None
    _deferred: DeferredAuditWriter | None = field(default=None, repr=False)

    @property
    def is_sqlite(self) -> bool:
        """True for the embedded SQLite backend."""
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def session(self, *, actor: str | None = None) -> Iterator[Session]:
        """A session for reading (rolled back at the end)."""
        with self._read() as s:
            s.info["actor"] = actor or "system"
            try:
                yield s
            finally:
                s.rollback()
                deferred = audit.take_deferred(s)  # reads of patient data: written in batches
                if deferred and self._deferred is not None:
                    self._deferred.submit(deferred)

    @contextmanager
    def write_session(self, *, actor: str | None = None) -> Iterator[Session]:
        """A session for changes: commits when the block ends normally, rolls back on an exception."""
        with self._write() as s:
            s.info["actor"] = actor or "system"
            s.info["_audit_write"] = True
            try:
                yield s
                s.commit()
            except BaseException:
                s.rollback()
                raise

    def new_session(self, *, write: bool, actor: str | None = None) -> Session:
        """A bare session the caller manages (used by the web app's per-request dependency)."""
        s = (self._write if write else self._read)()
        s.info["actor"] = actor or "system"
        s.info["_audit_write"] = write
        return s

    def flush_audit(self, timeout_s: float = 60.0) -> bool:
        """Write every deferred audit event (reads) now; ``False`` when ``timeout_s`` ran out."""
        return True if self._deferred is None else self._deferred.flush(timeout_s)

    def is_demo(self) -> bool:
        """True when the database was created by ``redif serve --demo``."""
        from redif.registry.models import MetaEntry

        with self.session() as s:
            row = s.execute(select(MetaEntry.value).where(MetaEntry.key == "demo")).scalar_one_or_none()
        return row == "true"

    def dispose(self) -> None:
        """Write the deferred audit events, then close all pooled connections."""
        if self._deferred is not None:
            self._deferred.close()
        self.engine.dispose()


def audit_data_dir(url: URL, data_dir: Path | None) -> Path | None:
    """Where the audit key and checkpoint file of a database live: ``data_dir`` when given, else the
    SQLite file's directory, else ``$REDIF_DATA_DIR`` or :data:`DEFAULT_DATA_DIR` (``None`` for an
    in-memory SQLite database)."""
    if data_dir is not None:
        return Path(data_dir).resolve()
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            return None
        return Path(url.database).resolve().parent
    return Path(os.environ.get("REDIF_DATA_DIR", str(DEFAULT_DATA_DIR))).resolve()


def _close_at_exit(ref: weakref.ref[DeferredAuditWriter]) -> None:
    writer = ref()
    if writer is not None:
        writer.close()


def open_database(url: str, *, echo: bool = False, data_dir: Path | None = None) -> Database:
    """Open (not migrate) the database at ``url``.

    ``data_dir`` holds the audit key (unless ``REDIF_AUDIT_KEY`` is set) and the audit checkpoint file
    (:mod:`redif.registry.audit_anchor`); see :func:`audit_data_dir` for the default.

    Raises
    ------
    InputError
        When the URL cannot be parsed or names an unsupported backend.
    """
    try:
        parsed = make_url(url)
    except Exception:
        raise InputError(
            "not a database URL",
            field="--database-url",
            value=url,
            remedy="use sqlite:////path/redif.sqlite or postgresql+psycopg://user@host/dbname",
        ) from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise InputError(
            "unsupported database backend",
            field="--database-url",
            value=backend,
            remedy="use SQLite (embedded) or PostgreSQL",
        )
    kwargs: dict[str, Any] = {"echo": echo, "future": True}
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        kwargs.update(pool_pre_ping=True, pool_size=10, max_overflow=20)
    else:
        kwargs.update(connect_args={"check_same_thread": False, "timeout": 30})
    engine = create_engine(parsed, **kwargs)
    if backend == "sqlite":
        _install_sqlite_pragmas(engine)
    write_engine = engine.execution_options(redif_write=True)
    read = sessionmaker(bind=engine, expire_on_commit=False)
    write = sessionmaker(bind=write_engine, expire_on_commit=False)
    keyring = AuditKeyring(audit_data_dir(parsed, data_dir), database_label(parsed))
    audit.register_keyring(engine, keyring)
    audit.register_keyring(write_engine, keyring)
    audit.install(read)
    audit.install(write)
    deferred = DeferredAuditWriter(write)
    atexit.register(_close_at_exit, weakref.ref(deferred))
    return Database(
        url=parsed.render_as_string(hide_password=False),
        engine=engine,
        _read=read,
        _write=write,
        keyring=keyring,
        _deferred=deferred,
    )


def migrate(db: Database, revision: str = "head") -> None:
    """Create or upgrade the schema with Alembic (programmatic; no ``alembic.ini`` needed)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    cfg.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def cli_data_dir(data_dir: Path | None) -> Path:
    """The data directory of a command: ``--data-dir``, else ``$REDIF_DATA_DIR``, else
    :data:`DEFAULT_DATA_DIR` (the same rule for ``redif serve``, ``redif admin`` and ``redif audit``, so
    that they find the same audit key and checkpoint file)."""
    return (data_dir or Path(os.environ.get("REDIF_DATA_DIR", str(DEFAULT_DATA_DIR)))).resolve()


def resolve_url(database_url: str | None, data_dir: Path | None, *, demo: bool = False) -> str:
    """The database URL from ``--database-url``, ``REDIF_DATABASE_URL`` or the data directory."""
    url = database_url or os.environ.get("REDIF_DATABASE_URL")
    if url:
        return url
    d = data_dir or Path(os.environ.get("REDIF_DATA_DIR", str(DEFAULT_DATA_DIR)))
    return default_sqlite_url(d, demo=demo)
