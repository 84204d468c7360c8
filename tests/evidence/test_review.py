"""Issue 12, item 4: the living review (risk of bias, GRADE summary of findings, PRISMA 2020, `add`).

A small fixture review (four records, a fixture risk-of-bias file, a fixture screening log) whose expected
risk-of-bias summary, GRADE table (certainty and the rating of each domain) and PRISMA counts are worked
out by hand in the docstrings from the rules of ``risk_of_bias_tool.yaml`` and ``grade_rules.yaml``; then
checks that the real data files load and cover every evidence record; then the CLI's ``--json``.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from redif.cli.main import main
from redif.errors import InputError
from redif.evidence.grade import load_grade_rules, summary_of_findings
from redif.evidence.prisma import add_entry, load_log, prisma_counts, prisma_svg
from redif.evidence.risk_of_bias import load_assessments, load_tool, parse_assessments, summarise
from redif.evidence.studies import load_evidence, parse_study

ITEMS = [f"Q{i}" for i in range(1, 11)]


def _record(row_id: str, **extra: Any) -> dict[str, Any]:
    base = {"row_id": row_id, "row_type": "study", "label": f"Fixture {row_id}", "genotype": "BRAF V600E",
            "grade": "primary", "source": "test fixture"}
    base.update(extra)
    return base


FIXTURE_STUDIES = [
    parse_study(_record("F1", n_enrolled=100, n_evaluable=100, n_started_drug=100, uptake=[
        {"definition": "uptake on diagnostic scan", "restored": 50, "evaluable": 100}],
        recist_cr=0, recist_pr=20, response_denominator=100, response_denominator_basis="treated"),
        origin="fixture"),
    parse_study(_record("F2", n_enrolled=100, n_evaluable=100, n_started_drug=100, uptake=[
        {"definition": "uptake on diagnostic scan", "restored": 55, "evaluable": 100}],
        recist_cr=0, recist_pr=25, response_denominator=100, response_denominator_basis="evaluable"),
        origin="fixture"),
    parse_study(_record("F3", n_enrolled=6, n_evaluable=6, uptake=[
        {"definition": "uptake on post-therapy scan", "restored": 3, "evaluable": 6}]), origin="fixture"),
    parse_study(_record("F4", label="Fixture randomised trial", randomised=True), origin="fixture"),
]


def _answers(*values: str) -> dict[str, list[str]]:
    return {item: [value, "fixture"] for item, value in zip(ITEMS, values, strict=True)}


FIXTURE_ROB = {"assessments": [
    # 10 yes of 10 -> share 1.0 >= 0.7 -> low
    {"record": "F1", "grade": "unverified", "answers": _answers(*["yes"] * 10)},
    # 5 yes, 5 unclear -> 0.5: >= 0.5, < 0.7 -> some_concerns
    {"record": "F2", "grade": "unverified", "answers": _answers(*["yes"] * 5, *["unclear"] * 5)},
    # 2 yes, 1 no, 6 unclear, 1 not applicable -> 2 / 9 = 0.22 < 0.5 -> high
    {"record": "F3", "grade": "unverified",
     "answers": _answers("yes", "yes", "no", *["unclear"] * 6, "not_applicable")},
    {"record": "F4", "assessed": False, "reason": "randomised trial: use RoB 2"},
]}

FIXTURE_LOG: dict[str, Any] = {
    "identification": {"databases": 40, "registers": 5, "other_methods": "unknown"},
    "duplicates_removed": 5, "records_screened": 40, "records_excluded": 30, "reports_sought": 10,
    "reports_not_retrieved": 2, "reports_assessed": 8,
    "reports_excluded": [{"reason": "no uptake outcome", "count": 3},
                         {"reason": "review article", "count": 2}],
    "studies_included": 3, "included_reports": ["F1", "F2", "F3"],
    "entries": [{"date": "2026-01-02", "file": "new.yaml", "records": ["F4"], "decision": "included"}],
}


def test_fixture_rob_judgements_and_summary() -> None:
    """Issue 12: judgements by redif's rule (share of yes among applicable items: >= 0.7 low, >= 0.5 some
    concerns, else high; F4 not assessed), and answer counts per item, hand-counted from FIXTURE_ROB."""
    tool = load_tool()
    assessments = parse_assessments(FIXTURE_ROB, tool, records=["F1", "F2", "F3", "F4"])
    assert {a.record: a.judgement for a in assessments} == {
        "F1": "low", "F2": "some_concerns", "F3": "high", "F4": "not_assessed"}
    summary = summarise(assessments, tool)
    assert summary.judgements == {"low": 1, "some_concerns": 1, "high": 1, "not_assessed": 1}
    assert summary.n_records == 4
    assert summary.items["Q1"] == {"yes": 3, "no": 0, "unclear": 0, "not_applicable": 0}
    assert summary.items["Q3"] == {"yes": 2, "no": 1, "unclear": 0, "not_applicable": 0}  # F1, F2 yes; F3 no
    assert summary.items["Q10"] == {"yes": 1, "no": 0, "unclear": 1, "not_applicable": 1}


@pytest.mark.parametrize("broken, field", [
    ({"assessments": [{"record": "F1", "grade": "unverified", "answers": {"Q1": ["yes", "x"]}}]}, "answers"),
    ({"assessments": [{"record": "F1", "grade": "unverified",
                       "answers": _answers(*["maybe"] * 10)}]}, "answers.Q1"),
    ({"assessments": [{"record": "F1", "same_as": "F9"}]}, "same_as"),
    ({"assessments": [{"record": "F1", "assessed": False}]}, "reason"),
])
def test_rob_validation_names_the_field(broken: dict[str, Any], field: str) -> None:
    """Issue 12: a malformed assessment is an InputError naming the record and field (no silent default)."""
    with pytest.raises(InputError) as info:
        parse_assessments(broken, load_tool())
    assert field in str(info.value.field)


def test_rob_missing_record_is_refused() -> None:
    """Issue 12: every evidence record needs an assessment (F4 missing here)."""
    data = {"assessments": FIXTURE_ROB["assessments"][:3]}
    with pytest.raises(InputError, match="without a risk-of-bias assessment"):
        parse_assessments(data, load_tool(), records=["F1", "F2", "F3", "F4"])


def test_fixture_grade_table() -> None:
    """Issue 12: GRADE by hand from grade_rules.yaml (start low; -1 per serious concern, -2 very serious),
    on the evidence explorer's defaults (REML; Knapp-Hartung ``adhoc``: t with k - 1 df and the variance
    factor max(1, q); a single record: its exact Clopper-Pearson interval).

    - diagnostic scan, F1 50/100 + F2 55/100: logits 0 and 0.2007, variances 0.04 and 0.0404; Q = 0.50 <
      df = 1, so tau^2 = 0, I^2 = 0 -> inconsistency not serious; mu = 0.0999, SE = 1/sqrt(49.75) = 0.1418
      (q < 1: factor 1); t(0.975, 1) = 12.706 -> logit CI 0.0999 +- 1.8015 -> 0.154-0.870 (72 points >
      50) -> imprecision very serious (-2); RoB 0 of 2 high; one definition; k < 10. -> very low.
    - post-therapy scan, F3 3/6 alone: exact CI 0.118-0.882 (76 points > 50) -> very serious (-2); F3 at
      high risk, 1 of 1 >= 0.5 -> serious (-1); inconsistency not assessable -> very low.
    - response, intention to treat (F1 20/100, F2 25/100): logits -1.3863 and -1.0986, variances 0.0625 and
      0.0533; Q = 0.71 < 1 -> I^2 = 0; SE = 1/sqrt(34.75) = 0.1696, CI logit -1.2311 +- 2.1555 ->
      0.033-0.716 (68 points) -> imprecision very serious; one denominator -> indirectness not serious
      -> very low.
    - response, treated with 131I: F1 alone (F2's denominator is "evaluable", not those given 131I): exact
      CI for 20/100 is 0.127-0.292 (16.5 points < 30) with 100 patients -> not serious; RoB low -> low.
    """
    judgements = {"F1": "low", "F2": "some_concerns", "F3": "high", "F4": "not_assessed"}
    rows = {r.outcome: r for r in summary_of_findings(FIXTURE_STUDIES, judgements, rules=load_grade_rules())}
    itt, treated = "response (RECIST CR+PR; intention to treat)", "response (RECIST CR+PR; treated with 131I)"
    assert list(rows) == ["uptake: uptake on diagnostic scan", "uptake: uptake on post-therapy scan", itt,
                          treated]
    ratings = {name: {d.domain: d.rating for d in r.domains} for name, r in rows.items()}
    diag = rows["uptake: uptake on diagnostic scan"]
    assert diag.records == ("F1", "F2")
    assert (diag.line.events, diag.line.total) == (105, 200)
    assert diag.line.ci_lower == pytest.approx(0.1543, abs=2e-3)
    assert diag.line.ci_upper == pytest.approx(0.8700, abs=2e-3)
    assert diag.certainty == "very_low"
    assert ratings[diag.outcome] == {"risk of bias": "not serious", "inconsistency": "not serious",
                                     "imprecision": "very serious", "indirectness": "not serious",
                                     "publication bias": "not assessable"}
    post = rows["uptake: uptake on post-therapy scan"]
    assert post.certainty == "very_low"
    assert ratings[post.outcome] == {"risk of bias": "serious", "inconsistency": "not assessable",
                                     "imprecision": "very serious", "indirectness": "not serious",
                                     "publication bias": "not assessable"}
    assert post.line.ci_lower == pytest.approx(0.1181, abs=1e-4)
    assert post.line.ci_upper == pytest.approx(0.8819, abs=1e-4)
    resp = rows[itt]
    assert resp.records == ("F1", "F2")
    assert resp.line.ci_lower == pytest.approx(0.0327, abs=2e-3)
    assert resp.line.ci_upper == pytest.approx(0.7160, abs=2e-3)
    assert resp.certainty == "very_low"
    assert ratings[itt] == {"risk of bias": "not serious", "inconsistency": "not serious",
                            "imprecision": "very serious", "indirectness": "not serious",
                            "publication bias": "not assessable"}
    tr = rows[treated]
    assert tr.records == ("F1",)
    assert (tr.line.ci_lower, tr.line.ci_upper) == pytest.approx((0.1267, 0.2918), abs=1e-3)
    assert tr.certainty == "low"
    assert ratings[treated]["imprecision"] == "not serious"
    assert ratings[treated]["indirectness"] == "not serious"
    assert all(d.reason for r in rows.values() for d in r.domains)


def test_fixture_prisma_counts_and_svg() -> None:
    """Issue 12: PRISMA counts from FIXTURE_LOG by hand: unknown stays unknown (other methods, even with
    an added record), 3 included reports + 1 logged entry = 4; the SVG is well-formed and shows them."""
    counts = prisma_counts(FIXTURE_LOG)
    assert counts.identified == {"databases": 40, "registers": 5, "other_methods": None}
    assert counts.reports_included == 4
    assert counts.included_ids == ("F1", "F2", "F3", "F4")
    assert counts.reports_excluded == (("no uptake outcome", 3), ("review article", 2))
    assert (counts.records_screened, counts.reports_assessed, counts.studies_included) == (40, 8, 3)
    svg = prisma_svg(counts)
    ET.fromstring(svg)
    for text in ("Databases (n = 40)", "Other methods (n = unknown)", "Reports not retrieved",
                 "no uptake outcome (n = 3)", "Reports of included studies (n = 4)"):
        assert text in svg


def test_add_entry_and_bad_log() -> None:
    """Issue 12: add_entry appends a dated entry without changing the input; a bad count is refused."""
    log = add_entry(FIXTURE_LOG, ["F5"], file="x.yaml")
    assert len(FIXTURE_LOG["entries"]) == 1 and len(log["entries"]) == 2
    assert prisma_counts(log).reports_included == 5
    with pytest.raises(InputError) as info:
        prisma_counts({**FIXTURE_LOG, "records_screened": -1})
    assert info.value.field == "records_screened"


def test_real_data_files_cover_the_evidence_base() -> None:
    """Issue 12: the built-in tool, assessments, GRADE rules and log load; every evidence record has an
    assessment (parse_assessments refuses a missing one); every answered item is graded and justified;
    the log's included reports are the base's top-level records with results (the registered trials
    without results, O01 and O02, are ongoing, not included)."""
    base = load_evidence()
    assessments = load_assessments(base.ids)
    assert {a.record for a in assessments} == set(base.ids)
    assert all(a.grade == "unverified" for a in assessments)
    assert all(why for a in assessments for _, _, why in a.answers)
    rows = summary_of_findings(base.studies, {a.record: a.judgement for a in assessments})
    assert rows and all(len(r.domains) == 5 for r in rows)
    counts = prisma_counts(load_log())
    with_results = {s.row_id for s in base if s.part_of is None and s.results_reported is not False}
    assert set(counts.included_ids) == with_results


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out = capsys.readouterr()
    code = info.value.code
    return int(code) if isinstance(code, int) else 1, out.out, out.err


def test_cli_rob_grade_prisma_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Issue 12: `evidence rob|grade|prisma --json` give stable keys and write their plots."""
    code, out, err = _run(capsys, "evidence", "rob", "--out", str(tmp_path / "tl.svg"),
                          "--summary-out", str(tmp_path / "sum.png"), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert {"tool", "assessments", "summary", "plots", "note"} <= set(data)
    assert (tmp_path / "tl.svg").read_bytes().startswith(b"<?xml")
    assert (tmp_path / "sum.png").read_bytes()[:4] == b"\x89PNG"
    code, out, err = _run(capsys, "evidence", "grade", "--json")
    assert code == 0, err
    outcomes = json.loads(out)["outcomes"]
    assert outcomes and {"outcome", "records", "certainty", "domains", "start"} <= set(outcomes[0])
    code, out, err = _run(capsys, "evidence", "prisma", "--out", str(tmp_path / "p.svg"), "--json")
    assert code == 0, err
    assert json.loads(out)["reports_included"] == 20
    ET.parse(tmp_path / "p.svg")


def test_cli_add_logs_and_refuses_bad_records(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Issue 12: `evidence add` validates with the evidence loader, logs the records with the date in the
    screening log, and PRISMA then counts them; a duplicate row_id is exit 2 with one line."""
    new = tmp_path / "new.yaml"
    new.write_text("- {row_id: N01, row_type: study, label: New series, genotype: RAS, grade: secondary, "
                   "source: test}\n", encoding="utf-8")
    log = tmp_path / "log.yaml"
    code, out, err = _run(capsys, "evidence", "add", str(new), "--log", str(log), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["added"] == ["N01"] and data["entry"]["date"]
    code, out, err = _run(capsys, "evidence", "prisma", "--out", str(tmp_path / "p.svg"), "--log", str(log),
                          "--json")
    assert code == 0, err
    assert json.loads(out)["reports_included"] == 21
    dup = tmp_path / "dup.yaml"
    dup.write_text("- {row_id: P01, row_type: study, label: Dup, genotype: RAS, grade: secondary, "
                   "source: test}\n", encoding="utf-8")
    code, out, err = _run(capsys, "evidence", "add", str(dup), "--log", str(log))
    assert code == 2
    assert "duplicate row_id" in err and err.count("\n") == 1
