"""Roles, permissions and record scoping: deny by default.

A :class:`Principal` (the signed-in user) holds a :class:`Role`. Each role grants a fixed set of
:class:`Permission` values (:data:`ROLE_PERMISSIONS`) and a record scope: site roles see only their own
site's patients; the coordinator, auditor and admin see every site. Anything not granted is denied.

A record outside the principal's scope is reported as *not found* (:class:`redif.errors.NotFound`), never
as forbidden, so that a user cannot learn that another site's record exists.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from redif.errors import AccessDenied, InputError, NotFound
from redif.registry import audit
from redif.registry.models import Patient

__all__ = [
    "ROLE_PERMISSIONS",
    "Permission",
    "Principal",
    "Role",
    "get_patient",
    "parse_role",
    "require",
    "scope_patients",
]


class Role(enum.StrEnum):
    """User roles."""

    SITE_CLINICIAN = "site_clinician"
    SITE_PHYSICIST = "site_physicist"
    COORDINATOR = "coordinator"
    AUDITOR = "auditor"
    ADMIN = "admin"


class Permission(enum.StrEnum):
    """What a route or action needs. ``PUBLIC`` needs no sign-in; ``AUTHENTICATED`` any signed-in user."""

    PUBLIC = "public"
    AUTHENTICATED = "authenticated"
    PATIENT_READ = "patient:read"
    PATIENT_WRITE = "patient:write"
    PATIENT_DELETE = "patient:delete"
    DOSIMETRY_WRITE = "dosimetry:write"
    DICOM_UPLOAD = "dicom:upload"
    EXPORT = "export"
    AUDIT_READ = "audit:read"
    USER_ADMIN = "user:admin"


_P = Permission
#: The permissions of each role (anything else is denied).
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.SITE_CLINICIAN: frozenset(
        {_P.AUTHENTICATED, _P.PATIENT_READ, _P.PATIENT_WRITE, _P.EXPORT, _P.DICOM_UPLOAD}
    ),
    Role.SITE_PHYSICIST: frozenset(
        {_P.AUTHENTICATED, _P.PATIENT_READ, _P.DOSIMETRY_WRITE, _P.DICOM_UPLOAD, _P.EXPORT}
    ),
    Role.COORDINATOR: frozenset({_P.AUTHENTICATED, _P.PATIENT_READ, _P.EXPORT}),
    Role.AUDITOR: frozenset({_P.AUTHENTICATED, _P.PATIENT_READ, _P.AUDIT_READ}),
    Role.ADMIN: frozenset(set(Permission)),
}

#: Roles whose record scope is every site (the others see only their own site).
CROSS_SITE_ROLES: frozenset[Role] = frozenset({Role.COORDINATOR, Role.AUDITOR, Role.ADMIN})

#: Roles that must belong to a site.
SITE_ROLES: frozenset[Role] = frozenset({Role.SITE_CLINICIAN, Role.SITE_PHYSICIST})


def parse_role(value: str) -> Role:
    """Parse a role name, raising :class:`InputError` naming the valid ones."""
    try:
        return Role(value)
    except ValueError:
        raise InputError(
            "unknown role", field="role", value=value, remedy="use one of " + ", ".join(r.value for r in Role)
        ) from None


@dataclass(frozen=True)
class Principal:
    """The signed-in user as access control sees it."""

    user_id: int
    username: str
    role: Role
    site_id: int | None

    @property
    def cross_site(self) -> bool:
        """True when the role's scope is every site."""
        return self.role in CROSS_SITE_ROLES

    def can(self, permission: Permission) -> bool:
        """Whether the role grants ``permission`` (``PUBLIC`` is always granted)."""
        return permission is Permission.PUBLIC or permission in ROLE_PERMISSIONS.get(self.role, frozenset())

    def sees_site(self, site_id: int | None) -> bool:
        """Whether records of ``site_id`` are in scope."""
        return self.cross_site or (self.site_id is not None and site_id == self.site_id)


def require(principal: Principal | None, permission: Permission) -> None:
    """Raise :class:`AccessDenied` unless ``principal`` holds ``permission``."""
    if permission is Permission.PUBLIC:
        return
    if principal is None or not principal.can(permission):
        raise AccessDenied(f"permission {permission.value!r} required")


_S = TypeVar("_S", bound=Select[Any])


def scope_patients(stmt: _S, principal: Principal) -> _S:
    """Restrict a statement over :class:`Patient` to the principal's scope."""
    if principal.cross_site:
        return stmt
    if principal.site_id is None:
        return stmt.where(Patient.id.is_(None))  # type: ignore[return-value]
    return stmt.where(Patient.site_id == principal.site_id)  # type: ignore[return-value]


def get_patient(
    session: Session, principal: Principal, patient_id: int, *, audit_read: bool = True
) -> Patient:
    """Load a patient in scope, else raise :class:`NotFound` (also for other sites' patients).

    Every load is a read of patient-level data and is audited (:func:`redif.registry.audit.note_patient_read`:
    one ``read`` event per session and patient, written when the session ends; left out when the same
    transaction changes or exports the patient, whose own event names it). ``audit_read=False`` only for
    a scope check whose answer shows no data (the access-control layer's "not found or forbidden").
    """
    stmt = scope_patients(select(Patient).where(Patient.id == patient_id), principal)
    patient = session.execute(stmt).scalar_one_or_none()
    if patient is None:
        raise NotFound(f"patient {patient_id} not found")
    if audit_read:
        audit.note_patient_read(session, patient)
    return patient
