"""Fixtures for the pathway tests: example paths, a minimal case builder and a CLI runner."""

from __future__ import annotations

import contextlib
import copy
import io
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"

_BASE: dict[str, Any] = {
    "case_id": "T-001",
    "synthetic": True,
    "assessment_date": "2024-06-01",
    "histology": "papillary",
    "genotype": [{"gene": "BRAF", "kind": "mutation", "variant": "V600E"}],
    "lesions": [{"id": "L1", "site": "lung", "organ": "lung", "size_mm": 15, "detected_by": ["ct"]}],
}


@pytest.fixture
def make_case() -> Callable[..., dict[str, Any]]:
    """Return a builder: ``make_case(**overrides)`` gives a fresh case dict."""

    def build(**overrides: Any) -> dict[str, Any]:
        data = copy.deepcopy(_BASE)
        data.update(copy.deepcopy(overrides))
        return data

    return build


@pytest.fixture
def redif(monkeypatch: pytest.MonkeyPatch) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the ``redif`` command in-process (the same ``main`` as the console script, so exit status and
    stderr are the user's) and return a CompletedProcess. ``test_subprocess_entry_point`` covers the
    real ``python -m redif`` path."""
    from redif.cli.main import main

    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("COLUMNS", "120")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        out, err = io.StringIO(), io.StringIO()
        code = 0
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(list(args))
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        return subprocess.CompletedProcess(["redif", *args], code, out.getvalue(), err.getvalue())

    return run


@pytest.fixture
def redif_subprocess() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run ``python -m redif ARGS`` in a subprocess."""

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "redif", *args], capture_output=True, text=True, check=False, cwd=ROOT
        )

    return run


@pytest.fixture
def examples_dir() -> Path:
    return EXAMPLES
