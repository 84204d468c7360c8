"""Bayesian trial designer (public): predictive-probability and BOP2 single-arm designs and the two-arm
design borrowing the control arm from the evidence base, with boundary/OC plots and a protocol design
summary as JSON and PDF. Thin: parse -> :mod:`redif.design` engines -> render
(:mod:`redif.reports.design_summary` for the exports)."""

from __future__ import annotations

import base64
import functools
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from redif import DISCLAIMER
from redif.cli._common import to_jsonable
from redif.design.assurance import parse_mixture
from redif.design.bayes import map_prior
from redif.design.bayes_plots import borrowing_figure, monitoring_figure
from redif.design.bop2 import bop2_design
from redif.design.borrowing import borrowing_design
from redif.design.historical import arms_from_evidence
from redif.design.predictive import predictive_design
from redif.errors import InputError
from redif.io.figures import figure_bytes
from redif.registry.access import Permission
from redif.reports.design_summary import KINDS, design_summary, design_summary_pdf
from redif.web.deps import render
from redif.web.engines import is_partial
from redif.web.figures import data_uri
from redif.web.routes.calculators import number
from redif.web.security import requires

__all__ = ["api_router", "bayes_design", "router"]

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/v1/design", tags=["trial design"])

#: Largest Nmax of the web predictive-probability search (continuous monitoring costs ~Nmax^3).
WEB_NMAX = 60
#: Largest arm size of the web borrowing design.
WEB_NARM = 150


def _int(params: Mapping[str, Any], name: str, default: int | None, lo: int, hi: int) -> int:
    v = number(params, name, required=default is None)
    if v is None:
        assert default is not None
        return default
    if v != int(v) or not lo <= v <= hi:
        raise InputError(
            f"a whole number from {lo} to {hi}",
            field=name,
            value=params.get(name),
            remedy=f"use `redif design` on a workstation beyond {hi}",
        )
    return int(v)


def _looks(params: Mapping[str, Any]) -> tuple[int, ...] | None:
    raw = str(params.get("looks") or "").strip()
    if not raw:
        return None
    try:
        vals = [float(x) for x in raw.split(",") if x.strip()]
    except ValueError:
        raise InputError("not a list of numbers", field="looks", value=raw, remedy="e.g. 10,20,30") from None
    if any(v != int(v) for v in vals):
        raise InputError("looks must be whole numbers", field="looks", value=raw)
    return tuple(int(v) for v in vals)


@functools.lru_cache(maxsize=32)
def _single_arm(
    kind: str,
    p0: float,
    p1: float,
    nmax: int,
    alpha: float,
    power: float,
    a: float | None,
    b: float | None,
    looks: tuple[int, ...] | None,
) -> dict[str, Any]:
    if kind == "predictive":
        res = predictive_design(p0, p1, nmax, alpha=alpha, power=power, a=a, b=b, looks=looks)
        out = res.to_dict()
        table = res.design.table
        title = "Predictive-probability design"
    else:
        d = bop2_design(p0, p1, nmax, looks=looks, alpha=alpha, a=a, b=b)
        out = d.to_dict()
        table = d.table
        title = "BOP2 design"
    out["plot"] = data_uri(
        figure_bytes(monitoring_figure(table, p0=p0, p1=p1, title=title), "svg"), "image/svg+xml"
    )
    return out


@functools.lru_cache(maxsize=16)
def _borrow(
    prior: str | None,
    outcome: str,
    robust_weight: float | None,
    n_c: int,
    n_t: int,
    effect: float,
    delta: float,
    c: float,
) -> dict[str, Any]:
    if prior:
        mix = parse_mixture(prior, field="prior")
        source: dict[str, Any] = {"prior": prior}
    else:
        arms = arms_from_evidence(outcome)
        mp = map_prior(arms.r, arms.n, robust_weight=robust_weight)
        mix = mp.mixture
        source = {"historical": arms.to_dict(), "robust_weight": mp.robust_weight}
    d = borrowing_design(mix, n_c, n_t, effect=effect, delta=delta, c=c)
    out = d.to_dict()
    out["control_prior_source"] = source
    out["plot"] = data_uri(figure_bytes(borrowing_figure(d), "svg"), "image/svg+xml")
    return out


def bayes_design(params: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """Parse the form and run the chosen design: ``(kind, result dict with a data-URI plot)``."""
    kind = str(params.get("kind") or "predictive")
    if kind not in KINDS:
        raise InputError("unknown design", field="kind", value=kind, remedy="predictive, bop2 or borrow")
    if kind == "borrow":
        outcome = str(params.get("outcome") or "response")
        if outcome not in ("uptake", "response"):
            raise InputError("unknown outcome", field="outcome", value=outcome, remedy="uptake or response")
        w = number(params, "robust_weight", required=False)
        prior = str(params.get("prior") or "").strip() or None
        return kind, dict(
            _borrow(
                prior,
                outcome,
                w,
                _int(params, "n_control", None, 1, WEB_NARM),
                _int(params, "n_treatment", None, 1, WEB_NARM),
                float(number(params, "effect") or 0.0),
                float(number(params, "delta", required=False) or 0.0),
                float(number(params, "c", required=False) or 0.975),
            )
        )
    p0 = float(number(params, "p0") or 0.0)
    p1 = float(number(params, "p1") or 0.0)
    nmax = _int(params, "nmax", None, 2, WEB_NMAX if kind == "predictive" else 200)
    alpha = number(params, "alpha", required=False)
    power = number(params, "power", required=False)
    return kind, dict(
        _single_arm(
            kind,
            p0,
            p1,
            nmax,
            float(alpha if alpha is not None else (0.05 if kind == "predictive" else 0.1)),
            float(power if power is not None else 0.8),
            number(params, "prior_a", required=False),
            number(params, "prior_b", required=False),
            _looks(params),
        )
    )


def _ready(params: Mapping[str, Any]) -> bool:
    keys = ("n_control",) if params.get("kind") == "borrow" else ("p0", "p1")
    return any(str(params.get(k) or "").strip() for k in keys)


@router.get("/design/bayes")
@requires(Permission.PUBLIC)
def bayes_page(request: Request) -> Response:
    """Predictive-probability, BOP2 and borrowing designs with plots and summary exports."""
    params = dict(request.query_params)
    ctx: dict[str, Any] = {
        "values": params,
        "error": None,
        "kind": None,
        "res": None,
        "query": request.url.query,
        "disclaimer": DISCLAIMER,
    }
    if _ready(params):
        try:
            ctx["kind"], ctx["res"] = bayes_design(params)
        except InputError as exc:
            ctx["error"] = exc
    partial = is_partial(request.headers, "bayes-result")
    status = 422 if ctx["error"] is not None and not partial else 200
    return render(
        request, "_design_bayes_result.html" if partial else "design_bayes.html", ctx, status_code=status
    )


def _summary(params: Mapping[str, Any], now: datetime) -> tuple[dict[str, Any], str]:
    """The summary and the design's SVG plot (decoded from the page's data URI)."""
    kind, res = bayes_design(params)
    svg = base64.b64decode(str(res["plot"]).split(",", 1)[1]).decode("utf-8")
    res = {k: v for k, v in res.items() if k != "plot"}
    return design_summary(kind, res, generated_at=now), svg


@router.get("/design/bayes/summary.json")
@requires(Permission.PUBLIC)
def summary_json(request: Request) -> Response:
    """The protocol design summary (JSON) of the design in the query string."""
    s, _ = _summary(dict(request.query_params), datetime.now(UTC).replace(microsecond=0))
    return JSONResponse(to_jsonable(s), headers={"Content-Disposition": 'attachment; filename="design.json"'})


@router.get("/design/bayes/summary.pdf")
@requires(Permission.PUBLIC)
def summary_pdf(request: Request) -> Response:
    """The protocol design summary (PDF) of the design in the query string."""
    now = datetime.now(UTC).replace(microsecond=0)
    s, svg = _summary(dict(request.query_params), now)
    pdf = design_summary_pdf(s, generated_at=now, plot_svg=svg)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": 'attachment; filename="design.pdf"'},
    )


@api_router.get("/bayes", summary="Predictive-probability, BOP2 or borrowing design (query as the page)")
@requires(Permission.PUBLIC)
def api_bayes(request: Request) -> dict[str, Any]:
    """The design's JSON (``redif design predictive|bop2|borrow --json`` keys) plus the disclaimer."""
    kind, res = bayes_design(dict(request.query_params))
    res = {k: v for k, v in res.items() if k != "plot"}
    res["kind"] = kind
    res["disclaimer"] = DISCLAIMER
    return to_jsonable(res)  # type: ignore[no-any-return]
