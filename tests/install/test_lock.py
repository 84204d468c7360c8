"""Issue 9, fresh install: the lock file (``constraints.txt``) and ``pyproject.toml`` agree.

Every requirement of redif (the core dependencies and the ``dev`` and ``dask`` extras that the README's
commands install) is pinned in the lock with ``==``, the pinned version satisfies the lower bound in
``pyproject.toml``, the packages an extra pulls in (``psycopg[binary]`` -> ``psycopg-binary``) are pinned
too, and every line of the lock is an exact pin. Under ``make test`` (``REDIF_TEST_LOCKED=1``) the
environment the tests run in must hold exactly the locked versions, so a green run means "green with the
lock", not "green with whatever this machine happened to have".
"""

from __future__ import annotations

import os
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "constraints.txt"
EXTRAS = ("dev", "dask")  # what the Makefile installs: -e ".[dev,dask]"


def _lock() -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for n, line in enumerate(LOCK.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, version = line.partition("==")
        assert sep and name and version, f"constraints.txt line {n} is not an exact pin: {line!r}"
        key = canonicalize_name(name)
        assert key not in pins, f"constraints.txt pins {name} twice"
        pins[key] = Version(version)
    return pins


def _requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    for extra in EXTRAS:
        reqs += [Requirement(r) for r in project["optional-dependencies"][extra]]
    return reqs


def test_every_requirement_is_pinned_within_its_bounds() -> None:
    pins = _lock()
    reqs = _requirements()
    assert len(reqs) > 20  # the parse saw pyproject's lists
    for req in reqs:
        key = canonicalize_name(req.name)
        assert key in pins, f"{req.name} (pyproject.toml) is missing from constraints.txt: run `make lock`"
        assert req.specifier.contains(pins[key], prereleases=True), (
            f"constraints.txt pins {req.name}=={pins[key]}, outside pyproject.toml's {req.specifier}"
        )


def test_extras_of_requirements_are_pinned() -> None:
    """``psycopg[binary]`` installs ``psycopg-binary``, ``dask[distributed]`` installs ``distributed``."""
    pins = _lock()
    assert "psycopg-binary" in pins
    assert "distributed" in pins


@pytest.mark.skipif(os.environ.get("REDIF_TEST_LOCKED") != "1", reason="only under `make test`")
def test_environment_is_the_lock() -> None:
    """The packages installed in the test environment are exactly the locked versions."""
    wrong = []
    for key, version in _lock().items():
        try:
            installed = Version(metadata.version(key))
        except metadata.PackageNotFoundError:
            wrong.append(f"{key}: locked {version}, not installed")
            continue
        if installed != version:
            wrong.append(f"{key}: locked {version}, installed {installed}")
    assert not wrong, "environment differs from constraints.txt (re-run `make test` after `make clean`): " + (
        "; ".join(wrong)
    )
