"""Hand-made registry patients for the timeline and cohort figures (issue 16).

Every date is chosen so that the expected marks can be counted by hand from the records below (index
date = the first drug start, 2024-01-01; 2024 is a leap year):

* ``A-T1`` (site A, BRAF V600E): course 2024-01-01 to 2024-02-15 (45 days) with 1 dose reduction and
  rhTSH 28 days after the start (2024-01-29), uptake restored on 2024-01-29, 5.5 GBq 131I on 2024-02-05
  (day 35) with a post-therapy scan, RECIST baseline 50 mm (2023-12-20), PR 30 mm on 2024-08-01 (day 213:
  the first response; best change -40.0 %), PD 45 mm on 2025-02-01 (day 397: progression), Tg 120 then
  8 ng/mL and TgAb 20 IU/mL, a TSH value (not drawn);
* ``A-T2`` (site A, no genotype: ``unknown``): course from 2024-01-01 without a stop date (ongoing),
  uptake not restored on 2024-01-29, no 131I, baseline 40 mm (2023-12-28), SD 42 mm on 2024-06-01
  (day 152: censored there; best change +5.0 %; still followed: an arrow);
* ``B-T1`` (site B, RET/PTC fusion): course 2024-01-01 to 2024-03-01 (60 days), 131I 3.7 GBq on
  2024-02-01 (day 31), baseline 60 mm (2023-12-15), SD 48 mm on 2024-05-01 (day 121; best change -20.0 %).
"""

from __future__ import annotations

from typing import Any

from redif.registry import patients as reg
from redif.registry.access import Principal

__all__ = ["COHORT", "add_cohort"]

RECIST = "RECIST 1.1"

#: pseudonym -> (site user, patient fields, records by kind)
COHORT: dict[str, tuple[str, dict[str, Any], dict[str, list[dict[str, Any]]]]] = {
    "A-T1": ("clin_a", {"pseudonym": "A-T1", "histology": "papillary"}, {
        "genotypes": [{"gene": "BRAF", "variant": "V600E"}],
        "courses": [{"course_number": 1, "drugs": "dabrafenib + trametinib", "dose": "150 mg bid",
                     "start_date": "2024-01-01", "stop_date": "2024-02-15", "dose_reductions": 1,
                     "days_before_uptake": 28, "tsh_stimulation": "rhtsh"}],
        "uptake": [{"assessment_date": "2024-01-29", "modality": "pet_ct", "restored": True}],
        "administrations": [{"administration_date": "2024-02-05", "activity_gbq": 5.5,
                             "post_therapy_scan": "uptake in lung nodules"}],
        "responses": [
            {"assessment_date": "2023-12-20", "criteria": RECIST, "sum_of_diameters_mm": 50},
            {"assessment_date": "2024-08-01", "criteria": RECIST, "overall_response": "PR",
             "sum_of_diameters_mm": 30},
            {"assessment_date": "2025-02-01", "criteria": RECIST, "overall_response": "PD",
             "sum_of_diameters_mm": 45},
        ],
        "labs": [
            {"sample_date": "2023-12-20", "analyte": "Tg", "value": 120, "unit": "ng/mL"},
            {"sample_date": "2024-08-01", "analyte": "Tg", "value": 8, "unit": "ng/mL"},
            {"sample_date": "2024-08-01", "analyte": "TgAb", "value": 20, "unit": "IU/mL"},
            {"sample_date": "2024-08-01", "analyte": "TSH", "value": 0.1, "unit": "mIU/L"},
        ],
    }),
    "A-T2": ("clin_a", {"pseudonym": "A-T2", "histology": "follicular"}, {
        "courses": [{"course_number": 1, "drugs": "selumetinib", "start_date": "2024-01-01"}],
        "uptake": [{"assessment_date": "2024-01-29", "restored": False}],
        "responses": [
            {"assessment_date": "2023-12-28", "criteria": RECIST, "sum_of_diameters_mm": 40},
            {"assessment_date": "2024-06-01", "criteria": RECIST, "overall_response": "SD",
             "sum_of_diameters_mm": 42},
        ],
    }),
    "B-T1": ("clin_b", {"pseudonym": "B-T1", "histology": "papillary"}, {
        "genotypes": [{"gene": "RET", "fusion_partner": "CCDC6"}],
        "courses": [{"course_number": 1, "drugs": "selpercatinib", "start_date": "2024-01-01",
                     "stop_date": "2024-03-01"}],
        "administrations": [{"administration_date": "2024-02-01", "activity_gbq": 3.7}],
        "responses": [
            {"assessment_date": "2023-12-15", "criteria": RECIST, "sum_of_diameters_mm": 60},
            {"assessment_date": "2024-05-01", "criteria": RECIST, "overall_response": "SD",
             "sum_of_diameters_mm": 48},
        ],
    }),
}


def add_cohort(session: Any, principals: dict[str, Principal]) -> dict[str, int]:
    """Create the :data:`COHORT` patients with their records; return ``pseudonym -> patient id``."""
    ids = {}
    for name, (user, fields, records) in COHORT.items():
        p = principals[user]
        pid = reg.create_patient(session, p, dict(fields)).id
        for kind, rows in records.items():
            for row in rows:
                reg.add_record(session, p, pid, kind, dict(row))
        ids[name] = pid
    return ids
