"""Issue 10: one mapping from registry records to a pathway case, used by the web and the reports."""

from __future__ import annotations

from typing import Any

import pytest

from redif.model import Histology
from redif.registry.schemas import PatientIn
from redif.reports import engine_sections
from redif.web.engines import case_from_registry


def _patient(histology: str) -> dict[str, Any]:
    """A registry patient as stored: the histology goes through the registry's validation (free text ->
    the model's code), then into ``patient_to_dict`` shape."""
    stored = PatientIn(pseudonym="P-1", histology=histology).histology
    return {"id": 1, "pseudonym": "P-1", "histology": stored, "birth_year": 1960,
            "progression_date": "2024-03-01", "progression_criterion": "recist_1_1",
            "records": {"genotypes": [{"gene": "BRAF", "variant": "V600E"}],
                        "labs": [{"analyte": "Tg", "value": 3.0, "sample_date": "2024-01-01"}],
                        "courses": [{"drugs": "dabrafenib + trametinib", "start_date": "2024-01-10"}]}}


@pytest.mark.parametrize(("histology", "expected"), [
    ("Hurthle", Histology.ONCOCYTIC),
    ("Hürthle cell carcinoma", Histology.ONCOCYTIC),
    ("follicular variant of papillary", Histology.PAPILLARY),
    ("papillary", Histology.PAPILLARY),
    ("poorly differentiated", Histology.POORLY_DIFFERENTIATED),
    ("follicular", Histology.FOLLICULAR),
])
def test_web_and_report_give_the_same_case(histology: str, expected: Histology) -> None:
    """Issue 10: the web (web/engines.py) and the report (reports/engine_sections.py) build the same
    pathway case from the same registry patient (before the fix they disagreed: "Hurthle" -> oncocytic on
    the web, other in the report; "follicular variant of papillary" -> papillary on the web, follicular
    in the report). Expected histology: the term whose alias the text is, in the model's vocabulary
    (src/redif/data/model/vocabularies.yaml; WHO 2022 classification)."""
    patient = _patient(histology)
    web = case_from_registry(patient)
    report = engine_sections.report_case(patient)
    assert web == report
    assert web["histology"] == expected.value
    assert web["progression_events"] == [{"date": "2024-03-01", "criterion": "recist_1_1"}]
