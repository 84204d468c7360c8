"""Historical arms for a MAP prior: picked from the redif evidence base or given by the user.

References
----------
docs/methods/sources-and-grades.md (evidence table, grades, uptake definitions), via
:mod:`redif.evidence.tables`.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from redif.errors import InputError
from redif.evidence.studies import load_evidence
from redif.evidence.tables import outcome_table, require_one_definition

__all__ = ["HistoricalArms", "arms_from_evidence", "parse_arms_csv", "read_arms_csv", "select_arms"]

_R_COLUMNS = ("r", "responders", "events", "x")
_N_COLUMNS = ("n", "patients", "total", "totals")


@dataclass(frozen=True)
class HistoricalArms:
    """Responders ``r`` among ``n`` patients of each historical arm, with labels and provenance."""

    labels: tuple[str, ...]
    r: tuple[int, ...]
    n: tuple[int, ...]
    sources: tuple[str, ...] = ()
    selection: str = ""
    mixed_definitions: bool = False

    def __post_init__(self) -> None:
        if not (len(self.labels) == len(self.r) == len(self.n)):
            raise InputError("labels, responders and sizes differ in length", field="data")
        if not self.r:
            raise InputError(
                "no historical arm",
                field="data",
                remedy="give at least one arm (check the genotype/definition filters)",
            )

    def to_dict(self) -> dict[str, object]:
        """JSON form: one entry per arm."""
        return {
            "selection": self.selection,
            "mixed_definitions": self.mixed_definitions,
            "arms": [
                {"label": lab, "r": r, "n": n, **({"source": self.sources[i]} if self.sources else {})}
                for i, (lab, r, n) in enumerate(zip(self.labels, self.r, self.n, strict=True))
            ],
        }


def arms_from_evidence(
    outcome: str,
    genotype: str | None = None,
    definition: str | None = None,
    min_grade: str = "secondary",
    mix_definitions: bool = False,
) -> HistoricalArms:
    """Arms of the curated evidence base for ``outcome`` (``uptake`` or ``response``), filtered by
    genotype and (uptake only) definition of restored uptake, using the evidence engine's rules (one
    analysis unit per arm, never a part with its whole, low grades left out).

    Like with like (issue 12): uptake arms measured under different definitions of restored uptake (a
    124I increase, a dose threshold, a diagnostic or a post-therapy scan; each "not reported" definition
    counts as its own) are not exchangeable, which a MAP prior assumes. Without ``definition`` the arms
    must share one, unless ``mix_definitions`` (the selection is then labelled "mixed definitions").

    Raises
    ------
    InputError
        No arm matches the filters.
    redif.evidence.tables.MixedDefinitionsError
        Uptake arms under several definitions, without ``mix_definitions`` (field ``definition``; the
        message names the definitions present).
    """
    table = outcome_table(
        load_evidence(), outcome, genotype=genotype, definition=definition, min_grade=min_grade
    )
    if not table.rows:
        raise InputError(
            "no arm of the evidence base matches",
            field="genotype",
            value={"outcome": outcome, "genotype": genotype, "definition": definition},
            remedy="relax the definition or min_grade, or choose another genotype",
        )
    mixed = require_one_definition(table, mix_definitions=mix_definitions, what="MAP prior")
    sel = ", ".join(f"{k}={v}" for k, v in table.filters.items())
    labels = tuple(r.label for r in table.rows)
    if mixed:  # each arm says which definition it uses
        sel += ", MIXED DEFINITIONS"
        labels = tuple(f"{r.label} ({r.definition.label if r.definition else '?'})" for r in table.rows)
    return HistoricalArms(
        labels=labels,
        r=tuple(r.events for r in table.rows),
        n=tuple(r.total for r in table.rows),
        sources=tuple(r.source for r in table.rows),
        selection=sel,
        mixed_definitions=mixed,
    )


def read_arms_csv(data: Path) -> HistoricalArms:
    """Read historical arms from a CSV with columns ``r`` and ``n`` (aliases: responders/events,
    patients/total) and an optional ``label``/``study`` column.

    Raises
    ------
    InputError
        Naming the file (field ``data``) or the column and line of the first bad value.
    """
    path = Path(data)
    if not path.is_file():
        raise InputError("file not found", field="data", value=str(path), remedy="give an existing CSV file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the file ({exc})", field="data", value=str(path)) from None
    return parse_arms_csv(text, name=str(path))


def parse_arms_csv(text: str, *, name: str) -> HistoricalArms:
    """Validate the CSV ``text`` of historical arms (``name`` labels the errors); no file I/O."""
    reader = csv.DictReader(text.splitlines())
    cols = {c.strip().lower(): c for c in (reader.fieldnames or [])}
    rc = next((cols[c] for c in _R_COLUMNS if c in cols), None)
    nc = next((cols[c] for c in _N_COLUMNS if c in cols), None)
    lc = cols.get("label") or cols.get("study")
    if rc is None or nc is None:
        raise InputError(f"{name}: needs columns r and n (responders and patients per arm)", field="data",
                         value=list(cols), remedy="add a header line such as: label,r,n")
    labels: list[str] = []
    rs: list[int] = []
    ns: list[int] = []
    for i, row in enumerate(reader, start=2):
        vals = []
        for col in (rc, nc):
            t = (row.get(col) or "").strip()
            try:
                v = float(t)
            except ValueError:
                raise InputError(f"{name} line {i}: not a number", field=col, value=t,
                                 remedy="give whole-number counts") from None
            if not math.isfinite(v) or v != int(v) or v < 0:
                raise InputError(f"{name} line {i}: not a non-negative whole number", field=col, value=t)
            vals.append(int(v))
        r, n = vals
        if n < 1 or r > n:
            raise InputError(f"{name} line {i}: need 1 <= n and r <= n", field=rc, value=(r, n),
                             remedy="check the responders and patients of that arm")
        labels.append((row.get(lc) or "").strip() if lc else f"arm {len(labels) + 1}")
        rs.append(r)
        ns.append(n)
    if not rs:
        raise InputError(f"{name}: no data rows", field="data", remedy="add one row per historical arm")
    return HistoricalArms(labels=tuple(labels), r=tuple(rs), n=tuple(ns), selection=f"file {name}")


def select_arms(
    data: Path | None = None, *, from_evidence: bool = False, outcome: str | None = None,
    genotype: str | None = None, definition: str | None = None, min_grade: str = "secondary",
    mix_definitions: bool = False,
) -> HistoricalArms:
    """The historical arms of a MAP prior: a user's CSV (``data``) or the evidence base (``outcome``...).

    Raises
    ------
    InputError
        Unless exactly one source is given, or the evidence base is asked without an outcome.
    """
    if (data is None) == (not from_evidence):
        raise InputError("give either a CSV of historical arms or choose the evidence base", field="data",
                         remedy="e.g. the evidence base with outcome uptake and genotype BRAF")
    if data is not None:
        return read_arms_csv(data)
    if outcome is None:
        raise InputError("the evidence base needs an outcome", field="outcome",
                         remedy="use uptake or response")
    return arms_from_evidence(outcome, genotype=genotype, definition=definition, min_grade=min_grade,
                              mix_definitions=mix_definitions)

