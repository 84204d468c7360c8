"""Issue 13: where lifelines 0.30 gives the same numbers as the IPD engine (the Kaplan-Meier curve, the
unstratified log-rank test, the Cox model with Efron ties and strata) and where its conventions differ
(the median's confidence interval), as ``docs/ipd.md`` says.

Expected values: lifelines (a peer implementation) on ``data/sites.csv``; numbers at risk counted by hand.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.statistics import multivariate_logrank_test
from lifelines.utils import median_survival_times

from redif.ipd.dataset import read_analysis_csv
from redif.ipd.survival import kaplan_meier, survival

DATA = Path(__file__).parent / "data"
ROWS = read_analysis_csv(DATA / "sites.csv")
pytestmark = pytest.mark.filterwarnings("ignore:Starting with pandas version 4.0")

DF = pd.read_csv(DATA / "sites.csv", keep_default_na=False, na_values=[""])


def test_km_curve_equals_lifelines_and_numbers_at_risk() -> None:
    """Issue 13: S(t) at every distinct time = lifelines KaplanMeierFitter; numbers at risk by hand."""
    t = DF["pfs_days"].to_numpy(float)
    e = DF["pfs_event"].to_numpy(int).astype(bool)
    km = kaplan_meier(t, e)
    kmf = KaplanMeierFitter().fit(t, e)
    lifelines_s = kmf.survival_function_at_times(km.time).to_numpy()
    np.testing.assert_allclose(km.surv, lifelines_s, rtol=0, atol=1e-12)
    for when in (0.0, 180.0, 365.0, 730.0, 5000.0):
        assert km.at_risk(when) == int((t >= when).sum())


def test_median_ci_convention_differs_from_lifelines() -> None:
    """Issue 13: lifelines' median CI comes from its log(-log) band (survfit conf.type = "log-log"), not
    survfit's default log band that redif reports - for these data the limits differ for at least one
    group, while the medians agree."""
    res = survival(ROWS, time="pfs_days", event="pfs_event", by="genotype")
    differs = False
    for g in res.groups:
        sub = DF[DF["genotype"] == g.group]
        kmf = KaplanMeierFitter().fit(sub["pfs_days"], sub["pfs_event"])
        assert kmf.median_survival_time_ == pytest.approx(g.median)
        ci = median_survival_times(kmf.confidence_interval_).to_numpy()[0]
        mine = [np.inf if g.median_ci_lower is None else g.median_ci_lower,
                np.inf if g.median_ci_upper is None else g.median_ci_upper]
        differs |= bool(np.any(ci != np.array(mine)))
    assert differs


def test_logrank_equals_lifelines() -> None:
    """Issue 13: unstratified log-rank chi-square and p = lifelines multivariate_logrank_test."""
    lr = survival(ROWS, time="ttnt_days", event="ttnt_event", by="genotype").logrank
    assert lr is not None
    ll = multivariate_logrank_test(DF["ttnt_days"], DF["genotype"], DF["ttnt_event"])
    assert lr.chisq == pytest.approx(ll.test_statistic, rel=1e-9)
    assert lr.p == pytest.approx(ll.p_value, rel=1e-7)


@pytest.mark.parametrize("strata", [None, "site"])
def test_cox_equals_lifelines(strata: str | None) -> None:
    """Issue 13: Cox (Efron) coefficients and SEs = lifelines CoxPHFitter (with strata) to 1e-5 (lifelines
    stops its Newton-Raphson at a looser tolerance than coxph)."""
    res = survival(ROWS, time="pfs_days", event="pfs_event", covariates=["uptake_restored", "age_years"],
                   strata=strata).cox
    assert res is not None
    cols = ["pfs_days", "pfs_event", "uptake_restored", "age_years", "site"]
    sub = DF.dropna(subset=["uptake_restored"])[cols]
    cph = CoxPHFitter(strata=[strata] if strata else None)
    cph.fit(sub if strata else sub.drop(columns="site"), duration_col="pfs_days", event_col="pfs_event")
    np.testing.assert_allclose([c.coef for c in res.coefficients], cph.params_.to_numpy(), atol=1e-5)
    np.testing.assert_allclose([c.se for c in res.coefficients], cph.standard_errors_.to_numpy(), atol=1e-5)


def test_pooled_km_from_site_tables_and_cox_terms_per_site() -> None:
    """Issue 13 (for the federated algorithm): the pooled curve from the sites' risk-set tables summed at
    the union of times equals the curve of all patients, and the stratified Cox fit's score is zero at
    its estimate when summed from per-site cox_stratum_terms (expected: the central computation)."""
    from redif.ipd.survival import cox_stratum_terms, km_from_table

    t_all = DF["pfs_days"].to_numpy(float)
    e_all = DF["pfs_event"].to_numpy(int).astype(bool)
    central = kaplan_meier(t_all, e_all)
    times = np.unique(t_all)
    n_risk = np.zeros(times.size)
    n_event = np.zeros(times.size)
    for site in sorted(set(DF["site"])):
        km = kaplan_meier(t_all[DF["site"] == site], e_all[DF["site"] == site])
        idx = np.searchsorted(times, km.time)
        np.add.at(n_event, idx, km.n_event)
        n_risk += np.array([km.at_risk(x) for x in times])
    pooled = km_from_table(times, n_risk, n_event)
    np.testing.assert_allclose(pooled.surv, central.surv, rtol=0, atol=1e-14)
    assert (pooled.median, pooled.median_ci_lower, pooled.median_ci_upper) == (
        central.median, central.median_ci_lower, central.median_ci_upper)
    fit = survival(ROWS, time="pfs_days", event="pfs_event", covariates=["age_years"], strata="site").cox
    assert fit is not None
    beta = np.array([fit.coefficients[0].coef])
    score = sum(cox_stratum_terms(t_all[DF["site"] == s], e_all[DF["site"] == s],
                                  DF.loc[DF["site"] == s, ["age_years"]].to_numpy(float), beta)[1]
                for s in sorted(set(DF["site"])))
    assert abs(float(score[0])) < 1e-8
