"""The redifferentiation evidence base: loading, validation and merging of a user's own studies.

The built-in base is ``redif/data/evidence_studies.yaml`` (curated from the publications each record
cites; docs/methods/sources-and-grades.md).
A user adds studies from a CSV or YAML file (a living review); those records are validated by the same
rules and merged. Outcome tables for pooling are built by :mod:`redif.evidence.tables`.

Validation rules (each raises :class:`~redif.errors.InputError` naming the file, the ``row_id`` and the
field):

- ``row_id`` present and unique (also against the built-in base); ``label``, ``source`` present;
- ``genotype``, ``row_type``, ``grade``, uptake ``definition`` are known values (see
  :mod:`redif.evidence.enums`);
- counts are non-negative integers, optionally flagged ``derived`` or ``unverified``;
- restored <= evaluable <= enrolled; treated <= enrolled; response denominator <= enrolled;
- CR + PR + SD + PD = response denominator when all five are given (their sum may not exceed it otherwise);
- ``trial`` (the trial of an arm reported as its own record) and ``part_of`` are not both given;
- ``part_of`` names an existing overall record; when the parts of a record report the same uptake
  definition and their evaluable counts add up to the whole's, their restored counts must add up too.

References
----------
.. [1] docs/methods/sources-and-grades.md: the evidence table, its grades and the rule that rows graded
   unverified or unreliable-secondary stay out of default analyses.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import yaml

from redif.data import data_path
from redif.errors import InputError
from redif.evidence.enums import (
    CountFlag,
    EvidenceGrade,
    GenotypeGroup,
    RowType,
    UptakeDefinition,
    display,
)
from redif.evidence.model import Count, Identifier, StudyArm, UptakeOutcome
from redif.io.yaml_doc import MAX_FILE_BYTES, load_document

__all__ = [
    "BUILTIN_FILE",
    "CSV_COLUMNS",
    "EvidenceBase",
    "load_evidence",
    "merge_studies",
    "parse_study",
    "read_studies_file",
    "validate_studies",
]

#: The curated evidence base shipped with redif (``redif.data.data_path(BUILTIN_FILE)``).
BUILTIN_FILE = "evidence_studies.yaml"

_E = TypeVar("_E", RowType, GenotypeGroup, EvidenceGrade, UptakeDefinition)

_ALIASES: dict[str, str] = {
    # the source table's spellings -> enum values
    "primary-abstract": "primary",
    "case reports": "case report",
    "subgroup": "genotype subgroup",
    "overall": "study overall",
    "mixed": "mixed/unselected",
    "unselected": "mixed/unselected",
    "braf": "BRAF V600E",
    "braf v600e": "BRAF V600E",
    "braf-wt": "BRAF wild-type",
    "ret": "RET fusion",
    "ntrk": "NTRK fusion",
    "other/unknown": "other",
}

_TEXT_FIELDS = (
    "label", "short_label", "first_author", "year", "journal", "design", "setting", "genotype_detail",
    "regimen", "dose", "total_drug_duration", "uptake_assessment_method", "tsh_stimulation",
    "dosimetry_threshold", "activity_note", "response_denominator_basis", "response_timepoint",
    "tg_response", "pfs", "adverse_events", "part_of", "verification_detail", "notes", "source", "trial",
)
_COUNT_FIELDS = (
    "n_enrolled", "n_evaluable", "n_treated_131i", "n_started_drug", "recist_cr", "recist_pr", "recist_sd",
    "recist_pd", "response_denominator",
)
_FLAT_UPTAKE = ("uptake_definition", "n_uptake_restored", "n_uptake_evaluable", "uptake_percent_reported",
                "uptake_note")
_OTHER_FIELDS = (
    "row_id", "row_type", "genotype", "grade", "pmid", "doi", "registry_ids", "randomised", "drugs",
    "weeks_drug_before_uptake_assessment", "activity_gbq", "lesional_dosimetry", "uptake",
    "results_reported",
)
_KNOWN = frozenset(_TEXT_FIELDS + _COUNT_FIELDS + _FLAT_UPTAKE + _OTHER_FIELDS)

#: Columns of a user's CSV file, in the order of ``examples/extra_studies.csv``.
CSV_COLUMNS: tuple[str, ...] = (
    "row_id", "row_type", "label", "short_label", "first_author", "year", "journal", "pmid", "doi",
    "registry_ids", "design", "randomised", "setting", "genotype", "genotype_detail", "drugs", "dose",
    "weeks_drug_before_uptake_assessment", "total_drug_duration", "uptake_assessment_method",
    "tsh_stimulation", "lesional_dosimetry", "dosimetry_threshold", "activity_gbq", "activity_note",
    "n_enrolled", "n_evaluable", "uptake_definition", "n_uptake_restored", "n_uptake_evaluable",
    "uptake_percent_reported", "uptake_note", "n_treated_131i", "recist_cr", "recist_pr", "recist_sd",
    "recist_pd", "response_denominator", "response_denominator_basis", "response_timepoint", "part_of",
    "source", "grade", "verification_detail", "notes", "n_started_drug", "results_reported", "trial",
)

_COUNT_TEXT = re.compile(
    r"^\s*(\d+)\s*(?:\(?\s*(derived|unverified)\s*(?:[:;,]\s*(.*?))?\s*\)?)?\s*$", re.IGNORECASE
)
_UNVERIFIED_MARK = re.compile(r"\s*\(\s*unverified[^)]*\)\s*$", re.IGNORECASE)


class _Ctx:
    """Where a record came from, for error messages."""

    def __init__(self, origin: str, row_id: str) -> None:
        self.origin = origin
        self.row_id = row_id

    def error(self, field: str, message: str, value: object = None, remedy: str | None = None) -> InputError:
        return InputError(
            f"{message} [{self.origin}]", field=f"row {self.row_id}, {field}", value=value, remedy=remedy
        )


def _blank(raw: object) -> bool:
    if raw is None:
        return True
    if isinstance(raw, str) and not raw.strip():
        return True
    return isinstance(raw, float) and math.isnan(raw)


def _text(ctx: _Ctx, field: str, raw: object) -> str | None:
    if _blank(raw):
        return None
    if isinstance(raw, Mapping | list):
        raise ctx.error(field, "expected text", raw)
    return str(raw).strip()


def _enum(ctx: _Ctx, cls: type[_E], field: str, raw: object) -> _E:
    if _blank(raw):
        raise ctx.error(field, "is required", remedy=f"use one of: {', '.join(display(m) for m in cls)}")
    text = str(raw).strip()
    text = _ALIASES.get(text.lower(), text)
    for member in cls:
        if member.value.lower() == text.lower() or display(member).lower() == text.lower():
            return member
    raise ctx.error(field, "unknown value", raw, remedy=f"use one of: {', '.join(display(m) for m in cls)}")


def _count(ctx: _Ctx, field: str, raw: object) -> Count | None:
    if _blank(raw):
        return None
    remedy = 'give a whole number >= 0, optionally "N (derived)" or "N (unverified)"'
    if isinstance(raw, Mapping):
        unknown = set(raw) - {"value", "flag", "note"}
        if unknown or "value" not in raw:
            raise ctx.error(field, "a count mapping needs 'value' (and optionally 'flag', 'note')", dict(raw))
        inner = _count(ctx, field, raw["value"])
        if inner is None:
            return None
        flag_raw = raw.get("flag") or "reported"
        try:
            flag = CountFlag(str(flag_raw).strip().lower())
        except ValueError:
            raise ctx.error(field, "unknown count flag", flag_raw,
                            remedy="use reported, derived or unverified") from None
        return Count(inner.value, flag, _text(ctx, field, raw.get("note")))
    if isinstance(raw, bool):
        raise ctx.error(field, "not a count", raw, remedy=remedy)
    if isinstance(raw, int):
        value = raw
        flag, note = CountFlag.REPORTED, None
    elif isinstance(raw, float):
        if not raw.is_integer():
            raise ctx.error(field, "not a whole number", raw, remedy=remedy)
        value, flag, note = int(raw), CountFlag.REPORTED, None
    else:
        match = _COUNT_TEXT.match(str(raw))
        if not match:
            raise ctx.error(field, "not a count", raw, remedy=remedy)
        value = int(match.group(1))
        flag = CountFlag(match.group(2).lower()) if match.group(2) else CountFlag.REPORTED
        note = match.group(3) or None
    if value < 0:
        raise ctx.error(field, "a count cannot be negative", raw, remedy=remedy)
    return Count(value, flag, note)


def _float(ctx: _Ctx, field: str, raw: object, *, upper: float | None = None) -> float | None:
    if _blank(raw):
        return None
    try:
        if isinstance(raw, bool):
            raise ValueError
        value = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ctx.error(field, "not a number", raw, remedy="give a plain number, e.g. 4 or 5.5") from None
    if not math.isfinite(value) or value < 0 or (upper is not None and value > upper):
        bound = f" and <= {upper:g}" if upper is not None else ""
        raise ctx.error(field, f"must be a finite number >= 0{bound}", raw)
    return value


def _bool(ctx: _Ctx, field: str, raw: object) -> bool | None:
    if _blank(raw):
        return None
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in {"yes", "true", "y", "1"}:
        return True
    if text in {"no", "false", "n", "0"}:
        return False
    raise ctx.error(field, "expected yes or no", raw, remedy="write yes, no, or leave blank (unknown)")


def _identifier(ctx: _Ctx, field: str, raw: object) -> Identifier | None:
    if _blank(raw):
        return None
    if isinstance(raw, Mapping):
        unknown = set(raw) - {"value", "unverified", "note"}
        if unknown or _blank(raw.get("value")):
            raise ctx.error(field, "an identifier mapping needs 'value' (optionally 'unverified', 'note')",
                            dict(raw))
        flag = _bool(ctx, field, raw.get("unverified"))
        return Identifier(str(raw["value"]).strip(), bool(flag), _text(ctx, field, raw.get("note")))
    text = str(raw).strip()
    unverified = bool(_UNVERIFIED_MARK.search(text))
    value = _UNVERIFIED_MARK.sub("", text).strip()
    if not value or any(ch.isspace() for ch in value):
        raise ctx.error(field, "an identifier is one token", raw,
                        remedy='e.g. 23406027 or 10.1056/NEJMoa1209288; mark doubt as "... (unverified)"')
    return Identifier(value, unverified)


def _string_list(ctx: _Ctx, field: str, raw: object, *, separators: str) -> tuple[str, ...]:
    if _blank(raw):
        return ()
    if isinstance(raw, list | tuple):
        items = [str(x).strip() for x in raw]
    else:
        items = [s.strip() for s in re.split(f"[{re.escape(separators)}]", str(raw))]
    if any(not s for s in items):
        raise ctx.error(field, "empty item in list", raw)
    return tuple(items)


def _uptake_list(ctx: _Ctx, record: Mapping[str, Any], evaluable: Count | None) -> tuple[UptakeOutcome, ...]:
    raw_list: object = record.get("uptake")
    if _blank(raw_list):
        flat = {k: record.get(k) for k in _FLAT_UPTAKE}
        if all(_blank(v) for v in flat.values()):
            return ()
        raw_list = [{
            "definition": flat["uptake_definition"],
            "restored": flat["n_uptake_restored"],
            "evaluable": flat["n_uptake_evaluable"],
            "percent_reported": flat["uptake_percent_reported"],
            "note": flat["uptake_note"],
        }]
    elif any(not _blank(record.get(k)) for k in _FLAT_UPTAKE):
        raise ctx.error("uptake", "give uptake either as a list or in the uptake_* columns, not both")
    if not isinstance(raw_list, list):
        raise ctx.error("uptake", "expected a list of uptake outcomes", raw_list)
    outcomes: list[UptakeOutcome] = []
    seen: set[UptakeDefinition] = set()
    for i, item in enumerate(raw_list):
        where = f"uptake[{i}]"
        if not isinstance(item, Mapping):
            raise ctx.error(where, "expected a mapping with definition, restored, evaluable", item)
        unknown = set(item) - {"definition", "restored", "evaluable", "percent_reported", "note"}
        if unknown:
            raise ctx.error(f"{where}.{sorted(unknown)[0]}", "unknown field",
                            remedy="allowed: definition, restored, evaluable, percent_reported, note")
        definition = _enum(ctx, UptakeDefinition, f"{where}.definition", item.get("definition"))
        if definition in seen:
            raise ctx.error(f"{where}.definition", "definition given twice for the same record",
                            definition.label, remedy="one outcome per definition")
        seen.add(definition)
        restored = _count(ctx, f"{where}.restored", item.get("restored"))
        percent = _float(ctx, f"{where}.percent_reported", item.get("percent_reported"), upper=100.0)
        own_total = _count(ctx, f"{where}.evaluable", item.get("evaluable"))
        total = own_total if own_total is not None else (evaluable if restored is not None else None)
        if restored is None and percent is None:
            raise ctx.error(f"{where}.restored", "an uptake outcome needs a count or a reported percentage",
                            remedy="give restored (and evaluable), or percent_reported if no count exists")
        if restored is not None and total is None:
            raise ctx.error(f"{where}.evaluable", "restored uptake given without evaluable patients",
                            remedy="give evaluable (or n_evaluable for the record)")
        if restored is not None and total is not None and restored.value > total.value:
            raise ctx.error(f"{where}.restored",
                            f"restored uptake exceeds evaluable patients ({total.value})",
                            restored.value, remedy="restored <= evaluable")
        outcomes.append(UptakeOutcome(definition, restored, total, percent, _text(ctx, f"{where}.note",
                                                                                  item.get("note"))))
    return tuple(outcomes)


def parse_study(record: Mapping[str, Any], *, origin: str = "built-in") -> StudyArm:
    """Parse and validate one record (a YAML mapping or a CSV row) into a :class:`StudyArm`.

    Parameters
    ----------
    record
        Field name -> value; blank strings and ``None`` mean "not reported".
    origin
        The file (and line) the record came from, quoted in error messages.

    Raises
    ------
    InputError
        Naming the ``row_id`` and the field, for any rule in the module docstring.
    """
    row_id = _text(_Ctx(origin, "?"), "row_id", record.get("row_id"))
    if not row_id:
        raise InputError(f"a record has no row_id [{origin}]", field="row_id",
                         remedy="give every record a unique row_id, e.g. X01")
    ctx = _Ctx(origin, row_id)
    unknown = sorted(set(record) - _KNOWN)
    if unknown:
        raise ctx.error(unknown[0], "unknown field",
                        remedy=f"allowed fields: {', '.join(CSV_COLUMNS)}, uptake")
    text = {name: _text(ctx, name, record.get(name)) for name in _TEXT_FIELDS}
    for required in ("label", "source"):
        if not text[required]:
            raise ctx.error(required, "is required",
                            remedy="every record names what it is (label) and where its facts come from "
                            "(source)")
    counts = {name: _count(ctx, name, record.get(name)) for name in _COUNT_FIELDS}
    arm = StudyArm(
        row_id=row_id,
        row_type=_enum(ctx, RowType, "row_type", record.get("row_type")),
        label=str(text["label"]),
        genotype=_enum(ctx, GenotypeGroup, "genotype", record.get("genotype")),
        grade=_enum(ctx, EvidenceGrade, "grade", record.get("grade")),
        source=str(text["source"]),
        short_label=text["short_label"],
        first_author=text["first_author"],
        year=text["year"],
        journal=text["journal"],
        pmid=_identifier(ctx, "pmid", record.get("pmid")),
        doi=_identifier(ctx, "doi", record.get("doi")),
        registry_ids=_string_list(ctx, "registry_ids", record.get("registry_ids"), separators=";,"),
        design=text["design"],
        randomised=_bool(ctx, "randomised", record.get("randomised")),
        setting=text["setting"],
        genotype_detail=text["genotype_detail"],
        drugs=_string_list(ctx, "drugs", record.get("drugs"), separators="+;,"),
        regimen=text["regimen"],
        dose=text["dose"],
        weeks_drug_before_uptake_assessment=_float(
            ctx, "weeks_drug_before_uptake_assessment", record.get("weeks_drug_before_uptake_assessment"),
            upper=520.0),
        total_drug_duration=text["total_drug_duration"],
        uptake_assessment_method=text["uptake_assessment_method"],
        tsh_stimulation=text["tsh_stimulation"],
        lesional_dosimetry=_bool(ctx, "lesional_dosimetry", record.get("lesional_dosimetry")),
        dosimetry_threshold=text["dosimetry_threshold"],
        activity_gbq=_float(ctx, "activity_gbq", record.get("activity_gbq"), upper=100.0),
        activity_note=text["activity_note"],
        n_enrolled=counts["n_enrolled"],
        n_evaluable=counts["n_evaluable"],
        n_treated_131i=counts["n_treated_131i"],
        n_started_drug=counts["n_started_drug"],
        results_reported=_bool(ctx, "results_reported", record.get("results_reported")),
        uptake=_uptake_list(ctx, record, counts["n_evaluable"]),
        recist_cr=counts["recist_cr"],
        recist_pr=counts["recist_pr"],
        recist_sd=counts["recist_sd"],
        recist_pd=counts["recist_pd"],
        response_denominator=counts["response_denominator"],
        response_denominator_basis=text["response_denominator_basis"],
        response_timepoint=text["response_timepoint"],
        tg_response=text["tg_response"],
        pfs=text["pfs"],
        adverse_events=text["adverse_events"],
        part_of=text["part_of"],
        verification_detail=text["verification_detail"],
        notes=text["notes"],
        origin=origin,
        trial=text["trial"],
    )
    if arm.trial is not None and arm.part_of is not None:
        raise ctx.error("trial", "a record that is part_of another takes that record's trial", arm.trial,
                        remedy="give part_of (a subset of an overall record) or trial (an arm reported on "
                        "its own), not both")
    _check_counts(ctx, arm)
    return arm


def _check_counts(ctx: _Ctx, arm: StudyArm) -> None:
    enrolled = arm.n_enrolled.value if arm.n_enrolled else None
    if enrolled is not None:
        for name in ("n_evaluable", "n_treated_131i", "n_started_drug", "response_denominator"):
            count: Count | None = getattr(arm, name)
            if count is not None and count.value > enrolled:
                raise ctx.error(name, f"exceeds enrolled patients ({enrolled})", count.value,
                                remedy=f"{name} <= n_enrolled")
        for i, outcome in enumerate(arm.uptake):
            if outcome.evaluable is not None and outcome.evaluable.value > enrolled:
                raise ctx.error(f"uptake[{i}].evaluable", f"exceeds enrolled patients ({enrolled})",
                                outcome.evaluable.value, remedy="evaluable <= n_enrolled")
    parts = [arm.recist_cr, arm.recist_pr, arm.recist_sd, arm.recist_pd]
    given = [c.value for c in parts if c is not None]
    denominator = arm.response_denominator
    if given and denominator is None:
        raise ctx.error("response_denominator", "RECIST counts given without their denominator",
                        remedy="give response_denominator (patients assessed for response)")
    if denominator is not None:
        total = sum(given)
        if len(given) == 4 and total != denominator.value:
            raise ctx.error("recist_cr", f"CR+PR+SD+PD = {total} differs from the response denominator "
                            f"({denominator.value})", [c.value if c else None for c in parts],
                            remedy="the four RECIST counts must add up to response_denominator")
        if total > denominator.value:
            raise ctx.error("recist_cr", f"RECIST counts add up to {total}, more than the response "
                            f"denominator ({denominator.value})", remedy="check the counts")


def validate_studies(studies: Sequence[StudyArm], *, check_links: bool = True) -> None:
    """Cross-record checks: unique ``row_id``, ``part_of`` links, and parts adding up to their whole.

    With ``check_links=False`` only the ids are checked (a user file may point at built-in records).

    Raises
    ------
    InputError
        Naming the offending ``row_id``.
    """
    by_id: dict[str, StudyArm] = {}
    for arm in studies:
        if arm.row_id in by_id:
            first = by_id[arm.row_id]
            raise InputError(
                f"duplicate row_id (first in {first.origin}, again in {arm.origin})",
                field=f"row {arm.row_id}, row_id", remedy="give every record a unique row_id",
            )
        by_id[arm.row_id] = arm
    if not check_links:
        return
    children: dict[str, list[StudyArm]] = {}
    for arm in studies:
        if arm.part_of is None:
            continue
        ctx = _Ctx(arm.origin, arm.row_id)
        parent = by_id.get(arm.part_of)
        if parent is None or parent.row_id == arm.row_id:
            raise ctx.error("part_of", "names no other record", arm.part_of,
                            remedy="part_of must be the row_id of the overall record")
        if parent.part_of is not None:
            raise ctx.error("part_of", f"{parent.row_id} is itself part of {parent.part_of}", arm.part_of,
                            remedy="point part_of at the top-level record")
        children.setdefault(parent.row_id, []).append(arm)
    for parent_id, parts in children.items():
        parent = by_id[parent_id]
        for outcome in parent.uptake:
            if outcome.restored is None or outcome.evaluable is None:
                continue
            part_outcomes = [p.uptake_for(outcome.definition) for p in parts]
            if any(o is None or o.restored is None or o.evaluable is None for o in part_outcomes):
                continue
            total = sum(o.evaluable.value for o in part_outcomes if o and o.evaluable)
            events = sum(o.restored.value for o in part_outcomes if o and o.restored)
            if total == outcome.evaluable.value and events != outcome.restored.value:
                raise _Ctx(parent.origin, parent.row_id).error(
                    "uptake.restored",
                    f"its parts ({', '.join(p.row_id for p in parts)}) add up to {events}/{total} "
                    f"'{outcome.definition.label}' but the record says {outcome.restored.value}/{total}",
                    remedy="correct the counts of the record or of its parts",
                )


@dataclass(frozen=True)
class EvidenceBase:
    """The evidence base: the built-in records plus any merged user records, in order."""

    studies: tuple[StudyArm, ...]

    def __len__(self) -> int:
        return len(self.studies)

    def __iter__(self) -> Iterator[StudyArm]:
        return iter(self.studies)

    @property
    def ids(self) -> tuple[str, ...]:
        """All ``row_id`` values, in order."""
        return tuple(s.row_id for s in self.studies)

    def get(self, row_id: str) -> StudyArm:
        """The record ``row_id`` (case-insensitive).

        Raises
        ------
        InputError
            If there is no such record.
        """
        for arm in self.studies:
            if arm.row_id.lower() == row_id.strip().lower():
                return arm
        raise InputError("no such study record", field="ID", value=row_id,
                         remedy=f"use one of: {', '.join(self.ids)} (see `redif evidence list`)")

    def parts_of(self, row_id: str) -> tuple[StudyArm, ...]:
        """The records whose ``part_of`` is ``row_id``."""
        return tuple(s for s in self.studies if s.part_of == row_id)


def _records_from_yaml(data: object, origin: str) -> list[Mapping[str, Any]]:
    if isinstance(data, Mapping):
        data = data.get("studies")
    if not isinstance(data, list) or not data:
        raise InputError(f"no study records in {origin}", field=origin,
                         remedy="give a list of records, or a mapping with a 'studies' list")
    for i, item in enumerate(data):
        if not isinstance(item, Mapping):
            raise InputError(f"record {i + 1} is not a mapping [{origin}]", field=origin, value=item)
    return list(data)


@lru_cache(maxsize=1)
def _builtin() -> EvidenceBase:
    path = data_path(BUILTIN_FILE)
    with path.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    studies = tuple(parse_study(rec, origin=BUILTIN_FILE) for rec in _records_from_yaml(data, BUILTIN_FILE))
    validate_studies(studies)
    return EvidenceBase(studies)


def read_studies_file(path: str | Path) -> tuple[StudyArm, ...]:
    """Read and validate a user's study file (``.csv``, ``.yaml`` or ``.yml``).

    A CSV file has the columns of :data:`CSV_COLUMNS` (a subset is fine; ``row_id``, ``row_type``,
    ``label``, ``genotype``, ``grade`` and ``source`` are required) with one uptake outcome per row in the
    ``uptake_*`` columns; a YAML file holds a list of records (or ``{studies: [...]}``) shaped like the
    built-in base, where ``uptake`` may list several definitions.

    Raises
    ------
    InputError
        If the file is missing, empty, of an unknown type, or any record breaks a rule.
    """
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise InputError("file not found", field="studies", value=str(path),
                         remedy="give the path of a .csv or .yaml study file")
    suffix = path.suffix.lower()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the file ({exc})", field="studies", value=str(path)) from None
    if suffix == ".csv":
        reader = csv.DictReader(text.splitlines())
        if not reader.fieldnames:
            raise InputError("empty CSV file", field=name, remedy="start from examples/extra_studies.csv")
        fields = [f.strip() for f in reader.fieldnames]
        required = ("row_id", "row_type", "label", "genotype", "grade", "source")
        missing = [c for c in required if c not in fields]
        if missing:
            raise InputError(f"missing column {missing[0]!r}", field=name,
                             remedy="start from examples/extra_studies.csv")
        records: list[Mapping[str, Any]] = []
        for line_no, row in enumerate(reader, start=2):
            if None in row:
                raise InputError(f"line {line_no} has more cells than the header", field=name)
            cleaned = {k.strip(): v for k, v in row.items() if k is not None}
            if all(_blank(v) for v in cleaned.values()):
                continue
            records.append(cleaned)
        if not records:
            raise InputError("no study rows", field=name, remedy="add one row per study arm under the header")
        origins = [f"{name} line {i}" for i in range(2, 2 + len(records))]
    elif suffix in {".yaml", ".yml"}:
        data = load_document(text, field=name, max_bytes=MAX_FILE_BYTES, dates_as_text=False)
        records = _records_from_yaml(data, name)
        origins = [f"{name} record {i + 1}" for i in range(len(records))]
    else:
        raise InputError("unknown file type", field="studies", value=path.suffix,
                         remedy="use a .csv, .yaml or .yml file")
    studies = tuple(parse_study(rec, origin=org) for rec, org in zip(records, origins, strict=True))
    validate_studies(studies, check_links=False)
    return studies


def merge_studies(base: EvidenceBase, extra: Iterable[StudyArm]) -> EvidenceBase:
    """Append user records to ``base`` after checking the merged set (unique ids, ``part_of`` links).

    A user record may be ``part_of`` a built-in one (e.g. a genotype split of a published trial).
    """
    merged = tuple(base.studies) + tuple(extra)
    validate_studies(merged)
    return EvidenceBase(merged)


def load_evidence(extra_files: Sequence[str | Path] = ()) -> EvidenceBase:
    """The built-in evidence base, merged with the user's study files (if any), validated.

    Examples
    --------
    >>> base = load_evidence()
    >>> base.get("P06").genotype.value
    'BRAF V600E'
    """
    base = _builtin()
    for path in extra_files:
        base = merge_studies(base, (replace(s) for s in read_studies_file(path)))
    return base
