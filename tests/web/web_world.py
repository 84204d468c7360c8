"""The web test world: the app on a database with two sites, users of every role, patients with records
and bearer tokens (used by the web and security test suites)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from registry_world import PASSWORD, make_world

from redif.registry import auth
from redif.registry import patients as reg
from redif.web.app import create_app
from redif.web.settings import WebSettings

__all__ = ["Env", "build_env"]


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
