"""Issue 13: the vantage6 algorithm's lock (federated/vantage6/constraints.txt) and its pyproject agree.

Each dependency of ``federated/vantage6/pyproject.toml`` is pinned with ``==`` within its bounds
(vantage6-algorithm-tools in 4.x, the line that runs on Python 3.11), every lock line is an exact pin, and
the environment the simulation runs in (``.venv-vantage6``, ``make vantage6-env``) holds exactly the
locked versions (checked with its own ``pip freeze``).
"""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ALGO = Path(__file__).resolve().parents[2] / "federated" / "vantage6"


def _lock() -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for n, line in enumerate((ALGO / "constraints.txt").read_text(encoding="utf-8").splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, version = line.partition("==")
        assert sep and name and version, f"line {n} is not an exact pin: {line!r}"
        pins[canonicalize_name(name)] = Version(version)
    return pins


def test_every_dependency_is_pinned_within_its_bounds() -> None:
    """Issue 13: pyproject's dependencies are all in the lock, inside their specifiers."""
    pins = _lock()
    project = tomllib.loads((ALGO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    names = {canonicalize_name(r.name) for r in reqs}
    assert names >= {"vantage6-algorithm-tools", "numpy", "pandas", "scipy"}
    for req in reqs:
        key = canonicalize_name(req.name)
        assert key in pins, f"{req.name} missing from the lock: run `make vantage6-lock`"
        assert req.specifier.contains(pins[key]), f"{req.name}=={pins[key]} outside {req.specifier}"
    assert pins["vantage6-algorithm-tools"].major == 4


def test_environment_is_the_lock(v6_python: Path) -> None:
    """Issue 13: `.venv-vantage6` holds exactly the locked versions (its own pip freeze)."""
    proc = subprocess.run([str(v6_python), "-m", "pip", "freeze", "--all", "--exclude-editable"],
                          capture_output=True, text=True, check=True, timeout=120)
    installed = {}
    for line in proc.stdout.splitlines():
        name, sep, version = line.partition("==")
        if sep:
            installed[canonicalize_name(name)] = Version(version)
    wrong = [f"{k}: locked {v}, installed {installed.get(k)}"
             for k, v in _lock().items() if installed.get(k) != v]
    assert not wrong, "; ".join(wrong) + " (rebuild with `rm -rf .venv-vantage6 && make vantage6-env`)"
