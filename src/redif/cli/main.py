"""The ``redif`` command: a thin shell over the engines.

Every command group lives in its own module exposing ``register(app)``. Errors raised for bad input
(:class:`redif.errors.RedifError`) are printed as one line on standard error with exit status 2; no
traceback reaches the user (set ``REDIF_DEBUG=1`` to see one).
"""

from __future__ import annotations

import importlib
import os
import sys

import typer

from redif import __version__
from redif.errors import RedifError

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
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Command-group modules, each with ``register(app)``; order is the order in ``redif --help``.
_GROUPS = (
    "evidence",
    "meta",
    "dose",
    "dose_voxel",
    "phantom",
    "patient",
    "recist",
    "tg",
    "design",
    "serve",
    "admin",
    "audit",
    "registry",
    "dictionary",
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


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``redif`` console script."""
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
    except RedifError as exc:
        if debug:
            raise
        sys.stderr.write(f"error: {exc}\n")
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        if debug:
            raise
        sys.stderr.write(
            f"internal error: {type(exc).__name__}: {exc} "
            "(this is a bug in redif; rerun with REDIF_DEBUG=1 and report it)\n"
        )
        sys.exit(1)
    sys.exit(rv if isinstance(rv, int) else 0)
