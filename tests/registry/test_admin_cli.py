"""`redif admin` user management (in-process through typer's runner) and deactivation effects."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from redif.cli.main import app
from redif.registry import auth
from redif.registry.db import migrate, open_database


def test_create_list_deactivate(tmp_path: Path) -> None:
    runner = CliRunner()
    dd = ["--data-dir", str(tmp_path)]
    assert (
        runner.invoke(app, ["admin", "create-site", "--code", "S1", "--name", "Site 1", *dd]).exit_code == 0
    )
    r = runner.invoke(
        app,
        [
            "admin",
            "create-user",
            "--username",
            "ann",
            "--role",
            "site_physicist",
            "--site",
            "S1",
            "--password",
            "a long passphrase",
            *dd,
        ],
    )
    assert r.exit_code == 0, r.output
    token = runner.invoke(app, ["admin", "create-token", "--user", "ann", *dd]).output.strip()
    assert token.startswith("rdf_")
    r = runner.invoke(app, ["admin", "list-users", "--json", *dd])
    assert json.loads(r.output) == [
        {"username": "ann", "role": "site_physicist", "site": "S1", "active": True}
    ]
    db = open_database(f"sqlite:///{tmp_path / 'redif.sqlite'}")
    migrate(db)
    with db.session() as s:
        assert auth.principal_for_token(s, token) is not None
    assert runner.invoke(app, ["admin", "deactivate-user", "--username", "ann", *dd]).exit_code == 0
    with db.session() as s:
        assert auth.principal_for_token(s, token) is None  # tokens stop at once
    assert auth.authenticate(db, "ann", "a long passphrase", "127.0.0.1") is None
    assert "(deactivated)" in runner.invoke(app, ["admin", "list-users", *dd]).output
    r = runner.invoke(app, ["admin", "create-site", "--code", "bad code!", "--name", "x", *dd])
    assert r.exit_code != 0
    db.dispose()
