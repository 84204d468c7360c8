"""Issue 14: post-therapy verification (predicted 124I vs delivered 131I SPECT lesion doses).

Expected values: Bland-Altman statistics from base R (reference/bland_altman_verification.R, its output
committed as reference/bland_altman_verification.csv); the ratio uncertainty from the closed form of the
GUM for a quotient (independent relative uncertainties add in quadrature); the phantom's known therapy
uptake factor (``redif phantom --spect --spect-uptake-factor F``: delivered lesion TIA = F x predicted,
spect_truth.json), recovered by `redif dose verify` within the stated tolerance.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import subprocess
from pathlib import Path

import pytest

from redif.dosimetry.verification import DosePair, bland_altman, ratio_uncertainty, verify_lesion_doses
from redif.errors import InputError

REF = Path(__file__).parent / "reference" / "bland_altman_verification.csv"
DELIVERED = [46.1, 15.0, 5.5, 75.4, 30.2, 12.9]  # as in the R script
PREDICTED = [57.0, 18.1, 6.5, 93.9, 28.0, 16.4]
FACTOR = 0.7


def _reference() -> dict[str, dict[str, float]]:
    with REF.open(encoding="utf-8") as fh:
        return {row.pop("scale"): {k: float(v) for k, v in row.items()} for row in csv.DictReader(fh)}


@pytest.mark.parametrize("log", [True, False])
def test_bland_altman_matches_r(log: bool) -> None:
    """Issue 14: bias, SD, limits of agreement and their 1986 CIs equal base R's hand computation."""
    ref = _reference()["log_ratio" if log else "difference_gy"]
    ba = bland_altman(DELIVERED, PREDICTED, log=log)
    assert ba.n == int(ref["n"])
    for ours, key in ((ba.mean, "mean"), (ba.sd, "sd"), (ba.loa_lower, "loa_lower"),
                      (ba.loa_upper, "loa_upper"),
                      (ba.mean_ci95[0], "mean_ci_lower"), (ba.mean_ci95[1], "mean_ci_upper"),
                      (ba.loa_lower_ci95[0], "loa_lower_ci_lower"),
                      (ba.loa_upper_ci95[1], "loa_upper_ci_upper")):
        assert ours == pytest.approx(ref[key], rel=1e-9, abs=1e-12), key
    if log:
        assert ba.ratio_geometric_mean == pytest.approx(math.exp(ref["mean"]), rel=1e-12)


def test_ratio_uncertainty_closed_forms() -> None:
    """Issue 14: u(R)/R = sqrt(u_p^2 + u_d^2); one component alone gives itself; unstated gives None."""
    assert ratio_uncertainty(0.03, 0.04) == pytest.approx(0.05, rel=1e-12)
    assert ratio_uncertainty(0.0, 0.12) == pytest.approx(0.12, rel=1e-12)
    assert ratio_uncertainty(None, 0.1) is None
    res = verify_lesion_doses([DosePair("a", 20.0, 16.0, 0.03, 0.04), DosePair("b", 10.0, 9.0)])
    a = res.lesions[0]
    assert a.ratio == pytest.approx(0.8) and a.u_ratio == pytest.approx(0.8 * 0.05)
    assert a.ratio_ci95_lower == pytest.approx(0.8 * math.exp(-1.959963984540054 * 0.05), rel=1e-9)
    assert res.lesions[1].u_ratio is None
    with pytest.raises(InputError, match="at least two"):
        bland_altman([1.0], [1.0])
    with pytest.raises(InputError, match="relative standard uncertainty"):
        ratio_uncertainty(-0.1, 0.1)


def _redif(capsys: pytest.CaptureFixture[str], *args: str) -> subprocess.CompletedProcess[str]:
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
def study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Phantom with post-therapy SPECT (lesion uptake FACTOR x predicted) and the 5.5 GBq prediction."""
    from redif.cli.main import main

    out = tmp_path_factory.mktemp("verify") / "ph"

    def run(args: list[str]) -> str:
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            try:
                main(args)
            except SystemExit as exc:
                assert not exc.code, args
        return buf.getvalue()

    payload = json.loads(run(["phantom", str(out), "--shape", "48,48,40", "--voxel-mm", "4.8", "--spect",
                              "--spect-uptake-factor", str(FACTOR), "--json"]))
    assert len(payload["spect"]) == len(payload["spect_counts"]) == 3
    assert Path(payload["spect_truth"]).is_file()
    pred = run(["dose", "voxel", "--pet", *sorted(str(p) for p in out.glob("pet_*")), "--mask",
                str(out / "seg_lesions.dcm"), "--out", str(out / "dose.nii.gz"), "--activity-gbq", "5.5",
                "--json"])
    (out / "pred.json").write_text(pred, encoding="utf-8")
    return out


def _verify(capsys: pytest.CaptureFixture[str], study: Path, spect: str, *extra: str
            ) -> subprocess.CompletedProcess[str]:
    return _redif(capsys, "dose", "verify", "--predicted", str(study / "pred.json"), "--spect",
                  *sorted(str(p) for p in study.glob(spect)), "--mask", str(study / "seg_lesions.dcm"),
                  *extra, "--json")


def test_phantom_verification_reproduces_known_ratio(study: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 14: delivered/predicted of every lesion = the phantom's uptake factor within 6 % (TIA sampling
    of PET vs SPECT and cross-dose from the unscaled background), their geometric mean within 3 %;
    the counts variant with calibration and dead time gives the same doses."""
    truth = json.loads((study / "spect_truth.json").read_text(encoding="utf-8"))
    assert truth["delivered_over_predicted_tia"] == FACTOR
    r = _verify(capsys, study, "spect_[0-9]*", "--u-predicted", "0.1", "--u-delivered", "0.15")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert set(out) >= {"lesions", "bland_altman", "bland_altman_difference_gy", "administered_gbq", "notes"}
    assert out["administered_gbq"] == pytest.approx(5.5) and out["time_points_h"] == [24.0, 72.0, 144.0]
    ratios = [les["ratio"] for les in out["lesions"]]
    assert len(ratios) == 4
    assert all(abs(x / FACTOR - 1) < 0.06 for x in ratios), ratios
    assert out["bland_altman"]["ratio_geometric_mean"] == pytest.approx(FACTOR, rel=0.03)
    assert out["lesions"][0]["u_ratio_rel"] == pytest.approx(math.hypot(0.1, 0.15))
    cal = str(truth["counts"]["calibration_cps_per_mbq"])
    tau = str(truth["counts"]["dead_time_us"])
    c = _verify(capsys, study, "spect_counts_*", "--calibration-cps-per-mbq", cal, "--dead-time-us", tau)
    assert c.returncode == 0, c.stderr
    counts = json.loads(c.stdout)
    for a, b in zip(out["lesions"], counts["lesions"], strict=True):
        assert b["delivered_gy"] == pytest.approx(a["delivered_gy"], rel=2e-3)
    assert counts["spect"][0]["dead_time_factor"] > 1.0
    missing = _verify(capsys, study, "spect_counts_*")
    assert missing.returncode == 2 and "--calibration-cps-per-mbq" in missing.stderr


def test_single_time_point_and_bad_prediction(study: Path, capsys: pytest.CaptureFixture[str],
                                              tmp_path: Path) -> None:
    """Issue 14: one SPECT time point runs (Hänscheid TIA, stated in the notes); a post-therapy dose file as
    the prediction and a prediction without doses are refused (exit 2, the flag named)."""
    r = _verify(capsys, study, "spect_072p0h")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["time_points_h"] == [72.0] and any("single time point" in n for n in out["notes"])
    post = json.loads((study / "pred.json").read_text(encoding="utf-8"))
    for row in post["lesions"] if isinstance(post, dict) else post:  # `dose voxel --json`: {"lesions": ...}
        row["imaged_nuclide"] = "I-131"
    bad = tmp_path / "post.json"
    bad.write_text(json.dumps(post), encoding="utf-8")
    r = _redif(capsys, "dose", "verify", "--predicted", str(bad), "--spect", str(study / "spect_072p0h"),
               "--mask", str(study / "seg_lesions.dcm"), "--json")
    assert r.returncode == 2 and "--predicted" in r.stderr and "not a prediction" in r.stderr
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps([{"name": "x"}]), encoding="utf-8")
    r = _redif(capsys, "dose", "verify", "--predicted", str(empty), "--spect", str(study / "spect_072p0h"),
               "--mask", str(study / "seg_lesions.dcm"), "--json")
    assert r.returncode == 2 and "mean_gy_per_gbq" in r.stderr


def test_prediction_formats(tmp_path: Path) -> None:
    """Issue 14: the prediction is read from `dose voxel --json` (list, or object with `lesions` and a stated
    `uncertainty.relative_standard`) and `dose lesion --json` (its 95 % CI gives u = ln(hi/lo) / (2 x 1.96),
    the closed form of a log-normal interval)."""
    from redif.workflows.post_therapy import read_predicted

    obj = tmp_path / "obj.json"
    obj.write_text(json.dumps({"lesions": [{"name": "a", "mean_gy_per_gbq": 10.0, "activity_gbq": 5.5,
                                            "uncertainty": {"relative_standard": 0.2, "components": {}}}]}),
                   encoding="utf-8")
    (a,) = read_predicted(obj)
    assert (a.name, a.gy_per_gbq, a.activity_gbq, a.u_rel) == ("a", 10.0, 5.5, 0.2)
    lesion = tmp_path / "lesion.json"
    lesion.write_text(json.dumps({"dose_per_activity_gy_per_gbq": 15.58, "ci_lower": 13.30,
                                  "ci_upper": 18.69}), encoding="utf-8")
    (b,) = read_predicted(lesion)
    assert b.name is None and b.gy_per_gbq == 15.58
    assert b.u_rel == pytest.approx(math.log(18.69 / 13.30) / (2 * 1.959963984540054), rel=1e-9)
    per_dose = tmp_path / "per_dose.json"
    per_dose.write_text(json.dumps([{"name": "c", "mean_gy_per_gbq": 3.0,
                                     "uncertainty": {"mean_gy": {"relative_standard": 0.25}}}]),
                        encoding="utf-8")
    assert read_predicted(per_dose)[0].u_rel == 0.25
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match="cannot read the prediction"):
        read_predicted(broken)
