"""Egger's regression test, Begg's rank test and trim-and-fill against R metafor 3.8-1.

Data: dat.bcg (log RR) and dat.hackshaw1998 (ETS and lung cancer, a classic trim-and-fill example).
Expected values: ``tests/evidence/data/metafor_reference.json`` (section "publication bias").
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from redif.evidence.bias import kendall_exact_cdf, ranktest, regtest, trimfill

REF = json.loads((Path(__file__).parent / "data" / "metafor_reference.json").read_text())
BCG = REF["bcg"]
HACK = REF["hack"]
TOL = 1e-4


@pytest.mark.rref
@pytest.mark.parametrize(("data", "knha", "key"), [("bcg", False, "regtest_bcg"),
                                                   ("bcg", True, "regtest_bcg_knha"),
                                                   ("hack", False, "regtest_hack")])
def test_regtest(data: str, knha: bool, key: str) -> None:
    """Egger test (predictor sei, mixed-effects model with the model's method and test).

    R::

        regtest(rma(yi, vi, data=dat, method="REML"))              # and test="knha"
    """
    d = BCG if data == "bcg" else HACK
    ref = REF[key]
    res = regtest(d["yi"], d["vi"], method="REML", knha=knha)
    assert res.stat == pytest.approx(ref["zval"], abs=TOL)
    assert res.p == pytest.approx(ref["pval"], abs=TOL)
    assert res.limit_estimate == pytest.approx(ref["est"], abs=TOL)
    assert res.limit_ci_lower == pytest.approx(ref["ci_lb"], abs=TOL)
    assert res.limit_ci_upper == pytest.approx(ref["ci_ub"], abs=TOL)
    if knha:
        assert res.df == ref["ddf"]


@pytest.mark.rref
@pytest.mark.parametrize(("data", "key"), [("bcg", "ranktest_bcg"), ("hack", "ranktest_hack")])
def test_ranktest(data: str, key: str) -> None:
    """Begg and Mazumdar (exact Kendall p-value without ties, as cor.test(exact=TRUE)).

    R::

        ranktest(rma(yi, vi, data=dat))
    """
    d = BCG if data == "bcg" else HACK
    res = ranktest(d["yi"], d["vi"])
    assert res.tau == pytest.approx(REF[key]["tau"], abs=TOL)
    assert res.p == pytest.approx(REF[key]["pval"], abs=TOL)


@pytest.mark.rref
def test_ranktest_with_ties() -> None:
    """With tied values (dat.debruin2009 has two studies with 11/29) R's cor.test uses the normal
    approximation with the tie-corrected variance.

    R::

        es <- escalc(measure="PLO", xi=xi, ni=ni, data=dat.debruin2009)
        ranktest(rma(yi, vi, data=es))
    """
    from redif.evidence.meta import escalc

    db = REF["debruin"]
    yi, vi = escalc("PLO", db["xi"], db["ni"])
    res = ranktest(yi, vi)
    assert not res.exact
    assert res.tau == pytest.approx(REF["ranktest_debruin"]["tau"], abs=TOL)
    assert res.p == pytest.approx(REF["ranktest_debruin"]["pval"], abs=TOL)


def test_kendall_exact_distribution() -> None:
    """Mahonian numbers: P(T <= q) for n = 4 is cumsum(1,3,5,6,5,3,1)/24 (closed form)."""
    want = np.cumsum([1, 3, 5, 6, 5, 3, 1]) / math.factorial(4)
    got = [kendall_exact_cdf(q, 4) for q in range(7)]
    np.testing.assert_allclose(got, want)


@pytest.mark.rref
@pytest.mark.parametrize(("data", "estimator", "method", "key"), [
    ("bcg", "L0", "REML", "tf_bcg"), ("hack", "L0", "REML", "tf_hack"),
    ("hack", "R0", "REML", "tf_hack_R0"), ("hack", "L0", "DL", "tf_hack_DL"),
    ("hack", "Q0", "REML", "tf_hack_Q0"), ("bcg", "L0", "REML", "tf_bcg_right"),
])
def test_trimfill(data: str, estimator: str, method: str, key: str) -> None:
    """Trim-and-fill, default side, L0/R0 estimators; the filled model and the imputed studies.

    R::

        trimfill(rma(yi, vi, data=dat, method="REML"))   # also estimator="R0"/"Q0", side="right", method="DL"
    """
    d = BCG if data == "bcg" else HACK
    ref = REF[key]
    side = "right" if key.endswith("_right") else None
    res = trimfill(d["yi"], d["vi"], method=method, estimator=estimator, side=side)
    assert res.k0 == ref["k0"]
    assert res.side == ref["side"]
    assert res.se_k0 == pytest.approx(ref["se_k0"], abs=TOL)
    for got, k in [(res.estimate, "est"), (res.se, "se"), (res.ci_lower, "ci_lb"), (res.ci_upper, "ci_ub"),
                   (res.tau2, "tau2")]:
        assert got == pytest.approx(ref[k], abs=TOL), k
    k = len(d["yi"])
    # metafor refits the trimmed data with its default threshold 1e-5, hence 1e-4 here
    np.testing.assert_allclose(res.filled_yi, ref["yi"][k:], atol=TOL)
    np.testing.assert_allclose(res.filled_vi, ref["vi"][k:], atol=1e-8)
