"""Compare single-arm designs by their exact operating characteristics: the choice of designs and prior.

:func:`compare_designs` is the engine behind ``redif design oc``: it picks the designs to compare (the
Simon optimal and minimax and the smallest exact single-stage design for ``p0``/``p1``/``alpha``/``beta``
unless given), the prior of a Bayesian design (a robust MAP prior from historical arms, else a beta
prior, default Beta(1, 1)), and tabulates ``P(declare promising)`` and the expected sample size on a grid
of true rates (exact binomial enumeration, :func:`redif.design.oc.oc_table`).

Errors name the parameters of :func:`compare_designs`.

References
----------
Simon R. Control Clin Trials 1989;10:1-10. A'Hern RP. Stat Med 2001;20:859-866.
Neuenschwander B et al. Clin Trials 2010;7:5-18 (MAP prior); Schmidli H et al. Biometrics
2014;70:1023-1032 (robust MAP).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from redif.design._validate import check_p0_p1
from redif.design.bayes import map_prior
from redif.design.exact import single_stage_designs
from redif.design.historical import HistoricalArms
from redif.design.mixture import BetaMixture
from redif.design.oc import BayesDecision, OCTable, bayes_decision, oc_table
from redif.design.simon import simon_design
from redif.errors import InputError

__all__ = ["DesignComparison", "PriorChoice", "choose_prior", "compare_designs", "oc_grid"]


def oc_grid(grid: Sequence[float] | None = None) -> NDArray[np.float64]:
    """The true rates to tabulate: ``grid``, or 0, 0.05, ..., 1 (field ``grid``)."""
    if grid is None:
        return np.round(np.linspace(0, 1, 21), 10)
    ps = np.asarray(list(grid), dtype=float)
    if ps.size == 0 or np.any(~np.isfinite(ps)) or np.any((ps < 0) | (ps > 1)):
        raise InputError("rates must lie in [0, 1]", field="grid", value=list(grid))
    return ps


def _whole(values: Sequence[float], k: int, field: str) -> tuple[int, ...]:
    if len(values) != k or any(float(v) != int(v) for v in values):
        raise InputError(f"needs {k} whole numbers", field=field, value=list(values))
    return tuple(int(v) for v in values)


@dataclass(frozen=True)
class PriorChoice:
    """The prior of the Bayesian design and how it was chosen (JSON via :meth:`to_dict`)."""

    kind: str  # "robust MAP" or "beta"
    mixture: BetaMixture
    arms: HistoricalArms | None = None

    def to_dict(self) -> dict[str, Any]:
        """``kind``, the historical arms (MAP prior) and the mixture's keys."""
        out: dict[str, Any] = {"kind": self.kind}
        if self.arms is not None:
            out["historical"] = self.arms.to_dict()
        out.update(self.mixture.to_dict())
        return out


def choose_prior(
    arms: HistoricalArms | None = None, *, robust_weight: float | None = None,
    prior_beta: Sequence[float] | None = None,
) -> PriorChoice:
    """A robust MAP prior from ``arms`` if given, else the beta prior ``prior_beta`` = (a, b) (default
    Beta(1, 1)).

    Raises
    ------
    InputError
        For ``prior_beta`` that is not two numbers (field ``prior_beta``) or bad arms.
    """
    if arms is not None:
        mp = map_prior(arms.r, arms.n, robust_weight=robust_weight)
        return PriorChoice("robust MAP", mp.mixture, arms)
    a_b = [1.0, 1.0] if prior_beta is None else [float(v) for v in prior_beta]
    if len(a_b) != 2:
        raise InputError("needs two numbers a,b", field="prior_beta", value=list(prior_beta or []))
    return PriorChoice("beta", BetaMixture.beta(a_b[0], a_b[1]))


@dataclass(frozen=True)
class DesignComparison:
    """Operating characteristics of the compared designs and, with a Bayesian design, its prior/rule."""

    p0: float
    p1: float
    table: OCTable
    prior: PriorChoice | None = None
    decision: BayesDecision | None = None

    def bayes_dict(self) -> dict[str, Any] | None:
        """The ``bayes`` block of ``redif design oc --json`` (prior, ``y_crit``, ``rule``), or ``None``."""
        if self.prior is None or self.decision is None:
            return None
        out = self.prior.to_dict()
        out["y_crit"] = self.decision.y_crit
        out["rule"] = f"success if P(theta > {self.decision.theta0:g} | data) > {self.decision.c:g}"
        return out

    def to_dict(self) -> dict[str, Any]:
        """``p0``, ``p1``, ``designs``, ``rows`` and ``bayes`` (the CLI's JSON keys)."""
        return {"p0": self.p0, "p1": self.p1, "designs": list(self.table.curves), "rows": self.table.rows(),
                "bayes": self.bayes_dict()}


def compare_designs(
    p0: float, p1: float, *, alpha: float = 0.05, beta: float = 0.2, nmax: int = 100,
    simon: Sequence[float] | None = None, single: Sequence[float] | None = None,
    bayes_n: int | None = None, c: float = 0.95, theta0: float | None = None,
    arms: HistoricalArms | None = None, robust_weight: float | None = None,
    prior_beta: Sequence[float] | None = None, grid: Sequence[float] | None = None,
) -> DesignComparison:
    """Exact operating characteristics of Simon, single-stage and (with ``bayes_n``) Bayesian designs.

    Parameters
    ----------
    p0, p1, alpha, beta, nmax
        Null and alternative rates, error rates and largest sample size for the default designs.
    simon
        A Simon design ``(r1, n1, r, n)``; default the optimal and minimax designs.
    single
        A single-stage design ``(n, r)``; default the smallest feasible one.
    bayes_n, c, theta0
        Sample size of a Bayesian design declaring success if ``P(theta > theta0 | data) > c``
        (``theta0`` default ``p0``).
    arms, robust_weight, prior_beta
        The prior: see :func:`choose_prior`.
    grid
        True rates to tabulate (default 0, 0.05, ..., 1).
    """
    check_p0_p1(p0, p1)
    ps = oc_grid(grid)
    simons: dict[str, tuple[int, int, int, int]] = {}
    if simon is not None:
        r1, n1, r, n = _whole(simon, 4, "simon")
        simons[f"Simon {r1}/{n1}, {r}/{n}"] = (r1, n1, r, n)
    else:
        res = simon_design(p0, p1, alpha, beta, nmax=nmax)
        for k, d in (("optimal", res.optimal), ("minimax", res.minimax)):
            simons[f"Simon {k} {d.r1}/{d.n1}, {d.r}/{d.n}"] = (d.r1, d.n1, d.r, d.n)
    singles: dict[str, tuple[int, int]] = {}
    if single is not None:
        n_s, r_s = _whole(single, 2, "single")
        singles[f"single n={n_s}, r={r_s}"] = (n_s, r_s)
    else:
        d1 = single_stage_designs(p0, p1, alpha, beta, solutions=1)[0]
        singles[f"single n={d1.n}, r={d1.r}"] = (d1.n, d1.r)
    bayes: dict[str, BayesDecision] = {}
    prior = dec = None
    if bayes_n is not None:
        prior = choose_prior(arms, robust_weight=robust_weight, prior_beta=prior_beta)
        dec = bayes_decision(prior.mixture, bayes_n, p0 if theta0 is None else theta0, c)
        bayes[f"Bayes n={bayes_n}, y>={dec.y_crit}"] = dec
    return DesignComparison(p0, p1, oc_table(ps, simon=simons, single=singles, bayes=bayes), prior, dec)
