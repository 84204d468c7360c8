"""Per-arm evidence shown next to a regimen never turns a blank or unverified count into a number.

Source: evidence table row P02 (src/redif/data/evidence_studies.yaml) (Rothenberg 2015): CR blank, PR "2
(UNVERIFIED ...)",
denominator "6 treated (UNVERIFIED)". docs/methods/sources-and-grades.md: unverified counts are not
trustworthy numbers, so the
arm must show no response figure. Row P06 (MERAIODE BRAF): CR 0 (derived), PR 8, denominator 21 -> 8/21.
"""

from __future__ import annotations

from redif.pathway.evidence_link import regimen_evidence
from redif.pathway.regimens import load_regimens


def _arm(regimen_id: str, row_id: str) -> dict[str, object]:
    regimen = next(r for r in load_regimens() if r.id == regimen_id)
    arms = regimen_evidence(regimen)["arms"]
    return next(a for a in arms if a["row_id"] == row_id)


def test_unverified_response_counts_are_not_shown() -> None:
    assert _arm("braf-dabrafenib", "P02")["response"] is None


def test_derived_zero_cr_is_counted() -> None:
    assert _arm("braf-dabrafenib-trametinib", "P06")["response"] == {"cr_pr": 8, "denominator": 21}
