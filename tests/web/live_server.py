"""A real ``redif serve`` process on a free port, for the browser tests (test_browser*.py,
test_accessibility.py): one copy of the start-and-wait logic."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(data_dir: Path, *, timeout_s: float = 90.0) -> tuple[subprocess.Popen[str], str]:
    """Start ``redif serve`` on ``data_dir`` and wait for ``/healthz``; return the process and base URL.

    Fails the test with the server's last output if it exits or does not answer within ``timeout_s``.
    """
    port = free_port()
    cmd = [sys.executable, "-m", "redif", "serve", "--port", str(port), "--data-dir", str(data_dir)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(base + "/healthz", timeout=2).json() == {"status": "ok"}:
                return proc, base
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            out = proc.stdout.read() if proc.stdout else ""
            proc.kill()
            pytest.fail(f"redif serve did not start: {out[-2000:]}")
        time.sleep(0.3)


def stop(proc: subprocess.Popen[str]) -> None:
    """Terminate the server and wait for it (kill after 10 s)."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
