"""Enumerations of the redifferentiation evidence base.

The values are the exact strings used in the data files (``src/redif/data/evidence_studies.yaml``) and in
a user's own study file, so that ``GenotypeGroup("RAS")`` parses a cell directly.

:class:`UptakeDefinition` (how a trial defined "restored" uptake) is a vocabulary of the data model,
defined in :mod:`redif.model` and imported here: its codes are REDCap-safe (``post_therapy_scan``), its
labels are the wording of the evidence base (``uptake on post-therapy scan``). The data files and users'
study files may give either; outputs show the label (:func:`display`). MERAIODE's BRAF cohort shows why
the definition matters: uptake restored in 65% on the day-28 diagnostic scan, 95% on the post-therapy
scan (docs/methods/sources-and-grades.md).

References
----------
.. [1] Leboulleux S, et al. Redifferentiation therapy in unresectable or metastatic radioactive iodine
   refractory thyroid cancer: an ITOG statement. Lancet Diabetes Endocrinol 2025;13(6):516-527.
   (uptake restoration "means different things in different trials"; genotype groups treated.)
.. [2] docs/methods/sources-and-grades.md (the definitions of restored uptake and the grades).
"""

from __future__ import annotations

import enum

from redif.model import CodedEnum, UptakeDefinition

__all__ = [
    "DEFINITION_PRIORITY",
    "CountFlag",
    "EvidenceGrade",
    "GenotypeGroup",
    "OutcomeKind",
    "RowType",
    "UptakeDefinition",
    "display",
]


class RowType(enum.StrEnum):
    """What one record of the evidence base stands for."""

    ARM = "arm"
    STUDY = "study"
    STUDY_OVERALL = "study overall"
    GENOTYPE_SUBGROUP = "genotype subgroup"
    CASE_SERIES = "case series"
    CASE_REPORT = "case report"


class GenotypeGroup(enum.StrEnum):
    """Genotype group of the patients in a record (the grouping the ITOG statement uses)."""

    BRAF_V600E = "BRAF V600E"
    RAS = "RAS"
    BRAF_WILD_TYPE = "BRAF wild-type"
    RET_FUSION = "RET fusion"
    NTRK_FUSION = "NTRK fusion"
    MIXED = "mixed/unselected"
    OTHER = "other"


#: Order in which one uptake outcome is chosen for an arm that reports several, when no definition is
#: requested: the criterion that decided whether 131I was given comes first (the strictest first), the
#: post-therapy scan (read after a high 131I activity, the most sensitive) last. See ``docs/evidence.md``.
DEFINITION_PRIORITY: tuple[UptakeDefinition, ...] = (
    UptakeDefinition.LESION_DOSE_THRESHOLD,
    UptakeDefinition.PROTOCOL_SUFFICIENT,
    UptakeDefinition.DIAGNOSTIC_SCAN,
    UptakeDefinition.INCREASED_124I,
    UptakeDefinition.POST_THERAPY_SCAN,
    UptakeDefinition.NOT_REPORTED,
)


def display(member: enum.Enum) -> str:
    """The text an output shows for an enum member: a model term's label, else the member's value."""
    return member.label if isinstance(member, CodedEnum) else str(member.value)


class EvidenceGrade(enum.StrEnum):
    """How far a record (or one of its counts) was checked, best first.

    ``primary``: read in the abstract, a congress abstract or a registry; ``secondary``: read in someone
    else's transcription; ``unverified``: not checked against any source; ``unreliable-secondary``: taken
    from a machine-written summary. The last two are left out of default analyses.
    """

    PRIMARY = "primary"
    SECONDARY = "secondary"
    UNVERIFIED = "unverified"
    UNRELIABLE_SECONDARY = "unreliable-secondary"

    @property
    def rank(self) -> int:
        """3 for primary down to 0 for unreliable-secondary (higher is better)."""
        return _GRADE_RANK[self]

    def at_least(self, minimum: EvidenceGrade) -> bool:
        """True when this grade is as good as ``minimum`` or better."""
        return self.rank >= minimum.rank


_GRADE_RANK = {
    EvidenceGrade.PRIMARY: 3,
    EvidenceGrade.SECONDARY: 2,
    EvidenceGrade.UNVERIFIED: 1,
    EvidenceGrade.UNRELIABLE_SECONDARY: 0,
}


class CountFlag(enum.StrEnum):
    """Provenance of one count: as reported, derived by arithmetic, or unverified."""

    REPORTED = "reported"
    DERIVED = "derived"
    UNVERIFIED = "unverified"


class OutcomeKind(enum.StrEnum):
    """The two pooled outcomes."""

    UPTAKE = "uptake"
    RESPONSE = "response"
