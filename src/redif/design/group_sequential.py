"""Group-sequential designs: boundaries, spending and characteristics (rpact 3.3.4 conventions).

A design has ``K`` looks at information rates ``t_1 < ... < t_K = 1``; the trial stops for efficacy
at look ``k`` when the z-statistic reaches the critical value ``u_k`` (two-sided: ``|Z_k| >= u_k``,
symmetric bounds), and, with a beta-spending function, for futility when ``Z_k <= l_k``.

Boundaries
    * ``OF``, ``P``, ``WT``: Wang & Tsiatis (1987) boundaries ``u_k = c t_k^(delta - 1/2)`` with
      ``delta = 0`` (O'Brien & Fleming 1979), ``1/2`` (Pocock 1977) or ``delta_wt``; ``c`` such that the
      total type I error is ``alpha``.
    * ``asOF``, ``asP``, ``asKD``, ``asHSD``: alpha-spending (Lan & DeMets 1983): ``u_k`` spends
      ``alpha(t_k) - alpha(t_{k-1})`` (:mod:`redif.design.spending`).
    * Beta spending (one-sided; ``bsOF``, ``bsP``, ``bsKD``, ``bsHSD``): the futility bound ``l_k``
      spends ``beta(t_k) - beta(t_{k-1})`` of the type II error under the drift ``theta``; ``theta``
      is the root of ``l_K = u_K`` (Jennison & Turnbull 2000, sect. 7.3; rpact's
      ``getDesignGroupSequentialBetaSpendingCpp``). Non-binding futility: ``u_k`` computed ignoring
      ``l_k``; binding: ``u_k`` spends alpha among the paths that did not stop for futility.

Characteristics (rpact ``getDesignCharacteristics``; Wassmer & Brannath 2016, sect. 3.3)
    ``shift`` is the maximum information with unit drift per unit information (``E Z_k =
    sqrt(shift t_k)``) that gives power ``1 - beta`` (one-sided designs count futility stops;
    two-sided designs count the upper crossing only, rpact's default ``twoSidedPower = FALSE``);
    ``n_fixed = (z_{1-alpha/s} + z_{1-beta})^2``; ``inflation_factor = shift / n_fixed``;
    ``expected_information_h0/h01/h1`` = expected information under theta = 0, half the alternative,
    the alternative, relative to the fixed design (rpact's ``averageSampleNumber0/01/1``), counting
    efficacy and futility stops.

References
----------
O'Brien PC, Fleming TR. A multiple testing procedure for clinical trials. Biometrics 1979;35:549-556.
Pocock SJ. Group sequential methods in the design and analysis of clinical trials. Biometrika
1977;64:191-199.
Wang SK, Tsiatis AA. Approximately optimal one-parameter boundaries for group sequential trials.
Biometrics 1987;43:193-199.
Lan KKG, DeMets DL. Biometrika 1983;70:659-663. Kim K, DeMets DL. Biometrika 1987;74:149-154.
Hwang IK, Shih WJ, DeCani JS. Stat Med 1990;9:1439-1445.
Jennison C, Turnbull BW. Group Sequential Methods with Applications to Clinical Trials. 2000.
Wassmer G, Brannath W. Group Sequential and Confirmatory Adaptive Designs in Clinical Trials. 2016
(rpact 3.3.4).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

from redif.design._validate import check_count, check_open_unit
from redif.design.gs_recursion import Recursion, crossing_probabilities
from redif.design.spending import ALPHA_SPENDING, BETA_SPENDING, spending_value
from redif.errors import InputError

__all__ = ["DESIGN_TYPES", "GroupSequentialDesign", "group_sequential_design"]

#: Design types (rpact's ``typeOfDesign``).
DESIGN_TYPES = ("OF", "P", "WT", "asOF", "asP", "asKD", "asHSD")
_XTOL = 1e-13
#: rpact caps critical values at 7.5 when computing characteristics.
_CAP = 7.5


@dataclass(frozen=True)
class GroupSequentialDesign:
    """A group-sequential design and its characteristics (keys as in ``--json``).

    Attributes
    ----------
    critical_values
        Efficacy bounds ``u_k`` (z scale; two-sided designs reject when ``|Z_k| >= u_k``).
    futility_bounds
        ``l_1..l_{K-1}`` (z scale) from beta spending, else None.
    alpha_spent
        Cumulative type I error at each look (with the futility bounds when binding).
    beta_spent
        Cumulative type II error spent by the futility bounds under the alternative (None without).
    inflation_factor
        Maximum information relative to the fixed design with the same alpha, beta.
    power
        Cumulative rejection probability under the alternative (rpact ``power``).
    rejection_probabilities
        Stage-wise rejection probabilities under the alternative.
    futility_probabilities
        Stage-wise futility-stop probabilities under the alternative (looks 1..K-1).
    expected_information_h0, expected_information_h01, expected_information_h1
        Expected information relative to the fixed design under theta = 0, theta / 2, theta
        (rpact ``averageSampleNumber0``, ``averageSampleNumber01``, ``averageSampleNumber1``).
    shift, n_fixed
        Maximum and fixed-design information for unit drift (rpact ``shift``, ``nFixed``).
    """

    k: int
    alpha: float
    beta: float
    sided: int
    type_of_design: str
    information_rates: list[float]
    critical_values: list[float]
    futility_bounds: list[float] | None
    alpha_spent: list[float]
    beta_spent: list[float] | None
    type_beta_spending: str
    binding_futility: bool
    delta_wt: float | None
    gamma_a: float | None
    gamma_b: float | None
    shift: float
    n_fixed: float
    inflation_factor: float
    power: list[float]
    rejection_probabilities: list[float]
    futility_probabilities: list[float]
    expected_information_h0: float
    expected_information_h01: float
    expected_information_h1: float


def _root(f: Callable[[float], float], lo: float, hi: float) -> float:
    """Root of ``f`` in [lo, hi]; the nearer end when ``f`` has no sign change (as rpact's bisection)."""
    flo, fhi = f(lo), f(hi)
    if flo == 0:
        return lo
    if fhi == 0:
        return hi
    if flo * fhi > 0:
        return lo if abs(flo) < abs(fhi) else hi
    return float(optimize.brentq(f, lo, hi, xtol=_XTOL, rtol=4 * np.finfo(float).eps, maxiter=500))


def _drift_root(gap: Callable[[float], float]) -> float:
    """Drift at which the last futility bound meets the last critical value (``gap`` decreasing there).

    The bracket is found by stepping up from 0 (the gap is not monotone far out, where the
    continuation region closes), then refined by Brent's method.
    """
    lo, glo = 0.0, gap(0.0)
    while glo <= 0 and lo > -4.0:
        lo -= 0.5
        glo = gap(lo)
    hi = lo
    while hi < 10.0:
        hi += 0.25
        ghi = gap(hi)
        if ghi <= 0:
            return _root(gap, hi - 0.25, hi)
    raise InputError("no drift found where the futility and efficacy bounds meet", field="beta_spending")


def _check_rates(info_rates: Sequence[float] | None, k: int) -> list[float]:
    if info_rates is None:
        return [(i + 1) / k for i in range(k)]
    r = [float(x) for x in info_rates]
    ok = (
        len(r) == k
        and all(math.isfinite(x) for x in r)
        and all(a < b for a, b in zip([0.0, *r[:-1]], r, strict=True))
        and abs(r[-1] - 1.0) < 1e-12
    )
    if not ok:
        raise InputError(
            f"need {k} strictly increasing information rates in (0, 1], the last equal to 1",
            field="info_rates",
            value=info_rates,
            remedy=f"give {k} rates such as {','.join(f'{(i + 1) / k:g}' for i in range(k))}",
        )
    r[-1] = 1.0
    return r


def _wang_tsiatis(rates: list[float], alpha: float, sided: int, delta: float) -> list[float]:
    t = np.asarray(rates)

    def excess(c: float) -> float:
        u = c * t ** (delta - 0.5)
        lo = -u if sided == 2 else np.full(len(t), -np.inf)
        pl, pu = crossing_probabilities(rates, lo, u, 0.0)
        return float(pu.sum() + (pl.sum() if sided == 2 else 0.0)) - alpha

    c = _root(excess, 0.0, 8.0)
    return [float(c * x ** (delta - 0.5)) for x in t]


def _alpha_spending_values(
    rates: list[float], alpha: float, sided: int, kind: str, gamma: float | None
) -> list[float]:
    vals = [spending_value(alpha, t, kind, sided=sided, gamma=gamma) for t in rates]
    vals[-1] = alpha
    return vals


def _solve_upper(rec: Recursion, target: float, sided: int) -> float:
    """Critical value spending ``target`` at the recursion's next stage (H0; symmetric two-sided)."""
    if sided == 2:
        return _root(lambda u: rec.upper(u) + rec.lower(-u) - target, 0.0, 8.0)
    return _root(lambda u: rec.upper(u) - target, 0.0, 8.0)


def _solve_lower(rec: Recursion, target: float) -> float:
    """Futility bound with ``P(Z_k < l, continued) = target`` at the next stage (rpact: l in [-6, 5])."""
    return _root(lambda lo: target - rec.lower(lo), -6.0, 5.0)


def _alpha_spending_bounds(
    rates: list[float], spend: list[float], sided: int, futility: list[float] | None
) -> list[float]:
    rec = Recursion(rates, 0.0)
    u: list[float] = []
    prev = 0.0
    for k, s in enumerate(spend):
        uk = _solve_upper(rec, s - prev, sided)
        u.append(uk)
        prev = s
        if k < len(spend) - 1:
            lo = -uk if sided == 2 else (futility[k] if futility is not None else -math.inf)
            rec.advance(lo, uk)
    return u


def _futility_nonbinding(
    rates: list[float], u: list[float], beta_spend: list[float], theta: float
) -> list[float]:
    rec = Recursion(rates, theta)
    lo: list[float] = []
    prev = 0.0
    for k, s in enumerate(beta_spend):
        lk = _solve_lower(rec, s - prev)
        lo.append(lk)
        prev = s
        if k < len(beta_spend) - 1:
            rec.advance(lk, u[k])
    return lo


def _binding(
    rates: list[float], spend: list[float], beta_spend: list[float], theta: float
) -> tuple[list[float], list[float]]:
    r0, r1 = Recursion(rates, 0.0), Recursion(rates, theta)
    u: list[float] = []
    lo: list[float] = []
    pa = pb = 0.0
    for k in range(len(rates)):
        uk = _solve_upper(r0, spend[k] - pa, 1)
        pa = spend[k]
        lk = _solve_lower(r1, beta_spend[k] - pb)
        pb = beta_spend[k]
        u.append(uk)
        lo.append(lk)
        if k < len(rates) - 1:
            r0.advance(lk, uk)
            r1.advance(lk, uk)
    return u, lo


def _validate(
    k: int, alpha: float, beta: float, sided: int, type_of_design: str, beta_spending: str
) -> tuple[int, float, float, int]:
    k = check_count(k, "k", minimum=1, maximum=20)
    alpha = check_open_unit(alpha, "alpha")
    beta = check_open_unit(beta, "beta")
    if sided not in (1, 2):
        raise InputError("must be 1 or 2", field="sided", value=sided, remedy="give 1 (one-sided) or 2")
    if alpha >= 0.5 * sided:
        raise InputError(
            f"alpha must be below {0.5 * sided:g} for a {sided}-sided test", field="alpha", value=alpha
        )
    if beta >= 1 - alpha / sided:
        raise InputError("beta must be below 1 - alpha / sided", field="beta", value=beta)
    if type_of_design not in DESIGN_TYPES:
        raise InputError(
            "unknown design type",
            field="type_of_design",
            value=type_of_design,
            remedy="one of " + ", ".join(DESIGN_TYPES),
        )
    if beta_spending != "none" and beta_spending not in BETA_SPENDING:
        raise InputError(
            "unknown beta-spending function",
            field="beta_spending",
            value=beta_spending,
            remedy="one of none, " + ", ".join(BETA_SPENDING),
        )
    if beta_spending != "none":
        if type_of_design not in ALPHA_SPENDING:
            raise InputError(
                "beta spending needs an alpha-spending design",
                field="beta_spending",
                value=beta_spending,
                remedy="use an alpha-spending type: asOF, asP, asKD or asHSD (as rpact)",
            )
        if sided != 1:
            raise InputError(
                "beta spending is implemented for one-sided designs only (rpact calls the two-sided "
                "version experimental)",
                field="beta_spending",
                value=beta_spending,
                remedy="use a one-sided design, or no beta spending",
            )
        if k < 2:
            raise InputError("beta spending needs at least two looks", field="k", value=k)
    return k, alpha, beta, sided


def _param(value: float | None, field: str, kind: str, *, positive: bool) -> float:
    if value is None:
        raise InputError(f"{kind} needs its parameter", field=field, remedy=f"give {field} for {kind}")
    v = float(value)
    if not math.isfinite(v) or (positive and v <= 0):
        raise InputError(
            "must be a finite" + (" positive" if positive else "") + " number", field=field, value=value
        )
    return v


def group_sequential_design(
    k: int,
    alpha: float = 0.025,
    beta: float = 0.2,
    sided: int = 1,
    type_of_design: str = "OF",
    *,
    info_rates: Sequence[float] | None = None,
    delta_wt: float | None = None,
    gamma_a: float | None = None,
    beta_spending: str = "none",
    gamma_b: float | None = None,
    binding: bool = False,
) -> GroupSequentialDesign:
    """Boundaries and characteristics of a group-sequential design (rpact ``getDesignGroupSequential``
    followed by ``getDesignCharacteristics``).

    Parameters
    ----------
    k
        Number of looks (``kMax``), 1-20.
    alpha
        Type I error (total over both sides when ``sided = 2``).
    beta
        Type II error (1 - power).
    sided
        1 or 2 (two-sided designs are symmetric).
    type_of_design
        ``OF``, ``P``, ``WT`` (with ``delta_wt``), ``asOF``, ``asP``, ``asKD`` (``gamma_a`` = rho > 0),
        ``asHSD`` (``gamma_a`` = gamma).
    info_rates
        Information rates, strictly increasing, the last 1; default equally spaced.
    beta_spending
        ``none`` or ``bsOF``, ``bsP``, ``bsKD``, ``bsHSD`` (``gamma_b``): futility bounds from beta
        spending (one-sided alpha-spending designs only, as rpact).
    binding
        Binding futility bounds (critical values account for futility stops).

    Returns
    -------
    GroupSequentialDesign

    References
    ----------
    Jennison & Turnbull 2000, ch. 2, 7 and 19; Wassmer & Brannath 2016, ch. 3.
    """
    k, alpha, beta, sided = _validate(k, alpha, beta, sided, type_of_design, beta_spending)
    rates = _check_rates(info_rates, k)
    if type_of_design == "WT":
        delta_wt = _param(delta_wt, "delta_wt", "WT", positive=False)
    if type_of_design == "asKD":
        gamma_a = _param(gamma_a, "gamma_a", "asKD", positive=True)
    if type_of_design == "asHSD":
        gamma_a = _param(gamma_a, "gamma_a", "asHSD", positive=False)
    if beta_spending == "bsKD":
        gamma_b = _param(gamma_b, "gamma_b", "bsKD", positive=True)
    if beta_spending == "bsHSD":
        gamma_b = _param(gamma_b, "gamma_b", "bsHSD", positive=False)
    if type_of_design not in ("asKD", "asHSD"):
        gamma_a = None
    if beta_spending not in ("bsKD", "bsHSD"):
        gamma_b = None
    if type_of_design != "WT":
        delta_wt = None
    binding = bool(binding) and beta_spending != "none"

    futility: list[float] | None = None
    if type_of_design in ("OF", "P", "WT"):
        delta = {"OF": 0.0, "P": 0.5}.get(type_of_design, delta_wt)
        assert delta is not None
        u = _wang_tsiatis(rates, alpha, sided, delta)
    else:
        spend = _alpha_spending_values(rates, alpha, sided, type_of_design, gamma_a)
        if k == 1:
            u = [float(stats.norm.isf(alpha / sided))]
        elif beta_spending == "none":
            u = _alpha_spending_bounds(rates, spend, sided, None)
        else:
            bspend = [spending_value(beta, t, beta_spending, sided=1, gamma=gamma_b) for t in rates]
            bspend[-1] = beta
            if binding:

                def gap(theta: float) -> float:
                    uu, ll = _binding(rates, spend, bspend, theta)
                    return uu[-1] - ll[-1]

                theta = _drift_root(gap)
                u, lo = _binding(rates, spend, bspend, theta)
            else:
                u = _alpha_spending_bounds(rates, spend, sided, None)

                def gap_nb(theta: float) -> float:
                    return u[-1] - _futility_nonbinding(rates, u, bspend, theta)[-1]

                theta = _drift_root(gap_nb)
                lo = _futility_nonbinding(rates, u, bspend, theta)
            futility = lo[:-1]
    return _characteristics(
        k,
        alpha,
        beta,
        sided,
        type_of_design,
        rates,
        u,
        futility,
        beta_spending,
        binding,
        delta_wt,
        gamma_a,
        gamma_b,
    )


def _characteristics(
    k: int,
    alpha: float,
    beta: float,
    sided: int,
    type_of_design: str,
    rates: list[float],
    u: list[float],
    futility: list[float] | None,
    beta_spending: str,
    binding: bool,
    delta_wt: float | None,
    gamma_a: float | None,
    gamma_b: float | None,
) -> GroupSequentialDesign:
    n_fixed = float((stats.norm.isf(alpha / sided) + stats.norm.isf(beta)) ** 2)
    ucap = [min(x, _CAP) for x in u]
    fut = [*(futility if futility is not None else [-math.inf] * (k - 1)), -math.inf]

    def lower_bounds(use_futility: bool) -> list[float]:
        if sided == 2:
            return [-x for x in ucap]
        return fut if use_futility else [-math.inf] * k

    # alpha spent (rpact .calculateAlphaSpent: futility counted only when binding)
    pl0, pu0 = crossing_probabilities(rates, lower_bounds(binding), u, 0.0)
    a_stage = pu0 + (pl0 if sided == 2 else 0.0)
    alpha_spent = np.cumsum(a_stage).tolist()

    lo_char = lower_bounds(True)

    def probs(theta: float) -> tuple[np.ndarray, np.ndarray]:
        return crossing_probabilities(rates, lo_char, ucap, theta)

    if k == 1:
        shift = n_fixed
    else:
        shift = _root(lambda s: float(probs(math.sqrt(s))[1].sum()) - (1 - beta), 0.0, 4 * n_fixed)
    pl1, pu1 = probs(math.sqrt(shift))
    t = np.asarray(rates)

    def asn(theta: float) -> float:
        pl, pu = probs(theta)
        stop = (pl + pu)[:-1]
        return float((shift - np.sum(stop * (t[-1] - t[:-1]) * shift)) / n_fixed)

    beta_spent = None
    if futility is not None:  # rpact: the last futility bound equals the last critical value
        beta_spent = [*np.cumsum(pl1[:-1]).tolist(), float(1.0 - pu1.sum())]
    fut_prob = [0.0] * (k - 1) if sided == 2 else pl1[:-1].tolist()
    return GroupSequentialDesign(
        k=k,
        alpha=alpha,
        beta=beta,
        sided=sided,
        type_of_design=type_of_design,
        information_rates=rates,
        critical_values=[float(x) for x in u],
        futility_bounds=None if futility is None else [float(x) for x in futility],
        alpha_spent=[float(x) for x in alpha_spent],
        beta_spent=beta_spent,
        type_beta_spending=beta_spending,
        binding_futility=binding,
        delta_wt=delta_wt,
        gamma_a=gamma_a,
        gamma_b=gamma_b,
        shift=float(shift),
        n_fixed=n_fixed,
        inflation_factor=float(shift / n_fixed),
        power=np.cumsum(pu1).tolist(),
        rejection_probabilities=pu1.tolist(),
        futility_probabilities=fut_prob,
        expected_information_h0=asn(0.0) if k > 1 else 1.0,
        expected_information_h01=asn(math.sqrt(shift) / 2) if k > 1 else 1.0,
        expected_information_h1=asn(math.sqrt(shift)) if k > 1 else 1.0,
    )
