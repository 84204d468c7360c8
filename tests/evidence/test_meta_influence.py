"""Leave-one-out and influence diagnostics against R metafor 3.8-1 (``leave1out``, ``influence``).

Expected values: ``tests/evidence/data/metafor_reference.json`` (section "leave-one-out, influence").
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from redif.errors import InputError
from redif.evidence.influence import influence, leave_one_out

REF = json.loads((Path(__file__).parent / "data" / "metafor_reference.json").read_text())
BCG = REF["bcg"]
TOL = 1e-4


@pytest.mark.rref
def test_leave_one_out_bcg() -> None:
    """Each study omitted in turn, REML.

    R::

        res <- rma(yi, vi, data=dat, method="REML"); leave1out(res)
    """
    ref = REF["l1o_bcg"]
    rows = leave_one_out(BCG["yi"], BCG["vi"], method="REML")
    for attr, key in [("estimate", "estimate"), ("se", "se"), ("stat", "zval"), ("p", "pval"),
                      ("ci_lower", "ci_lb"), ("ci_upper", "ci_ub"), ("q_p", "Qp"), ("tau2", "tau2")]:
        np.testing.assert_allclose([getattr(r, attr) for r in rows], ref[key], atol=TOL, err_msg=attr)
    for attr, key in [("q", "Q"), ("i2", "I2"), ("h2", "H2")]:
        np.testing.assert_allclose([getattr(r, attr) for r in rows], ref[key], rtol=5e-4, err_msg=attr)
    assert rows[0].omitted == "Study 1"


@pytest.mark.rref
def test_influence_bcg_random_effects() -> None:
    """rstudent, DFFITS, Cook's D, COVRATIO, tau2.del, QE.del, hat, weight, DFBETAS and the flag.

    R::

        inf <- influence(rma(yi, vi, data=dat, method="REML")); inf$inf; inf$dfbs; inf$is.infl
    """
    ref = REF["inf_bcg"]
    res = influence(BCG["yi"], BCG["vi"], method="REML")
    for attr, key in [("rstudent", "rstudent"), ("dffits", "dffits"), ("cook_d", "cook"),
                      ("cov_r", "covr"), ("tau2_del", "tau2_del"), ("hat", "hat"), ("weight", "weight")]:
        np.testing.assert_allclose(getattr(res, attr), ref[key], atol=TOL, rtol=TOL, err_msg=attr)
    np.testing.assert_allclose(res.qe_del, ref["QE_del"], rtol=5e-4)
    np.testing.assert_allclose(res.dfbetas[:, 0], ref["dfbs"], atol=TOL)
    assert list(res.influential) == ref["inf"]
    assert len(res.to_dict()["studies"]) == 13


@pytest.mark.rref
def test_influence_with_moderator() -> None:
    """Influence in a meta-regression (ablat), REML.

    R::

        inf <- influence(rma(yi, vi, mods = ~ ablat, data=dat, method="REML"))
    """
    ref = REF["inf_bcg_ablat"]
    X = np.column_stack([np.ones(13), BCG["ablat"]])
    res = influence(BCG["yi"], BCG["vi"], X=X, method="REML")
    for attr, key in [("rstudent", "rstudent"), ("dffits", "dffits"), ("cook_d", "cook"),
                      ("cov_r", "covr"), ("tau2_del", "tau2_del"), ("hat", "hat"), ("weight", "weight")]:
        np.testing.assert_allclose(getattr(res, attr), ref[key], atol=TOL, rtol=TOL, err_msg=attr)
    np.testing.assert_allclose(res.dfbetas[:, 0], ref["dfbs_int"], atol=TOL)
    np.testing.assert_allclose(res.dfbetas[:, 1], ref["dfbs_ablat"], atol=TOL)


@pytest.mark.rref
def test_influence_knha() -> None:
    """Influence with Knapp-Hartung (the deleted fits carry their own s2w).

    R::

        inf <- influence(rma(yi, vi, data=dat, method="REML", test="knha"))
    """
    ref = REF["inf_bcg_knha"]
    res = influence(BCG["yi"], BCG["vi"], method="REML", knha=True)
    for attr, key in [("rstudent", "rstudent"), ("dffits", "dffits"), ("cook_d", "cook"), ("cov_r", "covr")]:
        np.testing.assert_allclose(getattr(res, attr), ref[key], atol=TOL, rtol=TOL, err_msg=attr)
    np.testing.assert_allclose(res.dfbetas[:, 0], ref["dfbs"], atol=TOL)


def test_too_few_studies() -> None:
    """Leave-one-out with a random-effects method needs k >= 3."""
    with pytest.raises(InputError, match="k = 2"):
        leave_one_out([0.1, 0.2], [0.1, 0.1])
