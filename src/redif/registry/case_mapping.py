"""The one mapping from a patient's registry records to a pathway case (the input of
:func:`redif.pathway.parse_case`), used by the web, the reports and the CLI.

The registry stores the codes of :mod:`redif.model` (histology, gene, TSH stimulation, progression
criterion, ...), which are the case file's codes, so the mapping is direct: no free text is interpreted
here. What the harmonised data set does not hold (lesion-level scans, uptake per lesion, target-lesion
measurements) stays absent, so the pathway engine reports it as missing rather than guessing.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from redif.errors import InputError
from redif.model import RaiIntent

__all__ = ["case_from_registry", "case_id_for", "genotype_from_record"]

_CASE_ID = re.compile(r"[^A-Za-z0-9_.-]")
_DRUG_SPLIT = re.compile(r"[+,/;]| and ")
#: Lab analyte code (model vocabulary "analyte") -> key of a case lab result.
_LAB_KEYS = {"Tg": "tg_ng_ml", "TgAb": "tgab_iu_ml", "TSH": "tsh_miu_l"}


def case_id_for(pseudonym: str) -> str:
    """A case id from a registry pseudonym (letters, digits, ``_``, ``.``, ``-``; 2 to 64 characters)."""
    case_id = _CASE_ID.sub("-", str(pseudonym))
    if len(case_id) < 2 or not case_id[0].isalnum():
        case_id = "P" + case_id
    return case_id[:64]


def genotype_from_record(g: Mapping[str, Any]) -> dict[str, Any]:
    """A case ``genotype`` item from a registry genotype record (a fusion when a partner is recorded)."""
    item = {
        "gene": g["gene"],
        "kind": "fusion" if g.get("fusion_partner") else "mutation",
        "variant": g.get("variant"),
        "fusion_partner": g.get("fusion_partner"),
        "assay": g.get("assay"),
        "date": g.get("sample_date"),
    }
    return {k: v for k, v in item.items() if v is not None}


def _intent(indication: str | None) -> str:
    """The case's RAI intent from the free-text indication of a prior-RAI record (``treatment`` unless
    the text names a term, label or alias of the model's ``rai_intent`` vocabulary or says
    "ablat..."/"adjuv...")."""
    text = (indication or "").strip()
    if text:
        try:
            return RaiIntent.parse(text).value
        except InputError:
            pass
    low = text.lower()
    if "ablat" in low:
        return RaiIntent.ABLATION.value
    if "adjuv" in low:
        return RaiIntent.ADJUVANT.value
    return RaiIntent.TREATMENT.value


def case_from_registry(patient: Mapping[str, Any]) -> dict[str, Any]:
    """The pathway case of a patient dict of :func:`redif.registry.patients.patient_to_dict`.

    Raises
    ------
    InputError
        If the registry lacks a fact the pathway needs (histology).
    """
    rec = patient.get("records") or {}
    histology = patient.get("histology")
    if not histology:
        raise InputError("the patient has no histology recorded", field="histology",
                         remedy="edit the patient (histology) or store a pathway case document")
    case: dict[str, Any] = {"case_id": case_id_for(str(patient["pseudonym"])), "histology": str(histology)}
    if patient.get("birth_year"):
        case["year_of_birth"] = patient["birth_year"]
    case["genotype"] = [genotype_from_record(g) for g in rec.get("genotypes", []) if g.get("gene")]
    case["rai_courses"] = [
        {"date": r["treatment_date"], "activity_gbq": r["activity_gbq"], "intent": _intent(r.get("indication"))}
        for r in rec.get("rai-history", []) if r.get("treatment_date") and r.get("activity_gbq")
    ]
    if patient.get("progression_date") and patient.get("progression_criterion"):
        case["progression_events"] = [
            {"date": patient["progression_date"], "criterion": patient["progression_criterion"]}
        ]
    labs: dict[str, dict[str, Any]] = defaultdict(dict)
    for lab in rec.get("labs", []):
        key = _LAB_KEYS.get(str(lab.get("analyte")))
        if lab.get("sample_date") and key:
            labs[str(lab["sample_date"])][key] = lab["value"]
    case["labs"] = [{"date": d, **v} for d, v in sorted(labs.items())]
    courses = rec.get("courses", [])
    if courses:
        c = max(courses, key=lambda x: (x.get("course_number") or 0, x.get("id") or 0))
        drugs = [d.strip() for d in _DRUG_SPLIT.split(c["drugs"]) if d.strip()]
        course = {"drugs": [{"drug": d} for d in drugs], "start_date": c.get("start_date"),
                  "stop_date": c.get("stop_date")}
        case["redifferentiation_course"] = {k: v for k, v in course.items() if v is not None}
    return case
