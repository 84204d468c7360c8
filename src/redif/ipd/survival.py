"""Time-to-event endpoints of registry patients: Kaplan-Meier, log-rank and Cox (Efron ties).

The numbers are those of R's survival package (Therneau), computed here with numpy/scipy:

- **Kaplan-Meier** per group (``survfit``): ``S(t) = prod (1 - d_j / n_j)``; Greenwood's variance of
  ``log S``; the pointwise interval on the log scale, survfit's default ``conf.type = "log"``
  (``S exp(+-z se)``, the upper limit capped at 1, undefined where ``S = 0``). The median and its interval
  follow ``quantile.survfit``: the first time the curve (for the limits: the upper and the lower curve)
  is at or below 0.5, the mid-point of the flat stretch when the curve is exactly 0.5 there (tolerance
  ``sqrt(machine epsilon)``), undefined (``None``) when it never reaches 0.5.
  lifelines' ``KaplanMeierFitter`` gives the same curve but its default interval is the log(-log) one
  (``conf.type = "log-log"`` in R) and its median interval comes from that band: those are *not* the
  numbers reported here.
- **Log-rank** (``survdiff``, rho = 0): observed minus expected events per group with the hypergeometric
  covariance, summed over the strata when ``strata`` is given (``survdiff(... + strata(site))``);
  chi-square on (groups with expected > 0) - 1 degrees of freedom. Unstratified, it equals lifelines'
  ``multivariate_logrank_test``.
- **Cox proportional hazards** (``coxph``, ``ties = "efron"``, stratified with ``strata(site)``):
  Newton-Raphson on Efron's partial likelihood from beta = 0 to convergence; standard errors from the
  inverse information; Wald p-values and intervals.

Rows with an empty time, event or covariate are left out (complete cases, as R's ``na.omit``), and
counted in ``excluded``.

References
----------
Kaplan EL, Meier P. Nonparametric estimation from incomplete observations. J Am Stat Assoc
1958;53:457-481.
Mantel N. Evaluation of survival data and two new rank order statistics arising in its consideration.
Cancer Chemother Rep 1966;50:163-170.
Cox DR. Regression models and life-tables. J R Stat Soc B 1972;34:187-220.
Efron B. The efficiency of Cox's likelihood function for censored data. J Am Stat Assoc
1977;72:557-565.
Therneau TM, Grambsch PM. Modeling Survival Data: Extending the Cox Model. Springer 2000; Therneau TM.
A Package for Survival Analysis in R (package ``survival``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from redif.errors import ConvergenceError, InputError
from redif.evidence._dist import chi2_sf, norm_isf, norm_sf
from redif.ipd.dataset import AnalysisRow

__all__ = ["CoxCoefficient", "CoxResult", "KmCurve", "LogRank", "SurvivalResult", "cox_efron",
           "cox_stratum_terms", "kaplan_meier", "km_from_table", "logrank", "survival"]

FloatArray = NDArray[np.float64]
Times = Sequence[float] | FloatArray
Events = Sequence[bool] | NDArray[np.bool_]
_TOL = math.sqrt(np.finfo(float).eps)  # quantile.survfit's tolerance


@dataclass(frozen=True)
class KmCurve:
    """A Kaplan-Meier curve at its distinct times (events and censorings), survfit's layout."""

    group: str
    n: int
    events: int
    time: FloatArray
    n_risk: FloatArray
    n_event: FloatArray
    surv: FloatArray
    lower: FloatArray
    upper: FloatArray
    median: float | None
    median_ci_lower: float | None
    median_ci_upper: float | None

    def to_json(self) -> dict[str, Any]:
        """``{group, n, events, median, median_ci_lower, median_ci_upper}``."""
        return {"group": self.group, "n": self.n, "events": self.events, "median": self.median,
                "median_ci_lower": self.median_ci_lower, "median_ci_upper": self.median_ci_upper}

    def at_risk(self, t: float) -> int:
        """Number at risk at time ``t`` (followed at least until ``t``)."""
        i = int(np.searchsorted(self.time, t, side="left"))
        return int(self.n_risk[i]) if i < self.time.size else 0


@dataclass(frozen=True)
class LogRank:
    """Log-rank test (``survdiff``)."""

    chisq: float
    df: int
    p: float
    observed: dict[str, float]
    expected: dict[str, float]
    strata: str | None = None

    def to_json(self) -> dict[str, Any]:
        """``{chisq, df, p, observed, expected, strata}``."""
        return {"chisq": self.chisq, "df": self.df, "p": self.p, "observed": self.observed,
                "expected": self.expected, "strata": self.strata}


@dataclass(frozen=True)
class CoxCoefficient:
    """One Cox coefficient (log hazard ratio) with its Wald test and interval."""

    name: str
    coef: float
    se: float
    hr: float
    ci_lower: float
    ci_upper: float
    p: float

    def to_json(self) -> dict[str, Any]:
        """``{name, coef, se, hr, ci_lower, ci_upper, p}`` (CI of the hazard ratio)."""
        return {"name": self.name, "coef": self.coef, "se": self.se, "hr": self.hr, "ci_lower": self.ci_lower,
                "ci_upper": self.ci_upper, "p": self.p}


@dataclass(frozen=True)
class CoxResult:
    """A fitted Cox model (Efron ties)."""

    coefficients: tuple[CoxCoefficient, ...]
    n: int
    events: int
    loglik: float
    iterations: int
    strata: str | None = None
    ties: str = "efron"

    def to_json(self) -> dict[str, Any]:
        """``{coefficients, ties, n, events, loglik, strata}``."""
        return {"coefficients": [c.to_json() for c in self.coefficients], "ties": self.ties, "n": self.n,
                "events": self.events, "loglik": self.loglik, "strata": self.strata}


@dataclass(frozen=True)
class SurvivalResult:
    """Kaplan-Meier curves by group, the log-rank test and (with covariates) a Cox model."""

    time: str
    event: str
    by: str | None
    level: float
    groups: tuple[KmCurve, ...]
    logrank: LogRank | None
    cox: CoxResult | None
    excluded: int
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        """The ``redif ipd survival --json`` keys (stable contract of issue 13)."""
        out: dict[str, Any] = {"time": self.time, "event": self.event, "by": self.by, "level": self.level,
                               "conf_type": "log", "n": sum(g.n for g in self.groups),
                               "events": sum(g.events for g in self.groups),
                               "groups": [g.to_json() for g in self.groups],
                               "logrank": self.logrank.to_json() if self.logrank else None,
                               "excluded": self.excluded, "notes": list(self.notes)}
        if self.cox is not None:
            out["cox"] = self.cox.to_json()
        return out


# ------------------------------------------------------------------------------------------------------
# Kaplan-Meier
# ------------------------------------------------------------------------------------------------------

def _findq(x: FloatArray, y: FloatArray, p: float) -> float | None:
    """R survival's ``findq``: the time where the step curve ``y`` (= 1 - S, from 0) first reaches ``p``."""
    if y.size == 0 or np.all(np.isnan(y)) or float(np.nanmax(y)) < p:
        return None
    xmax = float(x[-1])
    seen: list[int] = []
    values: set[float] = set()
    nan_seen = False
    for i, v in enumerate(y.tolist()):  # duplicated(): keep first occurrences (NaN equal to NaN)
        if math.isnan(v):
            if not nan_seen:
                seen.append(i)
            nan_seen = True
        elif v not in values:
            seen.append(i)
            values.add(v)
    xs, ys = x[seen], y[seen]
    valid = np.flatnonzero(~np.isnan(ys))
    # approx() orders the points by their value: the upper band need not be monotone (it can rise again
    # after an event), and R then takes the first point, in that order, at or above the level
    order = valid[np.argsort(ys[valid], kind="stable")]
    grid = ys[order]

    def first(level: float) -> int | None:  # approx(y +- tol, 1:n, p, "constant", f = 1)
        if level < grid[0] or level > grid[-1]:
            return None
        return int(order[int(np.searchsorted(grid, level, side="left"))])

    i1, i2 = first(p - _TOL), first(p + _TOL)
    q = None if i1 is None or i2 is None else 0.5 * (float(xs[i1]) + float(xs[i2]))
    if not np.isnan(ys[-1]) and abs(p - float(ys[-1])) < _TOL and i1 is not None:
        q = 0.5 * (float(xs[i1]) + xmax)
    return q


def kaplan_meier(time: Times, event: Events, *, group: str = "all", level: float = 95.0) -> KmCurve:
    """Kaplan-Meier estimate with survfit's log-scale interval and its median (module docstring).

    Parameters
    ----------
    time
        Follow-up times (days).
    event
        True for an event, False for censored.
    """
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=bool)
    if t.size == 0:
        raise InputError(f"group {group!r} has no patient", field="by", value=group)
    ut, inv = np.unique(t, return_inverse=True)
    d = np.asarray(np.bincount(inv, weights=e.astype(float), minlength=ut.size), dtype=float)
    m = np.bincount(inv, minlength=ut.size).astype(float)
    n_risk = np.cumsum(m[::-1])[::-1]
    return km_from_table(ut, n_risk, d, group=group, level=level)


def km_from_table(time: FloatArray, n_risk: FloatArray, n_event: FloatArray, *, group: str = "all",
                  level: float = 95.0) -> KmCurve:
    """The Kaplan-Meier curve from its risk-set table: at each distinct time (events and censorings, in
    increasing order) the number at risk and the number of events - what a site may share instead of its
    patients (summing the sites' tables at the union of their times gives the pooled curve).
    """
    ut = np.asarray(time, dtype=float)
    n_risk = np.asarray(n_risk, dtype=float)
    d = np.asarray(n_event, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.asarray(np.cumprod(1.0 - d / n_risk), dtype=float)
        var = np.cumsum(np.where(d > 0, d / (n_risk * (n_risk - d)), 0.0))
        z = norm_isf((1.0 - level / 100.0) / 2.0)
        se = np.sqrt(var)
        pos = surv > 0
        lower = np.where(pos, np.exp(np.log(np.where(pos, surv, 1.0)) - z * se), np.nan)
        upper = np.where(pos, np.minimum(np.exp(np.log(np.where(pos, surv, 1.0)) + z * se), 1.0), np.nan)
    x = np.concatenate(([0.0], ut))
    med = _findq(x, np.concatenate(([0.0], 1.0 - surv)), 0.5)
    lo = _findq(x, np.concatenate(([0.0], 1.0 - lower)), 0.5)
    hi = _findq(x, np.concatenate(([0.0], 1.0 - upper)), 0.5)
    return KmCurve(group=group, n=int(n_risk[0]) if n_risk.size else 0, events=int(d.sum()), time=ut,
                   n_risk=n_risk, n_event=d, surv=surv, lower=lower, upper=upper, median=med,
                   median_ci_lower=lo, median_ci_upper=hi)


# ------------------------------------------------------------------------------------------------------
# Log-rank
# ------------------------------------------------------------------------------------------------------

def _strata_index(size: int, strata: Sequence[str] | None) -> NDArray[np.int64]:
    if strata is None:
        return np.zeros(size, dtype=np.int64)
    return np.asarray(np.unique(np.asarray(strata), return_inverse=True)[1], dtype=np.int64).reshape(-1)


def logrank(time: Times, event: Events, groups: Sequence[str],
            strata: Sequence[str] | None = None, *, strata_name: str | None = None) -> LogRank:
    """The log-rank test of ``groups`` (``survdiff``), stratified by ``strata`` when given."""
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=bool)
    labels = sorted(set(groups))
    g = np.array([labels.index(x) for x in groups], dtype=int)
    k = len(labels)
    st = _strata_index(t.size, strata)
    obs = np.zeros(k)
    exp = np.zeros(k)
    V = np.zeros((k, k))
    for s in np.unique(st):
        ii = st == s
        ut, inv = np.unique(t[ii], return_inverse=True)
        cnt = np.zeros((ut.size, k))
        dev = np.zeros((ut.size, k))
        np.add.at(cnt, (inv, g[ii]), 1.0)
        np.add.at(dev, (inv, g[ii]), e[ii].astype(float))
        n_g = np.cumsum(cnt[::-1], axis=0)[::-1]  # at risk per group at each time
        d_g = dev[dev.sum(axis=1) > 0]
        n_g = n_g[dev.sum(axis=1) > 0]
        n = n_g.sum(axis=1)
        d = d_g.sum(axis=1)
        obs += d_g.sum(axis=0)
        exp += (d[:, None] * n_g / n[:, None]).sum(axis=0)
        c = np.where(n > 1, d * (n - d) / np.maximum(n - 1, 1), 0.0)
        frac = n_g / n[:, None]
        V += np.diag((c[:, None] * frac).sum(axis=0)) - np.einsum("t,ti,tj->ij", c, frac, frac)
    use = exp > 0
    diff = (obs - exp)[use]
    Vu = V[np.ix_(use, use)]
    df = int(use.sum()) - 1
    if df < 1:
        chisq, p = 0.0, float("nan")
    else:
        try:
            chisq = float(diff[:-1] @ np.linalg.solve(Vu[:-1, :-1], diff[:-1]))
        except np.linalg.LinAlgError:  # as R's survdiff, which stops on a singular variance
            raise InputError(
                "the log-rank variance is singular: no stratum holds patients of more than one of the "
                f"groups {labels} at risk at an event time", field="strata" if strata is not None else "by",
                value=strata_name, remedy="stratify by a variable that does not separate the groups, or "
                "drop --strata") from None
        p = chi2_sf(chisq, df)
    return LogRank(chisq=chisq, df=df, p=p, observed=dict(zip(labels, obs.tolist(), strict=True)),
                   expected=dict(zip(labels, exp.tolist(), strict=True)), strata=strata_name)


# ------------------------------------------------------------------------------------------------------
# Cox, Efron ties
# ------------------------------------------------------------------------------------------------------

def _efron_stratum(t: FloatArray, e: FloatArray, X: FloatArray, beta: FloatArray
                   ) -> tuple[float, FloatArray, FloatArray]:
    """Log partial likelihood, score and information of one stratum (Efron's approximation, vectorised).

    Rows sorted by descending time; the risk set of a time holds every row up to the last row with that
    time (cumulative sums); a time with ``d`` tied events contributes ``d`` terms with the tied events'
    sums scaled by ``m / d``, ``m = 0 .. d - 1`` (Efron 1977).
    """
    order = np.argsort(-t, kind="stable")
    t, e, X = t[order], e[order], X[order]
    eta = X @ beta
    w = np.exp(eta)
    wx = w[:, None] * X
    wxx = wx[:, :, None] * X[:, None, :]
    _, first = np.unique(-t, return_index=True)
    last = np.append(first[1:], t.size) - 1
    S0 = np.cumsum(w)[last]
    S1 = np.cumsum(wx, axis=0)[last]
    S2 = np.cumsum(wxx, axis=0)[last]
    d = np.add.reduceat(e, first)
    D0 = np.add.reduceat(w * e, first)
    D1 = np.add.reduceat(wx * e[:, None], first, axis=0)
    D2 = np.add.reduceat(wxx * e[:, None, None], first, axis=0)
    blocks = np.flatnonzero(d > 0)
    dd = d[blocks].astype(np.int64)
    blk = np.repeat(blocks, dd)
    start = np.repeat(np.cumsum(dd) - dd, dd)
    a = (np.arange(blk.size) - start) / np.repeat(dd, dd)
    s0 = S0[blk] - a * D0[blk]
    s1 = S1[blk] - a[:, None] * D1[blk]
    s2 = S2[blk] - a[:, None, None] * D2[blk]
    ll = float(np.sum(eta * e) - np.sum(np.log(s0)))
    U = (X * e[:, None]).sum(axis=0) - (s1 / s0[:, None]).sum(axis=0)
    m1 = s1 / s0[:, None]
    info = (s2 / s0[:, None, None]).sum(axis=0) - np.einsum("ki,kj->ij", m1, m1)
    return ll, np.asarray(U, dtype=float), np.asarray(info, dtype=float)


def cox_stratum_terms(time: Times, event: Events, X: FloatArray, beta: FloatArray
                      ) -> tuple[float, FloatArray, FloatArray]:
    """Efron log partial likelihood, score and information of one stratum at ``beta``.

    A stratified Cox model's are the sums over strata, so a site can return these three for its own
    patients (one stratum per site) and a coordinator can run Newton-Raphson on the sums. Centring ``X``
    within a stratum leaves the score and the information unchanged.
    """
    return _efron_stratum(np.asarray(time, dtype=float), np.asarray(event, dtype=float),
                          np.asarray(X, dtype=float), np.asarray(beta, dtype=float))


def cox_efron(time: Times, event: Events, X: FloatArray, names: Sequence[str],
              strata: Sequence[str] | None = None, *, strata_name: str | None = None,
              level: float = 95.0) -> CoxResult:
    """Fit ``coxph(Surv(time, event) ~ X [+ strata(strata)], ties = "efron")`` by Newton-Raphson.

    Raises
    ------
    ConvergenceError
        When the partial likelihood has no finite maximum (e.g. no event in a covariate level).
    """
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=float)
    Xm = np.asarray(X, dtype=float)
    Xc = Xm - Xm.mean(axis=0)  # centring (as coxph) changes nothing but the numerics
    st = _strata_index(t.size, strata)
    parts = [np.flatnonzero(st == s) for s in np.unique(st)]

    def evaluate(beta: FloatArray) -> tuple[float, FloatArray, FloatArray]:
        ll, U, info = 0.0, np.zeros(beta.size), np.zeros((beta.size, beta.size))
        for ii in parts:
            a, b, c = _efron_stratum(t[ii], e[ii], Xc[ii], beta)
            ll, U, info = ll + a, U + b, info + c
        return ll, U, info

    beta = np.zeros(Xc.shape[1])
    ll, U, info = evaluate(beta)
    it = 0
    for it in range(1, 51):  # noqa: B007 - the count is reported
        try:
            step = np.linalg.solve(info, U)
        except np.linalg.LinAlgError:
            raise ConvergenceError("Cox model: singular information matrix (a covariate constant or "
                                   "collinear?)") from None
        new = beta + step
        ll_new, U_new, info_new = evaluate(new)
        while ll_new < ll - 1e-12 * abs(ll):  # step halving, as coxph
            step /= 2.0
            new = beta + step
            ll_new, U_new, info_new = evaluate(new)
            if float(np.max(np.abs(step))) < 1e-14:
                break
        beta, ll, U, info = new, ll_new, U_new, info_new
        if float(np.max(np.abs(step))) < 1e-11:
            break
        if float(np.max(np.abs(beta))) > 30.0:
            raise ConvergenceError("Cox model: a coefficient diverges (a covariate level without events?)")
    vcov = np.linalg.inv(info)
    se = np.sqrt(np.diag(vcov))
    z = norm_isf((1.0 - level / 100.0) / 2.0)
    coefs = tuple(
        CoxCoefficient(name=nm, coef=float(b), se=float(s), hr=float(math.exp(b)),
                       ci_lower=float(math.exp(b - z * s)), ci_upper=float(math.exp(b + z * s)),
                       p=float(2.0 * norm_sf(abs(b / s))))
        for nm, b, s in zip(names, beta, se, strict=True))
    return CoxResult(coefficients=coefs, n=int(t.size), events=int(e.sum()), loglik=ll, iterations=it,
                     strata=strata_name)


# ------------------------------------------------------------------------------------------------------
# From the analysis dataset
# ------------------------------------------------------------------------------------------------------

def _column(row: AnalysisRow, column: str, name: str) -> str:
    try:
        return row.value(column)
    except AttributeError:
        raise InputError("no such column in the analysis dataset", field=name, value=column,
                         remedy="name a column of the file (e.g. pfs_days, genotype, site)") from None


def _design(rows: Sequence[AnalysisRow], covariates: Sequence[str]) -> tuple[FloatArray, list[str]]:
    """Numeric columns as they are; text columns as factors (treatment contrasts, sorted levels)."""
    cols: list[FloatArray] = []
    names: list[str] = []
    for c in covariates:
        vals = [_column(r, c, "covariates") for r in rows]
        try:
            cols.append(np.array([float(v) for v in vals]))
            names.append(c)
        except ValueError:
            levels = sorted(set(vals))
            if len(levels) < 2:
                raise InputError("a covariate with one value only", field="covariates", value=c,
                                 remedy="drop it") from None
            for lev in levels[1:]:
                cols.append(np.array([1.0 if v == lev else 0.0 for v in vals]))
                names.append(f"{c}={lev}")
    return np.column_stack(cols), names


def survival(
    rows: Sequence[AnalysisRow], *, time: str, event: str, by: str | None = None,
    covariates: Sequence[str] = (), strata: str | None = None, level: float = 95.0,
) -> SurvivalResult:
    """Kaplan-Meier by ``by``, the log-rank test (stratified by ``strata``) and, with ``covariates``, a
    Cox model (Efron ties; ``strata`` as ``strata(site)``).

    Parameters
    ----------
    rows
        The analysis dataset.
    time, event
        Columns of the time (days) and the 1/0 event flag (e.g. ``pfs_days``, ``pfs_event``).
    by
        Grouping column of the curves and the log-rank test (one curve ``all`` without it).
    covariates
        Columns of the Cox model (numeric, or text as factors).
    strata
        Column whose levels are strata of the log-rank test and the Cox model (e.g. ``site``).

    Raises
    ------
    InputError
        Naming the parameter (``time``, ``event``, ``by``, ``covariates``, ``strata``) or the patient.
    """
    used = [c for c in (by, strata) if c]
    t_list: list[float] = []
    e_list: list[bool] = []
    kept: list[AnalysisRow] = []
    excluded = 0
    for r in rows:
        tv, ev = _column(r, time, "time"), _column(r, event, "event")
        if tv == "" or ev == "" or any(_column(r, c, "by" if c == by else "strata") == "" for c in used):
            excluded += 1
            continue
        try:
            tf = float(tv)
        except ValueError:
            raise InputError(f"patient {r.patient!r}: not a number", field="time", value=tv,
                             remedy="name a column of days as time") from None
        if not math.isfinite(tf) or tf < 0:
            raise InputError(f"patient {r.patient!r}: a time must be >= 0", field="time", value=tv)
        if ev not in ("0", "1"):
            raise InputError(f"patient {r.patient!r}: not a 1/0 event flag", field="event", value=ev,
                             remedy="name an event column such as pfs_event")
        t_list.append(tf)
        e_list.append(ev == "1")
        kept.append(r)
    if not kept:
        raise InputError(f"no patient with {time} and {event}", field="time", value=time,
                         remedy="check the column names (e.g. pfs_days / pfs_event)")
    t = np.array(t_list)
    e = np.array(e_list)
    groups = [r.value(by) for r in kept] if by else ["all"] * len(kept)
    curves = []
    for lev in sorted(set(groups)):
        ii = [i for i, gv in enumerate(groups) if gv == lev]
        curves.append(kaplan_meier(t[ii], e[ii], group=lev, level=level))
    st = [r.value(strata) for r in kept] if strata else None
    lr = logrank(t, e, groups, st, strata_name=strata) if by and len(curves) > 1 else None
    cox = None
    notes: list[str] = []
    if excluded:
        notes.append(f"{excluded} patient(s) without {time}/{event}"
                     + (" or a grouping/stratum value" if used else "") + " left out")
    if covariates:
        ii = [i for i, r in enumerate(kept) if all(_column(r, c, "covariates") != "" for c in covariates)]
        if len(ii) < len(kept):
            notes.append(f"Cox model: {len(kept) - len(ii)} patient(s) without a covariate value left out")
        X, names = _design([kept[i] for i in ii], covariates)
        cox = cox_efron(t[ii], e[ii], X, names, [st[i] for i in ii] if st else None, strata_name=strata,
                        level=level)
    return SurvivalResult(time=time, event=event, by=by, level=level, groups=tuple(curves), logrank=lr,
                          cox=cox, excluded=excluded, notes=tuple(notes))
