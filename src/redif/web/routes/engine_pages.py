"""The engine pages and API endpoints (evidence, calculators, trial design, patient pathway, dosimetry,
response), collected for :data:`redif.web.routes.ROUTERS`."""

from __future__ import annotations

from fastapi import APIRouter

from redif.web.routes import (
    analysis,
    calculators,
    design,
    design_bayes,
    design_sequential,
    dosimetry,
    evidence,
    pathway,
    response,
)

__all__ = ["ROUTERS"]

ROUTERS: list[APIRouter] = [
    evidence.router, evidence.api_router,
    calculators.router, calculators.api_router,
    design.router, design.api_router,
    design_bayes.router, design_bayes.api_router,
    design_sequential.router, design_sequential.api_router,
    pathway.router, pathway.api_router,
    dosimetry.router, dosimetry.api_router,
    response.router,
    analysis.router, analysis.api_router,
]
