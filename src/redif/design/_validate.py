"""Input checks shared by the design engines (each raises :class:`redif.errors.InputError`)."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from redif.errors import InputError

__all__ = ["check_count", "check_open_unit", "check_p0_p1", "check_positive", "check_rates"]


def check_open_unit(value: float, field: str, *, remedy: str | None = None) -> float:
    """Return ``value`` as float if it lies strictly inside (0, 1)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError("not a number", field=field, value=value, remedy="give a number in (0, 1)") from None
    if not (math.isfinite(v) and 0.0 < v < 1.0):
        raise InputError(
            "must lie strictly between 0 and 1",
            field=field,
            value=value,
            remedy=remedy or "give a probability in (0, 1), e.g. 0.05",
        )
    return v


def check_p0_p1(p0: float, p1: float) -> tuple[float, float]:
    """Check the null and alternative response rates: 0 < p0 < p1 < 1."""
    a = check_open_unit(p0, "p0")
    b = check_open_unit(p1, "p1")
    if b <= a:
        raise InputError(
            f"p1 must exceed p0 (p0 = {a:g})",
            field="p1",
            value=p1,
            remedy="the desirable response rate p1 must be larger than the unacceptable rate p0",
        )
    return a, b


def check_count(value: int, field: str, *, minimum: int = 0, maximum: int | None = None) -> int:
    """Return ``value`` as int if it is an integer in [minimum, maximum]."""
    if isinstance(value, bool) or not isinstance(value, int | float) or float(value) != int(value):
        raise InputError("must be a whole number", field=field, value=value)
    v = int(value)
    if v < minimum or (maximum is not None and v > maximum):
        hi = "" if maximum is None else f" and at most {maximum}"
        raise InputError(f"must be at least {minimum}{hi}", field=field, value=value)
    return v


def check_positive(value: float, field: str, *, remedy: str | None = None) -> float:
    """Return ``value`` as float if it is finite and > 0."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError("not a number", field=field, value=value) from None
    if not (math.isfinite(v) and v > 0):
        raise InputError("must be a positive number", field=field, value=value, remedy=remedy)
    return v


def check_rates(p: ArrayLike, field: str = "p") -> NDArray[np.float64]:
    """Return true response rates as a 1-D float array, each in [0, 1]."""
    pv = np.atleast_1d(np.asarray(p, dtype=float))
    if np.any(~np.isfinite(pv)) or np.any((pv < 0) | (pv > 1)):
        raise InputError("response rates must lie in [0, 1]", field=field, value=pv.tolist())
    return pv
