"""Bridges to the dosimetry and response engines (optional: each says so when not installed)."""

from __future__ import annotations

from typing import Any

from redif.pathway.case import Case, DosimetryResults
from redif.pathway.evidence_link import engine_available

__all__ = ["dosimetry_section", "response_section"]


def dosimetry_section(case: Case) -> tuple[dict[str, Any] | None, DosimetryResults | None]:
    """The ``dosimetry`` JSON section and, when the engine computed one, results for the decision."""
    if case.dosimetry is None:
        return None, None
    out: dict[str, Any] = {}
    if case.dosimetry.results is not None:
        out["results"] = case.dosimetry.results.model_dump(mode="json")
        out["results_source"] = "case file (dosimetry.results)"
    if case.dosimetry.plan is not None:
        if not engine_available("redif.dosimetry.prescription"):
            out["plan"] = "not available: dosimetry engine (redif.dosimetry.prescription) not installed"
        else:
            out["plan"] = "not available: dosimetry engine interface not wired yet"
    return out, None


def response_section(case: Case) -> dict[str, Any] | None:
    """The ``response`` JSON section (RECIST 1.1 and thyroglobulin kinetics) when data exist."""
    if not case.response_assessments:
        return None
    if not engine_available("redif.response.recist"):
        return {
            "status": "not available: response engine (redif.response.recist) not installed",
            "time_points": len(case.response_assessments),
        }
    return {"status": "not available: response engine interface not wired yet"}
