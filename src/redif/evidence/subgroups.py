"""Subgroup analysis: a separate model (own tau^2) per subgroup and the test of subgroup differences.

The between-subgroup test is the Q statistic of an equal-effects model fitted to the subgroup
estimates with their standard errors (df = number of subgroups - 1), which is what metafor gives
with ``rma(est, sei=se, mods=~group, method="EE")`` on separately fitted subgroups and what R
``meta`` reports as the test for subgroup differences under separate tau^2.

A subgroup with a single study cannot estimate tau^2: it is reported as that study alone
(equal-effects model, tau^2 = 0, no heterogeneity statistics), with a note saying so. Subgroups
are ordered as R orders factor levels (sorted), which fixes the order of keys in the JSON output.

References
----------
Borenstein M, Higgins JPT. Meta-analysis and subgroups. Prev Sci 2013;14:134-143.
Viechtbauer W. Conducting meta-analyses in R with the metafor package. J Stat Softw 2010;36(3):1-48.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from redif.errors import InputError
from redif.evidence._dist import chi2_sf
from redif.evidence.measures import PROPORTION_MEASURES, check_counts, escalc, parse_measure
from redif.evidence.results import BetweenTest, PoolResult, SubgroupResult
from redif.evidence.rma import check_generic, check_level, fit_rma, pool_generic, pool_proportions
from redif.evidence.rma_result import build_pool_result
from redif.evidence.tau2 import Method, parse_method

__all__ = ["between_test", "pool_subgroups", "pool_subgroups_generic"]

SINGLE_STUDY_NOTE = "single study: reported alone (equal-effects, tau2 = 0)"


def _group_index(groups: Sequence[object], k: int) -> dict[str, np.ndarray]:
    g = [str(x).strip() for x in groups]
    if len(g) != k:
        raise InputError(f"{len(g)} group values for {k} studies", field="groups",
                         remedy="give one group value per study")
    for i, val in enumerate(g):
        if val == "" or val.lower() == "nan":
            raise InputError(f"study {i + 1}: missing group value", field="groups",
                             remedy="fill in the grouping column for every study")
    arr = np.array(g, dtype=object)
    return {lev: np.flatnonzero(arr == lev) for lev in sorted(set(g))}


def between_test(results: Sequence[PoolResult]) -> BetweenTest:
    """Q test of differences between subgroup estimates ``mu`` (analysis scale)."""
    mu = np.array([r.mu for r in results])
    w = 1.0 / np.array([r.se for r in results]) ** 2
    mbar = float((w * mu).sum() / w.sum())
    q = float((w * (mu - mbar) ** 2).sum())
    df = len(results) - 1
    return BetweenTest(q=q, df=df, p=chi2_sf(q, df) if df > 0 else float("nan"))


def pool_subgroups(
    events: ArrayLike, totals: ArrayLike, groups: Sequence[object], labels: Sequence[str] | None = None,
    *, measure: str = "PLO", method: str = "REML", knha: bool | str = False, level: float = 95.0,
    study_ci: str = "clopper-pearson",
) -> SubgroupResult:
    """Subgroup analysis of single proportions (separate tau^2 per subgroup).

    Parameters are those of :func:`~redif.evidence.rma.pool_proportions` plus ``groups``, one group
    value per study. The overall result pools all studies ignoring the groups.
    """
    ms = parse_measure(measure)
    if ms not in PROPORTION_MEASURES:
        raise InputError("pool_subgroups needs a proportion measure", field="measure", value=str(ms),
                         remedy="use pool_subgroups_generic for yi/vi")
    x, n = check_counts(events, totals)
    labs = [f"Study {i + 1}" for i in range(x.size)] if labels is None else [str(s) for s in labels]
    idx = _group_index(groups, x.size)
    m = parse_method(method)
    lv = check_level(level)
    overall = pool_proportions(x, n, labs, measure=ms, method=m, knha=knha, level=lv, study_ci=study_ci)
    subs: dict[str, PoolResult] = {}
    for lev, ii in idx.items():
        sl = [labs[i] for i in ii]
        if ii.size == 1 or (m is Method.GLMM and ii.size < 2):
            y, v = escalc(ms if m is not Method.GLMM else "PLO", x[ii], n[ii])
            fit = fit_rma(y, v, method=Method.EE, knha=False, level=lv)
            subs[lev] = build_pool_result(fit, y, v, measure=ms if m is not Method.GLMM else parse_measure(
                "PLO"), labels=sl, events=x[ii], totals=n[ii], study_ci=study_ci,
                method_name=str(m), qprofile=False, notes=(SINGLE_STUDY_NOTE,))
        else:
            subs[lev] = pool_proportions(x[ii], n[ii], sl, measure=ms, method=m, knha=knha, level=lv,
                                         study_ci=study_ci)
    return SubgroupResult(overall=overall, subgroups=subs, test_between=between_test(list(subs.values())))


def pool_subgroups_generic(
    yi: ArrayLike, vi: ArrayLike, groups: Sequence[object], labels: Sequence[str] | None = None, *,
    method: str = "REML", knha: bool = False, level: float = 95.0,
) -> SubgroupResult:
    """Subgroup analysis of generic effect sizes (separate tau^2 per subgroup)."""
    y, v = check_generic(yi, vi)
    labs = [f"Study {i + 1}" for i in range(y.size)] if labels is None else [str(s) for s in labels]
    idx = _group_index(groups, y.size)
    m = parse_method(method)
    lv = check_level(level)
    overall = pool_generic(y, v, labs, method=m, knha=knha, level=lv)
    subs: dict[str, PoolResult] = {}
    for lev, ii in idx.items():
        sl = [labs[i] for i in ii]
        if ii.size == 1:
            fit = fit_rma(y[ii], v[ii], method=Method.EE, level=lv)
            subs[lev] = build_pool_result(fit, y[ii], v[ii], measure=parse_measure("GEN"), labels=sl,
                                          method_name=str(m), qprofile=False, notes=(SINGLE_STUDY_NOTE,))
        else:
            subs[lev] = pool_generic(y[ii], v[ii], sl, method=m, knha=knha, level=lv)
    return SubgroupResult(overall=overall, subgroups=subs, test_between=between_test(list(subs.values())))
