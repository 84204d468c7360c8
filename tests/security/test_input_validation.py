"""Issue 9 (Medium 5, Medium 6 and three Low findings): untrusted input is refused early and clearly.

Each test reproduces one finding of the security review: a YAML alias bomb, validation that disagrees
with the columns (string lengths, the tracer pattern, concurrent duplicate pseudonyms), CSV formula
injection, calculators that accept absurd numbers, and an import that fails late or cannot resume.
"""

from __future__ import annotations

import csv
import enum
import io
import json
import subprocess
import sys
import threading
import time
import tracemalloc
import typing
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import String, func, select
from web_world import Env  # type: ignore[import-not-found]

from redif.errors import Conflict, InputError
from redif.io.yaml_doc import load_document
from redif.model import vocabulary
from redif.registry import deid, importer
from redif.registry import patients as reg
from redif.registry.access import Principal, Role
from redif.registry.models import PATIENT_CHILD_MODELS, Patient
from redif.registry.schemas import RECORD_SCHEMAS, PatientIn, PatientPatch, max_length_of

# A 7-level "billion laughs" document: 9**7 (4.8 million) strings once its aliases are expanded.
_ALIAS_BOMB = "\n".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"{n}: &{n} [" + ",".join([f"*{p}"] * 9) + "]" for p, n in zip("abcdef", "bcdefg", strict=True)]
) + "\n"

# A valid body of each record kind (required fields only).
_MINIMAL: dict[str, dict[str, Any]] = {
    "genotypes": {"gene": "BRAF"},
    "rai-history": {},
    "courses": {"drugs": "dabrafenib"},
    "uptake": {},
    "dosimetry": {"kind": "lesion"},
    "administrations": {"activity_gbq": 3.7},
    "responses": {},
    "labs": {"analyte": "Tg", "value": 1.0, "unit": "ng/mL"},
    "adverse-events": {"term": "fatigue", "ctcae_grade": 1},
    "next-therapy": {"drugs": "lenvatinib"},
}


def _string_columns(model: Any) -> dict[str, int]:
    return {
        c.key: c.type.length
        for c in model.__table__.columns
        if isinstance(c.type, String) and c.type.length is not None
    }


# --------------------------------------------------------------------------------------------------
# Medium 5: YAML alias bomb
# --------------------------------------------------------------------------------------------------


def test_alias_bomb_case_document_is_refused_fast(env: Env) -> None:
    """Issue 9, Medium 5: a 7-level YAML alias bomb posted as a case document answered 422 after 28 s at
    558 MB. Expected (the fix): refused before expansion, 422 naming aliases, well under a second."""
    c, csrf = env.login("clin_a")

    def post(text: str) -> tuple[Any, float]:
        t0 = time.perf_counter()
        r = c.post(f"/patients/{env.patient_a}/case", data={"case": text, "csrf_token": csrf},
                   headers={"X-CSRF-Token": csrf}, follow_redirects=False)
        return r, time.perf_counter() - t0

    warm, _ = post("a: [")  # first call imports the pathway engines and renders the page
    assert warm.status_code == 422
    r, elapsed = post(_ALIAS_BOMB)
    assert r.status_code == 422, r.text[:500]
    assert "alias" in r.text
    assert elapsed < 1.0, elapsed


def test_safe_loader_bounds_memory_depth_size_and_encoding() -> None:
    """Issue 9, Medium 5: the shared loader refuses aliases with little memory (tracemalloc peak under
    5 MB, where the expanded bomb needs hundreds of MB), documents over the size cap before parsing,
    nesting deeper than the cap (100 000-deep JSON) and bytes that are not UTF-8; each as InputError
    naming the field."""
    tracemalloc.start()
    with pytest.raises(InputError, match="alias") as exc:
        load_document(_ALIAS_BOMB, field="case", max_bytes=100_000)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert exc.value.field == "case" and peak < 5_000_000, peak
    with pytest.raises(InputError, match="larger than 1000 bytes"):
        load_document("a: " + "x" * 2000, field="case", max_bytes=1000)
    with pytest.raises(InputError, match="nested deeper"):
        load_document("[" * 100_000 + "]" * 100_000, field="f.json", max_bytes=10_000_000, json=True)
    with pytest.raises(InputError, match="nested deeper"):
        load_document("[" * 100_000 + "]" * 100_000, field="f.yaml", max_bytes=10_000_000)
    with pytest.raises(InputError, match="UTF-8"):
        load_document(b"a: \xff\xfe", field="case", max_bytes=1000)
    assert load_document("a: [1, 2]\nb: 2024-01-02\n", field="x", max_bytes=1000) == {
        "a": [1, 2], "b": "2024-01-02"}  # dates stay text (pydantic reports a bad one with its path)


def test_cli_case_file_alias_bomb_is_one_line_exit_2(tmp_path: Path) -> None:
    """Issue 9, Medium 5: `redif patient assess` reads case files with the same loader: the bomb is one
    line on stderr and exit status 2 (the CLI's bad-input convention), not a hang."""
    p = tmp_path / "bomb.yaml"
    p.write_text(_ALIAS_BOMB, encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "redif", "patient", "assess", str(p)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    assert "alias" in r.stderr and r.stderr.strip().count("\n") == 0


# --------------------------------------------------------------------------------------------------
# Medium 6: validation and columns disagree
# --------------------------------------------------------------------------------------------------


def test_every_schema_string_fits_its_column() -> None:
    """Issue 9, Medium 6: histology of 65-100 characters passed validation but the column holds 64.
    Expected: every input-schema string field mapped to a String column has a max_length no larger than
    the column's length (read from the SQLAlchemy table, the one definition)."""
    pairs: list[tuple[type[Any], Any]] = [(PatientIn, Patient), (PatientPatch, Patient)]
    pairs += [(RECORD_SCHEMAS[k], PATIENT_CHILD_MODELS[k]) for k in RECORD_SCHEMAS]
    checked = 0
    for schema, model in pairs:
        for name, length in _string_columns(model).items():
            if name not in schema.model_fields:
                continue
            annotation = schema.model_fields[name].annotation
            ann = [a for a in typing.get_args(annotation) if a is not type(None)] or [annotation]
            # a coded field (issue 10) is Annotated[<model enum>, <alias parser>]
            ann = [typing.get_args(a)[0] if typing.get_origin(a) is typing.Annotated else a for a in ann]
            if ann and isinstance(ann[0], type) and issubclass(ann[0], enum.Enum):
                assert max(len(str(m.value)) for m in ann[0]) <= length, (schema.__name__, name)
            else:
                limit = max_length_of(schema, name)
                assert limit is not None and limit <= length, (schema.__name__, name, limit, length)
            checked += 1
    assert checked >= 25


def test_patient_strings_longer_than_their_column_are_422(env_any: Env) -> None:
    """Issue 9, Medium 6: a 65-character histology gave 201 on SQLite and 500 on PostgreSQL. Expected:
    column length + 1 characters is 422 naming the field; a value that fits is stored (201). Since issue 10
    both fields are coded (redif.model): the longest code of the vocabulary is stored."""
    c = env_any.client()
    h = env_any.bearer("clin_a")
    cols = _string_columns(Patient)
    for name in ("histology", "rai_refractory_criterion"):
        n = cols[name]
        r = c.post("/api/v1/patients", json={"pseudonym": f"L-{name}", name: "x" * (n + 1)}, headers=h)
        assert r.status_code == 422 and r.json()["field"].endswith(name), (name, r.status_code, r.text)
        r = c.patch(f"/api/v1/patients/{env_any.patient_a}", json={name: "x" * (n + 1)}, headers=h)
        assert r.status_code == 422, (name, r.status_code)
        longest = max(vocabulary(name).codes(), key=len)
        r = c.post("/api/v1/patients", json={"pseudonym": f"L-{name}", name: longest}, headers=h)
        assert r.status_code == 201, (name, r.text)
    r = c.post("/api/v1/patients", json={"pseudonym": "P" * (cols["pseudonym"] + 1)}, headers=h)
    assert r.status_code == 422


def test_record_strings_longer_than_their_column_are_422(env_any: Env) -> None:
    """Issue 9, Medium 6: every string field of every record kind, posted with column length + 1
    characters, is 422 naming the field (never a 500 on PostgreSQL); free-text fields (no pattern) of
    exactly the column length are stored (201). Column lengths are read from the models."""
    c = env_any.client()
    h = env_any.bearer("clin_a")
    url = f"/api/v1/patients/{env_any.patient_a}/records"
    checked = 0
    for kind, schema in RECORD_SCHEMAS.items():
        for name, length in _string_columns(PATIENT_CHILD_MODELS[kind]).items():
            if name not in schema.model_fields:
                continue
            r = c.post(f"{url}/{kind}", json={**_MINIMAL[kind], name: "x" * (length + 1)}, headers=h)
            assert r.status_code == 422 and r.json()["field"] == name, (kind, name, r.status_code, r.text)
            checked += 1
    free = [("genotypes", "variant"), ("genotypes", "assay"), ("courses", "drugs"),
            ("dosimetry", "lesion_label"), ("labs", "unit"), ("next-therapy", "drugs"),
            ("responses", "criteria"), ("administrations", "post_therapy_scan")]
    for kind, name in free:
        n = _string_columns(PATIENT_CHILD_MODELS[kind])[name]
        r = c.post(f"{url}/{kind}", json={**_MINIMAL[kind], name: "y" * n}, headers=h)
        assert r.status_code == 201, (kind, name, r.text)
    assert checked >= 20


@pytest.mark.parametrize(("tracer", "ok"), [
    ("I-123", True), ("I-124", True), ("I-131", True),
    ("I-123 or anything", False), ("I-124x", False), ("junk I-131", False), ("I-125", False), ("", False),
])
def test_tracer_pattern_is_anchored(env: Env, tracer: str, ok: bool) -> None:
    """Issue 9, Medium 6: the pattern ``^I-12[34]|I-131$`` accepted any string starting with I-123/I-124
    or ending with I-131. Expected: exactly the three iodine tracers (I-123, I-124, I-131)."""
    r = env.client().post(f"/api/v1/patients/{env.patient_a}/records/uptake", json={"tracer": tracer},
                          headers=env.bearer("clin_a"))
    assert r.status_code == (201 if ok else 422), r.text


def test_concurrent_creates_same_pseudonym_are_one_201_and_five_409(env_any: Env) -> None:
    """Issue 9, Medium 6: six concurrent creates of one pseudonym gave one 201 and five 500. Expected:
    exactly one 201 and five 409 Conflict naming the field ``pseudonym``; one row stored."""
    h = env_any.bearer("clin_a")
    barrier = threading.Barrier(6)
    codes: list[int] = []
    bodies: list[dict[str, Any]] = []
    lock = threading.Lock()

    def create() -> None:
        c = env_any.client()
        barrier.wait()
        r = c.post("/api/v1/patients", json={"pseudonym": "RACE-1"}, headers=h)
        with lock:
            codes.append(r.status_code)
            bodies.append(r.json())

    threads = [threading.Thread(target=create) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(codes) == [201, 409, 409, 409, 409, 409], (codes, bodies)
    conflicts = [b for b, code in zip(bodies, codes, strict=True) if code == 409]
    assert all(b["error"] == "Conflict" and b["field"] == "pseudonym" for b in conflicts), conflicts
    with env_any.app.state.db.session() as s:
        n = s.execute(select(func.count(Patient.id)).where(Patient.pseudonym == "RACE-1")).scalar_one()
    assert n == 1


# --------------------------------------------------------------------------------------------------
# Low: CSV formula injection
# --------------------------------------------------------------------------------------------------


def test_csv_export_neutralises_formulas_but_keeps_negative_numbers() -> None:
    """Issue 9, Low (CSV injection): text cells starting with =, +, -, @, tab or carriage return were
    written as they are. Expected (OWASP CSV injection guidance): such text cells are prefixed with a
    single quote; numeric cells (a negative day count) stay numbers."""
    patients = []
    for i, lead in enumerate(["=", "+", "-", "@", "\t", "\r"]):
        patients.append({
            "id": i + 1, "pseudonym": f"P{i}", "site": "A", "sex": "female", "birth_year": 1960,
            "histology": f"{lead}HYPERLINK(\"http://x\")", "diagnosis_date": "2020-01-01",
            "progression_date": "2020-01-10", "last_follow_up_date": "2021-01-01",
            "records": {"genotypes": [{"gene": "BRAF", "variant": f"{lead}1+1"}],
                        "courses": [{"drugs": "@SUM(A1)", "start_date": "2020-02-01"}]},
        })
    text = deid.safe_harbor_csv(patients, export_date=None)
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert len(rows) == 6
    for row in rows:
        for key, value in row.items():
            assert not value or value[0] not in "=+-@\t\r" or _is_number(value), (key, value)
        assert row["histology"].startswith("'") and row["drugs"] == "'@SUM(A1)"
        assert float(row["pfs_days_from_first_course"]) == -22  # progression 22 days before the course


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------------------------------
# Low: calculators
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "params", "field"), [
    ("lesion", {"mass_g": "1e308", "tia_h": "10"}, "mass_g"),
    ("lesion", {"mass_g": "1e-300", "tia_h": "10"}, "mass_g"),
    ("lesion", {"mass_g": "2", "tia_h": "1e300"}, "tia_h"),
    ("lesion", {"mass_g": "2", "tia_h": "1e-300"}, "tia_h"),
    ("lesion", {"mass_g": "2", "tia_h": "10", "target_gy": "1e308"}, "target_gy"),
    ("blood", {"weight_kg": "1e-300", "wb_tia_h": "10", "blood_tia_h_per_ml": "0.01"}, "weight_kg"),
    ("blood", {"weight_kg": "70", "wb_tia_h": "1e300", "blood_tia_h_per_ml": "0.01"}, "wb_tia_h"),
    ("blood", {"weight_kg": "70", "wb_tia_h": "10", "blood_tia_h_per_ml": "1e308"}, "blood_tia_h_per_ml"),
    ("tia", {"times_h": "1e300,2e300,3e300", "values": "0.5,0.3,0.1", "samples": "0"}, "times_h"),
    ("tia", {"times_h": "4,24,48", "values": "1e308,0.3,0.1", "samples": "0"}, "values"),
    ("tia", {"times_h": "4,24,48", "values": "1e-300,0.3,0.1", "samples": "0"}, "values"),
])
def test_calculators_refuse_absurd_numbers_with_one_message(env: Env, kind: str, params: dict[str, str],
                                                            field: str) -> None:
    """Issue 9, Low (calculators): the pages accepted 1e308, 1e-300 and times of 1e300 h and showed inf
    or nonsense. Expected: page and API both answer 422 for the same field with the same message (one
    validation with plausible ranges, see ``redif.web.routes.calculators.CALC_FIELDS``)."""
    c = env.client()
    api = c.get(f"/api/v1/calc/{kind}", params=params)
    assert api.status_code == 422, api.text
    body = api.json()
    assert body["field"] == field, body
    page = c.get(f"/calc/{kind}", params=params)
    assert page.status_code == 422
    assert f'id="err-{field}"' in page.text
    assert body["message"] in page.text


# --------------------------------------------------------------------------------------------------
# Low: import
# --------------------------------------------------------------------------------------------------


def test_import_bad_bytes_and_deep_json_are_clear_errors(tmp_path: Path) -> None:
    """Issue 9, Low (import): invalid UTF-8 and a 100 000-deep JSON ended in "internal error ... bug"
    (exit 1). Expected: an InputError naming the file (CLI: one line, exit status 2)."""
    bad = tmp_path / "bad.json"
    bad.write_bytes(b'[{"pseudonym": "X-\xff"}]')
    with pytest.raises(InputError, match="UTF-8"):
        importer.read_import_file(bad)
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(InputError, match="nested deeper"):
        importer.read_import_file(deep)
    for f in (bad, deep):
        r = subprocess.run([sys.executable, "-m", "redif", "admin", "import-patients", str(f), "--site", "A",
                            "--data-dir", str(tmp_path)], capture_output=True, text=True, timeout=120)
        assert r.returncode == 2 and r.stderr.strip().count("\n") == 0, r.stderr
        assert "internal error" not in r.stderr


def _write_import(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps(rows), encoding="utf-8")
    return path


def _count(env: Env, prefix: str) -> int:
    with env.app.state.db.session() as s:
        return int(s.execute(select(func.count(Patient.id)).where(Patient.pseudonym.like(f"{prefix}%")))
                   .scalar_one())


def test_import_duplicates_refused_before_any_commit(env_any: Env, tmp_path: Path) -> None:
    """Issue 9, Low (import): duplicate pseudonyms in one file were caught after 2 of 3 patients were
    committed. Expected: the whole file is checked first; nothing is written; the error names both rows."""
    rows = [{"pseudonym": "D-1"}, {"pseudonym": "D-2"}, {"pseudonym": "D-1"}]
    f = _write_import(tmp_path / "dup.json", rows)
    with pytest.raises(InputError, match=r"row 3.*row 1|row 1.*row 3"):
        importer.import_patients(env_any.app.state.db, importer.read_import_file(f), site_code="A")
    assert _count(env_any, "D-") == 0


def test_import_rerun_resumes_after_a_crash(env_any: Env, tmp_path: Path) -> None:
    """Issue 9, Low (import): a re-run after a crash failed at row 1. Expected: re-runs are idempotent by
    pseudonym: identical existing patients are skipped and reported, the rest imported; a conflicting
    existing patient is an error naming the row and field, before anything is written."""
    db = env_any.app.state.db
    rows = [{"pseudonym": f"R-{i}", "sex": "female", "records": {"genotypes": [{"gene": "BRAF"}]}}
            for i in (1, 2, 3)]
    f = _write_import(tmp_path / "r.json", rows)
    acks: list[str] = []

    def crash(pseudonym: str, pid: int) -> None:
        acks.append(pseudonym)
        if len(acks) == 2:
            raise KeyboardInterrupt  # the process dies after two acknowledged patients

    with pytest.raises(KeyboardInterrupt):
        importer.import_patients(db, importer.read_import_file(f), site_code="A", on_commit=crash)
    assert _count(env_any, "R-") == 2
    skipped: list[str] = []
    ids = importer.import_patients(db, importer.read_import_file(f), site_code="A",
                                   on_skip=lambda p, i: skipped.append(p))
    assert skipped == ["R-1", "R-2"] and len(ids) == 1 and _count(env_any, "R-") == 3
    rows[1]["sex"] = "male"
    rows.append({"pseudonym": "R-4"})
    f = _write_import(tmp_path / "r2.json", rows)
    with pytest.raises(InputError, match=r"row 2: sex"):
        importer.import_patients(db, importer.read_import_file(f), site_code="A")
    assert _count(env_any, "R-") == 3


def test_create_patient_race_past_the_check_is_conflict(env_any: Env) -> None:
    """Issue 9, Medium 6: when two transactions both pass the "pseudonym free" check, the loser's insert
    violates the unique constraint; expected a :class:`Conflict` naming ``pseudonym`` (409), not an
    IntegrityError (500). PostgreSQL only: SQLite serialises writers before the check (BEGIN IMMEDIATE)."""
    db = env_any.app.state.db
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers before the check")
    principal = Principal(user_id=0, username="race", role=Role.ADMIN, site_id=None)
    outcome: list[BaseException | None] = []
    with db.write_session(actor="first") as first:
        reg.create_patient(first, principal, {"pseudonym": "RACE-2", "site": "A"})

        def second() -> None:
            try:
                with db.write_session(actor="second") as s:
                    reg.create_patient(s, principal, {"pseudonym": "RACE-2", "site": "A"})
                outcome.append(None)
            except BaseException as exc:
                outcome.append(exc)

        t = threading.Thread(target=second)
        t.start()
        time.sleep(0.5)  # the second insert now waits on the unique index until the first commits
    t.join(30)
    assert len(outcome) == 1 and isinstance(outcome[0], Conflict), outcome
    assert outcome[0].field == "pseudonym"


def test_new_patient_form_limits_come_from_the_columns(env: Env) -> None:
    """Issue 9, Medium 6: the form's ``maxlength`` is the column length (histology: String(64) in
    ``registry/models.py``), not a second hand-typed number (it was 100)."""
    c, _ = env.login("clin_a")
    page = c.get("/patients/new").text
    assert 'name="pseudonym" required maxlength="64"' in page
    # issue 10: histology is coded; the form offers the model's codes
    assert '<select id="histology" name="histology">' in page
    assert all(f'<option value="{code}"' in page for code in vocabulary("histology").codes())
