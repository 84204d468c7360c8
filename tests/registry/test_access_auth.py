"""Roles, scoping (deny by default, other sites' records are 'not found'), passwords, throttling, tokens."""

from __future__ import annotations

from datetime import timedelta

import pytest
from registry_world import PASSWORD, make_world  # type: ignore[import-not-found]
from sqlalchemy import select

from redif.errors import AccessDenied, InputError, NotFound
from redif.registry import auth
from redif.registry import patients as reg
from redif.registry.access import ROLE_PERMISSIONS, Permission, Role
from redif.registry.db import Database
from redif.registry.models import User, WebSession, utcnow


def test_role_matrix_is_deny_by_default() -> None:
    """Only the admin holds user administration; the auditor cannot write; nobody but admin deletes."""
    for role in Role:
        perms = ROLE_PERMISSIONS[role]
        assert (Permission.USER_ADMIN in perms) == (role is Role.ADMIN)
        assert (Permission.PATIENT_DELETE in perms) == (role is Role.ADMIN)
    assert Permission.PATIENT_WRITE not in ROLE_PERMISSIONS[Role.AUDITOR]
    assert Permission.PATIENT_WRITE not in ROLE_PERMISSIONS[Role.COORDINATOR]
    assert Permission.DOSIMETRY_WRITE in ROLE_PERMISSIONS[Role.SITE_PHYSICIST]
    assert Permission.PATIENT_WRITE not in ROLE_PERMISSIONS[Role.SITE_PHYSICIST]


def test_site_scoping(db: Database) -> None:
    w = make_world(db)
    P = w.principals
    with db.write_session() as s:
        pa = reg.create_patient(s, P["clin_a"], {"pseudonym": "A-1"}).id
        pb = reg.create_patient(s, P["clin_b"], {"pseudonym": "B-1"}).id
    with db.session() as s:
        assert [p.pseudonym for p in reg.list_patients(s, P["clin_a"])] == ["A-1"]
        assert reg.count_patients(s, P["clin_a"]) == 1
        assert reg.count_patients(s, P["clin_a"], q="B-") == 0
        assert reg.count_patients(s, P["coord"]) == 2
        assert reg.count_patients(s, P["auditor"]) == 2
        with pytest.raises(NotFound):
            reg.update_patient(s, P["clin_a"], pb, {"histology": "x"})
        with pytest.raises(NotFound):
            reg.add_record(s, P["clin_a"], pb, "genotypes", {"gene": "BRAF"})
        # in scope but not allowed: forbidden, not hidden
        with pytest.raises(AccessDenied):
            reg.update_patient(s, P["auditor"], pa, {"histology": "x"})
        with pytest.raises(AccessDenied):
            reg.add_record(s, P["phys_a"], pa, "courses", {"drugs": "x"})
        with pytest.raises(AccessDenied):
            reg.delete_patient(s, P["clin_a"], pa)
        rec = reg.add_record(s, P["phys_a"], pa, "dosimetry", {"kind": "lesion", "absorbed_dose_gy": 20.0})
        assert rec is not None


def test_cross_site_role_needs_site_for_create(db: Database) -> None:
    w = make_world(db)
    with db.write_session() as s, pytest.raises(InputError, match="site"):
        reg.create_patient(s, w.principals["admin"], {"pseudonym": "Z-1"})
    with db.write_session() as s, pytest.raises(InputError, match="unknown site"):
        reg.create_patient(s, w.principals["clin_a"], {"pseudonym": "Z-1", "site": "B"})


def test_password_hash_is_argon2id(db: Database) -> None:
    make_world(db)
    with db.session() as s:
        h = s.execute(select(User.password_hash).where(User.username == "clin_a")).scalar_one()
    assert h.startswith("$argon2id$")
    assert auth.verify_password(h, PASSWORD) and not auth.verify_password(h, PASSWORD + "x")


def test_login_throttling(db: Database) -> None:
    """Repeated failures lock (user, address) with a clear message; another address is not locked; the
    correct password does not unlock early."""
    make_world(db)
    settings = auth.AuthSettings(max_failures=2, lockout_s=600)
    for _ in range(2):
        assert auth.authenticate(db, "clin_a", "wrong", "10.0.0.1", settings) is None
    with pytest.raises(auth.LoginThrottled, match="Try again in 10 minutes"):
        auth.authenticate(db, "clin_a", PASSWORD, "10.0.0.1", settings)
    assert auth.authenticate(db, "clin_a", PASSWORD, "10.0.0.2", settings) is not None


def test_sessions_and_tokens(db: Database) -> None:
    w = make_world(db)
    p = w.principals["clin_a"]
    settings = auth.AuthSettings(session_idle_s=60)
    with db.write_session() as s:
        token, csrf = auth.start_session(s, p, "127.0.0.1", settings)
        api = auth.create_api_token(s, "clin_a", "t")
    with db.session() as s:
        found = auth.principal_for_session(s, token, settings)
        assert found is not None and found[0] == p and found[1] == csrf
        assert auth.principal_for_session(s, token + "x", settings) is None
        assert auth.principal_for_token(s, api) == p
        stored = s.execute(select(WebSession.token_sha256)).scalar_one()
        assert token not in stored  # only the hash is stored
    with db.write_session() as s:
        ws = s.execute(select(WebSession)).scalar_one()
        ws.last_seen_at = utcnow() - timedelta(seconds=120)
    with db.session() as s:
        assert auth.principal_for_session(s, token, settings) is None  # idle timeout
    with db.write_session() as s:
        auth.end_session(s, token)
    with db.session() as s:
        assert s.execute(select(WebSession)).first() is None


def test_create_user_validation(db: Database) -> None:
    make_world(db)
    with db.write_session() as s:
        with pytest.raises(InputError, match="needs a site"):
            auth.create_user(s, username="x1", password=PASSWORD, role="site_clinician", site_code=None)
        with pytest.raises(InputError, match="unknown role"):
            auth.create_user(s, username="x2", password=PASSWORD, role="boss", site_code=None)
        with pytest.raises(InputError, match="already exists"):
            auth.create_user(s, username="clin_a", password=PASSWORD, role="auditor", site_code=None)
