"""Live evidence for a regimen: the arms of the evidence base that used it, and their pooled estimates.

Composes ``redif.evidence.studies`` / ``redif.evidence.tables`` (the evidence base and its outcome tables)
and ``redif.evidence.meta`` (random-effects pooling, logit measure, REML, as metafor).

Rules
-----
* The arms of a regimen are the records of the evidence base with the regimen's genotype group and exactly
  its drugs, plus the rows the regimen table names (``evidence_rows``).
* Pooled uptake restoration and response come from the evidence base's outcome tables (default grade
  filter: unverified and unreliable-secondary rows left out, docs/methods/sources-and-grades.md),
  restricted to those arms and
  pooled **per definition of restored uptake** — definitions are never mixed
  (docs/methods/sources-and-grades.md).

References
----------
docs/methods/sources-and-grades.md (definitions of restored uptake; grades). docs/methods/statistics.md.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

from redif.evidence.meta import pool_proportions
from redif.evidence.studies import load_evidence
from redif.evidence.tables import outcome_table
from redif.pathway._common import Regimen

__all__ = ["load_base", "regimen_evidence"]

_POOL_MEASURE = "PLO"
_POOL_METHOD = "REML"


@lru_cache(maxsize=8)
def load_base(extra_files: tuple[str, ...] = ()) -> Any:
    """The evidence base (built-in, merged with a user's study files for a living review)."""
    return load_evidence(extra_files)


def _count(c: Any) -> int | None:
    """A count's value, or None when it is missing or unverified (never shown as a number)."""
    return None if c is None or c.unverified else int(c.value)


def _arm_dict(arm: Any) -> dict[str, Any]:
    uptake = [
        {
            "definition": u.definition.label,
            "restored": _count(u.restored),
            "evaluable": _count(u.evaluable),
            "percent_reported": u.percent_reported,
        }
        for u in arm.uptake
    ]
    cr, pr, den = _count(arm.recist_cr), _count(arm.recist_pr), _count(arm.response_denominator)
    response = None
    # CR + PR only when both are reported (or derived) and verified: a blank CR is not zero
    if cr is not None and pr is not None and den is not None:
        response = {"cr_pr": cr + pr, "denominator": den}
    return {
        "row_id": arm.row_id,
        "label": arm.label,
        "design": arm.design,
        "row_type": arm.row_type.value,
        "genotype": arm.genotype.value,
        "regimen": arm.regimen_label,
        "grade": arm.grade.value,
        "in_default_analyses": arm.grade.value in ("primary", "secondary"),
        "uptake": uptake,
        "response": response,
        "source": arm.source,
    }


def _matching_arms(regimen: Regimen, base: Iterable[Any]) -> list[Any]:
    drugs = {d.lower() for d in regimen.drugs}
    listed = set(regimen.evidence_rows)
    return [
        a
        for a in base
        if a.row_id in listed
        or (a.genotype.value == regimen.genotype_group and {d.lower() for d in a.drugs} == drugs)
    ]


def _finite(x: Any) -> float | None:
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _pool(rows: Sequence[Any], definition: str | None) -> dict[str, Any]:
    events = [r.events for r in rows]
    totals = [r.total for r in rows]
    # one arm: a random-effects model needs k >= 2; the equal-effects fit gives that arm's logit CI
    method = _POOL_METHOD if len(rows) > 1 else "EE"
    res = pool_proportions(events, totals, [r.label for r in rows], measure=_POOL_MEASURE, method=method)
    return {
        "definition": definition,
        "k": int(res.k),
        "events": sum(events),
        "n_total": sum(totals),
        "estimate": _finite(res.estimate),
        "ci_lower": _finite(res.ci_lower),
        "ci_upper": _finite(res.ci_upper),
        "i2": _finite(res.i2) if res.k > 1 else None,
        "measure": _POOL_MEASURE,
        "method": method,
        "row_ids": [r.row_id for r in rows],
        "engine": "redif.evidence.meta.pool_proportions",
    }


def _pooled(regimen: Regimen, base: Any, arm_ids: set[str], outcome: str) -> list[dict[str, Any]] | str:
    table = outcome_table(base, outcome, genotype=regimen.genotype_group)
    rows = [r for r in table.rows if r.row_id in arm_ids]
    if not rows:
        return "no arm with usable counts at grade secondary or better"
    if outcome == "response":
        return [_pool(rows, None)]
    by_def: dict[str, list[Any]] = {}
    for r in rows:
        key = r.definition.label if r.definition is not None else "not reported"
        by_def.setdefault(key, []).append(r)
    return [_pool(group, key) for key, group in by_def.items()]


def regimen_evidence(regimen: Regimen, *, studies: Sequence[str] = ()) -> dict[str, Any]:
    """Evidence for one regimen: arms, pooled uptake restoration and response per definition, evidence level.

    Returns
    -------
    dict
        ``evidence_level`` ("prospective trial" / "case reports only"), ``arms`` (records of the evidence
        base), ``uptake`` and ``response`` (lists of pooled results with ``k``, ``estimate``, ``ci_lower``,
        ``ci_upper`` and the ``definition`` of restored uptake; or a string saying why nothing was pooled).

    Parameters
    ----------
    regimen
        The regimen.
    studies
        Extra study files (CSV/YAML, :func:`redif.evidence.studies.read_studies_file`) merged into the
        evidence base.
    """
    out: dict[str, Any] = {
        "evidence_level": regimen.evidence_level,
        "evidence_rows": list(regimen.evidence_rows),
        "source": regimen.source,
        "grade": regimen.grade.value,
    }
    base = load_base(tuple(str(s) for s in studies))
    arms = _matching_arms(regimen, base)
    out["arms"] = [_arm_dict(a) for a in arms]
    ids = {a.row_id for a in arms}
    out["uptake"] = _pooled(regimen, base, ids, "uptake")
    out["response"] = _pooled(regimen, base, ids, "response")
    if studies:
        out["extra_studies"] = [str(s) for s in studies]
    return out
