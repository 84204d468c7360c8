"""The registry's pooled analyses (issue 13): the ``/analysis`` page and ``/api/v1/analysis/pool`` and
``/api/v1/analysis/survival``. Thin: the caller's analysis dataset
(:func:`redif.ipd.registry_view.registry_rows`) -> :func:`redif.ipd.registry_view.analysis_view` (page)
or :func:`redif.ipd.pool_ipd` / :func:`redif.ipd.survival` (API, the JSON of ``redif ipd pool|survival
--json``). Needs the ``export`` permission; site users see their own site only."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from redif import DISCLAIMER
from redif.cli._common import to_jsonable
from redif.errors import ConvergenceError, InputError
from redif.ipd import pool_ipd, survival
from redif.ipd.registry_view import analysis_view, registry_rows
from redif.registry.access import Permission
from redif.web.deps import render
from redif.web.figures import data_uri
from redif.web.nav import add_nav_item
from redif.web.security import current_principal, requires

__all__ = ["api_router", "router"]

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/v1/analysis", tags=["analysis"])
add_nav_item("Analysis", "/analysis", Permission.EXPORT)

_SVG = "image/svg+xml"
#: Failures of a fit on particular data (separation, a singular variance): answered 422, not 500.
_NOT_ESTIMABLE = (ConvergenceError, np.linalg.LinAlgError, ArithmeticError, ValueError)


@router.get("/analysis")
@requires(Permission.EXPORT)
def analysis_page(
    request: Request,
    definition: Annotated[str | None, Query(max_length=40)] = None,
    denominator: Annotated[str, Query(max_length=10)] = "itt",
) -> Response:
    """Pooled uptake and response with forest plots by site, Kaplan-Meier curves and their tables."""
    rows = registry_rows(request.app.state.db, current_principal(request))
    ctx: dict[str, Any] = {"values": dict(request.query_params), "error": None, "view": None, "figures": {}}
    try:
        view = analysis_view(rows, definition=definition, denominator=denominator)
    except InputError as exc:
        ctx["error"] = exc
        view = analysis_view(rows)  # the form and the default analysis under the error message
    figures = {p.outcome: data_uri(p.forest_svg, _SVG) for p in (view.uptake, view.response)
               if p is not None and p.forest_svg is not None}
    figures.update({p.key: data_uri(p.km_svg, _SVG) for p in view.survival if p.km_svg is not None})
    ctx.update(view=view, figures=figures)
    return render(request, "analysis.html", ctx, status_code=422 if ctx["error"] is not None else 200)


@api_router.get("/pool", summary="Pool restored uptake or response across the registry's sites")
@requires(Permission.EXPORT)
def api_pool(
    request: Request,
    outcome: Annotated[str, Query(max_length=40, description="uptake_restored or objective_response")],
    method: Annotated[str, Query(max_length=20, description="two-stage or one-stage")] = "two-stage",
    by: Annotated[str | None, Query(max_length=40, description="subgroup column")] = None,
    definition: Annotated[str | None, Query(max_length=40, description="uptake definition code")] = None,
    mix_definitions: Annotated[bool, Query(description="pool uptake across definitions")] = False,
    denominator: Annotated[str, Query(max_length=10, description="itt or treated")] = "itt",
    tau2_method: Annotated[str, Query(max_length=10, description="two-stage tau2 estimator")] = "REML",
    level: Annotated[float, Query(gt=0, lt=100, description="confidence level, percent")] = 95.0,
) -> dict[str, Any]:
    """The JSON of ``redif ipd pool --json`` on the caller's analysis dataset, with the disclaimer."""
    rows = registry_rows(request.app.state.db, current_principal(request))
    try:
        res = pool_ipd(rows, outcome=outcome, method=method, by=by, definition=definition,
                       denominator=denominator, mix_definitions=mix_definitions, tau2_method=tau2_method,
                       level=level)
    except InputError:
        raise
    except _NOT_ESTIMABLE as exc:  # a finding about these data (e.g. separation), not a server fault
        raise InputError(f"the model cannot be estimated on these data ({exc})",
                         field="by" if by else "method", value=by or method,
                         remedy="use the two-stage method, drop or merge the subgroups, or pool more "
                                "patients") from exc
    out = res.to_json()
    out["disclaimer"] = DISCLAIMER
    return to_jsonable(out)  # type: ignore[no-any-return]


@api_router.get("/survival", summary="Kaplan-Meier, log-rank and Cox on the registry's patients")
@requires(Permission.EXPORT)
def api_survival(
    request: Request,
    time: Annotated[str, Query(max_length=40, description="time column, e.g. pfs_days")],
    event: Annotated[str, Query(max_length=40, description="event column, e.g. pfs_event")],
    by: Annotated[str | None, Query(max_length=40, description="grouping column")] = None,
    covariates: Annotated[str | None, Query(max_length=200, description="comma-separated Cox covariates")]
    = None,
    strata: Annotated[str | None, Query(max_length=40, description="stratum column, e.g. site")] = None,
    level: Annotated[float, Query(gt=0, lt=100, description="confidence level, percent")] = 95.0,
) -> dict[str, Any]:
    """The JSON of ``redif ipd survival --json`` on the caller's analysis dataset, with the disclaimer."""
    covs = [c.strip() for c in covariates.split(",")] if covariates else []
    if any(c == "" for c in covs):
        raise InputError("empty covariate name", field="covariates", value=covariates,
                         remedy="give comma-separated column names, e.g. uptake_restored,genotype")
    rows = registry_rows(request.app.state.db, current_principal(request))
    try:
        res = survival(rows, time=time, event=event, by=by, covariates=covs, strata=strata, level=level)
    except InputError:
        raise
    except _NOT_ESTIMABLE as exc:  # a finding about these data (e.g. monotone likelihood), not a fault
        field = "covariates" if isinstance(exc, ConvergenceError) else "strata" if strata else "by"
        raise InputError(f"the model cannot be estimated on these data ({exc})", field=field,
                         value={"covariates": covariates, "strata": strata, "by": by}[field],
                         remedy="drop the covariate, grouping or stratum, or merge its levels") from exc
    out = res.to_json()
    out["disclaimer"] = DISCLAIMER
    return to_jsonable(out)  # type: ignore[no-any-return]
