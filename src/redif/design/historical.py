"""Historical arms for a MAP prior: picked from the redif evidence base or given by the user.

References
----------
``shared/clinical/RULES.md`` section 4 (evidence table, grades, uptake definitions), via
:mod:`redif.evidence.tables`.
"""

from __future__ import annotations

from dataclasses import dataclass

from redif.errors import InputError

__all__ = ["HistoricalArms", "arms_from_evidence"]


@dataclass(frozen=True)
class HistoricalArms:
    """Responders ``r`` among ``n`` patients of each historical arm, with labels and provenance."""

    labels: tuple[str, ...]
    r: tuple[int, ...]
    n: tuple[int, ...]
    sources: tuple[str, ...] = ()
    selection: str = ""

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
) -> HistoricalArms:
    """Arms of the curated evidence base for ``outcome`` (``uptake`` or ``response``), filtered by
    genotype and (uptake only) definition of restored uptake, using the evidence engine's rules (one
    analysis unit per arm, never a part with its whole, low grades left out).
    """
    from redif.evidence.studies import load_evidence
    from redif.evidence.tables import outcome_table

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
    sel = ", ".join(f"{k}={v}" for k, v in table.filters.items())
    return HistoricalArms(
        labels=tuple(r.label for r in table.rows),
        r=tuple(r.events for r in table.rows),
        n=tuple(r.total for r in table.rows),
        sources=tuple(r.source for r in table.rows),
        selection=sel,
    )
