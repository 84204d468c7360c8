"""Collecting several input problems and raising them together (one line per problem)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal, InvalidOperation

from redif.errors import InputError

__all__ = ["InputProblems", "Problems", "parse_date", "parse_decimal"]


class InputProblems(InputError):
    """Several :class:`~redif.errors.InputError` found in one input, reported together.

    ``str()`` gives one line per problem; the CLI prefixes the first with ``error:``, and each further
    line carries its own ``error:`` prefix, so the terminal shows one ``error: ...`` line per problem.
    """

    def __init__(self, problems: Sequence[InputError]) -> None:
        self.problems = tuple(problems)
        first = self.problems[0]
        super().__init__(first.message, field=first.field, value=first.value, remedy=first.remedy)

    def __str__(self) -> str:
        problems = getattr(self, "problems", ())
        if not problems:
            return super().__str__()
        return "\nerror: ".join(InputError.__str__(p) for p in problems)

    def to_dict(self) -> dict[str, object]:
        """JSON form: the first problem's fields plus ``problems`` (every problem)."""
        out = super().to_dict()
        out["detail"] = "; ".join(InputError.__str__(p) for p in self.problems)
        out["problems"] = [p.to_dict() for p in self.problems]
        return out


class Problems:
    """Accumulator: ``add`` problems while validating, then ``raise_if_any``."""

    def __init__(self) -> None:
        self.items: list[InputError] = []

    def add(self, message: str, *, field: str, value: object = None, remedy: str | None = None) -> None:
        """Record one problem."""
        self.items.append(InputError(message, field=field, value=value, remedy=remedy))

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        """Raise :class:`InputProblems` (or the single :class:`InputError`) when problems exist."""
        if len(self.items) == 1:
            raise self.items[0]
        if self.items:
            raise InputProblems(self.items)


def parse_date(value: object, *, field: str, problems: Problems) -> date | None:
    """Parse an ISO ``YYYY-MM-DD`` date (or accept a :class:`datetime.date`); record a problem if bad."""
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    problems.add("not a date", field=field, value=value, remedy="write dates as YYYY-MM-DD")
    return None


def parse_decimal(value: object, *, field: str, problems: Problems) -> Decimal | None:
    """Parse a number exactly as written (``Decimal``); floats go through their shortest repr."""
    if isinstance(value, bool):
        dec = None
    elif isinstance(value, Decimal):
        dec = value
    elif isinstance(value, int):
        dec = Decimal(value)
    elif isinstance(value, float):
        dec = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            dec = Decimal(value.strip())
        except InvalidOperation:
            dec = None
    else:
        dec = None
    if dec is None or not dec.is_finite():
        problems.add("not a number", field=field, value=value, remedy="give a number in mm, e.g. 12.5")
        return None
    return dec
