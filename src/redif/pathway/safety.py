"""Safety checks of the pathway assessment: contraindications to 131I, the lung retention limit, iodine
load, drug-label baseline checks and interactions, steroid cover.

:func:`assess_safety` is pure: it reads the case, the chosen drugs and the dated plan, and returns
findings ``{id, severity, text, source, grade}``. Every rule, threshold, source and grade is an entry of
``redif/data/safety_rules.yaml``; the 48-h whole-body retention limits are read from
``dosimetry_thresholds.yaml`` (the entries the dosimetry engine uses), never copied.

References
----------
Benua RS et al., AJR 1962;87:171-182 (48-h retention limits), as restated in PMC5724631.
Radioiodine and pregnancy, Thyroid 1999;9(7):721-726. Drug labels: Tafinlar, Mekinist, Koselugo,
Zelboraf (each rule names the transcription read). The other sources are named per rule in the data file.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from redif.data import Grade, SourcedValue, load_yaml, sourced_value
from redif.model import LesionPattern, SafetySeverity, TshStimulation
from redif.pathway._common import require_sourced
from redif.pathway.case import Case, Lesion, SafetyBaseline
from redif.pathway.protocol import EventKind, ProtocolPlan

__all__ = [
    "SafetyFinding",
    "SafetyRule",
    "assess_safety",
    "has_contraindication",
    "retention_limits",
    "safety_rules",
]

_FILE = "safety_rules.yaml"
_SEVERITY_ORDER = {SafetySeverity.CONTRAINDICATION: 0, SafetySeverity.WARNING: 1, SafetySeverity.INFO: 2}
_GRADE_ORDER = {Grade.PRIMARY: 0, Grade.SECONDARY: 1, Grade.UNVERIFIED: 2}
_CHECKS = frozenset(
    {"lvef_baseline", "lvef_below_lln", "qtc_baseline", "qtc_above", "ophthalmology_baseline", "medications",
     "always"}
)


@dataclass(frozen=True)
class SafetyRule:
    """One rule of ``safety_rules.yaml``: its severity, text template, source, grade and parameters."""

    id: str
    severity: SafetySeverity
    text: str
    source: str
    grade: Grade
    params: Mapping[str, Any]
    drugs: tuple[str, ...] = ()
    check: str | None = None


@dataclass(frozen=True)
class SafetyFinding:
    """One safety finding of an assessment."""

    id: str
    severity: SafetySeverity
    text: str
    source: str
    grade: Grade

    def to_dict(self) -> dict[str, str]:
        """JSON form: ``{id, severity, text, source, grade}``."""
        return {
            "id": self.id,
            "severity": self.severity.value,
            "text": self.text,
            "source": self.source,
            "grade": self.grade.value,
        }


def _rule(entry: Mapping[str, Any]) -> SafetyRule:
    key = str(entry.get("id"))
    require_sourced(entry, file=_FILE, key=key)
    check = entry.get("check")
    if check is not None and check not in _CHECKS:
        raise ValueError(f"data file {_FILE}: rule {key!r} has an unknown check {check!r}")
    fixed = {"id", "severity", "text", "source", "grade", "drugs", "check"}
    return SafetyRule(
        id=key,
        severity=SafetySeverity(entry["severity"]),
        text=" ".join(str(entry["text"]).split()),
        source=" ".join(str(entry["source"]).split()),
        grade=Grade(entry["grade"]),
        params={k: v for k, v in entry.items() if k not in fixed},
        drugs=tuple(str(d).lower() for d in entry.get("drugs") or ()),
        check=None if check is None else str(check),
    )


@lru_cache(maxsize=1)
def safety_rules() -> tuple[SafetyRule, ...]:
    """Every rule of ``safety_rules.yaml`` (general rules, then drug rules), validated."""
    data = load_yaml(_FILE)
    rules = tuple(_rule(e) for e in (*data["rules"], *data["drug_rules"]))
    ids = [r.id for r in rules]
    if len(set(ids)) != len(ids):
        raise ValueError(f"data file {_FILE}: duplicate rule ids")
    return rules


def _rules_by_id() -> dict[str, SafetyRule]:
    return {r.id: r for r in safety_rules()}


def retention_limits() -> tuple[SourcedValue, SourcedValue]:
    """The 48-h whole-body retention limits ``(default, diffuse lung metastases)``, read from the
    dosimetry data file named in ``safety_rules.yaml`` (the values the dosimetry engine uses)."""
    ref = load_yaml(_FILE)["retention_limits"]
    return sourced_value(ref["file"], ref["default"]), sourced_value(ref["file"], ref["diffuse_lung"])


def has_contraindication(findings: Iterable[SafetyFinding]) -> bool:
    """Whether any finding has severity ``contraindication``."""
    return any(f.severity is SafetySeverity.CONTRAINDICATION for f in findings)


def _finding(rule: SafetyRule, *, grade: Grade | None = None, **values: Any) -> SafetyFinding:
    g = rule.grade if grade is None else max(rule.grade, grade, key=_GRADE_ORDER.__getitem__)
    return SafetyFinding(rule.id, rule.severity, rule.text.format(**values), rule.source, g)


def _words(text: str, names: Iterable[str]) -> list[str]:
    """The ``names`` that occur in ``text`` as whole words (case-insensitive)."""
    low = text.casefold()
    return [n for n in names if re.search(rf"(?<![\w]){re.escape(n.casefold())}(?![\w])", low)]


def _rai_date(plan: ProtocolPlan | None) -> dt.date | None:
    if plan is None:
        return None
    dates = [e.date for e in plan.events if e.kind is EventKind.RAI_ADMINISTRATION and e.date is not None]
    return min(dates) if dates else None


def _tsh_stimulation(case: Case, plan: ProtocolPlan | None) -> str | None:
    """How TSH is (or was) raised for radioiodine, or ``None`` when nothing says so."""
    if plan is not None:
        kinds = {e.kind for e in plan.events}
        if EventKind.RHTSH_INJECTION in kinds:
            return "rhTSH in the protocol"
        if EventKind.RAI_ADMINISTRATION in kinds:
            return "131I in the protocol (needs TSH stimulation)"
    stimulated = {TshStimulation.RHTSH, TshStimulation.WITHDRAWAL}
    used = [c.tsh_stimulation for c in case.rai_courses if c.tsh_stimulation in stimulated]
    used += [s.tsh_stimulation for s in case.diagnostic_scans if s.tsh_stimulation in stimulated]
    if used:
        return f"{used[-1].value} used before"
    return None


def _lung_checks(case: Case, rules: Mapping[str, SafetyRule]) -> list[SafetyFinding]:
    organs = {str(o).casefold() for o in load_yaml(_FILE)["lung_organs"]}
    lung = [les for les in case.lesions if les.organ.casefold() in organs]
    default, diffuse = retention_limits()
    values = {"default_limit": float(default.value), "limit": float(diffuse.value)}
    grade = max(default.grade, diffuse.grade, key=_GRADE_ORDER.__getitem__)
    out: list[SafetyFinding] = []
    diffuse_ids = [les.id for les in lung if les.pattern is LesionPattern.DIFFUSE]
    unknown_ids = [les.id for les in lung if les.pattern is None]
    other_ids = [les.id for les in lung if les.pattern not in (None, LesionPattern.DIFFUSE)]
    if diffuse_ids:
        out.append(_finding(rules["lung_retention_limit_diffuse"], grade=grade,
                            lesions=", ".join(diffuse_ids), **values))
    if unknown_ids:
        out.append(_finding(rules["lung_pattern_not_recorded"], grade=grade,
                            lesions=", ".join(unknown_ids), **values))
    if other_ids and not diffuse_ids and not unknown_ids:
        out.append(
            _finding(rules["lung_retention_limit"], grade=grade, lesions=", ".join(other_ids), **values)
        )
    plan = case.dosimetry.plan if case.dosimetry is not None else None
    if plan is not None:
        flag = bool(plan.get("lung_metastases", False))
        suspect = [les for les in lung if les.pattern in (None, LesionPattern.DIFFUSE)]
        if not flag and suspect:
            out.append(_finding(
                rules["dosimetry_plan_lung_flag"], grade=grade,
                lesions=", ".join(les.id for les in suspect),
                patterns=", ".join(f"{les.id} {les.pattern.value if les.pattern else 'not recorded'}"
                                   for les in suspect),
                **values,
            ))
        elif flag and not diffuse_ids:
            out.append(_finding(rules["dosimetry_plan_lung_flag_without_lesion"], grade=grade, **values))
    return out


def _is_brain_or_spine(les: Lesion) -> bool:
    spec = load_yaml(_FILE)["brain_spine"]
    if les.organ.casefold() in {str(o).casefold() for o in spec["organs"]}:
        return True
    return bool(_words(f"{les.site} {les.organ.replace('_', ' ')}", [str(w) for w in spec["site_words"]]))


def _iodine_checks(s: SafetyBaseline | None, rai: dt.date | None,
                   rules: Mapping[str, SafetyRule]) -> list[SafetyFinding]:
    out: list[SafetyFinding] = []
    contrast = s.iodinated_contrast_date if s else None
    if contrast is not None:
        if rai is None:
            r = rules["iodinated_contrast_no_131i_date"]
            out.append(_finding(r, contrast=contrast, min_days=r.params["min_days_before_131i"]))
        else:
            r = rules["iodinated_contrast"]
            days = (rai - contrast).days
            if 0 <= days < int(r.params["min_days_before_131i"]):
                out.append(_finding(r, contrast=contrast, rai=rai, days=days,
                                    min_days=r.params["min_days_before_131i"]))
    lid = s.low_iodine_diet_start if s else None
    if lid is None:
        r = rules["low_iodine_diet_not_recorded"]
        out.append(_finding(r, min_days=r.params["min_days_before_131i"]))
    elif rai is not None:
        r = rules["low_iodine_diet_short"]
        days = (rai - lid).days
        if days < int(r.params["min_days_before_131i"]):
            out.append(_finding(r, start=lid, rai=rai, days=days, min_days=r.params["min_days_before_131i"]))
    return out


def _drug_checks(
    s: SafetyBaseline | None, drugs: Sequence[str], start: dt.date | None
) -> list[SafetyFinding]:
    chosen = {d.strip().lower() for d in drugs}
    base = s or SafetyBaseline.model_validate({})
    lvef, lln, qtc = base.lvef_percent, base.lvef_lln_percent, base.ecg_qtc_ms
    out: list[SafetyFinding] = []
    for r in safety_rules():
        if not r.check or not chosen & set(r.drugs):
            continue
        p = r.params
        if r.check == "always" or (r.check == "lvef_baseline" and lvef is None):
            out.append(_finding(r))
        elif r.check == "lvef_below_lln" and lvef is not None and lln is not None and lvef < lln:
            out.append(_finding(r, lvef=lvef, lln=lln))
        elif r.check == "qtc_baseline" and qtc is None:
            out.append(_finding(r, qtc_max_ms=p.get("qtc_max_ms")))
        elif r.check == "qtc_above" and qtc is not None and qtc > float(p["qtc_max_ms"]):
            out.append(_finding(r, qtc=qtc, qtc_max_ms=p["qtc_max_ms"]))
        elif r.check == "ophthalmology_baseline":
            exam = base.ophthalmology_exam_date
            if exam is None or (start is not None and exam > start):
                out.append(_finding(r))
        elif r.check == "medications":
            hits = sorted({m for m in base.medications if _words(m, [str(x) for x in p["medications"]])})
            if hits:
                out.append(_finding(r, medications=", ".join(hits)))
    return out


def assess_safety(
    case: Case,
    *,
    drugs: Sequence[str] = (),
    plan: ProtocolPlan | None = None,
) -> tuple[SafetyFinding, ...]:
    """Safety findings for a case, the chosen redifferentiation drugs and the dated plan.

    Parameters
    ----------
    case
        A validated case (its ``safety`` block, lesions with ``pattern`` and ``dosimetry.plan`` are read).
    drugs
        The redifferentiation drugs chosen (the case's course, else the first candidate regimen's).
    plan
        The dated protocol plan; its 131I administration date is the reference of the iodine checks and
        its rhTSH / 131I events mean TSH stimulation.

    Returns
    -------
    tuple of SafetyFinding
        Contraindications first, then warnings, then information; each with its source and grade.
    """
    rules = _rules_by_id()
    s = case.safety
    out: list[SafetyFinding] = []
    if s is not None and s.pregnant:
        out.append(_finding(rules["pregnancy"]))
    if s is not None and s.breastfeeding:
        out.append(_finding(rules["breastfeeding"]))
    if s is None or s.pregnant is None:
        r = rules["pregnancy_not_recorded"]
        out.append(_finding(r, hours=r.params["hours_before_131i"]))
    out += _lung_checks(case, rules)
    rai = _rai_date(plan)
    out += _iodine_checks(s, rai, rules)
    stimulation = _tsh_stimulation(case, plan)
    cns = [les.id for les in case.lesions if _is_brain_or_spine(les)]
    if cns and stimulation:
        key = "steroid_cover_recorded" if s is not None and s.corticosteroid_cover else "steroid_cover"
        out.append(_finding(rules[key], lesions=", ".join(cns), stimulation=stimulation))
    rc = case.redifferentiation_course
    out += _drug_checks(s, drugs, rc.start_date if rc else None)
    return tuple(sorted(out, key=lambda f: _SEVERITY_ORDER[f.severity]))
