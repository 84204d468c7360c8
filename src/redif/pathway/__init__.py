"""redif.pathway: one patient's traceable assessment.

Is the disease RAI-refractory and by which criterion (:mod:`~redif.pathway.refractoriness`); which
regimen fits the genotype, on what evidence (:mod:`~redif.pathway.regimens`,
:mod:`~redif.pathway.evidence_link`, :mod:`~redif.pathway.eligibility`); the dated protocol
(:mod:`~redif.pathway.protocol`); go / no-go after the uptake scan (:mod:`~redif.pathway.decision`); and
the whole chain for one case file (:func:`assess_case`, rendered by :mod:`~redif.pathway.report`).
Every rule lives in a data file with its source and grade; see ``docs/pathway.md``.
"""

from __future__ import annotations

from redif.pathway.assess import Assessment, assess_case
from redif.pathway.case import Case, CaseValidationError, case_json_schema, load_case, parse_case
from redif.pathway.decision import Decision, DecisionStatus, decide
from redif.pathway.eligibility import Eligibility, assess_eligibility
from redif.pathway.protocol import ProtocolPlan, get_protocol, plan_to_ics, schedule
from redif.pathway.refractoriness import RefractorinessResult, RefractoryStatus, assess_refractoriness
from redif.pathway.regimens import candidate_regimens, classify_genotype
from redif.pathway.registry_section import registry_report_section

__all__ = [
    "Assessment",
    "Case",
    "CaseValidationError",
    "Decision",
    "DecisionStatus",
    "Eligibility",
    "ProtocolPlan",
    "RefractorinessResult",
    "RefractoryStatus",
    "assess_case",
    "assess_eligibility",
    "assess_refractoriness",
    "candidate_regimens",
    "case_json_schema",
    "classify_genotype",
    "decide",
    "get_protocol",
    "load_case",
    "parse_case",
    "plan_to_ics",
    "registry_report_section",
    "schedule",
]

