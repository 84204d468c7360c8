"""SQLAlchemy 2 models of the redif registry: the harmonised minimum data set plus sites, users, sessions
and the audit trail.

The clinical tables follow the harmonised minimum data set of docs/methods/minimum-data-set.md: inclusion
criterion for RAI-refractoriness, histology, genotype (gene, variant or fusion partner, assay), drug,
dose, dates and dose reductions, days of drug before the uptake assessment, TSH stimulation, low-iodine
diet, uptake assessment (modality, tracer, activity, timing, definition of "restored"), lesion and blood
dosimetry, 131I activity (empiric or dosimetry-based) and date, post-therapy scan, response (RECIST 1.1,
FDG-PET, Tg and TgAb), progression-free survival, adverse events (CTCAE grade) and second courses.

Patients are identified by a site-assigned **pseudonym** only: the registry holds no names, record
numbers or addresses. Dates are clinical dates (needed for intervals); tabular exports follow HIPAA Safe
Harbor (:mod:`redif.registry.deid`).

All timestamps are naive UTC ``datetime`` values (identical on SQLite and PostgreSQL).
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
    exists,
    func,
    insert,
    or_,
    select,
)
from sqlalchemy.engine.interfaces import ExecutionContext
from sqlalchemy.orm import DeclarativeBase, InstrumentedAttribute, Mapped, mapped_column, relationship

from redif.errors import InputError
from redif.model import FieldType, Vocabulary, forms, vocabulary

__all__ = [
    "CODED_COLUMNS",
    "MAX_ID",
    "PATIENT_CHILD_MODELS",
    "RANDOM_ID_MODELS",
    "AdverseEvent",
    "ApiToken",
    "AuditEvent",
    "Base",
    "CaseDocument",
    "DicomSeries",
    "DosimetryResult",
    "Genotype",
    "IodineAdministration",
    "LabResult",
    "LoginFailure",
    "MetaEntry",
    "NextTherapy",
    "Patient",
    "RaiHistory",
    "RedifCourse",
    "ResponseAssessment",
    "RetiredId",
    "ReviewFlag",
    "Site",
    "UptakeAssessment",
    "User",
    "WebSession",
    "random_id",
    "utcnow",
]

_NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Naive UTC now (second resolution is not imposed; microseconds are kept)."""
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    """Declarative base with a constraint naming convention (stable Alembic migrations)."""

    metadata = MetaData(naming_convention=_NAMING)

    #: Set to False on tables that the audit trail does not track (sessions, audit events, ...).
    __audited__ = True


# --------------------------------------------------------------------------------------------------
# Sites, users, sessions
# --------------------------------------------------------------------------------------------------


class Site(Base):
    """A participating centre."""

    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class User(Base):
    """A person who signs in. ``site_id`` is required for site roles, optional for the others."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    site: Mapped[Site | None] = relationship()


#: User names are unique case-insensitively (migration 0003); sign-in compares them the same way.
Index("uq_users_username_lower", func.lower(User.username), unique=True)


class WebSession(Base):
    """A server-side browser session; the cookie holds a random token, the table only its SHA-256."""

    __tablename__ = "web_sessions"
    __audited__ = False

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    ip: Mapped[str | None] = mapped_column(String(64), nullable=True)


class ApiToken(Base):
    """A bearer token for API clients (``redif admin create-token``); only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class LoginFailure(Base):
    """Failed sign-in counter per (username, client address), for throttling."""

    __tablename__ = "login_failures"
    __audited__ = False
    __table_args__ = (UniqueConstraint("username", "ip"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(64))
    count: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class MetaEntry(Base):
    """Key/value facts about the database itself (``demo`` = ``"true"`` marks a demo database)."""

    __tablename__ = "registry_meta"
    __audited__ = False

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


# --------------------------------------------------------------------------------------------------
# Identifiers of patient-level rows: random, never reused
# --------------------------------------------------------------------------------------------------

#: Largest id (PostgreSQL ``integer`` is 32-bit signed; the routes validate ``le=MAX_ID``).
MAX_ID = 2_147_483_647
_ID_TRIES = 32


class RetiredId(Base):
    """An id of a deleted patient-level row: never handed out again (written in the delete's transaction
    by :mod:`redif.registry.storage`)."""

    __tablename__ = "retired_ids"
    __audited__ = False

    table_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    retired_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


def random_id(context: ExecutionContext) -> int:
    """Column default of patient-level primary keys: a random integer in ``[1, MAX_ID]`` (from
    :mod:`secrets`) that no row of the table holds and that was never retired.

    Ids are not sequential, so a site learns nothing of other sites' activity from its own ids, and a
    deleted row's id is never given to a new row (so nothing keyed by it can surface again). A collision
    (probability ~ n / 2**31 per insert) is retried.
    """
    column = context.current_column  # type: ignore[attr-defined]
    table = column.table
    retired = RetiredId.__table__
    for _ in range(_ID_TRIES):
        candidate = secrets.randbelow(MAX_ID) + 1
        taken = context.connection.execute(  # type: ignore[attr-defined]
            select(
                or_(
                    exists().where(column == candidate),
                    exists().where(retired.c.table_name == table.name, retired.c.id == candidate),
                )
            )
        ).scalar()
        if not taken:
            return candidate
    raise RuntimeError(f"no free random id for {table.name} after {_ID_TRIES} tries")  # pragma: no cover


def _random_pk() -> Mapped[int]:
    return mapped_column(Integer, primary_key=True, autoincrement=False, default=random_id)


def _created_at() -> Mapped[datetime]:
    return mapped_column(DateTime, default=utcnow)


# --------------------------------------------------------------------------------------------------
# Patients and the harmonised minimum data set
# --------------------------------------------------------------------------------------------------


class Patient(Base):
    """A registry patient, known by a site-assigned pseudonym."""

    __tablename__ = "patients"
    __table_args__ = (UniqueConstraint("site_id", "pseudonym"),)

    id: Mapped[int] = _random_pk()
    pseudonym: Mapped[str] = mapped_column(String(64))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    sex: Mapped[str] = mapped_column(String(16), default="unknown")
    birth_year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    histology: Mapped[str | None] = mapped_column(String(64), nullable=True)
    rai_refractory_criterion: Mapped[str | None] = mapped_column(String(200), nullable=True)
    diagnosis_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    progression_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    progression_criterion: Mapped[str | None] = mapped_column(String(32), nullable=True)
    last_follow_up_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    death_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    site: Mapped[Site] = relationship()
    genotypes: Mapped[list[Genotype]] = relationship(
        back_populates="patient",
        cascade="all, delete-orphan",
        order_by="[Genotype.created_at, Genotype.id]",
    )
    rai_history: Mapped[list[RaiHistory]] = relationship(
        back_populates="patient",
        cascade="all, delete-orphan",
        order_by="[RaiHistory.created_at, RaiHistory.id]",
    )
    courses: Mapped[list[RedifCourse]] = relationship(
        back_populates="patient",
        cascade="all, delete-orphan",
        order_by="[RedifCourse.created_at, RedifCourse.id]",
    )
    uptake_assessments: Mapped[list[UptakeAssessment]] = relationship(
        back_populates="patient",
        cascade="all, delete-orphan",
        order_by="[UptakeAssessment.created_at, UptakeAssessment.id]",
    )
    dosimetry_results: Mapped[list[DosimetryResult]] = relationship(
        back_populates="patient",
        cascade="all, delete-orphan",
        order_by="[DosimetryResult.created_at, DosimetryResult.id]",
    )
    administrations: Mapped[list[IodineAdministration]] = relationship(
        back_populates="patient",
        cascade="all, delete-orphan",
        order_by="[IodineAdministration.created_at, IodineAdministration.id]",
    )
    responses: Mapped[list[ResponseAssessment]] = relationship(
        back_populates="patient",
        cascade="all, delete-orphan",
        order_by="[ResponseAssessment.created_at, ResponseAssessment.id]",
    )
    labs: Mapped[list[LabResult]] = relationship(
        back_populates="patient",
        cascade="all, delete-orphan",
        order_by="[LabResult.created_at, LabResult.id]",
    )
    adverse_events: Mapped[list[AdverseEvent]] = relationship(
        back_populates="patient",
        cascade="all, delete-orphan",
        order_by="[AdverseEvent.created_at, AdverseEvent.id]",
    )
    dicom_series: Mapped[list[DicomSeries]] = relationship(
        back_populates="patient",
        cascade="all, delete-orphan",
        order_by="[DicomSeries.uploaded_at, DicomSeries.id]",
    )
    next_therapies: Mapped[list[NextTherapy]] = relationship(
        back_populates="patient",
        cascade="all, delete-orphan",
        order_by="[NextTherapy.created_at, NextTherapy.id]",
    )
    review_flags: Mapped[list[ReviewFlag]] = relationship(
        back_populates="patient",
        cascade="all, delete-orphan",
        order_by="[ReviewFlag.id]",
    )
    case_document: Mapped[CaseDocument | None] = relationship(
        back_populates="patient", cascade="all, delete-orphan", uselist=False
    )


def _patient_fk() -> Mapped[int]:
    return mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)


class Genotype(Base):
    """A tumour genotype result: gene, variant or fusion partner, assay."""

    __tablename__ = "genotypes"

    id: Mapped[int] = _random_pk()
    patient_id: Mapped[int] = _patient_fk()
    created_at: Mapped[datetime] = _created_at()
    gene: Mapped[str] = mapped_column(String(32))
    variant: Mapped[str | None] = mapped_column(String(64), nullable=True)
    fusion_partner: Mapped[str | None] = mapped_column(String(32), nullable=True)
    assay: Mapped[str | None] = mapped_column(String(100), nullable=True)
    sample_date: Mapped[date | None] = mapped_column(Date, nullable=True)

    patient: Mapped[Patient] = relationship(back_populates="genotypes")


class RaiHistory(Base):
    """A previous radioiodine treatment (before redifferentiation)."""

    __tablename__ = "rai_history"

    id: Mapped[int] = _random_pk()
    patient_id: Mapped[int] = _patient_fk()
    created_at: Mapped[datetime] = _created_at()
    treatment_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    activity_gbq: Mapped[float | None] = mapped_column(Float, nullable=True)
    indication: Mapped[str | None] = mapped_column(String(100), nullable=True)
    post_therapy_scan_uptake: Mapped[bool | None] = mapped_column(Boolean, nullable=True)

    patient: Mapped[Patient] = relationship(back_populates="rai_history")


class RedifCourse(Base):
    """A redifferentiation drug course (drug(s), dose, dates, reductions, TSH stimulation, diet)."""

    __tablename__ = "redif_courses"

    id: Mapped[int] = _random_pk()
    patient_id: Mapped[int] = _patient_fk()
    created_at: Mapped[datetime] = _created_at()
    course_number: Mapped[int] = mapped_column(Integer, default=1)
    drugs: Mapped[str] = mapped_column(String(200))
    dose: Mapped[str | None] = mapped_column(String(100), nullable=True)
    start_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    stop_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    dose_reductions: Mapped[int] = mapped_column(Integer, default=0)
    days_before_uptake: Mapped[int | None] = mapped_column(Integer, nullable=True)
    tsh_stimulation: Mapped[str | None] = mapped_column(String(32), nullable=True)
    low_iodine_diet: Mapped[bool | None] = mapped_column(Boolean, nullable=True)

    patient: Mapped[Patient] = relationship(back_populates="courses")


class UptakeAssessment(Base):
    """An iodine uptake assessment after the drug (modality, tracer, activity, timing, decision)."""

    __tablename__ = "uptake_assessments"

    id: Mapped[int] = _random_pk()
    patient_id: Mapped[int] = _patient_fk()
    created_at: Mapped[datetime] = _created_at()
    assessment_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    modality: Mapped[str | None] = mapped_column(String(32), nullable=True)
    tracer: Mapped[str | None] = mapped_column(String(16), nullable=True)
    activity_mbq: Mapped[float | None] = mapped_column(Float, nullable=True)
    time_after_administration_h: Mapped[float | None] = mapped_column(Float, nullable=True)
    restored: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    restored_definition: Mapped[str | None] = mapped_column(String(200), nullable=True)

    patient: Mapped[Patient] = relationship(back_populates="uptake_assessments")


class DosimetryResult(Base):
    """A lesion or blood dosimetry result (stored; computed by the dosimetry engine)."""

    __tablename__ = "dosimetry_results"

    id: Mapped[int] = _random_pk()
    patient_id: Mapped[int] = _patient_fk()
    created_at: Mapped[datetime] = _created_at()
    kind: Mapped[str] = mapped_column(String(16))  # lesion | blood | voxel
    method: Mapped[str | None] = mapped_column(String(100), nullable=True)
    lesion_label: Mapped[str | None] = mapped_column(String(64), nullable=True)
    absorbed_dose_gy: Mapped[float | None] = mapped_column(Float, nullable=True)
    dose_per_activity_gy_per_gbq: Mapped[float | None] = mapped_column(Float, nullable=True)
    threshold_gy: Mapped[float | None] = mapped_column(Float, nullable=True)
    series_id: Mapped[int | None] = mapped_column(
        ForeignKey("dicom_series.id", ondelete="SET NULL"), nullable=True
    )
    computed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    software_version: Mapped[str | None] = mapped_column(String(32), nullable=True)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)

    patient: Mapped[Patient] = relationship(back_populates="dosimetry_results")


class IodineAdministration(Base):
    """A therapeutic 131I administration after redifferentiation."""

    __tablename__ = "iodine_administrations"

    id: Mapped[int] = _random_pk()
    patient_id: Mapped[int] = _patient_fk()
    created_at: Mapped[datetime] = _created_at()
    administration_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    activity_gbq: Mapped[float] = mapped_column(Float)
    basis: Mapped[str | None] = mapped_column(String(16), nullable=True)  # empiric | dosimetry
    post_therapy_scan: Mapped[str | None] = mapped_column(String(200), nullable=True)

    patient: Mapped[Patient] = relationship(back_populates="administrations")


class ResponseAssessment(Base):
    """A response time point (RECIST 1.1 overall response, sum of diameters, FDG-PET)."""

    __tablename__ = "response_assessments"

    id: Mapped[int] = _random_pk()
    patient_id: Mapped[int] = _patient_fk()
    created_at: Mapped[datetime] = _created_at()
    assessment_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    criteria: Mapped[str] = mapped_column(String(32), default="RECIST 1.1")
    overall_response: Mapped[str | None] = mapped_column(String(16), nullable=True)
    sum_of_diameters_mm: Mapped[float | None] = mapped_column(Float, nullable=True)
    fdg_pet: Mapped[str | None] = mapped_column(String(100), nullable=True)

    patient: Mapped[Patient] = relationship(back_populates="responses")


class LabResult(Base):
    """A laboratory value (thyroglobulin, TgAb, TSH)."""

    __tablename__ = "lab_results"

    id: Mapped[int] = _random_pk()
    patient_id: Mapped[int] = _patient_fk()
    created_at: Mapped[datetime] = _created_at()
    sample_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    analyte: Mapped[str] = mapped_column(String(16))
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(16))

    patient: Mapped[Patient] = relationship(back_populates="labs")


class AdverseEvent(Base):
    """An adverse event with its CTCAE term and grade."""

    __tablename__ = "adverse_events"

    id: Mapped[int] = _random_pk()
    patient_id: Mapped[int] = _patient_fk()
    created_at: Mapped[datetime] = _created_at()
    onset_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    term: Mapped[str] = mapped_column(String(100))
    ctcae_grade: Mapped[int] = mapped_column(Integer)
    attribution: Mapped[str | None] = mapped_column(String(32), nullable=True)

    patient: Mapped[Patient] = relationship(back_populates="adverse_events")


class NextTherapy(Base):
    """The next systemic therapy after redifferentiation (drug(s), class, start date)."""

    __tablename__ = "next_therapies"

    id: Mapped[int] = _random_pk()
    patient_id: Mapped[int] = _patient_fk()
    created_at: Mapped[datetime] = _created_at()
    drugs: Mapped[str] = mapped_column(String(200))
    therapy_class: Mapped[str | None] = mapped_column(String(32), nullable=True)
    start_date: Mapped[date | None] = mapped_column(Date, nullable=True)

    patient: Mapped[Patient] = relationship(back_populates="next_therapies")


class ReviewFlag(Base):
    """A stored value that could not be mapped to a term of the model, kept verbatim for review.

    Written by migration 0005 (free text of the coded columns -> codes): the coded column is set to
    ``NULL`` (or to ``other`` where the column is required and the vocabulary has it) and the original
    text is kept here, word for word, with the table, row and column it came from and the reason. Nothing
    is dropped: a reviewer picks the right code and deletes the flag. Deleted with the patient.
    """

    __tablename__ = "review_flags"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = _patient_fk()
    table_name: Mapped[str] = mapped_column(String(64))
    row_id: Mapped[int] = mapped_column(Integer)
    column_name: Mapped[str] = mapped_column(String(64))
    verbatim: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    patient: Mapped[Patient] = relationship(back_populates="review_flags")


class DicomSeries(Base):
    """Metadata of an uploaded, de-identified DICOM series.

    The files of each upload live in their own folder, ``storage_dir`` (relative to the data directory:
    ``dicom/<random UUID>``), written once and never changed; ``instances`` lists each file with its
    SHA-256 and ``sha256`` is the digest of the files' bytes in order (:mod:`redif.registry.storage`).
    """

    __tablename__ = "dicom_series"

    id: Mapped[int] = _random_pk()
    patient_id: Mapped[int] = _patient_fk()
    modality: Mapped[str | None] = mapped_column(String(16), nullable=True)
    series_instance_uid: Mapped[str] = mapped_column(String(64))
    study_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    radionuclide: Mapped[str | None] = mapped_column(String(64), nullable=True)
    injection_to_scan_h: Mapped[float | None] = mapped_column(Float, nullable=True)
    patient_weight_kg: Mapped[float | None] = mapped_column(Float, nullable=True)
    n_instances: Mapped[int] = mapped_column(Integer)
    storage_dir: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))
    instances: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    deid_profile: Mapped[str] = mapped_column(String(200))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    patient: Mapped[Patient] = relationship(back_populates="dicom_series")


class CaseDocument(Base):
    """The pathway case document of a patient (JSON text validated by :func:`redif.pathway.parse_case`);
    one per patient, deleted with the patient in the same transaction."""

    __tablename__ = "case_documents"

    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    document: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    patient: Mapped[Patient] = relationship(back_populates="case_document")


class AuditEvent(Base):
    """One append-only, hash-chained audit event (see :mod:`redif.registry.audit`)."""

    __tablename__ = "audit_events"
    __audited__ = False
    __table_args__ = (Index("ix_audit_events_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    site_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    details: Mapped[str] = mapped_column(Text)
    row_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    prev_sha256: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))


#: Tables holding one patient's clinical records, keyed by their API name.
PATIENT_CHILD_MODELS: dict[str, type[Base]] = {
    "genotypes": Genotype,
    "rai-history": RaiHistory,
    "courses": RedifCourse,
    "uptake": UptakeAssessment,
    "dosimetry": DosimetryResult,
    "administrations": IodineAdministration,
    "responses": ResponseAssessment,
    "labs": LabResult,
    "adverse-events": AdverseEvent,
    "next-therapy": NextTherapy,
}

#: Models whose primary key comes from :func:`random_id` (their ids appear in URLs; never reused).
RANDOM_ID_MODELS: tuple[type[Base], ...] = (Patient, DicomSeries, *PATIENT_CHILD_MODELS.values())


def _retire_id(_mapper: Any, connection: Any, target: Any) -> None:
    """Write the tombstone of a deleted row's id in the delete's own transaction (see :func:`random_id`)."""
    connection.execute(
        insert(RetiredId).values(
            table_name=type(target).__tablename__, id=int(target.id), retired_at=utcnow()
        )
    )


for _model in RANDOM_ID_MODELS:
    event.listen(_model, "after_delete", _retire_id)


# --------------------------------------------------------------------------------------------------
# Coded columns: the model's vocabularies are the only values they take
# --------------------------------------------------------------------------------------------------


def _coded_columns() -> dict[tuple[str, str], tuple[InstrumentedAttribute[Any], Vocabulary]]:
    tables: dict[str, type[Base]] = {"patient": Patient, **PATIENT_CHILD_MODELS}
    out: dict[tuple[str, str], tuple[InstrumentedAttribute[Any], Vocabulary]] = {}
    for frm in forms():
        for fld in frm.fields:
            if fld.type is FieldType.CODED and fld.vocabulary:
                attr = getattr(tables[frm.name], fld.name)
                out[(frm.name, fld.name)] = (attr, vocabulary(fld.vocabulary))
    return out


#: ``(form, field)`` -> (registry column, its vocabulary), for every coded field of :mod:`redif.model`.
CODED_COLUMNS = _coded_columns()


def _code_validator(vocab: Vocabulary, column: str) -> Any:
    def check(_target: Any, value: Any, _old: Any, _initiator: Any) -> Any:
        if value is None or (isinstance(value, str) and value in vocab.codes()):
            return None if value is None else str(value)
        raise InputError(f"unknown {vocab.name} code", field=column, value=value,
                         remedy=f"use one of: {', '.join(vocab.codes())}")

    return check


for (_form, _name), (_attr, _vocab) in CODED_COLUMNS.items():
    event.listen(_attr, "set", _code_validator(_vocab, _name), retval=True)
