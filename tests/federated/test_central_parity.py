"""Issue 13: federated results with ``min_cell`` 0 equal the central IPD engine's on the pooled files.

Central: :mod:`redif.ipd` (``redif ipd pool`` two-stage and ``redif ipd survival``) on all site files read
as one dataset; federated: ``redif federated simulate`` over the same files, one per site. Two-stage pools
and their per-site counts exactly; Kaplan-Meier n, events, medians and CIs and the log-rank test to 1e-10
(both follow R survival, see test_federated_simulate.py); the site-stratified Cox model to 1e-6.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from redif.federated import simulate

ipd_dataset = pytest.importorskip("redif.ipd.dataset")
ipd_pool = pytest.importorskip("redif.ipd.pool")
ipd_survival = pytest.importorskip("redif.ipd.survival")

SITES = Path(__file__).with_name("data") / "sites"


def _rows() -> list[Any]:
    rows: list[Any] = []
    for f in sorted(SITES.glob("*.csv")):
        rows += ipd_dataset.read_analysis_csv(f)
    return rows


@pytest.mark.parametrize(("analysis", "outcome", "options"), [
    ("uptake", "uptake_restored", {"definition": "post_therapy_scan"}),
    ("response", "objective_response", {"denominator": "itt"}),
    ("response", "objective_response", {"denominator": "treated"}),
])
def test_two_stage_equals_central(v6_python: Path, analysis: str, outcome: str,
                                  options: dict[str, str]) -> None:
    """Issue 13: federated two-stage pool = `redif ipd pool --method two-stage`, exactly."""
    central = ipd_pool.pool_ipd(_rows(), outcome=outcome, method="two-stage", **options).to_json()
    fed = simulate(SITES, analysis=analysis, min_cell=0, **options)
    for key in ("k_sites", "n", "events", "mu", "se", "estimate", "ci_lower", "ci_upper", "tau2", "sites",
                "method", "tau2_method", "measure", "outcome", "definition", "denominator"):
        assert fed[key] == central[key], key


def _close(a: float | None, b: float | None, tol: float) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=tol, abs_tol=tol)


@pytest.mark.parametrize("strata", [None, "site"])
def test_survival_equals_central(v6_python: Path, strata: str | None) -> None:
    """Issue 13: federated KM, log-rank (with/without strata(site)) and stratified Cox = `redif ipd
    survival --by genotype [--strata site] --covariates uptake_restored,age_years`."""
    covs = ["uptake_restored", "age_years"]
    central = ipd_survival.survival(_rows(), time="pfs_days", event="pfs_event", by="genotype",
                                    covariates=covs, strata="site").to_json()
    fed = simulate(SITES, analysis="survival", time="pfs_days", event="pfs_event", by="genotype",
                   covariates=covs, strata=strata, min_cell=0)
    assert [g["group"] for g in fed["groups"]] == [g["group"] for g in central["groups"]]
    for f, c in zip(fed["groups"], central["groups"], strict=True):
        assert (f["n"], f["events"]) == (c["n"], c["events"])
        for key in ("median", "median_ci_lower", "median_ci_upper"):
            assert _close(f[key], c[key], 1e-10), key
    if strata == "site":
        for key in ("chisq", "p"):
            assert _close(fed["logrank"][key], central["logrank"][key], 1e-10), key
        assert fed["logrank"]["df"] == central["logrank"]["df"]
        for g, v in central["logrank"]["observed"].items():
            assert _close(fed["logrank"]["observed"][g], v, 1e-10)
            assert _close(fed["logrank"]["expected"][g], central["logrank"]["expected"][g], 1e-10)
    for f, c in zip(fed["cox"]["coefficients"], central["cox"]["coefficients"], strict=True):
        assert f["name"] == c["name"]
        for key in ("coef", "se", "hr", "ci_lower", "ci_upper", "p"):
            assert abs(f[key] - c[key]) < 1e-6, (c["name"], key)
    assert abs(fed["cox"]["loglik"] - central["cox"]["loglik"]) < 1e-6
    assert (fed["cox"]["n"], fed["cox"]["events"]) == (central["cox"]["n"], central["cox"]["events"])
