"""Response codes of RECIST 1.1 (target, non-target, overall, best overall response).

The response vocabularies (target, non-target, overall and best overall response, non-target lesion
status) are defined once, in :mod:`redif.model`, and imported here. Their codes are REDCap/ODM-safe
(``NON_CR_NON_PD``); their labels are the CDISC / RECIST spellings used in ADaM ``AVALC`` and by the
pharmaverse ``admiralonco`` package (``NON-CR/NON-PD``), which is what the engines print and write.
Only the lesion role and the new-lesion status, which no registry or case field records, stay here.

References
----------
Eisenhauer EA et al. New response evaluation criteria in solid tumours: revised RECIST guideline
(version 1.1). Eur J Cancer 2009;45:228-247, Tables 1-3.
"""

from __future__ import annotations

import enum

from redif.model import BestResponse, NonTargetResponse, NonTargetStatus, OverallResponse, TargetResponse

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
