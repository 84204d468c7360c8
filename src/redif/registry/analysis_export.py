"""The registry's analysis dataset: one row per patient with the endpoints of a pooled analysis.

The columns are those of the issue-13 analysis contract (``patient``, ``site``, ``genotype``,
``uptake_restored``, ``uptake_definition``, ``objective_response``, ``response_denominator``,
``pfs_days``, ``pfs_event``, ``ttnt_days``, ``ttnt_event``, ``dor_days``, ``dor_event``, then ``source``,
``drug``, ``sex``, ``histology``), read by :mod:`redif.ipd` and the federated algorithm. Each endpoint
is derived by the rule of the data file ``analysis_endpoints.yaml`` (with its source and grade; the
rules are explained in ``docs/analysis-dataset.md``):

- :func:`derive_row` is the pure derivation: one patient's dated records (the dict of
  :func:`redif.registry.patients.patient_to_dict`) in, one row out, with the reasons of every cell left
  empty (``problems``). No date is guessed: a missing or contradictory date gives an empty cell.
- :func:`analysis_csv` writes the rows (booleans ``1``/``0``, days as integers, missing as an empty
  cell; no date is written).
- :func:`export_analysis` reads the patients in the principal's scope in bulk
  (:func:`redif.registry.bulk_read.read_patients`), derives the rows and audits the export.

References
----------
Eisenhauer EA et al. New response evaluation criteria in solid tumours: revised RECIST guideline
(version 1.1). Eur J Cancer 2009;45:228-247 (best overall response, duration of response).
FDA. Clinical Trial Endpoints for the Approval of Cancer Drugs and Biologics. Guidance for Industry,
December 2018 (progression-free survival, censoring at the last tumour assessment).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import select

from redif.data import load_yaml
from redif.errors import InputError
from redif.model import BestResponse, OverallResponse
from redif.registry import audit
from redif.registry.access import Permission, Principal, Role, require
from redif.registry.bulk_read import gc_paused, read_patients
from redif.registry.db import Database
from redif.registry.deid import csv_cell
from redif.registry.models import Site
from redif.response.bor import BorParameters, ResponseRecord, SubjectResponses, best_overall_response
from redif.response.cohort import best_change_from_baseline_pct

__all__ = [
    "ANALYSIS_COLUMNS",
    "AnalysisExport",
    "AnalysisRow",
    "analysis_csv",
    "derive_row",
    "derive_rows",
    "endpoint_rules",
    "export_analysis",
]

RULES_FILE = "analysis_endpoints.yaml"

Cell = int | float | str | None


@lru_cache(maxsize=1)
def endpoint_rules() -> dict[str, Any]:
    """The derivation rules (``analysis_endpoints.yaml``); every rule has ``rule``, ``source`` and
    ``grade``."""
    doc: dict[str, Any] = load_yaml(RULES_FILE)
    for name, entry in doc.items():
        if isinstance(entry, dict) and not (entry.get("rule") and entry.get("source") and entry.get("grade")):
            raise ValueError(f"{RULES_FILE}: {name} lacks rule, source or grade")  # pragma: no cover
    return doc


#: The file's columns, in order (the contract's 13, then source, drug, sex, histology).
ANALYSIS_COLUMNS: tuple[str, ...] = tuple(endpoint_rules()["columns"])


@dataclass(frozen=True)
class AnalysisRow:
    """One patient's row: ``values`` by column (``None`` = empty cell) and why cells are empty."""

    values: dict[str, Cell]
    problems: tuple[str, ...] = ()


@dataclass
class _Ctx:
    problems: list[str] = field(default_factory=list)

    def note(self, message: str) -> None:
        if message not in self.problems:
            self.problems.append(message)


def _date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _norm_variant(value: Any) -> str:
    text = re.sub(r"[()\s]", "", str(value or "")).upper()
    return text[2:] if text.startswith("P.") else text


def _genotype(records: Sequence[Mapping[str, Any]]) -> str:
    rules = endpoint_rules()["genotype"]
    if not records:
        return str(rules["none"])
    for label in rules["labels"]:
        for g in records:
            if g.get("gene") != label["gene"]:
                continue
            kind = "fusion" if g.get("fusion_partner") else "mutation"
            if "kind" in label and kind != label["kind"]:
                continue
            if "variants" in label and _norm_variant(g.get("variant")) not in {
                _norm_variant(v) for v in label["variants"]
            }:
                continue
            return str(label["label"])
    return str(rules["unmatched"])


def _uptake(records: Sequence[Mapping[str, Any]], index: date | None) -> tuple[Cell, Cell]:
    recorded = []
    for order, u in enumerate(records):
        if u.get("restored") is None:
            continue
        d = _date(u.get("assessment_date"))
        if index is not None and d is not None and d < index:
            continue  # a baseline scan before the drug: not an assessment of restoration
        recorded.append(((d is None, d or date.min, order), u))
    if not recorded:
        return None, None
    recorded.sort(key=lambda x: x[0])
    value = any(bool(u["restored"]) for _, u in recorded)
    chosen = next(u for _, u in recorded if bool(u["restored"]) is value)
    return int(value), str(chosen.get("restored_definition") or "not_reported")


@dataclass(frozen=True)
class _Response:
    date: date | None
    code: str | None


def _responses(records: Sequence[Mapping[str, Any]]) -> list[_Response]:
    counted = {str(c).strip().upper() for c in endpoint_rules()["objective_response"]["criteria_counted"]}
    out = []
    for r in records:
        criteria = str(r.get("criteria") or "").strip().upper()
        if criteria not in counted:
            continue
        out.append(_Response(_date(r.get("assessment_date")), r.get("overall_response")))
    return out


def _objective_response(
    pseudonym: str, responses: Sequence[_Response], first_131i: date, ctx: _Ctx
) -> tuple[Cell, date | None]:
    """(1/0/None, date of the first CR/PR) of a treated patient."""
    by_date: dict[date, set[str]] = {}
    for r in responses:
        if r.date is not None and r.date > first_131i and r.code:
            by_date.setdefault(r.date, set()).add(r.code)
    clash = sorted(d.isoformat() for d, codes in by_date.items() if len(codes) > 1)
    if clash:
        ctx.note(f"objective_response: different overall responses on one date ({', '.join(clash)})")
        return None, None
    rules = endpoint_rules()["objective_response"]
    subject = SubjectResponses(
        pseudonym,
        first_131i,
        tuple(ResponseRecord(d, OverallResponse(codes.pop())) for d, codes in sorted(by_date.items())),
    )
    bor = best_overall_response(subject, BorParameters(confirm=bool(rules["confirm"]), stop_at_pd=True))
    if bor.bor in (BestResponse.NE, BestResponse.MISSING):
        ctx.note("objective_response: not evaluable (no CR, PR, SD or PD assessed after 131I)")
        return None, None
    if bor.bor.value in rules["responder"]:
        return 1, bor.date
    return 0, None


def _last_assessment(responses: Sequence[_Response], start: date, until: date | None) -> date:
    dates = [
        r.date
        for r in responses
        if r.date is not None and r.code not in (None, "NE") and r.date >= start
        and (until is None or r.date <= until)
    ]
    return max(dates, default=start)


def _progressions(patient: Mapping[str, Any], responses: Sequence[_Response], after: date) -> list[date]:
    """Dates of progression after ``after``: PD assessments and a counted progression_date."""
    out = [r.date for r in responses if r.code == "PD" and r.date is not None and r.date > after]
    counted = endpoint_rules()["pfs"]["progression_criteria_counted"]
    prog = _date(patient.get("progression_date"))
    if prog is not None and prog > after and patient.get("progression_criterion") in counted:
        out.append(prog)
    return out


def _time_to_event(
    patient: Mapping[str, Any],
    responses: Sequence[_Response],
    start: date,
    death: date | None,
    next_therapy: date | None,
) -> tuple[int, int]:
    """(days, event) from ``start`` to progression or death, censored at the last assessment (before a
    next therapy that starts first)."""
    events = _progressions(patient, responses, start)
    if death is not None:
        events.append(death)
    event = min(events, default=None)
    censor_nt = bool(endpoint_rules()["pfs"]["censor_at_next_therapy"])
    if event is not None and not (censor_nt and next_therapy is not None and next_therapy < event):
        return (event - start).days, 1
    limit = next_therapy if censor_nt else None
    return (_last_assessment(responses, start, limit) - start).days, 0


def _all_dates(patient: Mapping[str, Any]) -> list[date]:
    rec = patient.get("records") or {}
    keys = {
        "courses": ("start_date", "stop_date"),
        "uptake": ("assessment_date",),
        "administrations": ("administration_date",),
        "responses": ("assessment_date",),
        "labs": ("sample_date",),
        "adverse-events": ("onset_date",),
        "next-therapy": ("start_date",),
    }
    out = [d for k in ("last_follow_up_date", "progression_date") if (d := _date(patient.get(k)))]
    for kind, names in keys.items():
        for r in rec.get(kind, []):
            out.extend(d for n in names if (d := _date(r.get(n))) is not None)
    return out


def _first_course(courses: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    return min(
        courses,
        key=lambda c: (
            int(c.get("course_number") or 1),
            _date(c.get("start_date")) is None,
            _date(c.get("start_date")) or date.min,
        ),
    )


def derive_row(patient: Mapping[str, Any]) -> AnalysisRow | None:
    """The analysis row of one patient (``None`` when the patient has no redifferentiation course: not
    in the analysis population).

    Parameters
    ----------
    patient
        A patient as :func:`redif.registry.patients.patient_to_dict` gives it (dates as ISO text or
        :class:`datetime.date`), with ``records``.

    Returns
    -------
    AnalysisRow or None
        The row's cells (see ``analysis_endpoints.yaml`` for every rule) and the reason of each empty
        endpoint cell.

    References
    ----------
    Eisenhauer 2009 (RECIST 1.1); FDA 2018 guidance on cancer trial endpoints (PFS, DOR); see
    ``analysis_endpoints.yaml``.
    """
    rec = patient.get("records") or {}
    courses = list(rec.get("courses", []))
    if not courses:
        return None
    ctx = _Ctx()
    pseudonym = str(patient.get("pseudonym", ""))
    starts = [d for c in courses if (d := _date(c.get("start_date"))) is not None]
    index = min(starts, default=None)
    values: dict[str, Cell] = dict.fromkeys(ANALYSIS_COLUMNS)
    values.update(
        patient=pseudonym,
        site=str(patient.get("site", "")),
        genotype=_genotype(rec.get("genotypes", [])),
        source="site",
        drug=str(_first_course(courses).get("drugs") or "") or None,
        sex=patient.get("sex"),
        histology=patient.get("histology"),
    )
    values["uptake_restored"], values["uptake_definition"] = _uptake(rec.get("uptake", []), index)
    if values["uptake_restored"] is None:
        ctx.note("uptake_restored: no uptake assessment with restored recorded")

    responses = _responses(rec.get("responses", []))
    undated_response = any(r.date is None for r in responses)
    admins = rec.get("administrations", [])
    treated = bool(admins)
    values["response_denominator"] = "treated" if treated else "itt"
    first_response: date | None = None
    if not treated:
        values["objective_response"] = 0
    else:
        admin_dates = [_date(a.get("administration_date")) for a in admins]
        if any(d is None for d in admin_dates):
            ctx.note("objective_response: a 131I administration has no date")
        elif undated_response:
            ctx.note("objective_response: a response assessment has no date")
        else:
            first_131i = min(d for d in admin_dates if d is not None)
            values["objective_response"], first_response = _objective_response(
                pseudonym, responses, first_131i, ctx
            )

    death = _date(patient.get("death_date"))
    nt_records = rec.get("next-therapy", [])
    nt_dates = [_date(n.get("start_date")) for n in nt_records]
    undated_nt = any(d is None for d in nt_dates)
    if index is None:
        ctx.note("pfs, ttnt: no course start date (the index date)")
    elif death is not None and death < index:
        ctx.note("pfs, ttnt: death_date is before the first drug start")
    else:
        later_nt = [d for d in nt_dates if d is not None and d >= index]
        if len(later_nt) < len([d for d in nt_dates if d is not None]):
            ctx.note("ttnt: a next therapy dated before the first drug start was ignored")
        next_therapy = min(later_nt, default=None)
        prog = _date(patient.get("progression_date"))
        censor_nt = bool(endpoint_rules()["pfs"]["censor_at_next_therapy"])
        counted = endpoint_rules()["pfs"]["progression_criteria_counted"]
        if undated_response:
            ctx.note("pfs: a response assessment has no date")
        elif undated_nt and censor_nt:
            ctx.note("pfs: a next therapy has no start date")
        elif prog is not None and prog <= index and patient.get("progression_criterion") in counted:
            ctx.note("pfs: progression_date is on or before the first drug start")
        else:
            values["pfs_days"], values["pfs_event"] = _time_to_event(
                patient, responses, index, death, next_therapy
            )
        if undated_nt:
            ctx.note("ttnt: a next therapy has no start date")
        else:
            events = [d for d in (next_therapy, death) if d is not None]
            if events:
                values["ttnt_days"], values["ttnt_event"] = (min(events) - index).days, 1
            else:
                last = max((d for d in _all_dates(patient) if d >= index), default=index)
                values["ttnt_days"], values["ttnt_event"] = (last - index).days, 0
        if first_response is not None:
            if undated_nt and censor_nt:
                ctx.note("dor: a next therapy has no start date")
            elif death is not None and death < first_response:
                ctx.note("dor: death_date is before the first response")
            else:
                nt_after = min((d for d in later_nt if d >= first_response), default=None)
                values["dor_days"], values["dor_event"] = _time_to_event(
                    patient, responses, first_response, death, nt_after
                )
    _figure_columns(patient, values, index, first_response)
    return AnalysisRow(values=values, problems=tuple(ctx.problems))


def _figure_columns(
    patient: Mapping[str, Any], values: dict[str, Cell], index: date | None, first_response: date | None
) -> None:
    """The swimmer/waterfall columns (issue 16; rule ``figure_columns`` of ``analysis_endpoints.yaml``)."""
    if index is None:
        return
    rec = patient.get("records") or {}
    stops = [_date(c.get("stop_date")) for c in rec.get("courses", [])]
    if stops and all(d is not None for d in stops):
        values["drug_days"] = (max(d for d in stops if d is not None) - index).days
    admin = [d for a in rec.get("administrations", []) if (d := _date(a.get("administration_date")))]
    if admin:
        values["first_131i_days"] = (min(admin) - index).days
    if first_response is not None:
        values["first_response_days"] = (first_response - index).days
    dates = _all_dates(patient)
    death = _date(patient.get("death_date"))
    if death is not None:
        dates.append(death)
    values["follow_up_days"] = (max([*dates, index]) - index).days
    counted = {str(c).strip().upper() for c in endpoint_rules()["objective_response"]["criteria_counted"]}
    sums = [
        (_date(r.get("assessment_date")), float(r["sum_of_diameters_mm"]))
        for r in rec.get("responses", [])
        if r.get("sum_of_diameters_mm") is not None
        and str(r.get("criteria") or "").strip().upper() in counted
    ]
    best = best_change_from_baseline_pct(sums, index)
    if best is not None:
        values["best_change_pct"] = best


def derive_rows(patients: Iterable[Mapping[str, Any]]) -> tuple[list[AnalysisRow], int]:
    """:func:`derive_row` for every patient, ordered by (site, patient), with ``patient`` unique in the
    file (:func:`_unique_patients`); and the number of patients left out because they have no
    redifferentiation course."""
    rows: list[AnalysisRow] = []
    not_started = 0
    for p in patients:
        row = derive_row(p)
        if row is None:
            not_started += 1
        else:
            rows.append(row)
    rows.sort(key=lambda r: (str(r.values["site"]), str(r.values["patient"])))
    _unique_patients(rows)
    return rows, not_started


def _unique_patients(rows: Sequence[AnalysisRow]) -> None:
    """Make the ``patient`` column unique within the file: a pseudonym used at two sites (pseudonyms are
    unique per site only) becomes ``<site>/<pseudonym>`` on those rows (``/`` never occurs in a
    pseudonym, so the result cannot clash with another)."""
    sites_of: dict[str, set[str]] = {}
    for r in rows:
        sites_of.setdefault(str(r.values["patient"]), set()).add(str(r.values["site"]))
    for r in rows:
        if len(sites_of[str(r.values["patient"])]) > 1:
            r.values["patient"] = f"{r.values['site']}/{r.values['patient']}"


def analysis_csv(rows: Iterable[AnalysisRow]) -> str:
    """The rows as CSV text (header, UTF-8 text, CRLF records as RFC 4180; empty cell = missing; text
    cells made formula-safe by :func:`redif.registry.deid.csv_cell`)."""
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(ANALYSIS_COLUMNS)
    for row in rows:
        w.writerow([csv_cell(row.values.get(c)) for c in ANALYSIS_COLUMNS])
    return buf.getvalue()


@dataclass(frozen=True)
class AnalysisExport:
    """An analysis-dataset export: the CSV text, the rows, the patients left out (no course) and the
    reasons of empty cells per patient (``{patient, site, problem}``)."""

    text: str
    rows: tuple[AnalysisRow, ...]
    not_started: int

    @property
    def patients(self) -> int:
        """Number of rows."""
        return len(self.rows)

    def problems(self) -> list[dict[str, str]]:
        """Every empty-cell reason, one dict per patient and reason."""
        return [
            {"patient": str(r.values["patient"]), "site": str(r.values["site"]), "problem": p}
            for r in self.rows
            for p in r.problems
        ]


def export_analysis(
    db: Database,
    *,
    principal: Principal | None = None,
    sites: Sequence[str] = (),
    actor: str = "cli-export",
) -> AnalysisExport:
    """The analysis dataset of the patients in ``principal``'s scope (or of ``sites``); audited.

    A site role exports its own site only; the coordinator and the admin every site (default: the
    command line's operator, with the admin's scope). The export is one ``export`` audit event
    (format ``analysis``) and one ``read`` event naming the patients read.

    Raises
    ------
    InputError
        For a site code the principal cannot see (``field="site"``).
    redif.errors.AccessDenied
        When the role may not export.
    """
    if principal is None:
        principal = Principal(user_id=0, username=actor, role=Role.ADMIN, site_id=None)
    require(principal, Permission.EXPORT)
    with db.write_session(actor=actor) as s:
        visible = {
            code for (sid, code) in s.execute(select(Site.id, Site.code)) if principal.sees_site(sid)
        }
        for code in sites:
            if code not in visible:
                raise InputError(
                    "unknown site", field="site", value=code, remedy="use the code of a site you can see"
                )
        with gc_paused():
            rows, not_started = derive_rows(read_patients(s, principal, sites=sites))
            text = analysis_csv(rows)
        audit.record(
            s,
            action="export",
            entity="patients",
            site_id=principal.site_id,
            details={"format": "analysis", "n": len(rows), "sites": sorted(sites)},
        )
    return AnalysisExport(text=text, rows=tuple(rows), not_started=not_started)
