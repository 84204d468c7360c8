"""Issue 15 items 4 and 5: `redif design borrow|assurance` through the real CLI entry point. Expected values:
the engines (checked against closed forms / quad / Monte Carlo in test_borrowing.py, test_assurance.py)
and the closed form (n - r) / (n + 1) for a single-stage design under Beta(1, 1)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest


def test_borrow_json_with_arms_csv(redif_cli: Any, tmp_path: Path) -> None:
    """Issue 15: borrow from a CSV of historical arms (robust MAP prior); keys, ESS, OC grid, assurance."""
    csv = tmp_path / "arms.csv"
    csv.write_text("label,r,n\nA,5,25\nB,8,30\nC,6,28\n", encoding="utf-8")
    out = redif_cli(
        "design",
        "borrow",
        "--data",
        str(csv),
        "--n-control",
        "20",
        "--n-treatment",
        "40",
        "--effect",
        "0.25",
        "--p-control",
        "0.2,0.4",
        "--design-prior-control",
        "20,80",
        "--design-prior-treatment",
        "45,55",
        "--json",
    )
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert set(d) >= {"ess", "oc", "prior_control", "boundary_x_treatment", "assurance", "rule"}
    assert d["oc"]["p_control"] == [0.2, 0.4] and len(d["oc"]["type1_error"]) == 2
    assert [a["r"] for a in d["control_prior_source"]["historical"]["arms"]] == [5, 8, 6]
    assert 0.0 < d["assurance"] < 1.0 and d["ess"]["elir"] > 0


def test_borrow_needs_a_prior(redif_cli: Any) -> None:
    """Issue 15: no control prior -> exit 2 naming --prior."""
    out = redif_cli("design", "borrow", "--n-control", "20", "--n-treatment", "40", "--effect", "0.2")
    assert out.returncode == 2 and "--prior" in out.stderr


def test_assurance_closed_form(redif_cli: Any) -> None:
    """Issue 15: single stage n=30, r=9 under Beta(1,1): assurance = 21/31 exactly."""
    out = redif_cli("design", "assurance", "--design-prior", "1,1", "--single", "30,9", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["assurance"] == pytest.approx(21 / 31, abs=1e-13)
    t = redif_cli("design", "assurance", "--design-prior", "0.7,6,14;0.3,1,1", "--table", "10:0,20:2,40:11")
    assert t.returncode == 0 and "Assurance" in t.stdout
    bad = redif_cli("design", "assurance", "--design-prior", "1,2,3,4", "--simon", "1,10,5,29")
    assert bad.returncode == 2 and "--design-prior" in bad.stderr


def test_borrow_from_evidence_uptake_is_like_with_like(redif_cli: Any) -> None:
    """Issues 12/15: borrowing uptake arms from the evidence base refuses to mix definitions of restored
    uptake (exit 2 naming --definition and --mix-definitions); --definition borrows one definition and
    --mix-definitions is labelled mixed in the JSON. Expected: the like-with-like rule of `evidence
    summary` (docs/evidence.md)."""
    base = ("design", "borrow", "--from-evidence", "--outcome", "uptake", "--n-control", "20",
            "--n-treatment", "40", "--effect", "0.25", "--p-control", "0.3", "--json")
    refused = redif_cli(*base)
    assert refused.returncode == 2
    assert "--definition" in refused.stderr and "--mix-definitions" in refused.stderr
    one = redif_cli(*base, "--definition", "diagnostic_scan")
    assert one.returncode == 0, one.stderr
    assert json.loads(one.stdout)["control_prior_source"]["mixed_definitions"] is False
    mixed = redif_cli(*base, "--mix-definitions")
    assert mixed.returncode == 0, mixed.stderr
    assert json.loads(mixed.stdout)["control_prior_source"]["mixed_definitions"] is True
