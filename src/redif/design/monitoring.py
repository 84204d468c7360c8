"""Exact operating characteristics of a single-arm binary trial monitored for futility at interim looks.

A *stopping table* ``(looks, r)`` says: after ``looks[j]`` patients, stop the trial (no-go) if the
number of responses is ``<= r[j]`` (``r[j] = -1``: no stopping possible there). The last look is the
final analysis at ``nmax`` patients, where the treatment is declared promising (H0: p <= p0 rejected)
if the responses exceed ``r[-1]``. Simon two-stage designs, the predictive-probability design of Lee
& Liu (2008) and BOP2 (Zhou, Lee & Yuan 2017) all reduce to such a table.

The probabilities are computed exactly by propagating the distribution of the running number of
responses among the trials still running (a forward recursion over looks; no simulation).

References
----------
Lee JJ, Liu DD. A predictive probability design for phase II cancer clinical trials. Clin Trials
2008;5:93-106.
Zhou H, Lee JJ, Yuan Y. BOP2: Bayesian optimal design for phase II clinical trials with simple and
complex endpoints. Stat Med 2017;36:3302-3314.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special, stats

from redif.design._validate import check_count, check_rates
from redif.design.mixture import BetaMixture
from redif.errors import InputError

__all__ = ["MonitoringOC", "StoppingTable", "monitoring_oc", "parse_looks", "success_path_counts"]


@dataclass(frozen=True)
class StoppingTable:
    """Futility boundaries at interim looks and the final rejection threshold.

    Attributes
    ----------
    looks
        Cumulative numbers of evaluable patients at each analysis, increasing; the last is ``nmax``.
    r
        Stop for futility after ``looks[j]`` patients if responses ``<= r[j]`` (``-1``: cannot stop);
        at the final look, declare the treatment promising if responses ``> r[-1]``.
    """

    looks: tuple[int, ...]
    r: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.looks) != len(self.r) or not self.looks:
            raise InputError(
                "looks and boundaries must have the same, non-zero length",
                field="looks",
                value=list(self.looks),
            )
        prev = 0
        for n, r in zip(self.looks, self.r, strict=True):
            if n <= prev:
                raise InputError(
                    "looks must be increasing whole numbers >= 1",
                    field="looks",
                    value=list(self.looks),
                    remedy="e.g. 10,20,30,40",
                )
            if not -1 <= r <= n:
                raise InputError(f"boundary {r} at n = {n} must lie in -1..{n}", field="r", value=r)
            prev = n

    @property
    def nmax(self) -> int:
        """Maximum sample size (the final look)."""
        return self.looks[-1]

    def to_dict(self) -> dict[str, object]:
        """JSON form: ``looks``, ``stop_if_responses_at_most`` (interim) and ``reject_if_more_than``."""
        return {
            "looks": list(self.looks),
            "stop_if_responses_at_most": list(self.r[:-1]),
            "reject_if_more_than": self.r[-1],
            "rows": [
                {"n": n, "stop_if_at_most": r} for n, r in zip(self.looks[:-1], self.r[:-1], strict=True)
            ]
            + [{"n": self.looks[-1], "reject_if_more_than": self.r[-1]}],
        }


@dataclass(frozen=True)
class MonitoringOC:
    """Exact operating characteristics at each true response rate ``p``.

    Attributes
    ----------
    p
        True response rates.
    reject
        P(declare promising), i.e. type I error at p0 and power at p1.
    pet
        Probability of stopping early for futility (before the final look).
    expected_n
        Expected number of patients.
    stop_at
        Probability of stopping at each interim look, shape ``(len(p), len(looks) - 1)``.
    """

    p: NDArray[np.float64]
    reject: NDArray[np.float64]
    pet: NDArray[np.float64]
    expected_n: NDArray[np.float64]
    stop_at: NDArray[np.float64]


def parse_looks(looks: Sequence[int] | None, nmax: int, *, cohort: int | None = None) -> tuple[int, ...]:
    """Analysis times: ``looks`` (interims, ``nmax`` appended if missing), or every ``cohort`` patients,
    or continuous monitoring (after every patient) when both are ``None``."""
    nmax = check_count(nmax, "nmax", minimum=2, maximum=2000)
    if looks is not None and len(looks) > 0:
        out = [
            check_count(int(v) if float(v) == int(v) else v, "looks", minimum=1, maximum=nmax) for v in looks
        ]
        if out[-1] != nmax:
            out.append(nmax)
        if any(b <= a for a, b in itertools.pairwise(out)):
            raise InputError(
                "looks must be increasing",
                field="looks",
                value=list(looks),
                remedy=f"give increasing patient numbers below nmax = {nmax}, e.g. 10,20,30",
            )
        return tuple(out)
    step = 1 if cohort is None else check_count(cohort, "cohort", minimum=1, maximum=nmax)
    out = [*range(step, nmax, step), nmax]
    return tuple(out)


def _propagate(table: StoppingTable, p: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Stop probabilities at each interim look and the distribution of the final responses among trials
    reaching the end."""
    dist = np.array([1.0])
    prev = 0
    stops = np.zeros(len(table.looks) - 1)
    steps: dict[int, NDArray[np.float64]] = {}
    for j, n in enumerate(table.looks):
        m = n - prev
        if m not in steps:
            steps[m] = np.asarray(stats.binom.pmf(np.arange(m + 1), m, p), dtype=float)
        dist = np.convolve(dist, steps[m])
        if j < len(table.looks) - 1:
            r = table.r[j]
            if r >= 0:
                stops[j] = float(dist[: r + 1].sum())
                dist[: r + 1] = 0.0
        prev = n
    return stops, dist


def monitoring_oc(table: StoppingTable, p: ArrayLike) -> MonitoringOC:
    """Exact P(reject H0), PET and expected sample size of ``table`` at each true rate in ``p``."""
    pv = check_rates(p)
    rej, pet, en = np.empty(pv.size), np.empty(pv.size), np.empty(pv.size)
    stop_at = np.empty((pv.size, len(table.looks) - 1))
    looks = np.asarray(table.looks[:-1], dtype=float)
    for i, pi in enumerate(pv):
        stops, final = _propagate(table, float(pi))
        stop_at[i] = stops
        pet[i] = stops.sum()
        rej[i] = float(final[table.r[-1] + 1 :].sum())
        en[i] = float(np.sum(stops * looks) + (1.0 - pet[i]) * table.nmax)
    return MonitoringOC(p=pv, reject=rej, pet=pet, expected_n=en, stop_at=stop_at)


def success_path_counts(table: StoppingTable) -> NDArray[np.float64]:
    """Log of ``K(x)``, x = 0..nmax: P(reach the end with x responses and declare success | p) equals
    ``K(x) p^x (1 - p)^(nmax - x)``; ``-inf`` where no successful path has x responses.

    Computed by the forward recursion on path counts in log space (no rounding to a p).
    """
    logd = np.array([0.0])
    prev = 0
    for j, n in enumerate(table.looks):
        m = n - prev
        k = np.arange(m + 1)
        logc = special.gammaln(m + 1) - special.gammaln(k + 1) - special.gammaln(m - k + 1)
        new = np.full(logd.size + m, -np.inf)
        for y, lc in enumerate(logc):
            new[y : y + logd.size] = np.logaddexp(new[y : y + logd.size], logd + lc)
        logd = new
        if j < len(table.looks) - 1 and table.r[j] >= 0:
            logd[: table.r[j] + 1] = -np.inf
        prev = n
    logd[: table.r[-1] + 1] = -np.inf
    return logd


def assurance_from_counts(log_k: NDArray[np.float64], design_prior: BetaMixture) -> float:
    """Exact ``int P(success | p) pi(p) dp`` for a single-arm design with path counts ``log_k``:
    ``sum_x K(x) sum_c w_c B(a_c + x, b_c + N - x) / B(a_c, b_c)``."""
    nmax = log_k.size - 1
    x = np.arange(nmax + 1)[:, None]
    a, b, w = np.asarray(design_prior.a), np.asarray(design_prior.b), np.asarray(design_prior.w)
    lb = special.betaln(a + x, b + nmax - x) - special.betaln(a, b)
    finite = np.isfinite(log_k)
    if not finite.any():
        return 0.0
    terms = log_k[finite][:, None] + lb[finite]
    return float(np.sum(w * np.exp(terms).sum(axis=0)))
