"""Time-to-event analyses from per-site aggregates: pooled Kaplan-Meier, log-rank, site-stratified Cox.

Site side (:func:`site_tables`, :func:`cox_site`) returns only aggregates; the central side
(:func:`kaplan_meier`, :func:`logrank`, :func:`cox_newton`) combines them. No vantage6 import: numpy/pandas.

Kaplan-Meier: each site sends, per group, a table of (time, at risk, events, censored). Pooling the tables
is exact: the pooled number at risk at ``t`` is the sum of the sites' numbers at risk at ``t``, which is
the number of the pooled patients leaving at or after ``t``. Greenwood's variance and survfit's
``conf.type = "log"`` interval; the median and its CI as R survival's ``quantile.survfit`` (function
``findq``: the time where ``1 - S`` reaches 0.5, the mid-point where a step lies exactly on 0.5).

Log-rank (Mantel-Haenszel; R ``survdiff``): observed minus expected and the hypergeometric variance per
distinct time, summed over the times, and over the sites for the site-stratified test.

Cox (site-stratified, Efron ties; R ``coxph(Surv(t, e) ~ x + strata(site), ties = "efron")``): each site
is a stratum, so the partial likelihood is the product of the sites' partial likelihoods and its score and
information are sums of the sites' (WebDISCO: Lu CL et al., J Am Med Inform Assoc 2015;22:1212-1219).
Newton-Raphson with step-halving as coxph (Therneau & Grambsch, Modeling Survival Data, 2000, ch. 3).

Disclosure (``min_cell``): a group table is sent only for a group of at least ``min_cell`` patients, and
its times are coarsened so that every row covers at least ``min_cell`` patients leaving the risk set:
consecutive distinct times are merged into one row, reported at the last time of the block, until the
block holds ``min_cell`` exits (events + censored); a short tail is merged into the previous row. With
``min_cell`` 0 or 1 the table is exact. A site contributes to Cox only with at least ``min_cell`` complete
cases and, for a covariate with at most two distinct values, at least ``min_cell`` patients at each value.

References
----------
Kaplan EL, Meier P. J Am Stat Assoc 1958;53:457-481. Greenwood M. Reports on Public Health and Medical
Subjects 1926;33. Mantel N. Cancer Chemother Rep 1966;50:163-170. Efron B. J Am Stat Assoc
1977;72:557-565. Therneau TM. A Package for Survival Analysis in R (survival 3.5).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from redif_vantage6.dataset import AlgorithmInputError, column_values, one_site
from redif_vantage6.disclosure import suppressed

__all__ = ["cox_newton", "cox_site", "kaplan_meier", "logrank", "median_ci", "pool_rows", "site_tables"]

_TOL = math.sqrt(np.finfo(float).eps)  # survival's quantile.survfit tolerance


def _time_event(df: pd.DataFrame, time: str, event: str) -> tuple[list[int | None], list[bool | None]]:
    t = column_values(df, time, "days")
    e = column_values(df, event, "bool")
    for i, (ti, ei) in enumerate(zip(t, e, strict=True)):
        if (ti is None) != (ei is None):
            patient = str(df["patient"].iloc[i])
            col = event if ei is None else time
            raise AlgorithmInputError(
                f"patient {patient} (data row {i + 1}), column {col}: empty while "
                f"{time if ei is None else event} is given", field="sites", value="",
                remedy=f"give both {time} and {event}, or leave both empty")
    return t, e


def coarsen(times: Sequence[int], events: Sequence[int], censored: Sequence[int],
            min_cell: int) -> list[list[int]]:
    """Rows ``[time, at_risk, events, censored]`` of a group, blocks of >= ``min_cell`` exits.

    ``times`` are the distinct sorted times with their event and censoring counts.
    """
    blocks: list[list[int]] = []
    cur = [0, 0, 0]  # time, events, censored
    for t, d, c in zip(times, events, censored, strict=True):
        cur = [t, cur[1] + d, cur[2] + c]
        if cur[1] + cur[2] >= max(min_cell, 1):
            blocks.append(cur)
            cur = [0, 0, 0]
    if cur[1] + cur[2] > 0:
        if blocks:
            last = blocks[-1]
            blocks[-1] = [cur[0], last[1] + cur[1], last[2] + cur[2]]
        else:
            blocks.append(cur)
    rows: list[list[int]] = []
    at_risk = sum(b[1] + b[2] for b in blocks)
    for t, d, c in blocks:
        rows.append([int(t), int(at_risk), int(d), int(c)])
        at_risk -= d + c
    return rows


def site_tables(df: pd.DataFrame, *, time: str, event: str, by: str | None,
                min_cell: int) -> dict[str, Any]:
    """The site's event/risk-set tables per group (``by`` column; one group ``all`` without it)."""
    site = one_site(df)
    t, e = _time_event(df, time, event)
    groups = column_values(df, by, "text") if by else ["all"] * len(t)
    per: dict[str, list[tuple[int, bool]]] = {}
    for ti, ei, g in zip(t, e, groups, strict=True):
        if ti is None or ei is None or g == "":
            continue
        per.setdefault(g, []).append((ti, ei))
    out: list[dict[str, Any]] = []
    withheld: list[dict[str, Any]] = []
    for g in sorted(per):
        pts = per[g]
        if len(pts) < min_cell:
            withheld.append(suppressed(site, f"survival table ({time}, group {g})",
                                       f"fewer than {min_cell} patients", group=g))
            continue
        ts = sorted({p[0] for p in pts})
        d = [sum(1 for p in pts if p[0] == x and p[1]) for x in ts]
        c = [sum(1 for p in pts if p[0] == x and not p[1]) for x in ts]
        out.append({"group": g, "rows": coarsen(ts, d, c, min_cell)})
    return {"site": site, "groups": out, "suppressed": withheld}


def pool_rows(
    tables: Sequence[Sequence[Sequence[int]]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pool several sites' rows: distinct times, at risk, events, censored (numpy arrays)."""
    agg: dict[int, list[int]] = {}
    for rows in tables:
        for t_row, _n_row, d_row, c_row in rows:
            a = agg.setdefault(int(t_row), [0, 0])
            a[0] += int(d_row)
            a[1] += int(c_row)
    times = np.array(sorted(agg), dtype=float)
    d = np.array([agg[int(x)][0] for x in times], dtype=float)
    c = np.array([agg[int(x)][1] for x in times], dtype=float)
    n = np.cumsum((d + c)[::-1])[::-1]
    return times, n, d, c


def _findq(x: np.ndarray, y: np.ndarray, p: float, tol: float) -> float | None:
    """R survival ``findq`` (quantile.survfit) for one probability ``p``."""
    if np.all(np.isnan(y)) or np.nanmax(y) < p:
        return None
    xmax = x[-1]
    keep: list[int] = []
    for i in range(len(y)):
        if any((np.isnan(y[i]) and np.isnan(y[j])) or y[i] == y[j] for j in keep):
            continue
        keep.append(i)
    xk, yk = x[keep], y[keep]
    ok = ~np.isnan(yk)

    def first(shift: float) -> int | None:
        # approx(y + shift, 1:n, p, "constant", f = 1): the first node at or above p (NA outside range)
        yy = yk[ok] + shift
        idx = np.arange(len(yk))[ok]
        if len(yy) == 0 or p < yy.min() or p > yy.max():
            return None
        return int(idx[np.argmax(yy >= p)])

    i1, i2 = first(tol), first(-tol)
    quant = None if i1 is None or i2 is None else (xk[i1] + xk[i2]) / 2.0
    if not np.isnan(yk[-1]) and abs(p - yk[-1]) < tol and i1 is not None:
        quant = (xk[i1] + xmax) / 2.0
    return None if quant is None else float(quant)


def median_ci(times: np.ndarray, surv: np.ndarray, lower: np.ndarray,
              upper: np.ndarray) -> tuple[float | None, float | None, float | None]:
    """Median survival and its CI from the KM curve and its pointwise CI (R ``quantile.survfit``)."""
    x = np.concatenate([[0.0], times])
    med = _findq(x, np.concatenate([[0.0], 1 - surv]), 0.5, _TOL)
    lo = _findq(x, np.concatenate([[0.0], 1 - lower]), 0.5, _TOL)
    hi = _findq(x, np.concatenate([[0.0], 1 - upper]), 0.5, _TOL)
    return med, lo, hi


def kaplan_meier(rows_by_site: Sequence[Sequence[Sequence[int]]], *, level: float = 0.95) -> dict[str, Any]:
    """Pooled KM of one group: ``n``, ``events``, the median and its log-CI, and the curve."""
    times, n, d, c = pool_rows(rows_by_site)
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.cumprod(1.0 - d / n)
        green = np.cumsum(np.where(d > 0, d / (n * (n - d)), 0.0))
        se = np.sqrt(green)
        z = float(special.ndtri(1 - (1 - level) / 2))
        lower = np.where(surv > 0, np.exp(np.log(surv) - z * se), np.nan)
        upper = np.where(surv > 0, np.minimum(1.0, np.exp(np.log(surv) + z * se)), np.nan)
    med, lo, hi = median_ci(times, surv, lower, upper)
    total = int(n[0]) if len(n) else 0
    curve = [{"time": float(t), "at_risk": int(a), "events": int(e), "censored": int(k), "surv": float(s),
              "lower": None if np.isnan(lw) else float(lw), "upper": None if np.isnan(up) else float(up)}
             for t, a, e, k, s, lw, up in zip(times, n, d, c, surv, lower, upper, strict=True)]
    return {"n": total, "events": int(d.sum()), "median": med, "median_ci_lower": lo, "median_ci_upper": hi,
            "curve": curve}


def _logrank_stratum(tables: Mapping[str, Sequence[Sequence[Sequence[int]]]],
                     groups: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """O - E and variance of one stratum; ``tables[group]`` = that group's rows (one or several sites)."""
    k = len(groups)
    pooled = {g: pool_rows(tables.get(g, [])) for g in groups}
    all_t = sorted({float(t) for g in groups for t in pooled[g][0]})
    o_e = np.zeros(k)
    var = np.zeros((k, k))
    for t in all_t:
        ng = np.zeros(k)
        dg = np.zeros(k)
        for j, g in enumerate(groups):
            ts, n, d, _ = pooled[g]
            after = ts >= t
            if after.any():
                ng[j] = n[np.argmax(after)]
            hit = ts == t
            if hit.any():
                dg[j] = d[np.argmax(hit)]
        ntot, dtot = ng.sum(), dg.sum()
        if dtot == 0 or ntot == 0:
            continue
        o_e += dg - dtot * ng / ntot
        if ntot > 1:
            f = dtot * (ntot - dtot) / (ntot * ntot * (ntot - 1))
            var += f * (np.diag(ng) * ntot - np.outer(ng, ng))
    return o_e, var


def logrank(site_groups: dict[str, dict[str, Sequence[Sequence[int]]]], *,
            stratified: bool) -> dict[str, Any] | None:
    """Log-rank test across the groups: ``{chisq, df, p, observed, expected, strata}`` (None with fewer
    than two groups; ``observed``/``expected``: events per group, summed over the strata).

    ``site_groups[site][group]`` are the rows a site sent for that group.
    """
    groups = sorted({g for s in site_groups.values() for g in s})
    if len(groups) < 2:
        return None
    k = len(groups)
    o_e = np.zeros(k)
    var = np.zeros((k, k))
    if stratified:
        for s in site_groups.values():
            a, v = _logrank_stratum({g: [s[g]] for g in s}, groups)
            o_e += a
            var += v
    else:
        merged: dict[str, list[Sequence[Sequence[int]]]] = {}  # group -> the sites' rows
        for s in site_groups.values():
            for g, rows in s.items():
                merged.setdefault(g, []).append(rows)
        # pool the sites' rows of each group into one table before the test
        tables = {g: [_flatten(rs)] for g, rs in merged.items()}
        o_e, var = _logrank_stratum(tables, groups)
    sub = var[:-1, :-1]
    df = int(np.linalg.matrix_rank(sub))
    chisq = float(o_e[:-1] @ np.linalg.pinv(sub) @ o_e[:-1])
    observed = {g: float(sum(r[2] for s in site_groups.values() for r in s.get(g, []))) for g in groups}
    expected = {g: observed[g] - float(o_e[j]) for j, g in enumerate(groups)}
    return {"chisq": chisq, "df": df, "p": float(special.chdtrc(df, chisq)), "observed": observed,
            "expected": expected, "strata": "site" if stratified else None}


def _flatten(tables: Sequence[Sequence[Sequence[int]]]) -> list[list[int]]:
    ts, n, d, c = pool_rows(tables)
    return [[int(t), int(a), int(e), int(k)] for t, a, e, k in zip(ts, n, d, c, strict=True)]


def _efron(t: np.ndarray, e: np.ndarray, x: np.ndarray,
           beta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Log partial likelihood, score and information of one stratum (Efron ties)."""
    p = x.shape[1]
    eta = x @ beta
    r = np.exp(eta)
    loglik = 0.0
    score = np.zeros(p)
    info = np.zeros((p, p))
    for tj in np.unique(t[e == 1]):
        risk = t >= tj
        dead = (t == tj) & (e == 1)
        nd = int(dead.sum())
        s0 = r[risk].sum()
        s1 = (r[risk, None] * x[risk]).sum(axis=0)
        s2 = (r[risk, None, None] * x[risk, :, None] * x[risk, None, :]).sum(axis=0)
        d0 = r[dead].sum()
        d1 = (r[dead, None] * x[dead]).sum(axis=0)
        d2 = (r[dead, None, None] * x[dead, :, None] * x[dead, None, :]).sum(axis=0)
        loglik += float(eta[dead].sum())
        score += x[dead].sum(axis=0)
        for m in range(nd):
            f = m / nd
            a0, a1, a2 = s0 - f * d0, s1 - f * d1, s2 - f * d2
            loglik -= math.log(a0)
            score -= a1 / a0
            info += a2 / a0 - np.outer(a1, a1) / (a0 * a0)
    return loglik, score, info


def cox_site(df: pd.DataFrame, *, time: str, event: str, covariates: Sequence[str],
             beta: Sequence[float], min_cell: int) -> dict[str, Any]:
    """The site's stratum of the Cox model at ``beta``: log partial likelihood, score and information."""
    site = one_site(df)
    t, e = _time_event(df, time, event)
    cols = [column_values(df, c, "number") for c in covariates]
    keep = [i for i in range(len(t)) if t[i] is not None and all(col[i] is not None for col in cols)]
    if len(keep) < max(min_cell, 1):
        return suppressed(site, "cox score and information", f"fewer than {min_cell} complete cases")
    x = np.array([[col[i] for col in cols] for i in keep], dtype=float).reshape(len(keep), len(cols))
    for j, name in enumerate(covariates):
        values, counts = np.unique(x[:, j], return_counts=True)
        if len(values) <= 2 and counts.min() < min_cell:
            return suppressed(site, "cox score and information",
                              f"covariate {name}: a value held by fewer than {min_cell} patients")
    tt = np.array([t[i] for i in keep], dtype=float)
    ee = np.array([1.0 if e[i] else 0.0 for i in keep])
    b = np.asarray(beta, dtype=float)
    loglik, score, info = _efron(tt, ee, x, b)
    return {"site": site, "n": len(keep), "events": int(ee.sum()), "loglik": loglik,
            "score": [float(s) for s in score], "information": [[float(v) for v in row] for row in info]}


def cox_newton(evaluate: Callable[[list[float]], list[dict[str, Any]]], covariates: Sequence[str], *,
               max_iter: int = 30, eps: float = 1e-12, level: float = 0.95) -> dict[str, Any]:
    """Fit the site-stratified Cox model by Newton-Raphson over the sites.

    ``evaluate(beta)`` returns the sites' :func:`cox_site` results at ``beta`` (one round of tasks).
    Converges when the relative change of the log partial likelihood is below ``eps`` (coxph: 1e-9).
    """
    p = len(covariates)
    beta = np.zeros(p)

    Rounds = tuple[float, np.ndarray, np.ndarray, list[dict[str, Any]], list[dict[str, Any]]]

    def total(b: np.ndarray) -> Rounds:
        res = evaluate([float(v) for v in b])
        ok = [r for r in res if not r.get("suppressed")]
        withheld = [r for r in res if r.get("suppressed")]
        if not ok:
            raise AlgorithmInputError("no site could contribute to the Cox model", field="covariates",
                                      value=",".join(covariates),
                                      remedy="every site was suppressed by min_cell; see `suppressed`")
        ll = sum(r["loglik"] for r in ok)
        u = np.sum([r["score"] for r in ok], axis=0)
        inf = np.sum([r["information"] for r in ok], axis=0)
        return ll, u, inf, ok, withheld

    ll, u, inf, ok, withheld = total(beta)
    ll0 = ll
    iterations = 0
    converged = False
    while iterations < max_iter:
        iterations += 1
        step = np.linalg.solve(inf, u)
        new = beta + step
        ll_new, u_new, inf_new, ok, withheld = total(new)
        halvings = 0
        while ll_new < ll - 1e-12 * abs(ll) and halvings < 20:
            new = (beta + new) / 2
            ll_new, u_new, inf_new, ok, withheld = total(new)
            halvings += 1
        done = abs(ll_new - ll) <= eps * max(abs(ll_new), 1.0) and np.max(np.abs(new - beta)) < 1e-9
        beta, ll, u, inf = new, ll_new, u_new, inf_new
        if done:
            converged = True
            break
    if not converged:
        raise AlgorithmInputError("the Cox model did not converge", field="covariates",
                                  value=",".join(covariates),
                                  remedy="check for a covariate that separates events (monotone likelihood)")
    cov = np.linalg.inv(inf)
    z = float(special.ndtri(1 - (1 - level) / 2))
    coefs = []
    for j, name in enumerate(covariates):
        b, se = float(beta[j]), float(math.sqrt(cov[j, j]))
        coefs.append({"name": name, "coef": b, "se": se, "hr": math.exp(b), "ci_lower": math.exp(b - z * se),
                      "ci_upper": math.exp(b + z * se), "p": float(2 * special.ndtr(-abs(b / se)))})
    return {"coefficients": coefs, "ties": "efron", "strata": "site", "loglik": ll, "loglik_null": ll0,
            "iterations": iterations, "n": int(sum(r["n"] for r in ok)),
            "events": int(sum(r["events"] for r in ok)), "sites": sorted(r["site"] for r in ok),
            "suppressed": withheld}
