"""Issue 15 item 5: `--pdf` / `--summary-json` on `redif design group-sequential`, `rates` and `survival`
(rpact-style path) write the protocol design summary (:mod:`redif.reports.design_summary`). Expected
numbers are the engines' (checked against rpact 3.3.4 in test_group_sequential_rpact.py and
test_effect_scale_rpact.py); the effect-scale boundaries in the summary are the committed rpact values
(``data/rpact_effect_scale.json``) formatted to 4 decimals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from redif.design.group_sequential import group_sequential_design

REF = json.loads((Path(__file__).parent / "data" / "rpact_effect_scale.json").read_text(encoding="utf-8"))


def test_group_sequential_summary_files(redif_cli: Any, tmp_path: Path) -> None:
    """Issue 15: group-sequential --summary-json states the design, the boundaries and the versions;
    --pdf writes a PDF; --json on stdout is unchanged."""
    sj, pdf = tmp_path / "s" / "gs.json", tmp_path / "gs.pdf"
    out = redif_cli(
        "design",
        "group-sequential",
        "--k",
        "3",
        "--type",
        "asOF",
        "--beta-spending",
        "bsOF",
        "--summary-json",
        str(sj),
        "--pdf",
        str(pdf),
        "--json",
    )
    assert out.returncode == 0, out.stderr
    ref = group_sequential_design(3, 0.025, 0.2, 1, "asOF", beta_spending="bsOF")
    np.testing.assert_allclose(json.loads(out.stdout)["critical_values"], ref.critical_values, rtol=1e-12)
    s = json.loads(sj.read_text(encoding="utf-8"))
    assert s["kind"] == "group_sequential" and s["design"]["endpoint"] == "none"
    assert s["design"]["sample_size"] is None and set(s["software"]) == {"redif", "python", "numpy", "scipy"}
    assert [r[2] for r in s["tables"][0]["rows"]] == [f"{z:.4f}" for z in ref.critical_values]
    assert any("Lan KKG" in r for r in s["references"]) and any("O'Brien" in r for r in s["references"])
    assert pdf.read_bytes().startswith(b"%PDF")


def test_survival_summary_hr_boundaries(redif_cli: Any, tmp_path: Path) -> None:
    """Issue 15: survival --k 3 --type asOF --summary-json carries the HR boundaries equal to rpact's
    criticalValuesEffectScale (first case of rpact_effect_scale.json) and the survival assumptions."""
    case = REF["survival"][0]
    sj = tmp_path / "surv.json"
    out = redif_cli(
        "design",
        "survival",
        "--hr",
        "0.6",
        "--alpha",
        "0.025",
        "--sided",
        "1",
        "--power",
        "0.8",
        "--accrual-months",
        "24",
        "--followup-months",
        "12",
        "--median-control-months",
        "12",
        "--k",
        "3",
        "--type",
        "asOF",
        "--summary-json",
        str(sj),
        "--json",
    )
    assert out.returncode == 0, out.stderr
    s = json.loads(sj.read_text(encoding="utf-8"))
    assert s["design"]["endpoint"] == "survival"
    np.testing.assert_allclose(
        s["design"]["effect_scale"]["efficacy"], case["criticalValuesEffectScale"], rtol=1e-4
    )
    assert [r[-1] for r in s["tables"][0]["rows"]] == [f"{x:.4f}" for x in case["criticalValuesEffectScale"]]
    assert "hazard ratio to detect 0.6" in " ".join(s["assumptions"])
    assert s["tables"][2]["title"] == "Analysis times (expected)"
    txt = redif_cli(
        "design",
        "survival",
        "--hr",
        "0.6",
        "--alpha",
        "0.025",
        "--sided",
        "1",
        "--accrual-months",
        "24",
        "--followup-months",
        "12",
        "--median-control-months",
        "12",
        "--k",
        "3",
        "--type",
        "asOF",
    )
    assert txt.returncode == 0 and "HR bound" in txt.stdout
    assert all(f"{x:.4f}" in txt.stdout for x in case["criticalValuesEffectScale"])


def test_rates_summary_pdf_and_fixed_design(redif_cli: Any, tmp_path: Path) -> None:
    """Issue 15: rates --k 2 --pdf writes a PDF; with --k 1 (fixed design) the summary is of a single
    analysis at z_{1-alpha} (closed form: 1.959964 for one-sided alpha 0.025)."""
    pdf, sj = tmp_path / "r.pdf", tmp_path / "r.json"
    out = redif_cli(
        "design", "rates", "--p1", "0.6", "--p2", "0.35", "--k", "2", "--type", "asOF", "--pdf", str(pdf)
    )
    assert out.returncode == 0, out.stderr
    assert pdf.read_bytes().startswith(b"%PDF")
    out = redif_cli("design", "rates", "--p1", "0.6", "--p2", "0.35", "--summary-json", str(sj))
    assert out.returncode == 0, out.stderr
    s = json.loads(sj.read_text(encoding="utf-8"))
    assert s["tables"][0]["rows"][0][3] == "1.9600" and "fixed design" in s["method"]
    assert s["design"]["effect_scale"]["scale"] == "rate_difference"


def test_bad_input_writes_nothing(redif_cli: Any, tmp_path: Path) -> None:
    """Issue 15: bad input exits 2 naming the flag and writes no summary."""
    sj = tmp_path / "bad.json"
    out = redif_cli("design", "group-sequential", "--k", "3", "--type", "WT", "--summary-json", str(sj))
    assert out.returncode == 2 and "--delta-wt" in out.stderr and not sj.exists()
