"""Pool the evidence base's outcome tables with the meta-analysis engine (pure functions, no I/O).

:func:`pool_outcome` pools one :class:`~redif.evidence.tables.OutcomeTable` (optionally by a moderator,
giving subgroups with their own tau^2 and the test of subgroup differences), :func:`regress_outcome`
fits a mixed-effects meta-regression on study-level moderators, and :func:`evidence_summary` assembles
the main job of ``redif evidence summary``: uptake and response by genotype, uptake by definition of
restored uptake, and what was left out and why.

Like with like (issue 12): restored uptake is pooled within one definition at a time. Without a
``definition`` filter the groups are definition x moderator (``--by genotype``) or definitions alone, and
no row pools across definitions; a cross-definition pool needs ``mix_definitions=True`` and is labelled
"mixed definitions". Inference is Knapp-Hartung with the ``max(1, q)`` safeguard (metafor
``test="adhoc"``) by default (``test="z"`` and ``"knha"`` available); a group whose tau^2 is estimated at 0
with k < 10 carries a note, since its prediction interval then equals its confidence interval.

References
----------
.. [1] Leboulleux S, et al. ITOG statement. Lancet Diabetes Endocrinol 2025;13:516-527 (objectives 1-2:
   uptake restoration and response across trials; the impact of trial-design differences).
.. [2] Viechtbauer W. J Stat Softw 2010;36(3) (metafor: the conventions the engine follows).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
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
from redif.evidence.tables import (
    MODERATORS,
    OutcomeRow,
    OutcomeTable,
    definition_key,
    definition_keys,
    outcome_table,
    require_one_definition,
)

__all__ = [
    "MIXED_DEFINITIONS",
    "TESTS",
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

#: Inference for the evidence commands: z (metafor's default), Knapp-Hartung, or Knapp-Hartung with the
#: ``max(1, q)`` safeguard (metafor ``test="adhoc"``, the default here).
TESTS: tuple[str, ...] = ("adhoc", "knha", "z")
_ENGINE_TEST: dict[str, bool | str] = {"z": False, "knha": True, "adhoc": "adhoc"}

#: The label of a pool that mixes definitions of restored uptake (only with ``mix_definitions``).
MIXED_DEFINITIONS = "mixed definitions"

#: Keys of a pooled result that describe the model or list the studies, and so pool nothing: kept in the
#: JSON of a pool split by definition, whose overall estimate keys are left out.
_MODEL_KEYS: tuple[str, ...] = ("measure", "method", "knha", "level", "inference", "pi_convention", "studies")

#: Below this many records a tau^2 estimate of 0 is flagged (heterogeneity cannot be ruled out).
SMALL_K = 10


def resolve_test(test: str | None, knha: bool = False) -> str:
    """The inference to use: ``test`` if given, else ``knha`` if ``knha`` is set, else ``adhoc``.

    Raises
    ------
    InputError
        For an unknown test.
    """
    if test is None:
        return "knha" if knha else "adhoc"
    name = str(test).strip().lower()
    if name not in TESTS:
        raise InputError("unknown test", field="test", value=test,
                         remedy="use adhoc (Knapp-Hartung with max(1, q), default), knha or z")
    return name


def _test_for(method: str, test: str | None, knha: bool) -> str:
    """:func:`resolve_test`, except that GLMM (no Knapp-Hartung in the binomial-normal model, as in
    metafor's ``rma.glmm``) defaults to ``z``; asking for adhoc or knha with GLMM is refused."""
    name = resolve_test(test, knha)
    if str(method).strip().upper() != "GLMM":
        return name
    if test is None and not knha:
        return "z"
    if name != "z":
        raise InputError("Knapp-Hartung is not available with GLMM", field="test", value=name,
                         remedy="use test z with GLMM, or another method")
    return name


def tau2_note(k: int, tau2: float | None) -> str | None:
    """The small-k warning for a pooled group whose tau^2 is estimated at 0 (``None`` otherwise)."""
    if tau2 is None or k < 2 or k >= SMALL_K or tau2 > 0.0:
        return None
    return (f"tau² estimated at 0 with k = {k} (< {SMALL_K}): heterogeneity cannot be ruled out; the "
            "prediction interval equals the confidence interval and understates between-study spread")


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
    records: tuple[str, ...] = ()
    tau2: float | None = None
    note: str | None = None


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
        records=tuple(r.row_id for r in rows),
        tau2=None if single else float(res.tau2),
        note=None if single else tau2_note(int(res.k), float(res.tau2)),
    )


@dataclass(frozen=True)
class OutcomePool:
    """A pooled outcome table: the engine's result plus the rows used and the records left out."""

    table: OutcomeTable
    by: str | None
    result: PoolResult | SubgroupResult
    groups: tuple[str, ...] = ()
    stratified: bool = False
    mixed_definitions: bool = False
    test: str = "adhoc"

    @property
    def overall(self) -> PoolResult:
        """The overall pooled result (also for a subgroup analysis)."""
        return self.result.overall if isinstance(self.result, SubgroupResult) else self.result

    def group_rows(self, group: str) -> list[OutcomeRow]:
        """The rows of subgroup ``group``."""
        if not self.groups:
            return list(self.table.rows)
        return [r for r, g in zip(self.table.rows, self.groups, strict=True) if g == group]

    @property
    def overall_name(self) -> str:
        """The name of the overall line: ``"all"``, or ``"all (mixed definitions)"``."""
        return f"all ({MIXED_DEFINITIONS})" if self.mixed_definitions else "all"

    def group_table(self) -> list[GroupRow]:
        """The lines of the pooled table: each subgroup (if any), then the overall line — left out when
        it would pool several definitions of restored uptake (``stratified``)."""
        out: list[GroupRow] = []
        if isinstance(self.result, SubgroupResult):
            subs = self.result.subgroups.items()
            out.extend(_group_row(name, sub, self.group_rows(name)) for name, sub in subs)
        if not self.stratified:
            out.append(_group_row(self.overall_name, self.overall, list(self.table.rows)))
        return out

    def to_dict(self) -> dict[str, Any]:
        """The ``redif meta pool`` JSON keys plus ``outcome``, ``by``, ``filters``, ``definitions``,
        ``rows`` and ``excluded`` (``count``, ``ids``, ``rows``)."""
        out = self.result.to_dict()
        if self.stratified:
            # The overall estimate keys (mu, se, estimate, ci_*, pi_*, tau2, i2, h2, q, ...) would pool
            # several definitions of restored uptake, so they are left out (documented in docs/evidence.md);
            # the model description and the per-study list, which pool nothing, stay.
            kept = {key: out[key] for key in _MODEL_KEYS if key in out}
            out = {"k": self.table.k, **kept, "overall_pooled": False,
                   "overall_note": "no pool across definitions of restored uptake; one group per definition "
                                   "(use mix_definitions to pool them, labelled mixed definitions)",
                   "subgroups": out["subgroups"], "test_between": out["test_between"]}
        else:
            out["overall_pooled"] = True
            out["records"] = [r.row_id for r in self.table.rows]
            out["tau2_note"] = tau2_note(self.overall.k, self.overall.tau2)
        out["outcome"] = self.table.outcome.value
        out["by"] = self.by
        out["filters"] = dict(self.table.filters)
        out["mixed_definitions"] = self.mixed_definitions
        out["denominator"] = self.table.denominator
        out["test"] = self.test
        out["definitions"] = definitions_used(self.table.rows)
        if isinstance(self.result, SubgroupResult):
            for name, sub in out["subgroups"].items():
                rows = self.group_rows(name)
                sub["definitions"] = definitions_used(rows)
                sub["records"] = [r.row_id for r in rows]
                sub["tau2_note"] = tau2_note(int(sub["k"]), sub.get("tau2"))
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
        remedy="widen the filters (genotype, definition) or lower min_grade",
    )


def _groups(table: OutcomeTable, by: str | None, stratify: bool) -> list[str] | None:
    if not stratify:
        return None if by is None else [_group_value(r, by) for r in table.rows]
    defs = [definition_key(r) or _NOT_REPORTED for r in table.rows]
    if by is None or by == "definition":
        return defs
    return [f"{d} × {_group_value(r, by)}" for d, r in zip(defs, table.rows, strict=True)]


def pool_outcome(
    table: OutcomeTable, *, by: str | None = None, measure: str = "PLO", method: str = "REML",
    knha: bool = False, level: float = 95.0, study_ci: str = "clopper-pearson", test: str | None = None,
    mix_definitions: bool = False,
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
    measure, method, level, study_ci
        Passed to :func:`redif.evidence.meta.pool_proportions` / ``pool_subgroups``.
    test, knha
        ``adhoc`` (default: Knapp-Hartung with ``max(1, q)``), ``knha`` or ``z``; ``knha=True`` without
        ``test`` means ``knha``.
    mix_definitions
        Uptake only: allow one pool across definitions of restored uptake (labelled "mixed
        definitions"). Without it, and without a definition filter, groups are split by definition and the
        overall line is left out when the rows use several definitions. A row whose definition is "not
        reported" is a definition of its own (:func:`redif.evidence.tables.definition_key`): two such rows
        are not known to measure the same thing and are never pooled together by default.

    Raises
    ------
    InputError
        If no row matches the filters, or the engine rejects the model (e.g. k = 1 with REML).
    """
    _require_rows(table)
    name = _test_for(method, test, knha)
    engine = _ENGINE_TEST[name]
    if by is not None and by not in MODERATORS:
        raise InputError("unknown grouping", field="by", value=by,
                         remedy=f"use one of: {', '.join(MODERATORS)}")
    several = len(definition_keys(table.rows)) > 1
    stratify = several and not mix_definitions and table.outcome is OutcomeKind.UPTAKE
    mixed = several and mix_definitions and table.outcome is OutcomeKind.UPTAKE
    groups = _groups(table, by, stratify)
    try:
        if groups is None:
            result: PoolResult | SubgroupResult = pool_proportions(
                table.events, table.totals, table.labels, measure=measure, method=method, knha=engine,
                level=level, study_ci=study_ci)
        else:
            result = pool_subgroups(table.events, table.totals, groups, table.labels, measure=measure,
                                    method=method, knha=engine, level=level, study_ci=study_ci)
    except InputError as exc:
        if exc.field != "knha" or "needs at least" not in str(exc):
            raise
        # the engine names its own flag; here the inference is chosen with ``test``
        raise InputError(f"k = {table.k}: Knapp-Hartung (test {name}) needs at least 2 records",
                         field="test", value=name,
                         remedy="use test z (with method EE), or widen the filters") from exc
    return OutcomePool(table, by, result, tuple(groups or ()), stratify, mixed, name)


@dataclass(frozen=True)
class OutcomeRegression:
    """A meta-regression on an outcome table: the result, the rows used and those dropped for a missing
    moderator value."""

    table: OutcomeTable
    moderators: tuple[str, ...]
    rows: tuple[OutcomeRow, ...]
    dropped: tuple[tuple[str, str], ...]
    result: RegressionResult
    levels: dict[str, dict[str, int]] = field(default_factory=dict)
    test: str = "adhoc"
    single_levels: tuple[str, ...] = ()
    mixed_definitions: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The ``redif meta pool --mods`` JSON keys plus ``outcome``, ``moderators``, ``rows``, ``dropped``,
        ``excluded``, ``definitions`` and ``mixed_definitions``."""
        out = self.result.to_dict()
        out["outcome"] = self.table.outcome.value
        out["moderators"] = list(self.moderators)
        out["filters"] = dict(self.table.filters)
        out["rows"] = [r.to_dict() for r in self.rows]
        out["dropped"] = [{"row_id": i, "reason": why} for i, why in self.dropped]
        out["levels"] = {m: dict(c) for m, c in self.levels.items()}
        out["single_record_levels"] = list(self.single_levels)
        out["test"] = self.test
        out["denominator"] = self.table.denominator
        out["records"] = [r.row_id for r in self.rows]
        out["excluded"] = self.table.excluded_dict()
        out["definitions"] = definitions_used(self.rows)
        out["mixed_definitions"] = self.mixed_definitions
        return out


def _levels(rows: Sequence[OutcomeRow], mods: Sequence[str]) -> dict[str, dict[str, int]]:
    """Records per level of each categorical moderator."""
    out: dict[str, dict[str, int]] = {}
    for m in mods:
        values = [r.moderator(m) for r in rows]
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            continue
        out[m] = dict(sorted(Counter(str(v) for v in values).items()))
    return out


def regress_outcome(
    table: OutcomeTable, moderators: Sequence[str], *, measure: str = "PLO", method: str = "REML",
    knha: bool = False, level: float = 95.0, test: str | None = None, force: bool = False,
    mix_definitions: bool = False,
) -> OutcomeRegression:
    """Mixed-effects meta-regression of the outcome (on the ``measure`` scale) on study moderators.

    Rows lacking a value for any moderator are dropped and listed (never imputed). Numeric moderators
    (weeks of drug, 131I activity in GBq, year) are continuous; the others are categorical, and the
    records per level are reported (``levels``). A level with a single record makes its coefficient that
    one record's deviation: refused unless ``force``. Inference as in :func:`pool_outcome` (``test``).

    Like with like (issue 12): an uptake table whose rows span several definitions of restored uptake is
    refused unless ``definition`` is among the moderators (each definition then has its own intercept;
    a "not reported" row is a level of its own) or ``mix_definitions`` is set (the result is labelled
    ``mixed_definitions``).

    Raises
    ------
    InputError
        For an unknown moderator, too few rows, a level with one record (without ``force``), or a design
        the engine cannot fit.
    MixedDefinitionsError
        Uptake rows with several definitions, without ``definition`` among the moderators or
        ``mix_definitions``.
    """
    mods = tuple(m.strip() for m in moderators if m.strip())
    if not mods:
        raise InputError("no moderators given", field="moderators",
                         remedy=f"name one or more of: {', '.join(MODERATORS)}")
    for name in mods:
        if name not in MODERATORS:
            raise InputError("unknown moderator", field="moderators", value=name,
                             remedy=f"use one of: {', '.join(MODERATORS)}")
    _require_rows(table)
    mixed = require_one_definition(table, mix_definitions=mix_definitions or "definition" in mods,
                                   what="meta-regression") and "definition" not in mods
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
            field="moderators", value=",".join(mods),
            remedy="use fewer moderators, widen the filters or lower min_grade")
    levels = _levels(kept, mods)
    single = [f"{m} = {lev}" for m, counts in levels.items() for lev, n in counts.items() if n == 1]
    if single and not force:
        raise InputError(
            f"moderator level(s) with a single record: {', '.join(single)}; its coefficient would be that "
            "one record's deviation, not a trial-design effect", field="moderators", value=",".join(mods),
            remedy="widen the filters, merge levels, or set force to fit anyway")
    name = resolve_test(test, knha)
    yi, vi = escalc(measure, [r.events for r in kept], [r.total for r in kept])
    columns = {m: [r.moderator(m) for r in kept] for m in mods}
    result = meta_regression(yi, vi, columns, method=method, knha=_ENGINE_TEST[name], level=level,
                             measure=measure)
    return OutcomeRegression(table, mods, tuple(kept), tuple(dropped), result, levels, name, tuple(single),
                             mixed)


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
        out["denominator"] = self.response.table.denominator
        out["test"] = self.uptake.test
        out["mixed_definitions"] = self.uptake.mixed_definitions
        out["n_records"] = self.n_records
        out["excluded_ids"] = self.excluded_ids()
        return out


def evidence_summary(
    studies: Sequence[StudyArm], *, measure: str = "PLO", method: str = "REML", knha: bool = False,
    level: float = 95.0, min_grade: EvidenceGrade | str = EvidenceGrade.SECONDARY, test: str | None = None,
    denominator: str = "itt", mix_definitions: bool = False,
) -> EvidenceSummary:
    """Pooled uptake (definition x genotype) and response by genotype, and uptake by definition.

    Each analysis uses each patient at most once (see :mod:`redif.evidence.tables`); groups with a single
    record are reported alone (no pooling). Uptake is never pooled across definitions unless
    ``mix_definitions``; response uses ``denominator`` (``itt`` or ``treated``).
    """
    uptake = outcome_table(studies, OutcomeKind.UPTAKE, min_grade=min_grade)
    response = outcome_table(studies, OutcomeKind.RESPONSE, min_grade=min_grade, denominator=denominator)

    def pool(table: OutcomeTable, by: str) -> OutcomePool:
        return pool_outcome(table, by=by, measure=measure, method=method, knha=knha, level=level, test=test,
                            mix_definitions=mix_definitions)

    return EvidenceSummary(
        uptake=pool(uptake, "genotype"),
        response=pool(response, "genotype"),
        uptake_by_definition=pool(uptake, "definition"),
        min_grade=uptake.min_grade,
        n_records=len(studies),
    )
