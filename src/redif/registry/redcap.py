"""Exchange with REDCap: the registry's records in REDCap's flat import format, and back.

The file is the CSV that REDCap imports and exports for a project built from the data dictionary of
:func:`redif.model.dictionary.redcap` (classic project, every form but ``patient`` a repeating
instrument). Its columns are ``record_id``, ``redcap_repeat_instrument``, ``redcap_repeat_instance``,
then every variable of the dictionary in its order. Each patient has one row for the ``patient``
instrument (repeat columns empty) and one row per instance of each repeating instrument (instances
numbered 1, 2, ... per instrument); a row carries only the variables of its own instrument.

Values are written as REDCap stores them: dates ``YYYY-MM-DD`` (``date_ymd``), booleans ``1``/``0``
(``yesno``), numbers in plain decimal notation, coded fields as the dictionary's choice codes
(:func:`redif.model.dictionary.redcap_choice_codes`). ``record_id`` is a number assigned at export in the
order of (site, pseudonym): it is not the pseudonym, so that REDCap's de-identified exports, which drop
the fields flagged ``Identifier?``, drop the link to the site's key list too. Patients are written in
that order and each instrument's instances in the order of their values, so that the same registry
content always gives the same file.

Import reads such a file (also as REDCap exports it: ``<instrument>_complete`` and
``redcap_data_access_group`` columns are ignored) and **checks every row before writing anything**:
each value against its model field (type, code, range, length, required), each row against the
registry's input schema, and the whole file against the registry (see :mod:`redif.registry.importer`,
which then writes one transaction per patient and skips patients already stored identically, so re-runs
are idempotent by pseudonym). Errors name the row (``row 1`` is the header line, as in a spreadsheet),
and the REDCap variable.

References
----------
REDCap "Repeating Instruments & Events" and the data import template of a project with repeating
instruments (``redcap_repeat_instrument``, ``redcap_repeat_instance``); see also
:mod:`redif.model.dictionary`.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import select

from redif.errors import InputError
from redif.io.yaml_doc import MAX_FILE_BYTES, decode_text
from redif.model.dictionary import (
    REDCAP_RECORD_ID,
    redcap_choice_codes,
    redcap_form_name,
    redcap_variables,
)
from redif.model.fields import Field, FieldType, Form, forms
from redif.model.terms import Vocabulary, vocabularies
from redif.registry import audit
from redif.registry.access import Permission, Principal, Role, require
from redif.registry.bulk_read import gc_paused, read_patients
from redif.registry.db import Database
from redif.registry.importer import ImportRow
from redif.registry.models import Site
from redif.registry.schemas import RECORD_SCHEMAS, PatientIn

__all__ = [
    "EXCHANGE_COLUMNS",
    "RedcapExport",
    "export_redcap",
    "parse_redcap",
    "read_redcap_file",
    "redcap_records",
]

#: The leading columns of REDCap's flat format for a classic project with repeating instruments.
EXCHANGE_COLUMNS: tuple[str, ...] = (REDCAP_RECORD_ID, "redcap_repeat_instrument", "redcap_repeat_instance")
_IGNORED = re.compile(
    r"^(redcap_data_access_group|redcap_survey_identifier|[a-z][a-z0-9_]*_(complete|timestamp))$"
)


@dataclass(frozen=True)
class _Layout:
    """The model seen through the REDCap dictionary: forms, variables and choice codes."""

    forms: tuple[Form, ...]
    variables: dict[tuple[str, str], str]
    instruments: dict[str, Form]
    choices: dict[str, dict[str, str]]  # vocabulary -> code -> raw

    @classmethod
    def of(cls, model_forms: Sequence[Form] | None, vocabs: Mapping[str, Vocabulary] | None) -> _Layout:
        all_forms = tuple(forms() if model_forms is None else model_forms)
        all_vocabs = vocabularies() if vocabs is None else vocabs
        used = {f.vocabulary for form in all_forms for f in form.fields if f.type is FieldType.CODED}
        choices = {name: redcap_choice_codes(all_vocabs[name]) for name in used if name is not None}
        return cls(
            forms=all_forms,
            variables=redcap_variables(all_forms),
            instruments={redcap_form_name(f): f for f in all_forms},
            choices=choices,
        )

    def columns(self) -> list[str]:
        return [*EXCHANGE_COLUMNS, *self.variables.values()]


# ----------------------------------------------------------------------------------------------- export


def _decimal(value: float) -> str:
    return format(Decimal(repr(float(value))), "f")


def _to_redcap(f: Field, value: Any, layout: _Layout, where: str) -> str:
    if value is None or value == "":
        return ""
    if f.type is FieldType.BOOLEAN:
        return "1" if value else "0"
    if f.type is FieldType.INTEGER:
        return str(int(value))
    if f.type is FieldType.NUMBER:
        return _decimal(value)
    if f.type is FieldType.DATE:
        return value.isoformat() if isinstance(value, date) else str(value)
    if f.type is FieldType.CODED:
        raw = layout.choices[str(f.vocabulary)].get(str(value))
        if raw is None:
            raise InputError(
                f"stored value is not a code of the vocabulary {f.vocabulary!r}",
                field=f"{where}{f.name}",
                value=value,
                remedy="map the value to a term of the model first (values the migration could not map "
                "are flagged for review)",
            )
        return raw
    return str(value)


def _sort_key(f: Field, value: Any) -> tuple[int, Any]:
    if value is None or value == "":
        return (0, 0)
    if f.type in (FieldType.INTEGER, FieldType.NUMBER, FieldType.BOOLEAN):
        return (1, float(value))
    return (1, str(value))


def _content_key(form: Form) -> Callable[[Mapping[str, Any]], list[tuple[int, Any]]]:
    """Sort key of a form's records by their values, field by field (ids are random: not an order)."""

    def key(record: Mapping[str, Any]) -> list[tuple[int, Any]]:
        return [_sort_key(f, record.get(f.name)) for f in form.fields]

    return key


def redcap_records(
    patients: Sequence[Mapping[str, Any]],
    model_forms: Sequence[Form] | None = None,
    vocabs: Mapping[str, Vocabulary] | None = None,
) -> str:
    """Patients (as :func:`redif.registry.patients.patient_to_dict` gives them) in REDCap's flat format.

    Raises
    ------
    InputError
        When a stored coded value is not a code of its vocabulary (naming the patient and field).
    """
    layout = _Layout.of(model_forms, vocabs)
    columns = layout.columns()
    at = {c: i for i, c in enumerate(columns)}
    blank = [""] * len(columns)
    # per form: (field, column index, written as stored when text) in field order, and the record sort key
    plan = [
        (
            form,
            redcap_form_name(form),
            [
                (f, at[layout.variables[(form.name, f.name)]], f.type in (FieldType.TEXT, FieldType.DATE))
                for f in form.fields
            ],
            _content_key(form),
        )
        for form in layout.forms
    ]
    instrument_at, instance_at, record_at = (at[c] for c in (
        "redcap_repeat_instrument", "redcap_repeat_instance", REDCAP_RECORD_ID))
    rows: list[list[str]] = [columns]
    ordered = sorted(patients, key=lambda p: (str(p.get("site", "")), str(p.get("pseudonym", ""))))
    for number, patient in enumerate(ordered, start=1):
        where = f"patient {patient.get('site')}/{patient.get('pseudonym')}: "
        record_id = str(number)
        for form, instrument, fields, content_key in plan:
            items: list[Mapping[str, Any]]
            if form.repeating:
                items = list((patient.get("records") or {}).get(form.name, []))
                if len(items) > 1:
                    items.sort(key=content_key)
                prefix = f"{where}{form.name}."
            else:
                items = [patient]
                prefix = where
            for instance, item in enumerate(items, start=1):
                row = blank.copy()
                row[record_at] = record_id
                if form.repeating:
                    row[instrument_at] = instrument
                    row[instance_at] = str(instance)
                for f, i, as_text in fields:
                    value = item.get(f.name)
                    if value is None or value == "":
                        continue
                    # text, and dates read as ISO text, are written as they are (what _to_redcap gives)
                    row[i] = value if as_text and type(value) is str else _to_redcap(f, value, layout, prefix)
                rows.append(row)
    buf = io.StringIO(newline="")
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    return buf.getvalue()


@dataclass(frozen=True)
class RedcapExport:
    """A REDCap export: the file's text, how many patients it holds, and how many stored values of those
    patients await review (free text the migration could not map to a term: kept in the registry's
    review flags, empty in the file until a reviewer picks the code)."""

    text: str
    patients: int
    pending_review: int


def export_redcap(
    db: Database,
    *,
    sites: Sequence[str] = (),
    actor: str = "cli-export",
    principal: Principal | None = None,
) -> RedcapExport:
    """Every patient of the registry (or of ``sites``) in REDCap's flat format; the export is audited.

    The patients are read in bulk (:func:`redif.registry.bulk_read.read_patients`: a fixed number of
    queries). ``principal`` scopes the export like every other (a site role exports its own site only;
    default: the command line's operator, who sees every site).

    Raises
    ------
    InputError
        For a site code that is not in the registry, or a stored value that is not a model code.
    """
    if principal is None:
        principal = Principal(user_id=0, username=actor, role=Role.ADMIN, site_id=None)
    require(principal, Permission.EXPORT)
    with db.write_session(actor=actor) as s:
        known = {code for (code,) in s.execute(select(Site.code))}
        for code in sites:
            if code not in known:
                raise InputError(
                    "unknown site", field="site", value=code, remedy="use the code of a site of the registry"
                )
        with gc_paused():
            items = read_patients(s, principal, sites=sites)
            text = redcap_records(items)
        pending = sum(len(p["review_flags"]) for p in items)
        audit.record(
            s,
            action="export",
            entity="patients",
            site_id=principal.site_id,
            details={"format": "redcap", "n": len(items), "sites": sorted(sites)},
        )
    return RedcapExport(text=text, patients=len(items), pending_review=pending)


# ----------------------------------------------------------------------------------------------- import


def _from_redcap(f: Field, raw: str, layout: _Layout, where: str, variable: str) -> Any:
    """A REDCap value as the model's type, checked against the field (type, code, range, length)."""

    def bad(message: str, remedy: str) -> InputError:
        return InputError(message, field=f"{where}{variable}", value=raw, remedy=remedy)

    if f.type is FieldType.BOOLEAN:
        if raw not in ("0", "1"):
            raise bad("not a yes/no value", "use 1 (yes) or 0 (no)")
        return raw == "1"
    if f.type is FieldType.CODED:
        codes = {r: c for c, r in layout.choices[str(f.vocabulary)].items()}
        if raw not in codes:
            raise bad(f"not a choice of {f.vocabulary}", "use one of " + ", ".join(codes))
        return codes[raw]
    if f.type is FieldType.DATE:
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
                raise ValueError
            return date.fromisoformat(raw).isoformat()
        except ValueError:
            raise bad("not a date", "use YYYY-MM-DD (REDCap date_ymd)") from None
    if f.type in (FieldType.INTEGER, FieldType.NUMBER):
        try:
            number: float = int(raw) if f.type is FieldType.INTEGER else float(raw)
        except ValueError:
            kind = "an integer" if f.type is FieldType.INTEGER else "a number"
            raise bad(f"not {kind}", f"give {kind} without unit or thousands separator") from None
        if not math.isfinite(number):
            raise bad("not a finite number", "give a finite number")
        if (f.minimum is not None and number < f.minimum) or (f.maximum is not None and number > f.maximum):
            raise bad(
                f"outside the allowed range {f.minimum} to {f.maximum}" + (f" {f.unit}" if f.unit else ""),
                "correct the value",
            )
        return number
    if f.max_length is not None and len(raw) > f.max_length:
        raise bad(f"longer than {f.max_length} characters", "shorten the text")
    return raw


def _schema_check(
    schema: type[BaseModel], data: dict[str, Any], where: str, names: Mapping[str, str]
) -> None:
    try:
        schema.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [str(p) for p in err.get("loc", ())]
        name = names.get(loc[0], loc[0]) if loc else ""
        value = err.get("input")
        raise InputError(
            str(err.get("msg", "invalid value")),
            field=f"{where}{name}",
            value=None if isinstance(value, dict) else value,
            remedy="correct the value and retry",
        ) from None


@dataclass
class _Record:
    row: int
    patient: dict[str, Any] | None
    records: dict[str, list[tuple[int, dict[str, Any]]]]


def _read_rows(text: str, layout: _Layout, source: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise InputError("empty file", field=source, remedy="give a REDCap CSV with a header line") from None
    except csv.Error as exc:
        raise InputError(f"not a CSV file: {exc}", field=source) from None
    header = [h.strip() for h in header]
    known = set(layout.columns())
    for i, name in enumerate(header, start=1):
        if name not in known and not _IGNORED.match(name):
            raise InputError(
                "unknown column (not a variable of the redif data dictionary)",
                field=f"{source}: column {i}",
                value=name,
                remedy="export the data from a project built with `redif dictionary export "
                "--format redcap`, or remove the column",
            )
    if len(set(header)) != len(header):
        raise InputError(
            "a column is repeated",
            field=f"{source}: header",
            value=", ".join(sorted({h for h in header if header.count(h) > 1})),
        )
    missing = [c for c in EXCHANGE_COLUMNS if c not in header]
    if missing:
        raise InputError(
            "column missing",
            field=f"{source}: header",
            value=", ".join(missing),
            remedy="keep record_id, redcap_repeat_instrument and redcap_repeat_instance",
        )
    out: list[tuple[int, dict[str, str]]] = []
    try:
        for number, values in enumerate(reader, start=2):
            if not any(v.strip() for v in values):
                continue
            if len(values) != len(header):
                raise InputError(
                    f"{len(values)} values for {len(header)} columns",
                    field=f"row {number}",
                    remedy="quote values that contain commas",
                )
            out.append((number, {h: v.strip() for h, v in zip(header, values, strict=True) if h in known}))
    except csv.Error as exc:
        raise InputError(f"not a CSV file: {exc}", field=f"{source}: line {reader.line_num}") from None
    return header, out


def parse_redcap(
    text: str,
    *,
    site_code: str | None = None,
    source: str = "FILE",
    model_forms: Sequence[Form] | None = None,
    vocabs: Mapping[str, Vocabulary] | None = None,
) -> list[ImportRow]:
    """Read and check a REDCap flat file; return one :class:`ImportRow` per record. Nothing is written.

    Parameters
    ----------
    site_code
        The site of every patient: a row whose ``site`` is empty gets it, a row naming another site is an
        error.
    source
        How errors name the file.
    """
    layout = _Layout.of(model_forms, vocabs)
    _, rows = _read_rows(text, layout, source)
    by_record: dict[str, _Record] = {}
    for number, row in rows:
        where = f"row {number}: "
        record_id = row.get(REDCAP_RECORD_ID, "")
        if not record_id:
            raise InputError(
                "record_id is empty",
                field=f"{where}{REDCAP_RECORD_ID}",
                remedy="give every row the record_id of its patient",
            )
        instrument = row.get("redcap_repeat_instrument", "")
        instance = row.get("redcap_repeat_instance", "")
        if instrument:
            form = layout.instruments.get(instrument)
            if form is None or not form.repeating:
                raise InputError(
                    "not a repeating instrument of the dictionary",
                    field=f"{where}redcap_repeat_instrument",
                    value=instrument,
                    remedy="use one of " + ", ".join(n for n, f in layout.instruments.items() if f.repeating),
                )
            if not re.fullmatch(r"[1-9][0-9]{0,5}", instance):
                raise InputError(
                    "not an instance number",
                    field=f"{where}redcap_repeat_instance",
                    value=instance,
                    remedy="number the instances 1, 2, ...",
                )
        else:
            if instance:
                raise InputError(
                    "instance without a repeating instrument",
                    field=f"{where}redcap_repeat_instance",
                    value=instance,
                    remedy="name the instrument in redcap_repeat_instrument, or leave both empty",
                )
            form = next(f for f in layout.forms if not f.repeating)
        values: dict[str, Any] = {}
        names: dict[str, str] = {}
        for other in layout.forms:
            for f in other.fields:
                variable = layout.variables[(other.name, f.name)]
                raw = row.get(variable, "")
                if other is form and not form.repeating and f.name == "site" and not raw and site_code:
                    raw = site_code  # the file need not name the site that --site gives
                if other is not form:
                    if raw:
                        raise InputError(
                            f"a value of instrument {redcap_form_name(other)!r} on a row of "
                            f"{redcap_form_name(form)!r}",
                            field=f"{where}{variable}",
                            value=raw,
                            remedy="put each instrument's values on its own rows",
                        )
                    continue
                names[f.name] = variable
                if not raw:
                    if f.required:
                        raise InputError(
                            "required value missing", field=f"{where}{variable}", remedy="fill in the value"
                        )
                    continue
                values[f.name] = _from_redcap(f, raw, layout, where, variable)
        rec = by_record.setdefault(record_id, _Record(number, None, {}))
        if form.repeating:
            schema = RECORD_SCHEMAS.get(form.name)
            if schema is None:
                raise InputError(
                    "the registry does not store this instrument yet",
                    field=f"{where}redcap_repeat_instrument",
                    value=instrument,
                )
            _schema_check(schema, values, where, names)
            items = rec.records.setdefault(form.name, [])
            if any(int(instance) == i for i, _ in items):
                raise InputError(
                    f"instance repeated for record {record_id!r}",
                    field=f"{where}redcap_repeat_instance",
                    value=instance,
                    remedy="number the instances of an instrument 1, 2, ... once each",
                )
            items.append((int(instance), values))
        else:
            if rec.patient is not None:
                raise InputError(
                    f"record {record_id!r} has a second {redcap_form_name(form)!r} row "
                    f"(first in row {rec.row})",
                    field=f"{where}{REDCAP_RECORD_ID}",
                    value=record_id,
                    remedy="give each record one row of this instrument",
                )
            row_site = values.get("site")
            if site_code and row_site and row_site != site_code:
                raise InputError(
                    "site differs from --site",
                    field=f"{where}{names.get('site', 'site')}",
                    value=row_site,
                    remedy=f"import this site's rows with --site {row_site}, or correct the site",
                )
            _schema_check(PatientIn, values, where, names)
            rec.patient, rec.row = values, number
    out: list[ImportRow] = []
    for record_id, rec in by_record.items():
        if rec.patient is None:
            raise InputError(
                f"record {record_id!r} has no {redcap_form_name(layout.forms[0])!r} row",
                field=f"row {rec.row}: {REDCAP_RECORD_ID}",
                value=record_id,
                remedy="add the patient's row (with the pseudonym) for this record",
            )
        records = {
            kind: [v for _, v in sorted(items, key=lambda x: x[0])] for kind, items in rec.records.items()
        }
        out.append(ImportRow(rec.row, PatientIn.model_validate(rec.patient), records))
    return out


def read_redcap_file(path: Path, *, site_code: str | None = None) -> list[ImportRow]:
    """Read and check a REDCap flat CSV file (:func:`parse_redcap`); nothing is written."""
    if not path.exists():
        raise InputError("file not found", field="FILE", value=str(path))
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror}", field=str(path)) from None
    text = decode_text(raw, field=str(path), max_bytes=MAX_FILE_BYTES)
    return parse_redcap(text, site_code=site_code, source=str(path))
