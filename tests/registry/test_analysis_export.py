"""Issue 13: the registry's analysis dataset (`redif registry export --format analysis`).

Expected values are computed by hand from the dates of each hand-built patient with the rules of
``src/redif/data/analysis_endpoints.yaml`` (the arithmetic is written beside each value; 2024 is a leap
year: January 31 days, February 29, March 31, April 30, May 31, June 30, July 31, August 31, September 30).
The bulk read path is compared with the per-patient path it replaces (``patient_to_dict`` over
``list_patients``) on the demo registry: the REDCap and Safe-Harbor files must be byte-identical.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from registry_world import make_world
from sqlalchemy import inspect, select, text
from typer.testing import CliRunner

from redif.cli.main import app
from redif.errors import AccessDenied, InputError
from redif.registry import deid
from redif.registry import patients as reg
from redif.registry.access import Principal, Role
from redif.registry.analysis_export import (
    ANALYSIS_COLUMNS,
    analysis_csv,
    derive_row,
    derive_rows,
    endpoint_rules,
    export_analysis,
)
from redif.registry.bulk_read import read_patients
from redif.registry.db import Database, migrate, open_database
from redif.registry.demo import load_demo
from redif.registry.models import PATIENT_CHILD_MODELS, AuditEvent
from redif.registry.redcap import export_redcap, redcap_records

CONTRACT = (
    "patient", "site", "genotype", "uptake_restored", "uptake_definition", "objective_response",
    "response_denominator", "pfs_days", "pfs_event", "ttnt_days", "ttnt_event", "dor_days", "dor_event",
)
START = "2024-01-01"  # first drug start = the index date of every hand-built patient
I131 = "2024-02-01"


def _patient(records: dict[str, list[dict[str, Any]]] | None = None, **fields: Any) -> dict[str, Any]:
    """A patient in the shape of ``patient_to_dict``: one course started on START unless given."""
    recs: dict[str, list[dict[str, Any]]] = {kind: [] for kind in PATIENT_CHILD_MODELS}
    recs["courses"] = [{"course_number": 1, "drugs": "dabrafenib + trametinib", "start_date": START}]
    recs.update(records or {})
    base = {
        "pseudonym": "P-1", "site": "A", "sex": "female", "histology": "papillary", "progression_date": None,
        "progression_criterion": None, "last_follow_up_date": None, "death_date": None,
    }
    return {**base, **fields, "records": recs}


def _resp(day: str | None, code: str, criteria: str | None = "RECIST 1.1") -> dict[str, Any]:
    return {"assessment_date": day, "overall_response": code, "criteria": criteria}


def _row(p: dict[str, Any]) -> dict[str, Any]:
    row = derive_row(p)
    assert row is not None
    return row.values


def test_columns_follow_the_contract_and_rules_are_sourced() -> None:
    """Issue 13: the file's first 13 columns are the contract's, in order; every rule of the data file has
    a source and a grade."""
    assert ANALYSIS_COLUMNS[: len(CONTRACT)] == CONTRACT
    for name, entry in endpoint_rules().items():
        if isinstance(entry, dict):
            assert entry["source"] and entry["grade"] in ("primary", "secondary", "unverified"), name


def test_no_progression_is_censored_at_the_last_assessment() -> None:
    """SD on 2024-04-01 and 2024-08-01 after 131I on 2024-02-01, follow-up to 2024-10-01: PFS censored at
    the last assessment, 2024-01-01 -> 2024-08-01 = 31+29+31+30+31+30+31 = 213 days; TTNT censored at
    the last contact 2024-10-01 = 213+31+30 = 274 days; best response SD -> objective_response 0 and DOR
    empty (a non-responder)."""
    p = _patient(
        {"administrations": [{"administration_date": I131, "activity_gbq": 5.5}],
         "responses": [_resp("2024-04-01", "SD"), _resp("2024-08-01", "SD")]},
        last_follow_up_date="2024-10-01",
    )
    v = _row(p)
    assert (v["pfs_days"], v["pfs_event"]) == (213, 0)
    assert (v["ttnt_days"], v["ttnt_event"]) == (274, 0)
    assert (v["objective_response"], v["response_denominator"]) == (0, "treated")
    assert (v["dor_days"], v["dor_event"]) == (None, None)


def test_progression_and_duration_of_response() -> None:
    """PR on 2024-04-01, PD on 2024-07-01: objective_response 1; PFS event at 2024-07-01 =
    31+29+31+30+31+30 = 182 days; DOR from the first PR, 2024-04-01 -> 2024-07-01 = 30+31+30 = 91 days,
    event."""
    p = _patient({"administrations": [{"administration_date": I131, "activity_gbq": 5.5}],
                  "responses": [_resp("2024-04-01", "PR"), _resp("2024-07-01", "PD")]})
    v = _row(p)
    assert v["objective_response"] == 1
    assert (v["pfs_days"], v["pfs_event"]) == (182, 1)
    assert (v["dor_days"], v["dor_event"]) == (91, 1)


def test_responder_without_progression_is_censored() -> None:
    """PR on 2024-04-01, SD on 2024-09-01, no progression: DOR censored at the last assessment,
    2024-04-01 -> 2024-09-01 = 30+31+30+31+31 = 153 days, event 0."""
    p = _patient({"administrations": [{"administration_date": I131, "activity_gbq": 5.5}],
                  "responses": [_resp("2024-04-01", "PR"), _resp("2024-09-01", "SD")]})
    v = _row(p)
    assert (v["objective_response"], v["dor_days"], v["dor_event"]) == (1, 153, 0)


def test_death_is_an_event_of_pfs_and_ttnt() -> None:
    """No progression, death on 2024-06-01: PFS and TTNT events at 31+29+31+30+31 = 152 days."""
    p = _patient({"administrations": [{"administration_date": I131, "activity_gbq": 5.5}],
                  "responses": [_resp("2024-04-01", "SD")]}, death_date="2024-06-01")
    v = _row(p)
    assert (v["pfs_days"], v["pfs_event"], v["ttnt_days"], v["ttnt_event"]) == (152, 1, 152, 1)


def test_next_therapy_ends_ttnt_and_censors_pfs() -> None:
    """Next systemic therapy started 2024-05-01 (before any progression; PD 2024-07-01 on it): TTNT event
    at 31+29+31+30 = 121 days; PFS censored at the last assessment before the next therapy (SD
    2024-03-01 = 60 days), event 0."""
    p = _patient({"administrations": [{"administration_date": I131, "activity_gbq": 5.5}],
                  "responses": [_resp("2024-03-01", "SD"), _resp("2024-07-01", "PD")],
                  "next-therapy": [{"drugs": "lenvatinib", "start_date": "2024-05-01"}]})
    v = _row(p)
    assert (v["ttnt_days"], v["ttnt_event"]) == (121, 1)
    assert (v["pfs_days"], v["pfs_event"]) == (60, 0)


def test_progression_date_counts_only_for_recist_or_unrecorded_criterion() -> None:
    """The patient's progression_date 2024-06-01 is a PFS event (152 days) when its criterion is RECIST
    1.1 or not recorded; a clinical progression is not, and PFS is censored at the last assessment (SD
    2024-03-01, 60 days)."""
    recs = {"responses": [_resp("2024-03-01", "SD")]}
    for criterion, expected in (("recist_1_1", (152, 1)), (None, (152, 1)), ("clinical", (60, 0))):
        v = _row(_patient(recs, progression_date="2024-06-01", progression_criterion=criterion))
        assert (v["pfs_days"], v["pfs_event"]) == expected, criterion


def test_no_assessment_after_the_drug_is_censored_at_day_zero() -> None:
    """No tumour assessment and no event: PFS censored at the index date (0 days, FDA table: no adequate
    post-baseline assessment)."""
    v = _row(_patient())
    assert (v["pfs_days"], v["pfs_event"]) == (0, 0)


def test_itt_patient_without_131i() -> None:
    """Started the drug, no 131I: response_denominator `itt`, objective_response 0 (ITT non-responder),
    DOR empty."""
    v = _row(_patient({"responses": [_resp("2024-04-01", "PR")]}))
    assert (v["response_denominator"], v["objective_response"], v["dor_days"]) == ("itt", 0, None)


def test_missing_dates_give_empty_cells_with_reasons() -> None:
    """No date is guessed: an undated course start leaves every time-to-event cell empty; an undated 131I
    leaves objective_response empty; an undated next therapy leaves TTNT (and PFS, censored at it)
    empty; an undated response assessment leaves objective_response and PFS empty. Each says why."""
    row = derive_row(_patient({"courses": [{"course_number": 1, "drugs": "x", "start_date": None}]}))
    assert row is not None
    assert all(row.values[c] is None for c in ("pfs_days", "pfs_event", "ttnt_days", "ttnt_event"))
    assert any("index date" in p for p in row.problems)

    row = derive_row(_patient({"administrations": [{"administration_date": None, "activity_gbq": 5.5}],
                               "responses": [_resp("2024-04-01", "PR")]}))
    assert row is not None and row.values["objective_response"] is None
    assert row.values["pfs_days"] == 91  # 2024-01-01 -> 2024-04-01 = 31+29+31, censored
    assert any("131I administration has no date" in p for p in row.problems)

    row = derive_row(_patient({"next-therapy": [{"drugs": "lenvatinib", "start_date": None}]}))
    assert row is not None
    assert (row.values["ttnt_days"], row.values["pfs_days"]) == (None, None)

    row = derive_row(_patient({"administrations": [{"administration_date": I131, "activity_gbq": 5.5}],
                               "responses": [_resp(None, "PD")]}))
    assert row is not None
    assert (row.values["objective_response"], row.values["pfs_days"]) == (None, None)
    assert row.values["ttnt_days"] == 31  # last contact: the 131I on 2024-02-01


def test_not_evaluable_and_conflicting_responses_are_empty() -> None:
    """Treated with only NE after 131I -> objective_response empty (not evaluable); two different overall
    responses on one date -> empty, with the reason."""
    p = _patient({"administrations": [{"administration_date": I131, "activity_gbq": 5.5}],
                  "responses": [_resp("2024-04-01", "NE")]})
    assert _row(p)["objective_response"] is None
    p["records"]["responses"] = [_resp("2024-04-01", "PR"), _resp("2024-04-01", "PD")]
    row = derive_row(p)
    assert row is not None and row.values["objective_response"] is None
    assert any("different overall responses" in x for x in row.problems)


def test_genotype_labels() -> None:
    """The first label of the data file that a record matches: BRAF V600E (also p.Val600Glu), NRAS/HRAS/
    KRAS mutations, RET fusion -> RET/PTC; other alterations -> other; no record -> unknown."""
    cases = [
        ([{"gene": "BRAF", "variant": "p.Val600Glu"}], "BRAF V600E"),
        ([{"gene": "TERT", "variant": "C228T"}, {"gene": "BRAF", "variant": "V600E"}], "BRAF V600E"),
        ([{"gene": "BRAF", "variant": "p.V600K"}], "other"),
        ([{"gene": "NRAS", "variant": "Q61R"}], "NRAS"),
        ([{"gene": "RET", "fusion_partner": "CCDC6"}], "RET/PTC"),
        ([{"gene": "RET", "variant": "M918T"}], "other"),
        ([], "unknown"),
    ]
    for genotypes, label in cases:
        assert _row(_patient({"genotypes": genotypes}))["genotype"] == label, genotypes


def test_uptake_restored_rule() -> None:
    """Baseline scans before the drug are left out; any restored assessment -> 1 with its definition; a
    restored assessment without a definition -> not_reported; none recorded -> both empty."""
    base = {"restored": False, "restored_definition": "diagnostic_scan", "assessment_date": "2023-12-01"}
    after = {"restored": True, "restored_definition": None, "assessment_date": "2024-01-29"}
    assert (_row(_patient({"uptake": [base, after]}))["uptake_restored"],
            _row(_patient({"uptake": [base, after]}))["uptake_definition"]) == (1, "not_reported")
    later = {**base, "assessment_date": "2024-01-29"}
    v = _row(_patient({"uptake": [later]}))
    assert (v["uptake_restored"], v["uptake_definition"]) == (0, "diagnostic_scan")
    v = _row(_patient({"uptake": [base]}))  # only a baseline scan
    assert (v["uptake_restored"], v["uptake_definition"]) == (None, None)


def test_patients_without_a_course_are_left_out_and_csv_cells() -> None:
    """A patient without a redifferentiation course is not in the ITT population: no row, counted; the CSV
    writes 1/0, integers and empty cells, and no date."""
    no_course = _patient()
    no_course["records"]["courses"] = []
    rows, not_started = derive_rows([_patient(pseudonym="P-2"), no_course])
    assert (len(rows), not_started) == (1, 1)
    table = list(csv.DictReader(io.StringIO(analysis_csv(rows))))
    assert table[0]["patient"] == "P-2" and table[0]["pfs_days"] == "0" and table[0]["dor_days"] == ""
    assert "2024" not in analysis_csv(rows)


def test_patient_column_is_unique_across_sites() -> None:
    """The contract's `patient` is unique within the file: pseudonyms are unique per site only, so a
    pseudonym used at two sites is written `<site>/<pseudonym>` on those rows; others stay as they are."""
    rows, _ = derive_rows([_patient(pseudonym="P-1", site="B"), _patient(pseudonym="P-1", site="A"),
                           _patient(pseudonym="P-2", site="A")])
    assert [r.values["patient"] for r in rows] == ["A/P-1", "P-2", "B/P-1"]


# ------------------------------------------------------------------------------------------ registry


def _admin() -> Principal:
    return Principal(0, "setup", Role.ADMIN, None)


def _store(db: Database, site: str, pseudonym: str, *, death: str | None = None) -> int:
    """A treated PR -> PD patient (as in test_progression_and_duration_of_response) stored in the
    registry through the application's functions."""
    with db.write_session(actor="setup") as s:
        data: dict[str, Any] = {"pseudonym": pseudonym, "site": site, "histology": "papillary"}
        if death:
            data["death_date"] = death
        p = reg.create_patient(s, _admin(), data)
        s.flush()
        for kind, rec in (
            ("courses", {"course_number": 1, "drugs": "dabrafenib + trametinib", "start_date": START}),
            ("genotypes", {"gene": "BRAF", "variant": "V600E"}),
            ("uptake", {"assessment_date": "2024-01-29", "restored": True,
                        "restored_definition": "increased_124i_uptake"}),
            ("administrations", {"administration_date": I131, "activity_gbq": 5.5}),
            ("responses", {"assessment_date": "2024-04-01", "overall_response": "PR"}),
            ("responses", {"assessment_date": "2024-07-01", "overall_response": "PD"}),
        ):
            reg.add_record(s, _admin(), p.id, kind, rec)
        return int(p.id)


def test_export_from_the_registry_is_role_scoped_and_audited(db: Database) -> None:
    """SQLite and PostgreSQL: patients stored through the registry give the hand-derived row (PFS 182
    days event, DOR 91 days event; death on 2024-03-01 = 60 days ends PFS first); a site clinician exports
    only their site, the coordinator and the admin every site, the auditor may not export, a site user
    naming another site is refused; each export is an audit event of format `analysis`."""
    world = make_world(db)
    _store(db, "A", "A-1")
    _store(db, "B", "B-1", death="2024-03-01")
    every = export_analysis(db, principal=world.principals["coord"], actor="coord")
    rows = {r.values["patient"]: r.values for r in every.rows}
    assert sorted(rows) == ["A-1", "B-1"]
    a1 = rows["A-1"]
    assert (a1["genotype"], a1["uptake_restored"], a1["objective_response"]) == ("BRAF V600E", 1, 1)
    assert (a1["pfs_days"], a1["pfs_event"], a1["dor_days"], a1["dor_event"]) == (182, 1, 91, 1)
    assert (rows["B-1"]["pfs_days"], rows["B-1"]["pfs_event"]) == (60, 1)
    assert rows["B-1"]["dor_days"] is None  # died (2024-03-01) before the first response (2024-04-01)
    assert [r.values["patient"] for r in export_analysis(db, principal=world.principals["admin"]).rows] == [
        "A-1", "B-1"]
    site_a = export_analysis(db, principal=world.principals["clin_a"], actor="clin_a")
    assert [r.values["site"] for r in site_a.rows] == ["A"]
    assert [r.values["patient"] for r in export_analysis(db, sites=["B"]).rows] == ["B-1"]
    with pytest.raises(AccessDenied):
        export_analysis(db, principal=world.principals["auditor"])
    with pytest.raises(InputError) as info:
        export_analysis(db, principal=world.principals["clin_a"], sites=["B"])
    assert (info.value.field, info.value.value) == ("site", "B")
    with db.session() as s:
        details = [json.loads(d) for (d,) in s.execute(
            select(AuditEvent.details).where(AuditEvent.action == "export", AuditEvent.actor == "clin_a"))]
    assert details == [{"format": "analysis", "n": 1, "sites": []}]


def test_redcap_and_safe_harbor_exports_are_role_scoped(db: Database) -> None:
    """SQLite and PostgreSQL: the bulk REDCap and Safe-Harbor exports keep the scope of the principal (a
    site clinician gets their own site's patient, the coordinator both; the auditor may not export)."""
    world = make_world(db)
    _store(db, "A", "A-1")
    _store(db, "B", "B-1")
    site_a = export_redcap(db, principal=world.principals["clin_a"])
    assert site_a.patients == 1 and "A-1" in site_a.text and "B-1" not in site_a.text
    assert export_redcap(db, principal=world.principals["coord"]).patients == 2
    with pytest.raises(AccessDenied):
        export_redcap(db, principal=world.principals["auditor"])
    for name, n in (("clin_a", 1), ("coord", 2)):
        with db.write_session(actor=name) as s:
            text_, count = deid.export_safe_harbor(s, world.principals[name])
        assert count == n and len(list(csv.DictReader(io.StringIO(text_)))) == n


def test_bulk_read_equals_the_per_patient_path(db: Database) -> None:
    """SQLite and PostgreSQL, demo registry: `read_patients` gives the same dicts in the same order as
    `patient_to_dict` over `list_patients` (for the admin, a site user and a search), so the REDCap and
    Safe-Harbor files are byte-identical to those of the per-patient path."""
    load_demo(db)
    with db.session() as s:
        users = {
            "admin": _admin(),
            "site": Principal(0, "x", Role.SITE_CLINICIAN, reg.list_patients(s, _admin())[0].site_id),
        }
    for principal in users.values():
        for q in (None, "001"):
            with db.session() as s:
                old = [reg.patient_to_dict(p) for p in reg.list_patients(s, principal, q=q, limit=10**6)]
            with db.session() as s:
                new = read_patients(s, principal, q=q)
            assert old and new == old
            day = date(2025, 1, 1)
            assert deid.safe_harbor_csv(new, export_date=day) == deid.safe_harbor_csv(old, export_date=day)
            assert redcap_records(new) == redcap_records(old)
    with db.session() as s:
        old = [reg.patient_to_dict(p) for p in reg.list_patients(s, _admin(), limit=10**6)]
    assert export_redcap(db).text == redcap_records(old)


def test_cli_export_analysis(tmp_path: Path) -> None:
    """Issue 13: `redif registry demo` then `registry export --format analysis --json` writes the contract's
    header and one row per demo patient with a course; the JSON names the counts."""
    runner = CliRunner()
    demo = ["--data-dir", str(tmp_path / "demo")]
    assert runner.invoke(app, ["registry", "demo", *demo]).exit_code == 0
    out = tmp_path / "analysis.csv"
    result = runner.invoke(
        app, ["registry", "export", "--demo", "--format", "analysis", "--out", str(out), "--json", *demo]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert set(doc) >= {"format", "out", "patients", "not_started", "problems"}
    table = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert tuple(table[0])[: len(CONTRACT)] == CONTRACT
    assert len(table) == doc["patients"] == 16 - doc["not_started"]
    assert {r["response_denominator"] for r in table} <= {"treated", "itt"}
    bad = runner.invoke(app, ["registry", "export", "--demo", "--format", "sas", "--out", str(out), *demo])
    assert isinstance(bad.exception, InputError) and bad.exception.field == "--format"


def test_migration_0006_adds_and_removes_death_date(db_url: str) -> None:
    """Issue 13, SQLite and PostgreSQL: revision 0006 adds the optional ``patients.death_date`` (existing
    rows keep their values, the new column is NULL) and its downgrade removes it again, keeping the rows."""
    database = open_database(db_url)
    try:
        migrate(database, "0005")
        with database.engine.begin() as conn:
            conn.execute(text("INSERT INTO sites (id, code, name, is_demo, created_at) "
                              "VALUES (1, 'A', 'Site A', false, CURRENT_TIMESTAMP)"))
            conn.execute(text("INSERT INTO patients (id, pseudonym, site_id, sex, is_demo, created_at, "
                              "updated_at) VALUES (7, 'P-7', 1, 'female', false, CURRENT_TIMESTAMP, "
                              "CURRENT_TIMESTAMP)"))
        migrate(database)
        with database.engine.begin() as conn:
            assert conn.execute(text("SELECT pseudonym, death_date FROM patients")).all() == [("P-7", None)]
        cfg = Config()
        cfg.set_main_option("script_location", str(Path(reg.__file__).with_name("migrations")))
        with database.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0005")
        with database.engine.connect() as conn:
            columns = {c["name"] for c in inspect(conn).get_columns("patients")}
            assert "death_date" not in columns
            assert conn.execute(text("SELECT pseudonym FROM patients")).all() == [("P-7",)]
    finally:
        database.dispose()
