"""Issue 10: exchange with REDCap — the registry's records in REDCap's flat import format and back.

Expected values: the round trip must give the identical file (issue 10, "Tests that must exist"); the
flat format's leading columns and one row per repeating instance are REDCap's import template for a
classic project with repeating instruments (REDCap "Repeating Instruments & Events" help); the demo
registry's record counts come from the database itself.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from conftest import BACKENDS, make_url
from redif.cli.main import app
from redif.errors import InputError
from redif.model.dictionary import redcap_form_name, redcap_variables
from redif.model.fields import forms
from redif.registry import patients as reg
from redif.registry.db import Database, migrate, open_database
from redif.registry.demo import load_demo
from redif.registry.importer import import_patients
from redif.registry.models import Patient, ReviewFlag, Site
from redif.registry.redcap import EXCHANGE_COLUMNS, export_redcap, parse_redcap, redcap_records


@pytest.fixture(params=BACKENDS)
def pair(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Database, Database]]:
    """Two empty, migrated registries on the same backend (a source and a target)."""
    out = []
    for name in ("source", "target"):
        (tmp_path / name).mkdir()
        database = open_database(make_url(request.param, tmp_path / name, request), data_dir=tmp_path / name)
        migrate(database)
        out.append(database)
    yield out[0], out[1]
    for database in out:
        database.dispose()


def _add_sites(db: Database, *codes: str) -> None:
    with db.write_session(actor="test") as s:
        for code in codes:
            s.add(Site(code=code, name=f"Site {code}"))


def _count_patients(db: Database) -> int:
    with db.session() as s:
        return int(s.execute(select(func.count(Patient.id))).scalar_one())


def _table(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_demo_round_trip_is_identical(pair: tuple[Database, Database]) -> None:
    """Issue 10: demo registry -> REDCap export -> import into an empty registry -> export gives the
    identical file; every stored record is a row (nothing dropped); a re-run skips every patient."""
    source, target = pair
    load_demo(source)
    first = export_redcap(source).text
    rows = _table(first)
    assert list(rows[0])[:3] == list(EXCHANGE_COLUMNS)
    with source.session() as s:
        stored = [reg.patient_to_dict(p) for p in s.execute(select(Patient)).scalars()]
    per_instrument = Counter(r["redcap_repeat_instrument"] for r in rows)
    assert per_instrument[""] == len(stored) == 16
    for form in forms()[1:]:
        n = sum(len(p["records"].get(form.name, [])) for p in stored)
        assert per_instrument.get(redcap_form_name(form), 0) == n

    _add_sites(target, "DEMO-A", "DEMO-B")
    ids = import_patients(target, parse_redcap(first), site_code=None)
    assert len(ids) == 16
    second = export_redcap(target).text
    assert second == first

    skipped: list[str] = []
    again = import_patients(
        target, parse_redcap(second), site_code=None, on_skip=lambda p, _i: skipped.append(p)
    )
    assert again == [] and len(skipped) == 16


def _valid_file() -> str:
    """One patient with a genotype, two labs and an administration, as REDCap rows (header = row 1)."""
    patient: dict[str, Any] = {
        "pseudonym": "P-001",
        "site": "S1",
        "sex": "female",
        "birth_year": 1960,
        "histology": "papillary",
        "diagnosis_date": "2019-05-03",
        "records": {
            "genotypes": [{"gene": "BRAF", "variant": "p.Val600Glu", "assay": "NGS"}],
            "labs": [
                {"sample_date": "2022-01-02", "analyte": "Tg", "value": 12.5, "unit": "ng/mL"},
                {"sample_date": "2022-03-02", "analyte": "Tg", "value": 3.0, "unit": "ng/mL"},
            ],
            "administrations": [
                {"administration_date": "2022-02-01", "activity_gbq": 5.5, "basis": "empiric"}
            ],
        },
    }
    return redcap_records([patient])


def _edit(text: str, row: int, variable: str, value: str) -> str:
    """Set ``variable`` on spreadsheet row ``row`` (the header is row 1)."""
    table = list(csv.reader(io.StringIO(text, newline="")))
    table[row - 1][table[0].index(variable)] = value
    buf = io.StringIO(newline="")
    csv.writer(buf, lineterminator="\r\n").writerows(table)
    return buf.getvalue()


def _var(form: str, field: str) -> str:
    return redcap_variables()[(form, field)]


def test_valid_file_layout() -> None:
    """Issue 10: one row for the patient (repeat columns empty), one per repeating instance numbered from
    1 per instrument, booleans/numbers/dates/codes as REDCap stores them."""
    rows = _table(_valid_file())
    assert [(r["record_id"], r["redcap_repeat_instrument"], r["redcap_repeat_instance"]) for r in rows] == [
        ("1", "", ""),
        ("1", "genotypes", "1"),
        ("1", "administrations", "1"),
        ("1", "labs", "1"),
        ("1", "labs", "2"),
    ]
    assert rows[0]["pseudonym"] == "P-001" and rows[0]["histology"] == "papillary"
    assert float(rows[3][_var("labs", "value")]) == 12.5
    assert rows[2][_var("administrations", "basis")] == "empiric"


BAD_ROWS = [
    # (row, variable (form, field) or REDCap column, value, what the error says)
    (2, ("patient", "histology"), "hurthle", "not a choice of histology"),
    (2, ("patient", "diagnosis_date"), "03/05/2019", "not a date"),
    (2, ("patient", "birth_year"), "1960.5", "not an integer"),
    (2, ("patient", "pseudonym"), "", "required value missing"),
    (3, ("genotypes", "gene"), "BRAF V600E", "not a choice of gene"),
    (4, ("administrations", "activity_gbq"), "1000", "outside the allowed range"),
    (5, ("labs", "value"), "", "required value missing"),
    (6, ("labs", "value"), "twelve", "not a number"),
    (6, ("genotypes", "gene"), "BRAF", "a value of instrument 'genotypes' on a row of 'labs'"),
    (6, "redcap_repeat_instrument", "scans", "not a repeating instrument"),
    (6, "redcap_repeat_instance", "1", "instance repeated"),
    (6, "record_id", "2", "has no 'patient' row"),
]


@pytest.mark.parametrize(("row", "column", "value", "message"), BAD_ROWS, ids=lambda x: str(x))
def test_import_errors_name_row_and_field_and_write_nothing(
    db: Database, row: int, column: Any, value: str, message: str
) -> None:
    """Issue 10: a bad value anywhere in the file stops the import before anything is written, with an
    error naming the spreadsheet row and the REDCap variable (the last row is bad here, so the earlier,
    valid rows prove that nothing is written before the whole file is checked)."""
    _add_sites(db, "S1")
    variable = column if isinstance(column, str) else _var(*column)
    text = _edit(_valid_file(), row, variable, value)
    with pytest.raises(InputError) as info:
        import_patients(db, parse_redcap(text), site_code="S1")
    assert message in info.value.message
    assert info.value.field is not None and info.value.field.startswith(f"row {row}: ")
    assert _count_patients(db) == 0


def test_import_refuses_unknown_site_and_other_site(db: Database) -> None:
    """Issue 10: a row naming another site than --site, or a site the registry lacks, is refused (row and
    field named) and nothing is written."""
    _add_sites(db, "S1", "S2")
    with pytest.raises(InputError) as info:
        parse_redcap(_valid_file(), site_code="S2")
    assert info.value.field == "row 2: site"
    with pytest.raises(InputError) as info:
        import_patients(db, parse_redcap(_edit(_valid_file(), 2, "site", "S9")), site_code=None)
    assert info.value.field == "row 2: site" and info.value.value == "S9"
    assert _count_patients(db) == 0


def test_import_takes_the_site_from_the_option(db: Database) -> None:
    """Issue 10: a file without the site (column empty or absent) imports to the site given by --site."""
    _add_sites(db, "S1")
    blank = _edit(_valid_file(), 2, "site", "")
    assert [r.patient.site for r in parse_redcap(blank, site_code="S1")] == ["S1"]
    table = list(csv.reader(io.StringIO(blank, newline="")))
    col = table[0].index("site")
    buf = io.StringIO(newline="")
    csv.writer(buf, lineterminator="\r\n").writerows([r[:col] + r[col + 1 :] for r in table])
    ids = import_patients(db, parse_redcap(buf.getvalue(), site_code="S1"), site_code="S1")
    assert len(ids) == 1
    with db.session() as s:
        assert s.execute(select(Site.code).join(Patient)).scalars().all() == ["S1"]


def test_import_refuses_unknown_columns() -> None:
    """Issue 10: a column that is not a dictionary variable is refused (named), REDCap's own
    ``<instrument>_complete`` and ``redcap_data_access_group`` columns are ignored."""
    text = _valid_file()
    header, rest = text.split("\r\n", 1)
    with pytest.raises(InputError, match="unknown column") as info:
        parse_redcap(header + ",mrn\r\n" + rest.replace("\r\n", ",\r\n"))
    assert info.value.value == "mrn"
    extra = header + ",patient_complete,redcap_data_access_group\r\n" + rest.replace("\r\n", ",2,\r\n")
    assert [r.patient.pseudonym for r in parse_redcap(extra)] == ["P-001"]


def test_export_refuses_a_stored_value_outside_the_vocabulary() -> None:
    """Issue 10: a stored value that is not a code of its vocabulary (e.g. free text the migration kept
    for review) stops the export, naming the patient and the field, rather than writing a value REDCap
    would reject or silently dropping it."""
    patient = {"pseudonym": "P-1", "site": "S1", "histology": "Hurthle cell", "records": {}}
    with pytest.raises(InputError) as info:
        redcap_records([patient])
    assert info.value.field == "patient S1/P-1: histology"


def test_cli_demo_export_import_round_trip(tmp_path: Path) -> None:
    """Issue 10: the README's commands: `redif registry demo`, `registry export --format redcap`, import
    into an empty registry with its sites, export again: identical files; a re-run skips everything."""
    runner = CliRunner()
    demo, empty = ["--data-dir", str(tmp_path / "demo")], ["--data-dir", str(tmp_path / "empty")]

    def run(*args: str) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == 0, (result.output, result.exception)
        return result.output

    run("registry", "demo", *demo)
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    run("registry", "export", "--demo", "--format", "redcap", "--out", str(first), *demo)
    for code in ("DEMO-A", "DEMO-B"):
        run("admin", "create-site", "--code", code, "--name", code, *empty)
    run("registry", "import", "--format", "redcap", str(first), *empty)
    run("registry", "export", "--format", "redcap", "--out", str(second), *empty)
    assert second.read_bytes() == first.read_bytes()
    rerun = json.loads(run("registry", "import", "--format", "redcap", str(first), "--json", *empty))
    assert rerun["imported"] == [] and len(rerun["skipped"]) == 16


def test_export_of_one_site(db: Database) -> None:
    """Issue 10: `registry export --site CODE` writes only that site's patients; an unknown site code is
    refused rather than giving an empty file."""
    _add_sites(db, "S1", "S2")
    import_patients(db, parse_redcap(_valid_file()), site_code=None)
    other = _edit(_edit(_valid_file(), 2, "site", "S2"), 2, "pseudonym", "P-002")
    import_patients(db, parse_redcap(other), site_code=None)
    rows = _table(export_redcap(db, sites=["S2"]).text)
    assert [(r["pseudonym"], r["site"]) for r in rows if not r["redcap_repeat_instrument"]] == [
        ("P-002", "S2")
    ]
    assert len(_table(export_redcap(db).text)) == 2 * len(rows)
    with pytest.raises(InputError) as info:
        export_redcap(db, sites=["S9"])
    assert info.value.field == "site" and info.value.value == "S9"


def test_export_counts_values_awaiting_review(db: Database) -> None:
    """Issue 10: values the migration kept verbatim for review (registry review flags) are not model codes,
    so the file leaves them empty; the export says how many await review instead of hiding them."""
    _add_sites(db, "S1")
    (pid,) = import_patients(db, parse_redcap(_valid_file()), site_code=None)
    with db.write_session(actor="test") as s:
        s.add(
            ReviewFlag(
                patient_id=pid,
                table_name="patients",
                row_id=pid,
                column_name="histology",
                verbatim="Hurthle cell",
                reason="no term",
            )
        )
    result = export_redcap(db)
    assert (result.patients, result.pending_review) == (1, 1)
    assert _table(result.text)[0]["histology"] == "papillary"
