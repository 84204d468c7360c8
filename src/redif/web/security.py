"""Route permissions, authentication, CSRF and security headers of the web app.

Every route declares what it needs with :func:`requires`::

    @router.get("/patients/{patient_id}")
    @requires(Permission.PATIENT_READ)
    def patient_page(request: Request, patient_id: int) -> Response: ...

The app-wide dependency :func:`enforce` runs before every route: it reads the declared permission from
the matched endpoint (a route without one is refused: deny by default), identifies the caller (session
cookie or ``Authorization: Bearer`` token), checks the role's permission and, for every state-changing
request, the CSRF token. The caller is then ``request.state.principal`` (``None`` on public routes for
anonymous visitors); :func:`current_principal` returns it for routes that need a signed-in user.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from redif.registry import audit, auth
from redif.registry.access import Permission, Principal, get_patient

__all__ = [
    "CSRF_COOKIE",
    "HSTS_VALUE",
    "PUBLIC_MOUNTS",
    "SESSION_COOKIE",
    "BodyLimitMiddleware",
    "NotAuthenticated",
    "SecurityHeadersMiddleware",
    "current_principal",
    "enforce",
    "iter_routes",
    "requires",
    "route_permissions",
]

SESSION_COOKIE = "redif_session"
CSRF_COOKIE = "redif_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
#: Mounted sub-applications that serve only public static files.
PUBLIC_MOUNTS = frozenset({"/static"})
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_ATTR = "__redif_permission__"
_TOUCH_AFTER_S = 300.0

F = TypeVar("F", bound=Callable[..., Any])


def requires(permission: Permission) -> Callable[[F], F]:
    """Declare the permission a route needs (put it *under* the ``@router.get(...)`` line)."""

    def deco(fn: F) -> F:
        setattr(fn, _ATTR, permission)
        return fn

    return deco


def permission_of(endpoint: Any) -> Permission | None:
    """The permission declared on an endpoint function, or ``None``."""
    perm = getattr(endpoint, _ATTR, None)
    return perm if isinstance(perm, Permission) else None


@dataclass(frozen=True)
class RouteInfo:
    """A route as the permission registry sees it."""

    methods: frozenset[str]
    path: str
    endpoint: Any
    is_mount: bool = False


def iter_routes(app: FastAPI) -> list[RouteInfo]:
    """Every route of the app, flattened (included routers expanded, on any FastAPI version)."""
    out: list[RouteInfo] = []

    def visit(route: Any) -> None:
        if isinstance(route, Mount):
            out.append(RouteInfo(frozenset({"*"}), route.path, None, is_mount=True))
        elif hasattr(route, "effective_route_contexts"):  # lazily included routers (newer FastAPI)
            for ctx in route.effective_route_contexts():
                visit(ctx)
        else:
            out.append(
                RouteInfo(
                    frozenset(getattr(route, "methods", None) or {"*"}),
                    str(getattr(route, "path", "?")),
                    getattr(route, "endpoint", None),
                )
            )

    for r in app.routes:
        visit(r)
    return out


def route_permissions(app: FastAPI) -> list[tuple[str, str, Permission | None]]:
    """Every route as ``(methods, path, permission)``; public static mounts count as ``PUBLIC``."""
    out: list[tuple[str, str, Permission | None]] = []
    for r in iter_routes(app):
        if r.is_mount:
            out.append(("*", r.path, Permission.PUBLIC if r.path in PUBLIC_MOUNTS else None))
        else:
            out.append((",".join(sorted(r.methods)), r.path, permission_of(r.endpoint)))
    return out


class NotAuthenticated(Exception):
    """The route needs a signed-in user and there is none (answered 401 / redirect to sign-in)."""


class PermissionMissing(Exception):
    """The signed-in user lacks the route's permission (answered 403)."""

    def __init__(self, permission: Permission | None) -> None:
        self.permission = permission
        super().__init__(f"permission {permission.value if permission else 'undeclared'!r} required")


class CsrfFailed(Exception):
    """A state-changing request without a valid CSRF token (answered 403)."""


@dataclass(frozen=True)
class Caller:
    """Who is calling, and how."""

    principal: Principal | None
    via: str  # "session" | "token" | "anonymous"
    csrf: str | None
    session_token: str | None


def _resolve(request: Request) -> Caller:
    db = request.app.state.db
    settings = request.app.state.settings
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        with db.session() as s:
            p = auth.principal_for_token(s, header[7:].strip())
            if p is None:  # a failed sign-in by token: audited (deferred from this read session)
                audit.record_login_failed(
                    s, username="(bearer token)", ip=request.client.host if request.client else None,
                    via="token", reason="unknown, expired or revoked token")
        return Caller(p, "token" if p else "anonymous", None, None)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        with db.session() as s:
            found = auth.principal_for_session(s, token, settings.auth)
        if found is not None:
            if found[2] > _TOUCH_AFTER_S:  # keep the idle timeout sliding without a write per request
                with db.write_session(actor=found[0].username) as ws:
                    auth.touch_session(ws, token)
            return Caller(found[0], "session", found[1], token)
    return Caller(None, "anonymous", None, None)


def _check_record_scope(request: Request, principal: Principal) -> None:
    raw = request.path_params.get("patient_id")
    if raw is None:
        return
    try:
        pid = int(raw)
    except (TypeError, ValueError):
        return
    if not 1 <= pid <= 2_147_483_647:
        return
    with request.app.state.db.session() as s:
        get_patient(s, principal, pid, audit_read=False)  # a scope check: no data is shown


async def _csrf_supplied(request: Request) -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    ctype = request.headers.get("content-type", "")
    if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        try:
            form = await request.form()
        except Exception:
            return None
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


async def enforce(request: Request) -> None:
    """App-wide dependency: permission, authentication and CSRF (see the module docstring)."""
    endpoint = request.scope.get("endpoint")
    permission = permission_of(endpoint)
    if permission is None:
        raise PermissionMissing(None)
    caller = await run_in_threadpool(_resolve, request)
    request.state.principal = caller.principal
    request.state.csrf = caller.csrf
    request.state.via = caller.via
    if permission is not Permission.PUBLIC:
        if caller.principal is None:
            raise NotAuthenticated()
        if not caller.principal.can(permission):
            # a record outside the caller's scope is "not found" even when the action is forbidden
            await run_in_threadpool(_check_record_scope, request, caller.principal)
            raise PermissionMissing(permission)
    if request.method not in _SAFE_METHODS and caller.via != "token":
        expected = caller.csrf if caller.via == "session" else request.cookies.get(CSRF_COOKIE)
        supplied = await _csrf_supplied(request)
        if not expected or not supplied or not secrets.compare_digest(expected, supplied):
            raise CsrfFailed("missing or invalid CSRF token; reload the page and try again")


def current_principal(request: Request) -> Principal:
    """The signed-in principal (for routes whose permission is not ``PUBLIC``)."""
    p = getattr(request.state, "principal", None)
    if p is None:
        raise NotAuthenticated()
    return p  # type: ignore[no-any-return]


def optional_principal(request: Request) -> Principal | None:
    """The signed-in principal or ``None`` (public routes)."""
    return getattr(request.state, "principal", None)


#: HSTS answer when the app is served over HTTPS (``--secure-cookies``): one year, the value the OWASP
#: HTTP Security Response Headers cheat sheet recommends; without ``includeSubDomains`` so that other
#: hosts of a hospital's domain are not forced onto HTTPS by redif.
HSTS_VALUE = "max-age=31536000"


class SecurityHeadersMiddleware:
    """Adds CSP, framing, sniffing, referrer and caching headers to every HTTP response, HSTS when
    ``hsts`` is set (the app is served over HTTPS), and removes any ``Server`` banner."""

    CSP = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    )

    def __init__(self, app: ASGIApp, hsts: bool = False) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_static = str(scope.get("path", "")).startswith("/static/")

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"server"]
                names = {k.lower() for k, _ in headers}
                extra = {
                    b"content-security-policy": self.CSP.encode(),
                    b"x-content-type-options": b"nosniff",
                    b"x-frame-options": b"DENY",
                    b"referrer-policy": b"same-origin",
                    b"cross-origin-opener-policy": b"same-origin",
                    b"permissions-policy": b"camera=(), microphone=(), geolocation=()",
                }
                if not is_static:
                    extra[b"cache-control"] = b"no-store"
                if self.hsts:
                    extra[b"strict-transport-security"] = HSTS_VALUE.encode()
                for k, v in extra.items():
                    if k not in names:
                        headers.append((k, v))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_wrapper)


class BodyTooLarge(Exception):
    """Request body over the configured limit."""


class BodyLimitMiddleware:
    """Refuses request bodies larger than ``max_bytes`` (413), by Content-Length and while streaming."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for k, v in scope.get("headers", []):
            if k == b"content-length":
                try:
                    n = int(v)
                except ValueError:
                    n = 0
                if n > self.max_bytes:
                    await _send_413(send, self.max_bytes)
                    return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _send_413(send, self.max_bytes)


async def _send_413(send: Send, limit: int) -> None:
    body = json.dumps(
        {
            "error": "InputError",
            "message": f"request body larger than the limit of {limit} bytes",
            "field": "body",
            "value": None,
            "remedy": "upload a smaller file (split the series or compress it) or ask an admin to raise "
            "the limit",
            "detail": f"body: request body larger than the limit of {limit} bytes",
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


_ = Awaitable
