"""Public facade of the meta-analysis engine: import everything from here.

Example
-------
>>> from redif.evidence.meta import pool_proportions
>>> res = pool_proportions([3, 5, 9], [20, 21, 30], measure="PLO", method="REML")
>>> round(res.estimate, 3)
0.233
"""

from __future__ import annotations

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
    "Measure",
    "Method",
    "PoolResult",
    "RegressionResult",
    "RmaFit",
    "StudyCI",
    "StudyRow",
    "SubgroupResult",
    "back_transform",
    "between_test",
    "escalc",
    "estimate_tau2",
    "fit_rma",
    "meta_regression",
    "pool_generic",
    "pool_proportions",
    "pool_subgroups",
    "pool_subgroups_generic",
    "qprofile_tau2",
    "study_intervals",
]
