"""Patient records as the application sees them: create, read, list, count, update, delete, with access
scoping applied in every query. The web routes, the API and the importer call these functions; none of
them queries :class:`Patient` directly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from redif.errors import AccessDenied, Conflict, InputError, NotFound
from redif.registry import audit, storage
from redif.registry.access import Permission, Principal, get_patient, require, scope_patients
from redif.registry.models import PATIENT_CHILD_MODELS, Base, Patient, Site
from redif.registry.schemas import RECORD_SCHEMAS, PatientIn, PatientPatch, validate_input

__all__ = [
    "add_record",
    "count_patients",
    "create_patient",
    "delete_patient",
    "delete_record",
    "list_patients",
    "patient_to_dict",
    "record_to_dict",
    "update_patient",
]

_PATIENT_FIELDS = (
    "sex",
    "birth_year",
    "histology",
    "rai_refractory_criterion",
    "diagnosis_date",
    "progression_date",
    "progression_criterion",
    "last_follow_up_date",
    "death_date",
)


def _resolve_site(session: Session, principal: Principal, site_code: str | None) -> Site:
    if site_code:
        site = session.execute(select(Site).where(Site.code == site_code)).scalar_one_or_none()
        if site is None or not principal.sees_site(site.id):
            raise InputError(
                "unknown site", field="site", value=site_code, remedy="use the code of a site you belong to"
            )
        return site
    if principal.site_id is None:
        raise InputError(
            "site is required for a user without a home site", field="site", remedy="give the site code"
        )
    site = session.get(Site, principal.site_id)
    assert site is not None
    return site


def create_patient(session: Session, principal: Principal, data: PatientIn | dict[str, Any]) -> Patient:
    """Create a patient at the principal's site (or ``data.site`` for cross-site roles)."""
    require(principal, Permission.PATIENT_WRITE)
    pin = data if isinstance(data, PatientIn) else validate_input(PatientIn, data)
    site = _resolve_site(session, principal, pin.site)
    exists = session.execute(
        select(Patient.id).where(Patient.site_id == site.id, Patient.pseudonym == pin.pseudonym)
    ).first()
    if exists:
        raise _pseudonym_taken(pin.pseudonym)
    patient = Patient(
        pseudonym=pin.pseudonym,
        site_id=site.id,
        is_demo=site.is_demo,
        **{k: getattr(pin, k) for k in _PATIENT_FIELDS},
    )
    if patient.sex is not None:
        patient.sex = str(patient.sex)
    try:
        with session.begin_nested():  # a concurrent create of the same pseudonym loses here, cleanly
            session.add(patient)
    except IntegrityError:
        raise _pseudonym_taken(pin.pseudonym) from None
    return patient


def _pseudonym_taken(pseudonym: str) -> Conflict:
    return Conflict("pseudonym already used at this site", field="pseudonym", value=pseudonym,
                    remedy="choose another pseudonym")


def update_patient(
    session: Session, principal: Principal, patient_id: int, data: PatientPatch | dict[str, Any]
) -> Patient:
    """Change fields of a patient in scope."""
    patient = get_patient(session, principal, patient_id)
    require(principal, Permission.PATIENT_WRITE)
    patch = data if isinstance(data, PatientPatch) else validate_input(PatientPatch, data)
    for key in patch.model_fields_set:
        value = getattr(patch, key)
        if key == "sex" and value is None:
            value = "unknown"
        setattr(patient, key, str(value) if key == "sex" and value is not None else value)
    if patch.model_fields_set:  # a field set by hand is reviewed: its migration flag (if any) is done
        _clear_flags(patient, Patient.__tablename__, patient.id, columns=patch.model_fields_set)
    session.flush()
    return patient


def _clear_flags(patient: Patient, table: str, row_id: int, *, columns: set[str] | None = None) -> None:
    """Remove a patient's review flags of a row (of some of its columns) once a person has set or deleted
    it (migration 0005 wrote them; the orphans are deleted with the flush)."""
    for flag in list(patient.review_flags):
        if flag.table_name != table or flag.row_id != row_id:
            continue
        if columns is None or flag.column_name in columns:
            patient.review_flags.remove(flag)


def delete_patient(
    session: Session, principal: Principal, patient_id: int, *, data_dir: Path | None = None
) -> None:
    """Delete a patient in scope with all their records, case document and DICOM series.

    The rows go in ``session``'s transaction, with tombstones of their ids (never handed out again); the
    stored files of the series are removed from ``data_dir`` after that transaction commits
    (:mod:`redif.registry.storage`; without ``data_dir`` they are left as orphans no row names).
    """
    patient = get_patient(session, principal, patient_id)
    require(principal, Permission.PATIENT_DELETE)
    if data_dir is not None:
        storage.bind_data_dir(session, data_dir)
    session.delete(patient)
    session.flush()


def _search(stmt: Any, q: str | None) -> Any:
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(or_(Patient.pseudonym.ilike(like), Patient.histology.ilike(like)))
    return stmt


def list_patients(
    session: Session, principal: Principal, *, q: str | None = None, limit: int = 100, offset: int = 0
) -> list[Patient]:
    """Patients in scope, newest first, filtered by ``q`` (pseudonym or histology substring)."""
    require(principal, Permission.PATIENT_READ)
    stmt = scope_patients(_search(select(Patient), q), principal)
    stmt = stmt.order_by(Patient.created_at.desc(), Patient.id.desc()).limit(limit).offset(offset)
    items = list(session.execute(stmt).scalars())
    audit.note_list_read(session, items, query=q)  # one read event naming the patients listed
    return items


def count_patients(session: Session, principal: Principal, *, q: str | None = None) -> int:
    """Number of patients in scope matching ``q``."""
    require(principal, Permission.PATIENT_READ)
    stmt = scope_patients(_search(select(func.count(Patient.id)), q), principal)
    return int(session.execute(stmt).scalar_one())


def _record_permission(kind: str) -> Permission:
    return Permission.DOSIMETRY_WRITE if kind == "dosimetry" else Permission.PATIENT_WRITE


def add_record(
    session: Session, principal: Principal, patient_id: int, kind: str, data: dict[str, Any]
) -> Base:
    """Add one record of ``kind`` (``genotypes``, ``courses``, ...) to a patient in scope."""
    if kind not in PATIENT_CHILD_MODELS:
        raise NotFound(f"record kind {kind!r} not found")
    patient = get_patient(session, principal, patient_id)
    perm = _record_permission(kind)
    if not (principal.can(perm) or principal.can(Permission.PATIENT_WRITE)):
        raise AccessDenied(f"permission {perm.value!r} required")
    values = validate_input(RECORD_SCHEMAS[kind], data).model_dump()
    values = {k: (str(v) if hasattr(v, "value") else v) for k, v in values.items()}
    model = PATIENT_CHILD_MODELS[kind]
    rec = model(patient_id=patient.id, **values)
    session.add(rec)
    session.flush()
    return rec


def delete_record(session: Session, principal: Principal, patient_id: int, kind: str, record_id: int) -> None:
    """Delete one record of a patient in scope."""
    if kind not in PATIENT_CHILD_MODELS:
        raise NotFound(f"record kind {kind!r} not found")
    patient = get_patient(session, principal, patient_id)
    perm = _record_permission(kind)
    if not (principal.can(perm) or principal.can(Permission.PATIENT_WRITE)):
        raise AccessDenied(f"permission {perm.value!r} required")
    model = PATIENT_CHILD_MODELS[kind]
    rec = session.get(model, record_id)
    if rec is None or getattr(rec, "patient_id", None) != patient.id:
        raise NotFound(f"{kind} record {record_id} not found")
    _clear_flags(patient, model.__tablename__, record_id)
    session.delete(rec)
    session.flush()


def record_to_dict(rec: Base) -> dict[str, Any]:
    """Plain dict of a record's columns (dates as ISO strings)."""
    out: dict[str, Any] = {}
    for col in type(rec).__table__.columns:
        value = getattr(rec, col.key)
        out[col.key] = value.isoformat() if hasattr(value, "isoformat") else value
    return out


def patient_to_dict(patient: Patient, *, records: bool = True) -> dict[str, Any]:
    """A patient with site code and (optionally) all their records."""
    out = record_to_dict(patient)
    out["site"] = patient.site.code
    if records:
        out["review_flags"] = [record_to_dict(f) for f in patient.review_flags]
        out["records"] = {
            kind: [record_to_dict(r) for r in getattr(patient, _REL[kind])] for kind in PATIENT_CHILD_MODELS
        }
    return out


_REL = {
    "genotypes": "genotypes",
    "rai-history": "rai_history",
    "courses": "courses",
    "uptake": "uptake_assessments",
    "dosimetry": "dosimetry_results",
    "administrations": "administrations",
    "responses": "responses",
    "labs": "labs",
    "adverse-events": "adverse_events",
    "next-therapy": "next_therapies",
}


def export_patient(
    session: Session, principal: Principal, patient_id: int, *, action: str, fmt: str
) -> dict[str, Any]:
    """Load a patient the caller may see, serialise it and audit the export in the same transaction.

    Parameters
    ----------
    action
        Audit action, ``"report"`` (PDF) or ``"export"`` (FHIR, CSV).
    fmt
        Export format recorded in the audit event (``"pdf"``, ``"fhir"``, ...).
    """
    patient = get_patient(session, principal, patient_id)
    data = patient_to_dict(patient)
    audit.record(
        session,
        action=action,
        entity="patients",
        entity_id=patient.id,
        site_id=patient.site_id,
        details={"format": fmt},
    )
    return data
