"""The root command: version and help."""

from __future__ import annotations

import subprocess
import sys

from redif import __version__


def _redif(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "redif", *args], capture_output=True, text=True, check=False
    )


def test_version() -> None:
    out = _redif("--version")
    assert out.returncode == 0
    assert out.stdout.strip() == f"redif {__version__}"


def test_help_lists_groups() -> None:
    out = _redif("--help")
    assert out.returncode == 0
    assert "redif" in out.stdout
