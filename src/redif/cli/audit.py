"""`redif audit`: verify the hash-chained audit trail."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add the `audit` group to the root application."""
    group = typer.Typer(help="Audit trail.", no_args_is_help=True)

    @group.command("verify")
    def verify(
        data_dir: Path = typer.Option(None, "--data-dir", help="Data directory of the SQLite database."),
        database_url: str = typer.Option(None, "--database-url", help="SQLAlchemy URL of the database."),
        json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    ) -> None:
        """Check the hash chain and every audited row; exit 0 when intact, 1 naming the first bad row."""
        from redif.cli._common import emit_json
        from redif.registry import audit
        from redif.registry.db import open_database, resolve_url

        db = open_database(resolve_url(database_url, data_dir))
        with db.engine.connect() as conn:
            report = audit.verify(conn)
        if json_out:
            emit_json(
                {
                    "ok": report.ok,
                    "n_events": report.n_events,
                    "n_rows_checked": report.n_rows_checked,
                    "first_bad": str(report.first_bad) if report.first_bad else None,
                    "problems": [str(p) for p in report.problems],
                }
            )
        elif report.ok:
            typer.echo(f"audit trail intact: {report.n_events} events, {report.n_rows_checked} rows checked")
        else:
            typer.echo(f"audit trail BROKEN: first bad row: {report.first_bad}", err=True)
            for p in report.problems[1:20]:
                typer.echo(f"  also: {p}", err=True)
        raise typer.Exit(0 if report.ok else 1)

    app.add_typer(group, name="audit")
