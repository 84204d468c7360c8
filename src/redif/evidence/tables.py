"""Outcome tables of the evidence base, ready for pooling: one row per analysis unit, never twice.

Two outcomes (issue 2):

- ``uptake``: events = patients with restored uptake, total = patients evaluable for it, under one
  definition of restored uptake per arm;
- ``response``: events = CR + PR (RECIST), total = the response denominator.

Choosing the rows (documented in ``docs/evidence.md``)
------------------------------------------------------
1. **Grades.** A unit's grade is the worse of its record's grade and the flags of the counts it uses (an
   ``unverified`` count makes the unit ``unverified``). Units below ``min_grade`` (default ``secondary``:
   unverified and unreliable-secondary are left out) are excluded and reported.
2. **One definition per arm.** An arm that reports uptake under several definitions contributes one: the
   requested ``definition``, or else the first available in
   :data:`~redif.evidence.enums.DEFINITION_PRIORITY` (the go/no-go criterion first, the post-therapy scan
   last). A definition reported only as a percentage has no count and is skipped.
3. **Arms, not their whole** (``prefer="arms"``, the default). A study with genotype arms or subgroups
   (``part_of``) contributes its arms when every arm reports the outcome under the same definition and
   their totals add up to the whole's total (they partition its patients); otherwise it contributes the
   overall record; when the overall record has no usable outcome either, it contributes whichever arms
   do (they are disjoint). ``prefer="overall"`` tries the overall record first. A part and its whole are
   never both in one table.
4. **Response denominator** (``denominator``): ``itt`` (default) divides CR + PR by everyone who started
   the redifferentiation drug (``n_started_drug``); ``treated`` by those given 131I (the reported response
   denominator when its basis is ``treated``, or when it equals ``n_treated_131i``). A record without the
   chosen denominator is left out and reported.
5. **Ongoing trials** (``results_reported: false``) are never pooled.
6. **Filters** (``genotype``, ``definition``) select units; a study whose preferred units do not match
   falls through to the next choice (e.g. ``genotype=BRAF V600E`` takes Ho 2013's BRAF subgroup).

References
----------
.. [1] docs/methods/sources-and-grades.md (definitions of restored uptake; grades; keep unverified
   rows out of default analyses).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from redif.errors import InputError
from redif.evidence.enums import (
    DEFINITION_PRIORITY,
    CountFlag,
    EvidenceGrade,
    GenotypeGroup,
    OutcomeKind,
    UptakeDefinition,
    display,
)
from redif.evidence.model import Count, StudyArm

__all__ = [
    "DENOMINATORS",
    "MODERATORS",
    "Exclusion",
    "MixedDefinitionsError",
    "OutcomeRow",
    "OutcomeTable",
    "definition_key",
    "definition_keys",
    "outcome_table",
    "parse_definition",
    "parse_genotype",
    "parse_grade",
    "require_one_definition",
]

Prefer = Literal["arms", "overall"]

#: Response denominators: everyone who started the drug (intention to treat), or those given 131I.
DENOMINATORS: tuple[str, ...] = ("itt", "treated")

#: Study-level moderators available for subgroups (``by``) and meta-regression (``mods``).
MODERATORS: tuple[str, ...] = (
    "genotype",
    "definition",
    "drug",
    "weeks_drug_before_uptake_assessment",
    "activity_gbq",
    "lesional_dosimetry",
    "randomised",
    "grade",
    "row_type",
    "response_denominator_basis",
    "year",
)


@dataclass(frozen=True)
class OutcomeRow:
    """One analysis unit: a record's events and total for one outcome (and one uptake definition)."""

    row_id: str
    label: str
    outcome: OutcomeKind
    events: int
    total: int
    definition: UptakeDefinition | None
    genotype: GenotypeGroup
    drug: str
    grade: EvidenceGrade
    derived: bool
    weeks_drug_before_uptake_assessment: float | None
    activity_gbq: float | None
    lesional_dosimetry: bool | None
    randomised: bool | None
    row_type: str
    response_denominator_basis: str | None
    year: str | None
    part_of: str | None
    source: str
    denominator: str | None = None
    trial: str | None = None

    def moderator(self, name: str) -> Any:
        """The value of moderator ``name`` (see :data:`MODERATORS`); ``None`` when not reported."""
        if name not in MODERATORS:
            raise InputError("unknown moderator", field="mods", value=name,
                             remedy=f"use one of: {', '.join(MODERATORS)}")
        if name == "definition":
            return definition_key(self)
        value = getattr(self, name)
        if name == "year" and value is not None:
            digits = "".join(ch for ch in str(value)[:4] if ch.isdigit())
            return float(digits) if len(digits) == 4 else None
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, enum.Enum):
            return display(value)
        return value

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "row_id": self.row_id, "label": self.label, "outcome": self.outcome.value,
            "events": self.events, "total": self.total,
            "definition": None if self.definition is None else self.definition.label,
            "genotype": self.genotype.value, "drug": self.drug, "grade": self.grade.value,
            "derived": self.derived,
            "weeks_drug_before_uptake_assessment": self.weeks_drug_before_uptake_assessment,
            "activity_gbq": self.activity_gbq, "lesional_dosimetry": self.lesional_dosimetry,
            "part_of": self.part_of, "trial": self.trial, "denominator": self.denominator,
        }


def definition_key(row: OutcomeRow) -> str | None:
    """The definition of restored uptake a row is pooled under (``None`` for the response outcome).

    A definition the source does not report is known to nobody: two "not reported" rows are not known to
    measure the same thing, so each stands alone (``"not reported (C01)"``) and never shares a pool with
    another row unless definitions are mixed on purpose.
    """
    if row.definition is None:
        return None
    if row.definition is UptakeDefinition.NOT_REPORTED:
        return f"{row.definition.label} ({row.row_id})"
    return str(row.definition.label)


def definition_keys(rows: Iterable[OutcomeRow]) -> list[str]:
    """The distinct :func:`definition_key` values of ``rows``, in order of first appearance."""
    keys = (definition_key(r) for r in rows)
    return list(dict.fromkeys(k for k in keys if k is not None))


@dataclass(frozen=True)
class Exclusion:
    """A record left out of an outcome table, and why."""

    row_id: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        """JSON form."""
        return {"row_id": self.row_id, "reason": self.reason}


@dataclass(frozen=True)
class OutcomeTable:
    """The rows to pool for one outcome, and the records left out (with reasons)."""

    outcome: OutcomeKind
    rows: tuple[OutcomeRow, ...]
    excluded: tuple[Exclusion, ...]
    min_grade: EvidenceGrade
    genotype: GenotypeGroup | None = None
    definition: UptakeDefinition | None = None
    prefer: str = "arms"
    filters: dict[str, str] = field(default_factory=dict)
    denominator: str | None = None

    @property
    def k(self) -> int:
        """Number of rows."""
        return len(self.rows)

    @property
    def events(self) -> list[int]:
        """Events per row."""
        return [r.events for r in self.rows]

    @property
    def totals(self) -> list[int]:
        """Totals per row."""
        return [r.total for r in self.rows]

    @property
    def labels(self) -> list[str]:
        """Display labels per row."""
        return [r.label for r in self.rows]

    def column(self, name: str) -> list[Any]:
        """Moderator ``name`` for every row."""
        return [r.moderator(name) for r in self.rows]

    def excluded_dict(self) -> dict[str, Any]:
        """``{"count", "ids", "rows": [{"row_id", "reason"}]}`` for JSON output."""
        return {
            "count": len(self.excluded),
            "ids": [e.row_id for e in self.excluded],
            "rows": [e.to_dict() for e in self.excluded],
        }


class MixedDefinitionsError(InputError):
    """Rows that use several definitions of restored uptake, where one pool is asked for.

    The message names the definitions present; :meth:`with_names` rewords the remedy with the names the
    caller uses for the fixes (the engine's ``definition`` / ``mix_definitions``, or the command-line
    ``--definition`` / ``--mix-definitions``), plus an optional further fix (``also``).
    """

    def __init__(self, keys: Sequence[str], *, what: str = "pool",
                 names: tuple[str, str] = ("definition", "mix_definitions"), also: str | None = None) -> None:
        self.keys = tuple(keys)
        self.what = what
        one, mix = names
        unknown = UptakeDefinition.NOT_REPORTED.label
        choices = [k for k in self.keys if not k.startswith(unknown)]
        note = (f"; a definition the source does not report ('{unknown}') is not known to match any other, "
                "so each such record counts as its own") if len(choices) < len(self.keys) else ""
        fixes = [f"choose one with {one} '{choices[0]}' (or another listed)" if choices
                 else "use each record alone"]
        if also:
            fixes.append(also)
        fixes.append(f"pool them on purpose with {mix} (the result is labelled 'mixed definitions', as in "
                     "`evidence summary`)")
        super().__init__(
            f"the rows use {len(self.keys)} definitions of restored uptake ({'; '.join(self.keys)}): a "
            f"{what} across definitions compares unlike measurements{note}",
            field="definition", remedy=", or ".join(fixes),
        )
        self.names = names
        self.also = also

    def with_names(self, definition: str, mix_definitions: str,
                   also: str | None = None) -> MixedDefinitionsError:
        """The same error, its remedy naming ``definition`` and ``mix_definitions`` as given (and ``also``,
        a further fix)."""
        return MixedDefinitionsError(self.keys, what=self.what, names=(definition, mix_definitions),
                                     also=also)


def require_one_definition(table: OutcomeTable, *, mix_definitions: bool = False, what: str = "pool") -> bool:
    """Refuse an uptake ``table`` whose rows span several definitions of restored uptake (each "not
    reported" row counting as its own, :func:`definition_key`), unless ``mix_definitions``.

    Returns
    -------
    bool
        True when the rows do span several definitions (and ``mix_definitions`` allowed it): the result
        must be labelled "mixed definitions".

    Raises
    ------
    MixedDefinitionsError
        Naming the definitions present and the two fixes (field ``definition``).
    """
    keys = definition_keys(table.rows)
    if table.outcome is not OutcomeKind.UPTAKE or len(keys) <= 1:
        return False
    if not mix_definitions:
        raise MixedDefinitionsError(keys, what=what)
    return True


def _parse(cls: Any, value: str, option: str) -> Any:
    text = value.strip().lower()
    aliases = {"braf": "BRAF V600E", "mixed": "mixed/unselected", "unselected": "mixed/unselected",
               "ret": "RET fusion", "ntrk": "NTRK fusion", "braf-wt": "BRAF wild-type",
               "124i": "increased 124I uptake", "threshold": "lesion-dose threshold reached",
               "diagnostic": "uptake on diagnostic scan", "post-therapy": "uptake on post-therapy scan",
               "protocol": "protocol-defined sufficient uptake"}
    text = aliases.get(text, text).lower()
    for member in cls:
        if member.value.lower() == text or display(member).lower() == text:
            return member
    raise InputError("unknown value", field=option, value=value,
                     remedy=f"use one of: {', '.join(display(m) for m in cls)}")


def parse_genotype(value: str) -> GenotypeGroup:
    """Parse a genotype option (case-insensitive; ``BRAF``, ``RET``, ``NTRK``, ``mixed`` accepted)."""
    result: GenotypeGroup = _parse(GenotypeGroup, value, "genotype")
    return result


def parse_definition(value: str) -> UptakeDefinition:
    """Parse a definition option (full value or ``124I``, ``threshold``, ``diagnostic``, ``post-therapy``,
    ``protocol``)."""
    result: UptakeDefinition = _parse(UptakeDefinition, value, "definition")
    return result


def parse_grade(value: str) -> EvidenceGrade:
    """Parse a minimum evidence grade (``min_grade``)."""
    result: EvidenceGrade = _parse(EvidenceGrade, value, "min_grade")
    return result


def _worst(grade: EvidenceGrade, counts: Iterable[Count | None]) -> EvidenceGrade:
    worst = grade
    for c in counts:
        if c is not None and c.flag is CountFlag.UNVERIFIED and EvidenceGrade.UNVERIFIED.rank < worst.rank:
            worst = EvidenceGrade.UNVERIFIED
    return worst


@dataclass(frozen=True)
class _Candidate:
    row: OutcomeRow | None
    reason: str | None  # why the record has the outcome but cannot be used


def _response_total(arm: StudyArm, denominator: str) -> tuple[Count | None, str]:
    """The response denominator of ``arm`` for ``itt`` or ``treated``, or ``None`` and why not."""
    if denominator == "itt":
        return arm.n_started_drug, "intention-to-treat denominator (who started the drug) not reported"
    basis = (arm.response_denominator_basis or "").strip().lower()
    if arm.response_denominator is not None and basis == "treated":
        return arm.response_denominator, ""
    treated = arm.n_treated_131i
    if (treated is not None and arm.response_denominator is not None
            and treated.value == arm.response_denominator.value):
        return arm.response_denominator, ""
    return None, "number given 131I not reported for the response denominator"


def _candidate(arm: StudyArm, outcome: OutcomeKind, definition: UptakeDefinition | None,
               min_grade: EvidenceGrade, denominator: str = "itt") -> _Candidate | None:
    """The unit for ``arm`` (None when the record does not report this outcome/definition at all)."""
    if arm.results_reported is False:
        return None
    if outcome is OutcomeKind.UPTAKE:
        assert definition is not None
        up = arm.uptake_for(definition)
        if up is None:
            return None
        if up.restored is None or up.evaluable is None:
            pct = f" as {up.percent_reported:g}%" if up.percent_reported is not None else ""
            return _Candidate(None, f"'{definition.label}' reported only{pct}, with no count")
        used: tuple[Count, ...] = (up.restored, up.evaluable)
        events, total = up.restored.value, up.evaluable.value
    else:
        if arm.response_denominator is None and arm.recist_cr is None and arm.recist_pr is None:
            return None
        if arm.recist_cr is None or arm.recist_pr is None or arm.response_denominator is None:
            return _Candidate(None, "CR and PR counts not both reported")
        denom, why_not = _response_total(arm, denominator)
        if denom is None:
            return _Candidate(None, why_not)
        used = (arm.recist_cr, arm.recist_pr, denom)
        events, total = arm.recist_cr.value + arm.recist_pr.value, denom.value
    if total == 0:
        return _Candidate(None, "no patients evaluable (total 0)")
    grade = _worst(arm.grade, used)
    if not grade.at_least(min_grade):
        flagged = grade is not arm.grade
        why = "a count it needs is unverified" if flagged else f"graded {grade.value}"
        return _Candidate(None, f"{why} (below --min-grade {min_grade.value})")
    row = OutcomeRow(
        row_id=arm.row_id, label=arm.display_label, outcome=outcome, events=events, total=total,
        definition=definition, genotype=arm.genotype, drug=arm.regimen_label, grade=grade,
        derived=any(c.flag is CountFlag.DERIVED for c in used),
        weeks_drug_before_uptake_assessment=arm.weeks_drug_before_uptake_assessment,
        activity_gbq=arm.activity_gbq, lesional_dosimetry=arm.lesional_dosimetry,
        randomised=arm.randomised, row_type=arm.row_type.value,
        response_denominator_basis=arm.response_denominator_basis, year=arm.year, part_of=arm.part_of,
        source=arm.source, denominator=denominator if outcome is OutcomeKind.RESPONSE else None,
        trial=arm.trial,
    )
    return _Candidate(row, None)


def _family_units(parent: StudyArm, parts: Sequence[StudyArm], outcome: OutcomeKind,
                  definitions: Sequence[UptakeDefinition | None], genotype: GenotypeGroup | None,
                  min_grade: EvidenceGrade, prefer: Prefer,
                  denominator: str = "itt") -> tuple[list[OutcomeRow], list[Exclusion]]:
    def matches(row: OutcomeRow) -> bool:
        return genotype is None or row.genotype is genotype

    def arms_level(d: UptakeDefinition | None) -> list[OutcomeRow]:
        if not parts:
            return []
        cands = [_candidate(p, outcome, d, min_grade, denominator) for p in parts]
        rows = [c.row for c in cands if c is not None and c.row is not None]
        if len(rows) != len(parts):
            return []
        whole = _candidate(parent, outcome, d, EvidenceGrade.UNRELIABLE_SECONDARY, denominator)
        if whole is not None and whole.row is not None and sum(r.total for r in rows) != whole.row.total:
            return []
        return [r for r in rows if matches(r)]

    def overall_level(d: UptakeDefinition | None) -> list[OutcomeRow]:
        cand = _candidate(parent, outcome, d, min_grade, denominator)
        if cand is None or cand.row is None or not matches(cand.row):
            return []
        return [cand.row]

    levels = (arms_level, overall_level) if prefer == "arms" else (overall_level, arms_level)
    for level in levels:
        for d in definitions:
            rows = level(d)
            if rows:
                return rows, []
    # Fallback: the parts that have a usable outcome (disjoint patients), each its best definition.
    rows = []
    for part in parts:
        for d in definitions:
            cand = _candidate(part, outcome, d, min_grade, denominator)
            if cand is not None and cand.row is not None and matches(cand.row):
                rows.append(cand.row)
                break
    if rows:
        return rows, []
    # Nothing usable: report the records that do report the outcome (and match the filters), and why.
    excluded: list[Exclusion] = []
    for arm in (parent, *parts):
        if genotype is not None and arm.genotype is not genotype:
            continue
        reasons = []
        for d in definitions:
            cand = _candidate(arm, outcome, d, min_grade, denominator)
            if cand is not None and cand.reason:
                reasons.append(cand.reason)
        if reasons:
            excluded.append(Exclusion(arm.row_id, "; ".join(dict.fromkeys(reasons))))
    return [], excluded


def outcome_table(
    studies: Iterable[StudyArm],
    outcome: OutcomeKind | str,
    *,
    genotype: GenotypeGroup | str | None = None,
    definition: UptakeDefinition | str | None = None,
    min_grade: EvidenceGrade | str = EvidenceGrade.SECONDARY,
    prefer: Prefer = "arms",
    denominator: str = "itt",
) -> OutcomeTable:
    """Build the table of events/totals to pool for ``outcome`` (rules in the module docstring).

    Parameters
    ----------
    studies
        The evidence base (e.g. :func:`redif.evidence.studies.load_evidence`).
    outcome
        ``"uptake"`` (restored / evaluable) or ``"response"`` ((CR + PR) / response denominator).
    genotype
        Keep only units of this genotype group.
    definition
        Uptake only: keep only this definition of restored uptake.
    min_grade
        Lowest grade kept (default ``secondary``: leaves out unverified and unreliable-secondary).
    prefer
        ``"arms"`` (default) or ``"overall"``: which level of a study with arms to use first.
    denominator
        Response only: ``"itt"`` (default; everyone who started the drug) or ``"treated"`` (those given
        131I).

    Raises
    ------
    InputError
        For an unknown outcome, genotype, definition, grade or ``prefer`` value, or a definition given
        with the response outcome.
    """
    try:
        kind = OutcomeKind(str(outcome).strip().lower())
    except ValueError:
        raise InputError("unknown outcome", field="outcome", value=outcome,
                         remedy="use uptake or response") from None
    geno = parse_genotype(genotype) if isinstance(genotype, str) else genotype
    defn = parse_definition(definition) if isinstance(definition, str) else definition
    grade = parse_grade(min_grade) if isinstance(min_grade, str) else min_grade
    if prefer not in ("arms", "overall"):
        raise InputError("unknown value", field="prefer", value=prefer, remedy="use arms or overall")
    denom = str(denominator).strip().lower()
    if denom not in DENOMINATORS:
        raise InputError("unknown response denominator", field="denominator", value=denominator,
                         remedy="use itt (everyone who started the drug) or treated (those given 131I)")
    if kind is OutcomeKind.RESPONSE and defn is not None:
        raise InputError("a definition of restored uptake applies to the uptake outcome only",
                         field="definition", value=defn.label,
                         remedy="drop the definition or use the uptake outcome")
    definitions: tuple[UptakeDefinition | None, ...]
    if kind is OutcomeKind.RESPONSE:
        definitions = (None,)
    else:
        definitions = (defn,) if defn is not None else DEFINITION_PRIORITY
    arms = list(studies)
    parts: dict[str, list[StudyArm]] = {}
    for arm in arms:
        if arm.part_of is not None:
            parts.setdefault(arm.part_of, []).append(arm)
    rows: list[OutcomeRow] = []
    excluded: list[Exclusion] = []
    for arm in arms:
        if arm.part_of is not None:
            continue
        got, left = _family_units(arm, parts.get(arm.row_id, []), kind, definitions, geno, grade, prefer,
                                  denom)
        rows.extend(got)
        excluded.extend(left)
    filters = {"outcome": kind.value, "min_grade": grade.value, "prefer": prefer}
    if kind is OutcomeKind.RESPONSE:
        filters["denominator"] = denom
    if geno is not None:
        filters["genotype"] = geno.value
    if defn is not None:
        filters["definition"] = defn.label
    return OutcomeTable(kind, tuple(rows), tuple(excluded), grade, geno, defn, prefer, filters,
                        denom if kind is OutcomeKind.RESPONSE else None)
