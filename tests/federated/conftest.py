"""Fixtures of the federated tests (issue 13): the algorithm's environment and the committed site files.

The vantage6 algorithm runs in its own environment (``.venv-vantage6``, ``make vantage6-env``). Under
``REDIF_TEST_LOCKED=1`` (``make test``) a missing environment fails the tests; elsewhere they skip with the
reason.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from redif.errors import InputError
from redif.federated import algorithm_python

DATA = Path(__file__).with_name("data")
SITES = DATA / "sites"


@pytest.fixture(scope="session")
def v6_python() -> Path:
    """The algorithm environment's Python (fail under make test, skip elsewhere when it is missing)."""
    try:
        return algorithm_python()
    except InputError as exc:
        if os.environ.get("REDIF_TEST_LOCKED", "") not in ("", "0"):
            pytest.fail(f"the vantage6 algorithm environment is missing under make test: {exc}")
        pytest.skip(f"vantage6 algorithm environment missing ({exc})")
