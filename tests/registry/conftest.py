"""Registry fixtures: a database on each backend (SQLite file; PostgreSQL from a throwaway server)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from redif.registry.db import Database, migrate, open_database

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def make_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.sqlite'}"
    server = request.getfixturevalue("pg")
    return server.new_database()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database URL on each backend."""
    return make_url(request.param, tmp_path, request)


@pytest.fixture
def db(db_url: str, tmp_path: Path) -> Iterator[Database]:
    """An opened, migrated, empty registry on each backend (audit key and checkpoints in ``tmp_path``)."""
    database = open_database(db_url, data_dir=tmp_path)
    migrate(database)
    yield database
    database.dispose()
