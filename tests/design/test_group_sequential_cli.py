"""Issue 15: `redif design group-sequential | rates | means | survival` on the command line.

Expected values: rpact 3.3.4 output for the issue's own examples, as committed in
``tests/design/data/rpact_reference.json`` (written by ``rpact_reference.R``), closed forms of the
spending functions (Lan & DeMets 1983; Kim & DeMets 1987; Hwang, Shih & DeCani 1990), and today's
fixed-design survival result (121 events for HR 0.6, two-sided alpha 0.05, power 0.8; Schoenfeld 1983).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from scipy import stats

from redif.design.group_sequential import group_sequential_design
from redif.design.spending import spending_value
from redif.errors import InputError

REF = json.loads((Path(__file__).parent / "data" / "rpact_reference.json").read_text(encoding="utf-8"))


def _json(cli: Any, *args: str) -> Any:
    out = cli(*args, "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def _ref(section: str, **want: Any) -> dict[str, Any]:
    for case in REF[section]:
        if all(case["input"].get(k) == v for k, v in want.items()) and set(case["input"]) - set(want) <= {
            "alpha",
            "beta",
            "sided",
            "ratio",
        } | set(want):
            return case  # type: ignore[no-any-return]
    raise AssertionError(f"no reference case {want}")


def test_issue_example_group_sequential(redif_cli: Any) -> None:
    """The issue's example: K = 3, one-sided alpha 0.025, beta 0.2, asOF with bsOF futility (rpact)."""
    d = _json(
        redif_cli,
        "design",
        "group-sequential",
        "--k",
        "3",
        "--alpha",
        "0.025",
        "--sided",
        "1",
        "--beta",
        "0.2",
        "--type",
        "asOF",
        "--beta-spending",
        "bsOF",
    )
    ref = next(
        c
        for c in REF["designs"]
        if c["input"].get("bs") == "bsOF"
        and c["input"]["k"] == 3
        and c["input"]["type"] == "asOF"
        and "info" not in c["input"]
        and not c["input"]["binding"]
        and c["input"]["beta"] == 0.2
    )
    for key, rkey in [
        ("critical_values", "criticalValues"),
        ("futility_bounds", "futilityBounds"),
        ("alpha_spent", "alphaSpent"),
        ("power", "power"),
    ]:
        assert d[key] == pytest.approx(ref[rkey], rel=1e-4)
    assert d["inflation_factor"] == pytest.approx(ref["inflationFactor"], rel=1e-4)
    assert d["expected_information_h1"] == pytest.approx(ref["averageSampleNumber1"], rel=1e-4)
    assert d["information_rates"] == pytest.approx([1 / 3, 2 / 3, 1.0])


def test_issue_example_survival_and_rates(redif_cli: Any) -> None:
    """`design survival` and `design rates` with --k/--type give rpact's events, subjects and times."""
    s = _json(
        redif_cli,
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
    )
    ref = _ref("survival", hr=0.6, k=3, type="asOF", median=12, followup=12, accrual=[0, 24])
    assert s["events"] == pytest.approx(ref["maxNumberOfEvents"], rel=1e-4)
    assert s["events_ceil"] == math.ceil(s["events"])
    assert s["events_per_stage"] == pytest.approx(ref["eventsPerStage"], rel=1e-4)
    assert s["subjects"] == pytest.approx(ref["maxNumberOfSubjects"], rel=1e-4)
    assert s["analysis_times_months"] == pytest.approx(ref["analysisTime"], rel=1e-4)
    r = _json(
        redif_cli,
        "design",
        "rates",
        "--p1",
        "0.6",
        "--p2",
        "0.35",
        "--alpha",
        "0.025",
        "--sided",
        "1",
        "--power",
        "0.8",
        "--k",
        "2",
        "--type",
        "asOF",
    )
    rr = _ref("rates", p1=0.6, p2=0.35, k=2, type="asOF")
    assert r["n"] == pytest.approx(rr["maxNumberOfSubjects"], rel=1e-4)
    assert r["n_per_stage"] == pytest.approx(rr["numberOfSubjects"], rel=1e-4)
    assert r["n_per_stage_ceil"] == [math.ceil(x) for x in r["n_per_stage"]]
    m = _json(redif_cli, "design", "means", "--alternative", "5", "--stdev", "10")
    mr = REF["means"][0]
    assert mr["input"]["normal"] is False and m["n"] == pytest.approx(mr["nFixed"], rel=1e-4)


def test_survival_without_new_flags_is_unchanged(redif_cli: Any) -> None:
    """Today's `design survival` (two-sided --alpha, integer events) stays the default."""
    s = _json(redif_cli, "design", "survival", "--hr", "0.6")
    assert s["events"] == 121 and s["events_exact"] == pytest.approx(120.3158, abs=1e-3)
    # the same fixed design through the rpact path: --sided 2 gives the same unrounded events
    r = _json(
        redif_cli,
        "design",
        "survival",
        "--hr",
        "0.6",
        "--sided",
        "2",
        "--accrual-months",
        "36",
        "--followup-months",
        "12",
        "--median-control-months",
        "10",
    )
    assert r["events"] == pytest.approx(s["events_exact"], rel=1e-12) and r["events_ceil"] == 121
    old = _json(
        redif_cli,
        "design",
        "survival",
        "--hr",
        "0.6",
        "--accrual-months",
        "36",
        "--followup-months",
        "12",
        "--median-control-months",
        "10",
    )
    assert r["p_event"] == pytest.approx(old["p_event"], rel=1e-10)


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["design", "group-sequential", "--k", "3", "--type", "XX"], "--type"),
        (["design", "group-sequential", "--k", "3", "--type", "asKD"], "--rho"),
        (["design", "group-sequential", "--k", "3", "--type", "asHSD"], "--gamma"),
        (["design", "group-sequential", "--k", "3", "--type", "WT"], "--delta-wt"),
        (["design", "group-sequential", "--k", "3", "--info-rates", "0.5,0.3,1"], "--info-rates"),
        (["design", "group-sequential", "--k", "3", "--info-rates", "0.5,x,1"], "--info-rates"),
        (["design", "group-sequential", "--k", "3", "--alpha", "0.7"], "--alpha"),
        (["design", "group-sequential", "--k", "3", "--sided", "3"], "--sided"),
        (
            ["design", "group-sequential", "--k", "3", "--type", "OF", "--beta-spending", "bsOF"],
            "--beta-spending",
        ),
        (
            [
                "design",
                "group-sequential",
                "--k",
                "3",
                "--type",
                "asOF",
                "--sided",
                "2",
                "--beta-spending",
                "bsP",
            ],
            "--beta-spending",
        ),
        (
            ["design", "group-sequential", "--k", "3", "--type", "asOF", "--beta-spending", "bsHSD"],
            "--gamma-beta",
        ),
        (["design", "rates", "--p1", "0.3", "--p2", "0.3"], "--p2"),
        (["design", "rates", "--p1", "0.3", "--p2", "0.2", "--ratio", "0"], "--ratio"),
        (["design", "means", "--alternative", "0"], "--alternative"),
        (["design", "survival", "--hr", "0.6", "--sided", "1", "--accrual-months", "24"], "--accrual-months"),
        (
            [
                "design",
                "survival",
                "--hr",
                "0.6",
                "--sided",
                "1",
                "--accrual-months",
                "24",
                "--followup-months",
                "12",
            ],
            "--median-control-months",
        ),
        (
            [
                "design",
                "survival",
                "--hr",
                "0.6",
                "--sided",
                "1",
                "--accrual-months",
                "24",
                "--followup-months",
                "12",
                "--median-control-months",
                "12",
                "--dropout-rate",
                "1.5",
            ],
            "--dropout-rate",
        ),
        (
            [
                "design",
                "survival",
                "--hr",
                "0.6",
                "--accrual-months",
                "6,3",
                "--followup-months",
                "12",
                "--median-control-months",
                "12",
            ],
            "--accrual-months",
        ),
    ],
)
def test_bad_input_names_the_flag(redif_cli: Any, args: list[str], flag: str) -> None:
    """Bad input: exit 2, one line on stderr naming the flag, no traceback."""
    out = redif_cli(*args)
    assert out.returncode == 2, (out.stdout, out.stderr)
    lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"error: {flag}"), out.stderr


def test_spending_functions_closed_forms() -> None:
    """asOF/asP/asKD/asHSD at t = 0.5 equal their closed forms; every function spends all at t = 1."""
    a = 0.025
    assert spending_value(a, 0.5, "asOF") == pytest.approx(
        2 * stats.norm.sf(stats.norm.isf(a / 2) / math.sqrt(0.5))
    )
    assert spending_value(a, 0.5, "asP") == pytest.approx(a * math.log(1 + (math.e - 1) * 0.5))
    assert spending_value(a, 0.5, "asKD", gamma=3) == pytest.approx(a * 0.125)
    assert spending_value(a, 0.5, "asHSD", gamma=0) == pytest.approx(a * 0.5)
    assert spending_value(a, 0.5, "asHSD", gamma=-4) == pytest.approx(
        a * (1 - math.exp(2)) / (1 - math.exp(4))
    )
    for kind, g in [("asOF", None), ("asP", None), ("asKD", 2.0), ("asHSD", 1.0), ("bsOF", None)]:
        assert spending_value(a, 1.0, kind, gamma=g) == pytest.approx(a, rel=1e-12)


def test_one_look_is_the_fixed_design() -> None:
    """K = 1: critical value z_{1-alpha/s}, inflation factor 1."""
    d = group_sequential_design(1, 0.05, 0.2, 2, "asOF")
    assert d.critical_values[0] == pytest.approx(stats.norm.isf(0.025))
    assert d.inflation_factor == 1.0 and d.alpha_spent[-1] == pytest.approx(0.05)


def test_engine_error_names_engine_field() -> None:
    """The engine names its own parameter (the CLI maps it to the flag)."""
    with pytest.raises(InputError) as exc:
        group_sequential_design(3, 0.025, 0.2, 1, "asKD")
    assert exc.value.field == "gamma_a"
