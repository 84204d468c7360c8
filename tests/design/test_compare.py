"""Issue 10: the design and prior choice of ``redif design oc`` is an engine function
(:func:`redif.design.compare.compare_designs`), and historical arms are read by ``redif.design``.

Expected values: the designs come from :func:`redif.design.simon.simon_design` and
:func:`redif.design.exact.single_stage_designs` (themselves checked against clinfun in test_simon.py /
test_exact_inference.py); the CLI's JSON must equal the engine's ``to_dict``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from redif.cli.main import app
from redif.design.compare import compare_designs
from redif.design.exact import single_stage_designs
from redif.design.historical import read_arms_csv, select_arms
from redif.design.simon import simon_design
from redif.errors import InputError


def test_default_designs_and_beta_prior() -> None:
    """Without designs given: Simon optimal + minimax and the smallest single-stage design; the Bayesian
    design uses Beta(1, 1) and theta0 = p0."""
    cmp = compare_designs(0.1, 0.3, bayes_n=25, grid=[0.1, 0.3])
    res = simon_design(0.1, 0.3, 0.05, 0.2, nmax=100)
    d1 = single_stage_designs(0.1, 0.3, 0.05, 0.2, solutions=1)[0]
    names = list(cmp.table.curves)
    assert names[0] == f"Simon optimal {res.optimal.r1}/{res.optimal.n1}, {res.optimal.r}/{res.optimal.n}"
    assert names[1] == f"Simon minimax {res.minimax.r1}/{res.minimax.n1}, {res.minimax.r}/{res.minimax.n}"
    assert names[2] == f"single n={d1.n}, r={d1.r}" and names[3].startswith("Bayes n=25")
    bayes = cmp.bayes_dict()
    assert bayes is not None and bayes["kind"] == "beta"
    assert bayes["rule"] == "success if P(theta > 0.1 | data) > 0.95"


def test_cli_json_is_the_engine_result() -> None:
    """``redif design oc --json`` prints exactly ``compare_designs(...).to_dict()``."""
    out = CliRunner().invoke(app, ["design", "oc", "--p0", "0.1", "--p1", "0.3", "--bayes-n", "25",
                                   "--grid", "0.1,0.3", "--json"])
    assert out.exit_code == 0, out.output
    want = compare_designs(0.1, 0.3, bayes_n=25, grid=[0.1, 0.3]).to_dict()
    assert json.loads(out.output) == json.loads(json.dumps(want))


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"simon": [1, 10, 5]}, "simon"), ({"single": [10.5, 2]}, "single"), ({"grid": [0.1, 2.0]}, "grid"),
    ({"bayes_n": 10, "prior_beta": [1.0]}, "prior_beta"),
])
def test_errors_name_the_parameter(kwargs: dict[str, object], field: str) -> None:
    """Bad designs, grid or prior raise InputError naming the engine parameter (not a CLI flag)."""
    with pytest.raises(InputError) as info:
        compare_designs(0.1, 0.3, **kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


def test_arms_csv_and_selection(tmp_path: Path) -> None:
    """read_arms_csv reads r/n with aliases; select_arms wants exactly one source (field ``data``) and an
    outcome for the evidence base (field ``outcome``)."""
    f = tmp_path / "arms.csv"
    f.write_text("study,events,total\nA,3,10\nB,5,12\n", encoding="utf-8")
    arms = read_arms_csv(f)
    assert arms.r == (3, 5) and arms.n == (10, 12) and arms.labels == ("A", "B")
    with pytest.raises(InputError) as info:
        select_arms(None, from_evidence=False)
    assert info.value.field == "data"
    with pytest.raises(InputError) as info:
        select_arms(None, from_evidence=True)
    assert info.value.field == "outcome"
    with pytest.raises(InputError) as info:
        read_arms_csv(tmp_path / "missing.csv")
    assert info.value.field == "data"
