"""Group-sequential trial designer (public): boundaries (z and effect scale), characteristics and,
optionally, the survival or two-proportion sample size on top, with a protocol design summary as JSON
and PDF. Thin: parse -> :mod:`redif.design` engines -> render (:mod:`redif.reports.design_summary` for
the exports, :mod:`redif.design.gs_plots` for the plot)."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from redif import DISCLAIMER
from redif.cli._common import to_jsonable
from redif.design.effect_scale import effect_boundaries_for
from redif.design.group_sequential import DESIGN_TYPES, group_sequential_design
from redif.design.gs_plots import boundary_figure
from redif.design.sample_size_gs import sample_size_rates, sample_size_survival
from redif.errors import InputError
from redif.io.figures import figure_bytes
from redif.registry.access import Permission
from redif.reports.design_summary import GS_KIND, design_summary, design_summary_pdf, group_sequential_result
from redif.web.deps import render
from redif.web.engines import is_partial
from redif.web.figures import data_uri
from redif.web.routes.calculators import number
from redif.web.security import requires

__all__ = ["api_router", "router", "sequential_design"]

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/v1/design", tags=["trial design"])

#: Most looks on the web page (the CLI allows 20).
WEB_KMAX = 10
ENDPOINTS = ("none", "survival", "rates")
BETA_SPENDING = ("none", "bsOF", "bsP", "bsKD", "bsHSD")


def _choice(params: Mapping[str, Any], name: str, options: tuple[str, ...], default: str) -> str:
    v = str(params.get(name) or default).strip()
    if v not in options:
        raise InputError("unknown option", field=name, value=v, remedy="one of " + ", ".join(options))
    return v


def _floats(params: Mapping[str, Any], name: str) -> tuple[float, ...] | None:
    raw = str(params.get(name) or "").strip()
    if not raw:
        return None
    out = []
    for part in raw.split(","):
        try:
            out.append(float(part))
        except ValueError:
            raise InputError(
                "not a list of numbers", field=name, value=raw, remedy="e.g. 0.3,0.6,1"
            ) from None
    return tuple(out)


def _k(params: Mapping[str, Any]) -> int:
    v = number(params, "k")
    if v is None or v != int(v) or not 2 <= v <= WEB_KMAX:
        raise InputError(
            f"a whole number of looks from 2 to {WEB_KMAX}",
            field="k",
            value=params.get("k"),
            remedy="use `redif design group-sequential` for up to 20 looks",
        )
    return int(v)


def _binding(params: Mapping[str, Any]) -> bool:
    return str(params.get("binding") or "").strip().lower() in ("1", "true", "on", "yes")


@functools.lru_cache(maxsize=32)
def _compute(key: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    params = dict(key)
    sided_v = number(params, "sided", required=False)
    sided = 1 if sided_v is None else int(sided_v)
    if sided_v is not None and sided_v not in (1, 2):
        raise InputError("must be 1 or 2", field="sided", value=params.get("sided"))
    alpha = number(params, "alpha", required=False)
    beta = number(params, "beta", required=False)
    d = group_sequential_design(
        _k(params),
        float(alpha if alpha is not None else 0.025 * sided),
        float(beta if beta is not None else 0.2),
        sided,
        _choice(params, "type_of_design", DESIGN_TYPES, "asOF"),
        info_rates=_floats(params, "info_rates"),
        delta_wt=number(params, "delta_wt", required=False),
        gamma_a=number(params, "gamma_a", required=False),
        beta_spending=_choice(params, "beta_spending", BETA_SPENDING, "none"),
        gamma_b=number(params, "gamma_b", required=False),
        binding=_binding(params),
    )
    endpoint = _choice(params, "endpoint", ENDPOINTS, "none")
    ratio = number(params, "ratio", required=False)
    size: Any = None
    if endpoint == "survival":
        dropout = number(params, "dropout_rate", required=False)
        dropout_months = number(params, "dropout_months", required=False)
        size = sample_size_survival(
            float(number(params, "hr") or 0.0),
            accrual_months=_floats(params, "accrual_months") or _missing("accrual_months", "e.g. 24"),
            followup_months=float(number(params, "followup_months") or 0.0),
            median_control_months=number(params, "median_control_months"),
            dropout_rate=0.0 if dropout is None else dropout,
            dropout_months=12.0 if dropout_months is None else dropout_months,
            design=d,
            ratio=1.0 if ratio is None else ratio,
        )
    elif endpoint == "rates":
        size = sample_size_rates(
            float(number(params, "p1") or 0.0),
            float(number(params, "p2") or 0.0),
            design=d,
            ratio=1.0 if ratio is None else ratio,
        )
    res = group_sequential_result(d, size)
    eff = None if size is None else effect_boundaries_for(d, size)
    svg = figure_bytes(boundary_figure(d, eff), "svg")
    res["plot_svg"] = svg.decode("utf-8")
    res["plot"] = data_uri(svg, "image/svg+xml")
    return res


def _missing(field: str, example: str) -> tuple[float, ...]:
    raise InputError("required", field=field, remedy=f"enter a number, {example}")


def sequential_design(params: Mapping[str, Any]) -> dict[str, Any]:
    """Parse the form and compute: :func:`redif.reports.design_summary.group_sequential_result` plus the
    plot (``plot`` data URI, ``plot_svg``)."""
    key = tuple(sorted((str(k), str(v)) for k, v in params.items()))
    return dict(_compute(key))


@router.get("/design/sequential")
@requires(Permission.PUBLIC)
def sequential_page(request: Request) -> Response:
    """Group-sequential boundaries, characteristics, sample size and summary exports."""
    params = dict(request.query_params)
    ctx: dict[str, Any] = {
        "values": params,
        "error": None,
        "res": None,
        "query": request.url.query,
        "disclaimer": DISCLAIMER,
    }
    if str(params.get("k") or "").strip():
        try:
            ctx["res"] = sequential_design(params)
        except InputError as exc:
            ctx["error"] = exc
    partial = is_partial(request.headers, "gs-result")
    status = 422 if ctx["error"] is not None and not partial else 200
    return render(
        request,
        "_design_sequential_result.html" if partial else "design_sequential.html",
        ctx,
        status_code=status,
    )


def _summary(params: Mapping[str, Any], now: datetime) -> tuple[dict[str, Any], str]:
    res = sequential_design(params)
    svg = str(res.pop("plot_svg"))
    res.pop("plot")
    return design_summary(GS_KIND, res, generated_at=now), svg


@router.get("/design/sequential/summary.json")
@requires(Permission.PUBLIC)
def summary_json(request: Request) -> Response:
    """The protocol design summary (JSON) of the design in the query string."""
    s, _ = _summary(dict(request.query_params), datetime.now(UTC).replace(microsecond=0))
    return JSONResponse(
        to_jsonable(s), headers={"Content-Disposition": 'attachment; filename="sequential-design.json"'}
    )


@router.get("/design/sequential/summary.pdf")
@requires(Permission.PUBLIC)
def summary_pdf(request: Request) -> Response:
    """The protocol design summary (PDF) of the design in the query string."""
    now = datetime.now(UTC).replace(microsecond=0)
    s, svg = _summary(dict(request.query_params), now)
    return Response(
        design_summary_pdf(s, generated_at=now, plot_svg=svg),
        media_type="application/pdf",
        headers={"Content-Disposition": 'attachment; filename="sequential-design.pdf"'},
    )


@api_router.get(
    "/sequential", summary="Group-sequential design, sample size, effect-scale bounds (as the page)"
)
@requires(Permission.PUBLIC)
def api_sequential(request: Request) -> dict[str, Any]:
    """``endpoint``, ``design`` (``redif design group-sequential --json`` keys), ``sample_size``
    (``redif design survival|rates --json`` keys or null), ``effect_scale``, ``references``, disclaimer."""
    res = sequential_design(dict(request.query_params))
    res.pop("plot")
    res.pop("plot_svg")
    res["disclaimer"] = DISCLAIMER
    return to_jsonable(res)  # type: ignore[no-any-return]
