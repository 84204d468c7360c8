"""Public facade of the meta-analysis engine: import everything from here.

Example
-------
>>> from redif.evidence.meta import pool_proportions
>>> res = pool_proportions([3, 5, 9], [20, 21, 30], measure="PLO", method="REML")
>>> round(res.estimate, 3)
0.233
"""

from __future__ import annotations

from redif.evidence.bias import RankTest, RegTest, TrimFill, ranktest, regtest, trimfill
from redif.evidence.glmm import GlmmFit, fit_glmm
from redif.evidence.influence import InfluenceResult, LeaveOneOutRow, influence, leave_one_out
from redif.evidence.measures import (
    PROPORTION_MEASURES,
    Measure,
    StudyCI,
    back_transform,
    escalc,
    study_intervals,
)
from redif.evidence.regression import meta_regression
from redif.evidence.results import (
    BetweenTest,
    Coefficient,
    PoolResult,
    RegressionResult,
    StudyRow,
    SubgroupResult,
)
from redif.evidence.rma import RmaFit, fit_rma, pool_generic, pool_proportions, qprofile_tau2
from redif.evidence.subgroups import between_test, pool_subgroups, pool_subgroups_generic
from redif.evidence.tau2 import Method, estimate_tau2

__all__ = [
    "PROPORTION_MEASURES",
    "BetweenTest",
    "Coefficient",
    "GlmmFit",
    "InfluenceResult",
    "LeaveOneOutRow",
    "Measure",
    "Method",
    "PoolResult",
    "RankTest",
    "RegTest",
    "RegressionResult",
    "RmaFit",
    "StudyCI",
    "StudyRow",
    "SubgroupResult",
    "TrimFill",
    "back_transform",
    "between_test",
    "escalc",
    "estimate_tau2",
    "fit_glmm",
    "fit_rma",
    "influence",
    "leave_one_out",
    "meta_regression",
    "pool_generic",
    "pool_proportions",
    "pool_subgroups",
    "pool_subgroups_generic",
    "qprofile_tau2",
    "ranktest",
    "regtest",
    "study_intervals",
    "trimfill",
]
