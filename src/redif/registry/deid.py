"""De-identification: DICOM (PS3.15 Annex E) on ingest, HIPAA Safe Harbor for tabular exports.

DICOM
-----
:func:`deidentify_dataset` applies the **Basic Application Level Confidentiality Profile** with the
**Retain Longitudinal Temporal Information with Modified Dates Option** and the **Retain Patient
Characteristics Option** (the attribute list and actions are the data file
``deid_basic_profile.yaml``, transcribed from PS3.15 Table E.1-1). Actions:

- ``X`` remove; ``Z`` empty; ``D`` dummy value (the registry pseudonym for patient names/IDs);
  ``U`` UID replaced by a keyed hash (``2.25.<int>``), identical for the same UID across files and
  uploads, so series/study/frame-of-reference links survive;
- combined codes (``X/Z``, ``X/D``, ``X/Z/D``, ``Z/D``, ``X/Z/U*``): the least-removing conforming
  choice (``Z`` or ``D`` or ``U``) is used because the IOD type of each attribute is not checked;
- option ``C`` for dates (modified dates): every DA and DT value is shifted by the same whole number
  of days per patient. Because the shift is applied to **every** DA/DT element in the data set (also
  those not listed in the table, such as ``RadiopharmaceuticalStartDateTime``), and times are not
  changed, all intervals — in particular injection-to-scan — are preserved exactly;
- option ``K`` keeps patient characteristics (``PatientSex``, ``PatientAge``, ``PatientSize``,
  ``PatientWeight``, ...), so SUV and dosimetry inputs survive;
- private attributes, curve (50xx) and overlay comments/data (60xx) are removed; sequences are
  processed recursively; ``PatientIdentityRemoved``, ``DeidentificationMethod(CodeSequence)`` and
  ``LongitudinalTemporalInformationModified`` are set.

Pixel data are not cleaned (no burned-in annotation removal): nuclear-medicine PET/SPECT series
rarely carry burned-in text; screen captures should not be uploaded.

Tabular exports
---------------
:func:`safe_harbor_rows` follows the HIPAA Safe Harbor method (45 CFR 164.514(b)(2)): no names,
geographic units, record numbers, or other identifiers; every date reduced to its year or to a
number of days from the patient's own index date; ages over 89 aggregated to "90+"; narrative
free-text fields are left out; pseudonyms and site codes are replaced by export-local labels.

After the summary columns (:data:`SAFE_HARBOR_COLUMNS`) the export has one column per field of every
form of :mod:`redif.model` (:func:`model_columns`, named ``<form>.<field>``, e.g.
``uptake.restored_definition``, ``courses.tsh_stimulation``): a repeating form's cell holds the values of
the patient's records in record order, joined by `` | ``; a date is written as days from the patient's
index date (the first course's start); a coded field holds its code (a value that is not a code of the
field's vocabulary is left empty); identifying fields (``identifier`` in the model: the pseudonym) and the
narrative text fields of :data:`NARRATIVE_FIELDS` are withheld (empty), so the columns are the same for
every export.

References
----------
NEMA. DICOM PS3.15 Security and System Management Profiles, Annex E Attribute Confidentiality
Profiles, Table E.1-1.
US HHS. Guidance Regarding Methods for De-identification of PHI in Accordance with the HIPAA Privacy
Rule, §164.514(b)(2) Safe Harbor.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag, Tag
from sqlalchemy.orm import Session

from redif.data import load_yaml
from redif.model import Field, FieldType, forms, vocabulary
from redif.registry import audit
from redif.registry.access import Permission, Principal, require
from redif.registry.bulk_read import gc_paused, read_patients

__all__ = [
    "NARRATIVE_FIELDS",
    "DeidRule",
    "basic_profile_rules",
    "csv_cell",
    "date_shift_days",
    "deidentify_dataset",
    "effective_action",
    "export_safe_harbor",
    "injection_to_scan_h",
    "model_columns",
    "remap_uid",
    "safe_harbor_csv",
    "safe_harbor_rows",
]

PROFILE_FILE = "deid_basic_profile.yaml"
METHOD_TEXT = (
    "redif: DICOM PS3.15 Annex E Basic Application Level Confidentiality Profile; "
    "Retain Longitudinal Temporal Information with Modified Dates Option; "
    "Retain Patient Characteristics Option"
)


@dataclass(frozen=True)
class DeidRule:
    """One row of Table E.1-1 (explicit tag), with the option actions this profile uses."""

    tag: int
    keyword: str
    basic: str
    retain_patient_characteristics: str | None
    retain_longitudinal_modified_dates: str | None


@lru_cache(maxsize=1)
def basic_profile_rules() -> dict[int, DeidRule]:
    """Explicit-tag rules of the profile, by tag value."""
    doc = load_yaml(PROFILE_FILE)
    out: dict[int, DeidRule] = {}
    for a in doc["attributes"]:
        m = re.fullmatch(r"\(([0-9A-Fa-f]{4}),([0-9A-Fa-f]{4})\)", a["tag"])
        if not m:
            continue
        tag = int(m.group(1) + m.group(2), 16)
        out[tag] = DeidRule(
            tag,
            a.get("keyword", ""),
            str(a["basic"]).replace("\\", ""),
            a.get("retain_patient_characteristics"),
            a.get("retain_longitudinal_modified_dates"),
        )
    return out


def effective_action(rule: DeidRule) -> str:
    """The single action applied for a rule under the two options (``X``, ``Z``, ``D``, ``U``, ``K``,
    ``C``)."""
    if rule.retain_patient_characteristics:
        return rule.retain_patient_characteristics
    if rule.retain_longitudinal_modified_dates:
        return rule.retain_longitudinal_modified_dates
    basic = rule.basic
    if "U" in basic:
        return "U"
    if "D" in basic:
        return "D"
    if "Z" in basic:
        return "Z"
    return basic


def remap_uid(uid: str, key: bytes) -> str:
    """Replace a UID by ``2.25.<decimal of 128 bits of HMAC-SHA256(key, uid)>`` (PS3.5 §B.2)."""
    digest = hmac.new(key, uid.encode(), hashlib.sha256).digest()[:16]
    return "2.25." + str(int.from_bytes(digest, "big"))


def date_shift_days(key: bytes, patient_key: str, *, min_days: int = 365, max_days: int = 3650) -> int:
    """A per-patient date shift (negative whole days) derived from a secret key."""
    digest = hmac.new(key, b"date-shift:" + patient_key.encode(), hashlib.sha256).digest()
    span = max_days - min_days + 1
    return -(min_days + int.from_bytes(digest[:8], "big") % span)


def _shift_da(value: str, days: int) -> str | None:
    v = value.strip()
    if not re.fullmatch(r"\d{8}", v):
        return None
    try:
        d = datetime.strptime(v, "%Y%m%d").date()
    except ValueError:
        return None
    return (d + timedelta(days=days)).strftime("%Y%m%d")


def _shift_dt(value: str, days: int) -> str | None:
    v = value.strip()
    m = re.fullmatch(r"(\d{8})(.*)", v)
    if not m:
        return None
    head = _shift_da(m.group(1), days)
    return None if head is None else head + m.group(2)


def _shift_value(value: Any, vr: str, days: int) -> Any:
    fn = _shift_da if vr == "DA" else _shift_dt
    if value is None or value == "":
        return value
    items = (
        list(value)
        if isinstance(value, list | tuple) or (hasattr(value, "__iter__") and not isinstance(value, str))
        else [value]
    )
    out = []
    for item in items:
        shifted = fn(str(item), days)
        if shifted is None:
            return ""  # unparseable date: empty it rather than leak it
        out.append(shifted)
    return out if len(out) > 1 else out[0]


_DUMMY = {
    "DA": "19000101",
    "DT": "19000101000000",
    "TM": "000000",
    "PN": "ANONYMOUS",
    "LO": "ANONYMOUS",
    "SH": "ANON",
    "CS": "ANON",
    "AE": "ANON",
    "LT": "ANONYMOUS",
    "ST": "ANONYMOUS",
    "UT": "ANONYMOUS",
    "IS": "0",
    "DS": "0",
    "AS": "000Y",
    "UI": "2.25.0",
}


def _dummy(vr: str) -> Any:
    return _DUMMY.get(vr, "")


@dataclass(frozen=True)
class _Ctx:
    pseudonym: str
    shift_days: int
    uid_key: bytes
    rules: dict[int, DeidRule]


_PSEUDONYM_KEYWORDS = {"PatientName", "PatientID"}


def _process(ds: Dataset, ctx: _Ctx) -> None:
    for elem in list(ds):
        tag: BaseTag = elem.tag
        if tag.is_private:
            del ds[tag]
            continue
        group = tag.group
        if (0x5000 <= group <= 0x501E and group % 2 == 0) or (
            0x6000 <= group <= 0x601E and group % 2 == 0 and tag.element in (0x3000, 0x4000)
        ):
            del ds[tag]
            continue
        rule = ctx.rules.get(int(tag))
        vr = elem.VR
        if rule is None:
            if vr == "SQ":
                for item in elem.value or []:
                    _process(item, ctx)
            elif vr in ("DA", "DT"):
                elem.value = _shift_value(elem.value, vr, ctx.shift_days)
            continue
        action = effective_action(rule)
        if vr == "SQ" and action in ("U", "K", "C"):
            for item in elem.value or []:
                _process(item, ctx)
            continue
        if action == "X":
            del ds[tag]
        elif action == "Z":
            elem.value = Sequence([]) if vr == "SQ" else ("" if vr not in ("US", "SS", "UL", "SL") else None)
        elif action == "D":
            if rule.keyword in _PSEUDONYM_KEYWORDS:
                elem.value = ctx.pseudonym
            elif vr == "SQ":
                elem.value = Sequence([])
            else:
                elem.value = _dummy(vr)
        elif action == "U":
            if elem.value:
                if isinstance(elem.value, list | tuple) or (
                    hasattr(elem.value, "__iter__") and not isinstance(elem.value, str)
                ):
                    elem.value = [remap_uid(str(u), ctx.uid_key) for u in elem.value]
                else:
                    elem.value = remap_uid(str(elem.value), ctx.uid_key)
        elif action == "C":
            if vr in ("DA", "DT"):
                elem.value = _shift_value(elem.value, vr, ctx.shift_days)
            elif vr == "TM":
                pass  # whole-day shifts leave times unchanged
            elif vr == "SQ":
                for item in elem.value or []:
                    _process(item, ctx)
            else:
                elem.value = _dummy(vr)
        elif action == "K":
            if vr == "SQ":
                for item in elem.value or []:
                    _process(item, ctx)
        else:  # unknown code: remove (deny by default)
            del ds[tag]


def deidentify_dataset(ds: Dataset, *, pseudonym: str, shift_days: int, uid_key: bytes) -> Dataset:
    """De-identify ``ds`` in place (and return it); see the module docstring for the rules.

    Parameters
    ----------
    pseudonym
        The registry pseudonym written into PatientName and PatientID.
    shift_days
        Whole days added to every date (same value for all of one patient's files).
    uid_key
        Secret key of the UID remapping (same key for the whole registry).
    """
    ctx = _Ctx(pseudonym, shift_days, uid_key, basic_profile_rules())
    _process(ds, ctx)
    ds.PatientName = pseudonym
    ds.PatientID = pseudonym
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = METHOD_TEXT[:64]
    codes = load_yaml(PROFILE_FILE).get("method_codes", [])
    seq = []
    for c in codes:
        item = Dataset()
        item.CodeValue = str(c["code"])
        item.CodingSchemeDesignator = "DCM"
        item.CodeMeaning = str(c["meaning"])[:64]
        seq.append(item)
    ds.DeidentificationMethodCodeSequence = Sequence(seq)
    ds.LongitudinalTemporalInformationModified = "MODIFIED"
    meta = getattr(ds, "file_meta", None)
    if isinstance(meta, FileMetaDataset):
        if "SOPInstanceUID" in ds:
            meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        for kw in (
            "SourceApplicationEntityTitle",
            "SendingApplicationEntityTitle",
            "ReceivingApplicationEntityTitle",
            "PrivateInformationCreatorUID",
            "PrivateInformation",
        ):
            if kw in meta:
                del meta[kw]
    return ds


def _parse_dt(date_s: str | None, time_s: str | None) -> datetime | None:
    if not date_s:
        return None
    ds = str(date_s).strip()[:8]
    ts = re.sub(r"[^0-9.]", "", str(time_s or "").strip())
    whole, _, frac = ts.partition(".")
    whole = (whole + "000000")[:6]
    try:
        base = datetime.strptime(ds + whole, "%Y%m%d%H%M%S")
    except ValueError:
        return None
    if frac:
        base += timedelta(seconds=float("0." + frac))
    return base


def injection_to_scan_h(ds: Dataset) -> float | None:
    """Hours from the radiopharmaceutical start to the acquisition (``None`` when not determinable).

    Start: ``RadiopharmaceuticalStartDateTime``, else ``SeriesDate`` + ``RadiopharmaceuticalStartTime``.
    Scan: ``AcquisitionDateTime``, else ``AcquisitionDate``/``AcquisitionTime``, else
    ``SeriesDate``/``SeriesTime``.
    """
    seq = ds.get("RadiopharmaceuticalInformationSequence")
    if not seq:
        return None
    info = seq[0]
    start_dt = info.get("RadiopharmaceuticalStartDateTime")
    if start_dt:
        s = str(start_dt)
        start = _parse_dt(s[:8], s[8:])
    else:
        start = _parse_dt(ds.get("SeriesDate"), info.get("RadiopharmaceuticalStartTime"))
    acq_dt = ds.get("AcquisitionDateTime")
    if acq_dt:
        a = str(acq_dt)
        scan = _parse_dt(a[:8], a[8:])
    elif ds.get("AcquisitionDate"):
        scan = _parse_dt(ds.get("AcquisitionDate"), ds.get("AcquisitionTime"))
    else:
        scan = _parse_dt(ds.get("SeriesDate"), ds.get("SeriesTime"))
    if start is None or scan is None:
        return None
    return (scan - start).total_seconds() / 3600.0


# --------------------------------------------------------------------------------------------------
# HIPAA Safe Harbor tabular export
# --------------------------------------------------------------------------------------------------

SAFE_HARBOR_COLUMNS = (
    "export_id",
    "site",
    "sex",
    "birth_year",
    "age_group_90_plus",
    "histology",
    "genes",
    "variants",
    "n_courses",
    "drugs",
    "first_course_year",
    "days_drug_before_uptake",
    "uptake_restored",
    "max_lesion_dose_gy",
    "total_131i_activity_gbq",
    "best_overall_response",
    "pfs_event",
    "pfs_days_from_first_course",
    "follow_up_days_from_first_course",
    "max_ctcae_grade",
)

_BEST_ORDER = ("CR", "PR", "SD", "NON_CR_NON_PD", "PD", "NE")

#: Narrative free-text fields ``(form, field)``: they may hold names, places or dates, so Safe Harbor
#: withholds them (their columns stay, empty).
NARRATIVE_FIELDS: frozenset[tuple[str, str]] = frozenset({
    ("rai-history", "indication"),
    ("administrations", "post_therapy_scan"),
    ("responses", "fdg_pet"),
    ("dosimetry", "lesion_label"),
})


def model_columns() -> tuple[tuple[str, Field], ...]:
    """``(column name, model field)`` of every field of every form, in the model's order."""
    return tuple((f"{frm.name}.{fld.name}", fld) for frm in forms() for fld in frm.fields)


def _field_value(fld: Field, value: Any, index: date | None, age90: bool) -> Any:
    """One value of a model field as Safe Harbor lets it out (``None`` when withheld)."""
    if value is None or fld.identifier or (fld.form, fld.name) in NARRATIVE_FIELDS:
        return None
    if fld.type is FieldType.DATE:
        d = _d(value)
        return (d - index).days if d and index else None
    if fld.type is FieldType.CODED:
        assert fld.vocabulary is not None
        return str(value) if str(value) in vocabulary(fld.vocabulary).codes() else None
    if fld.form == "patient" and fld.name == "birth_year":
        return None if age90 else value
    return value


# How :func:`_model_cells` turns one value of a column into its cell (the cases of :func:`_field_value`).
_WITHHELD, _CODED, _DATE, _OTHER = 0, 1, 2, 3

#: One model column: (column name, field, how, codes of a coded field or ``None``).
_Entry = tuple[str, Field, int, frozenset[str] | None]
#: The model columns grouped by form, in the model's order: (form name, its columns, all-empty cells).
_Plan = tuple[tuple[str, tuple[_Entry, ...], dict[str, None]], ...]


def _column_plan() -> _Plan:
    """:func:`model_columns` grouped by form, with what :func:`_field_value` looks up for every value
    looked up once per export."""
    groups: dict[str, list[_Entry]] = {}
    for column, fld in model_columns():
        codes = None
        if fld.identifier or (fld.form, fld.name) in NARRATIVE_FIELDS:
            how = _WITHHELD
        elif fld.type is FieldType.CODED:
            assert fld.vocabulary is not None
            how, codes = _CODED, frozenset(vocabulary(fld.vocabulary).codes())
        elif fld.type is FieldType.DATE:
            how = _DATE
        else:
            how = _OTHER  # birth_year and plain values: _field_value decides
        groups.setdefault(fld.form, []).append((column, fld, how, codes))
    return tuple((form, tuple(items), dict.fromkeys(c for c, *_ in items)) for form, items in groups.items())


def _plan_value(entry: _Entry, value: Any, index: date | None, age90: bool) -> Any:
    """:func:`_field_value` with the field's lookups done beforehand (same result)."""
    how = entry[2]
    if value is None or how == _WITHHELD:
        return None
    codes = entry[3]
    if codes is not None:  # a coded field
        return str(value) if str(value) in codes else None
    if how == _DATE:
        d = _d(value)
        return (d - index).days if d and index else None
    return _field_value(entry[1], value, index, age90)


def _model_cells(
    p: dict[str, Any], site: str, index: date | None, age90: bool, plan: _Plan | None = None
) -> dict[str, Any]:
    recs = p.get("records", {})
    out: dict[str, Any] = {}
    for form, entries, empty in plan if plan is not None else _column_plan():
        if form == "patient":
            for entry in entries:
                name = entry[1].name
                out[entry[0]] = site if name == "site" else _plan_value(entry, p.get(name), index, age90)
            continue
        items = recs.get(form, [])
        if not items:
            out.update(empty)
            continue
        for entry in entries:
            name = entry[1].name
            values = [_plan_value(entry, r.get(name), index, age90) for r in items]
            if len(values) > 1:  # record order kept: an empty slot where a record has no value
                out[entry[0]] = " | ".join("" if v is None else str(v) for v in values)
            else:
                out[entry[0]] = values[0]
    return out


def _d(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def safe_harbor_rows(
    patients: Iterable[dict[str, Any]], *, export_date: date | None = None
) -> list[dict[str, Any]]:
    """One de-identified row per patient (dicts as produced by ``patient_to_dict``)."""
    export_date = export_date or date.today()
    site_labels: dict[str, str] = {}
    rows = []
    plan = _column_plan()
    for i, p in enumerate(patients, start=1):
        recs = p.get("records", {})
        site = site_labels.setdefault(str(p.get("site")), f"S{len(site_labels) + 1}")
        by = p.get("birth_year")
        age90 = by is not None and export_date.year - int(by) > 89
        courses = recs.get("courses", [])
        starts = sorted(d for d in (_d(c.get("start_date")) for c in courses) if d)
        index = starts[0] if starts else None
        prog = _d(p.get("progression_date"))
        fu = _d(p.get("last_follow_up_date"))
        lesion_doses = [
            r["absorbed_dose_gy"]
            for r in recs.get("dosimetry", [])
            if r.get("kind") == "lesion" and r.get("absorbed_dose_gy") is not None
        ]
        responses = [
            r.get("overall_response") for r in recs.get("responses", []) if r.get("overall_response")
        ]
        best = min(responses, key=_BEST_ORDER.index) if responses else None
        uptake = [u.get("restored") for u in recs.get("uptake", []) if u.get("restored") is not None]
        rows.append(
            {
                "export_id": f"R{i:05d}",
                "site": site,
                "sex": p.get("sex"),
                "birth_year": None if age90 or by is None else int(by),
                "age_group_90_plus": bool(age90),
                "histology": p.get("histology"),
                "genes": ";".join(sorted({g["gene"] for g in recs.get("genotypes", [])})),
                "variants": ";".join(
                    sorted(
                        {g.get("variant") or g.get("fusion_partner") or "" for g in recs.get("genotypes", [])}
                        - {""}
                    )
                ),
                "n_courses": len(courses),
                "drugs": ";".join(sorted({c["drugs"] for c in courses})),
                "first_course_year": index.year if index and not age90 else None,
                "days_drug_before_uptake": next(
                    (c.get("days_before_uptake") for c in courses if c.get("days_before_uptake") is not None),
                    None,
                ),
                "uptake_restored": any(uptake) if uptake else None,
                "max_lesion_dose_gy": max(lesion_doses) if lesion_doses else None,
                "total_131i_activity_gbq": sum(a["activity_gbq"] for a in recs.get("administrations", []))
                if recs.get("administrations")
                else None,
                "best_overall_response": best,
                "pfs_event": prog is not None,
                "pfs_days_from_first_course": (prog - index).days if prog and index else None,
                "follow_up_days_from_first_course": (fu - index).days if fu and index else None,
                "max_ctcae_grade": max(
                    (a["ctcae_grade"] for a in recs.get("adverse-events", [])), default=None
                ),
                **_model_cells(p, site, index, age90, plan),
            }
        )
    return rows


#: First characters that make a spreadsheet read a cell as a formula (OWASP "CSV Injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A value made safe for a CSV cell that a spreadsheet will open (formula injection).

    Rule: a **text** value (``str``) that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
    return is prefixed with a single quote, so that spreadsheets show it as text instead of running it as
    a formula. Numbers (``int``, ``float``, ``bool``) are written unchanged, so a negative number such as
    ``-1.5`` (e.g. a day count before the first course) stays a number. ``None`` is an empty cell.

    References
    ----------
    OWASP, "CSV Injection" (https://owasp.org/www-community/attacks/CSV_Injection).
    """
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def safe_harbor_csv(patients: Iterable[dict[str, Any]], *, export_date: date | None = None) -> str:
    """:func:`safe_harbor_rows` as CSV text with a header; text cells pass through :func:`csv_cell`.

    Records end with CRLF (RFC 4180 §2), so that the writer also quotes any cell holding a carriage
    return or a line feed (with ``"\\n"`` alone, a bare carriage return inside a cell split the record).
    """
    buf = io.StringIO()
    fieldnames = [*SAFE_HARBOR_COLUMNS, *(name for name, _ in model_columns())]
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(fieldnames)
    start = _FORMULA_START
    for row in safe_harbor_rows(patients, export_date=export_date):
        values = [row[k] for k in fieldnames]  # every row has exactly these keys
        # csv_cell, inlined (this loop runs once per cell of the export)
        w.writerow([
            ("'" + v if v.startswith(start) else v) if isinstance(v, str) else ("" if v is None else v)
            for v in values
        ])
    return buf.getvalue()


def export_safe_harbor(
    session: Session, principal: Principal, *, q: str | None = None, export_date: date | None = None
) -> tuple[str, int]:
    """Every patient in the principal's scope (matching ``q``) as the Safe Harbor CSV
    (:func:`safe_harbor_csv`), read in bulk (:func:`redif.registry.bulk_read.read_patients`: a fixed
    number of queries); the export is audited in ``session``'s transaction (a write session).

    Returns
    -------
    tuple
        The CSV text and the number of patients.
    """
    require(principal, Permission.EXPORT)
    with gc_paused():
        items = read_patients(session, principal, q=q)
        text = safe_harbor_csv(items, export_date=export_date)
    audit.record(
        session,
        action="export",
        entity="patients",
        site_id=principal.site_id,
        details={"format": "csv-safe-harbor", "n": len(items)},
    )
    return text, len(items)


_ = (FileMetaDataset, Tag)
