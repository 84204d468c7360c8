"""Shared helpers of the tests/ipd suite: run the console entry point in-process."""

from __future__ import annotations

import contextlib
import io
import subprocess

from redif.cli.main import main


def run_cli(*argv: str) -> subprocess.CompletedProcess[str]:
    """Run ``redif ARGV`` in-process; return what a subprocess would (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(argv))
        except SystemExit as exc:
            code = int(exc.code or 0)
    return subprocess.CompletedProcess(list(argv), code, out.getvalue(), err.getvalue())
