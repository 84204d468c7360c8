"""BOP2: Bayesian optimal phase II design for a single binary endpoint.

Zhou, Lee & Yuan (2017): with a Beta(a, b) prior on the response rate p, after ``n`` of ``N``
patients the trial stops for futility if

    Pr(p <= p0 | data) > C(n) = 1 - lambda (n / N)^gamma,

equivalently ``Pr(p > p0 | data) < lambda (n / N)^gamma``; at the final analysis (n = N) the
treatment is declared promising when the trial has not stopped, i.e. ``Pr(p > p0 | data) >= lambda``.
(lambda, gamma) are chosen to maximise the power at p1 subject to type I error <= alpha at p0; both are
computed exactly by enumeration (:mod:`redif.design.monitoring`), so the design is a stopping table.

References
----------
Zhou H, Lee JJ, Yuan Y. BOP2: Bayesian optimal design for phase II clinical trials with simple and
complex endpoints. Stat Med 2017;36:3302-3314.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from redif.design._validate import check_count, check_open_unit, check_p0_p1, check_positive
from redif.design.monitoring import MonitoringOC, StoppingTable, monitoring_oc, parse_looks
from redif.errors import InputError

__all__ = ["BOP2Design", "bop2_design", "bop2_table"]

REFERENCE = (
    "Zhou H, Lee JJ, Yuan Y. BOP2: Bayesian optimal design for phase II clinical trials with simple "
    "and complex endpoints. Stat Med 2017;36:3302-3314."
)

_LAMBDA = tuple(float(x) for x in np.round(np.arange(0.50, 0.9991, 0.001), 4))
_GAMMA = tuple(float(x) for x in np.round(np.arange(0.0, 3.0001, 0.05), 4))


def _post_gt(p0: float, a: float, b: float, n: int) -> NDArray[np.float64]:
    x = np.arange(n + 1, dtype=float)
    return np.asarray(stats.beta.sf(p0, a + x, b + n - x), dtype=float)


def bop2_table(
    p0: float, looks: Sequence[int], lam: float, gamma: float, a: float, b: float
) -> StoppingTable:
    """Stopping table of the BOP2 rule with (lambda, gamma): at look n stop if ``x <= r_n``, the largest
    x with ``Pr(p > p0 | x, n) < lambda (n/N)^gamma``; at N the same boundary is the rejection threshold."""
    nmax = looks[-1]
    r = []
    for n in looks:
        cut = lam * (n / nmax) ** gamma
        r.append(int(np.count_nonzero(_post_gt(p0, a, b, n) < cut)) - 1)
    return StoppingTable(looks=tuple(looks), r=tuple(r))


@dataclass(frozen=True)
class BOP2Design:
    """The optimised BOP2 design and its exact operating characteristics."""

    lam: float
    gamma: float
    table: StoppingTable
    alpha: float
    power: float
    pet0: float
    pet1: float
    en0: float
    en1: float
    p0: float
    p1: float
    alpha_target: float
    prior_a: float
    prior_b: float
    n_evaluated: int

    def to_dict(self) -> dict[str, object]:
        """JSON form with the stable keys of ``design bop2``."""
        nmax = self.table.nmax
        return {
            "method": "BOP2 (Zhou, Lee & Yuan 2017), single binary endpoint",
            "p0": self.p0,
            "p1": self.p1,
            "alpha_target": self.alpha_target,
            "nmax": nmax,
            "prior": {"a": self.prior_a, "b": self.prior_b},
            "lambda": self.lam,
            "gamma": self.gamma,
            "cutoffs": [1.0 - self.lam * (n / nmax) ** self.gamma for n in self.table.looks],
            "type1_error": self.alpha,
            "power": self.power,
            "pet_p0": self.pet0,
            "pet_p1": self.pet1,
            "en_p0": self.en0,
            "en_p1": self.en1,
            "stopping_table": self.table.to_dict(),
            "n_evaluated": self.n_evaluated,
            "rule": "stop for futility at look n if Pr(p <= p0 | data) > 1 - lambda (n/N)^gamma",
            "references": [REFERENCE],
        }


def bop2_design(
    p0: float,
    p1: float,
    nmax: int,
    *,
    looks: Sequence[int] | None = None,
    n_looks: int | None = None,
    alpha: float = 0.1,
    a: float | None = None,
    b: float | None = None,
    lambda_grid: Sequence[float] | None = None,
    gamma_grid: Sequence[float] | None = None,
) -> BOP2Design:
    """Optimise (lambda, gamma): maximum power at p1 with exact type I error <= alpha at p0.

    Parameters
    ----------
    p0, p1
        Null and alternative response rates.
    nmax
        Maximum number of patients N.
    looks, n_looks
        Interim analyses (patients evaluated); or ``n_looks`` equally spaced analyses including the final
        one (rounded to whole patients). Default: 5 equally spaced analyses.
    alpha
        Largest type I error.
    a, b
        Beta prior (default Beta(p0, 1 - p0): mean p0, one patient's worth of information; the usual
        choice documented by the R package BOP2FE, ``a1 = H0``, ``b1 = 1 - H0``).
    lambda_grid, gamma_grid
        Search grids (defaults lambda 0.500-0.999 by 0.001, gamma 0-3 by 0.05).

    Raises
    ------
    InputError
        For invalid inputs or when no (lambda, gamma) on the grid controls the type I error.
    """
    p0, p1 = check_p0_p1(p0, p1)
    alpha = check_open_unit(alpha, "alpha")
    nmax = check_count(nmax, "nmax", minimum=2, maximum=1000)
    a = check_positive(p0 if a is None else a, "prior_a")
    b = check_positive(1.0 - p0 if b is None else b, "prior_b")
    if looks:
        lk = parse_looks(looks, nmax)
    else:
        k = check_count(5 if n_looks is None else n_looks, "n_looks", minimum=1, maximum=nmax)
        lk = tuple(sorted({round(nmax * (j + 1) / k) for j in range(k)}))
    lams = tuple(check_open_unit(v, "lambda") for v in (lambda_grid or _LAMBDA))
    gams = tuple(float(v) for v in (gamma_grid or _GAMMA))
    if any(not np.isfinite(g) or g < 0 for g in gams):
        raise InputError("gamma must be >= 0", field="gamma", value=list(gams))
    post = [_post_gt(p0, a, b, n) for n in lk]
    frac = np.array([n / nmax for n in lk])
    cache: dict[tuple[int, ...], MonitoringOC] = {}
    best: tuple[tuple[float, float, float], float, float, tuple[int, ...]] | None = None
    evaluated = 0
    for g in gams:
        scale = frac**g
        for lam in lams:
            evaluated += 1
            cut = lam * scale
            r = tuple(int(np.count_nonzero(pp < c)) - 1 for pp, c in zip(post, cut, strict=True))
            if r not in cache:
                cache[r] = monitoring_oc(StoppingTable(looks=lk, r=r), [p0, p1])
            oc = cache[r]
            if oc.reject[0] > alpha:
                continue
            key = (float(oc.reject[1]), -float(oc.expected_n[0]), -lam)
            if best is None or key > best[0]:
                best = (key, lam, g, r)
    if best is None:
        raise InputError(
            f"no BOP2 design with N = {nmax} controls the type I error at {alpha:g}",
            field="alpha",
            value=alpha,
            remedy="increase alpha or nmax, or widen the lambda grid",
        )
    _, lam, g, r = best
    oc = cache[r]
    return BOP2Design(
        lam=lam,
        gamma=g,
        table=StoppingTable(looks=lk, r=r),
        alpha=float(oc.reject[0]),
        power=float(oc.reject[1]),
        pet0=float(oc.pet[0]),
        pet1=float(oc.pet[1]),
        en0=float(oc.expected_n[0]),
        en1=float(oc.expected_n[1]),
        p0=p0,
        p1=p1,
        alpha_target=alpha,
        prior_a=a,
        prior_b=b,
        n_evaluated=evaluated,
    )
