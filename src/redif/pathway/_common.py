"""Small shared types of the pathway: a rule reference with its source and grade."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from redif.data import Grade

__all__ = ["RuleRef", "require_sourced"]


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
