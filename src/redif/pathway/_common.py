"""Small shared types of the pathway: a rule reference with its source and grade, a regimen of the table.

:class:`Regimen` lives here (not in :mod:`redif.pathway.regimens`) so that
:mod:`redif.pathway.evidence_link` can type it without importing the module that calls it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from redif.data import Grade

__all__ = ["Regimen", "RuleRef", "require_sourced"]


@dataclass(frozen=True)
class RuleRef:
    """A rule as shown to the user: id, text, source and grade (from a data file)."""

    id: str
    text: str
    source: str
    grade: Grade

    @classmethod
    def from_entry(cls, entry: Mapping[str, Any], *, file: str, key: str | None = None) -> RuleRef:
        """Build from a data-file entry, checking that it carries a source and a valid grade."""
        require_sourced(entry, file=file, key=key or str(entry.get("id")))
        return cls(
            id=str(key or entry["id"]),
            text=" ".join(str(entry.get("text", "")).split()),
            source=str(entry["source"]),
            grade=Grade(entry["grade"]),
        )


def require_sourced(entry: Mapping[str, Any], *, file: str, key: str) -> None:
    """Raise ``ValueError`` if a data-file entry lacks ``source`` or a valid ``grade`` (a packaging bug)."""
    if not entry.get("source") or entry.get("grade") not in {g.value for g in Grade}:
        raise ValueError(f"data file {file}: entry {key!r} lacks a source or a valid grade")


@dataclass(frozen=True)
class Regimen:
    """One regimen of the data table (``regimens.yaml``)."""

    id: str
    genotype_group: str
    drugs: tuple[str, ...]
    dose: str | None
    duration_days: int | None
    duration_text: str | None
    evidence_level: str
    evidence_rows: tuple[str, ...]
    default_protocol: str
    source: str
    grade: Grade

    @property
    def drug(self) -> str:
        """Drug names joined with ' + '."""
        return " + ".join(self.drugs)
