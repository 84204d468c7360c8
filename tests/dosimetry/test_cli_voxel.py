"""CLI: `redif phantom` -> `redif dose voxel` -> `redif dose batch`, JSON keys and bad input (exit 2).

Expected values: truth.json written by the phantom (closed-form TIAs), recovered within 4 %.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pydicom
import pytest

KEYS = {"name", "mean_gy", "min_gy", "max_gy", "d50_gy", "d90_gy", "volume_ml", "mass_g", "tia_mbq_h"}


def _redif(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the installed entry point in a fresh interpreter (true end to end)."""
    return subprocess.run([sys.executable, "-m", "redif", *args], capture_output=True, text=True,
                          timeout=300, check=False)


def _redif_inproc(capsys: pytest.CaptureFixture[str], *args: str) -> subprocess.CompletedProcess[str]:
    """The same CLI entry point (redif.cli.main.main) in this process: saves the import time."""
    from redif.cli.main import main

    capsys.readouterr()
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return subprocess.CompletedProcess(list(args), code, out.out, out.err)


@pytest.fixture(scope="module")
def phantom_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "ph"
    r = _redif("phantom", str(out), "--shape", "40,40,32", "--voxel-mm", "5", "--json")
    assert r.returncode == 0, r.stderr
    payload = json.loads(r.stdout)
    assert Path(payload["seg"]).is_file() and Path(payload["truth"]).is_file()
    return out


def _pets(d: Path) -> list[str]:
    return sorted(str(p) for p in d.glob("pet_*"))


def test_phantom_writes_realistic_headers(phantom_dir: Path) -> None:
    first = sorted(Path(_pets(phantom_dir)[0]).iterdir())[0]
    ds = pydicom.dcmread(first)
    assert ds.Modality == "PT" and ds.Units == "BQML" and ds.DecayCorrection == "START"
    rp = ds.RadiopharmaceuticalInformationSequence[0]
    assert rp.RadionuclideCodeSequence[0].CodeValue == "40937006"  # SNOMED ^124^Iodine (pydicom CID 4020)
    assert float(rp.RadionuclideTotalDose) == 37e6
    assert (phantom_dir / "ct").is_dir()


def test_dose_voxel_json_recovers_truth(phantom_dir: Path, tmp_path: Path) -> None:
    out, rd = tmp_path / "dose.nii.gz", tmp_path / "rd.dcm"
    r = _redif("dose", "voxel", "--pet", *_pets(phantom_dir), "--mask", str(phantom_dir / "seg_lesions.dcm"),
               "--out", str(out), "--rtdose", str(rd), "--activity-gbq", "5.5", "--json")
    assert r.returncode == 0, r.stderr
    payload = json.loads(r.stdout)
    data = payload["lesions"]  # issue 14: {"lesions": [...], "registration": [...]}
    assert isinstance(data, list) and len(data) == 4
    assert [x["time_point"] for x in payload["registration"]] == [4.0, 24.0, 48.0, 96.0]
    assert all(set(x) >= {"translation_mm", "rotation_deg", "metric"} for x in payload["registration"])
    truth = json.loads((phantom_dir / "truth.json").read_text())
    for les, t in zip(data, truth["lesions"], strict=True):
        assert "PREDICTED" in les["dose_refers_to"] and les["activity_gbq"] == 5.5
        assert les["disclaimer"] and les["dose_nuclide"] == "I-131"
        assert set(les) >= KEYS
        assert les["name"] == t["name"]
        assert les["tia_mbq_h_imaged"] == pytest.approx(t["tia_mbq_h_i124"], rel=0.04)
    assert out.is_file() and rd.is_file()


def test_dose_voxel_table_and_repeated_option(phantom_dir: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    pets = _pets(phantom_dir)
    args = [x for p in pets for x in ("--pet", p)]
    r = _redif_inproc(capsys, "dose", "voxel", *args, "--mask", str(phantom_dir / "seg_lesions.dcm"), "--out",
               str(tmp_path / "d.nii.gz"), "--method", "region")
    assert r.returncode == 0, r.stderr
    assert "neck_node_left" in r.stdout and "Decision support" in r.stdout


def _one_line_exit_2(r: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr
    for n in needles:
        assert n in lines[0], lines[0]


def test_bad_input_exits_2(phantom_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pets = _pets(phantom_dir)
    seg = str(phantom_dir / "seg_lesions.dcm")
    out = str(tmp_path / "d.nii.gz")
    # time points out of order: the file is named
    r = _redif_inproc(capsys, "dose", "voxel", "--pet", pets[1], pets[0], pets[2], "--mask", seg,
                      "--out", out)
    _one_line_exit_2(r, "not increasing", pets[0])
    # series without units
    bad = tmp_path / "nounits"
    shutil.copytree(pets[0], bad)
    for f in bad.iterdir():
        ds = pydicom.dcmread(f)
        del ds.Units
        ds.save_as(f)
    r = _redif_inproc(capsys, "dose", "voxel", "--pet", str(bad), *pets[1:], "--mask", seg, "--out", out)
    _one_line_exit_2(r, "Units", str(bad))
    # mask on another grid that reaches outside the PET field of view (issue 14: a mask inside it is
    # resampled; one with labels outside it is still refused, both files named)
    import numpy as np

    from redif.io.nifti import write_nifti

    m = tmp_path / "mask.nii.gz"
    aff = np.diag([2.0, 2.0, 2.0, 1.0])
    aff[:3, 3] = 500.0
    write_nifti(m, np.ones((10, 10, 10), dtype=np.uint8), aff)
    r = _redif_inproc(capsys, "dose", "voxel", "--pet", *pets, "--mask", str(m), "--out", out)
    _one_line_exit_2(r, "different grids", str(m), pets[0])
    r = _redif_inproc(capsys, "dose", "voxel", "--pet", *pets, "--mask", seg, "--out", out,
                      "--method", "magic")
    _one_line_exit_2(r, "--method")
    r = _redif_inproc(capsys, "phantom", str(tmp_path / "p"), "--time-points-h", "24,4")
    _one_line_exit_2(r, "--time-points-h")  # issue 10: the engine field time_points_h shown as the flag


def test_batch_cli(phantom_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pets = ";".join(_pets(phantom_dir))
    man = tmp_path / "m.csv"
    man.write_text(f"case_id,pet,mask,activity_gbq\nA,{pets},{phantom_dir / 'seg_lesions.dcm'},2\n"
                   f"B,{tmp_path / 'missing'},{phantom_dir / 'seg_lesions.dcm'},\n")
    r = _redif_inproc(capsys, "dose", "batch", str(man), "--out-dir", str(tmp_path / "o"), "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["n_ok"] == 1 and data["n_failed"] == 1
    assert data["cases"][1]["case_id"] == "B" and data["cases"][1]["error"]
    assert (tmp_path / "o" / "A_dose.nii.gz").is_file()
    r = _redif_inproc(capsys, "dose", "batch", str(tmp_path / "none.csv"))
    _one_line_exit_2(r, "manifest not found")


def test_nifti_inputs_give_the_dicom_answer(phantom_dir: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """The same study as NIfTI (kBq/mL, explicit times) gives the same lesion doses as from DICOM."""
    from redif.io.dicom import read_pet_series
    from redif.io.masks import read_mask
    from redif.io.nifti import write_nifti

    pets = _pets(phantom_dir)
    niis, times = [], []
    for i, d in enumerate(pets):
        v = read_pet_series(d)
        p = tmp_path / f"tp{i}.nii.gz"
        write_nifti(p, v.array / 1000.0, v.affine)
        niis.append(str(p))
        times.append(f"{v.time_since_admin_h:g}")
    ref = read_pet_series(pets[0])
    lm = read_mask(phantom_dir / "seg_lesions.dcm", ref)
    mask = tmp_path / "labels.nii.gz"
    write_nifti(mask, lm.array, ref.affine)
    (tmp_path / "labels.json").write_text(json.dumps({str(k): v for k, v in lm.names.items()}))
    common = ["--mask", str(mask), "--out", str(tmp_path / "d.nii.gz"), "--json"]
    r = _redif_inproc(capsys, "dose", "voxel", "--pet", *niis, *common, "--nifti-units", "kBq/mL",
                      "--times-h", ",".join(times), "--nuclide", "I-124", "--injected-mbq", "37")
    assert r.returncode == 0, r.stderr
    from_nifti = json.loads(r.stdout)["lesions"]
    r = _redif_inproc(capsys, "dose", "voxel", "--pet", *pets, "--mask", str(phantom_dir / "seg_lesions.dcm"),
                      "--out", str(tmp_path / "d2.nii.gz"), "--json")
    from_dicom = json.loads(r.stdout)["lesions"]
    for a, b in zip(from_nifti, from_dicom, strict=True):
        assert a["name"] == b["name"]
        assert a["mean_gy"] == pytest.approx(b["mean_gy"], rel=1e-4)
    # NIfTI without units: refused, one line
    r = _redif_inproc(capsys, "dose", "voxel", "--pet", *niis, *common)
    _one_line_exit_2(r, "NIfTI")


def test_plan_lesions_yaml_feeds_dose_plan(phantom_dir: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """`--plan-lesions-yaml` writes the lesions block that `redif dose plan`'s schema accepts."""
    import yaml

    from redif.dosimetry.plan_input import DosimetryPlanInput

    les_yaml = tmp_path / "lesions.yaml"
    r = _redif_inproc(capsys, "dose", "voxel", "--pet", *_pets(phantom_dir), "--mask",
                      str(phantom_dir / "seg_lesions.dcm"), "--out", str(tmp_path / "d.nii.gz"),
                      "--plan-lesions-yaml", str(les_yaml), "--json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)["lesions"]
    block = yaml.safe_load(les_yaml.read_text())["lesions"]
    assert [b["tia_h"] for b in block] == pytest.approx([row["tia_h"] for row in rows])
    case = {"weight_kg": 70, "whole_body": {"tia_h": 20.0}, "blood": {"tia_h_per_ml": 0.002},
            "lesions": block}
    plan = DosimetryPlanInput.from_mapping(case)
    assert len(plan.lesions) == len(rows)
