"""Exact single-stage designs for a single-arm trial with a binary endpoint.

Reject H0: p <= p0 if more than ``r`` of ``n`` patients respond. A design is feasible when its exact
type I error ``P(X > r | p0) <= alpha`` and its exact type II error ``P(X <= r | p1) <= beta``
(clinfun ``ph2single`` uses non-strict inequalities here, unlike ``ph2simon``).

References
----------
A'Hern RP. Sample size tables for exact single-stage phase II designs. Stat Med 2001;20:859-866.
Seshan VE. clinfun R package 1.1.5, ``ph2single``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from redif.design._validate import check_count, check_open_unit, check_p0_p1, check_rates
from redif.errors import InputError

__all__ = ["SingleStageDesign", "single_stage_designs", "single_stage_oc"]


@dataclass(frozen=True)
class SingleStageDesign:
    """An exact single-stage design: reject H0 if more than ``r`` responses among ``n``.

    Attributes
    ----------
    n, r
        Sample size and rejection threshold (reject if ``X > r``).
    alpha
        Exact type I error, ``P(X > r | p0)``.
    power
        Exact power, ``P(X > r | p1)``.
    """

    n: int
    r: int
    alpha: float
    power: float


def single_stage_designs(
    p0: float, p1: float, alpha: float, beta: float, solutions: int = 5, nmax: int = 2000
) -> tuple[SingleStageDesign, ...]:
    """The smallest feasible exact single-stage design and the next ``solutions - 1`` ones.

    Designs are listed as clinfun's ``ph2single`` lists them: by ``n``, then by ``r``, every ``(n, r)``
    that meets both constraints, starting at the smallest feasible ``n``.

    Raises
    ------
    InputError
        For p1 <= p0, alpha or beta outside (0, 1), or no design with ``n <= nmax``.

    References
    ----------
    A'Hern RP. Stat Med 2001;20:859-866.
    """
    p0, p1 = check_p0_p1(p0, p1)
    alpha = check_open_unit(alpha, "alpha")
    beta = check_open_unit(beta, "beta")
    solutions = check_count(solutions, "solutions", minimum=1, maximum=1000)
    nmax = check_count(nmax, "nmax", minimum=1)
    out: list[SingleStageDesign] = []
    # Vectorised over blocks of n: all (n, r) pairs with n in the block.
    start = 1
    block = 64
    while start <= nmax and len(out) < solutions:
        ns = np.arange(start, min(start + block, nmax + 1))
        rs = np.arange(0, int(ns[-1]))
        nn, rr = np.meshgrid(ns, rs, indexing="ij")
        ok_r = rr < nn
        a = stats.binom.sf(rr, nn, p0)
        b = stats.binom.cdf(rr, nn, p1)
        feas = ok_r & (a <= alpha) & (b <= beta)
        for i, j in zip(*np.nonzero(feas), strict=True):
            out.append(
                SingleStageDesign(
                    n=int(nn[i, j]), r=int(rr[i, j]), alpha=float(a[i, j]), power=float(1.0 - b[i, j])
                )
            )
            if len(out) >= solutions:
                break
        start += block
    if not out:
        raise InputError(
            f"no single-stage design meets alpha <= {alpha:g} and beta <= {beta:g} with n <= nmax",
            field="nmax",
            value=nmax,
            remedy="increase nmax or relax alpha, beta or p1 - p0",
        )
    return tuple(out)


def single_stage_oc(n: int, r: int, p: ArrayLike) -> NDArray[np.float64]:
    """Exact probability of rejecting H0, ``P(Bin(n, p) > r)``, at each response rate in ``p``."""
    n = check_count(n, "n", minimum=1)
    r = check_count(r, "r", minimum=0, maximum=n - 1)
    pv = check_rates(p)
    return np.asarray(stats.binom.sf(r, n, pv), dtype=float)
