"""Bayesian decision rules for a single-arm trial and exact operating characteristics.

Decision rule: with ``n`` patients and ``y`` responses, declare success if
``P(theta > theta0 | y) > c`` under a beta-mixture prior (conjugate update). Because the posterior
probability increases with ``y``, the rule is "success iff ``y >= y_crit``", and the probability of
success at a true rate ``p`` is exactly ``P(Bin(n, p) >= y_crit)`` (no simulation). The type I error
is that probability at ``p = theta0`` (or at any null rate the user names).

References
----------
Neuenschwander B, Capkun-Niggli G, Branson M, Spiegelhalter DJ. Clin Trials 2010;7:5-18.
Weber S et al. J Stat Softw 2021;100(19) (RBesT ``decision1S``, ``oc1S``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special, stats

from redif.design._validate import check_count, check_open_unit, check_rates
from redif.design.exact import single_stage_oc
from redif.design.mixture import BetaMixture
from redif.design.simon import simon_oc
from redif.errors import InputError

__all__ = ["BayesDecision", "OCTable", "bayes_decision", "bayes_oc", "oc_table", "posterior_prob_greater"]


def posterior_prob_greater(prior: BetaMixture, n: int, theta0: float) -> NDArray[np.float64]:
    """``P(theta > theta0 | y)`` for every ``y = 0..n`` (vectorised conjugate update)."""
    n = check_count(n, "n", minimum=1)
    y = np.arange(n + 1)[:, None]
    a, b, w = np.asarray(prior.a), np.asarray(prior.b), np.asarray(prior.w)
    logml = special.betaln(a + y, b + n - y) - special.betaln(a, b) + np.log(np.where(w > 0, w, 1e-300))
    post_w = np.exp(logml - special.logsumexp(logml, axis=1, keepdims=True))
    tail = stats.beta.sf(theta0, a + y, b + n - y)
    return np.asarray(np.sum(post_w * tail, axis=1), dtype=float)


@dataclass(frozen=True)
class BayesDecision:
    """A Bayesian single-arm decision rule and its critical number of responses.

    Attributes
    ----------
    n, theta0, c
        Sample size, threshold rate and posterior-probability cut-off.
    y_crit
        Smallest number of responses declaring success (``n + 1`` if none does).
    post_prob
        ``P(theta > theta0 | y)`` for y = 0..n.
    """

    n: int
    theta0: float
    c: float
    y_crit: int
    post_prob: NDArray[np.float64]


def bayes_decision(prior: BetaMixture, n: int, theta0: float, c: float = 0.95) -> BayesDecision:
    """Critical value of the rule ``P(theta > theta0 | y) > c``.

    Raises
    ------
    InputError
        For ``theta0`` or ``c`` outside (0, 1).
    """
    theta0 = check_open_unit(theta0, "theta0")
    c = check_open_unit(c, "c")
    pp = posterior_prob_greater(prior, n, theta0)
    ok = np.nonzero(pp > c)[0]
    y_crit = int(ok[0]) if ok.size else n + 1
    if ok.size and not np.all(pp[y_crit:] > c):  # pragma: no cover - monotone for beta mixtures
        raise InputError("posterior probability is not monotone in y", field="prior")
    return BayesDecision(n=n, theta0=theta0, c=c, y_crit=y_crit, post_prob=pp)


def bayes_oc(decision: BayesDecision, p: ArrayLike) -> NDArray[np.float64]:
    """Exact probability of declaring success at each true rate in ``p``: ``P(Bin(n, p) >= y_crit)``."""
    pv = check_rates(p)
    return np.asarray(stats.binom.sf(decision.y_crit - 1, decision.n, pv), dtype=float)


@dataclass(frozen=True)
class OCTable:
    """Operating characteristics of one or more designs on a grid of true response rates.

    Attributes
    ----------
    p
        True response rates.
    curves
        Design label -> probability of declaring the treatment promising at each ``p``.
    expected_n
        Design label -> expected sample size at each ``p``.
    """

    p: NDArray[np.float64]
    curves: dict[str, NDArray[np.float64]]
    expected_n: dict[str, NDArray[np.float64]]

    def rows(self) -> list[dict[str, float]]:
        """One dict per p: ``p``, then ``<label>`` and ``<label>_en`` for each design."""
        out = []
        for i, pi in enumerate(self.p):
            row = {"p": float(pi)}
            for k, v in self.curves.items():
                row[k] = float(v[i])
                row[f"{k}_en"] = float(self.expected_n[k][i])
            out.append(row)
        return out

    def to_dict(self) -> dict[str, object]:
        """JSON form: the rows."""
        return {"rows": self.rows(), "designs": list(self.curves)}


def oc_table(
    p: ArrayLike,
    *,
    simon: dict[str, tuple[int, int, int, int]] | None = None,
    single: dict[str, tuple[int, int]] | None = None,
    bayes: dict[str, BayesDecision] | None = None,
) -> OCTable:
    """Probability of declaring success and expected sample size for several designs.

    ``simon`` maps a label to ``(r1, n1, r, n)``; ``single`` to ``(n, r)``; ``bayes`` to a decision.
    """
    pv = np.atleast_1d(np.asarray(p, dtype=float))
    curves: dict[str, NDArray[np.float64]] = {}
    en: dict[str, NDArray[np.float64]] = {}
    for label, (r1, n1, r, n) in (simon or {}).items():
        oc = simon_oc(r1, n1, r, n, pv)
        curves[label] = oc.p_reject
        en[label] = oc.en
    for label, (n, r) in (single or {}).items():
        curves[label] = single_stage_oc(n, r, pv)
        en[label] = np.full(pv.shape, float(n))
    for label, dec in (bayes or {}).items():
        curves[label] = bayes_oc(dec, pv)
        en[label] = np.full(pv.shape, float(dec.n))
    if not curves:
        raise InputError(
            "no design given", field="design", remedy="give a Simon, single-stage or Bayes design"
        )
    return OCTable(p=pv, curves=curves, expected_n=en)
