"""Go / no-go against the rule text (docs/methods/protocols.md, docs/methods/dosimetry.md).

- SEL-I-METRY: "sufficient = any uptake in a previously non-avid lesion or >= 30% increase" [primary].
- Rothenberg 2015: "new uptake = go" [primary].
- Ho 2013: "131I only if >= 2000 cGy (20 Gy) predicted for a lesion" [primary].
Boundaries are checked with values whose float products fall on the wrong side (0.1 -> 0.13 is exactly
+30%, but 0.13 / 0.1 = 1.2999999999999998 in binary floating point).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from redif.pathway.case import parse_case
from redif.pathway.decision import DecisionStatus, decide


def _ua(*lesions: dict[str, Any]) -> dict[str, Any]:
    return {"date": "2024-07-01", "tracer": "I-123", "unit": "%IA", "lesions": list(lesions)}


@pytest.mark.parametrize(
    ("baseline", "on_drug", "go"),
    [
        (1.0, 1.3, True),  # exactly +30%
        (0.1, 0.13, True),  # exactly +30% (float ratio 1.2999999999999998)
        (10, 13, True),
        (1.0, 1.29, False),  # +29%
        (0.7, 0.909, False),  # +29.857%
        (2.0, 2.6, True),  # exactly +30%
    ],
)
def test_thirty_percent_boundary(make_case: Any, baseline: float, on_drug: float, go: bool) -> None:
    """>= 30% increase (SEL-I-METRY), decided in exact decimal arithmetic."""
    data = make_case(
        uptake_assessment=_ua(
            {"lesion_id": "L1", "baseline_uptake": baseline, "on_drug_uptake": on_drug, "new_uptake": False}
        )
    )
    d = decide(parse_case(data), rules=["uptake_increase"])
    assert d is not None
    assert d.go is go
    assert d.status is (DecisionStatus.GO if go else DecisionStatus.NO_GO)
    assert d.rule == "uptake_increase"
    assert "PMC6567392" in d.source


def test_new_uptake_goes(make_case: Any) -> None:
    """New uptake in a previously non-avid lesion -> go by new_uptake (Rothenberg / SEL-I-METRY)."""
    data = make_case(uptake_assessment=_ua({"lesion_id": "L1", "new_uptake": True}))
    d = decide(parse_case(data))
    assert d is not None and d.go is True and d.rule == "new_uptake"
    assert "NCT01534897" in d.source


def test_new_uptake_inferred_from_zero_baseline(make_case: Any) -> None:
    """Baseline 0 and on-drug > 0 is new uptake even when the flag is not given."""
    data = make_case(uptake_assessment=_ua({"lesion_id": "L1", "baseline_uptake": 0, "on_drug_uptake": 0.2}))
    d = decide(parse_case(data), rules=["new_uptake"])
    assert d is not None and d.go is True


def test_insufficient_data(make_case: Any) -> None:
    """No new-uptake flag and no on-drug value: neither rule can decide -> insufficient data, go = None."""
    data = make_case(uptake_assessment=_ua({"lesion_id": "L1", "baseline_uptake": 1.0}))
    d = decide(parse_case(data))
    assert d is not None
    assert d.status is DecisionStatus.INSUFFICIENT and d.go is None


def test_no_uptake_data_no_decision(make_case: Any) -> None:
    """Without an uptake assessment or dosimetry there is no decision section at all."""
    assert decide(parse_case(make_case())) is None


def _dos(gy_per_gbq: float, mta: float) -> dict[str, Any]:
    return {
        "results": {
            "max_tolerable_activity_gbq": mta,
            "mta_constraint": "blood 2 Gy",
            "lesions": [{"lesion_id": "L1", "dose_per_activity_gy_per_gbq": gy_per_gbq}],
        }
    }


@pytest.mark.parametrize(
    ("gy_per_gbq", "mta", "go"),
    [
        (2.5, 8.0, True),  # exactly 20 Gy at the MTA
        (2.5, 7.99, False),  # 19.975 Gy
        (0.1, 99.0, False),  # 9.9 Gy
        (4.0, 5.0, True),  # 20 Gy
        (3.3, 6.1, True),  # 20.13 Gy
    ],
)
def test_lesion_dose_threshold(make_case: Any, gy_per_gbq: float, mta: float, go: bool) -> None:
    """Ho 2013: go if a lesion's predicted dose at the maximum tolerable activity is >= 20 Gy.
    Expected doses by hand: Gy/GBq x MTA (2.5 x 8.0 = 20.0; 2.5 x 7.99 = 19.975; 3.3 x 6.1 = 20.13)."""
    d = decide(parse_case(make_case(dosimetry=_dos(gy_per_gbq, mta))))
    assert d is not None
    assert d.go is go
    assert d.rule == "lesion_dose_threshold"
    assert "PMID 23406027" in d.source
    assert d.lesion_doses[0].dose_at_mta_gy == pytest.approx(gy_per_gbq * mta)
    assert d.lesion_doses[0].activity_for_threshold_gbq == pytest.approx(20.0 / gy_per_gbq)


def test_dosimetry_decides_over_uptake_by_default(make_case: Any) -> None:
    """With dosimetry present the default rule is the lesion-dose rule (Ho 2013: 12 of 20 had increased
    uptake but only 8 reached the threshold): +50% uptake but 10 Gy -> no-go; uptake rules are context."""
    data = make_case(
        uptake_assessment=_ua({"lesion_id": "L1", "baseline_uptake": 1.0, "on_drug_uptake": 1.5}),
        dosimetry=_dos(1.0, 10.0),
    )
    d = decide(parse_case(data))
    assert d is not None and d.go is False and d.rule == "lesion_dose_threshold"
    context = {o.id: o.outcome.value for o in d.rules}
    assert context["uptake_increase"] == "met"


def test_protocol_rules_override_default(make_case: Any) -> None:
    """A protocol naming [new_uptake, uptake_increase] (SEL-I-METRY) decides by those rules."""
    data = make_case(
        uptake_assessment=_ua(
            {"lesion_id": "L1", "baseline_uptake": 1.0, "on_drug_uptake": 1.5, "new_uptake": False}
        ),
        dosimetry=_dos(1.0, 10.0),
    )
    d = decide(parse_case(data), rules=["new_uptake", "uptake_increase"])
    assert d is not None and d.go is True and d.rule == "uptake_increase"


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=1, max_value=10_000), st.integers(min_value=0, max_value=20_000))
def test_property_thirty_percent_exact(b_hundredths: int, o_hundredths: int) -> None:
    """For values with two decimals the rule agrees with rational arithmetic: o >= 1.3 b."""
    from redif.pathway.case import parse_case as _parse

    b, o = b_hundredths / 100, o_hundredths / 100
    data = {
        "case_id": "H-1",
        "histology": "papillary",
        "lesions": [{"id": "L1", "site": "lung", "organ": "lung"}],
        "uptake_assessment": {
            "lesions": [{"lesion_id": "L1", "baseline_uptake": b, "on_drug_uptake": o, "new_uptake": False}]
        },
    }
    d = decide(_parse(data), rules=["uptake_increase"])
    assert d is not None
    expected = Fraction(o_hundredths, 100) >= Fraction(13, 10) * Fraction(b_hundredths, 100)
    assert d.go is expected
