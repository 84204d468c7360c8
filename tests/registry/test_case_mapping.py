"""Issue 10: one mapping from registry records to a pathway case, used by the web and the reports."""

from __future__ import annotations

from typing import Any

import pytest

from redif.reports import engine_sections
from redif.web.engines import case_from_registry


def _patient(histology: str) -> dict[str, Any]:
    return {"id": 1, "pseudonym": "P-1", "histology": histology,
            "records": {"genotypes": [{"gene": "BRAF", "variant": "V600E"}]}}


@pytest.mark.parametrize("histology", [
    "Hurthle", "Hürthle cell carcinoma", "follicular variant of papillary", "papillary", "poorly differentiated",
])
def test_web_and_report_give_the_same_case(histology: str) -> None:
    """Issue 10: the web (web/engines.py) and the report (reports/engine_sections.py) map the same
    registry patient to the same pathway histology (expected: they agree; today they disagree for
    "Hurthle" and "follicular variant of papillary")."""
    web = case_from_registry(_patient(histology))["histology"]
    report = engine_sections._histology(histology)
    assert web == report
