"""Cohort page: swimmer and waterfall plots of the patients the user may see (issue 16).

Site-scoped like every registry read: the rows are the analysis-dataset rows
(:func:`redif.registry.analysis_export.derive_rows`) of the patients in the user's scope
(:func:`redif.registry.bulk_read.read_patients`); the figure data come from :mod:`redif.response.cohort`
and are drawn by :mod:`redif.response.timeline_plot`, as ``redif plot swimmer|waterfall`` does with the
exported CSV.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from markupsafe import Markup

from redif.errors import InputError, NotFound
from redif.registry.access import Permission
from redif.registry.analysis_export import derive_rows
from redif.registry.bulk_read import read_patients
from redif.response.cohort import COLOUR_BY, CohortFigure, swimmer_data, waterfall_data
from redif.response.timeline_plot import figure_png, figure_svg, inline_svg, swimmer_figure, waterfall_figure
from redif.web.deps import db_read, render
from redif.web.nav import add_nav_item
from redif.web.security import current_principal, requires

router = APIRouter(include_in_schema=False)

add_nav_item("Cohort", "/cohort", Permission.PATIENT_READ)

Filter = Annotated[str | None, Query(max_length=64)]


def _rows(request: Request) -> list[dict[str, Any]]:
    p = current_principal(request)
    with db_read(request) as s:
        rows, _ = derive_rows(read_patients(s, p))
    return [dict(r.values) for r in rows]


def _build(rows: list[dict[str, Any]], kind: str, colour_by: str | None, genotype: str | None,
           site: str | None) -> CohortFigure:
    colour = colour_by or "genotype"
    if colour not in COLOUR_BY:
        raise InputError("unknown colour column", field="colour_by", value=colour,
                         remedy=f"use one of {', '.join(COLOUR_BY)}")
    fn = swimmer_data if kind == "swimmer" else waterfall_data
    return fn(rows, colour_by=colour, genotypes=[genotype] if genotype else [], sites=[site] if site else [])


@router.get("/cohort")
@requires(Permission.PATIENT_READ)
def cohort_page(request: Request, colour_by: Filter = None, genotype: Filter = None,
                site: Filter = None) -> Response:
    """Swimmer and waterfall plots of the patients in the user's scope, colourable and filterable."""
    rows = _rows(request)
    figures = {}
    for kind, draw in (("swimmer", swimmer_figure), ("waterfall", waterfall_figure)):
        data = _build(rows, kind, colour_by, genotype, site)
        svg = Markup(inline_svg(draw(data), prefix=f"{kind}-")) if data.lanes else None
        figures[kind] = {"data": data.to_dict(), "svg": svg}
    query = urlencode([(k, v) for k, v in (("colour_by", colour_by), ("genotype", genotype),
                                           ("site", site)) if v])
    return render(request, "cohort.html", {
        "figures": figures, "n_rows": len(rows), "colour_by": colour_by or "genotype",
        "colour_choices": COLOUR_BY, "genotype": genotype or "", "site": site or "",
        "genotypes": sorted({str(r["genotype"]) for r in rows}),
        "sites": sorted({str(r["site"]) for r in rows}),
        "query": query,
    })


@router.get("/cohort/{kind}.{fmt}")
@requires(Permission.PATIENT_READ)
def cohort_download(request: Request, kind: str, fmt: str, colour_by: Filter = None, genotype: Filter = None,
                    site: Filter = None) -> Response:
    """The swimmer or waterfall plot as an SVG or PNG file (same filters as the page)."""
    if kind not in ("swimmer", "waterfall") or fmt not in ("svg", "png"):
        raise NotFound(f"figure {kind}.{fmt} not found")
    data = _build(_rows(request), kind, colour_by, genotype, site)
    if not data.lanes:
        raise NotFound("no patient to draw with these filters")
    fig = (swimmer_figure if kind == "swimmer" else waterfall_figure)(data)
    body = figure_svg(fig) if fmt == "svg" else figure_png(fig)
    return Response(body, media_type="image/svg+xml" if fmt == "svg" else "image/png",
                    headers={"Content-Disposition": f'attachment; filename="redif-{kind}.{fmt}"'})
