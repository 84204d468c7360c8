"""Issue 16: ``redif plot swimmer|waterfall FILE.csv --out FILE.svg [--colour-by ...] [--json]`` on an
analysis dataset written from the hand-made cohort (``cohort_world.COHORT``; expected days counted by
hand in its docstring): the JSON is the figure data, the files are SVG with hover titles or PNG, bad
input exits 2 naming the flag."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cohort_world import COHORT

from redif.cli.main import main
from redif.registry.analysis_export import analysis_csv, derive_rows


def _patient(name: str) -> dict[str, Any]:
    user, fields, records = COHORT[name]
    return {**fields, "site": "A" if user == "clin_a" else "B", "records": records}


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    rows, _ = derive_rows(_patient(n) for n in COHORT)
    f = tmp_path / "analysis.csv"
    f.write_text(analysis_csv(rows), encoding="utf-8")
    return f


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


def test_swimmer_json_and_svg(dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 16: swimmer --json lists the lanes (397, 152, 121 days, longest first) and the marks; --out
    writes an SVG with one <title> per mark."""
    out = tmp_path / "swim.svg"
    code, text, err = _run(["plot", "swimmer", str(dataset), "--out", str(out), "--colour-by", "site",
                            "--json"], capsys)
    assert code == 0, err
    doc = json.loads(text)
    assert [(lane["patient"], lane["end_days"]) for lane in doc["lanes"]] == [
        ("A-T1", 397), ("A-T2", 152), ("B-T1", 121)]
    assert doc["colour_by"] == "site" and list(doc["categories"]) == ["A", "B"]
    assert sum(1 for m in doc["marks"] if m["kind"] == "ongoing") == 2
    svg = out.read_text(encoding="utf-8")
    assert svg.count("<title>") >= len(doc["marks"]) and "A-T1: first response day 213" in svg


def test_waterfall_png_and_filter(dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 16: waterfall --site A keeps A-T2 (+5.0 %) and A-T1 (-40.0 %), in that order; PNG written."""
    out = tmp_path / "wf.png"
    code, text, err = _run(["plot", "waterfall", str(dataset), "--out", str(out), "--site", "A", "--json"],
                           capsys)
    assert code == 0, err
    doc = json.loads(text)
    assert [(m["patient"], m["value"]) for m in doc["marks"]] == [("A-T2", 5.0), ("A-T1", -40.0)]
    assert out.read_bytes().startswith(b"\x89PNG")
    code, text, _ = _run(["plot", "waterfall", str(dataset)], capsys)
    assert code == 0 and "3 patients" in text


@pytest.mark.parametrize(("args", "needle"), [
    (["--colour-by", "drug"], "--colour-by"),
    (["--out", "x.pdf"], "--out"),
    (["--genotype", "HRAS"], "no patient to draw"),
])
def test_bad_input_exits_2(dataset: Path, capsys: pytest.CaptureFixture[str], args: list[str],
                           needle: str) -> None:
    """Issue 16: an unknown colour column, an unknown plot type or filters that leave nobody: exit 2, one
    line naming the flag or the problem."""
    code, _, err = _run(["plot", "swimmer", str(dataset), *args], capsys)
    assert code == 2 and needle in err and "Traceback" not in err


def test_missing_file_and_wrong_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 16: a missing file or a CSV without the analysis columns is bad input (exit 2)."""
    code, _, err = _run(["plot", "waterfall", str(tmp_path / "nope.csv")], capsys)
    assert code == 2 and "file not found" in err
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    code, _, err = _run(["plot", "waterfall", str(bad)], capsys)
    assert code == 2 and "patient" in err


def test_timeline_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 16: ``redif plot timeline PATIENT.json`` prints the engine's marks (A-T1: 13 marks from
    2023-12-20 to 2025-02-01, see cohort_world) and writes the SVG with hover titles; a non-patient JSON is
    bad input."""
    f = tmp_path / "p.json"
    f.write_text(json.dumps(_patient("A-T1")), encoding="utf-8")
    out = tmp_path / "t.svg"
    code, text, err = _run(["plot", "timeline", str(f), "--out", str(out), "--json"], capsys)
    assert code == 0, err
    doc = json.loads(text)
    assert (len(doc["marks"]), doc["start"], doc["end"]) == (13, "2023-12-20", "2025-02-01")
    assert out.read_text(encoding="utf-8").count("<title>") >= 13
    f.write_text("[1, 2]", encoding="utf-8")
    code, _, err = _run(["plot", "timeline", str(f)], capsys)
    assert code == 2 and "not a patient" in err
