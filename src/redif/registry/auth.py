"""Passwords (argon2id), sign-in throttling, server-side sessions and API tokens.

- Passwords are hashed with argon2id (argon2-cffi's :class:`PasswordHasher`, RFC 9106 defaults);
  hashes are re-computed on sign-in when the parameters change.
- Sign-in throttling counts failures per (username, client address): after
  :attr:`AuthSettings.max_failures` failures within :attr:`AuthSettings.window_s` seconds the pair is
  locked for :attr:`AuthSettings.lockout_s` seconds, and the message says so and for how long.
- Sessions: the browser cookie holds 32 random bytes (URL-safe base64); the database holds only the
  token's SHA-256, the CSRF token, and the idle/absolute expiry.
- API tokens (``redif admin create-token``): ``rdf_`` + 32 random bytes, sent as
  ``Authorization: Bearer ...``; only the SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from redif.errors import InputError, RedifError
from redif.registry.access import SITE_ROLES, Principal, Role, parse_role
from redif.registry.models import ApiToken, LoginFailure, Site, User, WebSession, utcnow

__all__ = [
    "AuthSettings",
    "LoginThrottled",
    "authenticate",
    "create_api_token",
    "create_user",
    "end_session",
    "hash_password",
    "principal_for_session",
    "principal_for_token",
    "start_session",
    "verify_password",
]

_HASHER = PasswordHasher()  # argon2id
_DUMMY_HASH = _HASHER.hash("redif-timing-equaliser")


@dataclass(frozen=True)
class AuthSettings:
    """Security settings (defaults follow common practice; change them in the app settings)."""

    max_failures: int = 5
    window_s: int = 15 * 60
    lockout_s: int = 15 * 60
    session_idle_s: int = 8 * 3600
    session_absolute_s: int = 24 * 3600
    min_password_length: int = 12


class LoginThrottled(RedifError):
    """Too many failed sign-ins for this username from this address."""

    def __init__(self, retry_after_s: int) -> None:
        self.retry_after_s = retry_after_s
        minutes = max(1, (retry_after_s + 59) // 60)
        super().__init__(
            f"Too many failed sign-in attempts for this account from your address. "
            f"Try again in {minutes} minute{'s' if minutes != 1 else ''}."
        )


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def hash_password(password: str) -> str:
    """argon2id hash of ``password``."""
    return _HASHER.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """True when ``password`` matches ``stored_hash``."""
    try:
        return _HASHER.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: str | Role,
    site_code: str | None,
    settings: AuthSettings | None = None,
) -> User:
    """Create a user (validated); raises :class:`InputError` for a bad name, role, site or password."""
    settings = settings or AuthSettings()
    role_v = parse_role(str(role))
    if (
        not username
        or len(username) > 64
        or not username.replace("_", "").replace(".", "").replace("-", "").isalnum()
    ):
        raise InputError(
            "invalid username",
            field="username",
            value=username,
            remedy="use 1-64 letters, digits, '.', '-' or '_'",
        )
    if len(password) < settings.min_password_length:
        raise InputError(
            f"password shorter than {settings.min_password_length} characters",
            field="password",
            remedy="choose a longer passphrase",
        )
    site_id = None
    if site_code:
        site = session.execute(select(Site).where(Site.code == site_code)).scalar_one_or_none()
        if site is None:
            raise InputError(
                "unknown site",
                field="site",
                value=site_code,
                remedy="create it first with `redif admin create-site`",
            )
        site_id = site.id
    if role_v in SITE_ROLES and site_id is None:
        raise InputError(f"role {role_v.value} needs a site", field="site", remedy="pass --site CODE")
    if session.execute(select(User.id).where(User.username == username)).first():
        raise InputError("username already exists", field="username", value=username)
    user = User(username=username, password_hash=hash_password(password), role=role_v.value, site_id=site_id)
    session.add(user)
    session.flush()
    return user


def _principal(user: User) -> Principal:
    return Principal(user_id=user.id, username=user.username, role=Role(user.role), site_id=user.site_id)


def authenticate(
    session: Session, username: str, password: str, ip: str, settings: AuthSettings | None = None
) -> Principal | None:
    """Check a sign-in; return the principal, ``None`` for wrong credentials.

    Raises
    ------
    LoginThrottled
        When (username, ip) is locked out; the correct password does not unlock it early.
    """
    settings = settings or AuthSettings()
    now = utcnow()
    ip = ip or "unknown"
    key = username[:64]
    fail = session.execute(
        select(LoginFailure).where(LoginFailure.username == key, LoginFailure.ip == ip)
    ).scalar_one_or_none()
    if fail is not None and fail.locked_until is not None and fail.locked_until > now:
        raise LoginThrottled(int((fail.locked_until - now).total_seconds()) + 1)
    user = session.execute(select(User).where(User.username == key)).scalar_one_or_none()
    ok = False
    if user is None:
        verify_password(_DUMMY_HASH, password)  # equalise timing
    else:
        ok = user.active and verify_password(user.password_hash, password)
    if ok and user is not None:
        if fail is not None:
            session.delete(fail)
        if _HASHER.check_needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        return _principal(user)
    if fail is None:
        fail = LoginFailure(username=key, ip=ip, count=0, window_start=now)
        session.add(fail)
    if (now - fail.window_start).total_seconds() > settings.window_s:
        fail.count = 0
        fail.window_start = now
        fail.locked_until = None
    fail.count += 1
    if fail.count >= settings.max_failures:
        fail.locked_until = now + timedelta(seconds=settings.lockout_s)
    session.flush()
    return None


def start_session(
    session: Session, principal: Principal, ip: str | None, settings: AuthSettings | None = None
) -> tuple[str, str]:
    """Create a server-side session; return ``(cookie_token, csrf_token)``."""
    settings = settings or AuthSettings()
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        WebSession(
            token_sha256=_sha(token),
            csrf_token=csrf,
            user_id=principal.user_id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(seconds=settings.session_absolute_s),
            ip=ip,
        )
    )
    session.flush()
    return token, csrf


def principal_for_session(
    session: Session, token: str, settings: AuthSettings | None = None
) -> tuple[Principal, str, float] | None:
    """``(principal, csrf_token, idle_seconds)`` of a live session cookie, else ``None`` (expired
    sessions are deleted by :func:`end_session`, not here: this function only reads)."""
    settings = settings or AuthSettings()
    row = session.execute(
        select(WebSession, User)
        .join(User, User.id == WebSession.user_id)
        .where(WebSession.token_sha256 == _sha(token))
    ).first()
    if row is None:
        return None
    ws, user = row
    now = utcnow()
    if ws.expires_at <= now or (now - ws.last_seen_at).total_seconds() > settings.session_idle_s:
        return None
    if not user.active:
        return None
    return _principal(user), ws.csrf_token, (now - ws.last_seen_at).total_seconds()


def touch_session(session: Session, token: str) -> None:
    """Record activity on a session (idle timeout)."""
    ws = session.execute(
        select(WebSession).where(WebSession.token_sha256 == _sha(token))
    ).scalar_one_or_none()
    if ws is not None:
        ws.last_seen_at = utcnow()


def end_session(session: Session, token: str) -> None:
    """Delete a session (sign-out) and every expired session."""
    session.execute(delete(WebSession).where(WebSession.token_sha256 == _sha(token)))
    session.execute(delete(WebSession).where(WebSession.expires_at <= utcnow()))


def create_api_token(
    session: Session, username: str, name: str, *, expires_at: datetime | None = None
) -> str:
    """Create a bearer token for ``username``; return it (shown once, stored hashed)."""
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise InputError("unknown user", field="--user", value=username)
    token = "rdf_" + secrets.token_urlsafe(32)
    session.add(ApiToken(token_sha256=_sha(token), name=name, user_id=user.id, expires_at=expires_at))
    session.flush()
    return token


def principal_for_token(session: Session, token: str) -> Principal | None:
    """The principal of a live bearer token, else ``None``."""
    row = session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_sha256 == _sha(token))
    ).first()
    if row is None:
        return None
    tok, user = row
    if tok.revoked or not user.active or (tok.expires_at is not None and tok.expires_at <= utcnow()):
        return None
    return _principal(user)
