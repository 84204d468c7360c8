"""`redif admin`: sites, users, API tokens, bulk import."""

from __future__ import annotations

import re
import sys
from datetime import timedelta
from pathlib import Path

import typer

from redif.cli._common import JsonOpt, emit_json
from redif.errors import InputError


def _db(database_url: str | None, data_dir: Path | None):  # type: ignore[no-untyped-def]
    from redif.registry.db import cli_data_dir, migrate, open_database, resolve_url

    db = open_database(resolve_url(database_url, data_dir), data_dir=cli_data_dir(data_dir))
    migrate(db)
    return db


_DD = typer.Option(None, "--data-dir", help="Data directory of the SQLite database.")
_URL = typer.Option(None, "--database-url", help="SQLAlchemy URL of the registry database.")


#: Commands that change the registry and compute nothing to report: no ``--json``.
ACTIONS = frozenset({"create-site", "create-user", "create-token", "deactivate-user", "import-patients"})


def register(app: typer.Typer) -> None:
    """Add the `admin` group to the root application."""
    admin = typer.Typer(help="Administration: sites, users, API tokens, bulk import.", no_args_is_help=True)

    @admin.command("create-site")
    def create_site(
        code: str = typer.Option(..., "--code", help="Short site code, e.g. SITE1."),
        name: str = typer.Option(..., "--name", help="Site name."),
        data_dir: Path = _DD,
        database_url: str = _URL,
    ) -> None:
        """Create a participating site."""
        from sqlalchemy import select

        from redif.registry.models import Site

        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}", code):
            raise InputError(
                "invalid site code", field="--code", value=code, remedy="use 1-32 letters, digits, '-' or '_'"
            )
        db = _db(database_url, data_dir)
        with db.write_session(actor="cli-admin") as s:
            if s.execute(select(Site.id).where(Site.code == code)).first():
                raise InputError("site code already exists", field="--code", value=code)
            s.add(Site(code=code, name=name))
        typer.echo(f"site {code} created")

    @admin.command("create-user")
    def create_user(
        username: str = typer.Option(..., "--username", help="Login name."),
        role: str = typer.Option(
            ..., "--role", help="site_clinician, site_physicist, coordinator, auditor or admin."
        ),
        site: str = typer.Option(None, "--site", help="Site code (required for site roles)."),
        password: str = typer.Option(
            None, "--password", help="Password (prompted when omitted; at least 12 characters)."
        ),
        data_dir: Path = _DD,
        database_url: str = _URL,
    ) -> None:
        """Create a user with a role (and a site for site roles)."""
        from redif.registry import auth

        if password is None:
            password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        db = _db(database_url, data_dir)
        with db.write_session(actor="cli-admin") as s:
            auth.create_user(s, username=username, password=password, role=role, site_code=site)
        typer.echo(f"user {username} created with role {role}" + (f" at site {site}" if site else ""))

    @admin.command("create-token")
    def create_token(
        user: str = typer.Option(..., "--user", help="The user the token acts for."),
        name: str = typer.Option("api", "--name", help="A label for the token."),
        days: int = typer.Option(90, "--days", min=1, max=3650, help="Validity in days."),
        data_dir: Path = _DD,
        database_url: str = _URL,
    ) -> None:
        """Create an API bearer token (printed once; send it as 'Authorization: Bearer <token>')."""
        from redif.registry import auth
        from redif.registry.models import utcnow

        db = _db(database_url, data_dir)
        with db.write_session(actor="cli-admin") as s:
            token = auth.create_api_token(s, user, name, expires_at=utcnow() + timedelta(days=days))
        typer.echo(token)

    @admin.command("list-users")
    def list_users(
        data_dir: Path = _DD,
        database_url: str = _URL,
        json_out: JsonOpt = False,
    ) -> None:
        """List users with role, site and status."""
        from sqlalchemy import select

        from redif.registry.models import Site, User

        db = _db(database_url, data_dir)
        with db.session() as s:
            rows = s.execute(
                select(User.username, User.role, Site.code, User.active)
                .outerjoin(Site, Site.id == User.site_id)
                .order_by(User.username)
            ).all()
        users = [{"username": u, "role": r, "site": c, "active": a} for u, r, c, a in rows]
        if json_out:
            emit_json(users)
            return
        for u in users:
            status = "" if u["active"] else "  (deactivated)"
            typer.echo(f"{u['username']:24s} {u['role']:15s} {u['site'] or 'all sites'}{status}")

    @admin.command("deactivate-user")
    def deactivate_user(
        username: str = typer.Option(..., "--username", help="The user to deactivate."),
        data_dir: Path = _DD,
        database_url: str = _URL,
    ) -> None:
        """Deactivate a user: sign-in, sessions and API tokens stop working at once (audited)."""
        from sqlalchemy import select

        from redif.registry.models import User

        db = _db(database_url, data_dir)
        with db.write_session(actor="cli-admin") as s:
            user = s.execute(select(User).where(User.username == username)).scalar_one_or_none()
            if user is None:
                raise InputError("unknown user", field="--username", value=username)
            user.active = False
        typer.echo(f"user {username} deactivated")

    @admin.command("import-patients")
    def import_patients(
        file: Path = typer.Argument(..., help="JSON or CSV file of patients."),
        site: str = typer.Option(None, "--site", help="Site code for rows without a 'site'."),
        data_dir: Path = _DD,
        database_url: str = _URL,
    ) -> None:
        """Bulk import: the whole file is checked first, then one transaction per patient; prints
        'ack <pseudonym> <id>' after each commit and 'skip <pseudonym> <id>' for patients already stored
        identically (re-runs resume)."""
        from tqdm import tqdm

        from redif.registry.importer import import_patients as run_import
        from redif.registry.importer import read_import_file

        rows = read_import_file(file)
        db = _db(database_url, data_dir)
        bar = tqdm(
            total=len(rows), desc="import", unit="patient", file=sys.stderr, disable=not sys.stderr.isatty()
        )

        def ack(pseudonym: str, pid: int) -> None:
            sys.stdout.write(f"ack {pseudonym} {pid}\n")
            sys.stdout.flush()
            bar.update(1)

        def skip(pseudonym: str, pid: int) -> None:
            sys.stdout.write(f"skip {pseudonym} {pid} (already imported, identical)\n")
            bar.update(1)

        ids = run_import(db, rows, site_code=site, actor="cli-import", on_commit=ack, on_skip=skip)
        bar.close()
        typer.echo(f"imported {len(ids)} patients", err=True)

    app.add_typer(admin, name="admin")
