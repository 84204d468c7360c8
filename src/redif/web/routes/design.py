"""Trial designer (public): Simon two-stage and exact single-stage designs for a single-arm phase II
trial with a binary endpoint, and ``/api/v1/design/{simon,single}``. Thin: parse ->
:func:`redif.design.simon.simon_design` / :func:`redif.design.exact.single_stage_designs` -> render."""

from __future__ import annotations

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
