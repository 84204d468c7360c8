"""Issue 15 items 3 and 5: `redif design predictive|bop2` through the real CLI entry point (JSON keys, the
design summary files, bad input exit 2). Expected numbers are those of the engines, which are checked
against brute-force enumeration in test_predictive.py and test_bop2.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from redif.design.assurance import single_arm_assurance
from redif.design.bop2 import bop2_design
from redif.design.mixture import BetaMixture


def test_predictive_json_and_summary(redif_cli: Any, tmp_path: Path) -> None:
    """Issue 15: predictive --json keys; the stopping table and OC; --summary-json states versions."""
    sj = tmp_path / "summary.json"
    out = redif_cli(
        "design",
        "predictive",
        "--p0",
        "0.2",
        "--p1",
        "0.4",
        "--nmax",
        "30",
        "--alpha",
        "0.1",
        "--power",
        "0.8",
        "--looks",
        "10,15,20,25",
        "--theta-t-grid",
        "0.85,0.9",
        "--summary-json",
        str(sj),
        "--json",
    )
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    des = d["design"]
    assert set(des) >= {"theta_l", "theta_t", "type1_error", "power", "pet_p0", "en_p0", "stopping_table"}
    assert des["type1_error"] <= 0.1 and des["power"] >= 0.8
    assert des["stopping_table"]["looks"] == [10, 15, 20, 25, 30]
    s = json.loads(sj.read_text())
    assert set(s["software"]) == {"redif", "python", "numpy", "scipy"}
    assert any("Lee JJ" in r for r in s["references"]) and s["assumptions"]


def test_bop2_json_table_and_pdf(redif_cli: Any, tmp_path: Path) -> None:
    """Issue 15: bop2 --json equals the engine; the text table prints; --pdf writes a PDF."""
    out = redif_cli(
        "design", "bop2", "--p0", "0.2", "--p1", "0.4", "--nmax", "40", "--looks", "10,20,30", "--json"
    )
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    ref = bop2_design(0.2, 0.4, 40, looks=[10, 20, 30], alpha=0.1)
    assert d["lambda"] == ref.lam and d["gamma"] == ref.gamma
    assert d["stopping_table"]["stop_if_responses_at_most"] == list(ref.table.r[:-1])
    a = redif_cli(
        "design",
        "bop2",
        "--p0",
        "0.2",
        "--p1",
        "0.4",
        "--nmax",
        "40",
        "--looks",
        "10,20,30",
        "--design-prior",
        "1,1",
        "--json",
    )
    assert json.loads(a.stdout)["assurance"] == single_arm_assurance(ref.table, BetaMixture.beta(1, 1))
    pdf = tmp_path / "bop2.pdf"
    txt = redif_cli(
        "design",
        "bop2",
        "--p0",
        "0.2",
        "--p1",
        "0.4",
        "--nmax",
        "20",
        "--n-looks",
        "2",
        "--pdf",
        str(pdf),
        "--plot",
        str(tmp_path / "bop2.png"),
    )
    assert txt.returncode == 0, txt.stderr
    assert "final: promising if responses >" in txt.stdout
    assert pdf.read_bytes().startswith(b"%PDF")
    assert (tmp_path / "bop2.png").stat().st_size > 10_000


def test_predictive_nmax_search(redif_cli: Any) -> None:
    """Issue 15: --nmin searches the smallest feasible Nmax (Lee & Liu's minimax); --looks is refused."""
    out = redif_cli(
        "design",
        "predictive",
        "--p0",
        "0.2",
        "--p1",
        "0.4",
        "--nmin",
        "20",
        "--nmax",
        "60",
        "--alpha",
        "0.1",
        "--power",
        "0.9",
        "--json",
    )
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert 20 <= d["nmax"] <= 60 and d["design"]["power"] >= 0.9 and d["design"]["type1_error"] <= 0.1
    bad = redif_cli(
        "design",
        "predictive",
        "--p0",
        "0.2",
        "--p1",
        "0.4",
        "--nmin",
        "20",
        "--nmax",
        "60",
        "--looks",
        "10,20",
    )
    assert bad.returncode == 2 and "--looks" in bad.stderr


def test_bad_input_exit_2(redif_cli: Any) -> None:
    """Issue 15: an infeasible Nmax and bad looks are one line on stderr naming the flag, exit 2."""
    out = redif_cli(
        "design",
        "predictive",
        "--p0",
        "0.2",
        "--p1",
        "0.4",
        "--nmax",
        "8",
        "--alpha",
        "0.05",
        "--power",
        "0.9",
    )
    assert out.returncode == 2 and "--nmax" in out.stderr
    out = redif_cli("design", "bop2", "--p0", "0.2", "--p1", "0.4", "--nmax", "40", "--looks", "20,10")
    assert out.returncode == 2 and "--looks" in out.stderr
    out = redif_cli("design", "bop2", "--p0", "0.5", "--p1", "0.4", "--nmax", "40")
    assert out.returncode == 2 and "--p1" in out.stderr
