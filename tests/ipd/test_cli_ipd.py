"""Issue 13: `redif ipd pool` and `redif ipd survival` through the real command line - the JSON contract
of the issue, the engine's numbers unchanged, bad input as one line naming the flag (exit 2), and the
Kaplan-Meier plot with numbers at risk.

Expected values: the issue's key lists; the engine functions on the same file (the CLI must not compute).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ipd_cli import run_cli  # type: ignore[import-not-found]

from redif.ipd.dataset import read_analysis_csv
from redif.ipd.pool import pool_ipd
from redif.ipd.survival import survival

DATA = Path(__file__).parent / "data"
SITES = str(DATA / "sites.csv")
POOL_KEYS = {"k_sites", "n", "events", "mu", "se", "estimate", "ci_lower", "ci_upper", "tau2", "sites"}


@pytest.mark.parametrize("method", ["two-stage", "one-stage"])
def test_pool_json_contract(method: str) -> None:
    """Issue 13: pool --json has the issue's keys; sites are {site, events, total}; the numbers are the
    engine's."""
    res = run_cli("ipd", "pool", SITES, "--outcome", "objective_response", "--method", method, "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert set(out) >= POOL_KEYS
    assert all({"site", "events", "total"} <= set(s) for s in out["sites"])
    eng = pool_ipd(read_analysis_csv(SITES), outcome="objective_response", method=method).to_json()
    assert (out["mu"], out["se"], out["tau2"]) == (eng["mu"], eng["se"], eng["tau2"])


def test_pool_by_gives_subgroups_and_coefficients() -> None:
    """Issue 13: --by gives subgroups (two-stage) and coefficients + subgroups (one-stage)."""
    two = json.loads(run_cli("ipd", "pool", SITES, "--outcome", "objective_response", "--by", "genotype",
                             "--json").stdout)
    assert [g["group"] for g in two["subgroups"]] == ["BRAF V600E", "HRAS", "NRAS", "other"]
    one = json.loads(run_cli("ipd", "pool", SITES, "--outcome", "objective_response", "--by", "genotype",
                             "--method", "one-stage", "--json").stdout)
    assert [c["name"] for c in one["coefficients"]] == ["(Intercept)", "genotype=HRAS", "genotype=NRAS",
                                                        "genotype=other"]
    assert {"name", "estimate", "se", "z", "p", "ci_lower", "ci_upper"} <= set(one["coefficients"][0])
    assert one["subgroups"][0]["mu"] == one["coefficients"][0]["estimate"]


@pytest.mark.parametrize(("args", "flag"), [
    (["--outcome", "uptake_restored"], "--definition"),
    (["--outcome", "uptake"], "--outcome"),
    (["--outcome", "objective_response", "--denominator", "all"], "--denominator"),
    (["--outcome", "objective_response", "--method", "bayes"], "--method"),
    (["--outcome", "objective_response", "--by", "nope"], "--by"),
    (["--outcome", "objective_response", "--with-evidence", "--by", "genotype"], "--by"),
])
def test_pool_bad_input_names_the_flag(args: list[str], flag: str) -> None:
    """Issue 13: bad input -> exit 2, one line on stderr naming the flag, no traceback."""
    res = run_cli("ipd", "pool", SITES, *args)
    assert res.returncode == 2
    assert res.stderr.startswith("error: ") and flag in res.stderr and "Traceback" not in res.stderr
    assert res.stderr.count("\n") == 1


def test_bad_cell_is_one_line_naming_file_patient_column(tmp_path: Path) -> None:
    """Issue 13: a bad value in the file -> exit 2 naming the file, the patient and the column."""
    text = (DATA / "sites.csv").read_text().replace("P0003,A,BRAF V600E,0,", "P0003,A,BRAF V600E,x,")
    path = tmp_path / "bad.csv"
    path.write_text(text)
    res = run_cli("ipd", "survival", str(path), "--time", "pfs_days", "--event", "pfs_event")
    assert res.returncode == 2
    for part in ("bad.csv", "'P0003'", "uptake_restored", "'x'"):
        assert part in res.stderr


def test_survival_json_contract_and_plot(tmp_path: Path) -> None:
    """Issue 13: survival --json has groups {group, n, events, median, median_ci_lower, median_ci_upper},
    logrank {chisq, df, p} and cox {coefficients [{name, coef, se, hr, ci_lower, ci_upper, p}], ties};
    --plot writes an SVG with the "Number at risk" table and each group's name."""
    plot = tmp_path / "km.svg"
    res = run_cli("ipd", "survival", SITES, "--time", "pfs_days", "--event", "pfs_event", "--by", "genotype",
                  "--covariates", "uptake_restored,age_years", "--strata", "site", "--plot", str(plot),
                  "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert {"group", "n", "events", "median", "median_ci_lower", "median_ci_upper"} <= set(out["groups"][0])
    assert {"chisq", "df", "p"} <= set(out["logrank"])
    assert out["cox"]["ties"] == "efron"
    assert {"name", "coef", "se", "hr", "ci_lower", "ci_upper", "p"} <= set(out["cox"]["coefficients"][0])
    eng = survival(read_analysis_csv(SITES), time="pfs_days", event="pfs_event", by="genotype",
                   covariates=["uptake_restored", "age_years"], strata="site").to_json()
    assert out["logrank"] == eng["logrank"] and out["cox"] == eng["cox"]
    svg = plot.read_text()
    assert svg.startswith("<?xml") and "Number at risk" in svg
    for g in out["groups"]:
        assert g["group"] in svg


def test_survival_bad_plot_and_columns() -> None:
    """Issue 13: an unknown plot suffix and an unknown column are exit 2 naming --plot / --time."""
    res = run_cli("ipd", "survival", SITES, "--time", "pfs_days", "--event", "pfs_event", "--plot", "km.gif")
    assert res.returncode == 2 and "--plot" in res.stderr
    res = run_cli("ipd", "survival", SITES, "--time", "os_days", "--event", "pfs_event")
    assert res.returncode == 2 and "--time" in res.stderr and "os_days" in res.stderr


def test_survival_without_by_and_bad_event_column() -> None:
    """Issue 13: without --by one curve 'all' and no log-rank (null); an event column that is not 1/0 is
    exit 2 naming --event and the patient."""
    out = json.loads(run_cli("ipd", "survival", SITES, "--time", "dor_days", "--event", "dor_event",
                             "--json").stdout)
    assert [g["group"] for g in out["groups"]] == ["all"] and out["logrank"] is None
    assert out["excluded"] == 260 - out["groups"][0]["n"]
    res = run_cli("ipd", "survival", SITES, "--time", "pfs_days", "--event", "genotype")
    assert res.returncode == 2 and "--event" in res.stderr and "'P0001'" in res.stderr
