"""Go / no-go after the uptake assessment.

Three sourced rules (``redif/data/decision_rules.yaml``):

* ``new_uptake`` — uptake on drug in a lesion without uptake at baseline (Rothenberg 2015; SEL-I-METRY);
* ``uptake_increase`` — uptake up by >= 30% in at least one lesion (SEL-I-METRY);
* ``lesion_dose_threshold`` — predicted absorbed dose >= 20 Gy to at least one lesion at an activity within
  the maximum tolerable activity (Ho 2013, 124I PET/CT dosimetry).

The rules to apply come from the protocol template (``decision_rules``); when it names none, the lesion-dose
rule decides if dosimetry is present, otherwise new uptake or a >= 30% increase. Go when any applied rule
is met; no-go when every applied rule could be evaluated and none is met; "insufficient data" otherwise.
Threshold comparisons use exact decimal arithmetic on the values as written, so that 13.0 vs 10.0 is
exactly +30%.

References
----------
Ho AL et al., N Engl J Med 2013;368:623-632, PMID 23406027. Rothenberg SM et al., Clin Cancer Res 2015,
NCT01534897. SEL-I-METRY protocol PMC6567392; results Thyroid 2023, PMID 37565288.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING

from redif.data import Grade, load_yaml
from redif.pathway._common import RuleRef
from redif.pathway.case import Case, DosimetryResults, UptakeAssessment
from redif.pathway.eligibility import EligibilityStatus

if TYPE_CHECKING:  # the Assessment composes this module: type-only import, no cycle at run time
    from redif.pathway.assess import Assessment

__all__ = [
    "Decision",
    "DecisionStatus",
    "LesionDose",
    "RuleOutcome",
    "decide",
    "decision_rules",
    "plan_allowed",
]

#: Severity of a safety finding that forbids a plan (the ``safety`` list of the Assessment).
CONTRAINDICATION = "contraindication"

_FILE = "decision_rules.yaml"


class DecisionStatus(enum.StrEnum):
    """Go / no-go answer."""

    GO = "go"
    NO_GO = "no-go"
    INSUFFICIENT = "insufficient data"


class Outcome(enum.StrEnum):
    """Result of one rule."""

    MET = "met"
    NOT_MET = "not met"
    INSUFFICIENT = "insufficient data"


@dataclass(frozen=True)
class RuleOutcome:
    """One rule applied to the case, with the evidence."""

    id: str
    text: str
    source: str
    grade: Grade
    outcome: Outcome
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class LesionDose:
    """Predicted lesion dose at the maximum tolerable activity (MTA)."""

    lesion_id: str
    dose_per_activity_gy_per_gbq: float
    dose_at_mta_gy: float
    activity_for_threshold_gbq: float


@dataclass(frozen=True)
class Decision:
    """Go / no-go with the rule that decided and its source."""

    status: DecisionStatus
    go: bool | None
    rule: str
    source: str
    grade: Grade | None
    reason: str
    rules: tuple[RuleOutcome, ...]
    lesion_doses: tuple[LesionDose, ...] = ()
    max_tolerable_activity_gbq: float | None = None
    policy: str | None = None


@dataclass(frozen=True)
class _DecisionRules:
    rules: dict[str, RuleRef]
    increase_pct: Decimal
    dose_threshold_gy: Decimal
    default_with_dosimetry: tuple[str, ...]
    default_without_dosimetry: tuple[str, ...]


@lru_cache(maxsize=1)
def decision_rules() -> _DecisionRules:
    """Load ``decision_rules.yaml`` (every rule checked for a source and a grade)."""
    raw = load_yaml(_FILE)
    rules = {k: RuleRef.from_entry(v, file=_FILE, key=k) for k, v in raw["rules"].items()}
    return _DecisionRules(
        rules=rules,
        increase_pct=Decimal(str(raw["rules"]["uptake_increase"]["value"])),
        dose_threshold_gy=Decimal(str(raw["rules"]["lesion_dose_threshold"]["value"])),
        default_with_dosimetry=tuple(raw["default_with_dosimetry"]),
        default_without_dosimetry=tuple(raw["default_without_dosimetry"]),
    )


def _dec(x: float) -> Decimal:
    return Decimal(repr(float(x)))


def _outcome(ref: RuleRef, outcome: Outcome, evidence: Sequence[str]) -> RuleOutcome:
    return RuleOutcome(
        id=ref.id,
        text=ref.text,
        source=ref.source,
        grade=ref.grade,
        outcome=outcome,
        evidence=tuple(evidence),
    )


def _rule_new_uptake(ref: RuleRef, ua: UptakeAssessment | None) -> RuleOutcome:
    if ua is None:
        return _outcome(ref, Outcome.INSUFFICIENT, ["no uptake assessment in the case"])
    new, unknown, none = [], [], []
    for lu in ua.lesions:
        flag = lu.new_uptake
        if flag is None and lu.baseline_uptake is not None and lu.on_drug_uptake is not None:
            flag = lu.baseline_uptake == 0 and lu.on_drug_uptake > 0
        if flag is None:
            unknown.append(lu.lesion_id)
        elif flag:
            new.append(lu.lesion_id)
        else:
            none.append(lu.lesion_id)
    where = f"uptake assessment{f' {ua.date}' if ua.date else ''}"
    if new:
        return _outcome(ref, Outcome.MET, [f"{where}: new uptake in {', '.join(new)}"])
    if unknown:
        return _outcome(
            ref,
            Outcome.INSUFFICIENT,
            [f"{where}: new uptake not recorded for {', '.join(unknown)} (lesions[].new_uptake)"],
        )
    return _outcome(ref, Outcome.NOT_MET, [f"{where}: no new uptake in {', '.join(none)}"])


def _rule_increase(ref: RuleRef, ua: UptakeAssessment | None, pct: Decimal) -> RuleOutcome:
    if ua is None:
        return _outcome(ref, Outcome.INSUFFICIENT, ["no uptake assessment in the case"])
    unit = f" {ua.unit}" if ua.unit else ""
    met: list[str] = []
    not_met: list[str] = []
    unknown: list[str] = []
    for lu in ua.lesions:
        b, o = lu.baseline_uptake, lu.on_drug_uptake
        if b is None or o is None:
            unknown.append(lu.lesion_id)
            continue
        if b == 0:
            # an increase from zero is new uptake (the other rule), not a percentage
            (met if o > 0 else not_met).append(f"{lu.lesion_id}: {b:g} -> {o:g}{unit} (from zero)")
            continue
        change = (_dec(o) - _dec(b)) / _dec(b) * 100
        text = f"{lu.lesion_id}: {b:g} -> {o:g}{unit} ({change:+.1f}%)"
        # exact: o*100 >= b*(100 + pct)
        (met if _dec(o) * 100 >= _dec(b) * (100 + pct) else not_met).append(text)
    if met:
        return _outcome(ref, Outcome.MET, [f">= {pct}% increase: " + "; ".join(met)])
    if unknown:
        return _outcome(
            ref,
            Outcome.INSUFFICIENT,
            [f"baseline or on-drug uptake missing for {', '.join(unknown)}", *not_met],
        )
    return _outcome(ref, Outcome.NOT_MET, [f"no lesion with a >= {pct}% increase: " + "; ".join(not_met)])


def _rule_dose(
    ref: RuleRef, dos: DosimetryResults | None, threshold: Decimal
) -> tuple[RuleOutcome, tuple[LesionDose, ...]]:
    if dos is None:
        return _outcome(
            ref,
            Outcome.INSUFFICIENT,
            ["no lesion dosimetry (dosimetry.results or dosimetry.plan) in the case"],
        ), ()
    mta = _dec(dos.max_tolerable_activity_gbq)
    doses = []
    met: list[str] = []
    not_met: list[str] = []
    for ld in dos.lesions:
        d = _dec(ld.dose_per_activity_gy_per_gbq)
        at_mta = d * mta
        need = threshold / d
        doses.append(LesionDose(ld.lesion_id, ld.dose_per_activity_gy_per_gbq, float(at_mta), float(need)))
        text = (
            f"{ld.lesion_id}: {ld.dose_per_activity_gy_per_gbq:g} Gy/GBq"
            f" x MTA {dos.max_tolerable_activity_gbq:g} GBq = {float(at_mta):.1f} Gy"
            f" (threshold reached at {float(need):.2f} GBq)"
        )
        (met if at_mta >= threshold else not_met).append(text)
    constraint = f"; MTA limited by {dos.mta_constraint}" if dos.mta_constraint else ""
    if met:
        return _outcome(
            ref, Outcome.MET, [f">= {threshold} Gy within the MTA{constraint}: " + "; ".join(met)]
        ), tuple(doses)
    return _outcome(
        ref,
        Outcome.NOT_MET,
        [f"no lesion reaches {threshold} Gy within the MTA{constraint}: " + "; ".join(not_met)],
    ), tuple(doses)


def decide(
    case: Case,
    *,
    rules: Sequence[str] | None = None,
    dosimetry: DosimetryResults | None = None,
    policy: str | None = None,
) -> Decision | None:
    """Go / no-go for one case, or ``None`` when the case has neither uptake data nor dosimetry.

    Parameters
    ----------
    case
        The case (its ``uptake_assessment`` and ``dosimetry.results`` are read).
    rules
        Rule ids to apply (from the protocol template). Empty or ``None``: the defaults of
        ``decision_rules.yaml`` (lesion-dose rule with dosimetry; new uptake or >= 30% without).
    dosimetry
        Dosimetry results computed by the dosimetry engine; overrides ``case.dosimetry.results``.
    policy
        The protocol's decision policy text, reported beside the decision.

    References
    ----------
    Ho 2013 (PMID 23406027), Rothenberg 2015 (NCT01534897), SEL-I-METRY (PMC6567392).
    """
    table = decision_rules()
    dos = dosimetry or (case.dosimetry.results if case.dosimetry else None)
    ua = case.uptake_assessment
    if ua is None and dos is None:
        return None
    applied = (
        tuple(rules)
        if rules
        else (table.default_with_dosimetry if dos is not None else table.default_without_dosimetry)
    )
    outcomes: list[RuleOutcome] = []
    lesion_doses: tuple[LesionDose, ...] = ()
    for rid in applied:
        ref = table.rules[rid]
        if rid == "new_uptake":
            outcomes.append(_rule_new_uptake(ref, ua))
        elif rid == "uptake_increase":
            outcomes.append(_rule_increase(ref, ua, table.increase_pct))
        elif rid == "lesion_dose_threshold":
            out, lesion_doses = _rule_dose(ref, dos, table.dose_threshold_gy)
            outcomes.append(out)
        else:  # pragma: no cover - templates are validated against the rule table
            raise ValueError(f"unknown decision rule {rid!r}")
    # rules not applied are still reported for context when their data exist
    context: list[RuleOutcome] = []
    for rid, ref in table.rules.items():
        if rid in applied:
            continue
        if rid == "new_uptake" and ua is not None:
            context.append(_rule_new_uptake(ref, ua))
        elif rid == "uptake_increase" and ua is not None:
            context.append(_rule_increase(ref, ua, table.increase_pct))
        elif rid == "lesion_dose_threshold" and dos is not None:
            out, lesion_doses = _rule_dose(ref, dos, table.dose_threshold_gy)
            context.append(out)

    met = [o for o in outcomes if o.outcome is Outcome.MET]
    if met:
        first = met[0]
        status, go, rule, source, grade = DecisionStatus.GO, True, first.id, first.source, first.grade
        reason = f"rule {first.id} met: {'; '.join(first.evidence)}"
    elif all(o.outcome is Outcome.NOT_MET for o in outcomes):
        status, go = DecisionStatus.NO_GO, False
        rule = " + ".join(o.id for o in outcomes)
        source = " | ".join(o.source for o in outcomes)
        grade = _weakest([o.grade for o in outcomes])
        reason = "no applied rule met: " + " | ".join("; ".join(o.evidence) for o in outcomes)
    else:
        status, go = DecisionStatus.INSUFFICIENT, None
        missing = [o for o in outcomes if o.outcome is Outcome.INSUFFICIENT]
        rule = " + ".join(o.id for o in missing)
        source = " | ".join(o.source for o in missing)
        grade = None
        reason = "cannot decide: " + " | ".join("; ".join(o.evidence) for o in missing)
    return Decision(
        status=status,
        go=go,
        rule=rule,
        source=source,
        grade=grade,
        reason=reason,
        rules=tuple(outcomes + context),
        lesion_doses=lesion_doses,
        max_tolerable_activity_gbq=dos.max_tolerable_activity_gbq if dos else None,
        policy=policy,
    )


def _weakest(grades: Sequence[Grade]) -> Grade:
    order = [Grade.UNVERIFIED, Grade.SECONDARY, Grade.PRIMARY]
    return min(grades, key=order.index)


def plan_allowed(assessment: Assessment) -> tuple[bool, list[str]]:
    """Whether a dated protocol may be shown, and otherwise what would have to change.

    The one gate that the CLI, the web pages and the PDF report call: a plan exists only for a patient
    whose eligibility is ``candidate`` and who has no safety finding of severity ``contraindication``.
    Anything else gives an empty ``protocol`` (a hypothetical plan only on explicit request, labelled so).

    Parameters
    ----------
    assessment
        The assessment (its ``eligibility`` and, when present, its ``safety`` findings are read).

    Returns
    -------
    (allowed, changes)
        ``changes``: one line per condition that would have to change for a plan to be allowed
        (empty when allowed).

    References
    ----------
    ATA 2025 Rec 74A/74B (PMID 40844370): redifferentiation is considered only in progressive RAI-R disease
    with a targetable alteration, never in the adjuvant setting.
    """
    e = assessment.eligibility
    changes: list[str] = []
    if e.status is not EligibilityStatus.CANDIDATE:
        what = f"eligibility would have to be 'candidate' (it is '{e.status.value}': {e.reason})"
        if e.missing_data:
            what += "; data that would decide it: " + "; ".join(e.missing_data)
        changes.append(what)
    for finding in getattr(assessment, "safety", None) or ():
        get = finding.get if isinstance(finding, dict) else lambda k, f=finding: getattr(f, k, None)
        severity = get("severity")
        if getattr(severity, "value", severity) == CONTRAINDICATION:
            text = get("text") or get("id") or CONTRAINDICATION
            changes.append(f"the contraindication would have to be resolved: {text}")
    return not changes, changes
