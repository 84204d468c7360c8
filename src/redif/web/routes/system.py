"""Health check, OpenAPI schema and the home page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse

from redif.registry.access import Permission
from redif.web.security import requires

router = APIRouter()


@router.get("/healthz", tags=["system"], summary="Liveness check")
@requires(Permission.PUBLIC)
def healthz() -> dict[str, str]:
    """Answers ``{"status": "ok"}`` while the server runs."""
    return {"status": "ok"}


@router.get("/openapi.json", include_in_schema=False)
@requires(Permission.PUBLIC)
def openapi(request: Request) -> JSONResponse:
    """The OpenAPI 3 schema of the REST API."""
    schema: dict[str, Any] = request.app.openapi()
    return JSONResponse(schema)


@router.get("/", include_in_schema=False)
@requires(Permission.PUBLIC)
def home(request: Request) -> RedirectResponse:
    """Signed-in users go to the patient list, others to the sign-in page."""
    target = "/patients" if getattr(request.state, "principal", None) else "/login"
    return RedirectResponse(target, status_code=303)
