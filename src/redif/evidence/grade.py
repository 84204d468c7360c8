"""GRADE summary of findings per outcome of the evidence base (pure functions, no I/O).

For each outcome (restored uptake under one definition at a time, and objective response) the pooled
result of :func:`redif.evidence.synthesis.pool_outcome` is rated: certainty starts at ``low`` for
observational and single-arm evidence [1]_ and is rated down, one level per serious concern (two for a
very serious one), for

- **risk of bias**: the share of pooled records judged at high risk (:mod:`redif.evidence.risk_of_bias`);
- **inconsistency**: I² or the width of the prediction interval (not assessable with one record);
- **imprecision**: the width of the confidence interval, and the number of patients;
- **indirectness**: a pool that mixes definitions of restored uptake or response denominators;
- **publication bias**: not assessable with fewer than ``min_k`` records, otherwise not rated
  automatically.

Every threshold lives in ``redif/data/grade_rules.yaml`` with its source and grade (the start level is
GRADE's; the cut-offs are redif's rules, graded unverified). Each domain's rating carries its reason.

References
----------
.. [1] Balshem H, et al. GRADE guidelines: 3. Rating the quality of evidence. J Clin Epidemiol
   2011;64(4):401-406.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from redif.data import load_yaml
from redif.errors import InputError
from redif.evidence.enums import EvidenceGrade, OutcomeKind, UptakeDefinition
from redif.evidence.model import StudyArm
from redif.evidence.synthesis import GroupRow, OutcomePool, pool_outcome
from redif.evidence.tables import OutcomeTable, definition_key, outcome_table

__all__ = [
    "RULES_FILE",
    "DomainRating",
    "GradeRules",
    "SofRow",
    "grade_pool",
    "load_grade_rules",
    "parse_grade_rules",
    "summary_of_findings",
]

#: The data file of the rules.
RULES_FILE = "grade_rules.yaml"
_NOT_REPORTED = "not reported"


@dataclass(frozen=True)
class GradeRules:
    """The start level and the thresholds of the domains (from ``grade_rules.yaml``)."""

    levels: tuple[str, ...]
    start: str
    rob_high_share_serious: float
    i2_serious: float
    pi_width_serious: float
    ci_width_serious: float
    ci_width_very_serious: float
    min_total: int
    publication_bias_min_k: int


def _value(data: Mapping[str, Any], section: str, key: str) -> Any:
    entry = data.get(section, {}).get(key) if isinstance(data.get(section), Mapping) else None
    if not isinstance(entry, Mapping) or "value" not in entry or not entry.get("source") \
            or entry.get("grade") not in ("primary", "secondary", "unverified"):
        raise InputError("missing rule, or a rule without value, source and grade", field=f"{section}.{key}",
                         remedy=f"give {section}.{key} with value, source and grade in {RULES_FILE}")
    return entry["value"]


def parse_grade_rules(data: Any) -> GradeRules:
    """Validate the rules mapping (the shape of ``grade_rules.yaml``)."""
    if not isinstance(data, Mapping):
        raise InputError("expected a mapping", field=RULES_FILE)
    levels = tuple(str(x) for x in data.get("levels") or ())
    start_entry = data.get("start")
    start = str(start_entry.get("value")) if isinstance(start_entry, Mapping) else ""
    if not isinstance(start_entry, Mapping) or not start_entry.get("source"):
        raise InputError("the start level needs value and source", field="start", remedy=f"see {RULES_FILE}")
    if not levels or start not in levels:
        raise InputError("start level not among the levels", field="start.value", value=start,
                         remedy=f"use one of: {', '.join(levels)}")
    return GradeRules(
        levels=levels, start=start,
        rob_high_share_serious=float(_value(data, "risk_of_bias", "high_share_serious")),
        i2_serious=float(_value(data, "inconsistency", "i2_serious")),
        pi_width_serious=float(_value(data, "inconsistency", "pi_width_serious")),
        ci_width_serious=float(_value(data, "imprecision", "ci_width_serious")),
        ci_width_very_serious=float(_value(data, "imprecision", "ci_width_very_serious")),
        min_total=int(_value(data, "imprecision", "min_total")),
        publication_bias_min_k=int(_value(data, "publication_bias", "min_k")),
    )


def load_grade_rules() -> GradeRules:
    """The built-in rules."""
    return parse_grade_rules(load_yaml(RULES_FILE))


@dataclass(frozen=True)
class DomainRating:
    """One GRADE domain: its rating, the levels rated down and why."""

    domain: str
    rating: str  # "not serious", "serious", "very serious" or "not assessable"
    downgrade: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"domain": self.domain, "rating": self.rating, "downgrade": self.downgrade,
                "reason": self.reason}


@dataclass(frozen=True)
class SofRow:
    """One line of the summary-of-findings table."""

    outcome: str
    records: tuple[str, ...]
    line: GroupRow
    start: str
    certainty: str
    domains: tuple[DomainRating, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON form (proportions, not percentages)."""
        ln = self.line
        return {"outcome": self.outcome, "records": list(self.records), "k": ln.k, "events": ln.events,
                "total": ln.total, "estimate": ln.estimate, "ci_lower": ln.ci_lower, "ci_upper": ln.ci_upper,
                "pi_lower": ln.pi_lower, "pi_upper": ln.pi_upper, "i2": ln.i2, "pooled": ln.pooled,
                "definitions": dict(ln.definitions), "start": self.start, "certainty": self.certainty,
                "domains": [d.to_dict() for d in self.domains]}


def _rating(down: int) -> str:
    return {0: "not serious", 1: "serious"}.get(down, "very serious")


def _risk_of_bias(records: Sequence[str], judgements: Mapping[str, str], rules: GradeRules) -> DomainRating:
    high = [r for r in records if judgements.get(r) == "high"]
    unassessed = [r for r in records if judgements.get(r, "not_assessed") == "not_assessed"]
    share = len(high) / len(records)
    down = 1 if share >= rules.rob_high_share_serious else 0
    reason = (f"{len(high)} of {len(records)} records at high risk of bias "
              f"({', '.join(high) or 'none'}); rated down when the share is >= "
              f"{rules.rob_high_share_serious:g} (redif rule)")
    if unassessed:
        reason += f"; not assessed: {', '.join(unassessed)}"
    return DomainRating("risk of bias", _rating(down), down, reason)


def _inconsistency(line: GroupRow, rules: GradeRules) -> DomainRating:
    if not line.pooled or line.i2 is None:
        return DomainRating("inconsistency", "not assessable", 0, "a single record")
    width = None if line.pi_lower is None or line.pi_upper is None else line.pi_upper - line.pi_lower
    # with tau^2 = 0 the prediction interval is the confidence interval: its width is imprecision, not
    # inconsistency, and is judged there
    heterogeneous = line.tau2 is not None and line.tau2 > 0.0
    serious = line.i2 >= rules.i2_serious or (
        heterogeneous and width is not None and width > rules.pi_width_serious)
    pi = "not available" if width is None else f"{100 * width:.0f} percentage points wide"
    if not heterogeneous:
        pi += " (tau² = 0: the interval is the CI, judged under imprecision)"
    reason = (f"I² = {line.i2:.0f}%, prediction interval {pi}; rated down when I² >= {rules.i2_serious:g}% "
              f"or, with tau² > 0, the interval is wider than {100 * rules.pi_width_serious:.0f} points "
              "(redif rule)")
    if line.k < 10:
        reason += f"; with k = {line.k} heterogeneity is poorly estimated"
    return DomainRating("inconsistency", _rating(int(serious)), int(serious), reason)


def _imprecision(line: GroupRow, rules: GradeRules) -> DomainRating:
    width = line.ci_upper - line.ci_lower
    down = 2 if width > rules.ci_width_very_serious else int(width > rules.ci_width_serious)
    if down == 0 and line.total < rules.min_total:
        down = 1
    reason = (f"95% CI {100 * width:.0f} percentage points wide, {line.total} patients; rated down one level "
              f"when wider than {100 * rules.ci_width_serious:.0f} points or fewer than {rules.min_total} "
              f"patients, two when wider than {100 * rules.ci_width_very_serious:.0f} points (redif rule)")
    return DomainRating("imprecision", _rating(down), down, reason)


def _indirectness(pool: OutcomePool) -> DomainRating:
    if pool.table.outcome is OutcomeKind.UPTAKE:
        mixed = sorted(pool.group_table()[-1].definitions)
        what = "definitions of restored uptake"
    else:
        mixed = sorted({str(r.denominator or _NOT_REPORTED) for r in pool.table.rows})
        what = "response denominators"
    unknown = mixed == [UptakeDefinition.NOT_REPORTED.label] or mixed == [_NOT_REPORTED]
    down = int(len(mixed) > 1 or unknown)
    reason = (f"{what}: {'; '.join(mixed)}; rated down when the pool mixes them or the only one is not "
              "reported (redif rule)")
    return DomainRating("indirectness", _rating(down), down, reason)


def _publication_bias(line: GroupRow, rules: GradeRules) -> DomainRating:
    if line.k < rules.publication_bias_min_k:
        return DomainRating("publication bias", "not assessable", 0,
                            f"k = {line.k} < {rules.publication_bias_min_k}: funnel-plot asymmetry cannot be "
                            "assessed (redif rule)")
    return DomainRating("publication bias", "not assessable", 0,
                        "not rated automatically: inspect `redif evidence funnel` and rate by judgement")


def grade_pool(outcome: str, pool: OutcomePool, judgements: Mapping[str, str],
               rules: GradeRules) -> SofRow:
    """Rate one pooled outcome.

    Parameters
    ----------
    outcome
        Name of the outcome line (e.g. ``"uptake: uptake on diagnostic scan"``).
    pool
        From :func:`redif.evidence.synthesis.pool_outcome` (no subgroups: the whole pool is rated).
    judgements
        Record id -> overall risk-of-bias judgement (``low``, ``some_concerns``, ``high``,
        ``not_assessed``); a record missing here counts as not assessed.
    rules
        From :func:`load_grade_rules`.
    """
    line = pool.group_table()[-1]
    records = tuple(r.row_id for r in pool.table.rows)
    domains = (_risk_of_bias(records, judgements, rules), _inconsistency(line, rules),
               _imprecision(line, rules), _indirectness(pool), _publication_bias(line, rules))
    index = rules.levels.index(rules.start) - sum(d.downgrade for d in domains)
    return SofRow(outcome, records, line, rules.start, rules.levels[max(index, 0)], domains)


def _pool(table: OutcomeTable) -> OutcomePool:
    # A single record cannot take a random-effects model: the engine reports it alone (exact CI).
    if table.k >= 2:
        return pool_outcome(table, method="REML")
    return pool_outcome(table, method="EE", test="z")  # one record: its own interval (no KH with k = 1)


def summary_of_findings(
    studies: Sequence[StudyArm], judgements: Mapping[str, str], *, rules: GradeRules | None = None,
    min_grade: EvidenceGrade | str = EvidenceGrade.SECONDARY,
) -> list[SofRow]:
    """The summary-of-findings table: restored uptake per definition (one definition per line; each record
    whose definition is not reported is a line of its own, since two unknown definitions are not known to
    be alike), then response per denominator (intention to treat, treated with 131I); outcomes with no
    usable record are left out. Pools use the evidence explorer's defaults (REML, Knapp-Hartung
    ``adhoc``; one record: its exact interval), so imprecision is judged on the interval the explorer
    shows."""
    rules = rules or load_grade_rules()
    out: list[SofRow] = []
    for definition in UptakeDefinition:
        table = outcome_table(studies, OutcomeKind.UPTAKE, definition=definition, min_grade=min_grade)
        if not table.k:
            continue
        if definition is UptakeDefinition.NOT_REPORTED:
            # an unreported definition is known to nobody: each such record is its own outcome line
            for row in table.rows:
                alone = replace(table, rows=(row,))
                out.append(grade_pool(f"uptake: {definition_key(row)}", _pool(alone), judgements, rules))
            continue
        out.append(grade_pool(f"uptake: {definition.label}", _pool(table), judgements, rules))
    for denominator, name in (("itt", "intention to treat"), ("treated", "treated with 131I")):
        response = outcome_table(studies, OutcomeKind.RESPONSE, min_grade=min_grade, denominator=denominator)
        if response.k:
            out.append(grade_pool(f"response (RECIST CR+PR; {name})", _pool(response), judgements, rules))
    return out
