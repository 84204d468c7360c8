"""Shared pytest configuration.

Subprocesses started by tests (``python -m redif ...``) see the source tree through PYTHONPATH, so the
suite also runs from a checkout that is not pip-installed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
_SRC = str(Path(__file__).resolve().parents[1] / "src")
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (_SRC, os.environ.get("PYTHONPATH", "")) if p
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pg_server import PgServer, shared_server  # noqa: E402


@pytest.fixture(scope="session")
def pg() -> PgServer:
    """The session's PostgreSQL server (skipped with the reason when none can be started); used by the
    registry, web and security suites."""
    server = shared_server()
    if isinstance(server, str):
        pytest.skip(server)
    return server
