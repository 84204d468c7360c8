"""`redif design ...` through the real CLI entry point: JSON contracts and bad input (exit 2, one line).

Most tests call ``redif.cli.main.main`` in-process; ``test_subprocess_*`` run ``python -m redif``.

Expected designs come from clinfun 1.1.5 run here (see ``ref/clinfun_reference.R``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest


def _json(cli: Any, *args: str) -> Any:
    out = cli(*args, "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_simon_json(redif_cli: Any) -> None:
    d = _json(redif_cli, "design", "simon", "--p0", "0.1", "--p1", "0.3", "--alpha", "0.05", "--beta", "0.2")
    for key in ("optimal", "minimax"):
        assert set(d[key]) >= {"r1", "n1", "r", "n", "en0", "pet0", "alpha", "power"}
    assert (d["optimal"]["r1"], d["optimal"]["n1"], d["optimal"]["r"], d["optimal"]["n"]) == (1, 10, 5, 29)
    assert (d["minimax"]["r1"], d["minimax"]["n1"], d["minimax"]["r"], d["minimax"]["n"]) == (1, 15, 5, 25)
    assert [(a["n1"], a["n"]) for a in d["admissible"]] == [(15, 25), (12, 26), (11, 27), (10, 29)]


def test_simon_table_and_plot(redif_cli: Any, tmp_path: Path) -> None:
    png = tmp_path / "oc.png"
    out = redif_cli("design", "simon", "--p0", "0.2", "--p1", "0.4", "--beta", "0.1", "--plot", str(png))
    assert out.returncode == 0, out.stderr
    assert "optimal" in out.stdout and "15/54" in out.stdout
    assert png.stat().st_size > 10_000


def test_single_and_inference_json(redif_cli: Any) -> None:
    d = _json(
        redif_cli, "design", "single", "--p0", "0.2", "--p1", "0.4", "--beta", "0.1", "--solutions", "3"
    )
    assert [(x["n"], x["r"]) for x in d["designs"]] == [(47, 14), (48, 14), (50, 15)]
    i = _json(
        redif_cli,
        "design",
        "simon-inference",
        "--x",
        "8",
        "--r1",
        "4",
        "--n1",
        "19",
        "--n",
        "54",
        "--p0",
        "0.2",
    )
    assert set(i) >= {"umvue", "p_value", "ci_lower", "ci_upper"}
    assert i["umvue"] == pytest.approx(0.27428826654785, abs=1e-10)
    assert i["p_value"] == pytest.approx(0.323200411054976, abs=1e-10)


def test_map_from_csv_and_evidence(redif_cli: Any, tmp_path: Path) -> None:
    csv = tmp_path / "arms.csv"
    csv.write_text("label,r,n\nA,4,9\nB,4,10\nC,2,6\n", encoding="utf-8")
    d = _json(redif_cli, "design", "map", "--data", str(csv), "--robust-weight", "0.3")
    assert set(d) >= {"mixture", "mean", "sd", "ess"}
    assert set(d["ess"]) == {"elir", "moment", "morita"}
    assert sum(c["w"] for c in d["mixture"]) == pytest.approx(1.0)
    assert d["mixture"][-1] == {"w": pytest.approx(0.3), "a": 1.0, "b": 1.0}
    e = _json(
        redif_cli,
        "design",
        "map",
        "--from-evidence",
        "--outcome",
        "uptake",
        "--genotype",
        "BRAF",
        "--definition",
        "post-therapy",
        "--min-grade",
        "unverified",
    )
    assert [a["n"] for a in e["historical"]["arms"]] and e["historical"]["selection"]
    assert 0 < e["mean"] < 1
    # Issue 12 curation: MERAIODE BRAF's post-therapy count (95% -> 19/20) is derived and unverified, so
    # at the default grade (secondary) no BRAF arm has a post-therapy count: a clear exit 2, not a guess.
    out = redif_cli("design", "map", "--from-evidence", "--outcome", "uptake", "--genotype", "BRAF",
                    "--definition", "post-therapy", "--json")
    assert out.returncode == 2 and "no arm of the evidence base matches" in out.stderr


def test_oc_survival_two_arm_json(redif_cli: Any) -> None:
    d = _json(redif_cli, "design", "oc", "--p0", "0.1", "--p1", "0.3", "--bayes-n", "25", "--grid", "0.1,0.3")
    assert len(d["rows"]) == 2 and len(d["designs"]) == 4
    row0 = d["rows"][0]
    assert row0["Simon optimal 1/10, 5/29"] == pytest.approx(0.04708630664389132, abs=1e-12)
    s = _json(redif_cli, "design", "survival", "--hr", "0.6")
    assert s["events"] == 121
    t = _json(redif_cli, "design", "two-arm", "--p1", "0.2", "--p2", "0.4")
    assert t["n1"] == 82 and t["n2"] == 82


@pytest.mark.parametrize(
    "args",
    [
        ["design", "simon", "--p0", "0.4", "--p1", "0.2"],
        ["design", "simon", "--p0", "0.2", "--p1", "0.4", "--alpha", "1.2"],
        ["design", "simon", "--p0", "0.2", "--p1", "0.4", "--beta", "0"],
        ["design", "simon", "--p0", "0.2", "--p1", "0.4", "--nmax", "10"],
        ["design", "single", "--p0", "0.3", "--p1", "0.3"],
        ["design", "simon-inference", "--x", "70", "--r1", "4", "--n1", "19", "--n", "54", "--p0", "0.2"],
        ["design", "map", "--outcome", "uptake"],
        ["design", "map", "--data", "/nonexistent/arms.csv"],
        ["design", "map", "--from-evidence", "--outcome", "uptake", "--genotype", "NOPE"],
        ["design", "survival", "--hr", "1"],
        ["design", "two-arm", "--p1", "0.2", "--p2", "1.4"],
        ["design", "oc", "--p0", "0.1", "--p1", "0.3", "--simon", "1,10,5"],
    ],
)
def test_bad_input_one_line_exit_2(redif_cli: Any, args: list[str]) -> None:
    out = redif_cli(*args)
    assert out.returncode == 2, (out.stdout, out.stderr)
    lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), out.stderr
    assert "Traceback" not in out.stderr


def test_bad_csv_row_named(redif_cli: Any, tmp_path: Path) -> None:
    csv = tmp_path / "arms.csv"
    csv.write_text("label,r,n\nA,4,9\nB,12,10\n", encoding="utf-8")
    out = redif_cli("design", "map", "--data", str(csv))
    assert out.returncode == 2
    assert "line 3" in out.stderr


def _run_redif(*args: str) -> Any:
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "redif", *args], capture_output=True, text=True, check=False)


def test_subprocess_good_and_bad() -> None:
    """The console entry point in a fresh process: JSON on stdout; bad input -> exit 2, one line."""
    ok = _run_redif("design", "survival", "--hr", "0.6", "--json")
    assert ok.returncode == 0 and json.loads(ok.stdout)["events"] == 121
    bad = _run_redif("design", "simon", "--p0", "0.4", "--p1", "0.2", "--json")
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0 and bad.stderr.startswith("error: --p1")  # field p1 -> flag


def test_map_csv_aliases_and_unit_vague(redif_cli: Any, tmp_path: Path) -> None:
    """Column aliases events/total; ``--vague unit`` adds Beta(m, 1 - m) with m the MAP mean."""
    csv = tmp_path / "arms.csv"
    csv.write_text("study,events,total\nX,6,20\nY,9,25\n", encoding="utf-8")
    d = _json(redif_cli, "design", "map", "--data", str(csv), "--vague", "unit")
    last = d["mixture"][-1]
    assert last["a"] + last["b"] == pytest.approx(1.0)
    assert last["a"] == pytest.approx(d["map"]["mean"], abs=1e-12)
    assert [a["label"] for a in d["historical"]["arms"]] == ["X", "Y"]
    bad = redif_cli("design", "map", "--data", str(csv), "--vague", "flat")
    assert bad.returncode == 2 and "vague" in bad.stderr
