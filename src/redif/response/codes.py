"""Response codes of RECIST 1.1 (target, non-target, overall, best overall response).

The string values are the CDISC / RECIST spellings used in ADaM ``AVALC`` and by the pharmaverse
``admiralonco`` package, so that time-point results can be fed straight into the best-overall-response
engine (:mod:`redif.response.bor`).

References
----------
Eisenhauer EA et al. New response evaluation criteria in solid tumours: revised RECIST guideline
(version 1.1). Eur J Cancer 2009;45:228-247, Tables 1-3.
"""

from __future__ import annotations

import enum

__all__ = [
    "BestResponse",
    "LesionKind",
    "NewLesionStatus",
    "NonTargetResponse",
    "NonTargetStatus",
    "OverallResponse",
    "TargetResponse",
]


class LesionKind(enum.StrEnum):
    """Role of a baseline lesion in RECIST 1.1."""

    TARGET = "target"
    NON_TARGET = "non-target"


class NewLesionStatus(enum.StrEnum):
    """New lesions at one time point: unequivocal (``yes``), only equivocal, or none (``no``)."""

    YES = "yes"
    EQUIVOCAL = "equivocal"
    NO = "no"


class TargetResponse(enum.StrEnum):
    """Response of the target lesions at one time point (RECIST 1.1 §4.3.1)."""

    CR = "CR"
    PR = "PR"
    SD = "SD"
    PD = "PD"
    NE = "NE"
    NA = "NA"
    """No target lesion at baseline (non-target disease only: RECIST 1.1 Table 2 applies)."""


class NonTargetStatus(enum.StrEnum):
    """What the reader recorded for one non-target lesion at one time point."""

    PRESENT = "present"
    """Persisting, not unequivocally progressing (non-CR/non-PD)."""
    ABSENT = "absent"
    """Disappeared; for a lymph node: normal size (< 10 mm short axis)."""
    PROGRESSION = "progression"
    """Unequivocal progression of this (or the overall non-target) disease."""
    NOT_EVALUATED = "not-evaluated"


class NonTargetResponse(enum.StrEnum):
    """Response of the non-target lesions at one time point (RECIST 1.1 §4.3.2)."""

    CR = "CR"
    NON_CR_NON_PD = "NON-CR/NON-PD"
    PD = "PD"
    NE = "NE"
    NA = "NA"
    """No non-target lesion at baseline."""


class OverallResponse(enum.StrEnum):
    """Overall response at one time point (RECIST 1.1 Tables 1 and 2)."""

    CR = "CR"
    PR = "PR"
    SD = "SD"
    NON_CR_NON_PD = "NON-CR/NON-PD"
    PD = "PD"
    NE = "NE"


class BestResponse(enum.StrEnum):
    """Best overall response of a subject, best first (admiralonco ``aval_resp`` order)."""

    CR = "CR"
    PR = "PR"
    SD = "SD"
    NON_CR_NON_PD = "NON-CR/NON-PD"
    PD = "PD"
    NE = "NE"
    MISSING = "MISSING"
    """The subject has no assessment."""

    @property
    def rank(self) -> int:
        """1 for CR ... 7 for MISSING (admiralonco ``aval_resp``); smaller is better."""
        return _RANK[self]


_RANK = {code: i + 1 for i, code in enumerate(BestResponse)}
