"""Patient voxel dosimetry through the web app: upload a zipped multi-time-point PET study + SEG, the
series are de-identified and stored by the registry ingest, the voxel pipeline runs on the stored
files, one result per lesion is stored and shown (table, dose map, DVH), the API serves the same, and
another site's patient answers 404.

Expected doses are not re-derived here: they must equal what :func:`redif.workflows.voxel_case.
run_voxel_case` gives on the *original* (not de-identified) files — an independent path (no web, no
de-identification) that the dosimetry engine's own tests check against the phantom's analytic truth.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from _phantom_zip import write_small_phantom


@pytest.fixture(scope="module")
def phantom(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, Path]:
    d = tmp_path_factory.mktemp("phantom")
    blob, _ = write_small_phantom(d)
    return blob, d


def _reference(d: Path) -> dict[str, float]:
    from redif.workflows.voxel_case import run_voxel_case

    pets = sorted(p for p in d.iterdir() if p.is_dir() and p.name.startswith("pet_"))
    seg = next(d.glob("seg*.dcm"))
    out = run_voxel_case(pets, seg, activity_gbq=5.5)
    return {str(le["name"]): float(le["mean_gy"]) for le in out.lesions}  # type: ignore[union-attr]


def test_upload_compute_show(env_any: Any, phantom: tuple[bytes, Path]) -> None:
    """On SQLite and PostgreSQL."""
    env = env_any
    blob, d = phantom
    c, csrf = env.login("clin_a")
    pid = env.patient_a
    page = c.get(f"/patients/{pid}/dosimetry")
    assert page.status_code == 200 and 'id="no-dose"' in page.text
    r = c.post(f"/patients/{pid}/dosimetry", data={"csrf_token": csrf, "activity_gbq": "5.5"},
               files={"file": ("study.zip", blob, "application/zip")}, follow_redirects=False)
    assert r.status_code == 303, r.text[:2000]
    page = c.get(f"/patients/{pid}/dosimetry")
    assert page.status_code == 200
    assert 'id="dose-map"' in page.text and 'id="dvh"' in page.text
    ref = _reference(d)
    api = env.client().get(f"/api/v1/patients/{pid}/dosimetry", headers=env.bearer("clin_a")).json()
    lesions = {le["name"]: le for le in api["runs"][0]["lesions"]}
    assert set(lesions) == set(ref) and len(ref) >= 3
    for name, mean in ref.items():
        assert lesions[name]["mean_gy"] == pytest.approx(mean, rel=1e-9)
        assert f"{mean:.1f}" in page.text
    assert api["disclaimer"]
    # the series went through the registry's de-identifying ingest (3 PET + 1 SEG)
    detail = c.get(f"/patients/{pid}").text
    assert detail.count("<td>PT</td>") >= 3 and "<td>SEG</td>" in detail
    # stored as registry dosimetry results (so the PDF report and FHIR export carry them)
    rec = env.client().get(f"/api/v1/patients/{pid}", headers=env.bearer("clin_a")).json()
    voxel = [x for x in rec["records"]["dosimetry"] if x["kind"] == "voxel"]
    assert {x["lesion_label"] for x in voxel} == set(ref)


def test_api_upload_and_bad_input(env: Any, phantom: tuple[bytes, Path]) -> None:
    blob, _ = phantom
    c = env.client()
    h = env.bearer("phys_a") if "phys_a" in env.tokens else env.bearer("clin_a")
    pid = env.patient_a
    r = c.post(f"/api/v1/patients/{pid}/dosimetry", headers=h, data={"activity_gbq": "abc"},
               files={"file": ("s.zip", blob, "application/zip")})
    assert r.status_code == 422 and r.json()["field"] == "activity_gbq"
    r = c.post(f"/api/v1/patients/{pid}/dosimetry", headers=h, data={"activity_gbq": "5"},
               files={"file": ("s.dcm", b"not dicom at all", "application/dicom")})
    assert r.status_code == 422 and r.json()["field"] == "file"
    r = c.post(f"/api/v1/patients/{pid}/dosimetry", headers=h, data={"activity_gbq": "5"})
    assert r.status_code == 422 and r.json()["field"] == "file"
    r = c.post(f"/api/v1/patients/{pid}/dosimetry", headers=h, data={"activity_gbq": "5.5"},
               files={"file": ("s.zip", blob, "application/zip")})
    assert r.status_code == 201, r.text[:1000]
    assert len(r.json()["runs"][0]["lesions"]) >= 3


def test_page_bad_input_is_shown_next_to_the_field(env: Any) -> None:
    c, csrf = env.login("clin_a")
    r = c.post(f"/patients/{env.patient_a}/dosimetry", data={"csrf_token": csrf, "activity_gbq": "-1"},
               files={"file": ("s.zip", b"PK\x03\x04broken", "application/zip")})
    assert r.status_code == 422
    assert 'id="dose-error"' in r.text and "activity_gbq" in r.text


def test_other_site_patient_is_404(env: Any, phantom: tuple[bytes, Path]) -> None:
    blob, _ = phantom
    c, csrf = env.login("clin_a")
    pb = env.patient_b
    assert c.get(f"/patients/{pb}/dosimetry").status_code == 404
    r = c.post(f"/patients/{pb}/dosimetry", data={"csrf_token": csrf, "activity_gbq": "5.5"},
               files={"file": ("s.zip", blob, "application/zip")})
    assert r.status_code == 404 and "B-1" not in r.text
    api = env.client().get(f"/api/v1/patients/{pb}/dosimetry", headers=env.bearer("clin_a"))
    assert api.status_code == 404


def _upload_dirs(env: Any) -> set[str]:
    folder = Path(env.app.state.settings.data_dir) / "dicom"
    return {p.name for p in folder.iterdir()} if folder.is_dir() else set()


def test_failed_run_leaves_no_files_or_records(env: Any, phantom: tuple[bytes, Path]) -> None:
    """PET without SEG, for a new patient: refused naming the file; the transaction rolls back and the
    de-identified files it had written are removed (no orphan series folder, no series record)."""
    import io
    import zipfile

    blob, _ = phantom
    src = zipfile.ZipFile(io.BytesIO(blob))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name in src.namelist():
            if not name.startswith("seg"):
                z.writestr(name, src.read(name))
    c = env.client()
    h = env.bearer("clin_a")
    made = c.post("/api/v1/patients", json={"pseudonym": "A-NOSEG", "site": "A"}, headers=h)
    assert made.status_code in (200, 201), made.text
    pid = made.json()["id"]
    before = _upload_dirs(env)
    r = c.post(f"/api/v1/patients/{pid}/dosimetry", headers=h, data={"activity_gbq": "5.5"},
               files={"file": ("no_seg.zip", buf.getvalue(), "application/zip")})
    assert r.status_code == 422 and r.json()["field"] == "file" and "SEG" in r.json()["message"]
    assert _upload_dirs(env) == before  # only this upload's folders were removed
    session, _ = env.login("clin_a")
    assert "<td>PT</td>" not in session.get(f"/patients/{pid}").text
