"""Result objects of the meta-analysis engine (frozen dataclasses with a stable ``to_dict``).

The keys of :meth:`PoolResult.to_dict`, :meth:`SubgroupResult.to_dict` and
:meth:`RegressionResult.to_dict` are the public JSON contract of ``redif meta pool --json``
(issue 2, part 5); keys may be added, never renamed or removed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["BetweenTest", "Coefficient", "PoolResult", "RegressionResult", "StudyRow", "SubgroupResult"]


@dataclass(frozen=True)
class StudyRow:
    """One study as entered in the analysis.

    ``estimate``/``ci_lower``/``ci_upper`` are on the proportion scale for proportion measures (the raw
    proportion with a Clopper-Pearson or Wilson interval) and on the analysis scale for ``GEN``
    (``yi`` with a Wald interval). ``weight_percent`` is the study's share of the inverse-variance
    weights ``1/(vi + tau2)`` of the fitted model.
    """

    label: str
    events: int | None
    total: int | None
    yi: float
    vi: float
    estimate: float
    ci_lower: float
    ci_upper: float
    weight_percent: float

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary of the fields."""
        return {
            "label": self.label, "events": self.events, "total": self.total, "yi": self.yi, "vi": self.vi,
            "estimate": self.estimate, "ci_lower": self.ci_lower, "ci_upper": self.ci_upper,
            "weight_percent": self.weight_percent,
        }


@dataclass(frozen=True)
class PoolResult:
    """A pooled (random- or equal-effects) estimate.

    ``mu``/``se`` (and ``mu_ci_*``, ``mu_pi_*``) are on the analysis scale; ``estimate``, ``ci_*`` and
    ``pi_*`` are back-transformed to a proportion for proportion measures (analysis scale for ``GEN``).
    ``i2`` is in percent and based on tau^2 (metafor); ``q`` is Cochran's Q on ``q_df`` degrees of
    freedom. ``inference`` says which reference distribution the CI and the prediction interval use:
    ``"z"`` (normal) or ``"t"`` (Knapp-Hartung, with ``df`` = k - 1 degrees of freedom).
    """

    k: int
    measure: str
    method: str
    knha: bool
    level: float
    mu: float
    se: float
    estimate: float
    ci_lower: float
    ci_upper: float
    pi_lower: float
    pi_upper: float
    tau2: float
    i2: float
    h2: float
    q: float
    q_df: int
    q_p: float
    studies: tuple[StudyRow, ...] = ()
    mu_ci_lower: float = float("nan")
    mu_ci_upper: float = float("nan")
    mu_pi_lower: float = float("nan")
    mu_pi_upper: float = float("nan")
    stat: float = float("nan")
    p: float = float("nan")
    inference: str = "z"
    df: int | None = None
    tau: float = float("nan")
    tau2_se: float = float("nan")
    tau2_ci_lower: float | None = None
    tau2_ci_upper: float | None = None
    i2_ci_lower: float | None = None
    i2_ci_upper: float | None = None
    h2_ci_lower: float | None = None
    h2_ci_upper: float | None = None
    n_harmonic: float | None = None
    pi_convention: str = "z"
    notes: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON contract keys (issue 2 part 5) followed by extras and ``studies``."""
        out: dict[str, Any] = {
            "k": self.k, "measure": self.measure, "method": self.method, "mu": self.mu, "se": self.se,
            "estimate": self.estimate, "ci_lower": self.ci_lower, "ci_upper": self.ci_upper,
            "pi_lower": self.pi_lower, "pi_upper": self.pi_upper, "tau2": self.tau2, "i2": self.i2,
            "h2": self.h2, "q": self.q, "q_df": self.q_df, "q_p": self.q_p,
            # extras
            "knha": self.knha, "level": self.level, "stat": self.stat, "p": self.p,
            "inference": self.inference, "df": self.df, "mu_ci_lower": self.mu_ci_lower,
            "mu_ci_upper": self.mu_ci_upper, "mu_pi_lower": self.mu_pi_lower,
            "mu_pi_upper": self.mu_pi_upper, "pi_convention": self.pi_convention, "tau": self.tau,
            "tau2_se": self.tau2_se, "tau2_ci_lower": self.tau2_ci_lower,
            "tau2_ci_upper": self.tau2_ci_upper, "i2_ci_lower": self.i2_ci_lower,
            "i2_ci_upper": self.i2_ci_upper, "h2_ci_lower": self.h2_ci_lower,
            "h2_ci_upper": self.h2_ci_upper, "n_harmonic": self.n_harmonic, "notes": list(self.notes),
        }
        out.update(self.extra)
        out["studies"] = [s.to_dict() for s in self.studies]
        return out


@dataclass(frozen=True)
class BetweenTest:
    """Test of subgroup differences (Q-between on ``df`` = groups - 1)."""

    q: float
    df: int
    p: float

    def to_dict(self) -> dict[str, Any]:
        """``{"q", "df", "p"}``."""
        return {"q": self.q, "df": self.df, "p": self.p}


@dataclass(frozen=True)
class SubgroupResult:
    """Overall pooled result, one pooled result per subgroup (separate tau^2) and the between test."""

    overall: PoolResult
    subgroups: dict[str, PoolResult]
    test_between: BetweenTest

    def to_dict(self) -> dict[str, Any]:
        """The overall keys plus ``subgroups`` (keyed by group value) and ``test_between``."""
        out = self.overall.to_dict()
        out["subgroups"] = {g: r.to_dict() for g, r in self.subgroups.items()}
        out["test_between"] = self.test_between.to_dict()
        return out


@dataclass(frozen=True)
class Coefficient:
    """One meta-regression coefficient with its Wald (z) or Knapp-Hartung (t) test."""

    name: str
    estimate: float
    se: float
    stat: float
    p: float
    ci_lower: float
    ci_upper: float

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary of the fields."""
        return {"name": self.name, "estimate": self.estimate, "se": self.se, "stat": self.stat,
                "p": self.p, "ci_lower": self.ci_lower, "ci_upper": self.ci_upper}


@dataclass(frozen=True)
class RegressionResult:
    """Mixed-effects meta-regression (metafor ``rma(yi, vi, mods=...)``).

    ``qm`` tests all moderators (chi-square on ``qm_df`` df, or an F statistic on ``qm_df`` and
    ``qm_df2`` df with Knapp-Hartung); ``qe`` is the test for residual heterogeneity; ``r2`` is
    metafor's pseudo-R^2 (percent of tau^2 explained, truncated at 0).
    """

    k: int
    method: str
    knha: bool
    level: float
    coefficients: tuple[Coefficient, ...]
    qm: float
    qm_df: int
    qm_df2: int | None
    qm_p: float
    qe: float
    qe_df: int
    qe_p: float
    r2: float | None
    tau2: float
    i2: float
    h2: float
    inference: str = "z"
    measure: str = "GEN"
    vcov: tuple[tuple[float, ...], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON contract keys: coefficients, qm, qm_p, qe, qe_p, r2 (plus extras)."""
        return {
            "k": self.k, "measure": self.measure, "method": self.method, "knha": self.knha,
            "level": self.level, "coefficients": [c.to_dict() for c in self.coefficients],
            "qm": self.qm, "qm_df": self.qm_df, "qm_df2": self.qm_df2, "qm_p": self.qm_p,
            "qe": self.qe, "qe_df": self.qe_df, "qe_p": self.qe_p, "r2": self.r2, "tau2": self.tau2,
            "i2": self.i2, "h2": self.h2, "inference": self.inference,
        }
