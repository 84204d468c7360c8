"""Best overall response (BOR), with and without confirmation, from RECIST time-point responses.

Semantics follow the pharmaverse ``admiralonco`` functions ``derive_param_bor()`` (unconfirmed) and
``derive_param_confirmed_bor()`` (confirmed), reimplemented from their documentation (no code copied).
Parameters map as: ``start_window_days`` = ``ref_start_window``, ``confirm_days`` = ``ref_confirm``,
``max_ne`` = ``max_nr_ne``, ``accept_sd`` = ``accept_sd``, ``missing_as_ne`` = ``missing_as_ne``; a
subject's ``pd_date`` (or, with ``stop_at_pd``, the first PD time point) plays ``source_pd``.

Rules (assessments of one subject in date order, ``start`` = treatment start):

0. With ``pd_date`` (or ``stop_at_pd``), assessments after that date are dropped; the date itself stays.
   By default (admiralonco without ``source_pd``) every assessment counts.

**Unconfirmed** (``confirm=False``)

1. CR, PR and PD count as they are, whatever their date.
2. SD and NON-CR/NON-PD count only at least ``start_window_days`` after ``start``; earlier they are NE.
3. The best is chosen in the order CR > PR > SD > NON-CR/NON-PD > PD > NE; ties go to the earliest date.

**Confirmed** (``confirm=True``)

1. A CR at date *d* is a confirmed CR if the first later CR at least ``confirm_days`` after *d* exists
   and every assessment after *d* up to and including that confirming CR is CR or NE, with at most
   ``max_ne`` NE.
2. A PR at date *d* is a confirmed PR if the first later CR or PR at least ``confirm_days`` after *d*
   exists, every assessment after *d* up to and including it is CR, PR, SD or NE, with at most
   ``max_ne`` NE, at most one SD if ``accept_sd`` (else none), and no PR follows a CR in that window.
3. CR, PR or SD at least ``start_window_days`` after ``start`` (unconfirmed CR/PR included) give SD.
4. NON-CR/NON-PD at least ``start_window_days`` after ``start`` gives NON-CR/NON-PD.
5. PD gives PD.
6. NE, and CR/PR/SD/NON-CR/NON-PD earlier than ``start_window_days`` after ``start``, give NE.
7. The best in the order CR > PR > SD > NON-CR/NON-PD > PD > NE; ties go to the earliest date. The
   date of a confirmed CR/PR is the date of the response confirmed, not of the confirming assessment.

A subject without assessments (after step 0) gets MISSING with date ``None`` (NE if
``missing_as_ne``). "At least n days after" means ``date >= other + n days``.

References
----------
Eisenhauer EA et al. Revised RECIST guideline (version 1.1). Eur J Cancer 2009;45:228-247, §4.4-4.6
(best overall response; confirmation >= 4 weeks; minimum SD duration set by the protocol).
pharmaverse admiralonco: ``derive_param_bor()`` and ``derive_param_confirmed_bor()`` reference pages,
https://pharmaverse.github.io/admiralonco/reference/ (source R/derive_param_bor.R and
R/derive_param_confirmed_bor.R, version 1.4).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from redif.errors import InputError
from redif.response.codes import BestResponse, OverallResponse
from redif.response.criteria import recist_criteria

__all__ = [
    "BestOverallResponse",
    "BorParameters",
    "ResponseRecord",
    "SubjectResponses",
    "best_overall_response",
    "best_overall_responses",
]


_Date = date


def _default_confirm_days() -> int:
    return recist_criteria().confirmation_min_days


def _default_start_window_days() -> int:
    return recist_criteria().sd_min_days_from_start


def _default_max_ne() -> int:
    return recist_criteria().max_ne_between_confirmation


@dataclass(frozen=True)
class BorParameters:
    """Options of the best-overall-response derivation (defaults from ``data/recist.yaml``).

    Attributes
    ----------
    confirm
        Require confirmation of CR/PR (admiralonco ``derive_param_confirmed_bor``).
    confirm_days
        Minimum days from a CR/PR to its confirming assessment (``ref_confirm``; default 28 = 4 weeks).
    start_window_days
        SD / NON-CR/NON-PD count only this many days or more after treatment start
        (``ref_start_window``; default 28).
    max_ne
        NE assessments allowed between a response and its confirmation (``max_nr_ne``; default 1).
    accept_sd
        Accept one SD between a PR and its confirmation (``accept_sd``).
    missing_as_ne
        A subject without assessments gets NE instead of MISSING.
    stop_at_pd
        Ignore assessments after the first PD (admiralonco ``source_pd`` built from the time points).
    """

    confirm: bool = False
    confirm_days: int = field(default_factory=_default_confirm_days)
    start_window_days: int = field(default_factory=_default_start_window_days)
    max_ne: int = field(default_factory=_default_max_ne)
    accept_sd: bool = False
    missing_as_ne: bool = False
    stop_at_pd: bool = False

    def __post_init__(self) -> None:
        for name in ("confirm_days", "start_window_days", "max_ne"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InputError(
                    "must be a non-negative whole number", field=name.replace("_", "-"), value=value
                )


@dataclass(frozen=True)
class ResponseRecord:
    """One overall time-point response (``date``, ``response``)."""

    date: date
    response: OverallResponse


@dataclass(frozen=True)
class SubjectResponses:
    """The time-point responses of one subject.

    Attributes
    ----------
    subject
        Subject identifier.
    treatment_start
        Reference date for the SD start window (``None`` only for a subject without assessments).
    assessments
        Time-point responses, strictly increasing dates.
    pd_date
        Optional date of first progression from another source (admiralonco ``source_pd``).
    """

    subject: str
    treatment_start: date | None
    assessments: tuple[ResponseRecord, ...] = ()
    pd_date: date | None = None

    def __post_init__(self) -> None:
        for prev, cur in zip(self.assessments, self.assessments[1:], strict=False):
            if cur.date <= prev.date:
                raise InputError(
                    f"subject {self.subject}: dates out of order or repeated ({prev.date} then {cur.date})",
                    field="date",
                    value=cur.date.isoformat(),
                    remedy="give one assessment per date, in increasing date order",
                )
        if self.assessments and self.treatment_start is None:
            raise InputError(
                f"subject {self.subject}: treatment start is missing",
                field="treatment_start",
                remedy="give the treatment start date (YYYY-MM-DD)",
            )


@dataclass(frozen=True)
class BestOverallResponse:
    """Best overall response of one subject.

    Attributes
    ----------
    subject
        Subject identifier.
    bor
        The best overall response (MISSING when there is no assessment).
    date
        Date of the assessment that gives it (the first one when tied); ``None`` for MISSING.
    confirmed_by
        For a confirmed CR/PR, the date of the confirming assessment.
    confirmed
        Whether confirmation was required.
    reason
        One line explaining the result.
    """

    subject: str
    bor: BestResponse
    date: date | None
    confirmed_by: _Date | None = None
    confirmed: bool = False
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON form with the stable keys ``subject``, ``bor``, ``date``."""
        return {
            "subject": self.subject,
            "bor": self.bor.label,
            "date": None if self.date is None else self.date.isoformat(),
        }


_R = OverallResponse
_SD, _NON, _PD, _NE = BestResponse.SD, BestResponse.NON_CR_NON_PD, BestResponse.PD, BestResponse.NE


def _confirmation(recs: Sequence[ResponseRecord], i: int, p: BorParameters) -> ResponseRecord | None:
    """Return the assessment confirming the CR/PR at index ``i``, or ``None`` (rules 1-2 above)."""
    cur = recs[i]
    wanted = {_R.CR} if cur.response is _R.CR else {_R.CR, _R.PR}
    earliest = cur.date + timedelta(days=p.confirm_days)
    end = next(
        (j for j in range(i + 1, len(recs)) if recs[j].response in wanted and recs[j].date >= earliest), None
    )
    if end is None:
        return None
    window = [r.response for r in recs[i + 1 : end + 1]]
    if window.count(_R.NE) > p.max_ne:
        return None
    if cur.response is _R.CR:
        return recs[end] if all(r in (_R.CR, _R.NE) for r in window) else None
    if not all(r in (_R.CR, _R.PR, _R.SD, _R.NE) for r in window):
        return None
    if window.count(_R.SD) > (1 if p.accept_sd else 0):
        return None
    seen_cr = False
    for r in window:
        if r is _R.CR:
            seen_cr = True
        elif r is _R.PR and seen_cr:
            return None
    return recs[end]


def best_overall_response(
    subject: SubjectResponses, params: BorParameters | None = None
) -> BestOverallResponse:
    """Best overall response of one subject (see the module docstring for every rule).

    Parameters
    ----------
    subject
        The subject's time-point responses and treatment start.
    params
        Derivation options (default: unconfirmed, 28-day windows, 1 NE).

    Returns
    -------
    BestOverallResponse

    Examples
    --------
    admiralonco ``derive_param_confirmed_bor()`` example, subject 1 (treatment start 2020-01-01):
    PR 01-01, CR 02-01, NE 02-16, CR 03-01, SD 04-01 -> confirmed BOR CR dated 2020-02-01 (the CR of
    02-01 is confirmed by the CR of 03-01, 29 days later, with one NE between).

    References
    ----------
    Eisenhauer 2009, RECIST 1.1 §4.4-4.6; admiralonco ``derive_param_bor``/``derive_param_confirmed_bor``.
    """
    p = params or BorParameters()
    recs = list(subject.assessments)
    cutoff = subject.pd_date
    if cutoff is None and p.stop_at_pd:
        cutoff = next((r.date for r in recs if r.response is _R.PD), None)
    if cutoff is not None:
        recs = [r for r in recs if r.date <= cutoff]
    if not recs:
        code = BestResponse.NE if p.missing_as_ne else BestResponse.MISSING
        return BestOverallResponse(
            subject.subject,
            code,
            None,
            confirmed=p.confirm,
            reason="no assessment" + (" (counted as NE)" if p.missing_as_ne else ""),
        )
    assert subject.treatment_start is not None
    window_start = subject.treatment_start + timedelta(days=p.start_window_days)
    # candidates: (rank, date, code, record, confirming record, why); the reason text is built only for
    # the one selected. why: "" = as recorded, "sd" = counted as SD, "early" = before the start window
    cands: list[tuple[int, date, BestResponse, ResponseRecord, ResponseRecord | None, str]] = []
    add = cands.append
    for i, r in enumerate(recs):
        resp = r.response
        in_window = r.date >= window_start
        if resp is _R.PD:
            add((_PD.rank, r.date, _PD, r, None, ""))
        elif resp is _R.NE:
            add((_NE.rank, r.date, _NE, r, None, ""))
        elif resp is _R.NON_CR_NON_PD:
            if in_window:
                add((_NON.rank, r.date, _NON, r, None, ""))
            else:
                add((_NE.rank, r.date, _NE, r, None, "early"))
        elif not p.confirm:
            if resp is _R.SD and not in_window:
                add((_NE.rank, r.date, _NE, r, None, "early"))
            else:
                code = BestResponse(resp.value)
                add((code.rank, r.date, code, r, None, ""))
        else:
            if resp is not _R.SD:
                conf = _confirmation(recs, i, p)
                if conf is not None:
                    code = BestResponse(resp.value)
                    add((code.rank, r.date, code, r, conf, ""))
            if in_window:
                add((_SD.rank, r.date, _SD, r, None, "" if resp is _R.SD else "sd"))
            else:
                add((_NE.rank, r.date, _NE, r, None, "early"))
    _, when, code, rec, conf, why = min(cands, key=lambda c: (c[0], c[1]))
    reason = f"{rec.response} on {rec.date}"
    if conf is not None:
        reason += f" confirmed by {conf.response} on {conf.date}"
    elif why == "sd":
        reason += " (unconfirmed CR/PR count as SD)"
    elif why == "early":
        reason += f" before the {p.start_window_days}-day start window ({window_start})"
    return BestOverallResponse(
        subject.subject,
        code,
        when,
        confirmed_by=None if conf is None else conf.date,
        confirmed=p.confirm,
        reason=reason,
    )


def best_overall_responses(
    subjects: Sequence[SubjectResponses], params: BorParameters | None = None
) -> list[BestOverallResponse]:
    """:func:`best_overall_response` for each subject, in the order given."""
    p = params or BorParameters()
    return [best_overall_response(s, p) for s in subjects]
