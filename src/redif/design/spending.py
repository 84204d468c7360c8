"""Alpha- and beta-spending functions for group-sequential designs.

Each function gives the cumulative error spent at information rate ``t`` in (0, 1], with the
parameterisation of rpact 3.3.4 (``getDesignGroupSequential``; Wassmer & Brannath 2016, ch. 3):

- ``asOF`` (O'Brien-Fleming type; Lan & DeMets 1983): ``2 s (1 - Phi(z_{1 - a/(2s)} / sqrt(t)))`` with
  ``s`` the number of sides for alpha spending (``s = 1`` for beta spending, ``bsOF``);
- ``asP`` (Pocock type; Lan & DeMets 1983): ``a ln(1 + (e - 1) t)``;
- ``asKD`` (Kim & DeMets 1987 power family): ``a t^rho``;
- ``asHSD`` (Hwang, Shih & DeCani 1990): ``a (1 - exp(-gamma t)) / (1 - exp(-gamma))``, ``a t`` at
  ``gamma = 0``.

References
----------
Lan KKG, DeMets DL. Discrete sequential boundaries for clinical trials. Biometrika 1983;70:659-663.
Kim K, DeMets DL. Design and analysis of group sequential tests based on the type I error spending
rate function. Biometrika 1987;74:149-154.
Hwang IK, Shih WJ, DeCani JS. Group sequential designs using a family of type I error probability
spending functions. Stat Med 1990;9:1439-1445.
Wassmer G, Brannath W. Group Sequential and Confirmatory Adaptive Designs in Clinical Trials. Springer
2016 (rpact).
"""

from __future__ import annotations

import math
from typing import Literal

from scipy import stats

__all__ = ["ALPHA_SPENDING", "BETA_SPENDING", "SpendingType", "spending_value"]

SpendingType = Literal["asOF", "asP", "asKD", "asHSD", "bsOF", "bsP", "bsKD", "bsHSD"]

#: Alpha-spending design types (the rest of ``OF``, ``P``, ``WT`` are Wang-Tsiatis boundaries).
ALPHA_SPENDING = ("asOF", "asP", "asKD", "asHSD")
#: Beta-spending types for futility bounds.
BETA_SPENDING = ("bsOF", "bsP", "bsKD", "bsHSD")


def spending_value(error: float, t: float, kind: str, *, sided: int = 1, gamma: float | None = None) -> float:
    """Cumulative error spent at information rate ``t`` (rpact's ``getSpendingValueCpp``).

    Parameters
    ----------
    error
        Total error to spend (alpha, or beta for a beta-spending function).
    t
        Information rate in (0, 1].
    kind
        One of :data:`ALPHA_SPENDING` or :data:`BETA_SPENDING`.
    sided
        1 or 2; enters only the O'Brien-Fleming type alpha-spending function.
    gamma
        ``rho`` of the Kim-DeMets family or ``gamma`` of the Hwang-Shih-DeCani family.
    """
    if kind in ("asP", "bsP"):
        return error * math.log(1.0 + (math.e - 1.0) * t)
    if kind == "asOF":
        return 2.0 * sided * float(stats.norm.sf(stats.norm.isf(error / (2.0 * sided)) / math.sqrt(t)))
    if kind == "bsOF":
        return 2.0 * float(stats.norm.sf(stats.norm.isf(error / 2.0) / math.sqrt(t)))
    if gamma is None:
        raise ValueError(f"{kind} needs its parameter")
    if kind in ("asKD", "bsKD"):
        return float(error * t**gamma)
    if kind in ("asHSD", "bsHSD"):
        if gamma == 0:
            return error * t
        if t >= 1.0:
            return error
        if gamma > 0:
            return error * math.expm1(-gamma * t) / math.expm1(-gamma)
        # gamma < 0: the same ratio (e^{h t} - 1) / (e^h - 1), h = -gamma, without overflow for large h
        h = -gamma
        return error * math.exp(h * (t - 1.0)) * math.expm1(-h * t) / math.expm1(-h)
    raise ValueError(f"unknown spending function {kind}")
