"""Sourced data tables shipped with redif.

Every clinical or physical constant redif uses lives in a file of this package with its ``source`` and
``grade`` (``primary`` / ``secondary`` / ``unverified``, as defined in ``README.md`` here). Code reads the
constants through :func:`load_yaml` / :func:`sourced_value`; it never types them as literals.

Convention for a single constant in a YAML file::

    blood_dose_limit:
      value: 2.0
      unit: Gy
      source: "Lassmann M et al. EANM SOP, Eur J Nucl Med Mol Imaging 2008; PMID 18491092"
      grade: primary
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from redif.errors import InputError

__all__ = ["Grade", "SourcedValue", "data_path", "load_yaml", "sourced_value"]


class Grade(enum.StrEnum):
    """How far a fact was checked (see docs/methods/sources-and-grades.md)."""

    PRIMARY = "primary"
    SECONDARY = "secondary"
    UNVERIFIED = "unverified"


@dataclass(frozen=True)
class SourcedValue:
    """A constant together with its unit, source and grade."""

    name: str
    value: Any
    unit: str | None
    source: str
    grade: Grade

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "name": self.name,
            "value": self.value,
            "unit": self.unit,
            "source": self.source,
            "grade": self.grade.value,
        }


def data_path(name: str) -> Path:
    """Return the path of a data file shipped in ``redif/data`` (e.g. ``"nuclides.yaml"``)."""
    path = Path(str(resources.files("redif.data").joinpath(name)))
    if not path.exists():
        raise FileNotFoundError(f"redif data file {name!r} is missing from the installation")
    return path


@lru_cache(maxsize=64)
def _load_yaml_cached(name: str) -> Any:
    with data_path(name).open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def load_yaml(name: str) -> Any:
    """Load (and cache) a YAML data file shipped with redif. Treat the result as read-only."""
    return _load_yaml_cached(name)


def sourced_value(name: str, key: str) -> SourcedValue:
    """Return the constant ``key`` of YAML file ``name`` with its source and grade.

    Raises
    ------
    InputError
        If the key does not exist or lacks a source or grade.
    """
    table = load_yaml(name)
    entry = table.get(key) if isinstance(table, dict) else None
    if not isinstance(entry, dict) or "value" not in entry:
        raise InputError(f"no constant {key!r} in data file {name}", field=key)
    if not entry.get("source") or entry.get("grade") not in {g.value for g in Grade}:
        raise InputError(
            f"constant {key!r} in {name} lacks a source or a valid grade", field=key,
            remedy="every constant needs 'source' and 'grade' (primary/secondary/unverified)",
        )
    return SourcedValue(
        name=key,
        value=entry["value"],
        unit=entry.get("unit"),
        source=str(entry["source"]),
        grade=Grade(entry["grade"]),
    )
