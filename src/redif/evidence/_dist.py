"""Fast scalar/array tail probabilities and quantiles through scipy.special ufuncs.

``scipy.stats`` distribution methods validate their arguments on every call (~100 us each); the
engine calls them many times per fit, so it uses these thin wrappers over the same special functions.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

__all__ = ["chi2_isf", "chi2_ppf", "chi2_sf", "f_sf", "norm_isf", "norm_sf", "t_isf", "t_sf"]


def norm_sf(x: ArrayLike) -> NDArray[np.float64]:
    """Upper tail of the standard normal."""
    return np.asarray(special.ndtr(-np.asarray(x, dtype=float)), dtype=float)


def norm_isf(q: float) -> float:
    """Upper-tail quantile of the standard normal."""
    return float(-special.ndtri(q))


def t_sf(x: ArrayLike, df: float) -> NDArray[np.float64]:
    """Upper tail of Student's t."""
    return np.asarray(special.stdtr(df, -np.asarray(x, dtype=float)), dtype=float)


def t_isf(q: float, df: float) -> float:
    """Upper-tail quantile of Student's t."""
    return float(-special.stdtrit(df, q))


def chi2_sf(x: float, df: float) -> float:
    """Upper tail of the chi-square distribution."""
    return float(special.chdtrc(df, max(x, 0.0)))


def chi2_isf(q: float, df: float) -> float:
    """Upper-tail quantile of the chi-square distribution."""
    return float(2.0 * special.gammainccinv(df / 2.0, q))


def chi2_ppf(p: float, df: float) -> float:
    """Lower-tail quantile of the chi-square distribution."""
    return float(2.0 * special.gammaincinv(df / 2.0, p))


def f_sf(x: float, d1: float, d2: float) -> float:
    """Upper tail of the F distribution."""
    return float(special.fdtrc(d1, d2, max(x, 0.0)))
