"""Issue 13: registry IPD combined with published arms of the evidence base in one two-stage model, and
the same patients never counted twice.

Expected values: `redif meta pool --json` on the combined per-site table; the evidence base's counts for
the diagnostic-scan uptake definition (P05 2/6 and P05b 5/14, both part of P05c; P07 4/10: see
``redif evidence list`` / src/redif/data/evidence_studies.yaml).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ipd_cli import run_cli  # type: ignore[import-not-found]

from redif.errors import InputError
from redif.ipd.dataset import read_analysis_csv
from redif.ipd.pool import pool_ipd

DATA = Path(__file__).parent / "data"
SITES = read_analysis_csv(DATA / "sites.csv")
PUBLISHED = read_analysis_csv(DATA / "published.csv")


def _meta(tmp_path: Path, sites: list[dict[str, object]]) -> dict[str, object]:
    path = tmp_path / "t.csv"
    body = "".join(f"{s['site']},{s['events']},{s['total']}\n" for s in sites)
    path.write_text("study,events,total\n" + body)
    res = run_cli("meta", "pool", str(path), "--json")
    assert res.returncode == 0, res.stderr
    out: dict[str, object] = json.loads(res.stdout)
    return out


def test_source_column_adds_a_published_site(tmp_path: Path) -> None:
    """Issue 13: rows with source published:P07 form one extra site (4/10) beside registry sites A-C; the
    pool equals meta pool on the four rows."""
    res = pool_ipd(PUBLISHED, outcome="uptake_restored", definition="diagnostic_scan").to_json()
    assert [s["site"] for s in res["sites"]] == ["A", "B", "C", "published:P07"]
    assert res["sites"][-1] == {"site": "published:P07", "events": 4, "total": 10, "source": "published:P07"}
    meta = _meta(tmp_path, res["sites"])
    assert (res["mu"], res["se"], res["tau2"]) == (meta["mu"], meta["se"], meta["tau2"])


def test_with_evidence_adds_the_evidence_base_units(tmp_path: Path) -> None:
    """Issue 13: with_evidence adds the evidence base's units for the same definition (P05, P05b, P07 on
    the diagnostic scan) as sites; the pool equals meta pool on registry + published rows."""
    res = pool_ipd(SITES, outcome="uptake_restored", definition="diagnostic_scan",
                   with_evidence=True).to_json()
    pub = [s for s in res["sites"] if s["source"] != "site"]
    assert [(s["source"], s["events"], s["total"]) for s in pub] == [
        ("published:P05", 2, 6), ("published:P05b", 5, 14), ("published:P07", 4, 10)]
    assert res["k_sites"] == 8
    meta = _meta(tmp_path, res["sites"])
    assert (res["mu"], res["se"], res["tau2"]) == (meta["mu"], meta["se"], meta["tau2"])


def test_overlapping_record_left_out_with_its_parts() -> None:
    """Issue 13: a record named in overlaps (patients already in the registry) is left out, with its parts:
    overlaps=P05c removes P05 and P05b (part_of P05c) and reports both."""
    res = pool_ipd(SITES, outcome="uptake_restored", definition="diagnostic_scan", with_evidence=True,
                   overlaps=["P05c"])
    assert [s.source for s in res.sites if s.source != "site"] == ["published:P07"]
    assert [e["record_id"] for e in res.published_excluded] == ["P05", "P05b"]
    assert all("P05c" in e["reason"] for e in res.published_excluded)


def test_overlapping_source_rows_refused() -> None:
    """Issue 13: published rows in the file whose record overlaps the registry are an error (field source),
    not silently pooled."""
    with pytest.raises(InputError) as exc:
        pool_ipd(PUBLISHED, outcome="uptake_restored", definition="diagnostic_scan", overlaps=["P07"])
    assert exc.value.field == "source" and "P07" in str(exc.value)


def test_same_record_in_file_and_evidence_refused() -> None:
    """Issue 13: P07 given as rows in the file and again by with_evidence would count its patients twice:
    refused (field with_evidence)."""
    with pytest.raises(InputError) as exc:
        pool_ipd(PUBLISHED, outcome="uptake_restored", definition="diagnostic_scan", with_evidence=True)
    assert exc.value.field == "with_evidence"


def test_unknown_published_record_refused(tmp_path: Path) -> None:
    """Issue 13: a source naming no record of the evidence base is an error naming the value."""
    text = (DATA / "published.csv").read_text().replace("published:P07", "published:X99")
    path = tmp_path / "x.csv"
    path.write_text(text)
    with pytest.raises(InputError) as exc:
        pool_ipd(read_analysis_csv(path), outcome="uptake_restored", definition="diagnostic_scan")
    assert exc.value.field == "source" and "X99" in str(exc.value)


def test_with_evidence_response_itt_and_parts() -> None:
    """Issue 13: for ITT response the evidence units (P01 5/20, P05c 1/20, P06 8/24, P07 2/11) are added;
    overlaps=P05b (a part of P05c) removes the whole P05c, which contains those patients."""
    res = pool_ipd(SITES, outcome="objective_response", with_evidence=True, overlaps=["P05b"])
    pub = {s.source: (s.events, s.total) for s in res.sites if s.source != "site"}
    assert pub == {"published:P01": (5, 20), "published:P06": (8, 24), "published:P07": (2, 11)}
    assert [e["record_id"] for e in res.published_excluded] == ["P05c"]


def test_one_stage_with_published_counts_equals_pseudo_rows() -> None:
    """Issue 13: in the one-stage model a published arm's counts (with_evidence: P07 4/10) give the same
    fit as the same arm written as ten patient rows (published.csv) - the binomial likelihood of the counts
    is the product of the patients' Bernoulli likelihoods (expected: equality of the two fits)."""
    abc = [r for r in SITES if r.site in ("A", "B", "C")]
    from_counts = pool_ipd(abc, outcome="uptake_restored", definition="diagnostic_scan", method="one-stage",
                           with_evidence=True, overlaps=["P05c"])
    from_rows = pool_ipd(PUBLISHED, outcome="uptake_restored", definition="diagnostic_scan",
                         method="one-stage")
    assert from_counts.k_sites == from_rows.k_sites == 4
    assert from_counts.mu == pytest.approx(from_rows.mu, abs=1e-10)
    assert from_counts.tau2 == pytest.approx(from_rows.tau2, abs=1e-10)
