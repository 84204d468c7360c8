"""PDF report (typst, deterministic) and FHIR R4 export (validated by fhir.resources)."""

from __future__ import annotations

import contextlib
import json
import zlib
from datetime import datetime
from typing import Any

import pytest

from redif import DISCLAIMER, __version__
from redif.reports import fhir, pdf

PATIENT: dict[str, Any] = {
    "id": 7,
    "pseudonym": "A-0007",
    "site": "A",
    "sex": "female",
    "birth_year": 1961,
    "is_demo": False,
    "histology": "papillary #1 [x] $y$ *z*",
    "rai_refractory_criterion": "no uptake on post-therapy scan",
    "diagnosis_date": "2015-03-01",
    "progression_date": None,
    "last_follow_up_date": None,
    "records": {
        "genotypes": [
            {
                "id": 1,
                "gene": "BRAF",
                "variant": "V600E",
                "fusion_partner": None,
                "assay": "NGS",
                "sample_date": "2020-01-02",
            },
            {
                "id": 2,
                "gene": "RET",
                "variant": None,
                "fusion_partner": "CCDC6",
                "assay": None,
                "sample_date": None,
            },
        ],
        "courses": [
            {
                "id": 1,
                "course_number": 1,
                "drugs": "dabrafenib + trametinib",
                "dose": "150 mg bid",
                "start_date": "2021-01-04",
                "stop_date": "2021-02-15",
                "dose_reductions": 0,
                "days_before_uptake": 28,
                "tsh_stimulation": "rhTSH",
            }
        ],
        "administrations": [
            {
                "id": 1,
                "administration_date": "2021-02-10",
                "activity_gbq": 5.5,
                "basis": "empiric",
                "post_therapy_scan": None,
            },
            {
                "id": 2,
                "administration_date": None,
                "activity_gbq": 3.7,
                "basis": None,
                "post_therapy_scan": None,
            },
        ],
        "dosimetry": [
            {"id": 1, "kind": "lesion", "method": "124I PET", "lesion_label": "L1", "absorbed_dose_gy": 85.0}
        ],
    },
}


def _pdf_text(data: bytes) -> str:
    """Concatenate the inflated content streams (typst writes text as glyph ids, so this checks the
    uncompressed metadata and structure rather than visible text)."""
    out = [data.decode("latin-1")]
    pos = 0
    while (i := data.find(b"stream", pos)) != -1:
        j = data.find(b"endstream", i)
        chunk = data[i + 6 : j].strip(b"\r\n")
        with contextlib.suppress(zlib.error):
            out.append(zlib.decompress(chunk).decode("latin-1"))
        pos = j + 9
    return "\n".join(out)


def test_pdf_is_deterministic_for_same_inputs_and_timestamp() -> None:
    t = datetime(2026, 1, 2, 3, 4, 5)
    a = pdf.patient_report_pdf(PATIENT, generated_at=t)
    b = pdf.patient_report_pdf(PATIENT, generated_at=t)
    assert a.startswith(b"%PDF") and a == b
    assert pdf.patient_report_pdf(PATIENT, generated_at=datetime(2026, 1, 2, 3, 4, 6)) != a
    other = json.loads(json.dumps(PATIENT))
    other["records"]["dosimetry"][0]["absorbed_dose_gy"] = 86.0
    assert pdf.patient_report_pdf(other, generated_at=t) != a


def test_pdf_payload_carries_disclaimer_version_sources_and_missing_engines() -> None:
    payload = pdf._payload(PATIENT, datetime(2026, 1, 2))
    assert payload["disclaimer"] == DISCLAIMER and payload["version"] == __version__
    pathway, dosimetry, response, _ata = payload["sections"]
    assert pathway["available"] and pathway["title"].startswith("Pathway")
    assert any("BRAF V600E" in line for line in pathway["lines"]) and pathway["sources"]
    assert dosimetry["available"] and "85 Gy" in dosimetry["lines"][0]
    assert not response["available"] and response["lines"][0].startswith("Not available")  # no Tg values
    assert response["title"] == "Response"
    assert payload["sources"] and "PMID 40318680" in payload["sources"][0]  # ITOG 2025 (issue 16)
    assert "docs/methods/minimum-data-set.md" in payload["sources"][0]
    text = _pdf_text(pdf.patient_report_pdf(PATIENT, generated_at=datetime(2026, 1, 2)))
    assert "A-0007" in text and f"redif {__version__}" in text  # document metadata (title, author)


def test_engine_section_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    """A function of ``ENGINE_SECTIONS`` fills its section; a failing one is marked with its error."""

    def fake(p: Any) -> dict[str, Any]:
        return {
            "title": "Fake",
            "lines": [f"{p['pseudonym']} ok"],
            "table": {"columns": ["a"], "rows": [[1]]},
            "sources": ["Fake et al. 2024"],
        }

    def boom(p: Any) -> None:
        raise ValueError("bad input")

    monkeypatch.setattr(pdf, "ENGINE_SECTIONS", (("F", fake), ("B", boom)))
    secs = pdf.engine_sections(PATIENT)
    assert (
        secs[0]["available"]
        and secs[0]["lines"] == ["A-0007 ok"]
        and secs[0]["sources"] == ["Fake et al. 2024"]
    )
    assert not secs[1]["available"] and "bad input" in secs[1]["lines"][0]
    assert pdf.patient_report_pdf(PATIENT, generated_at=datetime(2026, 1, 1)).startswith(b"%PDF")


def test_fhir_bundle_validates_and_carries_no_identity() -> None:
    from fhir.resources.R4B.bundle import Bundle

    b = fhir.patient_bundle(PATIENT)
    Bundle.model_validate(b)  # round trip through the validator
    kinds = [e["resource"]["resourceType"] for e in b["entry"]]
    assert kinds.count("Patient") == 1 and kinds.count("Condition") == 1
    assert kinds.count("Observation") == 2 and kinds.count("MedicationStatement") == 1
    assert kinds.count("MedicationAdministration") == 1  # only the dated administration
    assert kinds.count("Procedure") == 2
    pat = b["entry"][0]["resource"]
    assert "name" not in pat and "address" not in pat and pat["birthDate"] == "1961"
    assert pat["identifier"][0]["value"] == "A-0007"
    ma = next(
        e["resource"] for e in b["entry"] if e["resource"]["resourceType"] == "MedicationAdministration"
    )
    assert ma["dosage"]["dose"] == {
        "value": 5.5,
        "unit": "GBq",
        "system": "http://unitsofmeasure.org",
        "code": "GBq",
    }
    obs = [e["resource"] for e in b["entry"] if e["resource"]["resourceType"] == "Observation"]
    assert obs[1]["valueString"] == "fusion with CCDC6"
    refs = {e["resource"]["subject"]["reference"] for e in b["entry"][1:]}
    assert refs == {b["entry"][0]["fullUrl"]}
    assert fhir.patient_bundle(PATIENT) == b  # deterministic identifiers


def test_response_section_tg_doubling_time_closed_form() -> None:
    """Tg 10 -> 20 -> 40 ng/mL at days 0, 182, 364: exact exponential, doubling time 182 days (closed
    form ln 2 / slope)."""
    from redif.reports.engine_sections import response_section

    p = json.loads(json.dumps(PATIENT))
    p["records"]["labs"] = [
        {"analyte": "Tg", "value": v, "unit": "ng/mL", "sample_date": d}
        for v, d in ((10.0, "2024-01-01"), (20.0, "2024-07-01"), (40.0, "2024-12-30"))
    ]
    sec = response_section(p)
    assert sec is not None and "doubling time 182 days" in sec["lines"][0]
    assert "+300.0 %" in sec["lines"][0]
