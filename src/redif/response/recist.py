"""RECIST 1.1 engine: baseline selection checks and time-point response with exact arithmetic.

Public API (used by ``redif recist timepoint`` and by the patient pathway):

- :func:`check_baseline` -> list of :class:`Finding` (selection rules broken, each naming the lesion);
- :func:`target_response`, :func:`non_target_response`, :func:`overall_response` (RECIST 1.1 Tables 1-2);
- :func:`assess` -> :class:`RecistResult` (every time point: target / non-target / new / overall response,
  sum of diameters, change from baseline and from the nadir);
- the lesion model (:class:`Lesion`, :class:`Assessment`, :class:`RecistCase`, :func:`case_from_dict`)
  and the best-overall-response engine (:func:`best_overall_response`, :class:`BorParameters`) are
  re-exported here.

Rules (RECIST 1.1 §4.3, numbers from ``data/recist.yaml``):

- **CR (target)**: every non-nodal target is 0 mm and every target node has a short axis < 10 mm.
  Checked first: nodes that stay below 10 mm never make PD.
- **PD (target)**: sum - nadir >= 20 % of the nadir **and** sum - nadir >= 5 mm, where the nadir is the
  smallest complete sum at any *earlier* time point, the baseline included.
- **PR (target)**: sum <= (1 - 30 %) x baseline sum, i.e. a decrease of at least 30 % from baseline.
- **SD (target)**: none of the above.
- **NE (target)**: one or more targets not evaluated, unless the sum of those measured already meets
  the PD rule (the missing ones could only add to the sum), then PD.
- **Non-target**: PD if any lesion shows unequivocal progression; else NE if any was not evaluated;
  else CR if all are absent (nodes normal); else NON-CR/NON-PD.
- **New lesions**: an unequivocal new lesion makes PD. An equivocal one does not; if the same lesion id
  is later recorded unequivocally, PD is dated back to the first time point that showed it
  (RECIST 1.1 §4.3.2; this back-dating rule is not transcribed in docs/methods/response.md: grade
  unverified).

All comparisons are exact: the mm values are kept as the decimals written and compared by integer
cross-multiplication in a decimal context that traps any rounding (:mod:`redif.response.rules`), so
100 -> 70 mm is exactly a 30 % decrease (PR) and 100 -> 120 mm exactly a 20 % (and 20 mm) increase (PD).
The rule functions live in :mod:`redif.response.rules` and are re-exported here.

References
----------
Eisenhauer EA, Therasse P, Bogaerts J, et al. New response evaluation criteria in solid tumours:
revised RECIST guideline (version 1.1). Eur J Cancer 2009;45(2):228-247. doi:10.1016/j.ejca.2008.10.026
(§3 baseline, §4.3 response criteria, Table 1 target +/- non-target, Table 2 non-target only).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from redif.response.bor import (
    BestOverallResponse,
    BorParameters,
    ResponseRecord,
    SubjectResponses,
    best_overall_response,
)
from redif.response.codes import (
    BestResponse,
    LesionKind,
    NewLesionStatus,
    NonTargetResponse,
    NonTargetStatus,
    OverallResponse,
    TargetResponse,
)
from redif.response.criteria import RecistCriteria, recist_criteria
from redif.response.lesions import Assessment, Lesion, NewLesion, RecistCase, case_from_dict, validate_case
from redif.response.rules import (
    Finding,
    check_baseline,
    non_target_response,
    overall_response,
    target_response,
)

__all__ = [
    "Assessment",
    "BestOverallResponse",
    "BestResponse",
    "BorParameters",
    "Finding",
    "KeepPr",
    "Lesion",
    "LesionKind",
    "NewLesion",
    "NewLesionStatus",
    "NonTargetResponse",
    "NonTargetStatus",
    "OverallResponse",
    "RecistCase",
    "RecistResult",
    "ResponseRecord",
    "SubjectResponses",
    "TargetResponse",
    "TimepointResponse",
    "assess",
    "best_overall_response",
    "case_from_dict",
    "check_baseline",
    "non_target_response",
    "overall_response",
    "target_response",
    "validate_case",
]


class KeepPr(enum.StrEnum):
    """Whether a target PR is kept when later sums no longer quite meet the PR criterion."""

    OFF = "off"
    AFTER_PR = "after-pr"
    AFTER_CONFIRMED_PR = "after-confirmed-pr"


@dataclass(frozen=True)
class TimepointResponse:
    """Result at one follow-up time point.

    Attributes
    ----------
    date
        Scan date.
    target, non_target, overall
        RECIST 1.1 responses.
    new_lesions
        ``"yes"`` (unequivocal), ``"equivocal"`` or ``"no"``.
    sum_mm
        Sum of target diameters, mm (``None`` when a target was not evaluated).
    measured_sum_mm
        Sum over the targets that were measured, mm.
    change_from_baseline_mm, change_from_baseline_pct
        ``sum_mm`` minus the baseline sum, in mm and % of the baseline sum.
    nadir_mm
        The reference for PD at this time point: the smallest complete sum before it (baseline included).
    change_from_nadir_mm, change_from_nadir_pct
        ``sum_mm`` (or the measured sum when incomplete and PD) minus the nadir.
    notes
        Why the response is what it is where that is not obvious (missing targets, back-dated PD...).
    """

    date: date
    target: TargetResponse
    non_target: NonTargetResponse
    new_lesions: NewLesionStatus
    overall: OverallResponse
    sum_mm: Decimal | None
    measured_sum_mm: Decimal
    change_from_baseline_mm: Decimal | None
    change_from_baseline_pct: Fraction | None
    nadir_mm: Decimal | None
    change_from_nadir_mm: Decimal | None
    change_from_nadir_pct: Fraction | None
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON form: mm as floats, percentages as floats rounded to 0.01 %, codes as strings."""
        return {
            "date": self.date.isoformat(),
            "target": self.target.label,
            "non_target": self.non_target.label,
            "new_lesions": self.new_lesions.value,
            "overall": self.overall.label,
            "sum_mm": _f(self.sum_mm),
            "measured_sum_mm": _f(self.measured_sum_mm),
            "change_from_baseline_mm": _f(self.change_from_baseline_mm),
            "change_from_baseline_pct": _pct(self.change_from_baseline_pct),
            "nadir_mm": _f(self.nadir_mm),
            "change_from_nadir_mm": _f(self.change_from_nadir_mm),
            "change_from_nadir_pct": _pct(self.change_from_nadir_pct),
            "notes": list(self.notes),
        }


def _f(x: Decimal | None) -> float | None:
    return None if x is None else float(x)


def _pct(x: Fraction | None) -> float | None:
    return None if x is None else round(float(x), 2)


@dataclass(frozen=True)
class RecistResult:
    """RECIST 1.1 assessment of one case.

    Attributes
    ----------
    subject
        The case's label, if any.
    baseline_date, baseline_sum_mm
        Baseline scan date and sum of target diameters (mm; 0 when no target).
    findings
        Baseline selection problems (:func:`check_baseline`).
    timepoints
        One :class:`TimepointResponse` per follow-up assessment, in date order.
    best_response, best_response_confirmed
        Unconfirmed / confirmed best overall response (:func:`best_overall_response` with default
        parameters) when the case gives ``treatment_start``; else ``None``.
    """

    subject: str | None
    baseline_date: date
    baseline_sum_mm: Decimal
    findings: tuple[Finding, ...]
    timepoints: tuple[TimepointResponse, ...]
    best_response: BestOverallResponse | None = None
    best_response_confirmed: BestOverallResponse | None = None
    has_targets: bool = True

    @property
    def best_change_from_baseline_pct(self) -> Fraction | None:
        """Most negative (best) % change of the complete sum from baseline, for a waterfall plot."""
        vals = [t.change_from_baseline_pct for t in self.timepoints if t.change_from_baseline_pct is not None]
        return min(vals) if vals else None

    @property
    def waterfall_response(self) -> BestResponse:
        """Response that colours this case's waterfall bar: the confirmed BOR when the case gives a
        treatment start, else the best time-point response (CR > PR > SD > NON-CR/NON-PD > PD > NE;
        MISSING without follow-up)."""
        if self.best_response_confirmed is not None:
            return self.best_response_confirmed.bor
        codes = [BestResponse(t.overall.value) for t in self.timepoints]
        return min(codes, key=lambda b: b.rank) if codes else BestResponse.MISSING

    def to_dict(self) -> dict[str, Any]:
        """JSON form (stable keys: ``subject``, ``baseline``, ``findings``, ``timepoints``)."""
        best = self.best_change_from_baseline_pct
        return {
            "subject": self.subject,
            "baseline": {
                "date": self.baseline_date.isoformat(),
                "sum_mm": float(self.baseline_sum_mm) if self.has_targets else None,
            },
            "findings": [
                {"code": f.code, "lesions": list(f.lesion_ids), "message": f.message, "source": f.source}
                for f in self.findings
            ],
            "timepoints": [t.to_dict() for t in self.timepoints],
            "best_change_from_baseline_pct": _pct(best),
            "best_overall_response": None if self.best_response is None else self.best_response.to_dict(),
            "best_overall_response_confirmed": (
                None if self.best_response_confirmed is None else self.best_response_confirmed.to_dict()
            ),
        }


def assess(
    case: RecistCase, criteria: RecistCriteria | None = None, *, keep_pr: KeepPr = KeepPr.OFF
) -> RecistResult:
    """Assess every follow-up time point of ``case`` with RECIST 1.1.

    Parameters
    ----------
    case
        Lesions, baseline and follow-up measurements (validated by :func:`validate_case`).
    criteria
        Thresholds (default: ``data/recist.yaml``).
    keep_pr
        Off by default (each time point judged on its own, RECIST 1.1 Table 1). With
        :attr:`KeepPr.AFTER_PR` / :attr:`KeepPr.AFTER_CONFIRMED_PR`, a target SD after a response (a target
        PR or CR; confirmed by a second one at least ``confirmation_min_days`` later for the latter) is
        reported as PR while the PD criteria are not met, following the EORTC RECIST working group FAQ
        "Managing PR when TP measurements change slightly over time" (recist.eortc.org/faq: baseline 100,
        then 70, 70, 80, 80, 80 mm -> PR at every time point).

    Returns
    -------
    RecistResult
        Baseline findings, one :class:`TimepointResponse` per follow-up, and the best overall response
        (unconfirmed and confirmed, default parameters) when ``case.treatment_start`` is given.

    Raises
    ------
    InputError
        If the case is structurally invalid (see :func:`validate_case`).

    References
    ----------
    Eisenhauer 2009, RECIST 1.1 §4.3, Tables 1-2. EORTC RECIST FAQ, "Managing PR when TP measurements change
    slightly over time", http://recist.eortc.org/faq/ (for ``keep_pr``).
    """
    c = criteria or recist_criteria()
    validate_case(case)
    responded: list[date] = []  # dates of genuine (not carried) target CR/PR
    confirm_gap = timedelta(days=c.confirmation_min_days)
    targets = case.targets
    non_targets = case.non_targets
    base_sum = sum((case.baseline.target_mm[t.id] or Decimal(0) for t in targets), Decimal(0))
    nadir = base_sum
    timepoints: list[TimepointResponse] = []
    for a in case.follow_up:
        values = {t.id: a.target_mm.get(t.id) for t in targets}
        complete = bool(targets) and all(v is not None for v in values.values())
        measured = sum((v for v in values.values() if v is not None), Decimal(0))
        tr = target_response(targets, values, base_sum, nadir, c)
        ntr = non_target_response(non_targets, dict(a.non_target))
        unequivocal = [n for n in a.new_lesions if not n.equivocal]
        equivocal = [n for n in a.new_lesions if n.equivocal]
        notes: list[str] = []
        if tr in (TargetResponse.PR, TargetResponse.CR):
            responded.append(a.date)
        elif tr is TargetResponse.SD and keep_pr is not KeepPr.OFF and responded:
            # dates increase, so a confirming pair exists iff the last response is far enough from the first
            confirmed = responded[-1] - responded[0] >= confirm_gap
            if keep_pr is KeepPr.AFTER_PR or confirmed:
                tr = TargetResponse.PR
                notes.append(
                    "target PR kept: SD by the numbers after an earlier response, PD criteria not met "
                    "(EORTC RECIST FAQ)"
                )
        if targets and not complete:
            missing = [k for k, v in values.items() if v is None]
            notes.append(
                f"target(s) not evaluated: {', '.join(missing)}"
                + ("; PD already established by the measured lesions" if tr is TargetResponse.PD else "")
            )
        if equivocal:
            notes.append(
                f"equivocal new lesion(s) {', '.join(n.id for n in equivocal)}: not PD unless confirmed later"
            )
        if unequivocal:
            status = NewLesionStatus.YES
        else:
            status = NewLesionStatus.EQUIVOCAL if equivocal else NewLesionStatus.NO
        shown = measured if (complete or (targets and tr is TargetResponse.PD)) else None
        timepoints.append(
            TimepointResponse(
                date=a.date,
                target=tr,
                non_target=ntr,
                new_lesions=status,
                overall=overall_response(tr, ntr, bool(unequivocal)),
                sum_mm=measured if complete else None,
                measured_sum_mm=measured,
                change_from_baseline_mm=(measured - base_sum) if complete else None,
                change_from_baseline_pct=(Fraction(measured - base_sum) * 100 / Fraction(base_sum))
                if complete
                else None,
                nadir_mm=nadir if targets else None,
                change_from_nadir_mm=(shown - nadir) if shown is not None else None,
                change_from_nadir_pct=(Fraction(shown - nadir) * 100 / Fraction(nadir))
                if shown is not None and nadir > 0
                else None,
                notes=tuple(notes),
            )
        )
        if complete:
            nadir = min(nadir, measured)
    # back-date PD: a new lesion seen as equivocal and later recorded unequivocally makes every earlier
    # time point that showed it PD (PD dated to the first of them)
    confirmed_at: dict[str, int] = {}
    for idx, a in enumerate(case.follow_up):
        for n in a.new_lesions:
            if not n.equivocal:
                confirmed_at.setdefault(n.id, idx)
    for idx, a in enumerate(case.follow_up):
        backdated = [n.id for n in a.new_lesions if n.equivocal and confirmed_at.get(n.id, -1) > idx]
        if backdated:
            tp = timepoints[idx]
            timepoints[idx] = replace(
                tp,
                overall=OverallResponse.PD,
                new_lesions=NewLesionStatus.YES,
                notes=(
                    *(n for n in tp.notes if not n.startswith("equivocal new lesion")),
                    f"new lesion(s) {', '.join(backdated)} equivocal here, confirmed on a later scan: "
                    "PD dated to the first scan that showed them (RECIST 1.1 §4.3.2)",
                ),
            )
    best = best_conf = None
    if case.treatment_start is not None:
        subj = SubjectResponses(
            subject=case.subject or "subject",
            treatment_start=case.treatment_start,
            assessments=tuple(ResponseRecord(t.date, t.overall) for t in timepoints),
        )
        best = best_overall_response(subj, BorParameters(confirm=False))
        best_conf = best_overall_response(subj, BorParameters(confirm=True))
    return RecistResult(
        subject=case.subject,
        baseline_date=case.baseline.date,
        baseline_sum_mm=base_sum,
        findings=tuple(check_baseline(case, c)),
        timepoints=tuple(timepoints),
        best_response=best,
        best_response_confirmed=best_conf,
        has_targets=bool(targets),
    )
