"""Binomial-normal GLMM against R metafor 3.8-1 ``rma.glmm(measure="PLO", method="ML")`` (lme4 1.1-31,
``glmer(nAGQ=7)``).

Expected values: ``tests/evidence/data/metafor_reference.json`` (section "GLMM"), regenerate with
``Rscript tests/evidence/data/metafor_reference.R``. lme4 stops its optimiser at ~1e-6, so estimates
agree to about 1e-5; the test tolerance is 1e-4.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from redif.errors import InputError
from redif.evidence.meta import pool_proportions

REF = json.loads((Path(__file__).parent / "data" / "metafor_reference.json").read_text())
TOL = 1e-4
CASES = {
    "glmm_pritz": (REF["pritz"]["xi"], REF["pritz"]["ni"]),
    "glmm_niel_ctrl": (REF["niel"]["ci"], REF["niel"]["n2i"]),
    "glmm_niel_trt": (REF["niel"]["ai"], REF["niel"]["n1i"]),
    "glmm_debruin": (REF["debruin"]["xi"], REF["debruin"]["ni"]),
}


@pytest.mark.rref
@pytest.mark.parametrize("case", sorted(CASES))
def test_glmm_matches_rma_glmm(case: str) -> None:
    """mu, se, CI, tau^2, I^2, H^2, PI and the back-transformed proportions.

    R::

        res <- rma.glmm(measure="PLO", xi=x, ni=n, method="ML")     # nAGQ = 7
        predict(res); predict(res, transf=transf.ilogit)
        res$tau2; res$I2; res$H2; res$QE.Wld; res$QE.LRT
    """
    x, n = CASES[case]
    ref = REF[case]
    res = pool_proportions(x, n, measure="PLO", method="GLMM")
    pairs = [(res.mu, "mu"), (res.se, "se"), (res.mu_ci_lower, "ci_lb"), (res.mu_ci_upper, "ci_ub"),
             (res.tau2, "tau2"), (res.mu_pi_lower, "mu_pi_lb"), (res.mu_pi_upper, "mu_pi_ub"),
             (res.estimate, "est"), (res.ci_lower, "est_ci_lb"), (res.ci_upper, "est_ci_ub"),
             (res.pi_lower, "est_pi_lb"), (res.pi_upper, "est_pi_ub")]
    for got, key in pairs:
        assert got == pytest.approx(ref[key], abs=TOL, rel=TOL), key
    assert res.i2 == pytest.approx(ref["I2"], rel=5e-4)
    assert res.h2 == pytest.approx(ref["H2"], rel=5e-4)
    assert res.extra["q_lrt"] == pytest.approx(ref["QE_LRT"], rel=1e-6)
    if res.extra["q_type"] == "wald":
        assert res.q == pytest.approx(ref["QE_Wld"], rel=1e-6)
    else:
        assert res.q == pytest.approx(ref["QE_LRT"], rel=1e-6)
    assert res.method == "GLMM"


def test_glmm_needs_two_studies_and_plo() -> None:
    """GLMM with k < 2, a measure other than PLO, knha, or no events at all is an InputError."""
    with pytest.raises(InputError, match="k = 1"):
        pool_proportions([3], [10], method="GLMM")
    with pytest.raises(InputError, match="logit"):
        pool_proportions([3, 4], [10, 12], measure="PFT", method="GLMM")
    with pytest.raises(InputError, match="Knapp"):
        pool_proportions([3, 4], [10, 12], method="GLMM", knha=True)
    with pytest.raises(InputError, match="no finite estimate"):
        pool_proportions([0, 0, 0], [10, 20, 30], method="GLMM")
    with pytest.raises(InputError, match="no finite estimate"):
        pool_proportions([10, 20], [10, 20], method="GLMM")


def test_glmm_homogeneous_boundary() -> None:
    """Identical proportions: tau^2 = 0 and the estimate is the pooled logit log(sum x / sum(n - x))."""
    import math

    res = pool_proportions([5, 10, 20], [50, 100, 200], method="GLMM")
    assert res.tau2 == pytest.approx(0.0, abs=1e-8)
    assert res.mu == pytest.approx(math.log(35 / 315), abs=1e-6)
    # se of a pooled logit: sqrt(1/x + 1/(n - x)) with the totals
    assert res.se == pytest.approx(math.sqrt(1 / 35 + 1 / 315), rel=1e-4)
