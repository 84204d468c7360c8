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


def test_pool_json_contract(capsys: pytest.CaptureFixture[str]) -> None:
    """Default uptake pool: k = 10 rows (see test_studies_tables.test_default_uptake_table), 4 left out."""
    data = _json(capsys, "evidence", "pool", "--outcome", "uptake")
    assert set(data) >= POOL_KEYS
    assert data["k"] == 10 and data["measure"] == "PLO" and data["method"] == "REML"
    assert data["excluded"]["count"] == 4 and data["excluded"]["ids"] == ["P02", "S03", "S03a", "S03b"]
    assert [r["row_id"] for r in data["rows"]][:3] == ["P01a", "P01b", "P01c"]
    assert 0 <= data["ci_lower"] <= data["estimate"] <= data["ci_upper"] <= 1


def test_pool_by_genotype_json(capsys: pytest.CaptureFixture[str]) -> None:
    data = _json(capsys, "evidence", "pool", "--outcome", "uptake", "--by", "genotype")
    assert set(data["subgroups"]) == {"BRAF V600E", "BRAF wild-type", "RAS", "NTRK fusion",
                                      "mixed/unselected", "other"}
    assert set(data["subgroups"]["BRAF V600E"]) >= POOL_KEYS
    assert data["subgroups"]["BRAF V600E"]["k"] == 4
    assert set(data["test_between"]) == {"q", "df", "p"} and data["test_between"]["df"] == 5


def test_pool_matches_engine_on_same_rows(capsys: pytest.CaptureFixture[str]) -> None:
    """The command pools exactly the table's events/totals (evidence.csv response counts: P01 5/8,
    P05c 1/7, P06 8/21, P07 2/10)."""
    from redif.evidence.meta import pool_proportions

    data = _json(capsys, "evidence", "pool", "--outcome", "response", "--method", "DL")
    ref = pool_proportions([5, 1, 8, 2], [8, 7, 21, 10], method="DL")
    assert data["estimate"] == pytest.approx(ref.estimate, abs=1e-12)
    assert data["tau2"] == pytest.approx(ref.tau2, abs=1e-12)


def test_pool_filters_and_studies(capsys: pytest.CaptureFixture[str]) -> None:
    data = _json(capsys, "evidence", "pool", "--outcome", "uptake", "--genotype", "RAS", "--studies",
                 str(EXAMPLES / "extra_studies.csv"))
    assert [r["row_id"] for r in data["rows"]] == ["P01b", "P07", "X02"]
    assert data["filters"]["genotype"] == "RAS"


def test_pool_definition_and_grade(capsys: pytest.CaptureFixture[str]) -> None:
    data = _json(capsys, "evidence", "pool", "--outcome", "uptake", "--definition", "post-therapy",
                 "--method", "EE")
    assert data["k"] == 2 and data["excluded"]["count"] == 0
    data = _json(capsys, "evidence", "pool", "--outcome", "uptake", "--min-grade", "primary")
    assert {"P06", "P08", "C01"} <= set(data["excluded"]["ids"])


def test_list_and_show(capsys: pytest.CaptureFixture[str]) -> None:
    rows = _json(capsys, "evidence", "list")
    assert len(rows) == 27 and rows[0]["row_id"] == "P01"
    p06 = _json(capsys, "evidence", "show", "p06")
    assert p06["grade"] == "secondary" and p06["uptake"][0]["percent_reported"] == 65
    code, out, _ = _run(capsys, "evidence", "show", "P07")
    assert code == 0 and "uptake on post-therapy scan: 6/10" in out and "source" in out
    code, out, _ = _run(capsys, "evidence", "list")
    assert code == 0 and "MERAIODE RAS 2021" in out


def test_regress_json(capsys: pytest.CaptureFixture[str]) -> None:
    data = _json(capsys, "evidence", "regress", "--outcome", "uptake", "--mods",
                 "weeks_drug_before_uptake_assessment")
    assert {"coefficients", "qm", "qm_p", "qe", "qe_p", "r2"} <= set(data)
    assert [c["name"] for c in data["coefficients"]] == ["intrcpt", "weeks_drug_before_uptake_assessment"]
    # C01 (4 weeks) and the others all report weeks; none dropped
    assert data["dropped"] == [] and data["k"] == 10


def test_regress_drops_missing_moderator(capsys: pytest.CaptureFixture[str]) -> None:
    """activity_gbq is blank for Ho 2013 (dosimetry-determined), Dunn 2019 and C01 in evidence.csv."""
    data = _json(capsys, "evidence", "regress", "--mods", "activity_gbq")
    assert {d["row_id"] for d in data["dropped"]} == {"P01a", "P01b", "P01c", "P03", "C01"}


def test_forest_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "f.svg"
    code, stdout, err = _run(capsys, "evidence", "forest", "--outcome", "uptake", "--by", "genotype",
                             "--out", str(out))
    assert code == 0, err
    assert out.exists() and "P06 MERAIODE BRAF 2023" in out.read_text(encoding="utf-8")
    assert str(out) in stdout


def test_funnel_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "funnel.png"
    code, stdout, err = _run(capsys, "evidence", "funnel", "--outcome", "uptake", "--out", str(out))
    assert code == 0, err
    assert out.read_bytes().startswith(b"\x89PNG") and "Left out: 4 record(s)" in stdout


def test_pool_by_drug_and_glmm(capsys: pytest.CaptureFixture[str]) -> None:
    """Drug regimens of the default uptake rows (evidence.csv 'drugs'): selumetinib P01a-c and P08,
    dabrafenib + trametinib P05 and P06, trametinib P05b and P07, vemurafenib P03, larotrectinib C01."""
    data = _json(capsys, "evidence", "pool", "--by", "drug")
    ks = {g: v["k"] for g, v in data["subgroups"].items()}
    assert ks == {"selumetinib": 4, "dabrafenib + trametinib": 2, "trametinib": 2, "vemurafenib": 1,
                  "larotrectinib": 1}
    glmm = _json(capsys, "evidence", "pool", "--method", "GLMM", "--outcome", "response")
    assert glmm["method"] == "GLMM" and glmm["k"] == 4


def test_summary_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = _json(capsys, "evidence", "summary", "--out-dir", str(tmp_path), "--formats", "svg")
    assert set(data) >= {"uptake", "response", "uptake_by_definition", "plots", "disclaimer", "excluded_ids"}
    assert set(data["uptake"]) >= POOL_KEYS and "subgroups" in data["response"]
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
    assert "Restored radioiodine uptake, by genotype" in text and "BRAF V600E" in text
    assert "Objective response" in text and "Left out of at least one analysis: 5 record(s)" in text
    assert DISCLAIMER.split(";")[0] in " ".join(text.split())
    for name in ("forest_uptake", "forest_response", "forest_uptake_by_definition"):
        for suffix in (".svg", ".png"):
            assert (tmp_path / "out" / f"{name}{suffix}").is_file()
            assert f"{name}{suffix}" in text


def test_bad_input_subprocess(tmp_path: Path) -> None:
    proc = _redif("evidence", "pool", "--outcome", "uptake", "--genotype", "EGFR", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "--genotype" in proc.stderr
