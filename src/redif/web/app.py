"""The FastAPI application factory.

``create_app(settings)`` opens the registry database, mounts the static files, installs the security
middleware and the app-wide permission dependency (:func:`redif.web.security.enforce`), includes every
router listed in :data:`redif.web.routes.ROUTERS`, and maps errors to answers:

========================  ==========================  ===================================
error                     API (``/api/...``)           HTML pages
========================  ==========================  ===================================
InputError / validation   422 + ``InputError.to_dict``  422 error page
NotFound (incl. scope)    404 JSON                     404 page
AccessDenied / no perm    403 JSON                     403 page
not signed in             401 JSON                     303 redirect to ``/login?next=...``
CSRF failure              403 JSON                     403 page
stale If-Match            412 JSON                     412 page
========================  ==========================  ===================================
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from redif import __version__
from redif.errors import AccessDenied, Conflict, InputError, NotFound
from redif.registry.db import Database, migrate, open_database
from redif.web.conditional import PreconditionFailed
from redif.web.deps import render
from redif.web.routes import ROUTERS
from redif.web.security import (
    BodyLimitMiddleware,
    CsrfFailed,
    NotAuthenticated,
    PermissionMissing,
    SecurityHeadersMiddleware,
    enforce,
)
from redif.web.settings import WebSettings

__all__ = ["create_app"]

_HERE = Path(__file__).parent
log = logging.getLogger("redif.web")


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _error_body(
    kind: str, message: str, *, field: str | None = None, remedy: str | None = None
) -> dict[str, Any]:
    return {
        "error": kind,
        "message": message,
        "field": field,
        "value": None,
        "remedy": remedy,
        "detail": message,
    }


def _page(request: Request, status: int, title: str, message: str) -> Response:
    return render(request, "error.html", {"title": title, "message": message}, status_code=status)


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(InputError)
    async def _input(request: Request, exc: InputError) -> Response:
        if _is_api(request):
            return JSONResponse(exc.to_dict(), status_code=422)
        return _page(request, 422, "Invalid input", str(exc))

    @app.exception_handler(Conflict)
    async def _conflict(request: Request, exc: Conflict) -> Response:
        if _is_api(request):
            return JSONResponse(exc.to_dict(), status_code=409)
        return _page(request, 409, "Conflict", str(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errs = exc.errors()
        first = errs[0] if errs else {}
        loc = ".".join(str(p) for p in first.get("loc", ()))
        bad = first.get("input")
        err = InputError(
            str(first.get("msg", "invalid request")),
            field=loc or None,
            value=None if isinstance(bad, (dict, list)) else bad,
            remedy="see /openapi.json for the expected shape",
        )
        if _is_api(request):
            return JSONResponse(err.to_dict(), status_code=422)
        return _page(request, 422, "Invalid input", str(err))

    @app.exception_handler(NotFound)
    async def _notfound(request: Request, exc: NotFound) -> Response:
        if _is_api(request):
            return JSONResponse(_error_body("NotFound", str(exc)), status_code=404)
        return _page(request, 404, "Not found", str(exc))

    @app.exception_handler(AccessDenied)
    async def _denied(request: Request, exc: AccessDenied) -> Response:
        if _is_api(request):
            return JSONResponse(_error_body("AccessDenied", str(exc)), status_code=403)
        return _page(request, 403, "Not allowed", str(exc))

    @app.exception_handler(PermissionMissing)
    async def _perm(request: Request, exc: PermissionMissing) -> Response:
        if _is_api(request):
            return JSONResponse(_error_body("AccessDenied", str(exc)), status_code=403)
        return _page(request, 403, "Not allowed", str(exc))

    @app.exception_handler(PreconditionFailed)
    async def _precondition(request: Request, exc: PreconditionFailed) -> Response:
        body = _error_body("PreconditionFailed", str(exc), field=exc.header, remedy="GET the resource again")
        if _is_api(request):
            return JSONResponse(body, status_code=412)
        return _page(request, 412, "Changed meanwhile", str(exc))

    @app.exception_handler(CsrfFailed)
    async def _csrf(request: Request, exc: CsrfFailed) -> Response:
        if _is_api(request):
            return JSONResponse(
                _error_body(
                    "CsrfFailed",
                    str(exc),
                    field="X-CSRF-Token",
                    remedy="send the session's CSRF token or use a bearer token",
                ),
                status_code=403,
            )
        return _page(request, 403, "Form expired", str(exc))

    @app.exception_handler(NotAuthenticated)
    async def _unauth(request: Request, exc: NotAuthenticated) -> Response:
        if _is_api(request):
            return JSONResponse(
                _error_body(
                    "NotAuthenticated",
                    "sign-in required",
                    remedy="send 'Authorization: Bearer <token>' (redif admin create-token) or a "
                    "session cookie",
                ),
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        target = request.url.path
        if request.url.query:
            target += "?" + request.url.query
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if _is_api(request) or request.url.path in ("/healthz", "/openapi.json"):
            return JSONResponse(
                _error_body("HTTPError", str(exc.detail)),
                status_code=exc.status_code,
                headers=getattr(exc, "headers", None),
            )
        return _page(request, exc.status_code, "Error", str(exc.detail))

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> Response:
        log.exception("internal error on %s %s", request.method, request.url.path)
        return JSONResponse(
            _error_body("InternalError", "internal error (this is a bug in redif)"), status_code=500
        )


def create_app(settings: WebSettings, *, db: Database | None = None, migrate_db: bool = True) -> FastAPI:
    """Build the web application for ``settings`` (creating and migrating the database if needed)."""
    if db is None:
        db = open_database(settings.database_url, data_dir=settings.data_dir)
    if db.keyring is not None:
        db.keyring.master_key()  # refuse to start with an unsafe audit key file, not at the first write
    if migrate_db:
        migrate(db)
    opened = db

    @asynccontextmanager
    async def _lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        opened.flush_audit()  # a normal shutdown loses no deferred audit events (reads)

    app = FastAPI(
        lifespan=_lifespan,
        title="redif",
        version=__version__,
        summary="Radioiodine redifferentiation workbench: registry, engines and reports (decision support "
        "for a qualified clinician).",
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(enforce)],
    )
    app.state.settings = settings
    app.state.db = db
    app.state.templates = Jinja2Templates(directory=str(_HERE / "templates"))
    app.mount("/static", StaticFiles(directory=str(_HERE / "static")), name="static")
    for router in ROUTERS:
        app.include_router(router)
    _install_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_upload_bytes)
    # outermost: also on 413 answers; HSTS whenever the app is served over HTTPS (secure cookies)
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.secure_cookies)
    return app
