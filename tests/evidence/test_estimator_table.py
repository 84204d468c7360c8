"""Issue 10: the tau^2 estimators are one table (``redif.evidence.estimators.ESTIMATORS``).

The engine dispatches on it, the CLI help and the web form list its codes, docs/meta.md describes each
entry, and an unknown method raises instead of falling through to another estimator. The expected
values are the table itself (completeness) and metafor's list of ``rma.uni`` methods plus ``rma.glmm``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from redif.cli.main import app
from redif.errors import InputError
from redif.evidence import tau2
from redif.evidence.estimators import ESTIMATORS, Method, method_codes, parse_method
from redif.evidence.meta import pool_generic
from redif.web.routes import evidence as web_evidence

_DOCS = Path(__file__).resolve().parents[2] / "docs" / "meta.md"
# metafor 3.8 rma.uni methods (?rma.uni, "method") plus rma.glmm
_METAFOR = {"EE", "DL", "HE", "SJ", "ML", "REML", "EB", "PM", "HS", "GLMM"}
_Y = np.array([0.1, -0.3, 0.5, 0.2])
_V = np.array([0.04, 0.09, 0.05, 0.02])
_X = np.ones((4, 1))


def test_table_is_complete() -> None:
    """Every Method member has one entry; every non-GLMM entry names an estimator and an SE formula that
    exist and return a finite non-negative number."""
    assert set(ESTIMATORS) == set(Method) and {m.value for m in Method} == _METAFOR
    for method, entry in ESTIMATORS.items():
        assert entry.method is method and entry.name and entry.reference and entry.se_formula_text
        if entry.proportions_only:
            assert entry.estimate is None and entry.se is None
            continue
        t2 = entry.estimator()(_Y, _V, _X)
        se = entry.se_formula()(_Y, _V, _X, max(0.0, t2))
        assert np.isfinite(t2) and np.isfinite(se) and se >= 0.0, method


def test_engine_dispatches_through_the_table() -> None:
    """estimate_tau2 and tau2_se give what the table's functions give (max(0, .) for tau2)."""
    for method, entry in ESTIMATORS.items():
        if entry.proportions_only:
            with pytest.raises(InputError) as info:
                tau2.estimate_tau2(_Y, _V, _X, method)
            assert info.value.field == "method"
            continue
        t2 = tau2.estimate_tau2(_Y, _V, _X, method)
        assert t2 == pytest.approx(max(0.0, entry.estimator()(_Y, _V, _X)), abs=1e-12)
        assert tau2.tau2_se(method, _Y, _V, _X, t2) == pytest.approx(entry.se_formula()(_Y, _V, _X, t2),
                                                                      abs=1e-12)


@pytest.mark.parametrize("bad", ["XYZ", "reml2", "", "GLMMX"])
def test_unknown_method_raises(bad: str) -> None:
    """An unknown estimator never falls through to another one: parse_method and the pooling raise."""
    with pytest.raises(InputError) as info:
        parse_method(bad)
    assert info.value.field == "method"
    with pytest.raises(InputError):
        pool_generic(list(_Y), list(_V), method=bad)


def test_cli_help_lists_the_table() -> None:
    """``--method`` help of ``redif meta pool`` and ``redif evidence pool`` names exactly the table's codes;
    ``meta bias`` (escalc values) names the table without GLMM."""
    runner = CliRunner()
    for argv, codes in ((["meta", "pool", "--help"], method_codes()),
                        (["evidence", "pool", "--help"], method_codes()),
                        (["meta", "bias", "--help"], method_codes(glmm=False))):
        out = runner.invoke(app, argv, terminal_width=400).output
        text = re.sub(r"\s+", " ", re.sub(r"[│╭╮╰╯─]", " ", out))
        m = re.search(r"tau2 estimator: (.*?)(?:\.|;)", text)
        assert m is not None, text
        listed = [c.replace("(default)", "").strip() for c in m.group(1).split(",")]
        assert listed == list(codes), argv


def test_web_form_choices_equal_the_table() -> None:
    """The web explorer's estimator select offers exactly the table's codes."""
    assert tuple(web_evidence.METHODS) == method_codes()
    assert web_evidence._options()["method"] == list(method_codes())


def test_docs_describe_every_estimator() -> None:
    """docs/meta.md has a row per table entry (code in backticks in the estimator table)."""
    text = _DOCS.read_text(encoding="utf-8")
    section = text[text.index("## tau² estimators"):]
    for code in method_codes():
        assert re.search(rf"^\| `{code}` \|", section, flags=re.M), code
