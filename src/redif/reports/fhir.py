"""FHIR R4 export of one registry patient (mCODE-style), validated with ``fhir.resources``.

The bundle (``type = collection``) holds:

- ``Patient`` — identified only by the registry pseudonym (``identifier.system =
  urn:redif:site:<site>:pseudonym``), administrative gender and birth *year*;
- ``Condition`` — differentiated thyroid cancer (ICD-10 C73) with histology as text;
- ``Observation`` (laboratory, genomic variant assessment) — one per genotype, with the gene studied
  as a component and the variant or fusion partner as ``valueString``;
- ``MedicationStatement`` — one per redifferentiation course (drugs, dose text, period);
- ``MedicationAdministration`` and ``Procedure`` — one each per therapeutic 131I administration
  (activity in GBq, UCUM).

``fhir.resources`` ships R4B (4.3.0) models: the resources used here are structurally identical in R4
and R4B, so the validated bundle is valid R4 as well. Identifiers (``fullUrl``) are name-based UUIDs
of the pseudonym and record ids, so the same patient gives the same bundle.

References
----------
HL7 FHIR R4 (4.0.1); HL7 mCODE Implementation Guide (minimal Common Oncology Data Elements).
"""

from __future__ import annotations

import uuid
from typing import Any

from fhir.resources.R4B.bundle import Bundle

from redif import __version__
from redif.data import load_yaml

__all__ = ["patient_bundle"]

_NS = uuid.UUID("6f0b7c52-4a4c-4d3b-9b7e-2f1f8a1c0d11")
_GENDER = {"female": "female", "male": "male", "other": "other", "unknown": "unknown"}


def _codes() -> dict[str, Any]:
    data: dict[str, Any] = load_yaml("fhir_codes.yaml")
    return data


def _coding(key: str) -> dict[str, Any]:
    c = _codes()[key]
    return {"system": c["system"], "code": str(c["code"]), "display": c["display"]}


def _urn(*parts: Any) -> str:
    return "urn:uuid:" + str(uuid.uuid5(_NS, "/".join(str(p) for p in parts)))


def patient_bundle(patient: dict[str, Any]) -> dict[str, Any]:
    """FHIR R4 collection Bundle (as a JSON-ready dict) of one patient (``patient_to_dict`` shape).

    Raises
    ------
    pydantic.ValidationError
        Never for data stored by redif (the bundle is validated before it is returned).
    """
    pseudo = str(patient["pseudonym"])
    site = str(patient.get("site"))
    recs = patient.get("records", {})
    ucum = _codes()["ucum"]["system"]
    p_url = _urn(site, pseudo, "Patient")
    subject = {"reference": p_url}
    entries: list[dict[str, Any]] = []

    pat: dict[str, Any] = {
        "resourceType": "Patient",
        "identifier": [{"system": f"urn:redif:site:{site}:pseudonym", "value": pseudo}],
        "gender": _GENDER.get(str(patient.get("sex") or "unknown"), "unknown"),
        "meta": {
            "tag": [
                {
                    "system": "urn:redif",
                    "code": "pseudonymised",
                    "display": f"redif {__version__} registry export",
                }
            ]
        },
    }
    if patient.get("birth_year"):
        pat["birthDate"] = f"{int(patient['birth_year']):04d}"
    entries.append({"fullUrl": p_url, "resource": pat})

    cond: dict[str, Any] = {
        "resourceType": "Condition",
        "clinicalStatus": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}
            ]
        },
        "code": {
            "coding": [_coding("thyroid_cancer_condition")],
            "text": "Differentiated thyroid cancer"
            + (f", {patient['histology']}" if patient.get("histology") else ""),
        },
        "subject": subject,
    }
    if patient.get("diagnosis_date"):
        cond["onsetDateTime"] = str(patient["diagnosis_date"])
    if patient.get("rai_refractory_criterion"):
        cond["note"] = [{"text": "RAI-refractory: " + str(patient["rai_refractory_criterion"])}]
    entries.append({"fullUrl": _urn(site, pseudo, "Condition"), "resource": cond})

    for g in recs.get("genotypes", []):
        obs: dict[str, Any] = {
            "resourceType": "Observation",
            "status": "final",
            "category": [{"coding": [_coding("observation_category_laboratory")]}],
            "code": {
                "coding": [_coding("genomic_variant_observation")],
                "text": "Genetic variant assessment",
            },
            "subject": subject,
            "component": [
                {
                    "code": {"coding": [_coding("gene_studied_component")], "text": "Gene studied"},
                    "valueCodeableConcept": {"text": str(g["gene"])},
                }
            ],
            "valueString": str(
                g.get("variant")
                or (f"fusion with {g['fusion_partner']}" if g.get("fusion_partner") else "detected")
            ),
        }
        if g.get("sample_date"):
            obs["effectiveDateTime"] = str(g["sample_date"])
        if g.get("assay"):
            obs["method"] = {"text": str(g["assay"])}
        entries.append({"fullUrl": _urn(site, pseudo, "genotype", g["id"]), "resource": obs})

    for c in recs.get("courses", []):
        ms: dict[str, Any] = {
            "resourceType": "MedicationStatement",
            "status": "completed" if c.get("stop_date") else "active",
            "medicationCodeableConcept": {"text": str(c["drugs"])},
            "subject": subject,
            "reasonCode": [{"text": "Redifferentiation before radioiodine therapy"}],
        }
        period = {k2: str(c[k1]) for k1, k2 in (("start_date", "start"), ("stop_date", "end")) if c.get(k1)}
        if period:
            ms["effectivePeriod"] = period
        if c.get("dose"):
            ms["dosage"] = [{"text": str(c["dose"])}]
        entries.append({"fullUrl": _urn(site, pseudo, "course", c["id"]), "resource": ms})

    for a in recs.get("administrations", []):
        dose = {"value": float(a["activity_gbq"]), "unit": "GBq", "system": ucum, "code": "GBq"}
        proc: dict[str, Any] = {
            "resourceType": "Procedure",
            "status": "completed",
            "code": {
                "text": "Radioiodine (131I) therapy" + (f", {a['basis']} activity" if a.get("basis") else "")
            },
            "subject": subject,
        }
        if a.get("administration_date"):
            proc["performedDateTime"] = str(a["administration_date"])
            entries.append(
                {
                    "fullUrl": _urn(site, pseudo, "administration", a["id"]),
                    "resource": {
                        "resourceType": "MedicationAdministration",
                        "status": "completed",
                        "medicationCodeableConcept": {"text": "Sodium iodide (131I)"},
                        "subject": subject,
                        "effectiveDateTime": str(a["administration_date"]),
                        "dosage": {"dose": dose, "route": {"text": "oral"}},
                    },
                }
            )
        proc["note"] = [{"text": f"Administered activity {float(a['activity_gbq']):g} GBq"}]
        entries.append({"fullUrl": _urn(site, pseudo, "procedure", a["id"]), "resource": proc})

    bundle = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    validated = Bundle.model_validate(bundle)
    out: dict[str, Any] = validated.model_dump(mode="json", exclude_none=True)
    return out
