"""Live evidence for a regimen: the arms of the evidence base and their pooled estimates.

Composes ``redif.evidence.studies`` (the evidence base) and ``redif.evidence.meta`` (pooling). When an
engine is not installed the result says ``"not available: <engine> not installed"`` instead of numbers.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from redif.pathway.regimens import Regimen

__all__ = ["engine_available", "regimen_evidence"]


def engine_available(module: str) -> bool:
    """Whether an engine module can be imported."""
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def regimen_evidence(regimen: Regimen) -> dict[str, Any]:
    """Evidence for one regimen: arms, pooled uptake restoration and response, evidence level."""
    out: dict[str, Any] = {
        "evidence_level": regimen.evidence_level,
        "evidence_rows": list(regimen.evidence_rows),
        "source": regimen.source,
        "grade": regimen.grade.value,
    }
    if not engine_available("redif.evidence.studies"):
        out["status"] = "not available: evidence base (redif.evidence.studies) not installed"
        return out
    out["status"] = "not available: evidence base interface not wired yet"
    return out
