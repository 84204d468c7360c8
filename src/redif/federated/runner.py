"""Run the vantage6 algorithm's simulation runner in the algorithm's own Python environment.

``redif_vantage6.simulate`` (in ``.venv-vantage6``) prints one JSON object; this module starts it as a
subprocess, reads the object and turns its error record into :class:`redif.errors.InputError`.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from redif.errors import InputError

__all__ = ["ENV_PYTHON", "algorithm_python", "run_algorithm"]

#: Environment variable naming the algorithm environment's Python (default: ``.venv-vantage6/bin/python``).
ENV_PYTHON = "REDIF_VANTAGE6_PYTHON"

_REPO_ROOT = Path(__file__).resolve().parents[3]
_REMEDY = ("create the algorithm's environment with `make vantage6-env` in the redif repository (a "
           "Python 3.11 venv .venv-vantage6 from federated/vantage6/constraints.txt), "
           f"or set {ENV_PYTHON} to its python")


def algorithm_python() -> Path:
    """The Python of the algorithm's environment: ``$REDIF_VANTAGE6_PYTHON``, else ``.venv-vantage6`` of
    the repository (or of the working directory).

    Raises
    ------
    InputError
        When no such interpreter exists (field ``REDIF_VANTAGE6_PYTHON``), with how to create it.
    """
    given = os.environ.get(ENV_PYTHON, "").strip()
    if given:
        path = Path(given)
        if not path.is_file():
            raise InputError("no such Python for the vantage6 algorithm", field=ENV_PYTHON, value=given,
                             remedy=_REMEDY)
        return path
    for root in (_REPO_ROOT, Path.cwd()):
        path = root / ".venv-vantage6" / "bin" / "python"
        if path.is_file():
            return path
    raise InputError("the vantage6 algorithm's environment is missing", field=ENV_PYTHON,
                     value=str(_REPO_ROOT / ".venv-vantage6"), remedy=_REMEDY)


def run_algorithm(args: list[str], *, timeout_s: float = 600.0) -> dict[str, Any]:
    """Run ``python -m redif_vantage6.simulate ARGS`` and return its ``result`` object.

    Raises
    ------
    InputError
        For bad input found by the algorithm (its field, value and remedy) or a missing environment.
    RuntimeError
        When the runner fails without a JSON answer (a bug, or a broken environment).
    """
    python = algorithm_python()
    proc = subprocess.run([str(python), "-m", "redif_vantage6.simulate", *args], capture_output=True,
                          text=True, timeout=timeout_s, check=False)
    try:
        answer = json.loads(proc.stdout)
    except json.JSONDecodeError:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        if "No module named redif_vantage6" in proc.stderr:
            raise InputError("the algorithm package is not installed in that environment", field=ENV_PYTHON,
                             value=str(python), remedy=_REMEDY) from None
        raise RuntimeError(
            f"the vantage6 algorithm failed (exit {proc.returncode}): {' | '.join(tail)}") from None
    if not answer.get("ok"):
        err = answer.get("error", {})
        raise InputError(str(err.get("message", "bad input")), field=err.get("field"), value=err.get("value"),
                         remedy=err.get("remedy") or None)
    result: dict[str, Any] = answer["result"]
    return result
