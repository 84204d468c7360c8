"""Shared setup for registry and web tests: two sites, users of every role, principals.

Users are inserted with one argon2id hash computed once per test process (hashing is deliberately slow;
``auth.create_user`` itself is tested separately)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from redif.registry import auth
from redif.registry.access import Principal, Role
from redif.registry.db import Database
from redif.registry.models import Site, User

PASSWORD = "correct horse battery"
USERS = {
    "clin_a": ("site_clinician", "A"),
    "phys_a": ("site_physicist", "A"),
    "clin_b": ("site_clinician", "B"),
    "coord": ("coordinator", None),
    "auditor": ("auditor", None),
    "admin": ("admin", None),
}


@lru_cache(maxsize=1)
def password_hash() -> str:
    return auth.hash_password(PASSWORD)


@dataclass
class World:
    site_a: int
    site_b: int
    principals: dict[str, Principal]


def make_world(db: Database) -> World:
    """Sites A and B and one user per role (clinician and physicist at A, clinician at B)."""
    with db.write_session(actor="setup") as s:
        a, b = Site(code="A", name="Site A"), Site(code="B", name="Site B")
        s.add_all([a, b])
        s.flush()
        sites = {"A": a.id, "B": b.id}
        principals = {}
        for name, (role, site) in USERS.items():
            u = User(
                username=name, password_hash=password_hash(), role=role, site_id=sites[site] if site else None
            )
            s.add(u)
            s.flush()
            principals[name] = Principal(u.id, name, Role(role), u.site_id)
        return World(a.id, b.id, principals)
