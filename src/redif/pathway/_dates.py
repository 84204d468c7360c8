"""Calendar arithmetic shared by the pathway modules, and the date-order checks of a case."""

from __future__ import annotations

import calendar
import datetime as dt
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # case.py calls sequence_problems: type-only import, no cycle at run time
    from redif.pathway.case import Case

__all__ = ["DAYS_ON_DRUG_TOLERANCE", "add_months", "months_between", "sequence_problems"]


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus ``months`` calendar months, clamped to the month's last day (31 Jan + 1 -> 28/29 Feb)."""
    index = day.month - 1 + months
    year, month0 = divmod(index, 12)
    year += day.year
    last = calendar.monthrange(year, month0 + 1)[1]
    return dt.date(year, month0 + 1, min(day.day, last))


def months_between(start: dt.date, end: dt.date) -> float:
    """Elapsed time in months (days / (365.25/12)), for display only."""
    return (end - start).days / (365.25 / 12)


#: Tolerance, in days, between ``uptake_assessment.days_on_drug`` and the dates. Counting conventions differ
#: by one day: the day of the first dose is day 0 in the protocol templates (``days_on_drug`` =
#: date - start) but day 1 when the doses taken are counted (date - start + 1). A difference of more than
#: one day cannot come from the convention: the case is inconsistent. (redif convention, not a clinical rule.)
DAYS_ON_DRUG_TOLERANCE = 1


def sequence_problems(case: Case) -> list[str]:
    """Problems of date order in a case, one line each, naming the field.

    Refused: an uptake assessment (or an on-drug diagnostic scan) before the drug start; a
    ``days_on_drug`` that disagrees with the dates by more than :data:`DAYS_ON_DRUG_TOLERANCE`; a 131I
    administration given after the drug start but before the uptake assessment it should follow; a
    follow-up response assessment (any time point after the baseline) before the drug start.
    """
    problems: list[str] = []
    rc = case.redifferentiation_course
    start = rc.start_date if rc else None
    ua = case.uptake_assessment
    if ua is not None and ua.date is not None and start is not None:
        if ua.date < start:
            problems.append(
                f"uptake_assessment.date: {ua.date} is before the drug start "
                f"(redifferentiation_course.start_date {start}); the go / no-go scan must be taken on "
                "the drug"
            )
        if ua.days_on_drug is not None:
            elapsed = (ua.date - start).days
            if abs(ua.days_on_drug - elapsed) > DAYS_ON_DRUG_TOLERANCE:
                problems.append(
                    f"uptake_assessment.days_on_drug: {ua.days_on_drug} disagrees with the dates "
                    f"({ua.date} - {start} = {elapsed} days; tolerance +/-{DAYS_ON_DRUG_TOLERANCE} day for "
                    "counting the first dose as day 0 or day 1)"
                )
    if start is not None:
        for i, s in enumerate(case.diagnostic_scans):
            if s.on_redifferentiation_drug and s.date < start:
                problems.append(
                    f"diagnostic_scans[{i}].date: {s.date} is marked on_redifferentiation_drug but is before "
                    f"the drug start (redifferentiation_course.start_date {start})"
                )
        if ua is not None and ua.date is not None and ua.date >= start:
            for i, c in enumerate(case.rai_courses):
                if start <= c.date < ua.date:
                    problems.append(
                        f"rai_courses[{i}].date: 131I on {c.date}, after the drug start ({start}) but before "
                        f"the uptake assessment ({ua.date}) that decides it"
                    )
        for i, ra in enumerate(case.response_assessments):
            if i and ra.date < start:
                problems.append(
                    f"response_assessments[{i}].date: {ra.date} is before the treatment "
                    f"(redifferentiation_course.start_date {start}); only the baseline "
                    "(response_assessments[0]) may precede it"
                )
    return problems
