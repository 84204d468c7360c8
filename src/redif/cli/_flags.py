"""Translate the field an engine names in an error into the command-line flag the user typed.

Engines raise :class:`~redif.errors.InputError` naming their own parameter or the model's field
(``method``, ``activity_gbq``, ``moderators``); they know nothing of the command line. The CLI's error
handler (:func:`redif.cli._common.report_error`) finds the command that ran and names its flag instead,
through :func:`command_flags` and :func:`flag_for`:

* a command's own parameters map to their long option (parameter ``activity_gbq`` -> ``--activity-gbq``),
  read from the click command itself, so no table has to repeat them;
* where an engine's field differs from the command's parameter (engine ``moderators``, flag ``--mods``)
  the command declares it with :func:`field_flags`;
* any other field (a column in a file, a key in a YAML case file, a DICOM keyword) is left as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

__all__ = ["FIELD_FLAGS_ATTR", "command_flags", "field_flags", "flag_for"]

#: Attribute a command callback carries with its engine-field -> flag overrides (typer copies a
#: callback's ``__dict__`` onto the click command's callback with ``functools.update_wrapper``).
FIELD_FLAGS_ATTR = "__redif_field_flags__"

_F = TypeVar("_F", bound=Callable[..., Any])


def field_flags(**mapping: str) -> Callable[[_F], _F]:
    """Declare the flags of engine fields that differ from the command's parameter names.

    Examples
    --------
    >>> @field_flags(moderators="--mods", tau2_method="--method")
    ... def pool_command() -> None: ...
    """

    def mark(func: _F) -> _F:
        setattr(func, FIELD_FLAGS_ATTR, dict(mapping))
        return func

    return mark


def flag_for(field: str, command_flags: Mapping[str, str]) -> str:
    """The flag for an engine ``field`` under one command's ``command_flags``, or ``field`` unchanged.

    Parameters
    ----------
    field
        The field an engine named (``InputError.field``).
    command_flags
        Engine field or parameter name -> flag, from :func:`command_flags`.
    """
    return command_flags.get(field, field)


def _long_option(param: Any) -> str | None:
    opts = [o for o in getattr(param, "opts", ()) if o.startswith("--")]
    return max(opts, key=len) if opts else None


def command_flags(command: Any) -> dict[str, str]:
    """Field -> flag for a click ``command``: its parameters' long options, then its :func:`field_flags`.

    Duck-typed: typer >= 0.20 builds its commands on a vendored copy of click, so ``isinstance`` checks
    against ``click`` would fail.
    """
    out: dict[str, str] = {}
    for param in getattr(command, "params", ()):
        name = getattr(param, "name", None)
        if not name:
            continue
        if getattr(param, "param_type_name", "") == "argument":
            out[name] = str(name).upper()
        else:
            opt = _long_option(param)
            if opt:
                out[name] = opt
    out.update(getattr(getattr(command, "callback", None), FIELD_FLAGS_ATTR, None) or {})
    return out
