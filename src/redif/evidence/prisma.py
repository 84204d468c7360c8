"""Screening log and PRISMA 2020 flow diagram of the living review (pure functions, no file I/O).

The screening log (``redif/data/screening_log.yaml``) holds the counts of the PRISMA 2020 flow diagram
for new reviews [1]_ (identification by source, duplicates removed, records screened and excluded,
reports sought, not retrieved, assessed and excluded with reasons, studies and reports included) and the
``entries`` appended by ``redif evidence add``. A count nobody documented is ``unknown`` and is shown as
"n = unknown", never guessed. Records added later count as identified by other methods and included.

References
----------
.. [1] Page MJ, et al. The PRISMA 2020 statement: an updated guideline for reporting systematic reviews.
   BMJ 2021;372:n71.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from redif.data import load_yaml
from redif.errors import InputError

__all__ = ["LOG_FILE", "UNKNOWN", "PrismaCounts", "add_entry", "load_log", "prisma_counts", "prisma_svg"]

#: The built-in screening log.
LOG_FILE = "screening_log.yaml"
#: How the log writes a count nobody documented.
UNKNOWN = "unknown"
_COUNTS = ("duplicates_removed", "records_screened", "records_excluded", "reports_sought",
           "reports_not_retrieved", "reports_assessed", "studies_included")
Count = int | None  # None: unknown


def _count(raw: object, field: str) -> Count:
    if raw == UNKNOWN or raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        raise InputError("expected a whole number >= 0 or 'unknown'", field=field, value=raw,
                         remedy="write the count, or unknown when it was not documented")
    return raw


@dataclass(frozen=True)
class PrismaCounts:
    """The boxes of the PRISMA 2020 diagram (``None`` = unknown)."""

    identified: dict[str, Count]
    duplicates_removed: Count
    records_screened: Count
    records_excluded: Count
    reports_sought: Count
    reports_not_retrieved: Count
    reports_assessed: Count
    reports_excluded: tuple[tuple[str, int], ...]
    studies_included: Count
    reports_included: int
    included_ids: tuple[str, ...]
    entries: int

    def to_dict(self) -> dict[str, Any]:
        """JSON form (unknown counts are ``null``)."""
        return {"identified": dict(self.identified), "duplicates_removed": self.duplicates_removed,
                "records_screened": self.records_screened, "records_excluded": self.records_excluded,
                "reports_sought": self.reports_sought, "reports_not_retrieved": self.reports_not_retrieved,
                "reports_assessed": self.reports_assessed,
                "reports_excluded": [{"reason": r, "count": n} for r, n in self.reports_excluded],
                "studies_included": self.studies_included, "reports_included": self.reports_included,
                "included_ids": list(self.included_ids), "entries": self.entries}


def load_log() -> dict[str, Any]:
    """A fresh copy of the built-in screening log (a plain mapping, safe to modify)."""
    data = load_yaml(LOG_FILE)
    return {k: (list(v) if isinstance(v, list) else dict(v) if isinstance(v, dict) else v)
            for k, v in data.items()}


def prisma_counts(log: Mapping[str, Any]) -> PrismaCounts:
    """Validate a screening log and compute the diagram's counts.

    Raises
    ------
    InputError
        Naming the field, for a malformed count, reason or entry.
    """
    if not isinstance(log, Mapping):
        raise InputError("expected a mapping", field="screening log")
    ident_raw = log.get("identification")
    if not isinstance(ident_raw, Mapping):
        raise InputError("is required", field="identification",
                         remedy="give databases, registers and other_methods (a count or unknown)")
    identified = {k: _count(ident_raw.get(k), f"identification.{k}")
                  for k in ("databases", "registers", "other_methods")}
    excluded: list[tuple[str, int]] = []
    for i, item in enumerate(log.get("reports_excluded") or []):
        if not isinstance(item, Mapping) or not str(item.get("reason") or "").strip():
            raise InputError("each exclusion needs a reason and a count", field=f"reports_excluded[{i}]",
                             value=item)
        n = _count(item.get("count"), f"reports_excluded[{i}].count")
        if n is None:
            raise InputError("an exclusion reason needs its count", field=f"reports_excluded[{i}].count")
        excluded.append((str(item["reason"]).strip(), n))
    included = [str(x) for x in log.get("included_reports") or []]
    entries = log.get("entries") or []
    if not isinstance(entries, list):
        raise InputError("expected a list", field="entries")
    added: list[str] = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("records"), list) \
                or not entry.get("date"):
            raise InputError("each entry needs a date and its records", field=f"entries[{i}]", value=entry)
        if entry.get("decision", "included") == "included":
            added.extend(str(r) for r in entry["records"])
    if identified["other_methods"] is not None:
        identified["other_methods"] += len(added)
    counts = {k: _count(log.get(k), k) for k in _COUNTS}
    ids = tuple(dict.fromkeys(included + added))
    return PrismaCounts(identified=identified, reports_excluded=tuple(excluded), reports_included=len(ids),
                        included_ids=ids, entries=len(entries), **counts)


def add_entry(log: Mapping[str, Any], records: Sequence[str], *, file: str,
              date: _dt.date | None = None, note: str | None = None) -> dict[str, Any]:
    """A copy of ``log`` with one entry appended: records added (included) on ``date`` (today)."""
    out = dict(log)
    entry: dict[str, Any] = {"date": (date or _dt.date.today()).isoformat(), "file": file,
                             "records": list(records), "decision": "included"}
    if note:
        entry["note"] = note
    out["entries"] = [*(log.get("entries") or []), entry]
    return out


def _n(value: Count) -> str:
    return "unknown" if value is None else str(value)


def _box(x: float, y: float, w: float, h: float, lines: Sequence[str], *, fill: str = "#ffffff") -> str:
    parts = [f'<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="{fill}" stroke="#000000"/>']
    for i, line in enumerate(lines):
        weight = ' font-weight="bold"' if i == 0 else ""
        parts.append(f'<text x="{x + 8}" y="{y + 18 + 15 * i}"{weight}>{escape(line)}</text>')
    return "\n".join(parts)


def _arrow(x1: float, y1: float, x2: float, y2: float) -> str:
    return f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#000000" marker-end="url(#a)"/>'


def prisma_svg(counts: PrismaCounts, *, title: str = "redif living review") -> str:
    """The PRISMA 2020 flow diagram (identification, screening, included) as SVG text."""
    ident = counts.identified
    left, right, w, rw = 130.0, 470.0, 300.0, 300.0
    excluded = [f"{reason} (n = {n})" for reason, n in counts.reports_excluded] or ["none documented"]
    boxes = [
        _box(left, 50, w, 80, ["Records identified from:", f"Databases (n = {_n(ident['databases'])})",
                               f"Registers (n = {_n(ident['registers'])})",
                               f"Other methods (n = {_n(ident['other_methods'])})"]),
        _box(right, 50, rw, 80, ["Records removed before screening:",
                                 f"Duplicates (n = {_n(counts.duplicates_removed)})"]),
        _box(left, 160, w, 50, ["Records screened", f"(n = {_n(counts.records_screened)})"]),
        _box(right, 160, rw, 50, ["Records excluded", f"(n = {_n(counts.records_excluded)})"]),
        _box(left, 240, w, 50, ["Reports sought for retrieval", f"(n = {_n(counts.reports_sought)})"]),
        _box(right, 240, rw, 50, ["Reports not retrieved", f"(n = {_n(counts.reports_not_retrieved)})"]),
        _box(left, 320, w, 50, ["Reports assessed for eligibility", f"(n = {_n(counts.reports_assessed)})"]),
        _box(right, 320, rw, 30 + 15 * len(excluded), ["Reports excluded:", *excluded]),
        _box(left, 420, w, 65, ["Studies included in review", f"(n = {_n(counts.studies_included)})",
                                f"Reports of included studies (n = {counts.reports_included})"]),
    ]
    arrows = [_arrow(left + w, 90, right, 90), _arrow(left + w / 2, 130, left + w / 2, 160),
              _arrow(left + w, 185, right, 185), _arrow(left + w / 2, 210, left + w / 2, 240),
              _arrow(left + w, 265, right, 265), _arrow(left + w / 2, 290, left + w / 2, 320),
              _arrow(left + w, 345, right, 345), _arrow(left + w / 2, 370, left + w / 2, 420)]
    stages = [("Identification", 50, 80), ("Screening", 160, 210), ("Included", 420, 65)]
    side = [f'<rect x="20" y="{y}" width="90" height="{h}" fill="#cfe2f3" stroke="#000000"/>'
            f'<text x="65" y="{y + h / 2 + 4}" text-anchor="middle" font-weight="bold">{name}</text>'
            for name, y, h in stages]
    height = 520
    return "\n".join([
        f'<svg xmlns="http://www.w3.org/2000/svg" width="800" height="{height}" '
        f'viewBox="0 0 800 {height}" font-family="DejaVu Sans, sans-serif" font-size="12">',
        '<defs><marker id="a" markerWidth="8" markerHeight="8" refX="7" refY="4" orient="auto">'
        '<path d="M0,0 L8,4 L0,8 z" fill="#000000"/></marker></defs>',
        f'<text x="20" y="30" font-size="14" font-weight="bold">PRISMA 2020 flow diagram: '
        f'{escape(title)}</text>',
        *side, *boxes, *arrows,
        f'<text x="20" y="{height - 12}" font-size="10">"unknown": not documented in the screening log '
        '(never guessed). Page MJ et al. BMJ 2021;372:n71.</text>',
        "</svg>",
    ]) + "\n"
