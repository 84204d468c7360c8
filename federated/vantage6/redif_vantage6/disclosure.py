"""Disclosure control at a site: the ``min_cell`` threshold and the suppression record.

Rule: no aggregate leaves a node that is computed from fewer than ``min_cell`` patients. The threshold is
the node's: its administrator sets ``REDIF_MIN_CELL`` in the node configuration (vantage6 4.x
``algorithm_env``; default 5 when unset). A researcher's task may ask for a *higher* threshold
(``min_cell`` argument) but never a lower one: the effective threshold is ``max(node, requested)``. Only the
node can lower it (e.g. ``REDIF_MIN_CELL: 0`` for a parity check on synthetic data).
"""

from __future__ import annotations

import os
from typing import Any

from redif_vantage6.dataset import AlgorithmInputError

__all__ = ["DEFAULT_MIN_CELL", "ENV_VAR", "effective_min_cell", "node_min_cell", "suppressed"]

#: Default threshold when the node sets none (patients).
DEFAULT_MIN_CELL = 5
#: The node-configuration variable (vantage6 ``algorithm_env``) holding the node's threshold.
ENV_VAR = "REDIF_MIN_CELL"


def node_min_cell() -> int:
    """The node's threshold from ``REDIF_MIN_CELL`` (default 5); a bad value is an error, not a default."""
    raw = os.environ.get(ENV_VAR, "").strip()
    if raw == "":
        return DEFAULT_MIN_CELL
    try:
        value = int(raw)
    except ValueError:
        raise AlgorithmInputError("bad node threshold", field=ENV_VAR, value=raw,
                                  remedy="set a whole number >= 0 in the node's algorithm_env") from None
    if value < 0:
        raise AlgorithmInputError("bad node threshold", field=ENV_VAR, value=raw,
                                  remedy="set a whole number >= 0 in the node's algorithm_env")
    return value


def effective_min_cell(requested: int | None) -> int:
    """``max(node threshold, requested)``: a task can raise the node's threshold, never lower it."""
    node = node_min_cell()
    if requested is None:
        return node
    if isinstance(requested, bool) or not isinstance(requested, int) or requested < 0:
        raise AlgorithmInputError("bad min_cell", field="min_cell", value=requested,
                                  remedy="give a whole number >= 0")
    return max(node, requested)


def suppressed(site: str, what: str, reason: str, **extra: Any) -> dict[str, Any]:
    """The record of a withheld aggregate (what was withheld and why, never the small count itself)."""
    out: dict[str, Any] = {"site": site, "suppressed": True, "what": what, "reason": reason}
    out.update(extra)
    return out
