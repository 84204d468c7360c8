"""Eligibility: ATA 2025 Rec 74A/74B context and trial criteria (docs/methods/refractoriness.md).

- MERAIODE: "RECIST progression within 18 months and no lesion > 3 cm" [primary]: 30 mm is allowed,
  31 mm is not.
- SEL-I-METRY: "RECIST progression in the prior 12 months" [primary].
- Rec 74A: "progressive RAI-R DTC with targetable mutations"; Rec 74B: not in the adjuvant setting.
"""

from __future__ import annotations

from typing import Any

import pytest

from redif.pathway.case import parse_case
from redif.pathway.eligibility import CheckStatus, assess_eligibility
from redif.pathway.refractoriness import assess_refractoriness
from redif.pathway.regimens import classify_genotype


def _elig(data: dict[str, Any]) -> Any:
    case = parse_case(data)
    return assess_eligibility(case, assess_refractoriness(case), classify_genotype(case))


def _refractory(make_case: Any, **over: Any) -> dict[str, Any]:
    base = dict(
        rai_courses=[
            {
                "date": "2021-01-10",
                "activity_gbq": 5.5,
                "intent": "treatment",
                "post_therapy_scan": {"uptake": {"L1": "absent"}},
            }
        ],
        progression_events=[{"date": "2024-01-15", "criterion": "recist_1_1"}],
    )
    base.update(over)
    return make_case(**base)


def _check(e: Any, cid: str) -> Any:
    return next(c for c in e.checks if c.id == cid)


@pytest.mark.parametrize(("size", "status"), [(30, CheckStatus.MET), (30.5, CheckStatus.NOT_MET)])
def test_meraiode_size_boundary(make_case: Any, size: float, status: CheckStatus) -> None:
    data = _refractory(make_case)
    data["lesions"][0]["size_mm"] = size
    e = _elig(data)
    c = _check(e, "meraiode_lesion_size")
    assert c.status is status and c.kind == "trial criterion"
    assert e.eligible is True  # a trial criterion never decides eligibility


@pytest.mark.parametrize(
    ("progression", "sel", "mer"),
    [
        ("2023-06-01", CheckStatus.MET, CheckStatus.MET),  # 12 months exactly before 2024-06-01
        ("2023-05-31", CheckStatus.NOT_MET, CheckStatus.MET),
        ("2022-12-01", CheckStatus.NOT_MET, CheckStatus.MET),  # 18 months exactly
        ("2022-11-30", CheckStatus.NOT_MET, CheckStatus.NOT_MET),
    ],
)
def test_progression_windows(make_case: Any, progression: str, sel: CheckStatus, mer: CheckStatus) -> None:
    """As of 2024-06-01 (the fixture's assessment_date)."""
    e = _elig(_refractory(make_case, progression_events=[{"date": progression, "criterion": "recist_1_1"}]))
    assert _check(e, "selimetry_progression").status is sel
    assert _check(e, "meraiode_progression").status is mer


def test_no_targetable_alteration(make_case: Any) -> None:
    e = _elig(_refractory(make_case, genotype=[{"gene": "TERT", "variant": "C228T"}]))
    assert e.eligible is False and e.status == "not_candidate"
    assert "targetable" in e.reason
    assert e.trial_context and "selumetinib" in e.trial_context


def test_no_genotype_is_indeterminate(make_case: Any) -> None:
    e = _elig(_refractory(make_case, genotype=[]))
    assert e.eligible is None and e.status == "indeterminate"


def test_adjuvant_setting_rec74b(make_case: Any) -> None:
    e = _elig(_refractory(make_case, setting="adjuvant"))
    assert e.eligible is False
    c = _check(e, "rec74b")
    assert c.status is CheckStatus.MET and "ASTRA" in c.source


@pytest.mark.parametrize(
    ("gene", "kind", "variant", "partner", "group"),
    [
        ("BRAF", "mutation", "p.V600E", None, "BRAF V600E"),
        ("braf", "mutation", "V600E", None, "BRAF V600E"),
        ("KRAS", "mutation", "G12V", None, "RAS"),
        ("HRAS", "mutation", "Q61K", None, "RAS"),
        ("RET", "fusion", None, "NCOA4", "RET fusion"),
        ("NTRK1", "fusion", None, "TPR", "NTRK fusion"),
    ],
)
def test_genotype_groups(
    make_case: Any, gene: str, kind: str, variant: str | None, partner: str | None, group: str
) -> None:
    g: dict[str, Any] = {"gene": gene, "kind": kind}
    if variant:
        g["variant"] = variant
    if partner:
        g["fusion_partner"] = partner
    matches = classify_genotype(parse_case(make_case(genotype=[g])))
    assert [m.group for m in matches] == [group]


@pytest.mark.parametrize(
    ("gene", "kind", "variant"), [("BRAF", "mutation", "K601E"), ("RET", "mutation", "M918T")]
)
def test_not_matched(make_case: Any, gene: str, kind: str, variant: str) -> None:
    """BRAF non-V600 and RET point mutations are not the groups of the regimen table; issue 11: they are
    kept and shown (group "no regimen group", not targetable), never dropped."""
    (m,) = classify_genotype(
        parse_case(make_case(genotype=[{"gene": gene, "kind": kind, "variant": variant}]))
    )
    assert m.group == "no regimen group" and m.targetable is False and m.rec74a is False
