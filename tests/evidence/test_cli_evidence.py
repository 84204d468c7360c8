"""`redif evidence ...`: JSON contract, summary files, bad input (exit 2, one line on stderr).

Most commands run in-process through ``redif.cli.main.main`` (the same entry point as the console
script, with its central error handling); two run as real subprocesses end to end.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from redif.cli.main import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
POOL_KEYS = {"k", "measure", "method", "mu", "se", "estimate", "ci_lower", "ci_upper", "pi_lower", "pi_upper",
             "tau2", "i2", "h2", "q", "q_df", "q_p"}


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out = capsys.readouterr()
    code = info.value.code
    return int(code) if isinstance(code, int) else 1, out.out, out.err


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    code, out, err = _run(capsys, *args, "--json")
    assert code == 0, err
    return json.loads(out)


STRATIFIED_KEYS = {"k", "measure", "method", "overall_pooled", "overall_note", "subgroups", "test_between",
                   "mixed_definitions", "denominator", "test", "definitions", "rows", "excluded"}


def test_pool_json_contract(capsys: pytest.CaptureFixture[str]) -> None:
    """Default uptake pool: k = 10 rows (see test_studies_tables.test_default_uptake_table), 5 left out.

    Issue 12 (like with like): the rows use five definitions of restored uptake (six groups: the
    unreported definitions of C01 and C03 each stand alone), so by default there is one group per
    definition and no overall pool -- the overall estimate keys (POOL_KEYS) are left out by
    design and ``overall_pooled`` is false; they come back, labelled ``mixed_definitions``, only with
    ``--mix-definitions``. Each group lists its ``records``; the test is metafor's adhoc by default."""
    data = _json(capsys, "evidence", "pool", "--outcome", "uptake")
    assert set(data) >= STRATIFIED_KEYS and not {"estimate", "ci_lower", "tau2"} & set(data)
    assert data["overall_pooled"] is False and data["mixed_definitions"] is False and data["test"] == "adhoc"
    assert data["k"] == 10 and data["measure"] == "PLO" and data["method"] == "REML"
    assert data["excluded"]["count"] == 5 and data["excluded"]["ids"] == ["P02", "P06", "S03", "S03a", "S03b"]
    assert [r["row_id"] for r in data["rows"]][:3] == ["P01a", "P01b", "P01c"]
    # issue 12: a definition the source does not report is its own group, one per record
    named = set(data["definitions"]) - {"not reported"}
    assert set(data["subgroups"]) == named | {"not reported (C01)", "not reported (C03)"}
    for sub in data["subgroups"].values():
        assert set(sub) >= POOL_KEYS | {"records", "definitions"} and len(sub["definitions"]) == 1
        assert len(sub["records"]) == sub["k"]
    mixed = _json(capsys, "evidence", "pool", "--outcome", "uptake", "--mix-definitions")
    assert set(mixed) >= POOL_KEYS and mixed["mixed_definitions"] is True and mixed["overall_pooled"] is True
    assert mixed["k"] == 10 and len(mixed["records"]) == 10
    assert 0 <= mixed["ci_lower"] <= mixed["estimate"] <= mixed["ci_upper"] <= 1


def test_pool_by_genotype_json(capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 12: --by genotype without --definition gives definition x genotype groups (the default rows of
    test_studies_tables.test_default_uptake_table, each record's definition and genotype read by hand):
    10 groups of one record, so the between-group test has df = 9; with --mix-definitions the genotype
    groups of old come back (BRAF V600E: P01a, P03, P05 since P06 is unverified)."""
    data = _json(capsys, "evidence", "pool", "--outcome", "uptake", "--by", "genotype")
    assert set(data["subgroups"]) == {
        "increased 124I uptake × BRAF V600E", "increased 124I uptake × RAS", "increased 124I uptake × other",
        "lesion-dose threshold reached × BRAF V600E", "not reported (C01) × NTRK fusion",
        "not reported (C03) × mixed/unselected", "protocol-defined sufficient uptake × mixed/unselected",
        "uptake on diagnostic scan × BRAF V600E", "uptake on diagnostic scan × BRAF wild-type",
        "uptake on diagnostic scan × RAS"}
    braf = data["subgroups"]["uptake on diagnostic scan × BRAF V600E"]
    assert set(braf) >= POOL_KEYS and braf["k"] == 1 and braf["records"] == ["P05"]
    assert set(data["test_between"]) == {"q", "df", "p"} and data["test_between"]["df"] == 9
    mixed = _json(capsys, "evidence", "pool", "--outcome", "uptake", "--by", "genotype", "--mix-definitions")
    assert set(mixed["subgroups"]) == {"BRAF V600E", "BRAF wild-type", "RAS", "NTRK fusion",
                                       "mixed/unselected", "other"}
    assert mixed["subgroups"]["BRAF V600E"]["records"] == ["P01a", "P03", "P05"]
    assert mixed["mixed_definitions"] is True and set(mixed) >= POOL_KEYS


def test_pool_matches_engine_on_same_rows(capsys: pytest.CaptureFixture[str]) -> None:
    """The command pools exactly the table's events/totals. Issue 12: the default denominator is itt
    (test_studies_tables.test_default_response_table: P01 5/20, P05c 1/20, P06 8/24, P07 2/11) and the
    default test adhoc; ``--denominator treated`` gives P01 5/8, P05c 1/7, P07 2/10 (P06 has no count of
    patients given 131I) and ``--test z`` the engine's z test."""
    from redif.evidence.meta import pool_proportions

    data = _json(capsys, "evidence", "pool", "--outcome", "response", "--method", "DL")
    assert data["denominator"] == "itt" and data["test"] == "adhoc"
    ref = pool_proportions([5, 1, 8, 2], [20, 20, 24, 11], method="DL", knha="adhoc")
    assert data["estimate"] == pytest.approx(ref.estimate, abs=1e-12)
    assert data["tau2"] == pytest.approx(ref.tau2, abs=1e-12)
    assert (data["ci_lower"], data["ci_upper"]) == pytest.approx((ref.ci_lower, ref.ci_upper), abs=1e-12)
    treated = _json(capsys, "evidence", "pool", "--outcome", "response", "--method", "DL", "--denominator",
                    "treated", "--test", "z")
    assert treated["denominator"] == "treated" and treated["test"] == "z"
    ref = pool_proportions([5, 1, 2], [8, 7, 10], method="DL")
    assert treated["estimate"] == pytest.approx(ref.estimate, abs=1e-12)
    ci = (treated["ci_lower"], treated["ci_upper"])
    assert ci == pytest.approx((ref.ci_lower, ref.ci_upper), abs=1e-12)
    assert treated["excluded"]["ids"] == ["P02", "P03", "P06"]


def test_pool_filters_and_studies(capsys: pytest.CaptureFixture[str]) -> None:
    data = _json(capsys, "evidence", "pool", "--outcome", "uptake", "--genotype", "RAS", "--studies",
                 str(EXAMPLES / "extra_studies.csv"))
    assert [r["row_id"] for r in data["rows"]] == ["P01b", "P07", "X02"]
    assert data["filters"]["genotype"] == "RAS"


def test_pool_definition_and_grade(capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 12 curation: post-therapy scan keeps only P07 6/10 at the default grade (P06's 19/20 is derived
    and unverified), so k = 1: the adhoc test needs 2 records (a clear exit 2 naming --test), z with EE
    reports the single record; at min grade unverified P06 enters again (k = 2)."""
    code, _out, err = _run(capsys, "evidence", "pool", "--outcome", "uptake", "--definition", "post-therapy",
                           "--method", "EE")
    assert code == 2 and err.startswith("error: --test") and "k = 1" in err
    data = _json(capsys, "evidence", "pool", "--outcome", "uptake", "--definition", "post-therapy",
                 "--method", "EE", "--test", "z")
    assert data["k"] == 1 and data["excluded"]["ids"] == ["P06"]
    data = _json(capsys, "evidence", "pool", "--outcome", "uptake", "--definition", "post-therapy",
                 "--method", "EE", "--min-grade", "unverified")
    assert data["k"] == 2 and data["excluded"]["count"] == 0
    data = _json(capsys, "evidence", "pool", "--outcome", "uptake", "--min-grade", "primary")
    assert {"P06", "P08", "C01"} <= set(data["excluded"]["ids"])


def test_list_and_show(capsys: pytest.CaptureFixture[str]) -> None:
    """29 records: the 27 of the evidence table plus the two registered trials without results (issue 12); the
    text list leaves the ongoing ones to `evidence ongoing` and marks MERAIODE BRAF's 19/20 as derived."""
    rows = _json(capsys, "evidence", "list")
    assert len(rows) == 29 and rows[0]["row_id"] == "P01"
    p06 = _json(capsys, "evidence", "show", "p06")
    assert p06["grade"] == "secondary" and p06["uptake"][0]["percent_reported"] == 65
    code, out, _ = _run(capsys, "evidence", "show", "P07")
    assert code == 0 and "uptake on post-therapy scan: 6/10" in out and "source" in out
    code, out, _ = _run(capsys, "evidence", "list")
    assert code == 0 and "MERAIODE RAS 2021" in out and "19/20 (derived," in out
    assert "Ongoing (registered, no results; never pooled): 2" in out
    ongoing = _json(capsys, "evidence", "ongoing")
    assert [r["row_id"] for r in ongoing] == ["O01", "O02"]


def test_regress_json(capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 12: the uptake rows span six definitions (C01's and C03's unreported ones counting apart), so
    a regression without definition among --mods is refused (exit 2, naming them and the fixes) unless
    --mix-definitions, which labels the result."""
    code, _out, err = _run(capsys, "evidence", "regress", "--outcome", "uptake", "--mods",
                           "weeks_drug_before_uptake_assessment")
    assert code == 2 and err.startswith("error: --definition") and "6 definitions" in err
    assert "--mix-definitions" in err and "not reported (C01)" in err
    data = _json(capsys, "evidence", "regress", "--outcome", "uptake", "--mods",
                 "weeks_drug_before_uptake_assessment", "--mix-definitions")
    assert data["mixed_definitions"] is True
    assert {"coefficients", "qm", "qm_p", "qe", "qe_p", "r2"} <= set(data)
    assert [c["name"] for c in data["coefficients"]] == ["intrcpt", "weeks_drug_before_uptake_assessment"]
    # C01 (4 weeks) and the others report weeks; Lee 2021 (C03, added by issue 12) does not: dropped
    why = "no value for weeks_drug_before_uptake_assessment"
    assert data["dropped"] == [{"row_id": "C03", "reason": why}]
    assert data["k"] == 9 and data["test"] == "adhoc" and len(data["records"]) == 9


def test_regress_drops_missing_moderator(capsys: pytest.CaptureFixture[str]) -> None:
    """activity_gbq is blank for Ho 2013 (dosimetry-determined), Dunn 2019 and C01 in the evidence table,
    and for
    Lee 2021 (C03, issue 12: the abstract gives no activity)."""
    data = _json(capsys, "evidence", "regress", "--mods", "activity_gbq", "--mix-definitions")
    assert {d["row_id"] for d in data["dropped"]} == {"P01a", "P01b", "P01c", "P03", "C01", "C03"}


def test_forest_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "f.svg"
    code, stdout, err = _run(capsys, "evidence", "forest", "--outcome", "uptake", "--by", "genotype",
                             "--out", str(out))
    assert code == 0, err
    # issue 12: P06 is out of the default uptake rows (unverified count); P07 is in, under its definition;
    # the groups use different definitions, so no overall diamond is drawn and the plot says why
    svg = out.read_text(encoding="utf-8")
    assert "P07 MERAIODE RAS 2021" in svg and "No overall pool" in svg and "Random-effects" not in svg
    mixed = tmp_path / "m.svg"
    code, _stdout, err = _run(capsys, "evidence", "forest", "--outcome", "uptake", "--mix-definitions",
                              "--out", str(mixed))
    assert code == 0, err
    assert "No overall pool" not in mixed.read_text(encoding="utf-8")
    assert str(out) in stdout


def test_funnel_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "funnel.png"
    """Issue 12: a funnel plot has one pooled mean, so the uptake rows (six definitions) need
    --mix-definitions (title labelled) or one --definition; without either: exit 2 naming --definition.
    Six definitions: four named ones, and the unreported ones of C01 and C03, each its own."""
    code, _stdout, err = _run(capsys, "evidence", "funnel", "--outcome", "uptake", "--out", str(out))
    assert code == 2 and err.startswith("error: --definition") and "6 definitions" in err
    code, stdout, err = _run(capsys, "evidence", "funnel", "--outcome", "uptake", "--mix-definitions",
                             "--out", str(out))
    assert code == 0, err
    assert out.read_bytes().startswith(b"\x89PNG") and "Left out: 5 record(s)" in stdout


def test_pool_by_drug_and_glmm(capsys: pytest.CaptureFixture[str]) -> None:
    """Drug regimens of the default uptake rows (the evidence table 'drugs'): selumetinib P01a-c (124I
    increase)
    and P08 (protocol-defined), dabrafenib + trametinib P05, trametinib P05b and P07 (all diagnostic scan),
    vemurafenib P03 (dose threshold), larotrectinib C01 and larotrectinib / selpercatinib C03 (definition
    not reported). Issue 12: groups are definition x drug by default (P06 is unverified and left out)."""
    data = _json(capsys, "evidence", "pool", "--by", "drug")
    ks = {g: v["k"] for g, v in data["subgroups"].items()}
    assert ks == {"increased 124I uptake × selumetinib": 3,
                  "protocol-defined sufficient uptake × selumetinib": 1,
                  "uptake on diagnostic scan × dabrafenib + trametinib": 1,
                  "uptake on diagnostic scan × trametinib": 2,
                  "lesion-dose threshold reached × vemurafenib": 1,
                  "not reported (C01) × larotrectinib": 1,
                  "not reported (C03) × larotrectinib / selpercatinib": 1}
    # GLMM has no Knapp-Hartung (metafor rma.glmm): its default test is z; asking for adhoc is refused
    glmm = _json(capsys, "evidence", "pool", "--method", "GLMM", "--outcome", "response")
    assert glmm["method"] == "GLMM" and glmm["k"] == 4 and glmm["test"] == "z"
    code, _out, err = _run(capsys, "evidence", "pool", "--method", "GLMM", "--outcome", "response",
                           "--test", "adhoc")
    assert code == 2 and err.startswith("error: --test") and "GLMM" in err


def test_summary_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = _json(capsys, "evidence", "summary", "--out-dir", str(tmp_path), "--formats", "svg")
    assert set(data) >= {"uptake", "response", "uptake_by_definition", "plots", "disclaimer", "excluded_ids"}
    # issue 12: uptake is split by definition (no overall keys, see test_pool_json_contract); response
    # keeps every pooled key, with its denominator; the summary says which test and denominator it used
    assert set(data["uptake"]) >= STRATIFIED_KEYS and data["uptake"]["overall_pooled"] is False
    assert set(data["response"]) >= POOL_KEYS and "subgroups" in data["response"]
    assert data["response"]["denominator"] == "itt" and data["denominator"] == "itt"
    assert data["test"] == "adhoc" and data["mixed_definitions"] is False and data["n_records"] == 29
    for p in data["plots"]:
        assert Path(p).exists()
    assert len(data["plots"]) == 3 and all(p.endswith(".svg") for p in data["plots"])


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("evidence", "pool", "--outcome", "survival"), "--outcome"),
        (("evidence", "pool", "--genotype", "EGFR"), "--genotype"),
        (("evidence", "pool", "--definition", "vibes"), "--definition"),
        (("evidence", "pool", "--min-grade", "gold"), "--min-grade"),
        (("evidence", "pool", "--by", "colour"), "--by"),
        (("evidence", "pool", "--genotype", "RET fusion"), "0 study rows"),
        (("evidence", "pool", "--genotype", "NTRK"), "k = 1"),
        (("evidence", "pool", "--studies", "nope.csv"), "file not found"),
        (("evidence", "show", "Z99"), "no such study"),
        (("evidence", "regress", "--mods", "colour"), "unknown moderator"),
        (("evidence", "forest", "--out", "plot.pdf"), "unknown plot file type"),
        (("evidence", "pool", "--prefer", "neither"), "--prefer"),
        (("evidence", "summary", "--formats", "gif"), "--formats"),
    ],
)
def test_bad_input_one_line_exit_2(capsys: pytest.CaptureFixture[str], args: tuple[str, ...],
                                   fragment: str) -> None:
    code, _out, err = _run(capsys, *args)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert fragment in err
    assert "Traceback" not in err


def test_bad_user_file_names_row(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("row_id,row_type,label,genotype,grade,source,n_evaluable,uptake_definition,n_uptake_restored\n"
                   "Q1,arm,x,RAS,primary,s,4,uptake on diagnostic scan,5\n", encoding="utf-8")
    code, _, err = _run(capsys, "evidence", "pool", "--studies", str(bad))
    assert code == 2 and "row Q1" in err and "restored" in err and "bad.csv line 2" in err


def _redif(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "redif", *args], capture_output=True, text=True, check=False,
                          cwd=cwd)


def test_summary_end_to_end(tmp_path: Path) -> None:
    """`redif evidence summary` as a user runs it: table, disclaimer, exclusions, plot paths."""
    from redif import DISCLAIMER

    proc = _redif("evidence", "summary", "--out-dir", "out", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    assert "Restored radioiodine uptake, by definition × genotype" in text and "BRAF V600E" in text
    assert "Objective response (RECIST CR+PR), by genotype (denominator: itt)" in text
    # issue 12: P06 joins the left-out records (unverified 19/20) -> 6
    assert "Left out of at least one analysis: 6 record(s)" in text
    assert "Knapp-Hartung with max(1, q)" in text and "no pool across definitions" in text
    assert DISCLAIMER.split(";")[0] in " ".join(text.split())
    for name in ("forest_uptake", "forest_response", "forest_uptake_by_definition"):
        for suffix in (".svg", ".png"):
            assert (tmp_path / "out" / f"{name}{suffix}").is_file()
            assert f"{name}{suffix}" in text


def test_bad_input_subprocess(tmp_path: Path) -> None:
    proc = _redif("evidence", "pool", "--outcome", "uptake", "--genotype", "EGFR", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "--genotype" in proc.stderr
