"""`redif serve` (the main job) and `redif db upgrade`."""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import os
from pathlib import Path
from typing import Any

import typer

from redif.errors import InputError


def _open(database_url: str | None, data_dir: Path | None, *, demo: bool = False):  # type: ignore[no-untyped-def]
    from redif.registry.db import cli_data_dir, migrate, open_database, resolve_url

    db = open_database(resolve_url(database_url, data_dir, demo=demo), data_dir=cli_data_dir(data_dir))
    migrate(db)
    return db


#: Commands that act (serve, migrate) and compute nothing to report: no ``--json``.
ACTIONS = frozenset({"serve", "upgrade"})


def register(app: typer.Typer) -> None:
    """Add `serve` and the `db` group to the root application."""

    @app.command("serve")
    def serve(
        host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
        port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port."),
        data_dir: Path = typer.Option(
            None,
            "--data-dir",
            help="Data directory (default ./redif-data or "
            "$REDIF_DATA_DIR): SQLite database and uploaded series.",
        ),
        database_url: str = typer.Option(
            None,
            "--database-url",
            help="SQLAlchemy URL, e.g. "
            "postgresql+psycopg://user@host/redif (default: SQLite in the "
            "data directory; or $REDIF_DATABASE_URL).",
        ),
        demo: bool = typer.Option(
            False,
            "--demo",
            help="Serve a separate demo database with synthetic, labelled sites, users and patients.",
        ),
        secure_cookies: bool = typer.Option(
            False,
            "--secure-cookies",
            help="Mark cookies Secure and send Strict-Transport-Security (use behind HTTPS).",
        ),
        ssl_certfile: Path = typer.Option(
            None, "--ssl-certfile", help="TLS certificate (PEM) to serve HTTPS directly (with --ssl-keyfile)."
        ),
        ssl_keyfile: Path = typer.Option(None, "--ssl-keyfile", help="TLS private key (PEM)."),
        workers: int = typer.Option(1, "--workers", min=1, max=64, help="uvicorn worker processes."),
    ) -> None:
        """Create/migrate the registry database and serve the web app and REST API."""
        import uvicorn
        from sqlalchemy import func, select

        from redif.registry.db import DEFAULT_DATA_DIR
        from redif.registry.models import User
        from redif.web.app import create_app
        from redif.web.settings import WebSettings

        ddir = (data_dir or Path(os.environ.get("REDIF_DATA_DIR", str(DEFAULT_DATA_DIR)))).resolve()
        ddir.mkdir(parents=True, exist_ok=True)
        db = _open(database_url, ddir, demo=demo)
        typer.echo(f"redif: database {db.engine.url.render_as_string(hide_password=True)} is migrated")
        if demo:
            from redif.registry.demo import DEMO_PASSWORD, load_demo

            logins = load_demo(db)
            typer.echo(
                f"redif: DEMO mode: synthetic, labelled data only. Demo logins (password {DEMO_PASSWORD!r}):"
            )
            for u in logins:
                typer.echo(f"    {u.username:20s} {u.role.value:15s} {u.site or 'all sites'}")
        elif db.is_demo():
            raise InputError(
                "this is a demo database",
                field="--database-url",
                remedy="serve it with --demo, or use another database",
            )
        else:
            with db.session() as s:
                n_users = s.execute(select(func.count(User.id))).scalar_one()
            if n_users == 0:
                dd = f" --data-dir {ddir}" if data_dir else ""
                typer.echo(
                    "redif: no users yet. Create a site and the first admin:\n"
                    f"    redif admin create-site --code SITE1 --name 'My hospital'{dd}\n"
                    f"    redif admin create-user --username admin --site SITE1 --role admin{dd}"
                )
        if (ssl_certfile is None) != (ssl_keyfile is None):
            raise InputError(
                "TLS needs both a certificate and a key",
                field="--ssl-keyfile" if ssl_keyfile is None else "--ssl-certfile",
                remedy="pass both --ssl-certfile and --ssl-keyfile, or neither",
            )
        tls = ssl_certfile is not None
        settings = WebSettings(
            database_url=db.url, data_dir=ddir, secure_cookies=secure_cookies or tls, demo=demo
        )
        db.dispose()
        warning = exposure_warning(host, tls=tls)
        if warning:
            typer.secho(warning, err=True, fg=typer.colors.YELLOW)
        scheme = "https" if tls else "http"
        typer.echo(
            f"redif: serving on {scheme}://{host}:{port}/  (health: /healthz, API schema: /openapi.json)"
        )
        common: dict[str, Any] = {
            "host": host,
            "port": port,
            "log_level": "warning",
            "proxy_headers": False,
            "server_header": False,  # no "server: uvicorn" banner
        }
        if tls:
            common.update(ssl_certfile=str(ssl_certfile), ssl_keyfile=str(ssl_keyfile))
        if workers > 1:
            os.environ["REDIF_SETTINGS_JSON"] = _settings_json(settings)
            uvicorn.run("redif.web.asgi:app", workers=workers, **common)
        else:
            uvicorn.run(create_app(settings, migrate_db=False), **common)

    db_app = typer.Typer(help="Registry database maintenance.", no_args_is_help=True)

    @db_app.command("upgrade")
    def upgrade(
        data_dir: Path = typer.Option(None, "--data-dir", help="Data directory of the SQLite database."),
        database_url: str = typer.Option(None, "--database-url", help="SQLAlchemy URL of the database."),
    ) -> None:
        """Create the database or apply pending migrations."""
        db = _open(database_url, data_dir)
        typer.echo(
            f"database at {db.engine.url.render_as_string(hide_password=True)} is at the latest revision"
        )

    app.add_typer(db_app, name="db")


def _is_loopback(host: str) -> bool:
    if host.strip().lower() in ("localhost", "localhost.localdomain", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost: assume it is reachable from the network


def exposure_warning(host: str, *, tls: bool) -> str | None:
    """The warning printed when the server listens on a network address without TLS, else ``None``."""
    if tls or _is_loopback(host):
        return None
    return (
        f"redif: WARNING: listening on {host} without TLS: passwords, session cookies and patient data "
        "cross the network unencrypted. Serve HTTPS with --ssl-certfile/--ssl-keyfile, or listen on "
        "127.0.0.1 behind an HTTPS reverse proxy and pass --secure-cookies."
    )


def _settings_json(settings: object) -> str:
    d = dataclasses.asdict(settings)  # type: ignore[call-overload]
    d["data_dir"] = str(d["data_dir"])
    return json.dumps(d)
