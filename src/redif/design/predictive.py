"""Predictive-probability design for a single-arm phase II trial with a binary endpoint.

Lee & Liu (2008): with a Beta(a, b) prior on the response rate p and ``x`` responses among ``n`` of at
most ``Nmax`` patients, the trial will be declared a success at the end if
``Pr(p > p0 | X, Nmax) > theta_T``. The predictive probability of success is

    PP(x, n) = sum_y Pr(Y = y | x) 1[Pr(p > p0 | x + y, Nmax) > theta_T],

with ``Y ~ BetaBinomial(Nmax - n, a + x, b + n - x)`` the future responses. The trial stops for
futility at an interim look when ``PP < theta_L``. Because PP increases with x, each look has a
boundary ``r_n`` (stop if ``x <= r_n``) and the final analysis rejects H0 when ``X > r_Nmax``.

Design search: for the given Nmax, every (theta_L, theta_T) on a grid is evaluated exactly; the designs
with type I error <= alpha at p0 and power >= 1 - beta at p1 are *admissible*, and the one with the
smallest expected sample size under p0 is chosen (ties: larger power, then larger theta_L). Lee & Liu
additionally search Nmax for the smallest one with an admissible design (minimax); here Nmax is an
input of :func:`predictive_design`, and :func:`predictive_minimax` runs that outer search.

References
----------
Lee JJ, Liu DD. A predictive probability design for phase II cancer clinical trials. Clin Trials
2008;5:93-106.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import special, stats

from redif.design._validate import check_count, check_open_unit, check_p0_p1, check_positive
from redif.design.monitoring import MonitoringOC, StoppingTable, monitoring_oc, parse_looks
from redif.errors import InputError

__all__ = [
    "PredictiveDesign",
    "PredictiveResult",
    "final_threshold",
    "predictive_design",
    "predictive_minimax",
    "predictive_probability",
    "predictive_table",
]

REFERENCE = (
    "Lee JJ, Liu DD. A predictive probability design for phase II cancer clinical trials. "
    "Clin Trials 2008;5:93-106."
)

_THETA_T = tuple(float(x) for x in np.round(np.arange(0.80, 0.9901, 0.01), 4))
_THETA_L = tuple(
    float(x)
    for x in np.round(np.concatenate([np.arange(0.001, 0.01, 0.001), np.arange(0.01, 0.2001, 0.005)]), 4)
)


def _post_gt(p0: float, a: float, b: float, x: NDArray[np.float64], n: int) -> NDArray[np.float64]:
    return np.asarray(stats.beta.sf(p0, a + x, b + n - x), dtype=float)


def final_threshold(p0: float, nmax: int, theta_t: float, a: float, b: float) -> int:
    """``r``: the final analysis declares success iff responses ``> r`` (``Pr(p > p0 | X) > theta_T``)."""
    x = np.arange(nmax + 1, dtype=float)
    ok = np.nonzero(_post_gt(p0, a, b, x, nmax) > theta_t)[0]
    return int(ok[0]) - 1 if ok.size else nmax


def _pp_matrix(
    looks: Sequence[int], nmax: int, r_final: int, a: float, b: float
) -> list[NDArray[np.float64]]:
    """PP(x, n) for x = 0..n at each interim look n (success iff total > r_final)."""
    out = []
    for n in looks:
        m = nmax - n
        x = np.arange(n + 1, dtype=float)
        need = r_final + 1 - x  # future responses needed
        y = np.arange(m + 1, dtype=float)
        aa, bb = (a + x)[:, None], (b + n - x)[:, None]
        logp = (
            special.gammaln(m + 1)
            - special.gammaln(y + 1)
            - special.gammaln(m - y + 1)
            + special.betaln(aa + y, bb + m - y)
            - special.betaln(aa, bb)
        )
        pmf = np.exp(logp)
        out.append(np.asarray(np.sum(np.where(y[None, :] >= need[:, None], pmf, 0.0), axis=1), dtype=float))
    return out


def predictive_probability(
    x: int, n: int, nmax: int, p0: float, theta_t: float, a: float = 1.0, b: float = 1.0
) -> float:
    """Predictive probability of success at the end after ``x`` responses among ``n`` (Lee & Liu eq. 2).

    Raises
    ------
    InputError
        For counts outside ``0 <= x <= n <= nmax`` or probabilities outside (0, 1).
    """
    nmax = check_count(nmax, "nmax", minimum=1)
    n = check_count(n, "n", minimum=0, maximum=nmax)
    x = check_count(x, "x", minimum=0, maximum=n)
    p0 = check_open_unit(p0, "p0")
    theta_t = check_open_unit(theta_t, "theta_t")
    a = check_positive(a, "prior_a")
    b = check_positive(b, "prior_b")
    r = final_threshold(p0, nmax, theta_t, a, b)
    return float(_pp_matrix([n], nmax, r, a, b)[0][x])


def predictive_table(
    p0: float,
    nmax: int,
    theta_l: float,
    theta_t: float,
    a: float = 1.0,
    b: float = 1.0,
    looks: Sequence[int] | None = None,
) -> StoppingTable:
    """Stopping table of the design (theta_L, theta_T): stop at look n if ``x <= r_n``, where ``r_n`` is
    the largest x with ``PP(x, n) < theta_L``."""
    lk = parse_looks(looks, nmax)
    r_final = final_threshold(p0, nmax, theta_t, a, b)
    pps = _pp_matrix(lk[:-1], nmax, r_final, a, b)
    r = [int(np.count_nonzero(pp < theta_l)) - 1 for pp in pps]  # PP increases with x
    return StoppingTable(looks=lk, r=(*r, r_final))


@dataclass(frozen=True)
class PredictiveDesign:
    """One predictive-probability design and its exact operating characteristics."""

    theta_l: float
    theta_t: float
    table: StoppingTable
    alpha: float
    power: float
    pet0: float
    pet1: float
    en0: float
    en1: float

    def to_dict(self) -> dict[str, object]:
        """JSON form."""
        return {
            "theta_l": self.theta_l,
            "theta_t": self.theta_t,
            "type1_error": self.alpha,
            "power": self.power,
            "pet_p0": self.pet0,
            "pet_p1": self.pet1,
            "en_p0": self.en0,
            "en_p1": self.en1,
            "stopping_table": self.table.to_dict(),
        }


@dataclass(frozen=True)
class PredictiveResult:
    """Outcome of :func:`predictive_design`: the chosen design and all admissible ones."""

    design: PredictiveDesign
    admissible: tuple[PredictiveDesign, ...] = field(repr=False)
    n_evaluated: int
    p0: float
    p1: float
    alpha_target: float
    power_target: float
    prior_a: float
    prior_b: float
    nmax: int

    def to_dict(self) -> dict[str, object]:
        """JSON form with the stable keys of ``design predictive``."""
        return {
            "method": "predictive probability (Lee & Liu 2008)",
            "p0": self.p0,
            "p1": self.p1,
            "alpha_target": self.alpha_target,
            "power_target": self.power_target,
            "nmax": self.nmax,
            "prior": {"a": self.prior_a, "b": self.prior_b},
            "design": self.design.to_dict(),
            "n_admissible": len(self.admissible),
            "n_evaluated": self.n_evaluated,
            "selection": "minimum expected sample size under p0 among designs with type I error <= alpha "
            "and power >= target (ties: larger power, larger theta_L)",
            "references": [REFERENCE],
        }


def _design(theta_l: float, theta_t: float, tab: StoppingTable, oc: MonitoringOC) -> PredictiveDesign:
    return PredictiveDesign(
        theta_l=theta_l,
        theta_t=theta_t,
        table=tab,
        alpha=float(oc.reject[0]),
        power=float(oc.reject[1]),
        pet0=float(oc.pet[0]),
        pet1=float(oc.pet[1]),
        en0=float(oc.expected_n[0]),
        en1=float(oc.expected_n[1]),
    )


def predictive_design(
    p0: float,
    p1: float,
    nmax: int,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    a: float | None = None,
    b: float | None = None,
    looks: Sequence[int] | None = None,
    theta_l_grid: Sequence[float] | None = None,
    theta_t_grid: Sequence[float] | None = None,
) -> PredictiveResult:
    """Search (theta_L, theta_T) for the predictive-probability design with the smallest EN(p0).

    Parameters
    ----------
    p0, p1
        Unacceptable and desirable response rates (H0: p <= p0).
    nmax
        Maximum number of patients.
    alpha, power
        Largest type I error at p0 and smallest power at p1 (exact, by enumeration).
    a, b
        Beta prior on p (default Beta(p0, 1 - p0): mean p0, one patient's worth of information).
    looks
        Interim analyses (patients evaluated); default continuous monitoring after every patient.
    theta_l_grid, theta_t_grid
        Search grids (defaults 0.001-0.2 and 0.80-0.99).

    Raises
    ------
    InputError
        For invalid inputs, or when no design on the grid meets both error constraints (the remedy
        names a larger ``nmax``).
    """
    p0, p1 = check_p0_p1(p0, p1)
    alpha = check_open_unit(alpha, "alpha")
    power = check_open_unit(power, "power")
    nmax = check_count(nmax, "nmax", minimum=2, maximum=500)
    a = check_positive(p0 if a is None else a, "prior_a")
    b = check_positive(1.0 - p0 if b is None else b, "prior_b")
    lk = parse_looks(looks, nmax)
    tl = tuple(check_open_unit(v, "theta_l") for v in (theta_l_grid or _THETA_L))
    tt = tuple(check_open_unit(v, "theta_t") for v in (theta_t_grid or _THETA_T))
    cache: dict[tuple[int, ...], MonitoringOC] = {}
    pp_cache: dict[int, list[NDArray[np.float64]]] = {}
    found: list[PredictiveDesign] = []
    evaluated = 0
    for t in tt:
        r_final = final_threshold(p0, nmax, t, a, b)
        if r_final not in pp_cache:
            pp_cache[r_final] = _pp_matrix(lk[:-1], nmax, r_final, a, b)
        pps = pp_cache[r_final]
        for lo in tl:
            evaluated += 1
            r = (*(int(np.count_nonzero(pp < lo)) - 1 for pp in pps), r_final)
            if r not in cache:
                cache[r] = monitoring_oc(StoppingTable(looks=lk, r=r), [p0, p1])
            oc = cache[r]
            if oc.reject[0] <= alpha and oc.reject[1] >= power:
                found.append(_design(lo, t, StoppingTable(looks=lk, r=r), oc))
    if not found:
        raise InputError(
            f"no predictive-probability design with Nmax = {nmax} meets type I error <= {alpha:g} and "
            f"power >= {power:g}",
            field="nmax",
            value=nmax,
            remedy="increase nmax, or relax alpha or power",
        )
    best = min(found, key=lambda d: (round(d.en0, 10), -d.power, -d.theta_l, d.theta_t))
    return PredictiveResult(
        design=best,
        admissible=tuple(found),
        n_evaluated=evaluated,
        p0=p0,
        p1=p1,
        alpha_target=alpha,
        power_target=power,
        prior_a=a,
        prior_b=b,
        nmax=nmax,
    )


def predictive_minimax(
    p0: float,
    p1: float,
    nmin: int,
    nmax: int,
    **kwargs: Any,
) -> PredictiveResult:
    """Lee & Liu's outer search: the smallest Nmax in ``nmin..nmax`` with an admissible design, and that
    Nmax's design of smallest EN(p0) (:func:`predictive_design`; ``kwargs`` are passed on, ``looks``
    excepted: the search uses continuous monitoring or ``cohort``-sized looks).

    Raises
    ------
    InputError
        For ``nmin > nmax`` or when no Nmax in the range has an admissible design.
    """
    nmin = check_count(nmin, "nmin", minimum=2, maximum=500)
    nmax = check_count(nmax, "nmax", minimum=2, maximum=500)
    if nmin > nmax:
        raise InputError("nmin must not exceed nmax", field="nmin", value=nmin, remedy=f"give nmin <= {nmax}")
    cohort = kwargs.pop("cohort", None)
    kwargs.pop("looks", None)
    for n in range(nmin, nmax + 1):
        looks = None if cohort is None else parse_looks(None, n, cohort=cohort)
        try:
            return predictive_design(p0, p1, n, looks=looks, **kwargs)
        except InputError as exc:
            if exc.field != "nmax":
                raise
    raise InputError(
        f"no Nmax from {nmin} to {nmax} has an admissible predictive-probability design",
        field="nmax",
        value=nmax,
        remedy="increase nmax, or relax alpha or power",
    )
