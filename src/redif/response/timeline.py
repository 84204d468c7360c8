"""Patient timeline: the figure data of one patient's course on a shared date axis (issue 16).

:func:`patient_timeline` is the one engine function behind the timeline on the patient page and in the
PDF report: the patient's registry records in (plain dicts, as
:func:`redif.registry.patients.patient_to_dict` gives them), the figure's marks out. Each
:class:`Mark` has a ``kind``, a ``date`` (and ``end`` for bars), a ``lane``, a ``label``, a ``value``, a
``category`` and a ``detail`` (the hover text). :func:`redif.response.timeline_plot.timeline_figure`
draws them; the tests check the marks, not the picture.

Lanes, top to bottom (:data:`LANES`):

- ``drug``: one bar per redifferentiation course (``start_date`` to ``stop_date``; a course without a
  stop date runs to the last date of the timeline and is marked ``ongoing``); a course with dose
  reductions gives a ``dose_reduction`` mark (the registry keeps their number, not their dates, so the
  mark sits at the course start and carries the count);
- ``stimulation``: rhTSH or thyroid hormone withdrawal of a course, placed on the uptake assessment it
  prepared (``start_date`` + ``days_before_uptake``, else the first uptake assessment on or after the
  course start): the registry keeps the method, not its date;
- ``scan``: diagnostic uptake scans (category ``restored`` / ``not_restored`` / ``not_recorded``) and
  post-therapy scans (of the 131I administrations, with the recorded finding, and of previous 131I
  with its uptake result);
- ``131I``: therapeutic 131I administrations and previous 131I (value: activity in GBq);
- ``response``: RECIST time-point responses (category: the overall response) and ``progression`` marks
  (a PD assessment, and the patient's ``progression_date``);
- ``lab``: Tg and TgAb values (drawn on a log axis beneath the lanes; TSH is left out).

A record without a date cannot be placed: it is left out and named in ``problems`` (never guessed).

References
----------
Eisenhauer EA et al. New response evaluation criteria in solid tumours: revised RECIST guideline
(version 1.1). Eur J Cancer 2009;45:228-247 (time-point responses).
Leboulleux S et al. (ITOG statement). Lancet Diabetes Endocrinol 2025;13:516-527, PMID 40318680 (the
harmonised minimum data set the records follow).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

__all__ = ["LANES", "LANE_LABELS", "Mark", "Timeline", "patient_timeline"]

#: The lanes of the timeline, top to bottom (``lab`` is the log-axis panel beneath).
LANES: tuple[str, ...] = ("drug", "stimulation", "scan", "131I", "response", "lab")

#: Axis label of each lane.
LANE_LABELS: dict[str, str] = {
    "drug": "Redifferentiation drug",
    "stimulation": "TSH stimulation",
    "scan": "Scans (uptake)",
    "131I": "131I (GBq)",
    "response": "RECIST response",
    "lab": "Tg / TgAb",
}

_STIMULATION = {"rhtsh": "rhTSH", "withdrawal": "Thyroid hormone withdrawal"}


@dataclass(frozen=True)
class Mark:
    """One mark of the timeline.

    Attributes
    ----------
    kind
        ``course``, ``dose_reduction``, ``tsh_stimulation``, ``uptake_scan``, ``post_therapy_scan``,
        ``administration``, ``prior_administration``, ``response``, ``progression`` or ``lab``.
    date
        ISO date of the mark (start of a bar).
    lane
        One of :data:`LANES`.
    label
        Short text drawn beside the mark.
    value
        The number of the mark, if any: activity (GBq), number of dose reductions, sum of diameters
        (mm), the lab value (in ``unit``).
    category
        The class that picks its colour/shape: the uptake result, the overall response, the analyte,
        the stimulation method.
    end
        ISO end date of a bar (courses), else None.
    detail
        The hover text (every recorded field of the mark).
    unit
        Unit of ``value``.
    ongoing
        A course without a stop date (drawn to the end of the axis with an arrow).
    """

    kind: str
    date: str
    lane: str
    label: str
    value: float | None = None
    category: str | None = None
    end: str | None = None
    detail: str = ""
    unit: str | None = None
    ongoing: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "kind": self.kind, "date": self.date, "end": self.end, "lane": self.lane, "label": self.label,
            "value": self.value, "unit": self.unit, "category": self.category, "detail": self.detail,
            "ongoing": self.ongoing,
        }


@dataclass(frozen=True)
class Timeline:
    """The figure data of one patient's timeline: marks sorted by (lane, date), the date range, the lanes
    that hold marks and what could not be placed."""

    subject: str
    marks: tuple[Mark, ...]
    start: str | None
    end: str | None
    problems: tuple[str, ...] = field(default=())

    @property
    def lanes(self) -> tuple[str, ...]:
        """The lanes that hold at least one mark, in :data:`LANES` order."""
        used = {m.lane for m in self.marks}
        return tuple(lane for lane in LANES if lane in used)

    def of_kind(self, kind: str) -> list[Mark]:
        """The marks of one kind, in date order."""
        return [m for m in self.marks if m.kind == kind]

    def to_dict(self) -> dict[str, Any]:
        """JSON form (keys ``subject``, ``start``, ``end``, ``lanes``, ``marks``, ``problems``)."""
        return {
            "subject": self.subject, "start": self.start, "end": self.end, "lanes": list(self.lanes),
            "marks": [m.to_dict() for m in self.marks], "problems": list(self.problems),
        }


def _date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _num(value: Any) -> float | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _fmt(v: float) -> str:
    return f"{v:g}"


def _detail(parts: Sequence[tuple[str, Any]]) -> str:
    return "; ".join(f"{k}: {v}" for k, v in parts if v is not None and v != "")


def _yes_no(v: Any) -> str | None:
    if v is None:
        return None
    return "yes" if bool(v) else "no"


def patient_timeline(patient: Mapping[str, Any]) -> Timeline:
    """The timeline marks of one patient.

    Parameters
    ----------
    patient
        A registry patient as :func:`redif.registry.patients.patient_to_dict` gives it: ``pseudonym``,
        ``progression_date``, ``progression_criterion``, ``last_follow_up_date`` and ``records``
        (``courses``, ``uptake``, ``administrations``, ``rai-history``, ``responses``, ``labs``), dates as
        ISO text or :class:`datetime.date`.

    Returns
    -------
    Timeline
        The marks (see the module docstring for the lanes and kinds) and the records left out.
    """
    rec: Mapping[str, Any] = patient.get("records") or {}
    marks: list[Mark] = []
    problems: list[str] = []
    last_dates: list[date] = []

    def skip(kind: str, what: str) -> None:
        msg = f"{kind}: {what} has no date and is not drawn"
        if msg not in problems:
            problems.append(msg)

    uptake = sorted(
        ((d, u) for u in rec.get("uptake", []) if (d := _date(u.get("assessment_date"))) is not None),
        key=lambda x: x[0],
    )
    # every dated record, to end the bars of ongoing courses
    for u_date, _ in uptake:
        last_dates.append(u_date)
    for kind, key in (("administrations", "administration_date"), ("rai-history", "treatment_date"),
                      ("responses", "assessment_date"), ("labs", "sample_date"), ("courses", "stop_date"),
                      ("courses", "start_date")):
        last_dates.extend(d for r in rec.get(kind, []) if (d := _date(r.get(key))) is not None)
    last_dates.extend(d for k in ("last_follow_up_date", "progression_date") if (d := _date(patient.get(k))))
    horizon = max(last_dates, default=None)

    for c in rec.get("courses", []):
        start, stop = _date(c.get("start_date")), _date(c.get("stop_date"))
        name = f"course {c.get('course_number') or '?'}"
        if start is None:
            skip("courses", name)
            continue
        ongoing = stop is None
        end = stop if stop is not None else (horizon if horizon and horizon > start else start)
        drugs = str(c.get("drugs") or "drug")
        reductions = c.get("dose_reductions")
        detail = _detail([
            ("Course", c.get("course_number")), ("Drugs", drugs), ("Dose", c.get("dose")),
            ("Start", start.isoformat()), ("Stop", stop.isoformat() if stop else "ongoing"),
            ("Dose reductions", reductions), ("TSH stimulation", c.get("tsh_stimulation")),
        ])
        marks.append(Mark("course", start.isoformat(), "drug", drugs, value=float((end - start).days),
                          unit="d", category="ongoing" if ongoing else "completed", end=end.isoformat(),
                          detail=detail, ongoing=ongoing))
        if isinstance(reductions, int) and not isinstance(reductions, bool) and reductions > 0:
            marks.append(Mark("dose_reduction", start.isoformat(), "drug",
                              f"{reductions} dose reduction{'s' if reductions > 1 else ''}",
                              value=float(reductions), category="dose_reduction", end=end.isoformat(),
                              detail=f"{drugs}: {reductions} dose reduction(s) during the course "
                              "(dates not recorded)"))
        method = c.get("tsh_stimulation")
        if method:
            days = c.get("days_before_uptake")
            when: date | None = None
            if isinstance(days, int) and not isinstance(days, bool):
                when = start + timedelta(days=days)
            else:
                when = next((d for d, _ in uptake if d >= start), None)
            if when is None:
                skip("courses", f"the TSH stimulation of {name}")
            else:
                label = _STIMULATION.get(str(method), str(method))
                marks.append(Mark("tsh_stimulation", when.isoformat(), "stimulation", label,
                                  category=str(method),
                                  detail=f"{label} before the uptake assessment of {name} "
                                  f"({when.isoformat()}; stimulation date not recorded)"))

    for u in rec.get("uptake", []):
        d = _date(u.get("assessment_date"))
        if d is None:
            skip("uptake", "an uptake assessment")
            continue
        restored = u.get("restored")
        cat = "not_recorded" if restored is None else ("restored" if restored else "not_restored")
        label = "uptake restored" if restored else ("no uptake" if restored is False else "uptake ?")
        marks.append(Mark("uptake_scan", d.isoformat(), "scan", label, value=_num(u.get("activity_mbq")),
                          unit="MBq", category=cat,
                          detail=_detail([("Diagnostic scan", d.isoformat()), ("Modality", u.get("modality")),
                                          ("Tracer", u.get("tracer")),
                                          ("Activity (MBq)", u.get("activity_mbq")),
                                          ("Time (h)", u.get("time_after_administration_h")),
                                          ("Restored", _yes_no(restored)),
                                          ("Definition", u.get("restored_definition"))])))

    for a in rec.get("administrations", []):
        d = _date(a.get("administration_date"))
        gbq = _num(a.get("activity_gbq"))
        if d is None:
            skip("administrations", "a 131I administration")
            continue
        marks.append(Mark("administration", d.isoformat(), "131I",
                          f"{_fmt(gbq)} GBq" if gbq is not None else "131I", value=gbq, unit="GBq",
                          category=str(a.get("basis") or "not_recorded"),
                          detail=_detail([("131I", d.isoformat()), ("Activity (GBq)", gbq),
                                          ("Basis", a.get("basis"))])))
        if a.get("post_therapy_scan"):
            finding = str(a["post_therapy_scan"])
            marks.append(Mark("post_therapy_scan", d.isoformat(), "scan", "post-therapy scan",
                              category="post_therapy",
                              detail=f"Post-therapy scan after the 131I of {d.isoformat()}: {finding}"))

    for h in rec.get("rai-history", []):
        d = _date(h.get("treatment_date"))
        gbq = _num(h.get("activity_gbq"))
        if d is None:
            skip("rai-history", "a previous 131I")
            continue
        marks.append(Mark("prior_administration", d.isoformat(), "131I",
                          f"{_fmt(gbq)} GBq" if gbq is not None else "131I", value=gbq, unit="GBq",
                          category="previous",
                          detail=_detail([("Previous 131I", d.isoformat()), ("Activity (GBq)", gbq),
                                          ("Indication", h.get("indication")),
                                          ("Uptake on post-therapy scan",
                                           _yes_no(h.get("post_therapy_scan_uptake")))])))
        up = h.get("post_therapy_scan_uptake")
        if up is not None:
            marks.append(Mark("post_therapy_scan", d.isoformat(), "scan",
                              "uptake" if up else "no uptake",
                              category="restored" if up else "not_restored",
                              detail=f"Post-therapy scan after the previous 131I of {d.isoformat()}: "
                              f"{'uptake' if up else 'no uptake'}"))

    pd_dates: set[date] = set()
    for r in rec.get("responses", []):
        d = _date(r.get("assessment_date"))
        if d is None:
            skip("responses", "a response assessment")
            continue
        code = r.get("overall_response")
        sod = _num(r.get("sum_of_diameters_mm"))
        detail = _detail([("Response", d.isoformat()), ("Criteria", r.get("criteria")),
                          ("Overall response", code), ("Sum of diameters (mm)", sod),
                          ("FDG-PET", r.get("fdg_pet"))])
        marks.append(Mark("response", d.isoformat(), "response", str(code or "?"), value=sod, unit="mm",
                          category=str(code) if code else "not_recorded", detail=detail))
        if code == "PD":
            pd_dates.add(d)
            marks.append(Mark("progression", d.isoformat(), "response", "progression", category="PD",
                              detail=f"Progression (RECIST PD) on {d.isoformat()}"))
    prog = _date(patient.get("progression_date"))
    if prog is not None and prog not in pd_dates:
        crit = patient.get("progression_criterion")
        marks.append(Mark("progression", prog.isoformat(), "response", "progression",
                          category=str(crit or "progression"),
                          detail=_detail([("Progression", prog.isoformat()), ("Criterion", crit)])))

    for lab in rec.get("labs", []):
        analyte = lab.get("analyte")
        if analyte not in ("Tg", "TgAb"):
            continue
        d = _date(lab.get("sample_date"))
        v = _num(lab.get("value"))
        if d is None:
            skip("labs", f"a {analyte} value")
            continue
        if v is None:
            continue
        unit = str(lab.get("unit") or "")
        marks.append(Mark("lab", d.isoformat(), "lab", f"{analyte} {_fmt(v)} {unit}".strip(), value=v,
                          unit=unit or None, category=str(analyte),
                          detail=f"{analyte} {_fmt(v)} {unit} on {d.isoformat()}".replace("  ", " ")))

    order = {lane: i for i, lane in enumerate(LANES)}
    marks.sort(key=lambda m: (order[m.lane], m.date, m.kind))
    starts = [m.date for m in marks]
    ends = [m.end or m.date for m in marks]
    return Timeline(
        subject=str(patient.get("pseudonym") or ""),
        marks=tuple(marks),
        start=min(starts, default=None),
        end=max(ends, default=None),
        problems=tuple(problems),
    )
