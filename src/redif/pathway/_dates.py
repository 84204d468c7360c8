"""Calendar arithmetic shared by the pathway modules."""

from __future__ import annotations

import calendar
import datetime as dt

__all__ = ["add_months", "months_between"]


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
