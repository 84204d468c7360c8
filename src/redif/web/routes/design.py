"""Trial designer (public): Simon two-stage and exact single-stage designs for a single-arm phase II
trial with a binary endpoint, and ``/api/v1/design/{simon,single}``. Thin: parse ->
:func:`redif.design.simon.simon_design` / :func:`redif.design.exact.single_stage_designs` -> render."""

from __future__ import annotations

import functools
import io
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from redif import DISCLAIMER
from redif.cli._common import to_jsonable
from redif.errors import InputError
from redif.registry.access import Permission
from redif.web.deps import render
from redif.web.engines import is_partial
from redif.web.nav import add_nav_item
from redif.web.routes.calculators import number
from redif.web.security import requires

__all__ = ["api_router", "router", "simon", "single"]

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/v1/design", tags=["trial design"])
add_nav_item("Trial design", "/design", Permission.PUBLIC)

#: Largest ``nmax`` the web designer searches (the exact search costs ~nmax**4/10 operations).
WEB_NMAX = 150

SIMON_REFERENCES = (
    "Simon R. Optimal two-stage designs for phase II clinical trials. Control Clin Trials 1989;10:1-10.",
    "Jung SH, Lee T, Kim K, George SL. Admissible two-stage designs for phase II cancer clinical trials. "
    "Stat Med 2004;23:561-569.",
    "Conventions of clinfun ph2simon 1.1.5 (Seshan VE); results checked against it (tests/design).",
)
SINGLE_REFERENCES = ("A'Hern RP. Sample size tables for exact single-stage phase II designs. "
                     "Stat Med 2001;20:859-866.",)


def _inputs(params: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ("p0", "p1", "alpha", "beta"):
        out[name] = number(params, name)
    nmax = number(params, "nmax", required=False) or 60
    if nmax != int(nmax) or not 2 <= nmax <= WEB_NMAX:
        raise InputError(f"a whole number from 2 to {WEB_NMAX}", field="nmax", value=params.get("nmax"),
                         remedy=f"use `redif design` on a workstation beyond nmax {WEB_NMAX}")
    out["nmax"] = int(nmax)
    return out


def simon(params: Mapping[str, Any]) -> dict[str, Any]:
    """Optimal, minimax and admissible Simon designs (``SimonResult.to_dict`` keys)."""
    from redif.design.simon import simon_design

    a = _inputs(params)
    res = simon_design(a["p0"], a["p1"], a["alpha"], a["beta"], nmax=a["nmax"])
    out = res.to_dict()
    out["references"] = list(SIMON_REFERENCES)
    out["disclaimer"] = DISCLAIMER
    return out


def single(params: Mapping[str, Any]) -> dict[str, Any]:
    """The smallest exact single-stage designs."""
    from redif.design.exact import single_stage_designs

    a = _inputs(params)
    designs = single_stage_designs(a["p0"], a["p1"], a["alpha"], a["beta"], solutions=5, nmax=a["nmax"])
    return {"p0": a["p0"], "p1": a["p1"], "alpha_target": a["alpha"], "beta_target": a["beta"],
            "designs": [{"n": d.n, "r": d.r, "alpha": d.alpha, "power": d.power} for d in designs],
            "references": list(SINGLE_REFERENCES), "disclaimer": DISCLAIMER}


@router.get("/design")
@requires(Permission.PUBLIC)
def design_page(request: Request) -> Response:
    """Simon two-stage and single-stage designs side by side."""
    params = dict(request.query_params)
    ctx: dict[str, Any] = {"values": params, "error": None, "simon": None, "single": None}
    if any(str(params.get(k) or "").strip() for k in ("p0", "p1")):
        try:
            ctx["simon"] = simon(params)
            ctx["single"] = single(params)
        except InputError as exc:
            ctx["error"] = exc
    partial = is_partial(request.headers, "design-result")
    status = 422 if ctx["error"] is not None and not partial else 200
    return render(request, "_design_result.html" if partial else "design.html", ctx, status_code=status)


@router.get("/calc/simon")
@requires(Permission.PUBLIC)
def calc_simon(request: Request) -> Response:
    """The Simon calculator is the trial designer."""
    from fastapi.responses import RedirectResponse

    q = request.url.query
    return RedirectResponse("/design" + (f"?{q}" if q else ""), status_code=303)


MAP_REFERENCES = (
    "Neuenschwander B et al. Summarizing historical information on controls in clinical trials. "
    "Clin Trials 2010;7:5-18.",
    "Schmidli H et al. Robust meta-analytic-predictive priors in clinical trials with historical control "
    "information. Biometrics 2014;70:1023-1032.",
)


@functools.lru_cache(maxsize=32)
def _map(outcome: str, genotype: str | None, definition: str | None, min_grade: str,
         robust_weight: float | None) -> dict[str, Any]:
    from redif.design.bayes import map_prior
    from redif.design.historical import arms_from_evidence
    from redif.design.plots import prior_posterior_figure
    from redif.web.figures import data_uri

    arms = arms_from_evidence(outcome, genotype=genotype, definition=definition, min_grade=min_grade)
    res = map_prior(arms.r, arms.n, robust_weight=robust_weight)
    out: dict[str, Any] = res.to_dict()
    out["historical"] = arms.to_dict()
    out["references"] = list(MAP_REFERENCES)
    out["disclaimer"] = DISCLAIMER
    fig = prior_posterior_figure({"MAP prior": res.map_mixture, "robust MAP prior": res.mixture},
                                 title=f"MAP prior from {len(arms.r)} arms")
    buf = io.BytesIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    out["plot"] = data_uri(buf.getvalue(), "image/svg+xml")
    return out


def map_from_evidence(params: Mapping[str, Any]) -> dict[str, Any]:
    """Robust MAP prior (beta mixture, ESS) from the evidence base's arms (``redif design map
    --from-evidence``)."""
    outcome = str(params.get("outcome") or "uptake")
    if outcome not in ("uptake", "response"):
        raise InputError("unknown outcome", field="outcome", value=outcome, remedy="uptake or response")
    w = number(params, "robust_weight", required=False)
    if w is not None and not 0 <= w < 1:
        raise InputError("must be in [0, 1)", field="robust_weight", value=params.get("robust_weight"))
    definition = str(params.get("definition") or "").strip() or None
    if outcome == "response" and definition:
        raise InputError("a definition of restored uptake applies to the uptake outcome only",
                         field="definition", value=definition)
    try:
        return dict(_map(outcome, str(params.get("genotype") or "").strip() or None, definition,
                         str(params.get("min_grade") or "secondary"), w))
    except InputError as exc:
        field = (exc.field or "").lstrip("-").replace("-", "_") or None
        raise InputError(exc.message, field=field, value=exc.value, remedy=exc.remedy) from None


@router.get("/design/map")
@requires(Permission.PUBLIC)
def map_page(request: Request) -> Response:
    """Robust MAP prior from the evidence base (the informative prior of a Bayesian single-arm design)."""
    from redif.evidence.enums import GenotypeGroup, UptakeDefinition

    params = dict(request.query_params)
    ctx: dict[str, Any] = {"values": params, "error": None, "map": None,
                           "options": {"genotype": [g.value for g in GenotypeGroup],
                                       "definition": [d.label for d in UptakeDefinition],
                                       "min_grade": ["primary", "secondary", "unverified"]}}
    if params.get("outcome"):
        try:
            ctx["map"] = map_from_evidence(params)
        except InputError as exc:
            ctx["error"] = exc
    partial = is_partial(request.headers, "map-result")
    status = 422 if ctx["error"] is not None and not partial else 200
    return render(request, "_map_result.html" if partial else "design_map.html", ctx, status_code=status)


_P = Annotated[float, Query(gt=0, lt=1)]


@api_router.get("/simon", summary="Simon two-stage designs (optimal, minimax, admissible)")
@requires(Permission.PUBLIC)
def api_simon(p0: _P, p1: _P, alpha: _P = 0.05, beta: _P = 0.2,
              nmax: Annotated[int, Query(ge=2, le=WEB_NMAX)] = 60) -> dict[str, Any]:
    """Same keys as ``SimonResult.to_dict`` plus references and disclaimer."""
    return to_jsonable(simon({"p0": p0, "p1": p1, "alpha": alpha, "beta": beta, "nmax": nmax}))  # type: ignore[no-any-return]


@api_router.get("/single", summary="Exact single-stage designs")
@requires(Permission.PUBLIC)
def api_single(p0: _P, p1: _P, alpha: _P = 0.05, beta: _P = 0.2,
               nmax: Annotated[int, Query(ge=2, le=WEB_NMAX)] = 60) -> dict[str, Any]:
    """The five smallest feasible (n, r) designs."""
    return to_jsonable(single({"p0": p0, "p1": p1, "alpha": alpha, "beta": beta, "nmax": nmax}))  # type: ignore[no-any-return]


@api_router.get("/map", summary="Robust MAP prior from the evidence base")
@requires(Permission.PUBLIC)
def api_map(
    outcome: Annotated[str, Query(pattern="^(uptake|response)$")] = "uptake",
    genotype: Annotated[str | None, Query(max_length=40)] = None,
    definition: Annotated[str | None, Query(max_length=80)] = None,
    min_grade: Annotated[str, Query(max_length=30)] = "secondary",
    robust_weight: Annotated[float | None, Query(ge=0, lt=1)] = None,
) -> dict[str, Any]:
    """``redif design map --from-evidence --json`` keys (mixture, ESS, MAP before robustification,
    historical arms) plus references and disclaimer."""
    out = map_from_evidence({"outcome": outcome, "genotype": genotype, "definition": definition,
                             "min_grade": min_grade, "robust_weight": robust_weight})
    out.pop("plot", None)
    return to_jsonable(out)  # type: ignore[no-any-return]
