"""Passwords (argon2id), sign-in throttling, server-side sessions and API tokens.

- Passwords are hashed with argon2id (argon2-cffi's :class:`PasswordHasher`, RFC 9106 defaults);
  hashes are re-computed on sign-in when the parameters change.
- Sign-in runs in three phases so that no write transaction (on SQLite: the database's write lock) is
  open while argon2 runs: :func:`check_login` reads the user and the throttle counter in a read
  transaction, closes it, then verifies the password (exactly one argon2 verification for every
  attempt: against a dummy hash for unknown and deactivated users, so the answer time does not tell
  them apart); :func:`record_login` then records the outcome in the caller's write transaction (the
  failure counter, a re-hash, and one ``login_failed`` audit event per failed attempt naming the
  reason). :func:`authenticate` runs both for scripts.
- Sign-in throttling counts failures per (username, client address): after
  :attr:`AuthSettings.max_failures` failures within :attr:`AuthSettings.window_s` seconds the pair is
  locked for :attr:`AuthSettings.lockout_s` seconds, and the message says so and for how long.
- User names are unique case-insensitively (a unique index on ``lower(username)``) and sign-in accepts
  them in any case. Passwords follow :mod:`redif.registry.password_policy` (NIST SP 800-63B).
- Sessions: the browser cookie holds 32 random bytes (URL-safe base64); the database holds only the
  token's SHA-256, the CSRF token, and the idle/absolute expiry.
- API tokens (``redif admin create-token``): ``rdf_`` + 32 random bytes, sent as
  ``Authorization: Bearer ...``; only the SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, literal, select
from sqlalchemy.orm import Session

from redif.errors import InputError, RedifError
from redif.registry import audit
from redif.registry.access import SITE_ROLES, Principal, Role, parse_role
from redif.registry.models import ApiToken, LoginFailure, Site, User, WebSession, utcnow
from redif.registry.password_policy import check_password

if TYPE_CHECKING:
    from redif.registry.db import Database

__all__ = [
    "AuthSettings",
    "LoginCheck",
    "LoginFailureReason",
    "LoginOutcome",
    "LoginThrottled",
    "authenticate",
    "check_login",
    "create_api_token",
    "create_user",
    "end_session",
    "hash_password",
    "principal_for_session",
    "principal_for_token",
    "record_login",
    "start_session",
    "verify_password",
]

_HASHER = PasswordHasher()  # argon2id
_DUMMY_HASH = _HASHER.hash("redif-timing-equaliser")


@dataclass(frozen=True)
class AuthSettings:
    """Security settings (defaults follow common practice; change them in the app settings).

    ``min_password_length`` (default 12) may not go below 8 and ``max_password_length`` (default 1024,
    the sign-in form's limit) not below 64: the floors NIST SP 800-63B section 5.1.1.2 sets for passwords
    a person chooses.
    """

    max_failures: int = 5
    window_s: int = 15 * 60
    lockout_s: int = 15 * 60
    session_idle_s: int = 8 * 3600
    session_absolute_s: int = 24 * 3600
    min_password_length: int = 12
    max_password_length: int = 1024

    def __post_init__(self) -> None:
        if self.min_password_length < 8:
            raise ValueError("min_password_length must be at least 8 (NIST SP 800-63B 5.1.1.2)")
        if self.max_password_length < max(64, self.min_password_length):
            raise ValueError("max_password_length must be at least 64 (NIST SP 800-63B 5.1.1.2)")


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
        or not username.isascii()
        or not username.replace("_", "").replace(".", "").replace("-", "").isalnum()
    ):
        raise InputError(
            "invalid username",
            field="username",
            value=username,
            remedy="use 1-64 ASCII letters, digits, '.', '-' or '_'",
        )
    check_password(
        password,
        username=username,
        min_length=settings.min_password_length,
        max_length=settings.max_password_length,
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
    if _user_by_name(session, username) is not None:
        raise InputError(
            "username already exists (user names are compared case-insensitively)",
            field="username",
            value=username,
        )
    user = User(username=username, password_hash=hash_password(password), role=role_v.value, site_id=site_id)
    session.add(user)
    session.flush()
    return user


def _principal(user: User) -> Principal:
    return Principal(user_id=user.id, username=user.username, role=Role(user.role), site_id=user.site_id)


def _user_by_name(session: Session, username: str) -> User | None:
    """The user whose name equals ``username`` case-insensitively (both sides lowered by the database,
    so that the comparison is the one the unique index on ``lower(username)`` enforces)."""
    return session.execute(
        select(User).where(func.lower(User.username) == func.lower(literal(username[:64])))
    ).scalar_one_or_none()


class LoginFailureReason(StrEnum):
    """Why a sign-in failed (recorded in the ``login_failed`` audit event)."""

    UNKNOWN_USER = "unknown_user"
    WRONG_PASSWORD = "wrong_password"
    INACTIVE = "inactive"
    LOCKED = "locked"


@dataclass(frozen=True)
class LoginCheck:
    """The result of :func:`check_login` (holds no password).

    ``reason`` is ``None`` when the password was right; ``new_hash`` is a re-hash of the password when
    the stored hash uses outdated parameters, ``old_hash`` the hash it replaces.
    """

    username: str
    ip: str
    user_id: int | None
    site_id: int | None
    reason: LoginFailureReason | None
    retry_after_s: int = 0
    old_hash: str | None = None
    new_hash: str | None = None


@dataclass(frozen=True)
class LoginOutcome:
    """The result of :func:`record_login`: the principal, or why not (and, when locked, for how long)."""

    principal: Principal | None
    reason: LoginFailureReason | None
    retry_after_s: int = 0


def _throttle_key(username: str) -> str:
    return username[:64].lower()


def _locked_for(fail: LoginFailure | None, now: datetime) -> int:
    if fail is not None and fail.locked_until is not None and fail.locked_until > now:
        return int((fail.locked_until - now).total_seconds()) + 1
    return 0


def check_login(
    db: Database, username: str, password: str, ip: str, settings: AuthSettings | None = None
) -> LoginCheck:
    """Phase 1 and 2 of a sign-in: read the user and the throttle counter in a read transaction, close
    it, then verify the password outside any transaction.

    Exactly one argon2 verification runs for every attempt that is not locked out (against a dummy
    hash of the same parameters for unknown and deactivated users), so the answer time does not reveal
    whether an account exists or is active; none runs while a write transaction is open.
    """
    settings = settings or AuthSettings()
    ip = (ip or "unknown")[:64]
    key = _throttle_key(username)
    now = utcnow()
    with db.session(actor="anonymous") as s:
        fail = s.execute(
            select(LoginFailure).where(LoginFailure.username == key, LoginFailure.ip == ip)
        ).scalar_one_or_none()
        locked = _locked_for(fail, now)
        user = _user_by_name(s, username)
        found = None if user is None else (user.id, user.site_id, bool(user.active), user.password_hash)
    base = LoginCheck(key, ip, found[0] if found else None, found[1] if found else None, None)
    if locked:
        return replace(base, reason=LoginFailureReason.LOCKED, retry_after_s=locked)
    if found is None or not found[2]:
        verify_password(_DUMMY_HASH, password)  # the same work as for an active user
        reason = LoginFailureReason.UNKNOWN_USER if found is None else LoginFailureReason.INACTIVE
        return replace(base, reason=reason)
    stored = found[3]
    if not verify_password(stored, password):
        return replace(base, reason=LoginFailureReason.WRONG_PASSWORD)
    if _HASHER.check_needs_rehash(stored):
        return replace(base, old_hash=stored, new_hash=hash_password(password))
    return base


def record_login(session: Session, check: LoginCheck, settings: AuthSettings | None = None) -> LoginOutcome:
    """Phase 3 of a sign-in, in the caller's write transaction: clear or count the failure, store a
    re-hash, and audit every failed attempt (action ``login_failed``, details: username, ip, reason).

    A lock-out or a deactivation that happened between :func:`check_login` and now wins over a right
    password. The caller raises :class:`LoginThrottled` (if it wants to) after committing, so that the
    audit event of a locked-out attempt is kept.
    """
    settings = settings or AuthSettings()
    now = utcnow()
    reason = check.reason
    retry = check.retry_after_s
    user = session.get(User, check.user_id) if check.user_id is not None else None
    if reason is None:
        fail = session.execute(
            select(LoginFailure).where(LoginFailure.username == check.username, LoginFailure.ip == check.ip)
        ).scalar_one_or_none()
        retry = _locked_for(fail, now)
        if retry:
            reason = LoginFailureReason.LOCKED
        elif user is None or not user.active:
            reason = LoginFailureReason.INACTIVE
        else:
            if fail is not None:
                session.delete(fail)
            if check.new_hash is not None and user.password_hash == check.old_hash:
                user.password_hash = check.new_hash
            return LoginOutcome(_principal(user), None)
    _record_failure(session, check, reason, user, settings)
    return LoginOutcome(None, reason, retry)


def _record_failure(
    session: Session,
    check: LoginCheck,
    reason: LoginFailureReason,
    user: User | None,
    settings: AuthSettings,
) -> None:
    """Audit a failed sign-in and count it towards the lock-out (the one place both happen)."""
    audit.record(
        session,
        action="login_failed",
        entity="users",
        entity_id=check.user_id,
        site_id=user.site_id if user is not None else None,
        details={"username": check.username, "ip": check.ip, "reason": reason.value},
    )
    if reason is LoginFailureReason.LOCKED:
        return
    now = utcnow()
    fail = session.execute(
        select(LoginFailure).where(LoginFailure.username == check.username, LoginFailure.ip == check.ip)
    ).scalar_one_or_none()
    if fail is None:
        fail = LoginFailure(username=check.username, ip=check.ip, count=0, window_start=now)
        session.add(fail)
    if (now - fail.window_start).total_seconds() > settings.window_s:
        fail.count = 0
        fail.window_start = now
        fail.locked_until = None
    fail.count += 1
    if fail.count >= settings.max_failures:
        fail.locked_until = now + timedelta(seconds=settings.lockout_s)
    session.flush()


def authenticate(
    db: Database, username: str, password: str, ip: str, settings: AuthSettings | None = None
) -> Principal | None:
    """Check a sign-in (both phases, the second in its own write transaction); return the principal,
    ``None`` for wrong credentials.

    Raises
    ------
    LoginThrottled
        When (username, ip) is locked out; the correct password does not unlock it early.
    """
    settings = settings or AuthSettings()
    check = check_login(db, username, password, ip, settings)
    with db.write_session(actor="anonymous") as s:
        outcome = record_login(s, check, settings)
    if outcome.reason is LoginFailureReason.LOCKED:
        raise LoginThrottled(outcome.retry_after_s)
    return outcome.principal


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
    user = _user_by_name(session, username)
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
