"""Issue 13: federated analysis with the vantage6 algorithm (``redif federated simulate``).

The algorithm (federated/vantage6, package ``redif_vantage6``) runs over the four committed synthetic site
files (tests/federated/data/sites, written by ``make_sites.py`` there) with vantage6's
``MockAlgorithmClient`` in its own environment.

Expected values:

* survival: R survival 3.5-3 on the *pooled* site files (``federated_reference.R`` beside this test, its
  output ``federated_reference.json``): ``survfit`` medians and their log-CIs, ``survdiff`` without and
  with ``strata(site)``, ``coxph(Surv(t, e) ~ uptake_restored + age_years + strata(site), ties =
  "efron")``. With ``min_cell`` 0 the federated numbers must equal them (KM/log-rank 1e-10, Cox 1e-6);
* two-stage pools: ``redif meta pool`` (:func:`redif.evidence.effect_table.pool_effect_table`) on the
  per-site table, exactly; the per-site counts themselves are counted here from the CSVs by hand;
* disclosure: with the default ``min_cell`` (5), every aggregate returned by a site is computed from at
  least 5 patients (the rule of docs/federated.md).
"""

from __future__ import annotations

import csv
import json
import math
import shutil
from pathlib import Path
from typing import Any

import pytest

from redif.cli.main import main
from redif.errors import InputError
from redif.evidence.effect_table import pool_effect_table
from redif.federated import pool_site_counts, simulate

DATA = Path(__file__).with_name("data")
SITES = DATA / "sites"
REF = json.loads((DATA / "federated_reference.json").read_text(encoding="utf-8"))
SURV = {"time": "pfs_days", "event": "pfs_event"}


def _close(a: float | None, b: float | None, tol: float) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=tol, abs_tol=tol)


@pytest.fixture(scope="module")
def survival0(v6_python: Path) -> dict[str, Any]:
    return simulate(SITES, analysis="survival", by="genotype", covariates=["uptake_restored", "age_years"],
                    min_cell=0, **SURV)


def test_km_by_group_equals_r_survfit(survival0: dict[str, Any]) -> None:
    """Issue 13: pooled KM per genotype (min_cell 0) = R survfit n, events, median, log-CI of the median."""
    got = {g["group"]: g for g in survival0["groups"]}
    assert sorted(got) == sorted(r["group"] for r in REF["by_genotype"])
    for ref in REF["by_genotype"]:
        g = got[ref["group"]]
        assert (g["n"], g["events"]) == (ref["n"], ref["events"])
        for key in ("median", "median_ci_lower", "median_ci_upper"):
            assert _close(g[key], ref[key], 1e-10), (ref["group"], key, g[key], ref[key])


def test_km_overall_and_stratified_logrank_equal_r(v6_python: Path) -> None:
    """Issue 13: one group (no --by) = survfit(~1); stratified log-rank = survdiff(+ strata(site))."""
    one = simulate(SITES, analysis="survival", min_cell=0, **SURV)
    ref = REF["overall"][0]
    g = one["groups"][0]
    assert (g["group"], g["n"], g["events"]) == ("all", ref["n"], ref["events"])
    for key in ("median", "median_ci_lower", "median_ci_upper"):
        assert _close(g[key], ref[key], 1e-10)
    assert one["logrank"] is None
    st = simulate(SITES, analysis="survival", by="genotype", strata="site", min_cell=0, **SURV)["logrank"]
    assert st["df"] == REF["logrank_strata_site"]["df"]
    assert _close(st["chisq"], REF["logrank_strata_site"]["chisq"], 1e-10)
    assert _close(st["p"], REF["logrank_strata_site"]["p"], 1e-10)


def test_km_median_on_an_exact_half_is_the_midpoint(v6_python: Path) -> None:
    """Issue 13: where the pooled KM equals 0.5 over a step, the median is survfit's mid-point (R reference
    federated_reference_half.json from the hand-built sites_half files: 35 = (30 + 40) / 2)."""
    ref = json.loads((DATA / "federated_reference_half.json").read_text(encoding="utf-8"))["overall"][0]
    g = simulate(DATA / "sites_half", analysis="survival", min_cell=0, **SURV)["groups"][0]
    assert (g["n"], g["events"]) == (ref["n"], ref["events"])
    for key in ("median", "median_ci_lower", "median_ci_upper"):
        assert _close(g[key], ref[key], 1e-10), (key, g[key], ref[key])


def test_logrank_equals_r_survdiff(survival0: dict[str, Any]) -> None:
    """Issue 13: unstratified log-rank across genotypes = R survdiff (chisq, df, p)."""
    lr = survival0["logrank"]
    assert lr["df"] == REF["logrank"]["df"]
    assert _close(lr["chisq"], REF["logrank"]["chisq"], 1e-10)
    assert _close(lr["p"], REF["logrank"]["p"], 1e-10)


def test_site_stratified_cox_equals_r_coxph(survival0: dict[str, Any]) -> None:
    """Issue 13: Newton-Raphson across sites = coxph(... + strata(site), ties = "efron") to 1e-6."""
    cox = survival0["cox"]
    assert cox["ties"] == "efron"
    assert (cox["n"], cox["events"]) == (REF["cox"]["n"], REF["cox"]["events"])
    for got, ref in zip(cox["coefficients"], REF["cox"]["coefficients"], strict=True):
        assert got["name"] == ref["name"]
        for key in ("coef", "se", "hr", "ci_lower", "ci_upper", "p"):
            assert abs(got[key] - ref[key]) < 1e-6, (ref["name"], key, got[key], ref[key])
    assert abs(cox["loglik_null"] - REF["cox"]["loglik"][0]) < 1e-6
    assert abs(cox["loglik"] - REF["cox"]["loglik"][1]) < 1e-6


def _hand_counts(analysis: str, denominator: str = "itt",
                 definition: str = "post_therapy_scan") -> list[dict[str, Any]]:
    """Per-site counts counted here from the CSVs (the rule of the analysis dataset contract)."""
    out = []
    for f in sorted(SITES.glob("*.csv")):
        rows = list(csv.DictReader(f.open(encoding="utf-8")))
        if analysis == "uptake":
            sel = [r for r in rows if r["uptake_restored"] != "" and r["uptake_definition"] == definition]
            ev = sum(r["uptake_restored"] == "1" for r in sel)
        elif denominator == "itt":
            sel = [r for r in rows if r["response_denominator"] in ("treated", "itt")]
            ev = sum(r["objective_response"] == "1" and r["response_denominator"] == "treated" for r in sel)
        else:
            sel = [r for r in rows
                   if r["response_denominator"] == "treated" and r["objective_response"] != ""]
            ev = sum(r["objective_response"] == "1" for r in sel)
        if sel:
            out.append({"site": rows[0]["site"], "events": ev, "total": len(sel)})
    return out


@pytest.mark.parametrize(("analysis", "options"), [
    ("uptake", {"definition": "post_therapy_scan"}),
    ("response", {"denominator": "itt"}),
    ("response", {"denominator": "treated"}),
])
def test_two_stage_equals_meta_pool_on_the_site_table(v6_python: Path, tmp_path: Path, analysis: str,
                                                      options: dict[str, str]) -> None:
    """Issue 13: federated two-stage pool (min_cell 0) = `redif meta pool` on the per-site table, exactly;
    the per-site counts equal the counts made here from the CSVs."""
    fed = simulate(SITES, analysis=analysis, min_cell=0, **options)
    assert [{k: s[k] for k in ("site", "events", "total")} for s in fed["sites"]] == _hand_counts(analysis,
                                                                                                  **options)
    table = tmp_path / "sites.csv"
    with table.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["study", "events", "total"])
        for s in fed["sites"]:
            w.writerow([s["site"], s["events"], s["total"]])
    ref = pool_effect_table(table, measure="PLO", method="REML").to_dict()
    for key in ("mu", "se", "estimate", "ci_lower", "ci_upper", "tau2"):
        assert fed[key] == ref[key], key
    assert fed["k_sites"] == ref["k"] == len(fed["sites"])
    assert fed["n"] == sum(s["total"] for s in fed["sites"])
    assert fed["events"] == sum(s["events"] for s in fed["sites"])


def test_default_min_cell_returns_nothing_from_fewer_than_5(v6_python: Path) -> None:
    """Issue 13: with the default min_cell (5) no aggregate a site returns covers fewer than 5 patients:
    counts have totals >= 5, every KM row covers >= 5 exits (and >= 5 at risk), Cox rounds come from
    >= 5 patients; the small site D (4 patients) is withheld and reported as such."""
    runs = [
        simulate(SITES, analysis="uptake", definition="post_therapy_scan", disclosed=True),
        simulate(SITES, analysis="response", denominator="treated", disclosed=True),
        simulate(SITES, analysis="survival", by="genotype", covariates=["uptake_restored"], disclosed=True,
                 **SURV),
    ]
    seen = {"counts": 0, "rows": 0, "cox": 0}
    for run in runs:
        assert "D" in run["suppressed"]
        for rec in run["disclosed"]:
            res = rec["result"]
            if res.get("suppressed") is True:
                assert set(res) == {"site", "suppressed", "what", "reason"}
                continue
            for cell in res.get("cells", []):
                assert cell["total"] >= 5
                seen["counts"] += 1
            for g in res.get("groups", []):
                assert sum(r[2] + r[3] for r in g["rows"]) >= 5
                for _t, at_risk, d, c in g["rows"]:
                    assert d + c >= 5 and at_risk >= 5
                    seen["rows"] += 1
            if rec["method"] == "partial_cox":
                assert res["n"] >= 5
                seen["cox"] += 1
            for s in res.get("suppressed", []):
                assert s["suppressed"] is True and "fewer than 5" in s["reason"]
    assert all(v > 0 for v in seen.values()), seen
    assert all(s["site"] != "D" for s in runs[0]["sites"])


def test_min_cell_coarsens_but_keeps_totals(v6_python: Path) -> None:
    """Issue 13: coarsening the KM tables keeps each group's n and events (only times are grouped)."""
    exact = simulate(SITES, analysis="survival", min_cell=0, **SURV)["groups"][0]
    coarse = simulate(SITES, analysis="survival", min_cell=3, **SURV)["groups"][0]
    assert (coarse["n"], coarse["events"]) == (exact["n"], exact["events"])
    assert len(coarse["curve"]) < len(exact["curve"])


def _copy_sites(tmp_path: Path) -> Path:
    d = tmp_path / "sites"
    shutil.copytree(SITES, d)
    return d


def _edit(path: Path, patient: str, column: str, value: str | None) -> None:
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    fields = [c for c in rows[0] if value is not None or c != column]
    for r in rows:
        if value is None:
            r.pop(column)
        elif r["patient"] == patient:
            r[column] = value
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)


def test_bad_value_names_file_patient_column(v6_python: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 13: a bad cell -> exit 2, one line naming the file, the patient, the column and the value."""
    sites = _copy_sites(tmp_path)
    _edit(sites / "site_B.csv", "B007", "pfs_event", "yes")
    with pytest.raises(SystemExit) as exc:
        main(["federated", "simulate", "--sites", str(sites), "--analysis", "survival", "--time", "pfs_days",
              "--event", "pfs_event"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    for part in ("--sites", "site_B.csv", "B007", "pfs_event", "'yes'", "1, 0 or empty"):
        assert part in err, (part, err)


def test_missing_column_names_file_and_column(v6_python: Path, tmp_path: Path) -> None:
    """Issue 13: a site file without a contract column -> InputError naming the file and the column."""
    sites = _copy_sites(tmp_path)
    _edit(sites / "site_C.csv", "", "uptake_definition", None)
    with pytest.raises(InputError) as exc:
        simulate(sites, analysis="uptake")
    assert "site_C.csv" in str(exc.value) and "uptake_definition" in str(exc.value)


def test_published_rows_are_not_site_data(v6_python: Path, tmp_path: Path) -> None:
    """Issue 13: a `source` column with a published arm's row is refused at the node (names file, patient,
    column): published arms are combined centrally, never as a node's patients."""
    sites = _copy_sites(tmp_path)
    path = sites / "site_A.csv"
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    for r in rows:
        r["source"] = "published:rec-1" if r["patient"] == "A003" else "site"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    with pytest.raises(InputError) as exc:
        simulate(sites, analysis="response")
    for part in ("site_A.csv", "A003", "source", "published:rec-1"):
        assert part in str(exc.value), part


def test_several_uptake_definitions_need_one(v6_python: Path) -> None:
    """Issue 13: uptake definitions are not mixed: several across sites -> an error asking --definition."""
    with pytest.raises(InputError) as exc:
        simulate(SITES, analysis="uptake", min_cell=0)
    assert exc.value.field == "definition"
    assert "increased_124i_uptake" in str(exc.value.value)


def test_missing_environment_says_how_to_create_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 13: without the algorithm's environment -> exit 2 telling `make vantage6-env`."""
    monkeypatch.setenv("REDIF_VANTAGE6_PYTHON", str(tmp_path / "no-python"))
    with pytest.raises(SystemExit) as exc:
        main(["federated", "simulate", "--sites", str(SITES), "--analysis", "uptake"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "make vantage6-env" in err and "REDIF_VANTAGE6_PYTHON" in err


def test_json_keys_of_the_central_commands(v6_python: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 13: `--json` carries the keys of `redif ipd pool` / `redif ipd survival` (issue text)."""
    with pytest.raises(SystemExit) as exc:
        main(["federated", "simulate", "--sites", str(SITES), "--analysis", "response", "--json"])
    assert exc.value.code == 0
    out = json.loads(capsys.readouterr().out)
    assert {"k_sites", "n", "events", "mu", "se", "estimate", "ci_lower", "ci_upper", "tau2", "sites",
            "suppressed"} <= set(out)
    assert all(set(s) == {"site", "events", "total", "source"} for s in out["sites"])
    with pytest.raises(SystemExit):
        main(["federated", "simulate", "--sites", str(SITES), "--analysis", "survival", "--time", "pfs_days",
              "--event", "pfs_event", "--by", "genotype", "--covariates", "uptake_restored", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert {"groups", "logrank", "cox", "suppressed"} <= set(out)
    assert {"group", "n", "events", "median", "median_ci_lower", "median_ci_upper"} <= set(out["groups"][0])
    assert set(out["logrank"]) >= {"chisq", "df", "p"}
    assert set(out["cox"]["coefficients"][0]) >= {"name", "coef", "se", "hr", "ci_lower", "ci_upper", "p"}


@pytest.mark.parametrize(("analysis", "options", "field"), [
    ("uptake", {"by": "genotype"}, "by"),
    ("response", {"covariates": ["age_years"]}, "covariates"),
    ("survival", {"time": "pfs_days", "event": "pfs_event", "definition": "post_therapy_scan"}, "definition"),
    ("survival", {"time": "pfs_days"}, "time"),
    ("survival", {"time": "pfs_days", "event": "pfs_event", "strata": "genotype"}, "strata"),
    ("km", {}, "analysis"),
])
def test_options_of_another_analysis_are_refused(analysis: str, options: dict[str, Any], field: str) -> None:
    """Issue 13: an option the analysis does not use, or a bad one, is refused before anything runs
    (no silent ignore); needs no algorithm environment."""
    with pytest.raises(InputError) as exc:
        simulate(SITES, analysis=analysis, **options)
    assert exc.value.field == field


def test_pool_site_counts_is_meta_pool(tmp_path: Path) -> None:
    """Issue 13: the two-stage step alone (no algorithm environment needed) = `redif meta pool` on the
    same table (PLO, REML), exactly; an empty list is an error naming `sites`."""
    sites = [{"site": "A", "events": 8, "total": 40}, {"site": "B", "events": 12, "total": 34},
             {"site": "C", "events": 0, "total": 26}]
    table = tmp_path / "t.csv"
    rows = "".join(f"{s['site']},{s['events']},{s['total']}\n" for s in sites)
    table.write_text("study,events,total\n" + rows, encoding="utf-8")
    ref = pool_effect_table(table, measure="PLO", method="REML").to_dict()
    got = pool_site_counts(sites)
    for key in ("mu", "se", "estimate", "ci_lower", "ci_upper", "tau2"):
        assert got[key] == ref[key], key
    assert (got["k_sites"], got["n"], got["events"]) == (3, 100, 20)
    with pytest.raises(InputError) as exc:
        pool_site_counts([])
    assert exc.value.field == "sites"
