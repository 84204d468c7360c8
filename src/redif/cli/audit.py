"""`redif audit`: verify the keyed, hash-chained audit trail against its checkpoint file."""

from __future__ import annotations

from pathlib import Path

import typer

from redif.cli._common import EXIT_FINDING, EXIT_OK, JsonOpt, emit_json

#: Exit status of ``redif audit verify``: intact.
EXIT_INTACT = EXIT_OK
#: Exit status of ``redif audit verify``: a finding (the first bad event or row is named).
EXIT_BROKEN = EXIT_FINDING


def register(app: typer.Typer) -> None:
    """Add the `audit` group to the root application."""
    group = typer.Typer(help="Audit trail.", no_args_is_help=True)

    @group.command("verify")
    def verify(
        data_dir: Path = typer.Option(
            None,
            "--data-dir",
            help="Data directory: SQLite database, audit key (audit.key) and checkpoint file "
            "(audit.checkpoints); default ./redif-data or $REDIF_DATA_DIR.",
        ),
        database_url: str = typer.Option(None, "--database-url", help="SQLAlchemy URL of the database."),
        json_out: JsonOpt = False,
    ) -> None:
        """Check the keyed hash chain, the events against the checkpoint file (truncation, recomputed
        chains) and every audited row; exit 0 when intact, 1 naming the first bad event (seq)."""
        from redif.registry import audit
        from redif.registry.db import cli_data_dir, open_database, resolve_url

        db = open_database(resolve_url(database_url, data_dir), data_dir=cli_data_dir(data_dir))
        try:
            with db.engine.connect() as conn:
                report = audit.verify(conn)
        finally:
            db.dispose()
        if json_out:
            emit_json(report.to_dict())
        elif report.ok:
            typer.echo(f"audit trail intact: {report.summary()}")
        if not report.ok:
            typer.echo(f"audit trail BROKEN: {report.summary()}", err=True)
            for p in report.problems[:20]:
                typer.echo(f"  {p}", err=True)
        raise typer.Exit(EXIT_INTACT if report.ok else EXIT_BROKEN)

    app.add_typer(group, name="audit")
