"""Enumerations of the redifferentiation evidence base.

The values are the exact strings used in the data files (``src/redif/data/evidence_studies.yaml``) and in
a user's own study file, so that ``GenotypeGroup("RAS")`` parses a cell directly.

References
----------
.. [1] Leboulleux S, et al. Redifferentiation therapy in unresectable or metastatic radioactive iodine
   refractory thyroid cancer: an ITOG statement. Lancet Diabetes Endocrinol 2025;13(6):516-527.
   (uptake restoration "means different things in different trials"; genotype groups treated.)
.. [2] ``shared/clinical/RULES.md`` section 4 (the definitions of restored uptake and the grades).
"""

from __future__ import annotations

import enum

__all__ = [
    "DEFINITION_PRIORITY",
    "CountFlag",
    "EvidenceGrade",
    "GenotypeGroup",
    "OutcomeKind",
    "RowType",
    "UptakeDefinition",
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


class UptakeDefinition(enum.StrEnum):
    """How a trial defined "restored" radioiodine uptake.

    The definitions are not interchangeable: in MERAIODE's BRAF cohort uptake was restored in 65% on the
    day-28 diagnostic scan but in 95% on the post-therapy scan (RULES.md section 4).
    """

    INCREASED_124I = "increased 124I uptake"
    LESION_DOSE_THRESHOLD = "lesion-dose threshold reached"
    DIAGNOSTIC_SCAN = "uptake on diagnostic scan"
    POST_THERAPY_SCAN = "uptake on post-therapy scan"
    PROTOCOL_SUFFICIENT = "protocol-defined sufficient uptake"
    NOT_REPORTED = "not reported"


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
