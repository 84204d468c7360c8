"""Evidence explorer (public: the published evidence base, no patient data) and
``/api/v1/evidence/pool``. Thin: filters -> :func:`redif.evidence.tables.outcome_table` ->
:func:`redif.evidence.synthesis.pool_outcome` -> tables and a forest plot (the ``redif evidence`` CLI's
calls)."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from redif import DISCLAIMER
from redif.cli._common import to_jsonable
from redif.errors import InputError
from redif.evidence.enums import GenotypeGroup, UptakeDefinition
from redif.evidence.estimators import method_codes
from redif.evidence.plots import forest_bytes
from redif.evidence.studies import load_evidence
from redif.evidence.synthesis import pool_outcome
from redif.evidence.tables import outcome_table
from redif.registry.access import Permission
from redif.web.deps import render
from redif.web.engines import is_partial
from redif.web.figures import data_uri
from redif.web.nav import add_nav_item
from redif.web.security import requires

__all__ = ["api_router", "pool", "router"]

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/v1/evidence", tags=["evidence"])
add_nav_item("Evidence", "/evidence", Permission.PUBLIC)

MEASURES = ("PLO", "PR", "PAS", "PFT")
METHODS = method_codes()  # the estimator table (redif.evidence.estimators.ESTIMATORS)
GRADES = ("primary", "secondary", "unverified", "unreliable-secondary")
BY = ("", "genotype", "definition", "drug")
DENOMINATORS = ("itt", "treated")
TESTS = ("", "adhoc", "knha", "z")  # "" = the default: adhoc (z with GLMM, which has no Knapp-Hartung)


@functools.lru_cache(maxsize=1)
def _base() -> Any:
    return load_evidence([])


def _choice(params: Mapping[str, Any], name: str, allowed: tuple[str, ...], default: str) -> str:
    value = str(params.get(name) or default).strip()
    if value not in allowed:
        raise InputError("unknown value", field=name, value=value,
                         remedy="one of " + ", ".join(a or "(none)" for a in allowed))
    return value


def pool(params: Mapping[str, Any]) -> tuple[Any, dict[str, Any]]:
    """``(OutcomePool, parsed filters)`` for the explorer's query parameters.

    The engines name their parameters (``genotype``, ``min_grade``, ``method``), which are this form's
    field names, so their errors pass through unchanged.
    """
    f: dict[str, Any] = {
        "outcome": _choice(params, "outcome", ("uptake", "response"), "uptake"),
        "genotype": str(params.get("genotype") or "").strip() or None,
        "definition": str(params.get("definition") or "").strip() or None,
        "min_grade": _choice(params, "min_grade", GRADES, "secondary"),
        "measure": _choice(params, "measure", MEASURES, "PLO"),
        "method": _choice(params, "method", METHODS, "REML"),
        "by": _choice(params, "by", BY, "") or None,
        "denominator": _choice(params, "denominator", ("itt", "treated"), "itt"),
        "test": _choice(params, "test", TESTS, "") or None,
        "mix_definitions": str(params.get("mix_definitions") or "").strip().lower() in ("1", "true", "yes"),
    }
    if f["outcome"] == "response" and f["definition"]:
        raise InputError("a definition of restored uptake applies to the uptake outcome only",
                         field="definition", value=f["definition"], remedy="clear it or choose uptake")
    table = outcome_table(_base(), f["outcome"], genotype=f["genotype"], definition=f["definition"],
                          min_grade=f["min_grade"], denominator=f["denominator"])
    result = pool_outcome(table, by=f["by"], measure=f["measure"], method=f["method"], test=f["test"],
                          mix_definitions=f["mix_definitions"])
    return result, f


def _forest_svg(result: Any, title: str) -> bytes:
    return forest_bytes(result.result, "svg", title=title, show_overall=not result.stratified)


def _options() -> dict[str, list[str]]:
    return {"genotype": [g.value for g in GenotypeGroup], "definition": [d.label for d in UptakeDefinition],
            "min_grade": list(GRADES), "measure": list(MEASURES), "method": list(METHODS), "by": list(BY),
            "denominator": list(DENOMINATORS), "test": [t for t in TESTS if t]}


def _sources(result: Any) -> dict[str, dict[str, str]]:
    arms = {a.row_id: a for a in _base()}
    out = {}
    for r in result.table.rows:
        a = arms.get(r.row_id)
        out[r.row_id] = {"source": r.source, "pmid": str(a.pmid) if a is not None and a.pmid else "",
                         "year": r.year or ""}
    return out


@functools.lru_cache(maxsize=64)
def _page_data(key: tuple[tuple[str, str], ...]) -> tuple[Any, dict[str, Any], str, str]:
    """Pool, filters, title and forest-plot data URI for one filter set (the evidence base is fixed for
    the life of the process, so results are cached; errors are not)."""
    result, f = pool(dict(key))
    title = f"Pooled {f['outcome']}" + (f" by {f['by']}" if f["by"] else "")
    if result.mixed_definitions:
        title += " (mixed definitions)"
    elif result.stratified:
        title += " (one group per definition of restored uptake)"
    if result.table.denominator:
        title += f" (denominator: {result.table.denominator})"
    return result, f, title, data_uri(_forest_svg(result, title), "image/svg+xml")


_FILTERS = ("outcome", "genotype", "definition", "min_grade", "measure", "method", "by", "denominator",
            "test", "mix_definitions")


@router.get("/evidence")
@requires(Permission.PUBLIC)
def evidence_page(request: Request) -> Response:
    """Filters, pooled table, forest plot and per-arm table; htmx requests get only the results."""
    params = dict(request.query_params)
    ctx: dict[str, Any] = {"values": params, "options": _options(), "error": None, "pool": None}
    try:
        key = tuple((k, str(params.get(k) or "").strip()[:100]) for k in _FILTERS)
        result, f, title, forest = _page_data(key)
        ctx.update(pool=result, filters=f, doc=result.to_dict(), title=title, sources=_sources(result),
                   forest=forest)
    except InputError as exc:
        ctx["error"] = exc
    partial = is_partial(request.headers, "evidence-result")
    status = 422 if ctx["error"] is not None and not partial else 200
    return render(request, "_evidence_result.html" if partial else "evidence.html", ctx, status_code=status)


@api_router.get("/pool", summary="Pool restored uptake or response over the evidence base")
@requires(Permission.PUBLIC)
def api_pool(
    outcome: Annotated[str, Query(pattern="^(uptake|response)$")] = "uptake",
    genotype: Annotated[str | None, Query(max_length=40, description="e.g. 'BRAF V600E', RAS")] = None,
    definition: Annotated[str | None, Query(max_length=80, description="uptake definition")] = None,
    min_grade: Annotated[str, Query(max_length=30)] = "secondary",
    measure: Annotated[str, Query(max_length=4)] = "PLO",
    method: Annotated[str, Query(max_length=5)] = "REML",
    by: Annotated[str | None, Query(max_length=20, description="genotype, definition or drug")] = None,
    denominator: Annotated[str, Query(max_length=10, description="response: itt (default), treated")] = "itt",
    test: Annotated[str | None, Query(max_length=6, description="adhoc (default), knha or z")] = None,
    mix_definitions: Annotated[bool, Query(description="pool uptake across definitions (labelled)")] = False,
) -> dict[str, Any]:
    """The JSON of ``redif evidence pool --json`` (estimate, CI, PI, I², rows, excluded) + disclaimer.

    Uptake rows with several definitions are split by definition and the overall keys left out
    (``overall_pooled`` false) unless ``mix_definitions``."""
    result, _ = pool({"outcome": outcome, "genotype": genotype, "definition": definition,
                      "min_grade": min_grade, "measure": measure, "method": method, "by": by or "",
                      "denominator": denominator, "test": test or "",
                      "mix_definitions": "1" if mix_definitions else ""})
    out: dict[str, Any] = result.to_dict()
    out["disclaimer"] = DISCLAIMER
    return to_jsonable(out)  # type: ignore[no-any-return]
