"""CLI contract of `redif recist bor`, `redif recist timepoint`, `redif recist waterfall` and
`redif tg doubling-time` (JSON keys from issue 4; bad input -> exit 2, one line per problem on stderr)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_bor_json_contract(cli):
    """examples/recist/bor.csv is admiralonco's test data (tests/testthat/test-derive_param_confirmed_bor.R);
    `--confirm` with the defaults reproduces its "Test 4: No source_pd" expected table."""
    r = cli("recist", "bor", str(EXAMPLES / "recist" / "bor.csv"), "--confirm", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    got = {s["subject"]: (s["bor"], s["date"]) for s in out["subjects"]}
    assert got == {
        "1": ("CR", "2020-02-01"),
        "2": ("SD", "2020-02-01"),
        "3": ("SD", "2020-01-01"),
        "4": ("SD", "2020-03-01"),
        "5": ("NON-CR/NON-PD", "2020-05-15"),
        "6": ("SD", "2020-03-30"),
        "7": ("NE", "2020-02-06"),
        "8": ("MISSING", None),
        "9": ("SD", "2020-03-06"),
    }
    assert all(set(s) == {"subject", "bor", "date"} for s in out["subjects"])


def test_bor_options(cli):
    """admiralonco Test 2 options (confirm 14 d, no NE, accept SD) through the CLI: subject 2 becomes PR
    (one SD accepted between PR 02-01 and CR 03-13), subject 1 PR (its CR confirmation has an NE)."""
    r = cli(
        "recist",
        "bor",
        str(EXAMPLES / "recist" / "bor.csv"),
        "--confirm",
        "--confirm-days",
        "14",
        "--start-window-days",
        "28",
        "--max-ne",
        "0",
        "--accept-sd",
        "--json",
    )
    assert r.returncode == 0, r.stderr
    got = {s["subject"]: (s["bor"], s["date"]) for s in json.loads(r.stdout)["subjects"]}
    assert (
        got["1"] == ("PR", "2020-01-01")
        and got["2"] == ("PR", "2020-02-01")
        and got["3"] == ("CR", "2019-11-12")
    )


def test_bor_unconfirmed_human_output(cli):
    r = cli("recist", "bor", str(EXAMPLES / "recist" / "bor.csv"))
    assert r.returncode == 0, r.stderr
    assert "MISSING" in r.stdout and "Decision support" in r.stdout


@pytest.mark.parametrize(
    ("csv", "needle"),
    [
        ("subject,treatment_start,date,response\nA,2025-01-01,2025-02-01,XX\n", "row 2, response"),
        (
            "subject,treatment_start,date,response\nA,2025-01-01,2025-03-01,PR\nA,2025-01-01,2025-02-01,SD\n",
            "out of order",
        ),
        ("subject,treatment_start,date\nA,2025-01-01,2025-02-01\n", "missing column 'response'"),
        ("subject,treatment_start,date,response\nA,2025-01-01,2025-02-31,PR\n", "row 2, date"),
        ("subject,treatment_start,date,response\nA,,2025-02-01,PR\n", "treatment_start"),
    ],
)
def test_bor_bad_input(cli, write, csv, needle):
    r = cli("recist", "bor", str(write("bad.csv", csv)), "--json")
    assert r.returncode == 2
    assert needle in r.stderr
    assert "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_bor_two_problems_two_lines(cli, write):
    csv = "subject,treatment_start,date,response\nA,2025-01-01,2025-02-01,XX\nB,2025-01-01,2025-02-01,YY\n"
    r = cli("recist", "bor", str(write("bad.csv", csv)))
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith("error: row ") for line in lines)


def test_bor_missing_file(cli):
    r = cli("recist", "bor", "nope.csv")
    assert r.returncode == 2 and "file not found" in r.stderr


def test_timepoint_json(cli, tmp_path):
    """examples/recist/case_pr.json: sums 70 -> 54 (-22.9 %, SD) -> 49 (-30 % exactly, PR) -> 42 (PR) ->
    55 (+13 mm = +31 % over the nadir 42: PD); hand-derived from RECIST 1.1 §4.3.1."""
    png = tmp_path / "sod.png"
    r = cli("recist", "timepoint", str(EXAMPLES / "recist" / "case_pr.json"), "--json", "--plot", str(png))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    tps = out["timepoints"]
    assert [t["overall"] for t in tps] == ["SD", "PR", "PR", "PD"]
    assert [t["sum_mm"] for t in tps] == [54.0, 49.0, 42.0, 55.0]
    assert tps[1]["change_from_baseline_pct"] == -30.0
    assert tps[3]["nadir_mm"] == 42.0
    for key in ("target", "non_target", "new_lesions", "change_from_baseline_mm", "change_from_nadir_pct"):
        assert key in tps[0]
    assert out["baseline"] == {"date": "2025-01-10", "sum_mm": 70.0}
    assert out["best_overall_response_confirmed"]["bor"] == "PR"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_timepoint_bad_input(cli, write):
    case = {
        "lesions": [{"id": "T1", "organ": "lung", "kind": "target"}],
        "baseline": {"date": "2025-01-01", "target_mm": {"T1": 20}},
        "follow_up": [{"date": "2025-03-01", "target_mm": {"T1": 18, "T7": 4}, "non_target": {"X": "gone"}}],
    }
    r = cli("recist", "timepoint", str(write("c.json", case)), "--json")
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 2
    assert "follow_up[0].target_mm.T7" in lines[0] and "follow_up[0].non_target.X" in lines[1]
    r2 = cli("recist", "timepoint", str(write("d.json", "{not json")))
    assert r2.returncode == 2 and "invalid JSON" in r2.stderr
    r3 = cli("recist", "timepoint", str(write("e.json", {"lesions": []})))
    assert r3.returncode == 2 and "baseline" in r3.stderr


def test_waterfall(cli, tmp_path):
    out = tmp_path / "w.svg"
    files = sorted(str(p) for p in (EXAMPLES / "recist").glob("case_*.json"))
    r = cli("recist", "waterfall", *files, "--out", str(out), "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert len(data["subjects"]) == len(files)
    assert out.read_text().lstrip().startswith("<?xml")


def test_tg_json_contract(cli, tmp_path):
    """examples/tg/tg_rising.csv against R 4.2 ``lm(log(tg) ~ x)`` (x = days from the first sample)::

        d <- as.Date(c("2023-03-01","2023-09-05","2024-03-12","2024-09-10","2025-03-04"))
        x <- as.numeric(d - d[1]); f <- lm(log(c(1.8,2.9,4.1,7.6,11.2)) ~ x)
        log(2)/coef(f)[2]; summary(f)$r.squared

    -> DT 276.075154384922 d, r2 0.993033842913005."""
    png = tmp_path / "tg.png"
    r = cli("tg", "doubling-time", str(EXAMPLES / "tg" / "tg_rising.csv"), "--json", "--plot", str(png))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    for key in (
        "doubling_time_days",
        "doubling_time_years",
        "doubling_rate_per_year",
        "slope_per_year",
        "r2",
        "n",
        "flags",
    ):
        assert key in out
    assert out["doubling_time_days"] == pytest.approx(276.075154384922, rel=1e-9)
    assert out["doubling_time_years"] == pytest.approx(276.075154384922 / 365.25, rel=1e-9)
    assert out["doubling_rate_per_year"] == pytest.approx(365.25 / 276.075154384922, rel=1e-9)
    assert out["r2"] == pytest.approx(0.993033842913005, rel=1e-9)
    assert out["n"] == 5 and out["flags"] == []
    assert png.stat().st_size > 1000


def test_tg_halving_example(cli):
    """examples/tg/tg_after_rai.csv: R ``lm`` gives slope -0.00354007114141938 /d, DT -195.800353402511 d,
    r2 0.988378808330111 (same R code as above with the file's values)."""
    r = cli("tg", "doubling-time", str(EXAMPLES / "tg" / "tg_after_rai.csv"), "--json")
    out = json.loads(r.stdout)
    assert out["doubling_time_days"] == pytest.approx(-195.800353402511, rel=1e-9)
    assert out["r2"] == pytest.approx(0.988378808330111, rel=1e-9)
    assert out["flags"] == ["halving"]


@pytest.mark.parametrize(
    ("csv", "needle"),
    [
        ("date,tg\n2024-01-01,0\n2024-02-01,3\n", "row 2, tg"),
        ("date,tg\n2024-03-01,1\n2024-02-01,3\n", "out of order"),
        ("date,tg\n2024-03-01,1\n2024-03-01,3\n", "duplicate date"),
        ("date,tg\n2024-03-01,1\n", "at least 2"),
        ("date,value\n2024-03-01,1\n", "missing column 'tg'"),
        ("date,tg,tgab\n2024-03-01,1,maybe\n2024-04-01,2,\n", "row 2, tgab"),
    ],
)
def test_tg_bad_input(cli, write, csv, needle):
    r = cli("tg", "doubling-time", str(write("tg.csv", csv)), "--json")
    assert r.returncode == 2
    assert needle in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_tg_human_output_and_tsh_filter(cli, write):
    csv = (
        "date,tg,tgab,tsh_state\n2024-01-01,1,negative,suppressed\n2024-02-01,20,negative,stimulated\n"
        "2024-04-10,2,negative,suppressed\n2024-07-19,4,negative,suppressed\n"
    )
    path = write("mixed.csv", csv)
    r = cli("tg", "doubling-time", str(path))
    assert r.returncode == 0 and "mixed_tsh_states" in r.stdout
    r2 = cli("tg", "doubling-time", str(path), "--tsh-state", "suppressed", "--json")
    out = json.loads(r2.stdout)
    assert out["n"] == 3 and out["doubling_time_days"] == pytest.approx(100.0)
    r3 = cli("tg", "doubling-time", str(path), "--tsh-state", "high")
    assert r3.returncode == 2 and "--tsh-state" in r3.stderr


def test_console_script_end_to_end(run_cli, write):
    """One real subprocess per command family: exit status 2 and exactly one line on stderr for bad
    input, JSON on stdout for good input."""
    r = run_cli(
        "recist",
        "bor",
        str(write("bad.csv", "subject,treatment_start,date,response\nA,2025-01-01,2025-02-01,XX\n")),
    )
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    r = run_cli("tg", "doubling-time", str(EXAMPLES / "tg" / "tg_rising.csv"), "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["n"] == 5


@pytest.mark.parametrize(
    ("csv", "needle"),
    [
        (
            "subject,treatment_start,date,response\nA,2025-01-01,2025-02-01,PR\nA,2025-01-05,2025-03-01,PR\n",
            "treatment start differs",
        ),
        ("subject,treatment_start,date,response\n,2025-01-01,2025-02-01,PR\n", "row 2, subject"),
        (
            "subject,treatment_start,date,response\nA,2025-01-01,2025-02-01,PR\nA,2025-01-01,2025-02-01,SD\n",
            "repeated date",
        ),
        ("subject,treatment_start,date,response\nA,2025-01-01,2025-02-01,\n", "without a response"),
    ],
)
def test_bor_more_bad_input(cli, write, csv, needle):
    r = cli("recist", "bor", str(write("bad.csv", csv)), "--json")
    assert r.returncode == 2 and needle in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_bor_negative_option(cli):
    r = cli("recist", "bor", str(EXAMPLES / "recist" / "bor.csv"), "--confirm-days", "-1", "--json")
    assert r.returncode == 2 and "confirm-days" in r.stderr


def test_bor_lowercase_codes_and_placeholder_row(cli, write):
    """Codes are case-insensitive; an empty date/response row only declares the subject."""
    csv = "subject,treatment_start,date,response\nA,2025-01-01,2025-03-01,non-cr/non-pd\nB,,,\n"
    r = cli("recist", "bor", str(write("ok.csv", csv)), "--json")
    got = json.loads(r.stdout)["subjects"]
    assert got == [
        {"subject": "A", "bor": "NON-CR/NON-PD", "date": "2025-03-01"},
        {"subject": "B", "bor": "MISSING", "date": None},
    ]


def test_timepoint_unknown_keys_and_kinds(cli, write):
    case = {
        "lesions": [{"id": "T1", "organ": "lung", "kind": "measurable"}],
        "baseline": {"date": "2025-01-01", "target_mm": {}},
        "followup": [],
    }
    r = cli("recist", "timepoint", str(write("c.json", case)))
    assert r.returncode == 2
    assert "lesions[0].kind" in r.stderr and "followup" in r.stderr


def test_tg_numeric_tgab_cutoff(cli, write):
    path = write("ab.csv", "date,tg,tgab\n2024-01-01,1,20\n2024-06-01,2,300\n2024-12-01,4,20\n")
    r = cli("tg", "doubling-time", str(path), "--tgab-cutoff", "115", "--json")
    assert r.returncode == 0 and "tgab_positive" in json.loads(r.stdout)["flags"]
    r2 = cli("tg", "doubling-time", str(path), "--json")
    assert r2.returncode == 2 and "--tgab-cutoff" in r2.stderr


def test_timepoint_yaml_case(cli, write):
    """The same case in YAML: 20.2 + 9.8 = 30.0 -> 14.7 + 6.3 = 21.0 mm is exactly -30 % (PR)."""
    text = (
        "lesions:\n  - {id: T1, organ: lung, kind: target}\n  - {id: T2, organ: liver, kind: target}\n"
        "baseline: {date: 2025-01-01, target_mm: {T1: 20.2, T2: 9.8}}\n"
        "follow_up:\n  - {date: 2025-03-01, target_mm: {T1: 14.7, T2: 6.3}}\n"
    )
    r = cli("recist", "timepoint", str(write("case.yaml", text)), "--json")
    assert r.returncode == 0, r.stderr
    tp = json.loads(r.stdout)["timepoints"][0]
    assert tp["target"] == "PR" and tp["change_from_baseline_pct"] == -30.0
    bad = cli("recist", "timepoint", str(write("bad.yaml", "lesions: [\n")))
    assert bad.returncode == 2 and "invalid YAML" in bad.stderr
