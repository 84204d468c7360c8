"""Status messages shown on a page after a redirect (``?msg=<code>``).

Only the codes of :data:`MESSAGES` are shown, with their fixed text: a link cannot make the registry's
own page display text of an attacker's choosing. Unknown codes show nothing.
"""

from __future__ import annotations

__all__ = ["MESSAGES", "message_for"]

#: Message code (the ``msg`` query parameter) -> the text shown.
MESSAGES: dict[str, str] = {
    "series-uploaded": "Series uploaded and de-identified.",
    "voxel-dosimetry-computed": "Voxel dosimetry computed.",
    "case-stored": "Case document stored.",
}


def message_for(code: str | None) -> str | None:
    """The fixed text of a message code, ``None`` for a missing or unknown code."""
    return MESSAGES.get(code) if code else None
