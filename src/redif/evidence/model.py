"""Typed records of the redifferentiation evidence base (one per study arm).

Frozen dataclasses only: parsing and validation live in :mod:`redif.evidence.studies`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redif.evidence.enums import (
    CountFlag,
    EvidenceGrade,
    GenotypeGroup,
    RowType,
    UptakeDefinition,
)

__all__ = ["Count", "Identifier", "StudyArm", "UptakeOutcome"]


@dataclass(frozen=True)
class Count:
    """A number of patients with its provenance.

    Attributes
    ----------
    value
        Number of patients (>= 0).
    flag
        ``reported`` (as printed in the source), ``derived`` (computed by arithmetic from reported
        numbers; ``note`` says how) or ``unverified`` (not checked: never used by a default analysis).
    note
        How a derived value was computed, or why a value is unverified.
    """

    value: int
    flag: CountFlag = CountFlag.REPORTED
    note: str | None = None

    @property
    def derived(self) -> bool:
        """True when the count was computed by arithmetic."""
        return self.flag is CountFlag.DERIVED

    @property
    def unverified(self) -> bool:
        """True when the count is not checked against a source."""
        return self.flag is CountFlag.UNVERIFIED

    def to_dict(self) -> dict[str, Any]:
        """JSON form: ``{"value", "flag", "note"}``."""
        return {"value": self.value, "flag": self.flag.value, "note": self.note}


@dataclass(frozen=True)
class Identifier:
    """A PMID or DOI; ``unverified`` marks one that no consulted source confirmed."""

    value: str
    unverified: bool = False
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"value": self.value, "unverified": self.unverified, "note": self.note}


@dataclass(frozen=True)
class UptakeOutcome:
    """Restored uptake in one arm under one definition.

    Attributes
    ----------
    definition
        The trial's definition of restored uptake.
    restored
        Patients with restored uptake (``None`` when only a percentage was reported).
    evaluable
        Patients assessed for this outcome (defaults to the arm's ``n_evaluable``).
    percent_reported
        The percentage as printed, kept when no count can be recovered from it.
    note
        The wording of the source (e.g. "12 increased").
    """

    definition: UptakeDefinition
    restored: Count | None
    evaluable: Count | None
    percent_reported: float | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "definition": self.definition.label,
            "restored": None if self.restored is None else self.restored.to_dict(),
            "evaluable": None if self.evaluable is None else self.evaluable.to_dict(),
            "percent_reported": self.percent_reported,
            "note": self.note,
        }


@dataclass(frozen=True)
class StudyArm:
    """One record of the evidence base: a study arm, a genotype subgroup, a whole study or a case series.

    Counts are :class:`Count` or ``None`` (blank: not reported). ``part_of`` names the overall record of
    which this one is a subset (e.g. ``P01a`` is part of ``P01``): the same patients are never pooled
    twice (see :func:`redif.evidence.tables.outcome_table`). ``n_started_drug`` is everyone who started the
    redifferentiation drug (the intention-to-treat denominator of response); ``results_reported`` is
    False for a registered trial with no results yet (listed as ongoing, never pooled). ``trial`` names the
    trial of an arm reported as a record of its own, with no overall record to be ``part_of`` (MERAIODE's
    BRAF and RAS cohorts, two reports of one trial): records with the same ``trial`` are arms of one
    trial in the nested model (:func:`redif.evidence.nested.trial_of`).
    """

    row_id: str
    row_type: RowType
    label: str
    genotype: GenotypeGroup
    grade: EvidenceGrade
    source: str
    short_label: str | None = None
    first_author: str | None = None
    year: str | None = None
    journal: str | None = None
    pmid: Identifier | None = None
    doi: Identifier | None = None
    registry_ids: tuple[str, ...] = ()
    design: str | None = None
    randomised: bool | None = None
    setting: str | None = None
    genotype_detail: str | None = None
    drugs: tuple[str, ...] = ()
    regimen: str | None = None
    dose: str | None = None
    weeks_drug_before_uptake_assessment: float | None = None
    total_drug_duration: str | None = None
    uptake_assessment_method: str | None = None
    tsh_stimulation: str | None = None
    lesional_dosimetry: bool | None = None
    dosimetry_threshold: str | None = None
    activity_gbq: float | None = None
    activity_note: str | None = None
    n_enrolled: Count | None = None
    n_evaluable: Count | None = None
    n_treated_131i: Count | None = None
    n_started_drug: Count | None = None
    results_reported: bool | None = None
    uptake: tuple[UptakeOutcome, ...] = ()
    recist_cr: Count | None = None
    recist_pr: Count | None = None
    recist_sd: Count | None = None
    recist_pd: Count | None = None
    response_denominator: Count | None = None
    response_denominator_basis: str | None = None
    response_timepoint: str | None = None
    tg_response: str | None = None
    pfs: str | None = None
    adverse_events: str | None = None
    part_of: str | None = None
    verification_detail: str | None = None
    notes: str | None = None
    origin: str = "built-in"
    trial: str | None = None

    @property
    def display_label(self) -> str:
        """``row_id`` and the short label, e.g. ``"P06 MERAIODE BRAF 2023"`` (for tables and plots)."""
        return f"{self.row_id} {self.short_label or self.label}"

    @property
    def regimen_label(self) -> str:
        """The drug regimen as one label (``"dabrafenib + trametinib"``), ``"not reported"`` if none."""
        if self.regimen:
            return self.regimen
        return " + ".join(self.drugs) if self.drugs else "not reported"

    def uptake_for(self, definition: UptakeDefinition) -> UptakeOutcome | None:
        """The uptake outcome under ``definition``, or ``None``."""
        for outcome in self.uptake:
            if outcome.definition is definition:
                return outcome
        return None

    def to_dict(self) -> dict[str, Any]:
        """JSON form (enums as their values, counts as objects)."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if isinstance(value, Count | Identifier | UptakeOutcome):
                out[name] = value.to_dict()
            elif name == "uptake":
                out[name] = [o.to_dict() for o in value]
            elif isinstance(value, tuple):
                out[name] = list(value)
            elif hasattr(value, "value") and isinstance(value, RowType | GenotypeGroup | EvidenceGrade):
                out[name] = value.value
            else:
                out[name] = value
        out["regimen_label"] = self.regimen_label
        return out
