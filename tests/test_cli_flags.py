"""Issue 10: the CLI translates engine field names into its flags in one place
(``redif.cli._common.report_error`` through ``redif.cli._flags``).

Expected values: the flags declared on the commands themselves (``redif meta pool --mods``,
``redif dose voxel --pet``) and the rule that fields which are no parameter of the command (CSV columns,
YAML paths, DICOM keywords) pass through unchanged.
"""

from __future__ import annotations

import io
from contextlib import redirect_stderr

from redif.cli import _common
from redif.cli._flags import command_flags, flag_for
from redif.cli.main import _invoked_command
from redif.errors import InputError


def _field(field: str, argv: list[str]) -> str:
    return _common.flag_for(field, _invoked_command(argv))


def test_parameter_names_become_their_flags() -> None:
    """A field equal to a command parameter is shown as that parameter's long option."""
    assert _field("times_h", ["dose", "tia", "--times-h", "4,x"]) == "--times-h"
    assert _field("min_grade", ["evidence", "pool", "--min-grade", "gold"]) == "--min-grade"
    assert _field("study_ci", ["meta", "pool", "f.csv"]) == "--study-ci"
    assert _field("file", ["meta", "pool", "f.csv"]) == "FILE"


def test_declared_overrides() -> None:
    """Where the engine's parameter differs from the command's, field_flags declares it."""
    assert _field("moderators", ["meta", "pool", "f.csv", "--mods", "a,"]) == "--mods"
    assert _field("moderators", ["evidence", "regress", "--mods", "x"]) == "--mods"
    assert _field("volumes", ["dose", "voxel", "--pet", "a"]) == "--pet"


def test_other_fields_pass_through() -> None:
    """CSV columns, case-file paths and unknown commands keep the engine's field."""
    assert _field("events", ["meta", "pool", "f.csv"]) == "events"
    assert _field("lesions.0.volume_ml", ["dose", "plan", "c.yaml"]) == "lesions.0.volume_ml"
    assert _field("times_h", ["nope", "tia"]) == "times_h"
    assert _field("times_h", ["dose"]) == "times_h"  # a group, not a command


def test_translation_keeps_message_value_remedy_and_exit_status() -> None:
    exc = InputError("bad value", field="times_h", value=3, remedy="fix it")
    err = io.StringIO()
    with redirect_stderr(err):
        status = _common.report_error(exc, _invoked_command(["dose", "tia"]))
    assert status == 2
    assert err.getvalue() == "error: --times-h: bad value (got 3); fix it\n"


def test_helpers() -> None:
    """flag_for falls back to the field; command_flags reads a command's options."""
    assert flag_for("x", {"y": "--y"}) == "x" and flag_for("y", {"y": "--y"}) == "--y"
    cmd = _invoked_command(["meta", "pool"])
    assert cmd is not None and command_flags(cmd)["method"] == "--method"
