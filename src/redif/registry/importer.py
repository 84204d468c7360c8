"""Bulk import of patients from JSON or CSV, one transaction per patient, resumable.

JSON: a list of objects (or ``{"patients": [...]}``), each with the patient fields of
:class:`redif.registry.schemas.PatientIn` and optionally ``"records": {"genotypes": [...], "courses":
[...], ...}`` keyed like the API. CSV: one patient per row with the patient fields as columns; optional
``gene``, ``variant``, ``fusion_partner`` columns add a genotype. Files must be UTF-8; JSON is read with
the safe loader of :mod:`redif.io.yaml_doc` (size and nesting capped).

The **whole file is checked before anything is written**: every row against the schemas, every
``(site, pseudonym)`` once only, every site known, and every pseudonym already in the registry
compared with its row. A problem stops the import with an :class:`InputError` naming the row and field.
Each new patient and all their records are then committed in one transaction, after which
``on_commit(pseudonym, patient_id)`` is called: a crash leaves every acknowledged patient complete and
any other patient absent.

Re-runs are idempotent by pseudonym: a patient already stored with exactly the row's fields and records
is skipped (``on_skip(pseudonym, patient_id)``), so a re-run after a crash resumes where it stopped; an
existing patient that differs from its row is an error naming the row and the first differing field.
"""

from __future__ import annotations

import csv
import enum
import io
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from redif.errors import InputError
from redif.io.yaml_doc import MAX_FILE_BYTES, decode_text, load_document
from redif.registry import patients as reg
from redif.registry.access import Principal, Role
from redif.registry.db import Database
from redif.registry.models import Patient, Site
from redif.registry.schemas import RECORD_SCHEMAS, PatientIn, validate_input

__all__ = ["ImportRow", "import_patients", "read_import_file"]

_CSV_PATIENT = (
    "pseudonym",
    "site",
    "sex",
    "birth_year",
    "histology",
    "rai_refractory_criterion",
    "diagnosis_date",
    "progression_date",
    "last_follow_up_date",
    "death_date",
)


#: Patient fields compared with a stored patient (the pseudonym and site are the key).
_STORED_PATIENT_FIELDS = tuple(n for n in PatientIn.model_fields if n not in ("pseudonym", "site"))


@dataclass(frozen=True)
class ImportRow:
    """One validated patient to import."""

    number: int
    patient: PatientIn
    records: dict[str, list[dict[str, Any]]]


def _validate(number: int, obj: Any) -> ImportRow:
    where = f"row {number}: "
    if not isinstance(obj, dict):
        raise InputError("expected an object", field=f"row {number}", value=type(obj).__name__)
    obj = dict(obj)
    records = obj.pop("records", None) or {}
    if not isinstance(records, dict):
        raise InputError("records must be an object keyed by record kind", field=f"{where}records")
    patient = validate_input(PatientIn, obj, where=where)
    clean: dict[str, list[dict[str, Any]]] = {}
    for kind, items in records.items():
        if kind not in RECORD_SCHEMAS:
            raise InputError(
                "unknown record kind",
                field=f"{where}records",
                value=kind,
                remedy="use one of " + ", ".join(RECORD_SCHEMAS),
            )
        if not isinstance(items, list):
            raise InputError("expected a list", field=f"{where}records.{kind}")
        for j, item in enumerate(items):
            validate_input(RECORD_SCHEMAS[kind], item, where=f"{where}records.{kind}[{j}].")
        clean[kind] = list(items)
    return ImportRow(number, patient, clean)


def read_import_file(path: Path) -> list[ImportRow]:
    """Read and validate a JSON or CSV import file (by extension); nothing is written."""
    if not path.exists():
        raise InputError("file not found", field="FILE", value=str(path))
    suffix = path.suffix.lower()
    if suffix not in (".json", ".csv"):
        raise InputError(
            "unsupported file type", field="FILE", value=path.suffix, remedy="give a .json or .csv file"
        )
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror}", field=str(path)) from None
    rows: Any
    if suffix == ".json":
        doc = load_document(raw, field=str(path), max_bytes=MAX_FILE_BYTES, json=True)
        rows = doc.get("patients") if isinstance(doc, dict) else doc
        if not isinstance(rows, list):
            raise InputError('expected a list of patients or {"patients": [...]}', field=str(path))
    else:
        text = decode_text(raw, field=str(path), max_bytes=MAX_FILE_BYTES)
        reader = csv.DictReader(io.StringIO(text, newline=""))
        if not reader.fieldnames or "pseudonym" not in reader.fieldnames:
            raise InputError(
                "CSV header lacks a 'pseudonym' column",
                field=str(path),
                remedy="the first line must name the columns, e.g. pseudonym,sex,birth_year",
            )
        rows = []
        for r in reader:
            obj: dict[str, Any] = {k: v for k, v in r.items() if k in _CSV_PATIENT and v not in (None, "")}
            if r.get("gene"):
                geno = {k: r[k] for k in ("gene", "variant", "fusion_partner") if r.get(k)}
                obj["records"] = {"genotypes": [geno]}
            rows.append(obj)
    return [_validate(i, r) for i, r in enumerate(rows, start=1)]


def _plain(value: Any) -> Any:
    """A value as stored and read back (enums as their value, dates as ISO text)."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    return value


def _record_key(kind: str, item: dict[str, Any]) -> str:
    """A record's schema fields as canonical JSON (for comparing a row with what is stored)."""
    fields = RECORD_SCHEMAS[kind].model_fields
    return json.dumps({k: _plain(item.get(k)) for k in sorted(fields)}, sort_keys=True, default=str)


def _difference(row: ImportRow, stored: dict[str, Any]) -> str | None:
    """The first field in which the stored patient differs from the row, or ``None``."""
    for name in _STORED_PATIENT_FIELDS:
        if _plain(getattr(row.patient, name)) != stored.get(name):
            return name
    for kind in RECORD_SCHEMAS:
        schema = RECORD_SCHEMAS[kind]
        wanted = sorted(
            _record_key(kind, validate_input(schema, item).model_dump()) for item in row.records.get(kind, [])
        )
        have = sorted(_record_key(kind, r) for r in stored["records"].get(kind, []))
        if wanted != have:
            return f"records.{kind}"
    return None


def _plan(
    session: Session, rows: list[ImportRow], site_code: str | None
) -> list[tuple[ImportRow, int | None]]:
    """Check the whole file against itself and the registry; return each row with the id of an identical
    stored patient (to skip) or ``None`` (to create)."""
    sites = {code for (code,) in session.execute(select(Site.code))}
    seen: dict[tuple[str, str], int] = {}
    plan: list[tuple[ImportRow, int | None]] = []
    for row in rows:
        where = f"row {row.number}"
        site = row.patient.site or site_code
        if not site:
            raise InputError("no site for this patient", field=f"{where}: site",
                             remedy="give --site CODE or a site column")
        if site not in sites:
            raise InputError("unknown site", field=f"{where}: site", value=site,
                             remedy="use the code of an existing site")
        key = (site, row.patient.pseudonym)
        if key in seen:
            raise InputError(
                f"pseudonym repeated in this file (first in row {seen[key]})",
                field=f"{where}: pseudonym",
                value=row.patient.pseudonym,
                remedy="give each patient of a site one row",
            )
        seen[key] = row.number
        existing = session.execute(
            select(Patient).join(Site).where(Site.code == site, Patient.pseudonym == row.patient.pseudonym)
        ).scalar_one_or_none()
        if existing is None:
            plan.append((row, None))
            continue
        diff = _difference(row, reg.patient_to_dict(existing))
        if diff is not None:
            raise InputError(
                "pseudonym already in the registry with different values",
                field=f"{where}: {diff}",
                value=row.patient.pseudonym,
                remedy="correct the row, or change the stored patient first (rows equal to the stored "
                "patient are skipped)",
            )
        plan.append((row, existing.id))
    return plan


def import_patients(
    db: Database,
    rows: Iterable[ImportRow],
    *,
    site_code: str | None,
    actor: str = "import",
    on_commit: Callable[[str, int], None] | None = None,
    on_skip: Callable[[str, int], None] | None = None,
) -> list[int]:
    """Import validated rows, one transaction per new patient; return the new patient ids.

    The whole list is checked first (see the module docstring); patients already stored with exactly
    the row's values are skipped and reported through ``on_skip(pseudonym, patient_id)``.
    """
    principal = Principal(user_id=0, username=actor, role=Role.ADMIN, site_id=None)
    with db.session() as s:
        plan = _plan(s, list(rows), site_code)
    ids: list[int] = []
    for row, existing_id in plan:
        if existing_id is not None:
            if on_skip is not None:
                on_skip(row.patient.pseudonym, existing_id)
            continue
        data = row.patient.model_copy(update={"site": row.patient.site or site_code})
        with db.write_session(actor=actor) as s:
            try:
                patient = reg.create_patient(s, principal, data)
            except InputError as exc:
                raise type(exc)(
                    exc.message, field=f"row {row.number}: {exc.field}", value=exc.value, remedy=exc.remedy
                ) from None
            for kind, items in row.records.items():
                for item in items:
                    reg.add_record(s, principal, patient.id, kind, item)
            pid, pseudo = patient.id, patient.pseudonym
        ids.append(pid)
        if on_commit is not None:
            on_commit(pseudo, pid)
    return ids
