"""Issue 10: the CLI is one consistent interface.

* every command that computes something has ``--json``, with the same option name and the same help text
  (the one definition :data:`redif.cli._common.JsonOpt`); a command that only acts (serve, create a user)
  is named in its module's ``ACTIONS``;
* one error handler for every command (:func:`redif.cli._common.report_error`), with the exit codes of the
  README ("Exit codes") and ``redif --help``: 0 ok, 1 a finding (a broken audit trail), 2 bad input (one
  line on standard error naming the flag, the value and the remedy; no traceback), 3 internal error
  ("internal error ... please report", no traceback unless ``REDIF_DEBUG=1``);
* an engine's error names its own parameter; the handler shows it as the command's flag (``FLAGS`` of the
  command module, or ``tau2_method`` -> ``--tau2-method``).

Expected values come from the issue text (item 5) and the README paragraph "Exit codes".
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main

from redif.cli import _common
from redif.cli._flags import FIELD_FLAGS_ATTR
from redif.cli.main import app, main
from redif.errors import InputError


def _leaves(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    commands = getattr(command, "commands", None)
    if commands is None:
        yield path, command
        return
    for name, sub in commands.items():
        yield from _leaves(sub, (*path, name))


LEAVES = list(_leaves(typer.main.get_command(app)))


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


def test_walk_finds_the_commands() -> None:
    """Issue 10: the walk over the typer app reaches the nested commands (a sanity check of the walker)."""
    names = {" ".join(p) for p, _ in LEAVES}
    assert {"audit verify", "tg doubling-time", "evidence pool", "patient assess"} <= names


@pytest.mark.parametrize(("path", "command"), LEAVES, ids=[" ".join(p) for p, _ in LEAVES])
def test_every_computing_command_has_the_same_json_option(path: tuple[str, ...], command: Any) -> None:
    """Issue 10: ``--json`` on every command that computes something, with the shared help text."""
    module = sys.modules[command.callback.__module__]
    if path[-1] in getattr(module, "ACTIONS", frozenset()):
        return
    options = [p for p in command.params if "--json" in getattr(p, "opts", ())]
    assert options, f"redif {' '.join(path)} has no --json (or name it in {module.__name__}.ACTIONS)"
    (opt,) = options
    assert opt.help == _common.JSON_HELP
    assert opt.is_flag and opt.default is False


def test_help_documents_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 10: ``redif --help`` states the exit-code convention (0, 1, 2, 3)."""
    code, out, _ = _run(["--help"], capsys)
    assert code == 0
    flat = " ".join(out.split())
    for part in ("Exit codes: 0 ok", "1 a finding", "2 bad input", "3 internal error"):
        assert part in flat


def test_readme_documents_exit_codes() -> None:
    """Issue 10: the README has an "Exit codes" paragraph with the four codes."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert "Exit codes" in readme
    section = readme[readme.index("Exit codes"):][:1500]
    for code in ("`0`", "`1`", "`2`", "`3`"):
        assert code in section


def _csv(tmp_path: Path) -> Path:
    f = tmp_path / "tg.csv"
    f.write_text("date,tg\n2024-01-01,1.0\n2024-04-01,2.0\n2024-07-01,4.1\n", encoding="utf-8")
    return f


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["tg", "doubling-time", "{csv}", "--tsh-state", "bogus"],
         ["--tsh-state", "'bogus'", "use suppressed"]),
        (["tg", "doubling-time", "{csv}", "--tgab-cutoff", "-1"], ["--tgab-cutoff", "-1"]),
        (["evidence", "pool", "--prefer", "sideways"], ["--prefer", "'sideways'", "use arms or overall"]),
        (["patient", "validate", "{missing}"], ["missing.yaml", "cannot read case file"]),
        (["patient", "protocol", "nosuch"], ["protocol", "'nosuch'", "use one of"]),
    ],
    ids=["tg-state", "tg-cutoff", "evidence-prefer", "patient-missing-file", "patient-unknown-protocol"],
)
def test_bad_input_exits_2_with_one_line(argv: list[str], expected: list[str], tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 10: bad input -> exit 2, one line on stderr naming the flag/field, the value and the remedy,
    no traceback."""
    subst = {"{csv}": str(_csv(tmp_path)), "{missing}": str(tmp_path / "missing.yaml")}
    code, _, err = _run([subst.get(a, a) for a in argv], capsys)
    assert code == 2, err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("error: ")
    for part in expected:
        assert part in err


def test_engine_field_is_shown_as_the_flag(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 10: an engine error naming its parameter (``tsh_state``) is shown as the command's flag
    (``--tsh-state``, default rule), and a command's declared override (``redif.cli._flags.field_flags``)
    wins over the default rule."""
    import redif.cli.tg as tg_cli
    import redif.response.thyroglobulin as tg

    def bad(*_a: Any, **_k: Any) -> Any:
        raise InputError("not usable", field="tsh_state", value="x", remedy="fix it")

    monkeypatch.setattr(tg, "doubling_time", bad)
    code, _, err = _run(["tg", "doubling-time", str(_csv(tmp_path))], capsys)
    assert code == 2 and err.startswith("error: --tsh-state: not usable")
    monkeypatch.setattr(tg_cli.doubling_time_cmd, FIELD_FLAGS_ATTR, {"tsh_state": "--state-of-tsh"},
                        raising=False)
    code, _, err = _run(["tg", "doubling-time", str(_csv(tmp_path))], capsys)
    assert code == 2 and err.startswith("error: --state-of-tsh: not usable")


def test_flag_for_leaves_paths_and_unknown_fields() -> None:
    """Issue 10: paths inside a file, file names and fields that are no option of the command pass through."""
    (_, command), = [(p, c) for p, c in LEAVES if p == ("tg", "doubling-time")]
    assert _common.flag_for("tgab_cutoff", command) == "--tgab-cutoff"
    assert _common.flag_for("file", command) == "FILE"
    assert _common.flag_for("lesions[2].mass_g", command) == "lesions[2].mass_g"
    assert _common.flag_for("examples/case.yaml", command) == "examples/case.yaml"
    assert _common.flag_for("no_such_option", command) == "no_such_option"
    assert _common.flag_for("tgab_cutoff", None) == "tgab_cutoff"


def test_internal_error_exits_3_without_traceback(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 10: an unexpected exception in an engine -> exit 3, "internal error ... please report", no
    traceback; with ``REDIF_DEBUG=1`` the exception propagates (the traceback is shown)."""
    import redif.response.thyroglobulin as tg

    def boom(*_a: Any, **_k: Any) -> Any:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(tg, "doubling_time", boom)
    monkeypatch.delenv("REDIF_DEBUG", raising=False)
    code, _, err = _run(["tg", "doubling-time", str(_csv(tmp_path))], capsys)
    assert code == 3
    assert "internal error" in err and "please report" in err and "kaboom" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    monkeypatch.setenv("REDIF_DEBUG", "1")
    with pytest.raises(RuntimeError, match="kaboom"):
        main(["tg", "doubling-time", str(_csv(tmp_path))])


def test_ok_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 10: a successful command exits 0 and ``--json`` gives JSON on stdout."""
    import json

    code, out, err = _run(["tg", "doubling-time", str(_csv(tmp_path)), "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)["n"] == 3


def test_audit_verify_on_tampered_database_exits_1(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 10: ``redif audit verify`` exits 0 on an intact trail and 1 (a finding) after an audit event
    is deleted (SQLite; the PostgreSQL case is tests/security/test_audit_trail.py)."""
    from sqlalchemy import create_engine, text

    data = tmp_path / "data"
    code, _, err = _run(["admin", "create-site", "--data-dir", str(data), "--code", "A", "--name", "Site A"],
                        capsys)
    assert code == 0, err
    code, _, err = _run(["admin", "create-site", "--data-dir", str(data), "--code", "B", "--name", "Site B"],
                        capsys)
    assert code == 0, err
    code, _, err = _run(["audit", "verify", "--data-dir", str(data)], capsys)
    assert code == 0, err
    (db_file,) = [p for p in data.iterdir() if p.suffix in (".db", ".sqlite", ".sqlite3")]
    engine = create_engine(f"sqlite:///{db_file}")
    with engine.begin() as conn:
        last = conn.execute(text("SELECT max(seq) FROM audit_events")).scalar_one()
        conn.execute(text("DELETE FROM audit_events WHERE seq = :s"), {"s": last})
    engine.dispose()
    code, _, err = _run(["audit", "verify", "--data-dir", str(data)], capsys)
    assert code == 1
    assert "BROKEN" in err and "Traceback" not in err
