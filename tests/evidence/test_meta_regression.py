"""Mixed-effects meta-regression against R metafor 3.8-1 ``rma(yi, vi, mods=...)``.

Expected values: ``tests/evidence/data/metafor_reference.json`` (section "meta-regression").
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from redif.errors import InputError
from redif.evidence.meta import escalc, meta_regression

REF = json.loads((Path(__file__).parent / "data" / "metafor_reference.json").read_text())
TOL = 1e-4
BCG = REF["bcg"]


def _check(res: object, ref: dict, names: list[str]) -> None:  # type: ignore[type-arg]
    d = res.to_dict()  # type: ignore[attr-defined]
    assert [c["name"] for c in d["coefficients"]] == names
    for j, c in enumerate(d["coefficients"]):
        for key, rkey in [("estimate", "coef"), ("se", "se"), ("stat", "zval"), ("p", "pval"),
                          ("ci_lower", "ci_lb"), ("ci_upper", "ci_ub")]:
            assert c[key] == pytest.approx(ref[rkey][j], abs=TOL, rel=TOL), (c["name"], key)
    assert d["qm"] == pytest.approx(ref["QM"], rel=5e-4)
    assert d["qm_p"] == pytest.approx(ref["QMp"], abs=TOL)
    assert d["qe"] == pytest.approx(ref["QE"], rel=5e-4)
    assert d["qe_p"] == pytest.approx(ref["QEp"], abs=TOL)
    assert d["r2"] == pytest.approx(ref["R2"], abs=1e-3)
    assert d["tau2"] == pytest.approx(ref["tau2"], abs=TOL)


@pytest.mark.rref
def test_continuous_moderators() -> None:
    """Two continuous moderators (absolute latitude, year), REML.

    R::

        rma(yi, vi, mods = ~ ablat + year, data=dat, method="REML")
    """
    res = meta_regression(BCG["yi"], BCG["vi"], {"ablat": BCG["ablat"], "year": BCG["year"]})
    _check(res, REF["reg_bcg_ablat_year"], ["intrcpt", "ablat", "year"])


@pytest.mark.rref
def test_continuous_moderators_knha() -> None:
    """Knapp-Hartung: t tests on k - p df and QM as an F statistic.

    R::

        rma(yi, vi, mods = ~ ablat + year, data=dat, method="REML", test="knha")
    """
    res = meta_regression(BCG["yi"], BCG["vi"], {"ablat": BCG["ablat"], "year": BCG["year"]}, knha=True)
    _check(res, REF["reg_bcg_ablat_year_knha"], ["intrcpt", "ablat", "year"])
    assert res.qm_df == 2 and res.qm_df2 == 10


@pytest.mark.rref
def test_categorical_moderator() -> None:
    """A categorical moderator is dummy-coded with the first (sorted) level as reference.

    R::

        rma(yi, vi, mods = ~ ablat + alloc, data=dat, method="REML")
    """
    res = meta_regression(BCG["yi"], BCG["vi"], {"ablat": BCG["ablat"], "alloc": BCG["alloc"]})
    _check(res, REF["reg_bcg_ablat_alloc"], ["intrcpt", "ablat", "allocrandom", "allocsystematic"])


@pytest.mark.rref
@pytest.mark.parametrize(("method", "key"), [("DL", "reg_bcg_ablat_DL"), ("EE", "reg_bcg_ablat_EE")])
def test_other_estimators(method: str, key: str) -> None:
    """DL and EE meta-regression (EE R^2 is the weighted-lm adjusted R^2, as metafor).

    R::

        rma(yi, vi, mods = ~ ablat, data=dat, method="DL")   # and method="EE"
    """
    res = meta_regression(BCG["yi"], BCG["vi"], {"ablat": BCG["ablat"]}, method=method)
    _check(res, REF[key], ["intrcpt", "ablat"])


@pytest.mark.rref
def test_proportions_three_moderators() -> None:
    """Proportions (PLO) on one continuous and two categorical moderators (dat.debruin2009).

    R::

        es <- escalc(measure="PLO", xi=xi, ni=ni, data=dat.debruin2009)
        rma(yi, vi, mods = ~ scq + patients + select, data=es, method="REML")
    """
    db = REF["debruin"]
    yi, vi = escalc("PLO", db["xi"], db["ni"])
    res = meta_regression(yi, vi, {"scq": db["scq"], "patients": db["patients"], "select": db["select"]})
    _check(res, REF["reg_debruin"], ["intrcpt", "scq", "patientsstarting", "selectyes"])


def test_bad_moderators() -> None:
    """Missing values, collinear or single-level moderators and too few studies are InputErrors."""
    y, v = BCG["yi"], BCG["vi"]
    with pytest.raises(InputError, match="study 2: missing"):
        meta_regression(y, v, {"m": [1, "", *range(11)]})
    with pytest.raises(InputError, match="collinear"):
        meta_regression(y, v, {"a": BCG["ablat"], "b": [2 * a for a in BCG["ablat"]]})
    with pytest.raises(InputError, match="single level"):
        meta_regression(y, v, {"g": ["x"] * 13})
    with pytest.raises(InputError, match="cannot support"):
        meta_regression(y[:2], v[:2], {"a": [1, 2]})
    with pytest.raises(InputError, match="no moderators"):
        meta_regression(y, v, {})
