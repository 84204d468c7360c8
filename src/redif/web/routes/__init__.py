"""Routers of the web app. To add pages, write a module here with an ``APIRouter`` named ``router``,
declare each route's permission with :func:`redif.web.security.requires`, and add the router to
:data:`ROUTERS` (see ``docs/web.md``)."""

from __future__ import annotations

from fastapi import APIRouter

from redif.web.routes import api, auth, patients, system

__all__ = ["ROUTERS"]

#: Every router the app includes, in order.
ROUTERS: list[APIRouter] = [system.router, auth.router, patients.router, api.router]
from redif.web.routes import engine_pages  # noqa: E402  (engine pages and API: web branch)

ROUTERS += engine_pages.ROUTERS
from redif.web.routes import cohort  # noqa: E402  (cohort swimmer and waterfall plots, issue 16)

ROUTERS.append(cohort.router)
