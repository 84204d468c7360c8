"""Bulk import of patients from JSON or CSV, one transaction per patient.

JSON: a list of objects (or ``{"patients": [...]}``), each with the patient fields of
:class:`redif.registry.schemas.PatientIn` and optionally ``"records": {"genotypes": [...], "courses":
[...], ...}`` keyed like the API. CSV: one patient per row with the patient fields as columns; optional
``gene``, ``variant``, ``fusion_partner`` columns add a genotype.

Every input row is validated before anything is written (a bad row stops the import with an
:class:`InputError` naming the row and field). Each patient and all their records are then committed
in one transaction, after which ``on_commit(pseudonym, patient_id)`` is called: a crash leaves every
acknowledged patient complete and any other patient absent.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redif.errors import InputError
from redif.registry import patients as reg
from redif.registry.access import Principal, Role
from redif.registry.db import Database
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
)


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
    """Read and validate a JSON or CSV import file (by extension)."""
    if not path.exists():
        raise InputError("file not found", field="FILE", value=str(path))
    text = path.read_text(encoding="utf-8-sig")
    rows: Any
    if path.suffix.lower() == ".json":
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"not valid JSON (line {exc.lineno}, column {exc.colno})",
                field=str(path),
                remedy="fix the JSON syntax",
            ) from None
        rows = doc.get("patients") if isinstance(doc, dict) else doc
        if not isinstance(rows, list):
            raise InputError('expected a list of patients or {"patients": [...]}', field=str(path))
    elif path.suffix.lower() == ".csv":
        reader = csv.DictReader(io.StringIO(text))
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
    else:
        raise InputError(
            "unsupported file type", field="FILE", value=path.suffix, remedy="give a .json or .csv file"
        )
    return [_validate(i, r) for i, r in enumerate(rows, start=1)]


def import_patients(
    db: Database,
    rows: Iterable[ImportRow],
    *,
    site_code: str | None,
    actor: str = "import",
    on_commit: Callable[[str, int], None] | None = None,
) -> list[int]:
    """Import validated rows, one transaction per patient; return the new patient ids."""
    principal = Principal(user_id=0, username=actor, role=Role.ADMIN, site_id=None)
    ids: list[int] = []
    for row in rows:
        data = row.patient
        if data.site is None:
            if not site_code:
                raise InputError(
                    "no site for this patient",
                    field=f"row {row.number}: site",
                    remedy="give --site CODE or a site column",
                )
            data = data.model_copy(update={"site": site_code})
        with db.write_session(actor=actor) as s:
            try:
                patient = reg.create_patient(s, principal, data)
            except InputError as exc:
                raise InputError(
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
