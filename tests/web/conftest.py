"""Web fixtures: the app on each backend with two sites, users of every role, patients with records,
bearer tokens, and signed-in browser-like clients."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

_TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(_TESTS))
sys.path.insert(0, str(_TESTS / "registry"))
sys.path.insert(0, str(_TESTS / "web"))
warnings.filterwarnings("ignore", message=".*httpx.*", category=DeprecationWarning)

from web_world import Env, build_env  # noqa: E402

from redif.registry.db import open_database  # noqa: E402


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    """The app on SQLite."""
    d = tmp_path_factory.mktemp("web")
    e = build_env(f"sqlite:///{d / 'r.sqlite'}", d)
    yield e
    e.app.state.db.dispose()


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def env_any(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    """The app on each backend."""
    d = tmp_path_factory.mktemp("web-any")
    url = (
        f"sqlite:///{d / 'r.sqlite'}"
        if request.param == "sqlite"
        else request.getfixturevalue("pg").new_database()
    )
    e = build_env(url, d)
    yield e
    e.app.state.db.dispose()


_ = open_database
