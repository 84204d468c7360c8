"""Published arms of the evidence base as extra "sites" of a two-stage IPD pool, never counted twice.

Two ways in:

- ``with_evidence``: the evidence base's outcome table for the same outcome, uptake definition and
  response denominator (:func:`redif.evidence.tables.outcome_table`, its rules: one unit per study, a part
  and its whole never both) adds one site per published unit;
- a ``source`` column in the analysis dataset: rows with ``published:<record id>`` are a published arm
  written as one row per patient (its counts); they form a site of their own.

**Overlap.** A published record whose patients are (some of) the registry's must not enter beside them:
``overlaps`` names such records (e.g. a centre's own case series that it also enters in the registry).
A record overlaps when it, a record it is part of (``part_of``), or a part of it is named. An
overlapping record given in the ``source`` column is refused (an error); from ``with_evidence`` it is
left out and reported in ``excluded``. A record given both ways, or a record and its part, is refused.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from redif.errors import InputError
from redif.evidence.studies import EvidenceBase, load_evidence
from redif.evidence.tables import outcome_table

__all__ = ["PublishedArm", "check_published_sources", "overlapping", "published_arms"]

#: IPD outcome column -> the evidence base's outcome kind.
_OUTCOME_KIND = {"uptake_restored": "uptake", "objective_response": "response"}


@dataclass(frozen=True)
class PublishedArm:
    """One published unit entering the pool as a site: its record id, label and counts."""

    record_id: str
    label: str
    events: int
    total: int


def _lineage(base: EvidenceBase, record_id: str) -> set[str]:
    """``record_id`` and every record it is (transitively) part of, upper case."""
    out: set[str] = set()
    rid: str | None = record_id
    while rid is not None and rid.upper() not in out:
        out.add(rid.upper())
        try:
            rid = base.get(rid).part_of
        except InputError:
            break
    return out


def overlapping(base: EvidenceBase, a: str, b: str) -> bool:
    """True when records ``a`` and ``b`` share patients (the same record, or one is part of the other)."""
    return a.upper() in _lineage(base, b) or b.upper() in _lineage(base, a)


def _overlap_of(base: EvidenceBase, record_id: str, overlaps: Collection[str]) -> str | None:
    for o in overlaps:
        if overlapping(base, record_id, o):
            return o
    return None


def check_published_sources(
    record_ids: Sequence[str], *, overlaps: Collection[str] = (), evidence: EvidenceBase | None = None,
) -> None:
    """Check the ``published:<id>`` sources of a dataset: known records, none overlapping the registry
    (``overlaps``) or each other.

    Raises
    ------
    InputError
        Field ``source`` naming the record.
    """
    base = evidence if evidence is not None else load_evidence()
    for rid in record_ids:
        if rid.upper() not in {i.upper() for i in base.ids}:
            raise InputError("unknown published record", field="source", value=f"published:{rid}",
                             remedy=f"use a record id of the evidence base: {', '.join(base.ids)}")
        hit = _overlap_of(base, rid, overlaps)
        if hit is not None:
            raise InputError(f"published record {rid} shares patients with the registry (overlaps {hit})",
                             field="source", value=f"published:{rid}",
                             remedy="remove its rows: its patients are already counted as registry patients")
    for i, a in enumerate(record_ids):
        for b in record_ids[i + 1:]:
            if overlapping(base, a, b):
                raise InputError(f"published records {a} and {b} share patients (one is part of the other)",
                                 field="source", value=f"published:{b}", remedy="keep one of them")


def published_arms(
    outcome: str, *, definition: str | None, denominator: str, overlaps: Collection[str] = (),
    already: Sequence[str] = (), evidence: EvidenceBase | None = None,
) -> tuple[list[PublishedArm], list[dict[str, str]]]:
    """The evidence base's units for ``outcome`` (``uptake_restored`` under ``definition``, or
    ``objective_response`` under ``denominator``), less those overlapping the registry.

    Parameters
    ----------
    overlaps
        Record ids whose patients are in the registry (left out, with their parts and wholes).
    already
        Record ids already in the dataset's ``source`` column (a unit sharing patients with one is an
        error).

    Returns
    -------
    arms, excluded
        The arms to add, and ``{"record_id", "reason"}`` for each left out for overlap.
    """
    base = evidence if evidence is not None else load_evidence()
    kind = _OUTCOME_KIND[outcome]
    if kind == "uptake":
        table = outcome_table(base, kind, definition=definition)
    else:
        table = outcome_table(base, kind, denominator=denominator)
    arms: list[PublishedArm] = []
    excluded: list[dict[str, str]] = []
    for row in table.rows:
        hit = _overlap_of(base, row.row_id, overlaps)
        if hit is not None:
            excluded.append({"record_id": row.row_id,
                             "reason": f"shares patients with the registry (overlaps {hit})"})
            continue
        for a in already:
            if overlapping(base, row.row_id, a):
                raise InputError(f"published record {row.row_id} is added by with_evidence and record {a} is "
                                 "in the dataset's source column: the same patients twice",
                                 field="with_evidence", value=row.row_id,
                                 remedy="drop the published rows from the file or drop with_evidence")
        arms.append(PublishedArm(row.row_id, row.label, row.events, row.total))
    return arms, excluded
