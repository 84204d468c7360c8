"""`redif dictionary export`: the data model as a data dictionary (REDCap, ODM, JSON Schema, Markdown)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import typer

from redif.cli._common import JsonOpt, emit_json
from redif.errors import InputError
from redif.model import dictionary

__all__ = ["register"]

_FORMAT_HELP = "; ".join(f"{name}: {text}" for name, text in dictionary.EXPORT_FORMATS.items())


def _render(fmt: str) -> bytes:
    """The dictionary in ``fmt`` as the bytes of the file."""
    if fmt == "redcap":
        return dictionary.redcap().encode("utf-8")
    if fmt == "odm":
        now = datetime.now(UTC).replace(microsecond=0).isoformat()
        return dictionary.odm(creation_datetime=now)
    if fmt == "jsonschema":
        # deferred: the pathway costs ~0.3 s of start-up that no other command should pay
        from redif.pathway.case import case_json_schema

        return dictionary.jsonschema(case_json_schema()).encode("utf-8")
    if fmt == "markdown":
        return dictionary.markdown().encode("utf-8")
    raise InputError(
        "unknown dictionary format",
        field="--format",
        value=fmt,
        remedy="use one of " + ", ".join(dictionary.EXPORT_FORMATS),
    )


def register(app: typer.Typer) -> None:
    """Add the `dictionary` group to the root application."""
    group = typer.Typer(
        help="The data model as a data dictionary that centres can build their forms from.",
        no_args_is_help=True,
    )

    @group.command("export")
    def export(
        fmt: str = typer.Option(..., "--format", help=f"Dictionary format ({_FORMAT_HELP})."),
        out: Path = typer.Option(..., "--out", help="File to write."),
        as_json: JsonOpt = False,
    ) -> None:
        """Write the data dictionary of the model in one format."""
        data = _render(fmt)
        try:
            out.write_bytes(data)
        except OSError as exc:
            raise InputError(f"cannot write file: {exc.strerror}", field="--out", value=str(out)) from None
        if as_json:
            emit_json({"format": fmt, "out": str(out), "bytes": len(data),
                       "sha256": hashlib.sha256(data).hexdigest()})
            return
        typer.echo(f"{fmt} data dictionary written to {out}", err=True)

    app.add_typer(group, name="dictionary")
