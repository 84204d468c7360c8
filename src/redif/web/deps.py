"""Per-request helpers for routes: database sessions bound to the caller, and template rendering."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from redif import DISCLAIMER, __version__
from redif.registry.access import Permission, Principal
from redif.web.nav import visible_nav

__all__ = ["db_read", "db_write", "render"]


def _actor(principal: Principal | None) -> str:
    return principal.username if principal else "anonymous"


@contextmanager
def db_read(request: Request) -> Iterator[Session]:
    """A read session for this request."""
    with request.app.state.db.session(actor=_actor(getattr(request.state, "principal", None))) as s:
        yield s


@contextmanager
def db_write(request: Request) -> Iterator[Session]:
    """A write session for this request: commits at the end of the block (with its audit events) or
    rolls everything back on an exception."""
    with request.app.state.db.write_session(actor=_actor(getattr(request.state, "principal", None))) as s:
        yield s


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    """Render a Jinja2 template with the common context (user, CSRF token, navigation, disclaimer)."""
    principal = getattr(request.state, "principal", None)
    ctx: dict[str, Any] = {
        "request": request,
        "principal": principal,
        "csrf_token": getattr(request.state, "csrf", None) or request.cookies.get("redif_csrf", ""),
        "nav": visible_nav(principal),
        "disclaimer": DISCLAIMER,
        "version": __version__,
        "demo": request.app.state.settings.demo,
        "perm": Permission,
    }
    ctx.update(context or {})
    resp: HTMLResponse = request.app.state.templates.TemplateResponse(
        request, template, ctx, status_code=status_code
    )
    return resp
