"""Protocol scheduler: a dated plan from a protocol template and a start date.

Templates are YAML files (``redif/data/protocols/*.yaml`` for the published designs: MERAIODE,
Ho 2013 / 124I dosimetry, ERRITI, SEL-I-METRY, Rothenberg; or a user's own file). Each event carries its
day offset, source and grade. Template schema (validated, every problem reported with its field path)::

    name: my-protocol                 # identifier (letters, digits, '-', '_', '.')
    title: "Free text"
    source: "Where the design comes from"
    grade: primary | secondary | unverified
    decision_rules: [new_uptake, uptake_increase, lesion_dose_threshold]   # optional
    decision_policy: "Free text (e.g. 131I whatever the scan shows)"       # optional
    notes: ["Free text", ...]                                              # optional
    events:
      - id: drug_start                # unique within the template
        kind: drug_start              # see EventKind
        day: 0                        # offset from the start date (day 0 = drug start) ...
        event: "Start the drug"
        source: "..."
        grade: primary
      - id: response_6m
        kind: response_assessment
        after: rai                    # ... or an offset from another event:
        months: 6                     #     calendar months and/or days after it
        days: 0
        event: "RECIST 1.1 at 6 months"
        source: "..."
        grade: primary

References
----------
Designs: docs/methods/protocols.md (MERAIODE PMID 37074727 / 37350119; Ho 2013 PMID 23406027;
ERRITI Clin Cancer Res 2022;28:4194; SEL-I-METRY PMC6567392 / PMID 37565288; Rothenberg 2015 NCT01534897).
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from icalendar import Calendar, Event
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from redif.data import Grade, load_yaml
from redif.errors import InputError
from redif.io.yaml_doc import MAX_FILE_BYTES, load_document
from redif.pathway._dates import add_months
from redif.pathway.case import CaseValidationError, _pydantic_problems

__all__ = [
    "EventKind",
    "ProtocolEvent",
    "ProtocolPlan",
    "ProtocolTemplate",
    "ScheduledEvent",
    "available_protocols",
    "get_protocol",
    "load_protocol_file",
    "parse_protocol",
    "plan_to_ics",
    "protocol_names",
    "schedule",
]

_DECISION_RULES_FILE = "decision_rules.yaml"


class EventKind(enum.StrEnum):
    """Kinds of protocol events."""

    DRUG_START = "drug_start"
    RHTSH_INJECTION = "rhtsh_injection"
    TRACER_ADMINISTRATION = "tracer_administration"
    DIAGNOSTIC_SCAN = "diagnostic_scan"
    DECISION_POINT = "decision_point"
    RAI_ADMINISTRATION = "rai_administration"
    POST_THERAPY_SCAN = "post_therapy_scan"
    DRUG_STOP = "drug_stop"
    RESPONSE_ASSESSMENT = "response_assessment"
    OTHER = "other"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class ProtocolEvent(_Model):
    """One event of a template: a fixed day, or an offset after another event."""

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    kind: EventKind
    event: str = Field(min_length=1)
    day: int | None = Field(None, ge=-365, le=3650, description="Day offset from day 0 (drug start)")
    after: str | None = Field(None, description="Id of the event this one is anchored to")
    days: int = Field(0, ge=-365, le=3650)
    months: int = Field(0, ge=0, le=120)
    source: str = Field(min_length=1)
    grade: Grade
    note: str | None = None

    @model_validator(mode="after")
    def _one_anchor(self) -> ProtocolEvent:
        if (self.day is None) == (self.after is None):
            raise ValueError("give exactly one of 'day' (offset from day 0) or 'after' (an event id)")
        if self.day is not None and (self.days or self.months):
            raise ValueError("'days'/'months' go with 'after', not with 'day'")
        return self


class ProtocolTemplate(_Model):
    """A protocol template: events with day offsets, each with its source and grade."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    title: str = Field(min_length=1)
    source: str = Field(min_length=1)
    grade: Grade
    decision_rules: list[str] = Field(default_factory=list)
    decision_policy: str | None = None
    notes: list[str] = Field(default_factory=list)
    events: list[ProtocolEvent] = Field(min_length=1)


@dataclass(frozen=True)
class ScheduledEvent:
    """One dated event of a plan. ``date`` is ``None`` when no start date was given."""

    id: str
    day: int
    date: dt.date | None
    event: str
    kind: EventKind
    source: str
    grade: Grade
    note: str | None = None


@dataclass(frozen=True)
class ProtocolPlan:
    """A dated plan: the template's identity and its events in date order."""

    protocol: str
    title: str
    source: str
    grade: Grade
    start_date: dt.date | None
    events: tuple[ScheduledEvent, ...]
    decision_rules: tuple[str, ...]
    decision_policy: str | None
    notes: tuple[str, ...]

    def table(self) -> list[dict[str, Any]]:
        """Rows ``day, date, event, kind, source, grade`` (the JSON ``protocol`` list)."""
        return [
            {
                "day": e.day,
                "date": e.date.isoformat() if e.date else None,
                "event": e.event,
                "kind": e.kind.value,
                "source": e.source,
                "grade": e.grade.value,
            }
            for e in self.events
        ]


def _cross_check(t: ProtocolTemplate) -> list[str]:
    problems: list[str] = []
    ids: dict[str, int] = {}
    for i, e in enumerate(t.events):
        if e.id in ids:
            problems.append(f"events[{i}].id: duplicate event id (got {e.id!r})")
        ids.setdefault(e.id, i)
    for i, e in enumerate(t.events):
        if e.after is not None and e.after not in ids:
            problems.append(f"events[{i}].after: unknown event id {e.after!r}; known: {', '.join(ids)}")
    known_rules = set(load_yaml(_DECISION_RULES_FILE)["rules"])
    for i, r in enumerate(t.decision_rules):
        if r not in known_rules:
            problems.append(
                f"decision_rules[{i}]: unknown rule {r!r}; known: {', '.join(sorted(known_rules))}"
            )
    if not problems:
        try:
            _resolve_days(t, dt.date(2000, 1, 1))
        except ValueError as exc:
            problems.append(str(exc))
    return problems


def parse_protocol(data: Any, *, source: str = "protocol template") -> ProtocolTemplate:
    """Validate a decoded template (dict).

    Raises
    ------
    CaseValidationError
        Listing every problem, one line each, with its field path (e.g. ``events[3].day``).
    """
    if not isinstance(data, dict):
        raise CaseValidationError(source, [f"(root): expected a mapping, got {type(data).__name__}"])
    try:
        template = ProtocolTemplate.model_validate(data)
    except ValidationError as exc:
        raise CaseValidationError(source, _pydantic_problems(exc)) from None
    problems = _cross_check(template)
    if problems:
        raise CaseValidationError(source, problems)
    return template


def load_protocol_file(path: str | Path) -> ProtocolTemplate:
    """Read and validate a user-defined protocol template (YAML)."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read protocol template: {exc.strerror}", field=str(p)) from None
    data = load_document(raw, field=str(p), max_bytes=MAX_FILE_BYTES, dates_as_text=False)
    return parse_protocol(data, source=str(p))


#: The one table of protocol templates is the folder ``redif/data/protocols``: one ``<name>.yaml`` per
#: template. The CLI (``redif patient protocols``, ``--protocol``), the case schema's
#: ``redifferentiation_course.protocol`` and the regimens' ``default_protocol`` all name its entries.
_PROTOCOLS = "protocols"


def protocol_names() -> tuple[str, ...]:
    """The names of the packaged templates (the file names, without parsing them), sorted."""
    folder = resources.files("redif.data").joinpath(_PROTOCOLS)
    return tuple(sorted(e.name[: -len(".yaml")] for e in folder.iterdir() if e.name.endswith(".yaml")))


@lru_cache(maxsize=1)
def _packaged() -> dict[str, ProtocolTemplate]:
    out: dict[str, ProtocolTemplate] = {}
    folder = resources.files("redif.data").joinpath(_PROTOCOLS)
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            t = parse_protocol(yaml.safe_load(entry.read_text(encoding="utf-8")), source=entry.name)
            if f"{t.name}.yaml" != entry.name:
                raise CaseValidationError(entry.name, [f"name: {t.name!r} differs from the file name"])
            out[t.name] = t
    return out


def available_protocols() -> dict[str, ProtocolTemplate]:
    """The packaged protocol templates by name (the table of :func:`protocol_names`, parsed)."""
    return dict(_packaged())


def get_protocol(name_or_path: str) -> ProtocolTemplate:
    """A packaged template by name (case-insensitive), or a user template from a ``.yaml`` path."""
    if name_or_path.endswith((".yaml", ".yml")) or Path(name_or_path).is_file():
        return load_protocol_file(name_or_path)
    table = _packaged()
    key = name_or_path.strip().lower()
    if key not in table:
        raise InputError(
            "unknown protocol",
            field="protocol",
            value=name_or_path,
            remedy=f"use one of {', '.join(sorted(table))} or a path to a template .yaml",
        )
    return table[key]


def _resolve_days(t: ProtocolTemplate, start: dt.date) -> dict[str, dt.date]:
    """Dates of every event (anchored events resolved recursively); raises ``ValueError`` on a cycle."""
    by_id = {e.id: e for e in t.events}
    dates: dict[str, dt.date] = {}

    def resolve(eid: str, stack: tuple[str, ...]) -> dt.date:
        if eid in dates:
            return dates[eid]
        if eid in stack:
            raise ValueError(f"events: cycle in 'after' anchors ({' -> '.join((*stack, eid))})")
        e = by_id[eid]
        if e.day is not None:
            d = start + dt.timedelta(days=e.day)
        else:
            assert e.after is not None
            d = add_months(resolve(e.after, (*stack, eid)), e.months) + dt.timedelta(days=e.days)
        dates[eid] = d
        return d

    for e in t.events:
        resolve(e.id, ())
    return dates


def schedule(template: ProtocolTemplate, start_date: dt.date | None = None) -> ProtocolPlan:
    """Dated plan from a template.

    Parameters
    ----------
    template
        The protocol template.
    start_date
        Day 0 (the drug start). Without it, events keep their day offsets (computed from an arbitrary
        reference for month anchors) and ``date`` is ``None``.

    Returns
    -------
    ProtocolPlan
        Events sorted by day (ties keep template order), each with its source and grade.
    """
    ref = start_date or dt.date(2001, 1, 1)
    dates = _resolve_days(template, ref)
    events = [
        ScheduledEvent(
            id=e.id,
            day=(dates[e.id] - ref).days,
            date=dates[e.id] if start_date else None,
            event=e.event,
            kind=e.kind,
            source=e.source,
            grade=e.grade,
            note=e.note,
        )
        for e in template.events
    ]
    events.sort(key=lambda s: s.day)  # stable: ties keep template order
    return ProtocolPlan(
        protocol=template.name,
        title=template.title,
        source=template.source,
        grade=template.grade,
        start_date=start_date,
        events=tuple(events),
        decision_rules=tuple(template.decision_rules),
        decision_policy=template.decision_policy,
        notes=tuple(template.notes),
    )


def plan_to_ics(plan: ProtocolPlan, *, case_id: str | None = None) -> bytes:
    """iCalendar (RFC 5545) bytes: one all-day event per plan event, with source and grade.

    Deterministic: UIDs hash the protocol, case and event; DTSTAMP is the plan's start date.

    Raises
    ------
    InputError
        If the plan has no start date (there is nothing to put in a calendar).
    """
    if plan.start_date is None:
        raise InputError(
            "a calendar needs dated events",
            field="start_date",
            remedy="give the start date as YYYY-MM-DD (day 0 = drug start)",
        )
    cal = Calendar()
    cal.add("prodid", "-//redif//pathway protocol//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"redif {plan.protocol}" + (f" ({case_id})" if case_id else ""))
    stamp = dt.datetime.combine(plan.start_date, dt.time(0, 0), tzinfo=dt.UTC)
    for e in plan.events:
        assert e.date is not None
        ev = Event()
        key = f"{plan.protocol}|{case_id or ''}|{e.id}|{e.date.isoformat()}"
        ev.add("uid", hashlib.sha256(key.encode()).hexdigest()[:32] + "@redif")
        ev.add("dtstamp", stamp)
        ev.add("dtstart", e.date)
        ev.add("dtend", e.date + dt.timedelta(days=1))
        ev.add("summary", f"D{e.day}: {e.event}")
        ev.add("categories", [e.kind.value])
        ev.add(
            "description",
            f"Source: {e.source} [grade: {e.grade.value}]"
            + (f"\nNote: {e.note}" if e.note else "")
            + f"\nProtocol: {plan.title}\nDecision support only; verify before acting.",
        )
        cal.add_component(ev)
    return bytes(cal.to_ical())
