"""Password rules for new and changed passwords, after NIST SP 800-63B section 5.1.1.2.

A password is refused when it is

- shorter than the minimum (``AuthSettings.min_password_length``, default 12; never below the 8 that
  800-63B sets for passwords a person chooses),
- longer than the maximum (``AuthSettings.max_password_length``, default 1024; 800-63B asks verifiers to
  accept at least 64),
- made of white space only,
- the user name itself (compared case-insensitively, surrounding spaces ignored),
- on the list of common passwords shipped in ``redif/data/common_passwords.txt`` (the most frequent
  breached passwords of the UK NCSC list; case-insensitive).

Everything else is allowed: spaces, any Unicode character, no composition rules (800-63B advises
against them). Length counts Unicode code points.

References
----------
Grassi PA et al. NIST Special Publication 800-63B, Digital Identity Guidelines: Authentication and
Lifecycle Management, section 5.1.1.2 "Memorized Secret Verifiers" (2017, updated 2020).
"""

from __future__ import annotations

from functools import lru_cache

from redif.data import data_path
from redif.errors import InputError

__all__ = ["check_password", "common_passwords"]

_COMMON_FILE = "common_passwords.txt"


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords, lower-cased (see the file's header for its source)."""
    text = data_path(_COMMON_FILE).read_text(encoding="utf-8")
    return frozenset(
        line.strip().casefold() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def check_password(password: str, *, username: str, min_length: int, max_length: int) -> None:
    """Refuse a password that breaks one of the module's rules.

    Raises
    ------
    InputError
        On field ``password``, naming the rule (the password itself is never echoed).
    """
    remedy = f"choose a passphrase of {min_length} to {max_length} characters, e.g. several unrelated words"
    if len(password) < min_length:
        raise InputError(f"password shorter than {min_length} characters", field="password", remedy=remedy)
    if len(password) > max_length:
        raise InputError(f"password longer than {max_length} characters", field="password", remedy=remedy)
    stripped = password.strip()
    if not stripped:
        raise InputError("password is only spaces", field="password", remedy=remedy)
    if username and stripped.casefold() == username.strip().casefold():
        raise InputError("password is the user name", field="password", remedy=remedy)
    if password.casefold() in common_passwords() or stripped.casefold() in common_passwords():
        raise InputError(
            "password is a common password (it is on a list of breached passwords)",
            field="password",
            remedy=remedy,
        )
