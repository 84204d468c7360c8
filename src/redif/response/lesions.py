"""RECIST 1.1 lesion model: lesions, time-point assessments and one patient's case, with validation.

The JSON/dict form read by :func:`case_from_dict` (and by ``redif recist timepoint FILE.json``)::

    {
      "subject": "P01",                          # optional label
      "treatment_start": "2025-01-20",           # optional; enables best overall response
      "lesions": [
        {"id": "T1", "organ": "lung", "kind": "target"},
        {"id": "T2", "organ": "lymph node", "kind": "target", "is_node": true},
        {"id": "NT1", "organ": "bone", "kind": "non-target"}
      ],
      "baseline": {"date": "2025-01-10", "target_mm": {"T1": 22, "T2": 18}},
      "follow_up": [
        {"date": "2025-04-10",
         "target_mm": {"T1": 15, "T2": 9},          # longest diameter; short axis for nodes; null = not done
         "non_target": {"NT1": "present"},          # present | absent | progression | not-evaluated
         "new_lesions": [{"id": "N1", "organ": "liver", "equivocal": false}]}
      ]
    }

Diameters are in millimetres and are kept as exact decimals (:class:`decimal.Decimal`) so that the
30 % / 20 % / 5 mm comparisons are exact. A target lesion missing from a follow-up ``target_mm`` (or
given as ``null``) was not evaluated; a non-target lesion missing from ``non_target`` was not evaluated.
``new_lesions`` may also be ``true``/``false``.

References
----------
Eisenhauer EA et al. New response evaluation criteria in solid tumours: revised RECIST guideline
(version 1.1). Eur J Cancer 2009;45:228-247 (§3 lesion definitions, §4.3 evaluation).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from redif.response._problems import Problems, parse_date, parse_decimal
from redif.response.codes import LesionKind, NonTargetStatus

__all__ = ["Assessment", "Lesion", "NewLesion", "RecistCase", "case_from_dict", "validate_case"]


@dataclass(frozen=True)
class Lesion:
    """A lesion chosen at baseline.

    Attributes
    ----------
    id
        Identifier unique within the case (e.g. ``"T1"``).
    organ
        Organ or site; the per-organ target limit counts lesions with the same ``organ`` text.
    kind
        :class:`~redif.response.codes.LesionKind` (target or non-target).
    is_node
        Lymph node: measured by its short axis; "normal" below 10 mm.
    """

    id: str
    organ: str
    kind: LesionKind
    is_node: bool = False


@dataclass(frozen=True)
class NewLesion:
    """A lesion first seen after baseline; an ``equivocal`` one does not make PD by itself."""

    id: str
    organ: str | None = None
    equivocal: bool = False


@dataclass(frozen=True)
class Assessment:
    """One imaging time point.

    Attributes
    ----------
    date
        Date of the scan.
    target_mm
        Target lesion id -> longest diameter (nodes: short axis) in mm, or ``None`` when not evaluated.
    non_target
        Non-target lesion id -> :class:`~redif.response.codes.NonTargetStatus`.
    new_lesions
        New lesions seen at this time point (none at baseline).
    """

    date: date
    target_mm: Mapping[str, Decimal | None] = field(default_factory=dict)
    non_target: Mapping[str, NonTargetStatus] = field(default_factory=dict)
    new_lesions: tuple[NewLesion, ...] = ()


@dataclass(frozen=True)
class RecistCase:
    """Baseline lesions and assessments of one patient."""

    lesions: tuple[Lesion, ...]
    baseline: Assessment
    follow_up: tuple[Assessment, ...] = ()
    subject: str | None = None
    treatment_start: date | None = None

    @property
    def targets(self) -> tuple[Lesion, ...]:
        """Target lesions in the order given."""
        return tuple(les for les in self.lesions if les.kind is LesionKind.TARGET)

    @property
    def non_targets(self) -> tuple[Lesion, ...]:
        """Non-target lesions in the order given."""
        return tuple(les for les in self.lesions if les.kind is LesionKind.NON_TARGET)


_KINDS = {
    "target": LesionKind.TARGET,
    "non-target": LesionKind.NON_TARGET,
    "nontarget": LesionKind.NON_TARGET,
    "non_target": LesionKind.NON_TARGET,
}
_STATUS_ALIASES = {
    "present": NonTargetStatus.PRESENT,
    "non-cr/non-pd": NonTargetStatus.PRESENT,
    "absent": NonTargetStatus.ABSENT,
    "cr": NonTargetStatus.ABSENT,
    "progression": NonTargetStatus.PROGRESSION,
    "pd": NonTargetStatus.PROGRESSION,
    "not-evaluated": NonTargetStatus.NOT_EVALUATED,
    "ne": NonTargetStatus.NOT_EVALUATED,
}


def _as_bool(value: object, *, fld: str, problems: Problems) -> bool:
    if isinstance(value, bool):
        return value
    problems.add("must be true or false", field=fld, value=value)
    return False


def _parse_lesion(i: int, raw: object, problems: Problems) -> Lesion | None:
    fld = f"lesions[{i}]"
    if not isinstance(raw, Mapping):
        problems.add("must be an object with id, organ, kind", field=fld, value=raw)
        return None
    lid = raw.get("id")
    if not isinstance(lid, str) or not lid.strip():
        problems.add("missing or empty lesion id", field=f"{fld}.id", value=lid)
        return None
    organ = raw.get("organ")
    if not isinstance(organ, str) or not organ.strip():
        problems.add(
            f"lesion {lid!r} has no organ",
            field=f"{fld}.organ",
            value=organ,
            remedy='give the organ or site, e.g. "lung"',
        )
        organ = ""
    kind_raw = raw.get("kind")
    kind = _KINDS.get(str(kind_raw).strip().lower()) if isinstance(kind_raw, str) else None
    if kind is None:
        problems.add(
            f"lesion {lid!r}: unknown kind",
            field=f"{fld}.kind",
            value=kind_raw,
            remedy='use "target" or "non-target"',
        )
        return None
    is_node = _as_bool(raw.get("is_node", False), fld=f"{fld}.is_node", problems=problems)
    unknown = set(raw) - {"id", "organ", "kind", "is_node", "note"}
    if unknown:
        problems.add(
            f"lesion {lid!r}: unknown keys {sorted(unknown)}",
            field=fld,
            remedy="allowed keys: id, organ, kind, is_node, note",
        )
    return Lesion(id=lid.strip(), organ=organ.strip(), kind=kind, is_node=is_node)


def _parse_new(fld: str, raw: object, problems: Problems) -> tuple[NewLesion, ...]:
    if raw is None or raw is False:
        return ()
    if raw is True:
        return (NewLesion(id="new"),)
    if not isinstance(raw, list):
        problems.add("must be a list of new lesions or true/false", field=fld, value=raw)
        return ()
    out: list[NewLesion] = []
    for j, item in enumerate(raw):
        if isinstance(item, str) and item.strip():
            out.append(NewLesion(id=item.strip()))
            continue
        if not isinstance(item, Mapping) or not isinstance(item.get("id"), str):
            problems.add('each new lesion needs an "id"', field=f"{fld}[{j}]", value=item)
            continue
        organ = item.get("organ")
        out.append(
            NewLesion(
                id=str(item["id"]).strip(),
                organ=str(organ) if organ is not None else None,
                equivocal=_as_bool(
                    item.get("equivocal", False), fld=f"{fld}[{j}].equivocal", problems=problems
                ),
            )
        )
    return tuple(out)


def _parse_assessment(
    fld: str, raw: object, lesions: Mapping[str, Lesion], problems: Problems, *, baseline: bool
) -> Assessment | None:
    if not isinstance(raw, Mapping):
        problems.add("must be an object with date and target_mm", field=fld, value=raw)
        return None
    when = parse_date(raw.get("date"), field=f"{fld}.date", problems=problems)
    target_mm: dict[str, Decimal | None] = {}
    raw_t = raw.get("target_mm", {})
    if not isinstance(raw_t, Mapping):
        problems.add("must map lesion id to diameter in mm", field=f"{fld}.target_mm", value=raw_t)
        raw_t = {}
    for lid, val in raw_t.items():
        lf = f"{fld}.target_mm.{lid}"
        les = lesions.get(lid)
        if les is None:
            problems.add(
                f'measurement for lesion {lid!r}, which is not in "lesions"',
                field=lf,
                remedy='declare every lesion in "lesions" (new lesions go in "new_lesions")',
            )
            continue
        if les.kind is not LesionKind.TARGET:
            problems.add(
                f'lesion {lid!r} is non-target: give its status in "non_target"', field=lf, value=val
            )
            continue
        if val is None:
            target_mm[lid] = None
            continue
        dec = parse_decimal(val, field=lf, problems=problems)
        if dec is not None and dec < 0:
            problems.add("a diameter cannot be negative", field=lf, value=val)
            dec = None
        if dec is not None:
            target_mm[lid] = dec
    non_target: dict[str, NonTargetStatus] = {}
    raw_nt = raw.get("non_target", {})
    if not isinstance(raw_nt, Mapping):
        problems.add("must map lesion id to a status", field=f"{fld}.non_target", value=raw_nt)
        raw_nt = {}
    for lid, val in raw_nt.items():
        lf = f"{fld}.non_target.{lid}"
        les = lesions.get(lid)
        if les is None:
            problems.add(f'status for lesion {lid!r}, which is not in "lesions"', field=lf)
            continue
        if les.kind is not LesionKind.NON_TARGET:
            problems.add(f'lesion {lid!r} is a target: give its diameter in "target_mm"', field=lf, value=val)
            continue
        status = _STATUS_ALIASES.get(val.strip().lower()) if isinstance(val, str) else None
        if status is None:
            problems.add(
                "unknown non-target status",
                field=lf,
                value=val,
                remedy="use present, absent, progression or not-evaluated",
            )
            continue
        non_target[lid] = status
    new = _parse_new(f"{fld}.new_lesions", raw.get("new_lesions"), problems)
    if baseline and new:
        problems.add(
            "new lesions cannot be recorded at baseline",
            field=f"{fld}.new_lesions",
            remedy='declare baseline lesions in "lesions"',
        )
    unknown = set(raw) - {"date", "target_mm", "non_target", "new_lesions", "note"}
    if unknown:
        problems.add(
            f"unknown keys {sorted(unknown)}",
            field=fld,
            remedy="allowed keys: date, target_mm, non_target, new_lesions, note",
        )
    if when is None:
        return None
    return Assessment(date=when, target_mm=target_mm, non_target=non_target, new_lesions=new)


def case_from_dict(data: Mapping[str, Any]) -> RecistCase:
    """Build and validate a :class:`RecistCase` from its JSON/dict form (see the module docstring).

    Raises
    ------
    InputError
        One :class:`~redif.errors.InputError` (or an ``InputProblems`` listing several), each naming
        the field (e.g. ``follow_up[1].target_mm.T9``), the bad value and the fix.
    """
    problems = Problems()
    if not isinstance(data, Mapping):
        problems.add("the RECIST case must be a JSON object", field="(top level)", value=type(data).__name__)
        problems.raise_if_any()
    for key in ("lesions", "baseline"):
        if key not in data:
            problems.add(
                f"missing required key {key!r}", field=key, remedy="see docs/response.md for the case format"
            )
    problems.raise_if_any()
    raw_lesions = data["lesions"]
    lesions: dict[str, Lesion] = {}
    if not isinstance(raw_lesions, list) or not raw_lesions:
        problems.add("must be a non-empty list of lesions", field="lesions", value=raw_lesions)
        raw_lesions = []
    for i, raw in enumerate(raw_lesions):
        les = _parse_lesion(i, raw, problems)
        if les is None:
            continue
        if les.id in lesions:
            problems.add(
                f"duplicate lesion id {les.id!r}",
                field=f"lesions[{i}].id",
                value=les.id,
                remedy="give every lesion its own id",
            )
            continue
        lesions[les.id] = les
    base = _parse_assessment("baseline", data["baseline"], lesions, problems, baseline=True)
    raw_fu = data.get("follow_up", [])
    if not isinstance(raw_fu, list):
        problems.add("must be a list of assessments", field="follow_up", value=raw_fu)
        raw_fu = []
    follow = [
        _parse_assessment(f"follow_up[{i}]", raw, lesions, problems, baseline=False)
        for i, raw in enumerate(raw_fu)
    ]
    start = None
    if data.get("treatment_start") is not None:
        start = parse_date(data["treatment_start"], field="treatment_start", problems=problems)
    subject = data.get("subject")
    unknown = set(data) - {"subject", "treatment_start", "lesions", "baseline", "follow_up", "note"}
    if unknown:
        problems.add(
            f"unknown keys {sorted(unknown)}",
            field="(top level)",
            remedy="allowed keys: subject, treatment_start, lesions, baseline, follow_up, note",
        )
    problems.raise_if_any()
    assert base is not None
    case = RecistCase(
        lesions=tuple(lesions.values()),
        baseline=base,
        follow_up=tuple(a for a in follow if a is not None),
        subject=None if subject is None else str(subject),
        treatment_start=start,
    )
    validate_case(case)
    return case


def validate_case(case: RecistCase) -> None:
    """Check the structure of a case: hard errors only (RECIST selection rules are *findings*).

    Errors: no lesion at all; a baseline target without a diameter; a baseline sum of zero; assessments
    not in strictly increasing date order (the baseline first); a measurement or status for an
    undeclared lesion.

    Raises
    ------
    InputError
        Naming each problem.
    """
    problems = Problems()
    ids = {les.id: les for les in case.lesions}
    if not case.lesions:
        problems.add("the case has no lesion", field="lesions", remedy="declare the baseline lesions")
    for les in case.targets:
        val = case.baseline.target_mm.get(les.id)
        if val is None:
            problems.add(
                f"target lesion {les.id!r} has no baseline diameter",
                field=f"baseline.target_mm.{les.id}",
                remedy="measure every target lesion at baseline (or make it non-target)",
            )
    if (
        case.targets
        and all(case.baseline.target_mm.get(t.id) is not None for t in case.targets)
        and sum((case.baseline.target_mm[t.id] or Decimal(0)) for t in case.targets) == 0
    ):
        problems.add(
            "baseline sum of target diameters is 0 mm",
            field="baseline.target_mm",
            remedy="target lesions must be measurable (> 0 mm) at baseline",
        )
    previous = case.baseline.date
    for i, a in enumerate(case.follow_up):
        if a.date <= previous:
            what = "the baseline" if i == 0 else f"follow_up[{i - 1}]"
            problems.add(
                f"dates out of order: {a.date.isoformat()} is not after {what} ({previous.isoformat()})",
                field=f"follow_up[{i}].date",
                value=a.date.isoformat(),
                remedy="list follow-up assessments in increasing date order, after the baseline",
            )
        previous = max(previous, a.date)
    for label, a in (
        ("baseline", case.baseline),
        *((f"follow_up[{i}]", x) for i, x in enumerate(case.follow_up)),
    ):
        for lid in a.target_mm:
            declared = ids.get(lid)
            if declared is None or declared.kind is not LesionKind.TARGET:
                problems.add(
                    f"measurement for {lid!r}, which is not a declared target lesion",
                    field=f"{label}.target_mm.{lid}",
                )
        for lid in a.non_target:
            declared = ids.get(lid)
            if declared is None or declared.kind is not LesionKind.NON_TARGET:
                problems.add(
                    f"status for {lid!r}, which is not a declared non-target lesion",
                    field=f"{label}.non_target.{lid}",
                )
    problems.raise_if_any()
