"""Fixtures of the standing adversarial suite: the web app on each backend with two sites (A, B), one
user of every role, patients with records and bearer tokens (the web test world), plus the registry on
each backend. Each test here reproduces one finding of a security review and must fail on the code
before its fix."""

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

__all__ = ["Env"]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def env_any(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Env]:
    """A fresh app (function scope: adversarial tests change state) on each backend."""
    url = (
        f"sqlite:///{tmp_path / 'r.sqlite'}"
        if request.param == "sqlite"
        else request.getfixturevalue("pg").new_database()
    )
    e = build_env(url, tmp_path)
    yield e
    e.app.state.db.dispose()


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    """A fresh app on SQLite."""
    e = build_env(f"sqlite:///{tmp_path / 'r.sqlite'}", tmp_path)
    yield e
    e.app.state.db.dispose()
