"""The ``redif`` command: a thin shell over the engines.

Every command group lives in its own module exposing ``register(app)``. One error handler
(:func:`redif.cli._common.report_error`) serves every command: bad input is one line on standard error
naming the flag or field, the value and the remedy (exit 2); a finding such as a broken audit trail exits
1; an unexpected exception is an internal error (exit 3, no traceback unless ``REDIF_DEBUG=1``).

Start-up: the command modules import the engines inside the command bodies, so that ``redif --help`` does
not load numpy, scipy, SQLAlchemy or matplotlib (figures in ``docs/architecture.md``).
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import typer
import typer.main

from redif import __version__
from redif.cli._common import EXIT_CODES_HELP, report_error

__all__ = ["app", "main"]


def _exception_types() -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...],
                                tuple[type[BaseException], ...]]:
    """(usage-error, abort, exit) exception classes of typer and of whichever click it uses.

    typer < 0.20 raises click's exceptions; newer typer vendors its own copy of click, so both families
    are caught.
    """
    usage: list[type[BaseException]] = []
    abort: list[type[BaseException]] = [typer.Abort]
    exits: list[type[BaseException]] = [typer.Exit]
    try:
        import click

        usage.append(click.ClickException)
        abort.append(click.exceptions.Abort)
        exits.append(click.exceptions.Exit)
    except ImportError:  # pragma: no cover - click is optional with new typer
        pass
    try:
        from typer._click import exceptions as _tc  # type: ignore[attr-defined]

        usage.append(_tc.ClickException)
    except ImportError:  # pragma: no cover - old typer
        pass
    return tuple(usage), tuple(abort), tuple(exits)


_USAGE_ERRORS, _ABORTS, _EXITS = _exception_types()

app = typer.Typer(
    name="redif",
    help=(
        "redif: radioiodine redifferentiation workbench (evidence, pathway, dosimetry, response, "
        "trial design, registry). Decision support for a qualified clinician."
    ),
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Command-group modules, each with ``register(app)``; order is the order in ``redif --help``.
_GROUPS = (
    "evidence",
    "evidence_review",
    "meta",
    "ipd",
    "dose",
    "dose_voxel",
    "dose_verify",
    "phantom",
    "patient",
    "recist",
    "tg",
    "design",
    "design_bayes",
    "serve",
    "admin",
    "audit",
    "registry",
    "dictionary",
    "federated",
    "plot",
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"redif {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Show the version."
    ),
) -> None:
    """redif: radioiodine redifferentiation workbench."""


for _name in _GROUPS:
    _module = importlib.import_module(f"redif.cli.{_name}")
    _module.register(app)


def _invoked_command(argv: list[str] | None) -> Any:
    """The click command that ``argv`` names (walking the command groups), or None."""
    command: Any = typer.main.get_command(app)
    for token in sys.argv[1:] if argv is None else argv:
        commands = getattr(command, "commands", None)
        if commands is None:
            break
        if token in commands:
            command = commands[token]
    return None if hasattr(command, "commands") else command


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``redif`` console script (exit codes: see ``redif --help``)."""
    debug = os.environ.get("REDIF_DEBUG", "") not in ("", "0")
    try:
        rv = app(args=argv, prog_name="redif", standalone_mode=False)
    except _ABORTS:
        sys.stderr.write("aborted\n")
        sys.exit(130)
    except _EXITS as exc:
        sys.exit(int(getattr(exc, "exit_code", 0) or 0))
    except _USAGE_ERRORS as exc:
        exc.show()  # type: ignore[attr-defined]
        sys.exit(int(getattr(exc, "exit_code", 2)))
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        if debug:
            raise
        sys.exit(report_error(exc, _invoked_command(argv)))
    sys.exit(rv if isinstance(rv, int) else 0)
