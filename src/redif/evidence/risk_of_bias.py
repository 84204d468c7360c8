"""Risk of bias of the evidence base: the tool, the assessments per record, their summary (pure, no I/O).

The tool (``redif/data/risk_of_bias_tool.yaml``) is the JBI Critical Appraisal Checklist for Case Series
(10 items; answers yes / no / unclear / not applicable) [1]_. The JBI tool gives no summary judgement; the
overall risk of bias of a record is **redif's rule**, stated (with its grade) in the tool file: the share
of "yes" among the applicable items, at least ``low_min_yes`` -> low, at least ``some_concerns_min_yes``
-> some concerns, below -> high. A record the tool does not suit (a randomised trial, a single case
report) is ``not_assessed`` with its reason; an arm or subgroup may share its study's appraisal
(``same_as``).

The assessments (``redif/data/risk_of_bias.yaml``) are a starting point drafted without reading the
papers (grade ``unverified``), for the consortium's reviewers to replace.

References
----------
.. [1] Munn Z, et al. Methodological quality of case series studies: an introduction to the JBI critical
   appraisal tool. JBI Evid Synth 2020;18(10):2127-2133.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from redif.data import load_yaml
from redif.errors import InputError

__all__ = [
    "ASSESSMENTS_FILE",
    "NOT_ASSESSED",
    "TOOL_FILE",
    "Assessment",
    "RobSummary",
    "RobTool",
    "load_assessments",
    "load_tool",
    "parse_assessments",
    "parse_tool",
    "summarise",
]

#: The tool (items, answers, the rule of the overall judgement).
TOOL_FILE = "risk_of_bias_tool.yaml"
#: The assessments per evidence record.
ASSESSMENTS_FILE = "risk_of_bias.yaml"
#: The judgement of a record the tool does not suit.
NOT_ASSESSED = "not_assessed"
_GRADES = ("primary", "secondary", "unverified")


def _answer_text(raw: object) -> str:
    """An answer as text: YAML 1.1 reads a bare ``yes`` / ``no`` as a boolean."""
    if isinstance(raw, bool):
        return "yes" if raw else "no"
    return str(raw).strip()


@dataclass(frozen=True)
class RobTool:
    """A checklist: item ids and wording, the allowed answers and redif's rule of the overall judgement."""

    name: str
    items: tuple[tuple[str, str], ...]
    answers: tuple[str, ...]
    low_min_yes: float
    some_concerns_min_yes: float
    levels: tuple[str, ...]
    source: str
    grade: str
    rule: str

    @property
    def item_ids(self) -> tuple[str, ...]:
        """The item ids, in order."""
        return tuple(i for i, _ in self.items)

    def judge(self, answers: Mapping[str, str]) -> str:
        """The overall judgement (redif's rule) from one record's answers."""
        applicable = [a for a in answers.values() if a != "not_applicable"]
        if not applicable:
            return NOT_ASSESSED
        share = sum(a == "yes" for a in applicable) / len(applicable)
        if share >= self.low_min_yes:
            return "low"
        if share >= self.some_concerns_min_yes:
            return "some_concerns"
        return "high"


@dataclass(frozen=True)
class Assessment:
    """One record's appraisal: answers (item -> (answer, justification)) and the overall judgement."""

    record: str
    judgement: str
    answers: tuple[tuple[str, str, str], ...]
    grade: str
    reviewer: str | None
    reason: str | None
    same_as: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"record": self.record, "judgement": self.judgement, "grade": self.grade,
                "reviewer": self.reviewer, "reason": self.reason, "same_as": self.same_as,
                "answers": [{"item": i, "answer": a, "why": w} for i, a, w in self.answers]}


def _require(data: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in data or data[key] in (None, ""):
        raise InputError("is required", field=f"{where}.{key}", remedy=f"give {key} in the tool file")
    return data[key]


def parse_tool(data: Any, *, origin: str = TOOL_FILE) -> RobTool:
    """Validate a tool mapping (the shape of ``risk_of_bias_tool.yaml``).

    Raises
    ------
    InputError
        Naming the field, for a missing or malformed part.
    """
    if not isinstance(data, Mapping):
        raise InputError("expected a mapping", field=origin)
    items_raw = _require(data, "items", origin)
    if not isinstance(items_raw, list) or not items_raw:
        raise InputError("expected a list of items", field=f"{origin}.items")
    items = tuple((str(_require(it, "id", f"{origin}.items")), str(_require(it, "text", f"{origin}.items")))
                  for it in items_raw)
    answer_block = _require(data, "answers", origin)
    answers = tuple(_answer_text(a) for a in _require(answer_block, "values", f"{origin}.answers"))
    rule = _require(data, "judgement", origin)
    low = float(_require(rule, "low_min_yes", f"{origin}.judgement"))
    some = float(_require(rule, "some_concerns_min_yes", f"{origin}.judgement"))
    if not 0.0 <= some <= low <= 1.0:
        raise InputError("thresholds must satisfy 0 <= some_concerns_min_yes <= low_min_yes <= 1",
                         field=f"{origin}.judgement", value=[some, low])
    for where, grade in ((origin, data.get("grade")), (f"{origin}.judgement", rule.get("grade"))):
        if grade not in _GRADES:
            raise InputError("unknown grade", field=f"{where}.grade", value=grade,
                             remedy=f"use one of: {', '.join(_GRADES)}")
    return RobTool(
        name=str(_require(data, "name", origin)), items=items, answers=answers, low_min_yes=low,
        some_concerns_min_yes=some, levels=tuple(str(x) for x in _require(rule, "levels", origin)),
        source=str(_require(data, "source", origin)), grade=str(data["grade"]),
        rule=str(_require(rule, "rule", f"{origin}.judgement")),
    )


def load_tool() -> RobTool:
    """The built-in tool (``risk_of_bias_tool.yaml``), validated."""
    return parse_tool(load_yaml(TOOL_FILE))


def _answers(tool: RobTool, raw: Any, where: str) -> tuple[tuple[str, str, str], ...]:
    if not isinstance(raw, Mapping):
        raise InputError("expected a mapping item -> [answer, justification]", field=f"{where}.answers")
    unknown = sorted(set(raw) - set(tool.item_ids))
    missing = [i for i in tool.item_ids if i not in raw]
    if unknown or missing:
        raise InputError("answers do not match the tool's items", field=f"{where}.answers",
                         value={"unknown": unknown, "missing": missing},
                         remedy=f"answer each of {', '.join(tool.item_ids)} once")
    out: list[tuple[str, str, str]] = []
    for item in tool.item_ids:
        pair = raw[item]
        if not isinstance(pair, list) or len(pair) != 2 or not str(pair[1] or "").strip():
            raise InputError("expected [answer, justification]", field=f"{where}.answers.{item}", value=pair,
                             remedy="e.g. [unclear, \"not checked in the paper\"]")
        answer = _answer_text(pair[0])
        if answer not in tool.answers:
            raise InputError("unknown answer", field=f"{where}.answers.{item}", value=answer,
                             remedy=f"use one of: {', '.join(tool.answers)}")
        out.append((item, answer, str(pair[1]).strip()))
    return tuple(out)


def parse_assessments(data: Any, tool: RobTool, *, records: Iterable[str] | None = None,
                      origin: str = ASSESSMENTS_FILE) -> tuple[Assessment, ...]:
    """Validate the assessments (the shape of ``risk_of_bias.yaml``) against ``tool``.

    Parameters
    ----------
    data
        ``{"assessments": [...]}``.
    tool
        From :func:`parse_tool`.
    records
        When given, the evidence record ids: every assessed id must be one of them and every one of them
        must be assessed.

    Raises
    ------
    InputError
        Naming the record and field: unknown or duplicate record, answers not matching the items, an
        unknown answer or grade, a ``same_as`` that names no assessed record, a record left unassessed.
    """
    raw = data.get("assessments") if isinstance(data, Mapping) else None
    if not isinstance(raw, list) or not raw:
        raise InputError("no assessments", field=origin, remedy="give a list under 'assessments'")
    entries: dict[str, Mapping[str, Any]] = {}
    for i, entry in enumerate(raw):
        if not isinstance(entry, Mapping) or not entry.get("record"):
            raise InputError("each assessment needs a record id", field=f"{origin}[{i}]", value=entry)
        rid = str(entry["record"])
        if rid in entries:
            raise InputError("record assessed twice", field=f"{origin}.{rid}", value=rid)
        entries[rid] = entry
    out: list[Assessment] = []
    for rid, entry in entries.items():
        where = f"{origin}.{rid}"
        same_as = entry.get("same_as")
        if same_as is not None:
            target = entries.get(str(same_as))
            if target is None or target.get("same_as") is not None:
                raise InputError("same_as names no directly assessed record", field=f"{where}.same_as",
                                 value=same_as, remedy="point same_as at the study's own assessment")
            src = target
        else:
            src = entry
        if src.get("assessed", True) is False:
            reason = str(src.get("reason") or "").strip()
            if not reason:
                raise InputError("a record not assessed needs a reason", field=f"{where}.reason")
            out.append(Assessment(rid, NOT_ASSESSED, (), "unverified", None, reason,
                                  None if same_as is None else str(same_as)))
            continue
        grade = src.get("grade")
        if grade not in _GRADES:
            raise InputError("unknown grade", field=f"{where}.grade", value=grade,
                             remedy=f"use one of: {', '.join(_GRADES)}")
        answers = _answers(tool, src.get("answers"), where)
        judgement = tool.judge({i: a for i, a, _ in answers})
        out.append(Assessment(rid, judgement, answers, str(grade), src.get("reviewer"), None,
                              None if same_as is None else str(same_as)))
    if records is not None:
        ids = list(records)
        unknown = [a.record for a in out if a.record not in ids]
        if unknown:
            raise InputError("assessment of a record not in the evidence base", field=origin, value=unknown,
                             remedy="use the row_id of evidence_studies.yaml")
        missing = [r for r in ids if r not in entries]
        if missing:
            raise InputError("evidence records without a risk-of-bias assessment", field=origin,
                             value=missing, remedy="add an assessment (or assessed: false with a reason)")
    return tuple(out)


def load_assessments(records: Iterable[str] | None = None) -> tuple[Assessment, ...]:
    """The built-in assessments (``risk_of_bias.yaml``), validated against the built-in tool."""
    return parse_assessments(load_yaml(ASSESSMENTS_FILE), load_tool(), records=records)


@dataclass(frozen=True)
class RobSummary:
    """Counts of overall judgements, and per item counts of each answer (over assessed records)."""

    judgements: dict[str, int]
    items: dict[str, dict[str, int]]
    n_records: int

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"judgements": dict(self.judgements), "items": {k: dict(v) for k, v in self.items.items()},
                "n_records": self.n_records}


def summarise(assessments: Sequence[Assessment], tool: RobTool) -> RobSummary:
    """Count judgements (every level of the tool, zeros included) and answers per item.

    Records sharing a study's appraisal (``same_as``) count once (the study's), so that a trial with
    three arms does not weigh three times.
    """
    own = [a for a in assessments if a.same_as is None]
    judgements = {level: 0 for level in tool.levels}
    judgements.update(Counter(a.judgement for a in own))
    items: dict[str, dict[str, int]] = {}
    for item in tool.item_ids:
        counts = {ans: 0 for ans in tool.answers}
        for a in own:
            for i, ans, _ in a.answers:
                if i == item:
                    counts[ans] += 1
        items[item] = counts
    return RobSummary(judgements, items, len(own))
