"""`redif dose tia|stp|convert|lesion|blood|plan`: stable JSON keys, closed-form values, bad input -> exit 2.

Commands run in-process through :func:`redif.cli.main.main` (the same central error handler as the
console script); two cases also run as a subprocess to check the real exit status and stderr.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from redif.cli.main import main
from redif.dosimetry.nuclides import get_nuclide

ROOT = Path(__file__).resolve().parents[2]


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out = capsys.readouterr()
    code = info.value.code if isinstance(info.value.code, int) else 1
    return code, out.out, out.err


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    code, out, err = _run(capsys, *args, "--json")
    assert code == 0, err
    data: dict[str, Any] = json.loads(out)
    return data


def test_tia_keys_and_closed_form(capsys: pytest.CaptureFixture[str]) -> None:
    """Values 0.3·e^(−(0.01+λ131)t): tia_h = 0.3/(0.01+λ131)."""
    lam = get_nuclide("I-131").decay_constant_per_h
    times = [4, 24, 48, 96]
    vals = ",".join(f"{0.3 * math.exp(-(0.01 + lam) * t):.12g}" for t in times)
    d = _json(capsys, "dose", "tia", "--times-h", "4,24,48,96", "--values", vals, "--model", "mono")
    for key in (
        "tia_h",
        "model",
        "parameters",
        "aic",
        "effective_half_life_h",
        "ci_lower",
        "ci_upper",
        "decay_corrected",
        "r2",
    ):
        assert key in d
    assert d["tia_h"] == pytest.approx(0.3 / (0.01 + lam), rel=1e-6)
    assert d["decay_corrected"] is False and d["model"] == "mono"


def test_tia_auto_with_ci(capsys: pytest.CaptureFixture[str]) -> None:
    d = _json(
        capsys, "dose", "tia", "--times-h", "4,24,48,96", "--values", "0.3,0.25,0.2,0.12", "--decay-corrected"
    )
    assert d["decay_corrected"] is True
    assert d["ci_lower"] < d["tia_h"] < d["ci_upper"]


def test_stp(capsys: pytest.CaptureFixture[str]) -> None:
    """Hänscheid: 0.2·2·48/ln2 = 27.70 h."""
    d = _json(capsys, "dose", "stp", "--time-h", "48", "--value", "0.2")
    assert d["tia_h"] == pytest.approx(0.2 * 96 / math.log(2))


def test_convert_keys_and_values(capsys: pytest.CaptureFixture[str]) -> None:
    l124, l131 = get_nuclide("I-124").decay_constant_per_h, get_nuclide("I-131").decay_constant_per_h
    d = _json(
        capsys,
        "dose",
        "convert",
        "--from",
        "I-124",
        "--to",
        "I-131",
        "--times-h",
        "24,48,96",
        "--values",
        "0.01,0.008,0.005",
        "--samples",
        "0",
    )
    assert d["values"] == pytest.approx(
        [v * math.exp((l124 - l131) * t) for t, v in [(24, 0.01), (48, 0.008), (96, 0.005)]]
    )
    assert d["tia_h"] > 0


def test_lesion_keys(capsys: pytest.CaptureFixture[str]) -> None:
    d = _json(capsys, "dose", "lesion", "--mass-g", "2", "--tia-h", "0.5", "--target-gy", "20")
    assert d["dose_per_activity_gy_per_gbq"] == pytest.approx(0.5 * d["s_mgy_per_mbq_s"] * 3600)
    assert d["activity_for_target_gbq"] == pytest.approx(20 / d["dose_per_activity_gy_per_gbq"])
    assert "disclaimer" in d


def test_blood_keys(capsys: pytest.CaptureFixture[str]) -> None:
    d = _json(
        capsys,
        "dose",
        "blood",
        "--weight-kg",
        "70",
        "--wb-tia-h",
        "30",
        "--blood-tia-h-per-ml",
        "0.002",
        "--retention-48h",
        "0.25",
        "--lung-metastases",
    )
    assert d["mta_gbq"] == pytest.approx(2.0 / d["dose_per_activity_gy_per_gbq"])
    assert d["retention_limited_activity_gbq"] == pytest.approx(3.0 / 0.25)


def test_plan_example(capsys: pytest.CaptureFixture[str]) -> None:
    d = _json(capsys, "dose", "plan", str(ROOT / "examples" / "dosimetry_plan.yaml"))
    assert d["recommended_activity_gbq"] > 0
    assert d["binding_constraint"]
    names = {o["name"] for o in d["options"]}
    assert {"dosimetric", "empiric"} <= names
    assert all(len(o["lesion_doses"]) == 2 for o in d["options"])


def test_plan_human_output(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "dose", "plan", str(ROOT / "examples" / "dosimetry_plan.yaml"))
    assert code == 0
    assert "Recommended 131I activity" in out and "Decision support" in out


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["tia", "--times-h", "4,24,12", "--values", "0.3,0.2,0.1"], "--times-h"),
        (["tia", "--times-h", "4,24,48", "--values", "0.3,-0.2,0.1"], "values"),
        (["tia", "--times-h", "4,24,48", "--values", "0.3,0.2,0.1", "--model", "bi"], "too few points"),
        (["tia", "--times-h", "4,x,48", "--values", "0.3,0.2,0.1"], "--times-h"),
        (["tia", "--times-h", "4,24,48", "--values", "0.3,0.2,0.1", "--nuclide", "Xx-1"], "nuclide"),
        (["lesion", "--mass-g", "5000", "--tia-h", "1"], "--mass-g"),
        (["lesion", "--tia-h", "1"], "--mass-g"),
        (["blood", "--weight-kg", "-70", "--wb-tia-h", "30", "--blood-tia-h-per-ml", "0.002"], "--weight-kg"),
        (["convert", "--times-h", "4,24", "--values", "0.3,0.2", "--rc-values", "0.5,0.6"], "--rc-values"),
        (["plan", "/nonexistent/case.yaml"], "not found"),
    ],
)
def test_bad_input_exit_2_one_line(capsys: pytest.CaptureFixture[str], args: list[str], needle: str) -> None:
    """One line, exit 2; issue 10: the engine names its field (``times_h``), the CLI shows its flag."""
    code, _, err = _run(capsys, "dose", *args, "--json")
    assert code == 2
    assert needle in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_plan_bad_field(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    case = tmp_path / "c.yaml"
    case.write_text(
        "weight_kg: 70\nlesions:\n  - name: a\n    volume_ml: -2\n    tia_h: 0.5\n", encoding="utf-8"
    )
    code, _, err = _run(capsys, "dose", "plan", str(case), "--json")
    assert code == 2 and "lesions.0.volume_ml" in err
    case.write_text("weight_kg: [\n", encoding="utf-8")
    code, _, err = _run(capsys, "dose", "plan", str(case))
    assert code == 2 and "not valid YAML" in err


def test_subprocess_exit_status() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "redif",
            "dose",
            "tia",
            "--times-h",
            "4,24,12",
            "--values",
            "0.3,0.2,0.1",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 2
    assert out.stderr.startswith("error: --times-h:") and out.stdout == ""  # issue 10: the CLI's flag


def test_lesion_from_measurements_has_ci(capsys: pytest.CaptureFixture[str]) -> None:
    """124I series -> 131I TIA (same as `dose convert`) -> dose with a Monte Carlo CI."""
    conv = _json(
        capsys,
        "dose",
        "convert",
        "--times-h",
        "4,24,48,72,96",
        "--values",
        "0.003669,0.002703,0.001765,0.001149,0.0007815",
        "--samples",
        "0",
    )
    d = _json(
        capsys,
        "dose",
        "lesion",
        "--volume-ml",
        "2",
        "--times-h",
        "4,24,48,72,96",
        "--values",
        "0.003669,0.002703,0.001765,0.001149,0.0007815",
        "--measurement-cv",
        "0.1",
        "--target-gy",
        "20",
    )
    assert d["tia_h"] == pytest.approx(conv["tia_h"])
    assert d["ci_lower"] < d["dose_per_activity_gy_per_gbq"] < d["ci_upper"]
    assert d["activity_ci_lower_gbq"] < d["activity_for_target_gbq"] < d["activity_ci_upper_gbq"]


def test_other_units_and_nuclides(capsys: pytest.CaptureFixture[str]) -> None:
    """MBq values and I-123 (half-life only) work for kinetics; I-123 has no S-values (exit 2)."""
    d = _json(
        capsys,
        "dose",
        "tia",
        "--times-h",
        "2,6,24",
        "--values",
        "40,30,10",
        "--unit",
        "MBq",
        "--nuclide",
        "I-123",
        "--samples",
        "0",
    )
    assert d["unit"] == "MBq" and d["nuclide"] == "I-123"
    code, _, err = _run(capsys, "dose", "lesion", "--mass-g", "2", "--tia-h", "1", "--nuclide", "I-123")
    assert code == 2 and "nuclide" in err
    code, _, err = _run(capsys, "dose", "stp", "--time-h", "24", "--value", "0.1", "--method", "madsen")
    assert code == 2 and "--effective-half-life-h" in err


def test_plan_with_voxel_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """`redif dose plan CASE --voxel-json V`: the voxel lesions' mean Gy/GBq set the lesion targets
    (A = 20/8 = 2.5 GBq here); the chain phantom -> voxel -> plan is exercised with the voxel CLI's keys."""
    case = tmp_path / "c.yaml"
    case.write_text("weight_kg: 70\nwhole_body: {tia_h: 20, retention_fraction_48h: 0.2}\n", encoding="utf-8")
    vox = tmp_path / "v.json"
    vox.write_text(
        json.dumps({"lesions": [{"name": "a", "mass_g": 3.0, "mean_gy_per_gbq": 8.0}]}), encoding="utf-8"
    )
    d = _json(capsys, "dose", "plan", str(case), "--voxel-json", str(vox))
    assert d["recommended_activity_gbq"] == pytest.approx(2.5)
    assert d["binding_constraint"] == "lesion target: a"
    vox.write_text("{not json", encoding="utf-8")
    code, _, err = _run(capsys, "dose", "plan", str(case), "--voxel-json", str(vox))
    assert code == 2 and "not valid JSON" in err


def test_blood_red_marrow(capsys: pytest.CaptureFixture[str]) -> None:
    """RMBLR = 0.19/(1 − 0.4); ã_RM = RMBLR·1170 g·0.002 h/mL (docs/methods/dosimetry.md §6, arithmetic)."""
    d = _json(
        capsys,
        "dose",
        "blood",
        "--weight-kg",
        "70",
        "--wb-tia-h",
        "30",
        "--blood-tia-h-per-ml",
        "0.002",
        "--haematocrit",
        "0.4",
        "--red-marrow-mass-g",
        "1170",
    )
    assert d["rmblr"] == pytest.approx(0.19 / 0.6)
    assert d["red_marrow_tia_h"] == pytest.approx(0.19 / 0.6 * 1170 * 0.002)
    code, _, err = _run(
        capsys,
        "dose",
        "blood",
        "--weight-kg",
        "70",
        "--wb-tia-h",
        "30",
        "--blood-tia-h-per-ml",
        "0.002",
        "--red-marrow-mass-g",
        "1170",
    )
    assert code == 2 and "--haematocrit" in err
