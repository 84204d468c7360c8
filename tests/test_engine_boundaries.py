"""Issue 10, item 5: the engines know nothing of the command line.

The engines (``redif.evidence``, ``redif.design``, ``redif.dosimetry``, ``redif.response``,
``redif.pathway`` and ``redif.io``) raise errors that name their own parameters or the model's fields;
the CLI translates those names to its flags in one place (``redif.cli._flags``) and the web shows its
form field names. The expected value (no flag anywhere in an engine) comes from the issue text.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

_SRC = Path(__file__).resolve().parents[1] / "src" / "redif"
_ENGINES = ("evidence", "design", "dosimetry", "response", "pathway", "io")
_FLAG = re.compile(r"^--[a-z]")  # "--" alone is a matplotlib line style, not a flag
_FLAG_IN_TEXT = re.compile(r"(?<![\w-])--[a-z]")
_ERRORS = {"InputError", "DicomInputError", "ConvergenceError", "LimitExceeded", "NotFound", "Conflict"}


def _engine_files() -> list[Path]:
    return sorted(p for pkg in _ENGINES for p in (_SRC / pkg).rglob("*.py"))


def _name(func: ast.expr) -> str:
    return str(getattr(func, "id", getattr(func, "attr", "")))


def _flag_strings(path: Path) -> list[str]:
    """Every string constant in ``path`` that is a CLI flag (``--name``), with its line."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and _FLAG.match(node.value):
            found.append(f"{path.relative_to(_SRC)}:{node.lineno}: {node.value!r}")
        elif isinstance(node, ast.JoinedStr) and node.values:
            head = node.values[0]
            if isinstance(head, ast.Constant) and isinstance(head.value, str) and _FLAG.match(head.value):
                found.append(f"{path.relative_to(_SRC)}:{node.lineno}: f-string {head.value!r}")
        elif isinstance(node, ast.Call) and _name(node.func) in _ERRORS:
            for sub in ast.walk(node):  # message, field and remedy of an error: no "use --method EE"
                if isinstance(sub, ast.Constant) and isinstance(sub.value, str) \
                        and _FLAG_IN_TEXT.search(sub.value):
                    found.append(f"{path.relative_to(_SRC)}:{sub.lineno}: in an error {sub.value!r}")
    return found


@pytest.mark.parametrize("path", _engine_files(), ids=lambda p: str(p.relative_to(_SRC)))
def test_no_engine_names_a_cli_flag(path: Path) -> None:
    """Issue 10: no engine module holds a ``--flag`` string (an error field, a parse argument, ...)."""
    assert _flag_strings(path) == []


def _imports(path: Path) -> set[str]:
    """Every ``redif.*`` module ``path`` imports, at module level or inside a function."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("redif"):
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("redif"))
    return out


def test_rma_and_glmm_do_not_import_each_other() -> None:
    """Issue 10: the circle rma <-> glmm is broken; the shared fit result lives in rma_result."""
    rma, glmm = _SRC / "evidence" / "rma.py", _SRC / "evidence" / "glmm.py"
    assert "redif.evidence.rma" not in _imports(glmm)
    assert "redif.evidence.rma_result" in _imports(glmm) and "redif.evidence.rma_result" in _imports(rma)
