"""DICOM uploads (limits, zip bombs, malformed files, de-identified storage), bulk import, demo data."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pydicom
import pytest
from dicom_corpus import make_pet_series  # type: ignore[import-not-found]
from registry_world import make_world  # type: ignore[import-not-found]
from sqlalchemy import func, select

from redif.errors import DicomInputError, InputError
from redif.registry import demo, importer, storage, uploads
from redif.registry import patients as reg
from redif.registry.access import get_patient
from redif.registry.db import Database
from redif.registry.models import DicomSeries, Genotype, Patient


@dataclass
class Limits:
    data_dir: Path
    max_upload_bytes: int = 10_000_000
    max_unzipped_bytes: int = 20_000_000
    max_zip_ratio: float = 100.0
    max_zip_members: int = 50


def _series() -> list[bytes]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return make_pet_series(3).files


def _zip(files: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_refusals(tmp_path: Path) -> None:
    lim = Limits(tmp_path)
    with pytest.raises(DicomInputError, match="empty"):
        uploads.read_upload("x.dcm", io.BytesIO(b""), lim)
    with pytest.raises(DicomInputError, match="larger than the limit"):
        uploads.read_upload("x.dcm", io.BytesIO(b"x" * 11_000_000), lim)
    bomb = _zip({"zeros.dcm": b"\0" * 15_000_000})
    assert len(bomb) < 100_000
    with pytest.raises(DicomInputError, match="zip bomb"):
        uploads.read_upload("bomb.zip", io.BytesIO(bomb), lim)
    big = _zip({f"{i}.dcm": bytes(range(256)) * 2_000 for i in range(3)}, zipfile.ZIP_STORED)
    with pytest.raises(DicomInputError, match="zip bomb"):
        uploads.read_upload("big.zip", io.BytesIO(big), Limits(tmp_path, max_unzipped_bytes=1_000_000))
    with pytest.raises(DicomInputError, match="holds 60 files"):
        uploads.read_upload("many.zip", io.BytesIO(_zip({f"{i}": b"x" for i in range(60)})), lim)
    with pytest.raises(DicomInputError, match="nested"):
        uploads.read_upload("n.zip", io.BytesIO(_zip({"inner.zip": _zip({"a": b"a"})})), lim)
    with pytest.raises(DicomInputError, match="damaged"):
        uploads.read_upload("d.zip", io.BytesIO(b"PK\x03\x04garbage"), lim)


def test_member_lying_about_its_size_is_refused(tmp_path: Path) -> None:
    """A member whose local header understates its size is cut at the declared size and refused."""
    data = bytearray(_zip({"a.dcm": b"A" * 5000}, zipfile.ZIP_STORED))
    # patch the central-directory uncompressed size (offset 24 in the central header) to 10 bytes
    cd = data.rfind(b"PK\x01\x02")
    data[cd + 24 : cd + 28] = (10).to_bytes(4, "little")
    with pytest.raises(DicomInputError):
        uploads.read_upload("lie.zip", io.BytesIO(bytes(data)), Limits(tmp_path))


def test_ingest_deidentifies_and_stores(db: Database, tmp_path: Path) -> None:
    w = make_world(db)
    with db.write_session() as s:
        pid = reg.create_patient(s, w.principals["clin_a"], {"pseudonym": "A-1"}).id
    files = _series()
    with db.write_session(actor="clin_a") as s:
        patient = get_patient(s, w.principals["clin_a"], pid)
        with pytest.raises(DicomInputError, match="not a DICOM file"):
            uploads.ingest_upload(s, patient, "notes.txt", io.BytesIO(b"hello, not dicom"), Limits(tmp_path))
        series = uploads.ingest_upload(
            s,
            patient,
            "s.zip",
            io.BytesIO(_zip({f"{i}.dcm": f for i, f in enumerate(files)})),
            Limits(tmp_path),
        )
        sid = series.id
    with db.session() as s:
        row = s.get(DicomSeries, sid)
        assert row is not None and row.n_instances == 3 and row.modality == "PT"
        assert row.injection_to_scan_h == pytest.approx(24.5)
        assert row.patient_weight_kg == pytest.approx(70.5)
        assert row.radionuclide == "^124^Iodine"
        assert not Path(row.storage_dir).is_absolute()  # relative to the data directory (it may move)
        assert storage.verify_series(tmp_path, row) == []
        stored = storage.series_files(tmp_path, row)
    assert len(stored) == 3
    for f in stored:
        raw = f.read_bytes()
        assert b"Doe^Jane" not in raw and b"MRN-123456" not in raw and b"IDENT" not in raw
        ds = pydicom.dcmread(f)
        assert ds.PatientID == "A-1"
    # a second series of the same patient shifts dates by the same amount
    with db.write_session(actor="clin_a") as s:
        patient = get_patient(s, w.principals["clin_a"], pid)
        with pytest.raises(DicomInputError, match="2 series"):
            two = [*_series(), pydicom_with_other_series(files[0])]
            uploads.ingest_upload(
                s,
                patient,
                "two.zip",
                io.BytesIO(_zip({f"{i}": f for i, f in enumerate(two)})),
                Limits(tmp_path),
            )


def pydicom_with_other_series(data: bytes) -> bytes:
    ds = pydicom.dcmread(io.BytesIO(data))
    ds.SeriesInstanceUID = pydicom.uid.generate_uid()
    buf = io.BytesIO()
    ds.save_as(buf)
    return buf.getvalue()


def test_import_json_and_csv(db: Database, tmp_path: Path) -> None:
    make_world(db)
    j = tmp_path / "p.json"
    j.write_text(
        json.dumps(
            [
                {
                    "pseudonym": "I-1",
                    "sex": "female",
                    "records": {
                        "genotypes": [{"gene": "BRAF", "variant": "V600E"}],
                        "labs": [{"analyte": "Tg", "value": 12.5, "unit": "ng/mL"}],
                    },
                },
                {"pseudonym": "I-2", "site": "B"},
            ]
        )
    )
    acks: list[str] = []
    ids = importer.import_patients(
        db, importer.read_import_file(j), site_code="A", on_commit=lambda p, i: acks.append(p)
    )
    assert acks == ["I-1", "I-2"] and len(ids) == 2
    c = tmp_path / "p.csv"
    c.write_text("pseudonym,sex,birth_year,gene,variant\nC-1,male,1950,NRAS,Q61R\n")
    importer.import_patients(db, importer.read_import_file(c), site_code="A")
    with db.session() as s:
        assert s.execute(select(func.count(Patient.id))).scalar_one() == 3
        assert s.execute(select(func.count(Genotype.id))).scalar_one() == 2
    bad = tmp_path / "bad.csv"
    bad.write_text("pseudonym,birth_year\nOK-1,1950\nBAD-2,nineteen\n")
    with pytest.raises(InputError, match=r"row 2: birth_year"):
        importer.read_import_file(bad)


def test_import_cli_bad_input_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('[{"pseudonym": "X", "records": {"genotypes": [{"gene": ""}]}}]')
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "redif",
            "admin",
            "import-patients",
            str(bad),
            "--site",
            "A",
            "--data-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "row 1: records.genotypes[0].gene" in r.stderr


def test_demo_is_labelled_and_refused_in_real_database(db: Database) -> None:
    make_world(db)  # real data
    with pytest.raises(InputError, match="refusing to load demo data"):
        demo.load_demo(db)


def test_demo_loads_into_empty_database(db: Database) -> None:
    logins = demo.load_demo(db, n_patients_per_site=2)
    assert db.is_demo()
    assert {u.username for u in logins} >= {"demo-clinician-a", "demo-admin"}
    with db.session() as s:
        pts = list(s.execute(select(Patient)).scalars())
        assert len(pts) == 4 and all(p.is_demo and p.pseudonym.startswith("DEMO-") for p in pts)
    demo.load_demo(db, n_patients_per_site=2)  # idempotent
    with db.session() as s:
        assert s.execute(select(func.count(Patient.id))).scalar_one() == 4


def test_serve_refuses_a_demo_database_without_demo_flag(tmp_path: Path) -> None:
    """A database filled by the demo loader is never served as a real registry."""
    from redif.registry.db import migrate, open_database

    db = open_database(f"sqlite:///{tmp_path / 'redif.sqlite'}")
    migrate(db)
    demo.load_demo(db, n_patients_per_site=1)
    db.dispose()
    r = subprocess.run(
        [sys.executable, "-m", "redif", "serve", "--data-dir", str(tmp_path), "--port", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2
    assert "this is a demo database" in r.stderr and r.stderr.count("\n") == 1
