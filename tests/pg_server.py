"""A throwaway PostgreSQL server for the test suite (imported by the registry and web conftests).

The server is started from the machine's PostgreSQL binaries (``/usr/lib/postgresql/<v>/bin`` or
``initdb`` on PATH) in a temporary directory, listens on 127.0.0.1 on a free port, and is stopped and
deleted at the end. PostgreSQL refuses to run as root, so when the tests run as root the server runs
as the ``postgres`` user through ``runuser -u postgres --`` (the directory is chown'ed to it).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

__all__ = ["PgServer", "find_pg_bin", "pg_server"]


def find_pg_bin() -> Path | None:
    """Directory holding ``initdb`` and ``pg_ctl``, or ``None``."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for c in candidates:
        if os.path.exists(os.path.join(c, "initdb")):
            return Path(c)
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgServer:
    """A running throwaway server; :meth:`new_database` gives a fresh database URL."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="redif-pg-"))
        self.datadir = self.root / "data"
        self.port = _free_port()
        self.user = "postgres"
        self._as_root = os.geteuid() == 0

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = list(args)
        if self._as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=120)

    def start(self) -> None:
        if self._as_root:
            shutil.chown(self.root, "postgres", "postgres")
            os.chmod(self.root, 0o700)
        else:
            self.user = os.environ.get("USER", "postgres")
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.datadir),
            "-U",
            self.user,
            "-A",
            "trust",
            "--no-sync",
            "-E",
            "UTF8",
        )
        opts = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={self.root} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.datadir),
            "-o",
            opts,
            "-l",
            str(self.root / "log"),
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._run(
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.datadir),
                "-m",
                "immediate",
                "-w",
                "stop",
                check=False,
            )
        shutil.rmtree(self.root, ignore_errors=True)

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/postgres"

    def new_database(self) -> str:
        """Create an empty database and return its SQLAlchemy URL."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user={self.user} dbname=postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{name}"


@contextlib.contextmanager
def pg_server() -> Iterator[PgServer | str]:
    """Yield a started :class:`PgServer`, or a string saying why none could be started."""
    bindir = find_pg_bin()
    if bindir is None:
        yield (
            "PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/initdb); "
            "install them with scripts/install-system-deps.sh"
        )
        return
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        yield "running as root without runuser: cannot start PostgreSQL as the postgres user"
        return
    server = PgServer(bindir)
    try:
        server.start()
    except (subprocess.SubprocessError, OSError, KeyError) as exc:
        server.stop()
        detail = getattr(exc, "stderr", "") or str(exc)
        yield f"could not start PostgreSQL from {bindir}: {detail.strip()[:300]}"
        return
    t0 = time.monotonic()
    try:
        yield server
    finally:
        server.stop()
        _ = t0


_SHARED: PgServer | str | None = None


def shared_server() -> PgServer | str:
    """One server per test process (started on first use, stopped at exit), or why there is none."""
    global _SHARED
    if _SHARED is None:
        import atexit

        bindir = find_pg_bin()
        if bindir is None:
            _SHARED = (
                "PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/initdb); install "
                "them with scripts/install-system-deps.sh"
            )
        elif os.geteuid() == 0 and shutil.which("runuser") is None:
            _SHARED = "running as root without runuser: cannot start PostgreSQL as the postgres user"
        else:
            server = PgServer(bindir)
            try:
                server.start()
            except (subprocess.SubprocessError, OSError, KeyError) as exc:
                server.stop()
                detail = getattr(exc, "stderr", "") or str(exc)
                _SHARED = f"could not start PostgreSQL from {bindir}: {str(detail).strip()[:300]}"
            else:
                atexit.register(server.stop)
                _SHARED = server
    return _SHARED
