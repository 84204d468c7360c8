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


def test_bad_option_value_is_usage_error_exit_2() -> None:
    """A non-numeric value for a numeric option is a usage error (exit 2), not an internal error."""
    out = _redif("dose", "blood", "--weight-kg", "abc", "--wb-tia-h", "1", "--blood-tia-h-per-ml", "1")
    assert out.returncode == 2
    assert "--weight-kg" in out.stderr
    assert "internal error" not in out.stderr
    assert "Traceback" not in out.stderr


def test_unknown_option_exit_2() -> None:
    out = _redif("evidence", "--no-such-option")
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
