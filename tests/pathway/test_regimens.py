"""Regimens and their live evidence (evidence base + meta-analysis engine).

Expected counts come from the project's evidence table (each row cites its publication;
docs/methods/sources-and-grades.md): P07 (MERAIODE RAS, trametinib) uptake on the
day-28 diagnostic scan 4/10, PR 2/10; P06 (MERAIODE BRAF) post-therapy scan ~20/21, PR 8/21; P05 (ERRITI
BRAF arm) 2/6. A single arm's logit-scale interval is the closed form expit(logit(p) +/- 1.96 * sqrt(1/x +
1/(n - x))) (metafor escalc PLO, equal-effects fit of one study).
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from redif.data import load_yaml
from redif.pathway.case import parse_case
from redif.pathway.regimens import candidate_regimens, load_regimens


def _expit(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def _single_arm_ci(x: int, n: int) -> tuple[float, float]:
    y = math.log(x / (n - x))
    se = math.sqrt(1 / x + 1 / (n - x))
    return _expit(y - 1.959963984540054 * se), _expit(y + 1.959963984540054 * se)


def _options(make_case: Any, genotype: list[dict[str, Any]]) -> dict[str, Any]:
    _, options = candidate_regimens(parse_case(make_case(genotype=genotype)))
    return {o.regimen.id: o for o in options}


def test_every_regimen_sourced() -> None:
    raw = load_yaml("regimens.yaml")
    for r in load_regimens():
        assert r.source and r.grade.value in {"primary", "secondary", "unverified"}
        assert r.evidence_level in {"prospective trial", "case reports only"}
        assert r.default_protocol in {"meraiode", "ho2013", "erriti", "sel-i-metry", "rothenberg"}
    # blanks stay blank: MERAIODE doses are not in the sources read
    by_id = {r["id"]: r for r in raw["regimens"]}
    assert by_id["braf-dabrafenib-trametinib"]["dose"] is None
    assert by_id["ntrk-larotrectinib"]["dose"] == "100 mg BID"  # docs/methods/protocols.md (Groussin 2022)


def test_ras_trametinib_live_evidence(make_case: Any) -> None:
    """P07: uptake restored on the diagnostic scan 4/10 (the evidence table); response 2/11, the
    intention-to-treat
    denominator of MERAIODE's RAS cohort (11 started trametinib; issue 12 curation, the default response
    denominator)."""
    opt = _options(make_case, [{"gene": "NRAS", "variant": "Q61R"}])["ras-trametinib"]
    ev = opt.evidence
    assert [a["row_id"] for a in ev["arms"]] == ["P07"]
    (up,) = ev["uptake"]
    assert (up["definition"], up["k"], up["events"], up["n_total"]) == ("uptake on diagnostic scan", 1, 4, 10)
    assert up["estimate"] == pytest.approx(0.4, abs=1e-9)
    lo, hi = _single_arm_ci(4, 10)
    assert (up["ci_lower"], up["ci_upper"]) == pytest.approx((lo, hi), abs=1e-6)
    (resp,) = ev["response"]
    assert (resp["events"], resp["n_total"]) == (2, 11)
    assert resp["estimate"] == pytest.approx(2 / 11, abs=1e-9)


def test_definitions_never_mixed(make_case: Any) -> None:
    """BRAF dabrafenib + trametinib: ERRITI (P05, diagnostic 123I scan, 2/6) gives one result per definition
    of restored uptake, never one pool across definitions (docs/methods/sources-and-grades.md). MERAIODE
    BRAF's post-therapy
    count (19/20, derived from percentages) is graded unverified since issue 12, so at the default grade
    it is not a result of its own; response is MERAIODE BRAF 8/24 with the intention-to-treat denominator
    (24 started the drug, derived; issue 12 curation)."""
    ev = _options(make_case, [{"gene": "BRAF", "variant": "V600E"}])["braf-dabrafenib-trametinib"].evidence
    defs = {u["definition"]: u for u in ev["uptake"]}
    assert len(defs) == len(ev["uptake"])  # one entry per definition
    assert set(defs) == {"uptake on diagnostic scan"}
    assert (defs["uptake on diagnostic scan"]["events"], defs["uptake on diagnostic scan"]["n_total"]) == (
        2,
        6,
    )
    assert defs["uptake on diagnostic scan"]["row_ids"] == ["P05"]
    (resp,) = ev["response"]
    assert (resp["events"], resp["n_total"]) == (8, 24)


def test_case_report_regimen_has_no_pooled_numbers(make_case: Any) -> None:
    """RET fusion: case reports only -> listed as arms, no pooled numbers. C04 (graded unverified) stays out
    of the default analyses; C03 (Lee 2021, graded primary from its abstract since issue 12) is in them, but
    its uptake definition is not reported, so no pooled uptake or response is shown for the regimen."""
    ev = _options(make_case, [{"gene": "RET", "kind": "fusion", "fusion_partner": "CCDC6"}])[
        "ret-selpercatinib"
    ].evidence
    assert ev["evidence_level"] == "case reports only"
    assert isinstance(ev["uptake"], str) and "no arm" in ev["uptake"]
    arms = {a["row_id"]: a for a in ev["arms"]}
    assert not arms["C04"]["in_default_analyses"]
    assert isinstance(ev["response"], str) and "no arm" in ev["response"]


def test_living_review_extra_studies(make_case: Any, examples_dir: Any) -> None:
    """A user's study file joins the pool: P07 (4/10) + X02 (examples/extra_studies.csv, 2/6), both "uptake
    on diagnostic scan". Reference, R 4.2 metafor 3.8-1:
        r <- rma(measure="PLO", xi=c(4,2), ni=c(10,6), method="REML")
        predict(r, transf=transf.ilogit)  # 0.375613540587 [0.179080968993, 0.623907976479], tau2 = 0
    """
    from redif.pathway.evidence_link import regimen_evidence

    reg = next(r for r in load_regimens() if r.id == "ras-trametinib")
    ev = regimen_evidence(reg, studies=[str(examples_dir / "extra_studies.csv")])
    assert [a["row_id"] for a in ev["arms"]] == ["P07", "X02"]
    (up,) = ev["uptake"]
    assert (up["k"], up["events"], up["n_total"], up["method"]) == (2, 6, 16, "REML")
    assert up["estimate"] == pytest.approx(0.375613540587, abs=1e-4)
    assert (up["ci_lower"], up["ci_upper"]) == pytest.approx((0.179080968993, 0.623907976479), abs=1e-4)


def test_cli_studies_option(redif: Any) -> None:
    out = redif(
        "patient", "assess", "examples/case_ras.yaml", "--json", "--studies", "examples/extra_studies.csv"
    )
    assert out.returncode == 0, out.stderr
    out = redif("patient", "assess", "examples/case_ras.yaml", "--studies", "examples/nope.csv")
    assert out.returncode == 2 and "nope.csv" in out.stderr
