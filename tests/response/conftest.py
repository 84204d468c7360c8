"""Fixtures for the response tests: building RECIST cases and running the CLI in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def make_case(
    targets: dict[str, Any],
    follow: Sequence[dict[str, Any]],
    *,
    nodes: Sequence[str] = (),
    non_targets: Sequence[str] = (),
    organ: str | None = None,
    start: str | None = None,
) -> dict[str, Any]:
    """A RECIST case dict: each target in its own organ unless ``organ`` is given; baseline 2025-01-01,
    follow-ups on the first of each following month unless they carry a date."""
    lesions = [
        {"id": k, "organ": organ or f"organ-{k}", "kind": "target", "is_node": k in nodes} for k in targets
    ]
    lesions += [{"id": k, "organ": f"organ-{k}", "kind": "non-target"} for k in non_targets]
    fu = []
    for i, f in enumerate(follow):
        entry = dict(f)
        entry.setdefault("date", f"2025-{i + 2:02d}-01")
        fu.append(entry)
    case: dict[str, Any] = {
        "lesions": lesions,
        "baseline": {"date": "2025-01-01", "target_mm": targets},
        "follow_up": fu,
    }
    if start:
        case["treatment_start"] = start
    return case


@pytest.fixture
def run_cli(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run ``python -m redif ARGS`` (src on PYTHONPATH via tests/conftest.py) and return the result."""

    def _run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "redif", *args], capture_output=True, text=True, timeout=120, cwd=tmp_path
        )

    return _run


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str | dict[str, Any]], Path]:
    """Write text (or a dict as JSON) to a file in tmp_path and return its path."""

    def _write(name: str, content: str | dict[str, Any]) -> Path:
        path = tmp_path / name
        path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
        return path

    return _write


@pytest.fixture
def mk() -> Callable[..., dict[str, Any]]:
    """The :func:`make_case` builder."""
    return make_case


@dataclass
class CliResult:
    """Exit status and captured output of one in-process CLI run."""

    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run the real entry point ``redif.cli.main.main(argv)`` in this process (fast; same code path as
    the console script, including the central one-line error handling and exit status)."""
    from redif.cli.main import main

    def _run(*args: str) -> CliResult:
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return _run
