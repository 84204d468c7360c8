"""Issue 10: migration 0005 converts the free text of the coded columns to the model's terms, keeps what it
cannot map verbatim in ``review_flags`` and loses no row (checked on a database built at revision 0004)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from redif.registry import models
from redif.registry import patients as reg
from redif.registry.access import Principal, Role, get_patient
from redif.registry.db import migrate, open_database


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def bare_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on each backend (SQLite and PostgreSQL; the server of tests/registry/conftest.py)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'old.sqlite'}"
    url: str = request.getfixturevalue("pg").new_database()
    return url


_PATIENTS = (
    # id, histology, rai_refractory_criterion
    (11, "Hurthle", "ata2025.strong.no_uptake_post_therapy"),
    (12, "Hürthle cell carcinoma", "never concentrates, per Dr. Smith"),
    (13, "follicular variant of papillary", None),
    (14, "Papillary", "ATA 2015 category: Tumour tissue loses the ability to concentrate RAI after previous "
                      "evidence of RAI-avid disease."),
    (15, "mixed medullary-follicular (review)", None),
)


_COURSES = ("redif_courses",
            "id, patient_id, created_at, course_number, drugs, dose_reductions, tsh_stimulation")
_UPTAKE = ("uptake_assessments",
           "id, patient_id, created_at, modality, tracer, restored, restored_definition")


def _insert_old_rows(conn: Any) -> None:
    conn.execute(text("INSERT INTO sites (id, code, name, is_demo, created_at) "
                      "VALUES (1, 'A', 'Site A', false, CURRENT_TIMESTAMP)"))
    for pid, histology, criterion in _PATIENTS:
        conn.execute(text(
            "INSERT INTO patients (id, pseudonym, site_id, sex, histology, rai_refractory_criterion, "
            "is_demo, created_at, updated_at) VALUES (:id, :ps, 1, 'female', :h, :c, false, "
            "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
            {"id": pid, "ps": f"P{pid}", "h": histology, "c": criterion})
    rows = [
        (_COURSES,
         "21, 11, CURRENT_TIMESTAMP, 1, 'dabrafenib', 0, 'rhTSH'"),
        (_COURSES,
         "22, 12, CURRENT_TIMESTAMP, 1, 'selumetinib', 0, 'withdrawal'"),
        (_UPTAKE,
         "31, 11, CURRENT_TIMESTAMP, 'PET/CT', 'I-124', true, 'increased 124I uptake'"),
        (_UPTAKE,
         "32, 12, CURRENT_TIMESTAMP, 'SPECT/CT', 'I-123', false, "
         "'any new uptake on the scan, site rule 4'"),
        (("genotypes", "id, patient_id, created_at, gene"), "41, 11, CURRENT_TIMESTAMP, 'braf'"),
        (("genotypes", "id, patient_id, created_at, gene"), "42, 12, CURRENT_TIMESTAMP, 'EIF1AX'"),
        (("response_assessments", "id, patient_id, created_at, criteria, overall_response"),
         "51, 11, CURRENT_TIMESTAMP, 'RECIST 1.1', 'PR'"),
        (("dosimetry_results", "id, patient_id, created_at, kind, method, computed_at"),
         "61, 11, CURRENT_TIMESTAMP, 'lesion', 'demo (synthetic)', CURRENT_TIMESTAMP"),
        (("iodine_administrations", "id, patient_id, created_at, activity_gbq, basis"),
         "71, 11, CURRENT_TIMESTAMP, 5.5, 'dosimetry-based'"),
        (("lab_results", "id, patient_id, created_at, analyte, value, unit"),
         "81, 11, CURRENT_TIMESTAMP, 'thyroglobulin', 4.0, 'ng/mL'"),
        (("adverse_events", "id, patient_id, created_at, term, ctcae_grade, attribution"),
         "91, 11, CURRENT_TIMESTAMP, 'Fatigue', 2, 'probably related'"),
    ]
    for (table, cols), values in rows:
        conn.execute(text(f"INSERT INTO {table} ({cols}) VALUES ({values})"))


_TABLES = ("patients", "redif_courses", "uptake_assessments", "genotypes", "response_assessments",
           "dosimetry_results", "iodine_administrations", "lab_results", "adverse_events")


def _counts(conn: Any) -> dict[str, int]:
    return {t: int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()) for t in _TABLES}


def test_migration_0005_maps_flags_and_keeps_every_row(bare_url: str) -> None:
    """Issue 10: a database at revision 0004 holding today's free text is upgraded to head. Expected
    codes: the term whose code, label or alias the text is (src/redif/data/model/vocabularies.yaml, e.g.
    "rhTSH" -> rhtsh, "Hürthle cell carcinoma" -> oncocytic, "follicular variant of papillary" ->
    papillary, "increased 124I uptake" -> increased_124i_uptake); text matching no term is kept verbatim
    in review_flags (table, row, column, text) and the column is emptied (``other`` for the required
    gene); the row count of every table is unchanged."""
    db = open_database(bare_url)
    try:
        migrate(db, "0004")
        with db.engine.begin() as conn:
            _insert_old_rows(conn)
            before = _counts(conn)
        migrate(db)
        with db.engine.begin() as conn:
            assert _counts(conn) == before
        with db.session() as s:
            hist = dict(s.execute(select(models.Patient.id, models.Patient.histology)).all())
            criterion = models.Patient.rai_refractory_criterion
            crit = dict(s.execute(select(models.Patient.id, criterion)).all())
            assert hist == {11: "oncocytic", 12: "oncocytic", 13: "papillary", 14: "papillary", 15: None}
            assert crit == {11: "ata2025_strong_no_uptake_post_therapy", 12: None, 13: None,
                            14: "ata2015_loses_ability", 15: None}
            tsh = dict(s.execute(select(models.RedifCourse.id, models.RedifCourse.tsh_stimulation)).all())
            assert tsh == {21: "rhtsh", 22: "withdrawal"}
            up = {u.id: (u.modality, u.tracer, u.restored_definition)
                  for u in s.execute(select(models.UptakeAssessment)).scalars()}
            assert up == {31: ("pet_ct", "I-124", "increased_124i_uptake"), 32: ("spect_ct", "I-123", None)}
            genes = dict(s.execute(select(models.Genotype.id, models.Genotype.gene)).all())
            assert genes == {41: "BRAF", 42: "other"}
            assert s.get(models.IodineAdministration, 71).basis == "dosimetry"  # type: ignore[union-attr]
            assert s.get(models.LabResult, 81).analyte == "Tg"  # type: ignore[union-attr]
            assert s.get(models.ResponseAssessment, 51).overall_response == "PR"  # type: ignore[union-attr]
            assert s.get(models.DosimetryResult, 61).method is None  # type: ignore[union-attr]
            assert s.get(models.AdverseEvent, 91).attribution is None  # type: ignore[union-attr]
            flags = {(f.table_name, f.row_id, f.column_name): (f.patient_id, f.verbatim)
                     for f in s.execute(select(models.ReviewFlag)).scalars()}
            assert s.execute(select(func.count(models.ReviewFlag.id))).scalar_one() == len(flags)
        assert flags == {
            ("patients", 12, "rai_refractory_criterion"): (12, "never concentrates, per Dr. Smith"),
            ("patients", 15, "histology"): (15, "mixed medullary-follicular (review)"),
            ("uptake_assessments", 32, "restored_definition"):
                (12, "any new uptake on the scan, site rule 4"),
            ("genotypes", 42, "gene"): (12, "EIF1AX"),
            ("dosimetry_results", 61, "method"): (11, "demo (synthetic)"),
            ("adverse_events", 91, "attribution"): (11, "probably related"),
        }
        # a person who sets the field (or deletes the record) has reviewed it: its flag goes
        admin = Principal(user_id=0, username="reviewer", role=Role.ADMIN, site_id=None)
        with db.write_session(actor="reviewer") as s:
            reg.update_patient(s, admin, 15, {"histology": "other"})
            reg.delete_record(s, admin, 11, "dosimetry", 61)
            left = {(f.table_name, f.row_id) for f in s.execute(select(models.ReviewFlag)).scalars()}
            assert ("patients", 15) not in left and ("dosimetry_results", 61) not in left
            assert len(left) == len(flags) - 2
            assert [f["column_name"] for f in reg.patient_to_dict(get_patient(s, admin, 12))["review_flags"]]
    finally:
        db.dispose()
