"""Shared pieces of the command-line interface: the ``--json`` option, exit codes, the error handler.

Rendering only; no clinical logic. Every command that computes something takes ``as_json: JsonOpt =
False`` (the same option name and help everywhere). Errors are printed by :func:`report_error`, called by
:func:`redif.cli.main.main` for every command: an engine's error names its own parameter (``field``),
which is shown as the command's flag through the module's ``FLAGS`` mapping (``{"tau2_method":
"--method"}``), or by the default rule ``tau2_method`` -> ``--tau2-method`` when the command has that
option.

Exit codes (``redif --help``, README "Exit codes"): 0 ok; 1 a finding (a broken audit trail, a failed
verification); 2 bad input (the one line on standard error names the field or flag, the value and the
remedy); 3 internal error (a bug in redif: please report it; ``REDIF_DEBUG=1`` shows the traceback).
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.console import Console

from redif.cli import _flags
from redif.errors import InputError, RedifError
from redif.io.jsonable import to_jsonable

__all__ = [
    "EXIT_CODES_HELP",
    "EXIT_FINDING",
    "EXIT_INPUT",
    "EXIT_INTERNAL",
    "EXIT_OK",
    "JSON_HELP",
    "JsonOpt",
    "console",
    "emit_json",
    "err_console",
    "flag_for",
    "parse_float_list",
    "report_error",
    "to_jsonable",
]

console = Console()
err_console = Console(stderr=True)

#: Exit status: success.
EXIT_OK = 0
#: Exit status: the command ran and found a problem (a broken audit trail, a failed verification).
EXIT_FINDING = 1
#: Exit status: bad input (a value, flag, file or field that cannot be used).
EXIT_INPUT = 2
#: Exit status: internal error, a bug in redif.
EXIT_INTERNAL = 3

EXIT_CODES_HELP = (
    "Exit codes: 0 ok; 1 a finding (e.g. a broken audit trail); 2 bad input (one line on stderr naming "
    "the flag or field, the value and the remedy); 3 internal error (a bug: please report it; "
    "REDIF_DEBUG=1 shows the traceback)."
)

#: The help text of ``--json``, the same for every command.
JSON_HELP = "Print the result as JSON with stable keys (for scripts) instead of text."

#: The ``--json`` option of every command that computes something: ``as_json: JsonOpt = False``.
JsonOpt = Annotated[bool, typer.Option("--json", help=JSON_HELP)]



def flag_for(field: str, command: Any) -> str:
    """The command's name for an engine's ``field``: its flag, its argument, or ``field`` unchanged.

    A field equal to one of the command's parameters becomes that parameter's long option (or the
    argument's name); a command declares engine fields that differ from its parameters with
    :func:`redif.cli._flags.field_flags`. Anything else (a path inside a file such as
    ``lesions[2].mass_g``, a file name, a CSV column, a DICOM keyword) passes through unchanged.
    """
    if command is None:
        return field
    return _flags.flag_for(field, _flags.command_flags(command))


def report_error(exc: BaseException, command: Any) -> int:
    """Print ``exc`` as one line on standard error and return the exit status (2 input, 3 internal)."""
    if isinstance(exc, InputError):
        if exc.field:
            exc.field = flag_for(exc.field, command)
        sys.stderr.write(f"error: {exc}\n")
        return EXIT_INPUT
    if isinstance(exc, RedifError):
        sys.stderr.write(f"error: {exc}\n")
        return EXIT_INPUT
    if isinstance(exc, OSError) and exc.filename is not None:
        reason = exc.strerror or exc
        sys.stderr.write(f"error: {exc.filename}: {reason}; check the path and its permissions\n")
        return EXIT_INPUT
    sys.stderr.write(
        f"internal error: {type(exc).__name__}: {exc} -- this is a bug in redif; please report it "
        "(rerun with REDIF_DEBUG=1 to see the traceback)\n"
    )
    return EXIT_INTERNAL


def emit_json(obj: Any) -> None:
    """Print ``obj`` as strict, indented JSON on standard output."""
    sys.stdout.write(json.dumps(to_jsonable(obj), indent=2, allow_nan=False) + "\n")


def parse_float_list(text: str, *, option: str) -> list[float]:
    """Parse ``"1,2.5,3"`` into floats, naming ``option`` in the error."""
    out: list[float] = []
    for i, part in enumerate(text.split(",")):
        part = part.strip()
        if not part:
            raise InputError(
                f"empty value at position {i + 1}", field=option, value=text,
                remedy="give comma-separated numbers, e.g. 4,24,48",
            )
        try:
            out.append(float(part))
        except ValueError:
            raise InputError(
                f"not a number at position {i + 1}", field=option, value=part,
                remedy="give comma-separated numbers, e.g. 4,24,48",
            ) from None
    return out
