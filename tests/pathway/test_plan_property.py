"""Issue 11 property: for any case, no ``protocol`` entry exists unless ``eligibility.status ==
"candidate"`` and no safety finding is a contraindication; with ``hypothetical=True`` a plan may exist for
any case, and then every entry is flagged ``hypothetical``.

The cases are generated from the schema's pieces (random genotypes incl. fusions, rare and unmatched
variants; progression events of every criterion; settings; RAI courses with post-therapy uptake; diagnostic
scans; Tg/TgAb labs; a redifferentiation course and an uptake scan with consistent dates). Cases that the
validator refuses (e.g. a date-order problem) are skipped: the property is about valid cases. The expected
relation is the issue's interface, not a computed number.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from redif.pathway import assess_case
from redif.pathway.assess import plan_allowed
from redif.pathway.case import CaseValidationError, parse_case
from redif.pathway.protocol import protocol_names

_DAY0 = dt.date(2018, 1, 1)
_LESIONS = ["L1", "L2", "N1"]

_alteration = st.one_of(
    st.builds(
        lambda v: {"gene": "BRAF", "kind": "mutation", "variant": v},
        st.sampled_from(["V600E", "p.V600E", "V600K", "V600R", "K601E"]),
    ),
    st.builds(
        lambda g, v: {"gene": g, "kind": "mutation", "variant": v},
        st.sampled_from(["NRAS", "HRAS", "KRAS"]),
        st.sampled_from(["Q61R", "G12C", "G13D"]),
    ),
    st.builds(
        lambda g, p: {"gene": g, "kind": "fusion", "fusion_partner": p},
        st.sampled_from(["RET", "NTRK1", "NTRK3", "ALK"]),
        st.sampled_from(["CCDC6", "ETV6", "NCOA4"]),
    ),
    st.builds(lambda g: {"gene": g, "kind": "mutation", "variant": "X1Y"}, st.sampled_from(["TERT", "TP53"])),
)
_day = st.integers(min_value=0, max_value=6 * 365)


def _date(n: int) -> str:
    return (_DAY0 + dt.timedelta(days=n)).isoformat()


@st.composite
def cases(draw: st.DrawFn) -> dict[str, Any]:
    lesions = [
        {
            "id": lid,
            "site": "s",
            "organ": "lymph_node" if lid == "N1" else "lung",
            "lymph_node": lid == "N1",
            "size_mm": draw(st.sampled_from([None, 8.0, 15.0, 35.0])),
            "detected_by": draw(
                st.lists(st.sampled_from(["ct", "mri", "us", "fdg_pet"]), max_size=2, unique=True)
            ),
        }
        for lid in _LESIONS
    ]
    uptake = st.dictionaries(
        st.sampled_from(_LESIONS),
        st.sampled_from(["present", "absent", "equivocal", "not_assessed"]),
        max_size=3,
    )
    courses = [
        {
            "date": _date(d),
            "activity_gbq": draw(st.sampled_from([1.1, 3.7, 5.5, 7.4])),
            "intent": draw(st.sampled_from(["ablation", "adjuvant", "treatment"])),
            "post_therapy_scan": draw(st.one_of(st.none(), st.builds(lambda u: {"uptake": u}, uptake))),
        }
        for d in draw(st.lists(_day, max_size=3, unique=True))
    ]
    progression = [
        {
            "date": _date(d),
            "criterion": draw(st.sampled_from(["recist_1_1", "clinical", "fdg_pet", "biochemical", "other"])),
        }
        for d in draw(st.lists(_day, max_size=3))
    ]
    labs = [
        {
            "date": _date(d),
            "tg_ng_ml": draw(st.sampled_from([0.5, 3.0, 20.0])),
            "tgab_positive": draw(st.sampled_from([None, True, False])),
            "tgab_iu_ml": draw(st.sampled_from([None, 20.0, 80.0])),
        }
        for d in draw(st.lists(_day, max_size=3, unique=True))
    ]
    scans = [
        {"date": _date(d), "tracer": draw(st.sampled_from(["I-123", "I-131"])), "uptake": draw(uptake)}
        for d in draw(st.lists(_day, max_size=2))
    ]
    data: dict[str, Any] = {
        "case_id": "PROP-1",
        "synthetic": True,
        "setting": draw(st.sampled_from(["recurrent_or_metastatic", "adjuvant"])),
        "histology": "papillary",
        "genotype": draw(st.lists(_alteration, max_size=3)),
        "lesions": lesions,
        "rai_courses": courses,
        "progression_events": progression,
        "labs": labs,
        "diagnostic_scans": scans,
    }
    if draw(st.booleans()):  # bias towards candidates: a refractory core (ATA 2025 strong criterion i)
        for les in lesions:
            les["detected_by"] = ["ct"]
        data["setting"] = "recurrent_or_metastatic"
        data["rai_courses"] = [
            {
                "date": _date(0),
                "activity_gbq": 5.5,
                "intent": "treatment",
                "post_therapy_scan": {"uptake": {lid: "absent" for lid in _LESIONS}},
            }
        ]
    if draw(st.booleans()):
        start = draw(_day)
        data["redifferentiation_course"] = {
            "drugs": [
                {"drug": d}
                for d in draw(
                    st.lists(
                        st.sampled_from(
                            ["dabrafenib", "trametinib", "selumetinib", "vemurafenib", "selpercatinib"]
                        ),
                        min_size=1,
                        max_size=2,
                        unique=True,
                    )
                )
            ],
            "start_date": _date(start),
            "protocol": draw(st.one_of(st.none(), st.sampled_from(protocol_names()))),
        }
        if draw(st.booleans()):
            offset = draw(st.integers(min_value=-3, max_value=40))
            data["uptake_assessment"] = {
                "date": _date(start + offset),
                "days_on_drug": offset + draw(st.integers(min_value=-2, max_value=2)),
                "lesions": [{"lesion_id": "L1", "baseline_uptake": 0.0, "on_drug_uptake": 0.3}],
            }
    return data


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=cases(), hypothetical=st.booleans())
def test_no_plan_without_indication(data: dict[str, Any], hypothetical: bool) -> None:
    """Issue 11: protocol entries only for a candidate without contraindication, else only hypothetical."""
    try:
        case = parse_case(data)
    except CaseValidationError:
        return
    result = assess_case(case, hypothetical=hypothetical)
    doc = result.to_dict()
    assert doc["eligibility"]["status"] in {"candidate", "not_candidate", "indeterminate"}
    allowed, changes = plan_allowed(result)
    contraindicated = any(
        getattr(f, "severity", None) == "contraindication" for f in getattr(result, "safety", None) or ()
    )
    if doc["protocol"]:
        if doc["eligibility"]["status"] == "candidate" and not contraindicated:
            assert allowed and not any(p["hypothetical"] for p in doc["protocol"])
        else:
            assert hypothetical and all(p["hypothetical"] is True for p in doc["protocol"])
            assert doc["plan"]["what_would_have_to_change"]
    if not allowed:
        assert changes and doc["plan"]["allowed"] is False
        assert doc["protocol"] == [] or hypothetical
