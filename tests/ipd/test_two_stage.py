"""Issue 13: the two-stage IPD pool is the evidence engine's meta-analysis of the per-site counts.

Expected values: ``redif meta pool --json`` run on the per-site table written from the same file (the
issue's "identical to redif meta pool on the per-site table"), and per-site counts counted by hand from
``data/sites.csv`` with the csv module (an independent count of the same rows).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from ipd_cli import run_cli  # type: ignore[import-not-found]

from redif.errors import InputError
from redif.ipd.dataset import read_analysis_csv
from redif.ipd.pool import pool_ipd

DATA = Path(__file__).parent / "data"
SITES = DATA / "sites.csv"
ROWS = read_analysis_csv(SITES)
NUMERIC = ("mu", "se", "estimate", "ci_lower", "ci_upper", "tau2", "i2", "h2", "q", "q_p", "pi_lower",
           "pi_upper")


def _meta_pool(tmp_path: Path, sites: list[dict[str, Any]], *extra: str, group: list[str] | None = None
               ) -> dict[str, Any]:
    path = tmp_path / "per_site.csv"
    lines = ["study,events,total" + (",group" if group else "")]
    for i, s in enumerate(sites):
        lines.append(f"{s['site']},{s['events']},{s['total']}" + (f",{group[i]}" if group else ""))
    path.write_text("\n".join(lines) + "\n")
    res = run_cli("meta", "pool", str(path), "--json", *extra)
    assert res.returncode == 0, res.stderr
    out: dict[str, Any] = json.loads(res.stdout)
    return out


def _raw() -> list[dict[str, str]]:
    with SITES.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_site_counts_by_hand() -> None:
    """Issue 13: per-site events/totals for uptake (diagnostic scan) and ITT/treated response, counted
    directly from the CSV text."""
    raw = _raw()
    res = pool_ipd(ROWS, outcome="uptake_restored", definition="diagnostic_scan")
    for s in res.sites:
        mine = [r for r in raw if r["site"] == s.site and r["uptake_definition"] == "diagnostic_scan"
                and r["uptake_restored"] != ""]
        assert (s.events, s.total) == (sum(r["uptake_restored"] == "1" for r in mine), len(mine))
    itt = pool_ipd(ROWS, outcome="objective_response", denominator="itt")
    trt = pool_ipd(ROWS, outcome="objective_response", denominator="treated")
    assert itt.n == sum(r["response_denominator"] != "" for r in raw)
    assert trt.n == sum(r["response_denominator"] == "treated" and r["objective_response"] != "" for r in raw)
    assert itt.events == trt.events == sum(r["objective_response"] == "1" for r in raw)
    assert itt.n > trt.n


@pytest.mark.parametrize(("kwargs", "flags"), [
    ({"outcome": "uptake_restored", "definition": "diagnostic_scan"}, ()),
    ({"outcome": "objective_response", "denominator": "itt"}, ()),
    ({"outcome": "objective_response", "denominator": "treated", "tau2_method": "DL"}, ("--method", "DL")),
    ({"outcome": "uptake_restored", "definition": "diagnostic_scan", "level": 90.0}, ("--level", "90")),
])
def test_two_stage_equals_meta_pool(tmp_path: Path, kwargs: dict[str, Any], flags: tuple[str, ...]) -> None:
    """Issue 13: two-stage pool = `redif meta pool` on the per-site table (PLO; REML by default), exactly."""
    res = pool_ipd(ROWS, method="two-stage", **kwargs).to_json()
    meta = _meta_pool(tmp_path, res["sites"], *flags)
    for key in NUMERIC:
        assert res["pool"][key] == meta[key], key
    for key in ("mu", "se", "estimate", "ci_lower", "ci_upper", "tau2"):
        assert res[key] == meta[key], key
    assert res["k_sites"] == meta["k"]
    assert res["n"] == sum(s["total"] for s in res["sites"])


def test_two_stage_subgroups_equal_meta_pool_by(tmp_path: Path) -> None:
    """Issue 13: with --by, each subgroup = `redif meta pool --by group` on the per-site-by-group table
    (separate tau2), and the overall result stays the per-site pool."""
    res = pool_ipd(ROWS, outcome="objective_response", by="genotype").to_json()
    cells = [(g["group"], s) for g in res["subgroups"] for s in g["sites"]]
    meta = _meta_pool(tmp_path, [s for _, s in cells], "--by", "group", group=[g for g, _ in cells])
    assert [g["group"] for g in res["subgroups"]] == sorted(meta["subgroups"])
    for g in res["subgroups"]:
        m = meta["subgroups"][g["group"]]
        for key in ("mu", "se", "estimate", "ci_lower", "ci_upper", "tau2"):
            assert g[key] == m[key], (g["group"], key)
        assert g["k_sites"] == m["k"]
    assert res["test_between"] == meta["test_between"]
    plain = pool_ipd(ROWS, outcome="objective_response").to_json()
    assert res["mu"] == plain["mu"] and res["k_sites"] == plain["k_sites"] == 6


def test_mixing_definitions_refused_unless_allowed() -> None:
    """Issue 13: uptake is pooled like with like - the file mixes diagnostic_scan (sites A-E) and
    increased_124i_uptake (site F), so no definition is an error naming both; mix_definitions pools all."""
    with pytest.raises(InputError) as exc:
        pool_ipd(ROWS, outcome="uptake_restored")
    assert exc.value.field == "definition"
    assert "diagnostic_scan" in str(exc.value) and "increased_124i_uptake" in str(exc.value)
    mixed = pool_ipd(ROWS, outcome="uptake_restored", mix_definitions=True)
    assert mixed.definition is None and mixed.k_sites == 6
    with pytest.raises(InputError, match="1 site only"):  # only site F used the 124I definition
        pool_ipd(ROWS, outcome="uptake_restored", definition="increased_124i_uptake")
    assert mixed.n == sum(mixed.definitions.values())


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"outcome": "survival"}, "outcome"),
    ({"outcome": "objective_response", "method": "three-stage"}, "method"),
    ({"outcome": "objective_response", "denominator": "enrolled"}, "denominator"),
    ({"outcome": "objective_response", "definition": "diagnostic_scan"}, "definition"),
    ({"outcome": "uptake_restored", "definition": "post_therapy_scan"}, "definition"),
    ({"outcome": "objective_response", "by": "no_such_column"}, "by"),
])
def test_bad_arguments_name_the_parameter(kwargs: dict[str, Any], field: str) -> None:
    """Issue 13: bad arguments raise InputError naming the engine parameter (the CLI shows the flag)."""
    with pytest.raises(InputError) as exc:
        pool_ipd(ROWS, **kwargs)
    assert exc.value.field == field
