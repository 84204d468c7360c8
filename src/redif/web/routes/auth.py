"""Sign-in and sign-out pages."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from redif.registry import audit
from redif.registry import auth as reg_auth
from redif.registry.access import Permission
from redif.web.deps import db_write, render
from redif.web.security import CSRF_COOKIE, SESSION_COOKIE, requires

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/patients"


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _login_page(
    request: Request,
    *,
    error: str | None = None,
    status: int = 200,
    next_url: str = "/patients",
    username: str = "",
) -> Response:
    token = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
    request.state.csrf = token
    resp = render(
        request, "login.html", {"error": error, "next": next_url, "username": username}, status_code=status
    )
    resp.set_cookie(
        CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.app.state.settings.secure_cookies,
        path="/",
    )
    return resp


@router.get("/login")
@requires(Permission.PUBLIC)
def login_form(request: Request, next: str | None = None) -> Response:
    """The sign-in form."""
    return _login_page(request, next_url=_safe_next(next))


@router.post("/login")
@requires(Permission.PUBLIC)
def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form(max_length=2000)] = "/patients",
) -> Response:
    """Check the credentials (throttled per user and address), start a session, redirect.

    The password is verified before the write transaction opens (:func:`reg_auth.check_login`), so a
    flood of sign-ins never holds the database's write lock while argon2 runs; the outcome, the failure
    counter and the audit event (``login`` or ``login_failed``) are then written in one transaction.
    """
    settings = request.app.state.settings
    ip = _client_ip(request)
    check = reg_auth.check_login(request.app.state.db, username, password, ip, settings.auth)
    token = csrf = None
    with db_write(request) as s:
        outcome = reg_auth.record_login(s, check, settings.auth)
        principal = outcome.principal
        if principal is not None:
            s.info["actor"] = principal.username
            token, csrf = reg_auth.start_session(s, principal, ip, settings.auth)
            audit.record(
                s,
                action="login",
                entity="users",
                entity_id=principal.user_id,
                site_id=principal.site_id,
                details={"ip": ip},
            )
    if outcome.reason is reg_auth.LoginFailureReason.LOCKED:
        exc = reg_auth.LoginThrottled(outcome.retry_after_s)
        return _login_page(request, error=str(exc), status=429, next_url=_safe_next(next), username=username)
    if principal is None or token is None:
        return _login_page(
            request,
            error="Wrong username or password.",
            status=401,
            next_url=_safe_next(next),
            username=username,
        )
    resp = RedirectResponse(_safe_next(next), status_code=303)
    resp.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/",
        max_age=settings.auth.session_absolute_s,
    )
    resp.delete_cookie(CSRF_COOKIE, path="/")
    _ = csrf
    return resp


@router.post("/logout")
@requires(Permission.AUTHENTICATED)
def logout(request: Request) -> Response:
    """End the session."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        with db_write(request) as s:
            reg_auth.end_session(s, token)
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp
