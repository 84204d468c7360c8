"""Issue 14, CLI: `redif phantom --motion-mm` -> `redif dose voxel --register ... --json`.

Expected values: the phantom's known shift (whole 5-mm voxels) and its closed-form truth (truth.json,
unchanged by the motion).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest


def _redif_inproc(capsys: pytest.CaptureFixture[str], *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI entry point (redif.cli.main.main) in this process (as in test_cli_voxel.py)."""
    from redif.cli.main import main

    capsys.readouterr()
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return subprocess.CompletedProcess(list(args), code, out.out, out.err)


def _one_line_exit_2(r: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr
    for n in needles:
        assert n in lines[0], lines[0]


@pytest.fixture(scope="module")
def moved_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from redif.dosimetry.phantoms import PhantomSpec, make_phantom
    from redif.workflows.phantom_files import write_phantom

    out = tmp_path_factory.mktemp("reg") / "ph"
    # what `redif phantom OUT --shape 40,40,32 --voxel-mm 5 --motion-mm 10,-5,15 --no-ct` writes
    spec = PhantomSpec(shape=(32, 40, 40), voxel_mm=5.0, motion_mm=(10.0, -5.0, 15.0))
    write_phantom(make_phantom(spec), out, with_ct=False)
    return out


def _pets(d: Path) -> list[str]:
    return sorted(str(p) for p in d.glob("pet_*"))


def test_motion_phantom_registered_from_the_cli(moved_dir: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """`--json` is an object with `lesions` and `registration`; the shift (10, -5, 15) mm is recovered
    within 1 mm at each later time point, the truth file is the motionless one, and the 124I TIAs are
    within 5 % of it with registration and more than 20 % low without."""
    truth = json.loads((moved_dir / "truth.json").read_text())
    assert truth["motion_mm"] == [10.0, -5.0, 15.0]
    seg = str(moved_dir / "seg_lesions.dcm")
    r = _redif_inproc(capsys, "dose", "voxel", "--pet", *_pets(moved_dir), "--mask", seg, "--out",
                      str(tmp_path / "d.nii.gz"), "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert set(data) == {"lesions", "registration"}
    regs = data["registration"]
    assert regs[0]["reference"] and regs[0]["time_point"] == 4.0
    for reg in regs[1:]:
        assert reg["kind"] == "rigid" and len(reg["translation_mm"]) == 3 and reg["metric"] < 0
        for got, want in zip(reg["translation_mm"], (10.0, -5.0, 15.0), strict=True):
            assert got == pytest.approx(want, abs=1.0)
        assert reg["rotation_deg"] < 0.5
    for les, t in zip(data["lesions"], truth["lesions"], strict=True):
        assert les["tia_mbq_h_imaged"] == pytest.approx(t["tia_mbq_h_i124"], rel=0.05), les["name"]
    r = _redif_inproc(capsys, "dose", "voxel", "--pet", *_pets(moved_dir), "--mask", seg, "--out",
                      str(tmp_path / "d0.nii.gz"), "--register", "none", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert all(x["translation_mm"] == [0.0, 0.0, 0.0] for x in data["registration"])
    for les, t in zip(data["lesions"], truth["lesions"], strict=True):
        assert les["tia_mbq_h_imaged"] < 0.8 * t["tia_mbq_h_i124"], les["name"]
    # the table reports each time point's transform
    r = _redif_inproc(capsys, "dose", "voxel", "--pet", *_pets(moved_dir), "--mask", seg, "--out",
                      str(tmp_path / "d1.nii.gz"), "--reference-time-point", "2")
    assert r.returncode == 0, r.stderr
    assert "24 h is the reference time point" in r.stdout and "registration (rigid): 4 h" in r.stdout


def test_registration_options_bad_input(moved_dir: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    seg = str(moved_dir / "seg_lesions.dcm")
    out = str(tmp_path / "d.nii.gz")
    r = _redif_inproc(capsys, "dose", "voxel", "--pet", *_pets(moved_dir), "--mask", seg, "--out", out,
                      "--register", "elastic")
    _one_line_exit_2(r, "--register", "rigid, affine or none")
    r = _redif_inproc(capsys, "dose", "voxel", "--pet", *_pets(moved_dir), "--mask", seg, "--out", out,
                      "--reference-time-point", "7")
    _one_line_exit_2(r, "--reference-time-point", "1 to 4")
    r = _redif_inproc(capsys, "phantom", str(tmp_path / "p"), "--motion-mm", "1,2")
    _one_line_exit_2(r, "--motion-mm", "X,Y,Z")


def test_phantom_cli_motion(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`redif phantom --motion-mm --rotation-deg` records the motion beside the unchanged truth."""
    r = _redif_inproc(capsys, "phantom", str(tmp_path / "p"), "--shape", "24,24,20", "--voxel-mm", "6",
                      "--motion-mm", "3,0,-2", "--rotation-deg", "0,0,2", "--no-ct", "--json")
    assert r.returncode == 0, r.stderr
    truth = json.loads((tmp_path / "p" / "truth.json").read_text())
    assert truth["motion_mm"] == [3.0, 0.0, -2.0] and truth["rotation_deg"] == [0.0, 0.0, 2.0]
