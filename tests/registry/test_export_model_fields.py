"""Issue 10: the de-identified CSV export carries every field of every form of the model."""

from __future__ import annotations

import csv
import io
from datetime import date

from redif.model import forms
from redif.registry import deid


def _patient() -> dict[str, object]:
    return {
        "pseudonym": "SECRET-1", "site": "HOSP", "sex": "female", "birth_year": 1960,
        "histology": "papillary",
        "rai_refractory_criterion": "ata2015_never_concentrates", "progression_date": "2024-07-01",
        "progression_criterion": "recist_1_1",
        "records": {
            "courses": [{"drugs": "dabrafenib + trametinib", "start_date": "2024-01-01", "course_number": 1,
                         "days_before_uptake": 28, "tsh_stimulation": "rhtsh", "low_iodine_diet": True}],
            "uptake": [
                {"assessment_date": "2024-01-29", "modality": "pet_ct", "tracer": "I-124", "restored": True,
                 "restored_definition": "increased_124i_uptake"},
                {"assessment_date": "2024-03-01", "modality": "spect_ct", "tracer": "I-123", "restored": None,
                 "restored_definition": "free text that is not a code"},
            ],
            "administrations": [{"activity_gbq": 5.5, "basis": "dosimetry",
                                 "post_therapy_scan": "Dr. Jones saw uptake at St. Mary's"}],
            "next-therapy": [{"drugs": "lenvatinib", "therapy_class": "multikinase_inhibitor",
                              "start_date": "2024-08-01"}],
        },
    }


def test_export_has_a_column_for_every_model_field() -> None:
    """Issue 10: the CSV export dropped the definition of restored uptake, the TSH method, the diet and
    the uptake modality. Expected: one column ``<form>.<field>`` per field of every form of redif.model
    (src/redif/data/model/fields.yaml), codes as stored, repeating forms joined in record order with
    `` | ``, dates as days from the first course (HIPAA Safe Harbor, 45 CFR 164.514(b)(2)), a value that
    is not a code left empty, identifiers and narrative free text withheld."""
    text = deid.safe_harbor_csv([_patient()], export_date=date(2025, 1, 1))
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    expected = [f"{frm.name}.{fld.name}" for frm in forms() for fld in frm.fields]
    header = next(csv.reader(io.StringIO(text, newline="")))
    assert header[len(deid.SAFE_HARBOR_COLUMNS):] == expected
    (row,) = rows
    assert row["courses.tsh_stimulation"] == "rhtsh" and row["courses.low_iodine_diet"] == "True"
    assert row["uptake.modality"] == "pet_ct | spect_ct"
    assert row["uptake.restored_definition"] == "increased_124i_uptake | "
    assert row["uptake.restored"] == "True | "
    assert row["uptake.assessment_date"] == "28 | 60"  # 2024-01-29 and 2024-03-01 from 2024-01-01
    assert row["patient.progression_date"] == "182" and row["patient.progression_criterion"] == "recist_1_1"
    assert row["patient.rai_refractory_criterion"] == "ata2015_never_concentrates"
    assert row["next-therapy.therapy_class"] == "multikinase_inhibitor"
    assert row["next-therapy.start_date"] == "213"
    assert row["administrations.basis"] == "dosimetry"
    assert row["patient.pseudonym"] == "" and row["patient.site"] == "S1"
    assert row["administrations.post_therapy_scan"] == ""
    assert "SECRET" not in text and "HOSP" not in text and "Jones" not in text and "2024-" not in text
