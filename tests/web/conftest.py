"""Web fixtures: the app on each backend with two sites, users of every role, patients with records,
bearer tokens, and signed-in browser-like clients."""

from __future__ import annotations

import re
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

_TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(_TESTS))
sys.path.insert(0, str(_TESTS / "registry"))
warnings.filterwarnings("ignore", message=".*httpx.*", category=DeprecationWarning)

from registry_world import PASSWORD, make_world  # noqa: E402

from pg_server import PgServer, shared_server  # noqa: E402
from redif.registry import auth  # noqa: E402
from redif.registry import patients as reg  # noqa: E402
from redif.registry.db import open_database  # noqa: E402
from redif.web.app import create_app  # noqa: E402
from redif.web.settings import WebSettings  # noqa: E402


@pytest.fixture(scope="session")
def pg() -> PgServer:
    server = shared_server()
    if isinstance(server, str):
        pytest.skip(server)
    return server


@dataclass
class Env:
    app: FastAPI
    tokens: dict[str, str]
    patient_a: int
    patient_b: int
    genotype_b: int
    lab_b: int

    def client(self) -> TestClient:
        return TestClient(self.app, raise_server_exceptions=False)

    def bearer(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    def login(self, user: str) -> tuple[TestClient, str]:
        """A client signed in through the form; returns it and its CSRF token."""
        c = self.client()
        r = c.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', r.text)
        assert token
        r = c.post(
            "/login",
            data={"username": user, "password": PASSWORD, "csrf_token": token.group(1)},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
        page = c.get("/patients")
        m = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert m
        return c, m.group(1)


def build_env(url: str, data_dir: Path) -> Env:
    app = create_app(WebSettings(database_url=url, data_dir=data_dir, max_upload_bytes=5_000_000))
    db = app.state.db
    w = make_world(db)
    P = w.principals
    with db.write_session(actor="setup") as s:
        pa = reg.create_patient(s, P["clin_a"], {"pseudonym": "A-1", "histology": "papillary"}).id
        reg.add_record(s, P["clin_a"], pa, "genotypes", {"gene": "BRAF", "variant": "V600E"})
        pb = reg.create_patient(s, P["clin_b"], {"pseudonym": "B-1", "histology": "follicular"}).id
        gb = reg.add_record(s, P["clin_b"], pb, "genotypes", {"gene": "NRAS", "variant": "Q61R"}).id  # type: ignore[attr-defined]
        lb = reg.add_record(s, P["clin_b"], pb, "labs", {"analyte": "Tg", "value": 3.0, "unit": "ng/mL"}).id  # type: ignore[attr-defined]
        tokens = {name: auth.create_api_token(s, name, "test") for name in P}
    return Env(app, tokens, pa, pb, gb, lb)


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
