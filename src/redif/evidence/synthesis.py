"""Pool the evidence base's outcome tables with the meta-analysis engine (pure functions, no I/O).

:func:`pool_outcome` pools one :class:`~redif.evidence.tables.OutcomeTable` (optionally by a moderator,
giving subgroups with their own tau^2 and the test of subgroup differences), :func:`regress_outcome`
fits a mixed-effects meta-regression on study-level moderators, and :func:`evidence_summary` assembles
the main job of ``redif evidence summary``: uptake and response by genotype, uptake by definition of
restored uptake, and what was left out and why.

References
----------
.. [1] Leboulleux S, et al. ITOG statement. Lancet Diabetes Endocrinol 2025;13:516-527 (objectives 1-2:
   uptake restoration and response across trials; the impact of trial-design differences).
.. [2] Viechtbauer W. J Stat Softw 2010;36(3) (metafor: the conventions the engine follows).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from redif.errors import InputError
from redif.evidence.enums import EvidenceGrade, OutcomeKind
from redif.evidence.meta import (
    PoolResult,
    RegressionResult,
    SubgroupResult,
    escalc,
    meta_regression,
    pool_proportions,
    pool_subgroups,
)
from redif.evidence.model import StudyArm
from redif.evidence.tables import MODERATORS, OutcomeRow, OutcomeTable, outcome_table

__all__ = [
    "EvidenceSummary",
    "GroupRow",
    "OutcomePool",
    "OutcomeRegression",
    "definitions_used",
    "evidence_summary",
    "pool_outcome",
    "regress_outcome",
]

_NOT_REPORTED = "not reported"


def definitions_used(rows: Iterable[OutcomeRow]) -> dict[str, int]:
    """How many rows use each definition of restored uptake (``{}`` for the response outcome)."""
    counts = Counter(r.definition.label for r in rows if r.definition is not None)
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


@dataclass(frozen=True)
class GroupRow:
    """One line of a pooled table (a subgroup or the whole analysis), as every view shows it.

    A group with a single record is not pooled: it is shown with that record's own exact
    (Clopper-Pearson) interval and no prediction interval or I² (``pooled`` is False).
    """

    name: str
    k: int
    events: int
    total: int
    estimate: float
    ci_lower: float
    ci_upper: float
    pi_lower: float | None
    pi_upper: float | None
    i2: float | None
    pooled: bool
    definitions: dict[str, int]


def _group_row(name: str, res: PoolResult, rows: Sequence[OutcomeRow]) -> GroupRow:
    single = res.k == 1 and bool(res.studies)
    src = res.studies[0] if single else res
    return GroupRow(
        name=name,
        k=int(res.k),
        events=sum(r.events for r in rows),
        total=sum(r.total for r in rows),
        estimate=float(src.estimate),
        ci_lower=float(src.ci_lower),
        ci_upper=float(src.ci_upper),
        pi_lower=None if single else float(res.pi_lower),
        pi_upper=None if single else float(res.pi_upper),
        i2=None if single else float(res.i2),
        pooled=not single,
        definitions=definitions_used(rows),
    )


@dataclass(frozen=True)
class OutcomePool:
    """A pooled outcome table: the engine's result plus the rows used and the records left out."""

    table: OutcomeTable
    by: str | None
    result: PoolResult | SubgroupResult

    @property
    def overall(self) -> PoolResult:
        """The overall pooled result (also for a subgroup analysis)."""
        return self.result.overall if isinstance(self.result, SubgroupResult) else self.result

    def group_rows(self, group: str) -> list[OutcomeRow]:
        """The rows of subgroup ``group``."""
        if self.by is None:
            return list(self.table.rows)
        return [r for r in self.table.rows if _group_value(r, self.by) == group]

    def group_table(self) -> list[GroupRow]:
        """The lines of the pooled table: each subgroup (if any), then ``"all"``."""
        out: list[GroupRow] = []
        if isinstance(self.result, SubgroupResult):
            subs = self.result.subgroups.items()
            out.extend(_group_row(name, sub, self.group_rows(name)) for name, sub in subs)
        out.append(_group_row("all", self.overall, list(self.table.rows)))
        return out

    def to_dict(self) -> dict[str, Any]:
        """The ``redif meta pool`` JSON keys plus ``outcome``, ``by``, ``filters``, ``definitions``,
        ``rows`` and ``excluded`` (``count``, ``ids``, ``rows``)."""
        out = self.result.to_dict()
        out["outcome"] = self.table.outcome.value
        out["by"] = self.by
        out["filters"] = dict(self.table.filters)
        out["definitions"] = definitions_used(self.table.rows)
        if isinstance(self.result, SubgroupResult):
            for name, sub in out["subgroups"].items():
                sub["definitions"] = definitions_used(self.group_rows(name))
        out["rows"] = [r.to_dict() for r in self.table.rows]
        out["excluded"] = self.table.excluded_dict()
        return out


def _group_value(row: OutcomeRow, by: str) -> str:
    value = row.moderator(by)
    if value is None:
        return _NOT_REPORTED
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _require_rows(table: OutcomeTable, minimum: int = 1) -> None:
    if table.k >= minimum:
        return
    left = f"; {len(table.excluded)} left out: " + ", ".join(
        f"{e.row_id} ({e.reason})" for e in table.excluded) if table.excluded else ""
    raise InputError(
        f"{table.k} study rows match the filters ({', '.join(f'{k}={v}' for k, v in table.filters.items())})"
        f"{left}", field="filters",
        remedy="widen the filters (--genotype, --definition) or lower --min-grade",
    )


def pool_outcome(
    table: OutcomeTable, *, by: str | None = None, measure: str = "PLO", method: str = "REML",
    knha: bool = False, level: float = 95.0, study_ci: str = "clopper-pearson",
) -> OutcomePool:
    """Pool an outcome table, overall or by subgroup.

    Parameters
    ----------
    table
        From :func:`redif.evidence.tables.outcome_table`.
    by
        A moderator of :data:`~redif.evidence.tables.MODERATORS` (e.g. ``"genotype"``, ``"definition"``,
        ``"drug"``) to pool within subgroups (separate tau^2) and test their difference; records with no
        value form the group ``"not reported"``.
    measure, method, knha, level, study_ci
        Passed to :func:`redif.evidence.meta.pool_proportions` / ``pool_subgroups``.

    Raises
    ------
    InputError
        If no row matches the filters, or the engine rejects the model (e.g. k = 1 with REML).
    """
    _require_rows(table)
    if by is None:
        result: PoolResult | SubgroupResult = pool_proportions(
            table.events, table.totals, table.labels, measure=measure, method=method, knha=knha,
            level=level, study_ci=study_ci)
    else:
        if by not in MODERATORS:
            raise InputError("unknown grouping", field="--by", value=by,
                             remedy=f"use one of: {', '.join(MODERATORS)}")
        groups = [_group_value(r, by) for r in table.rows]
        result = pool_subgroups(table.events, table.totals, groups, table.labels, measure=measure,
                                method=method, knha=knha, level=level, study_ci=study_ci)
    return OutcomePool(table, by, result)


@dataclass(frozen=True)
class OutcomeRegression:
    """A meta-regression on an outcome table: the result, the rows used and those dropped for a missing
    moderator value."""

    table: OutcomeTable
    moderators: tuple[str, ...]
    rows: tuple[OutcomeRow, ...]
    dropped: tuple[tuple[str, str], ...]
    result: RegressionResult

    def to_dict(self) -> dict[str, Any]:
        """The ``redif meta pool --mods`` JSON keys plus ``outcome``, ``moderators``, ``rows``, ``dropped``
        and ``excluded``."""
        out = self.result.to_dict()
        out["outcome"] = self.table.outcome.value
        out["moderators"] = list(self.moderators)
        out["filters"] = dict(self.table.filters)
        out["rows"] = [r.to_dict() for r in self.rows]
        out["dropped"] = [{"row_id": i, "reason": why} for i, why in self.dropped]
        out["excluded"] = self.table.excluded_dict()
        return out


def regress_outcome(
    table: OutcomeTable, moderators: Sequence[str], *, measure: str = "PLO", method: str = "REML",
    knha: bool = False, level: float = 95.0,
) -> OutcomeRegression:
    """Mixed-effects meta-regression of the outcome (on the ``measure`` scale) on study moderators.

    Rows lacking a value for any moderator are dropped and listed (never imputed). Numeric moderators
    (weeks of drug, 131I activity in GBq, year) are continuous; the others are categorical.

    Raises
    ------
    InputError
        For an unknown moderator, too few rows, or a design the engine cannot fit.
    """
    mods = tuple(m.strip() for m in moderators if m.strip())
    if not mods:
        raise InputError("no moderators given", field="--mods",
                         remedy=f"name one or more of: {', '.join(MODERATORS)}")
    for name in mods:
        if name not in MODERATORS:
            raise InputError("unknown moderator", field="--mods", value=name,
                             remedy=f"use one of: {', '.join(MODERATORS)}")
    _require_rows(table)
    kept: list[OutcomeRow] = []
    dropped: list[tuple[str, str]] = []
    for row in table.rows:
        missing = [m for m in mods if row.moderator(m) is None]
        if missing:
            dropped.append((row.row_id, f"no value for {', '.join(missing)}"))
        else:
            kept.append(row)
    if len(kept) < len(mods) + 2:
        raise InputError(
            f"{len(kept)} rows have every moderator ({', '.join(mods)}); {len(mods) + 2} or more are needed",
            field="--mods", value=",".join(mods),
            remedy="use fewer moderators, widen the filters or lower --min-grade")
    yi, vi = escalc(measure, [r.events for r in kept], [r.total for r in kept])
    columns = {m: [r.moderator(m) for r in kept] for m in mods}
    result = meta_regression(yi, vi, columns, method=method, knha=knha, level=level, measure=measure)
    return OutcomeRegression(table, mods, tuple(kept), tuple(dropped), result)


@dataclass(frozen=True)
class EvidenceSummary:
    """The main job: uptake and response by genotype, uptake by definition of restored uptake."""

    uptake: OutcomePool
    response: OutcomePool
    uptake_by_definition: OutcomePool
    min_grade: EvidenceGrade
    n_records: int

    @property
    def pools(self) -> dict[str, OutcomePool]:
        """The three analyses by name."""
        return {"uptake": self.uptake, "response": self.response,
                "uptake_by_definition": self.uptake_by_definition}

    def excluded_ids(self) -> list[str]:
        """Every record left out of at least one analysis, in order of first appearance."""
        ids: dict[str, None] = {}
        for pool in self.pools.values():
            for e in pool.table.excluded:
                ids[e.row_id] = None
        return list(ids)

    def to_dict(self) -> dict[str, Any]:
        """JSON form: one object per analysis plus ``min_grade``, ``n_records`` and ``excluded_ids``."""
        out: dict[str, Any] = {name: pool.to_dict() for name, pool in self.pools.items()}
        out["min_grade"] = self.min_grade.value
        out["n_records"] = self.n_records
        out["excluded_ids"] = self.excluded_ids()
        return out


def evidence_summary(
    studies: Sequence[StudyArm], *, measure: str = "PLO", method: str = "REML", knha: bool = False,
    level: float = 95.0, min_grade: EvidenceGrade | str = EvidenceGrade.SECONDARY,
) -> EvidenceSummary:
    """Pooled uptake and response by genotype, and uptake by definition, on the evidence base.

    Each analysis uses each patient at most once (see :mod:`redif.evidence.tables`); genotype groups with
    a single study are reported alone (no pooling).
    """
    uptake = outcome_table(studies, OutcomeKind.UPTAKE, min_grade=min_grade)
    response = outcome_table(studies, OutcomeKind.RESPONSE, min_grade=min_grade)
    def pool(table: OutcomeTable, by: str) -> OutcomePool:
        return pool_outcome(table, by=by, measure=measure, method=method, knha=knha, level=level)

    return EvidenceSummary(
        uptake=pool(uptake, "genotype"),
        response=pool(response, "genotype"),
        uptake_by_definition=pool(uptake, "definition"),
        min_grade=uptake.min_grade,
        n_records=len(studies),
    )
