"""Conditional requests (RFC 9110 section 13): entity tags and ``Last-Modified`` on reads, and the
``If-Match`` / ``If-Unmodified-Since`` preconditions that stop a stale update from overwriting a newer
one (412 Precondition Failed).

The entity tag is strong: the SHA-256 of the representation's canonical JSON (sorted keys), so any
change a client could see changes the tag, whichever field or record it touched. ``Last-Modified`` is
the row's ``updated_at`` (UTC, whole seconds, as HTTP dates allow). A request without preconditions is
not refused (no 428).

References
----------
RFC 9110, HTTP Semantics: sections 8.8.1 (Last-Modified), 8.8.3 (ETag), 13.1.1 (If-Match),
13.1.4 (If-Unmodified-Since), 13.2.2 (order of evaluation), 15.5.13 (412 Precondition Failed).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder

__all__ = ["PreconditionFailed", "check_preconditions", "entity_tag", "http_date", "validator_headers"]


class PreconditionFailed(Exception):
    """A precondition of the request does not hold (answered 412)."""

    def __init__(self, header: str) -> None:
        self.header = header
        super().__init__(
            f"the resource changed since the version named in {header}; read it again (GET) and retry "
            "with its current ETag"
        )


def entity_tag(representation: Any) -> str:
    """Strong entity tag of a JSON-able representation (quoted, as sent in ``ETag``)."""
    canonical = json.dumps(jsonable_encoder(representation), sort_keys=True, separators=(",", ":"))
    return '"' + hashlib.sha256(canonical.encode()).hexdigest()[:40] + '"'


def _as_utc(moment: datetime) -> datetime:
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).replace(microsecond=0)


def http_date(moment: datetime) -> str:
    """``moment`` (naive values are UTC) as an HTTP date (RFC 9110 section 5.6.7)."""
    return format_datetime(_as_utc(moment), usegmt=True)


def validator_headers(representation: Any, updated_at: datetime | None) -> dict[str, str]:
    """``ETag`` and (when known) ``Last-Modified`` of a representation."""
    out = {"ETag": entity_tag(representation)}
    if updated_at is not None:
        out["Last-Modified"] = http_date(updated_at)
    return out


def _if_match_holds(header: str, current: str) -> bool:
    if header.strip() == "*":
        return True
    for raw in header.split(","):
        tag = raw.strip()
        if tag and not tag.startswith("W/") and tag == current:  # strong comparison
            return True
    return False


def check_preconditions(request: Request, current_tag: str, updated_at: datetime | None) -> None:
    """Evaluate ``If-Match``, else ``If-Unmodified-Since``, against the current state (RFC 9110 13.2.2).

    Raises
    ------
    PreconditionFailed
        When the client's version is not the current one.
    """
    if_match = request.headers.get("if-match")
    if if_match is not None:
        if not _if_match_holds(if_match, current_tag):
            raise PreconditionFailed("If-Match")
        return
    since = request.headers.get("if-unmodified-since")
    if since is None or updated_at is None:
        return
    try:
        limit = parsedate_to_datetime(since)
    except (TypeError, ValueError, IndexError):
        return  # an invalid date is ignored (RFC 9110 13.1.4)
    if limit is None:
        return
    if _as_utc(updated_at) > _as_utc(limit):
        raise PreconditionFailed("If-Unmodified-Since")
