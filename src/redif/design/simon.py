"""Simon two-stage designs for single-arm phase II trials with a binary endpoint.

Convention (clinfun ``ph2simon``): enrol ``n1`` patients; stop for futility if ``<= r1`` responses;
otherwise enrol ``n - n1`` more and declare the treatment promising (reject H0: p <= p0) only if the
total number of responses is ``> r``.

The search is exhaustive and exact. For every total size ``n`` (from a provable lower bound up to
``nmax``), every first-stage size ``n1 < n`` and every ``r1``, the rejection probabilities for all
candidate ``r`` are obtained at once from binomial probability tables with numpy (a reverse cumulative
sum over the first-stage count), so the cost is about ``nmax**4 / 10`` floating-point operations
performed in a few hundred vectorised array operations.

Feasibility follows clinfun's ``f2bdry`` exactly: a design is feasible when its exact type I error is
``< alpha`` and its exact type II error is ``< beta`` (strict inequalities); for each ``(n1, r1)`` the
*largest* feasible ``r`` is reported (clinfun's choice: the most conservative type I error at the
required power); for each ``n`` the design with the smallest ``EN(p0)`` is kept (ties: smallest
``n1``, then largest ``r1``).

References
----------
Simon R. Optimal two-stage designs for phase II clinical trials. Control Clin Trials 1989;10:1-10.
Jung SH, Carey M, Kim KM. Graphical search for two-stage designs for phase II clinical trials.
Control Clin Trials 2001;22:367-372.
Jung SH, Lee T, Kim K, George SL. Admissible two-stage designs for phase II cancer clinical trials.
Stat Med 2004;23:561-569.
Seshan VE. clinfun: Clinical Trial Design and Data Analysis Functions, R package 1.1.5 (``ph2simon``,
``twostage.admissible``, ``oc.twostage.bdry``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from redif.design._validate import check_count, check_open_unit, check_p0_p1, check_rates, check_stages
from redif.errors import InputError

__all__ = [
    "SimonDesign",
    "SimonOC",
    "SimonResult",
    "np_lower_bound_n",
    "simon_design",
    "simon_oc",
]

_NMAX_LIMIT = 1000


@dataclass(frozen=True)
class SimonDesign:
    """One Simon two-stage design and its exact properties at p0 and p1.

    Attributes
    ----------
    r1, n1
        Stop after stage 1 if ``<= r1`` responses among the first ``n1`` patients.
    r, n
        Reject H0 (treatment promising) if ``> r`` responses among all ``n`` patients.
    en0
        Expected sample size under p0, ``n1 + (1 - PET(p0)) (n - n1)``.
    pet0
        Probability of early termination under p0, ``B(r1; n1, p0)``.
    alpha
        Exact type I error, P(reject H0 | p0).
    power
        Exact power, P(reject H0 | p1).
    q_lo, q_hi
        For admissible designs (Jung et al. 2004), the range of the weight ``q`` on ``n`` in the loss
        ``q n + (1 - q) EN(p0)`` over which this design minimises the loss; ``None`` otherwise.
    """

    r1: int
    n1: int
    r: int
    n: int
    en0: float
    pet0: float
    alpha: float
    power: float
    q_lo: float | None = None
    q_hi: float | None = None


@dataclass(frozen=True)
class SimonResult:
    """Outcome of :func:`simon_design`.

    Attributes
    ----------
    optimal
        Minimum EN(p0) over all feasible designs with ``n <= nmax``.
    minimax
        Minimum ``n``; among designs of that ``n``, minimum EN(p0).
    admissible
        Designs on the lower convex hull of (n, EN(p0)) from the minimax to the optimal design,
        ordered by ``n`` (first = minimax, last = optimal), each with its weight range ``q``.
    by_n
        The best (minimum EN(p0)) design of every feasible ``n`` (clinfun's ``out`` matrix).
    p0, p1, alpha_target, beta_target, nmax
        The inputs.
    """

    optimal: SimonDesign
    minimax: SimonDesign
    admissible: tuple[SimonDesign, ...]
    by_n: tuple[SimonDesign, ...] = field(repr=False)
    p0: float
    p1: float
    alpha_target: float
    beta_target: float
    nmax: int

    def to_dict(self) -> dict[str, object]:
        """JSON form with the stable keys of the ``design simon`` command."""

        def d(x: SimonDesign) -> dict[str, object]:
            out: dict[str, object] = {
                "r1": x.r1,
                "n1": x.n1,
                "r": x.r,
                "n": x.n,
                "en0": x.en0,
                "pet0": x.pet0,
                "alpha": x.alpha,
                "power": x.power,
            }
            if x.q_lo is not None:
                out["q_lo"] = x.q_lo
                out["q_hi"] = x.q_hi
            return out

        return {
            "p0": self.p0,
            "p1": self.p1,
            "alpha_target": self.alpha_target,
            "beta_target": self.beta_target,
            "nmax": self.nmax,
            "optimal": d(self.optimal),
            "minimax": d(self.minimax),
            "admissible": [d(x) for x in self.admissible],
        }


@dataclass(frozen=True)
class SimonOC:
    """Operating characteristics of a two-stage design at response rates ``p``.

    Attributes
    ----------
    p
        True response rates.
    pet
        Probability of early termination, ``B(r1; n1, p)``.
    en
        Expected sample size, ``n1 + (1 - PET) (n - n1)``.
    p_reject
        Probability of rejecting H0 (declaring the treatment promising).
    """

    p: NDArray[np.float64]
    pet: NDArray[np.float64]
    en: NDArray[np.float64]
    p_reject: NDArray[np.float64]


def _check_design(r1: int, n1: int, r: int, n: int) -> None:
    check_stages(r1, n1, n)
    check_count(r, "r", minimum=r1, maximum=n - 1)


def simon_oc(r1: int, n1: int, r: int, n: int, p: ArrayLike) -> SimonOC:
    """Exact operating characteristics of the design ``(r1, n1, r, n)`` at response rates ``p``.

    ``P(reject | p) = sum_{x1 = r1+1}^{n1} b(x1; n1, p) * P(Bin(n - n1, p) > r - x1)``.

    References
    ----------
    Simon R. Control Clin Trials 1989;10:1-10, equation (1).
    """
    _check_design(r1, n1, r, n)
    pv = check_rates(p)
    n2 = n - n1
    x1 = np.arange(r1 + 1, n1 + 1)
    pmf = stats.binom.pmf(x1[None, :], n1, pv[:, None])
    surv = stats.binom.sf(r - x1[None, :], n2, pv[:, None])
    p_reject = np.sum(pmf * surv, axis=1)
    pet = stats.binom.cdf(r1, n1, pv)
    en = n1 + (1.0 - pet) * n2
    return SimonOC(p=pv, pet=pet, en=en, p_reject=p_reject)


def np_lower_bound_n(p0: float, p1: float, alpha: float, beta: float, nmax: int) -> int | None:
    """Smallest ``n <= nmax`` at which a two-stage design can possibly meet both error constraints.

    The randomised Neyman-Pearson test on ``n`` Bernoulli observations with size exactly ``alpha`` is
    the most powerful of all tests of size ``<= alpha`` (two-stage ones included); if its power does
    not exceed ``1 - beta`` no design with total size ``n`` exists. Its power is non-decreasing in
    ``n`` (a test may ignore an observation), so every smaller ``n`` is excluded too.

    Returns ``None`` if no ``n <= nmax`` passes the bound.
    """
    ns = np.arange(1, nmax + 1)
    c = stats.binom.isf(alpha, ns, p0).astype(int)  # smallest c with P0(X > c) <= alpha
    tail0 = stats.binom.sf(c, ns, p0)
    at_c0 = stats.binom.pmf(c, ns, p0)
    gamma = np.where(at_c0 > 0, (alpha - tail0) / np.where(at_c0 > 0, at_c0, 1.0), 0.0)
    gamma = np.clip(gamma, 0.0, 1.0)
    power = stats.binom.sf(c, ns, p1) + gamma * stats.binom.pmf(c, ns, p1)
    ok = np.nonzero(power > 1.0 - beta)[0]
    return int(ns[ok[0]]) if ok.size else None


def _tables(p: float, nmax: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """pmf[m, x] = b(x; m, p) and sf_ext[m, k + 1] = P(Bin(m, p) > k) for k = -1..nmax."""
    m = np.arange(nmax + 1)[:, None]
    x = np.arange(nmax + 1)[None, :]
    pmf = stats.binom.pmf(x, m, p)
    k = np.arange(-1, nmax + 1)[None, :]
    sf = stats.binom.sf(k, m, p)
    return pmf, sf


def _best_for_n(
    n: int,
    pmf0: NDArray[np.float64],
    sf0: NDArray[np.float64],
    pmf1: NDArray[np.float64],
    sf1: NDArray[np.float64],
    cdf0: NDArray[np.float64],
    alpha: float,
    beta: float,
    r_hi: int,
) -> tuple[int, int, int, float, float, float, float] | None:
    """Best (min EN0) design with total size n; None if none is feasible."""
    n1 = np.arange(1, n)  # first-stage sizes; second-stage sizes n2 = n - n1
    n2 = n - n1
    width = r_hi + 1  # candidate final thresholds r = 0..r_hi
    nx = min(r_hi + 2, n)  # first-stage counts x1 = 0..nx-1 kept explicitly

    def reject(pmf: NDArray[np.float64], sf: NDArray[np.float64]) -> NDArray[np.float64]:
        # Only r1 + 1 <= r + 1 <= r_hi + 1 matters, and for x1 > r_hi >= r the second stage is
        # irrelevant (X > r already): counts x1 >= nx - 1 enter as one term P(X1 >= nx - 1), placed
        # at x1 = nx - 1 (where S2 = 1 whenever mass beyond it exists).
        # S2(r - x1) = Q[n2, (nx - 1 - x1) + r] with Q[m, u] = P(Bin(m, p) > u - (nx - 1)): a Hankel
        # structure read through a sliding-window view. Rows n2 = n-1 .. 1 are a reversed slice.
        lo = -(nx - 1)
        cols = np.clip(np.arange(lo, lo + nx + width - 1), -1, sf.shape[1] - 2) + 1
        q = sf[1:n][::-1][:, cols]
        win = np.lib.stride_tricks.sliding_window_view(q, width, axis=1)[:, ::-1, :]  # [i, x1, r]
        first = pmf[1:n, :nx].copy()
        first[:, nx - 1] = sf[1:n, nx - 1]  # P(X1 > nx - 2) = P(X1 >= nx - 1)
        terms = first[:, :, None] * win  # b(x1; n1) * S2(r - x1)
        # rej[i, j, r] = P(X1 >= j, X > r), i.e. r1 = j - 1 (suffix sums over x1)
        return np.cumsum(terms[:, ::-1, :], axis=1)[:, ::-1, :]

    rej1 = reject(pmf1, sf1)
    # largest r with type II error < beta (power is non-increasing in r)
    r_b = np.sum(rej1 > 1.0 - beta, axis=2) - 1  # shape (n1, j)
    j = np.arange(0, nx)[None, :]
    r1 = j - 1
    r_sel = np.minimum(r_b, n2[:, None] + r1)
    valid = (r1 >= 0) & (r1 < n1[:, None]) & (r_sel >= r1) & (r_sel >= 0)
    if not np.any(valid):
        return None
    rej0 = reject(pmf0, sf0)
    r_take = np.clip(r_sel, 0, r_hi)[:, :, None]
    a = np.take_along_axis(rej0, r_take, axis=2)[:, :, 0]
    pw = np.take_along_axis(rej1, r_take, axis=2)[:, :, 0]
    valid &= a < alpha
    if not np.any(valid):
        return None
    pet = cdf0[n1[:, None], np.clip(r1, 0, n)]
    en = n1[:, None] + (1.0 - pet) * n2[:, None]
    en = np.where(valid, en, np.inf)
    best = float(np.min(en))
    ii, jj = np.nonzero(en == best)
    # clinfun order: n1 ascending, then r1 descending
    order = np.lexsort((-jj, ii))
    i0, j0 = int(ii[order[0]]), int(jj[order[0]])
    return (
        int(j0 - 1),
        int(n1[i0]),
        int(r_sel[i0, j0]),
        best,
        float(pet[i0, j0]),
        float(a[i0, j0]),
        float(pw[i0, j0]),
    )


def _admissible(by_n: list[SimonDesign], i_opt: int) -> tuple[SimonDesign, ...]:
    """Lower convex hull of (n, EN0) from the minimax (index 0) to the optimal design."""
    idx = [0]
    start = 0
    while start < i_opt:
        ns = np.array([by_n[i].n for i in range(start + 1, i_opt + 1)], dtype=float)
        ens = np.array([by_n[i].en0 for i in range(start + 1, i_opt + 1)])
        slopes = (ens - by_n[start].en0) / (ns - by_n[start].n)
        step = int(np.argmin(slopes)) + 1
        start += step
        idx.append(start)
    chosen = [by_n[i] for i in idx]
    if len(chosen) == 1:
        d = chosen[0]
        return (_with_q(d, 0.0, 1.0),)
    qs = []
    for a, b in itertools.pairwise(chosen):
        dn = b.n - a.n
        de = b.en0 - a.en0
        qs.append(de / (de - dn))
    out = []
    for k, d in enumerate(chosen):
        q_hi = 1.0 if k == 0 else qs[k - 1]
        q_lo = 0.0 if k == len(chosen) - 1 else qs[k]
        out.append(_with_q(d, q_lo, q_hi))
    return tuple(out)


def _with_q(d: SimonDesign, q_lo: float, q_hi: float) -> SimonDesign:
    return SimonDesign(d.r1, d.n1, d.r, d.n, d.en0, d.pet0, d.alpha, d.power, q_lo=q_lo, q_hi=q_hi)


def simon_design(
    p0: float,
    p1: float,
    alpha: float,
    beta: float,
    nmax: int = 100,
    progress: Callable[[int, int], None] | None = None,
) -> SimonResult:
    """Optimal, minimax and admissible Simon two-stage designs by exhaustive exact search.

    Parameters
    ----------
    p0
        Unacceptable response rate (H0: p <= p0).
    p1
        Desirable response rate (p1 > p0).
    alpha
        Upper bound on the type I error, P(reject H0 | p0) < alpha.
    beta
        Upper bound on the type II error, P(accept H0 | p1) < beta.
    nmax
        Largest total sample size searched (at most 1000; the cost grows about as nmax**4).
    progress
        Optional callback ``progress(done, total)`` called after each total size ``n`` (the CLI
        draws a progress bar with it).

    Returns
    -------
    SimonResult

    Raises
    ------
    InputError
        If p1 <= p0, alpha or beta lie outside (0, 1), or no design exists with ``n <= nmax``.

    References
    ----------
    Simon R. Control Clin Trials 1989;10:1-10. Jung SH et al. Stat Med 2004;23:561-569.
    """
    p0, p1 = check_p0_p1(p0, p1)
    alpha = check_open_unit(alpha, "alpha")
    beta = check_open_unit(beta, "beta")
    nmax = check_count(nmax, "nmax", minimum=2, maximum=_NMAX_LIMIT)
    n_lb = np_lower_bound_n(p0, p1, alpha, beta, nmax)
    if n_lb is None:
        raise InputError(
            f"no design meets alpha < {alpha:g} and beta < {beta:g} with n <= nmax",
            field="nmax",
            value=nmax,
            remedy="increase nmax or relax alpha, beta or the gap p1 - p0",
        )
    pmf0, sf0 = _tables(p0, nmax)
    pmf1, sf1 = _tables(p1, nmax)
    cdf0 = 1.0 - sf0[:, 1:]
    ns_all = np.arange(nmax + 1)
    # largest r with single-stage power P1(X > r) > 1 - beta bounds the two-stage r from above
    r_hi_all = np.array([int(np.sum(sf1[m, 1 : m + 2] > 1.0 - beta)) - 1 for m in ns_all])
    by_n: list[SimonDesign] = []
    first = max(n_lb, 2)
    for n in range(first, nmax + 1):
        if progress is not None:
            progress(n - first, nmax + 1 - first)
        r_hi = int(r_hi_all[n])
        if r_hi < 0:
            continue
        found = _best_for_n(n, pmf0, sf0, pmf1, sf1, cdf0, alpha, beta, r_hi)
        if found is None:
            continue
        r1, n1, r, en0, pet0, a, pw = found
        by_n.append(SimonDesign(r1=r1, n1=n1, r=r, n=n, en0=en0, pet0=pet0, alpha=a, power=pw))
    if not by_n:
        raise InputError(
            f"no two-stage design meets alpha < {alpha:g} and beta < {beta:g} with n <= nmax",
            field="nmax",
            value=nmax,
            remedy="increase nmax or relax alpha, beta or the gap p1 - p0",
        )
    ens = np.array([d.en0 for d in by_n])
    i_opt = int(np.argmin(ens))
    adm = _admissible(by_n, i_opt)
    return SimonResult(
        optimal=adm[-1],
        minimax=adm[0],
        admissible=adm,
        by_n=tuple(by_n),
        p0=p0,
        p1=p1,
        alpha_target=alpha,
        beta_target=beta,
        nmax=nmax,
    )
