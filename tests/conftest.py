"""Shared pytest configuration.

Subprocesses started by tests (``python -m redif ...``) see the source tree through PYTHONPATH, so the
suite also runs from a checkout that is not pip-installed.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")
_SRC = str(Path(__file__).resolve().parents[1] / "src")
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (_SRC, os.environ.get("PYTHONPATH", "")) if p
)
