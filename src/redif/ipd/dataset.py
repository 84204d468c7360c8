"""The analysis dataset (one row per patient) of issue 13: a typed reader with clear errors.

The columns, in this order, are the contract shared by the registry export
(``redif registry export --format analysis``), this IPD engine and the federated algorithm:
``patient, site, genotype, uptake_restored, uptake_definition, objective_response, response_denominator,
pfs_days, pfs_event, ttnt_days, ttnt_event, dor_days, dor_event``; further columns (``source``, ``drug``,
``age_years``, ...) may follow and are kept as text in :attr:`AnalysisRow.extra`. Booleans are ``1``/``0``,
missing is an empty cell, days are whole numbers.

Every error names the file, the patient (and its data-row number) and the column, the bad value and the
fix; the engine never guesses a value.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from redif.errors import InputError
from redif.model import UptakeDefinition

__all__ = ["COLUMNS", "DENOMINATOR_VALUES", "AnalysisRow", "parse_analysis_csv", "read_analysis_csv",
           "rows_from_records"]

#: The contract's columns, in order (``ANALYSIS_CONTRACT``; issue 13).
COLUMNS: tuple[str, ...] = (
    "patient", "site", "genotype", "uptake_restored", "uptake_definition", "objective_response",
    "response_denominator", "pfs_days", "pfs_event", "ttnt_days", "ttnt_event", "dor_days", "dor_event",
)
#: ``treated``: given 131I (treated and ITT denominators); ``itt``: started the drug, no 131I (ITT only).
DENOMINATOR_VALUES: tuple[str, ...] = ("treated", "itt")

_TIME_EVENT = (("pfs_days", "pfs_event"), ("ttnt_days", "ttnt_event"), ("dor_days", "dor_event"))
_DEFINITION_CODES = tuple(m.value for m in UptakeDefinition)
_DEFINITION_SET = frozenset(_DEFINITION_CODES)


@dataclass(frozen=True)
class AnalysisRow:
    """One patient of the analysis dataset (``None`` = empty cell: not assessed / not evaluable)."""

    patient: str
    site: str
    genotype: str
    uptake_restored: bool | None = None
    uptake_definition: str | None = None
    objective_response: bool | None = None
    response_denominator: str | None = None
    pfs_days: int | None = None
    pfs_event: bool | None = None
    ttnt_days: int | None = None
    ttnt_event: bool | None = None
    dor_days: int | None = None
    dor_event: bool | None = None
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def source(self) -> str:
        """``site`` for a registry patient, ``published:<record id>`` for a published arm's row."""
        return self.extra.get("source", "").strip() or "site"

    def value(self, column: str) -> str:
        """The text of ``column`` (a contract column or an extra one; ``""`` when empty)."""
        if column in self.extra:
            return self.extra[column].strip()
        v = getattr(self, column)
        if v is None:
            return ""
        if isinstance(v, bool):
            return "1" if v else "0"
        return str(v)


class _Where:
    """Names the file, data row and patient in an error."""

    def __init__(self, name: str, row: int, patient: str) -> None:
        self.name = name
        self.row = row
        self.patient = patient

    def error(self, column: str, message: str, value: object, remedy: str) -> InputError:
        who = f"patient {self.patient!r}" if self.patient else "a patient"
        return InputError(f"{self.name}, data row {self.row} ({who}), column {column!r}: {message}",
                          field=column, value=value, remedy=remedy)


def _flag(w: _Where, column: str, text: str) -> bool | None:
    t = text.strip()
    if t == "":
        return None
    if t in ("1", "0"):
        return t == "1"
    raise w.error(column, "not a 1/0 flag", t, "write 1 (yes), 0 (no) or leave the cell empty (missing)")


def _days(w: _Where, column: str, text: str) -> int | None:
    t = text.strip()
    if t == "":
        return None
    try:
        x = float(t)
    except ValueError:
        raise w.error(column, "not a number of days", t,
                      "write whole days (e.g. 240) or leave empty") from None
    if not math.isfinite(x) or x != int(x):
        raise w.error(column, "not a whole number of days", t, "days are integers (dates are not exported)")
    if x < 0:
        raise w.error(column, "negative time", t, "time is counted from the first drug start (>= 0 days)")
    return int(x)


def _row(w: _Where, cells: Mapping[str, str], extra: Mapping[str, str]) -> AnalysisRow:
    site = cells["site"].strip()
    if site == "":
        raise w.error("site", "empty site", "", "give the site code of every patient")
    up = _flag(w, "uptake_restored", cells["uptake_restored"])
    defn = cells["uptake_definition"].strip() or None
    if defn is not None and defn not in _DEFINITION_SET:
        raise w.error("uptake_definition", "not a code of the vocabulary uptake_definition", defn,
                      f"use one of: {', '.join(_DEFINITION_CODES)}")
    if up is not None and defn is None:
        raise w.error("uptake_definition", "uptake_restored is given without its definition", "",
                      "give the uptake_definition code (not_reported when the source does not say)")
    denom = cells["response_denominator"].strip() or None
    if denom is not None and denom not in DENOMINATOR_VALUES:
        raise w.error("response_denominator", "unknown response denominator", denom,
                      "use treated (given 131I) or itt (started the drug, no 131I)")
    resp = _flag(w, "objective_response", cells["objective_response"])
    if denom == "itt" and resp:
        raise w.error("objective_response", "a responder in the itt-only denominator (no 131I given)", "1",
                      "objective_response is 0 (or empty) for a patient not given 131I")
    times: dict[str, int | bool | None] = {}
    for tcol, ecol in _TIME_EVENT:
        t = _days(w, tcol, cells[tcol])
        e = _flag(w, ecol, cells[ecol])
        if (t is None) != (e is None):
            missing = ecol if e is None else tcol
            raise w.error(missing, f"{tcol} and {ecol} must be given together", "",
                          "fill in both (time and event flag) or leave both empty")
        times[tcol], times[ecol] = t, e
    return AnalysisRow(
        patient=w.patient, site=site, genotype=cells["genotype"].strip(), uptake_restored=up,
        uptake_definition=defn, objective_response=resp, response_denominator=denom,
        pfs_days=times["pfs_days"], pfs_event=times["pfs_event"],  # type: ignore[arg-type]
        ttnt_days=times["ttnt_days"], ttnt_event=times["ttnt_event"],  # type: ignore[arg-type]
        dor_days=times["dor_days"], dor_event=times["dor_event"],  # type: ignore[arg-type]
        extra=dict(extra),
    )


def rows_from_records(records: Sequence[Mapping[str, str]], *, name: str = "records") -> list[AnalysisRow]:
    """Validate dictionaries of cell texts (keys = column names) into rows; ``name`` labels the errors.

    Raises
    ------
    InputError
        For a missing column, a duplicate patient or a bad cell (naming ``name``, the row, the patient
        and the column).
    """
    out: list[AnalysisRow] = []
    seen: dict[str, int] = {}
    for r, rec in enumerate(records, start=1):
        for col in COLUMNS:
            if col not in rec:
                raise InputError(f"{name}: missing column {col!r}", field=col,
                                 remedy=f"the analysis dataset has the columns {','.join(COLUMNS)}")
        patient = str(rec["patient"]).strip()
        w = _Where(name, r, patient)
        if patient == "":
            raise w.error("patient", "empty pseudonym", "", "give every row its patient pseudonym")
        if patient in seen:
            raise w.error("patient", f"duplicate patient (also data row {seen[patient]})", patient,
                          "one row per patient")
        seen[patient] = r
        cells = {c: str(rec[c] or "") for c in COLUMNS}
        extra = {str(k): str(v or "") for k, v in rec.items() if k not in COLUMNS}
        out.append(_row(w, cells, extra))
    return out


def parse_analysis_csv(text: str, *, name: str = "analysis dataset") -> list[AnalysisRow]:
    """Parse the CSV ``text`` of an analysis dataset (no file I/O); ``name`` labels the errors."""
    lines = [line for line in text.splitlines() if line.strip()]
    reader = csv.reader(lines)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise InputError(f"{name} is empty", field="file", value=name,
                         remedy=f"write a header line {','.join(COLUMNS)} and one row per patient") from None
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise InputError(f"{name}: missing column(s) {', '.join(missing)}", field=missing[0], value=name,
                         remedy=f"the analysis dataset has the columns {','.join(COLUMNS)}")
    if len(set(header)) != len(header):
        dup = next(h for h in header if header.count(h) > 1)
        raise InputError(f"{name}: column {dup!r} appears twice", field="file", value=dup,
                         remedy="give each column once")
    records: list[dict[str, str]] = []
    for r, row in enumerate(reader, start=1):
        if len(row) != len(header):
            raise InputError(f"{name}, data row {r}: {len(row)} fields but the header has {len(header)}",
                             field="file", value=len(row), remedy="every row needs one value per column")
        records.append(dict(zip(header, row, strict=True)))
    if not records:
        raise InputError(f"{name} has a header but no patients", field="file", value=name,
                         remedy="add one row per patient")
    return rows_from_records(records, name=name)


def read_analysis_csv(path: str | Path) -> list[AnalysisRow]:
    """Read and validate an analysis dataset CSV file (UTF-8, header row).

    Raises
    ------
    InputError
        Field ``file`` for a missing or unreadable file; otherwise naming the file, the row, the patient
        and the column of the first bad value.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError("file not found", field="file", value=str(p), remedy="give the path of a CSV file")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputError("not a UTF-8 text file", field="file", value=str(p)) from None
    return parse_analysis_csv(text, name=str(p))
