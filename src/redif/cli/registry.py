"""`redif registry`: exchange the registry's records with REDCap, export the analysis dataset, and fill a data
directory with demo data."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from redif.cli._common import JsonOpt, emit_json
from redif.errors import InputError

__all__ = ["register"]

_DD = typer.Option(None, "--data-dir", help="Data directory of the SQLite database.")
_URL = typer.Option(None, "--database-url", help="SQLAlchemy URL of the registry database.")
_DEMO = typer.Option(
    False, "--demo", help="Use the data directory's demo database (the one `redif serve --demo` serves)."
)
_EXPORT_FORMATS = ("redcap", "analysis")
_IMPORT_FORMATS = ("redcap", "json", "csv")


def _db(database_url: str | None, data_dir: Path | None, *, demo: bool = False) -> Any:
    # deferred: the registry (SQLAlchemy, Alembic, argon2) costs ~1.5 s of start-up that other commands
    # should not pay
    from redif.registry.db import cli_data_dir, migrate, open_database, resolve_url

    db = open_database(resolve_url(database_url, data_dir, demo=demo), data_dir=cli_data_dir(data_dir))
    migrate(db)
    return db


def _check_format(fmt: str, allowed: tuple[str, ...]) -> None:
    if fmt not in allowed:
        raise InputError("unknown format", field="--format", value=fmt, remedy="use " + " or ".join(allowed))


def register(app: typer.Typer) -> None:
    """Add the `registry` group to the root application."""
    group = typer.Typer(
        help="Registry data exchange: REDCap export and import, the analysis dataset, demo data.",
        no_args_is_help=True,
    )

    @group.command("export")
    def export(
        out: Path = typer.Option(..., "--out", help="CSV file to write."),
        fmt: str = typer.Option(
            "redcap",
            "--format",
            help="redcap: REDCap's flat import format for `redif dictionary export --format redcap`; "
            "analysis: one row per patient with the endpoints of a pooled analysis "
            "(docs/analysis-dataset.md).",
        ),
        sites: list[str] = typer.Option([], "--site", help="Only this site's patients (repeatable)."),
        data_dir: Path = _DD,
        database_url: str = _URL,
        demo: bool = _DEMO,
        json_out: JsonOpt = False,
    ) -> None:
        """Write the registry's patients and records as a REDCap import file, or the analysis dataset
        (audited as an export)."""
        from redif.registry.redcap import export_redcap

        _check_format(fmt, _EXPORT_FORMATS)
        if fmt == "analysis":
            _export_analysis(out, sites, data_dir, database_url, demo, json_out)
            return
        db = _db(database_url, data_dir, demo=demo)
        try:
            result = export_redcap(db, sites=sites)
        finally:
            db.dispose()
        try:
            out.write_bytes(result.text.encode("utf-8"))
        except OSError as exc:
            raise InputError(f"cannot write file: {exc.strerror}", field="--out", value=str(out)) from None
        if json_out:
            emit_json(
                {
                    "format": fmt,
                    "out": str(out),
                    "patients": result.patients,
                    "pending_review": result.pending_review,
                }
            )
            return
        typer.echo(f"{result.patients} patients written to {out} ({fmt})", err=True)
        if result.pending_review:
            typer.secho(
                f"warning: {result.pending_review} stored values await review (free text not mapped to a "
                "term); they stay in the registry and are empty in the file until a reviewer picks the code",
                err=True,
                fg=typer.colors.YELLOW,
            )

    def _export_analysis(
        out: Path,
        sites: list[str],
        data_dir: Path | None,
        database_url: str | None,
        demo: bool,
        json_out: bool,
    ) -> None:
        from redif.registry.analysis_export import export_analysis

        db = _db(database_url, data_dir, demo=demo)
        try:
            result = export_analysis(db, sites=sites)
        finally:
            db.dispose()
        try:
            out.write_bytes(result.text.encode("utf-8"))
        except OSError as exc:
            raise InputError(f"cannot write file: {exc.strerror}", field="--out", value=str(out)) from None
        problems = result.problems()
        if json_out:
            emit_json(
                {
                    "format": "analysis",
                    "out": str(out),
                    "patients": result.patients,
                    "not_started": result.not_started,
                    "problems": problems,
                }
            )
            return
        typer.echo(f"{result.patients} patients written to {out} (analysis)", err=True)
        if result.not_started:
            typer.secho(
                f"note: {result.not_started} patients without a redifferentiation course are not in the "
                "analysis population (left out)",
                err=True,
                fg=typer.colors.YELLOW,
            )
        if problems:
            typer.secho(
                f"note: {len(problems)} empty endpoint cells and why (no value is guessed):",
                err=True,
                fg=typer.colors.YELLOW,
            )
            for p in problems:
                typer.echo(f"    {p['site']}/{p['patient']}: {p['problem']}", err=True)

    @group.command("import")
    def import_(
        file: Path = typer.Argument(
            ..., help="File to import (REDCap CSV; or the JSON/CSV of `admin import-patients`)."
        ),
        fmt: str = typer.Option(
            "redcap",
            "--format",
            help="redcap (REDCap flat CSV), json or csv (the formats of `redif admin import-patients`).",
        ),
        site: str = typer.Option(
            None, "--site", help="Site code of the patients (rows naming another site are refused)."
        ),
        data_dir: Path = _DD,
        database_url: str = _URL,
        demo: bool = _DEMO,
        json_out: JsonOpt = False,
    ) -> None:
        """Import patients: the whole file is checked against the model first, nothing is written if a
        row is wrong; then one transaction per patient. Patients already stored identically are skipped,
        so re-runs are idempotent."""
        from redif.registry.importer import import_patients, read_import_file
        from redif.registry.redcap import read_redcap_file

        _check_format(fmt, _IMPORT_FORMATS)
        if fmt == "redcap":
            if file.suffix.lower() != ".csv":
                raise InputError("a REDCap file is a .csv file", field="FILE", value=str(file))
            rows = read_redcap_file(file, site_code=site)
        else:
            if file.suffix.lower() != f".{fmt}":
                raise InputError(f"expected a .{fmt} file for --format {fmt}", field="FILE", value=str(file))
            rows = read_import_file(file)
        done: dict[str, list[dict[str, Any]]] = {"imported": [], "skipped": []}

        def ack(pseudonym: str, pid: int) -> None:
            done["imported"].append({"pseudonym": pseudonym, "id": pid})
            if not json_out:
                sys.stdout.write(f"ack {pseudonym} {pid}\n")
                sys.stdout.flush()

        def skip(pseudonym: str, pid: int) -> None:
            done["skipped"].append({"pseudonym": pseudonym, "id": pid})
            if not json_out:
                sys.stdout.write(f"skip {pseudonym} {pid} (already imported, identical)\n")

        db = _db(database_url, data_dir, demo=demo)
        try:
            import_patients(db, rows, site_code=site, actor="cli-import", on_commit=ack, on_skip=skip)
        finally:
            db.dispose()
        if json_out:
            emit_json(done)
        else:
            typer.echo(f"imported {len(done['imported'])} patients, skipped {len(done['skipped'])}", err=True)

    @group.command("demo")
    def demo_(
        data_dir: Path = _DD,
        database_url: str = _URL,
        json_out: JsonOpt = False,
    ) -> None:
        """Fill the data directory's demo database with the synthetic demo sites, users and patients of
        `redif serve --demo`, without serving."""
        from redif.registry.demo import DEMO_PASSWORD, load_demo

        db = _db(database_url, data_dir, demo=True)
        try:
            logins = load_demo(db)
            url = db.engine.url.render_as_string(hide_password=True)
        finally:
            db.dispose()
        users = [{"username": u.username, "role": u.role.value, "site": u.site} for u in logins]
        if json_out:
            emit_json({"database": url, "users": users, "password": DEMO_PASSWORD})
            return
        typer.echo(f"demo data in {url} (synthetic, labelled). Demo logins (password {DEMO_PASSWORD!r}):")
        for u in logins:
            typer.echo(f"    {u.username:20s} {u.role.value:15s} {u.site or 'all sites'}")

    app.add_typer(group, name="registry")
