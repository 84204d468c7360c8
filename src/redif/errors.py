"""Exception and warning hierarchy for redif.

Every error raised for bad input names the file or field, the bad value and the remedy, so that the
CLI can print it as one line (exit status 2) and the API can answer it as a 4xx JSON body.
"""

from __future__ import annotations

__all__ = [
    "AccessDenied",
    "Conflict",
    "ConvergenceError",
    "DicomInputError",
    "InputError",
    "LimitExceeded",
    "NotFound",
    "QuantificationWarning",
    "RedifError",
    "RedifWarning",
]


class RedifError(Exception):
    """Base class of every error redif raises on purpose."""


class InputError(RedifError, ValueError):
    """Bad user input: a field, file or value that cannot be used.

    Parameters
    ----------
    message
        What is wrong, in one line.
    field
        The field, column, option or file that holds the bad value.
    value
        The bad value itself (rendered with ``repr``).
    remedy
        What the user should do instead.
    """

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        value: object = None,
        remedy: str | None = None,
    ) -> None:
        self.message = message
        self.field = field
        self.value = value
        self.remedy = remedy
        super().__init__(self.__str__())

    def __str__(self) -> str:
        parts = []
        if self.field:
            parts.append(f"{self.field}: ")
        parts.append(self.message)
        if self.value is not None:
            parts.append(f" (got {self.value!r})")
        if self.remedy:
            parts.append(f"; {self.remedy}")
        return "".join(parts)

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-serialisable description (used by the REST API)."""
        return {
            "error": type(self).__name__,
            "message": self.message,
            "field": self.field,
            "value": None if self.value is None else repr(self.value),
            "remedy": self.remedy,
            "detail": str(self),
        }


class DicomInputError(InputError):
    """A DICOM file or series that cannot be used quantitatively."""


class Conflict(InputError):
    """The input is well-formed but clashes with what is stored (a unique value already used).

    The API answers it 409 Conflict (an :class:`InputError` otherwise: the CLI exits with status 2).
    """


class LimitExceeded(InputError):
    """Input beyond a resource limit (voxel size, grid, memory of a job): ``limit`` states the limit."""

    def __init__(self, message: str, *, limit: str, field: str | None = None, value: object = None,
                 remedy: str | None = None) -> None:
        self.limit = limit
        super().__init__(f"{message} (limit: {limit})", field=field, value=value, remedy=remedy)

    def to_dict(self) -> dict[str, object]:
        """:meth:`InputError.to_dict` plus ``limit``."""
        return {**super().to_dict(), "limit": self.limit}


class ConvergenceError(RedifError):
    """A numerical fit or search that did not converge."""


class AccessDenied(RedifError):
    """The current user may not perform this action."""


class NotFound(RedifError):
    """The record does not exist or is not visible to the current user."""


class RedifWarning(UserWarning):
    """Base class of redif warnings (shown, never swallowed)."""


class QuantificationWarning(RedifWarning):
    """A soft problem that may bias a quantitative result."""
