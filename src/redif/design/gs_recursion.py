"""Exact boundary-crossing probabilities of a group-sequential z-statistic by numerical integration.

The standardised statistics ``Z_1, ..., Z_K`` at information rates ``0 < t_1 < ... < t_K = 1`` have
the canonical joint distribution (Jennison & Turnbull 2000, ch. 3): ``Z_k = S_k / sqrt(t_k)`` with
``S_k`` a Brownian motion with drift ``theta`` observed at ``t_k``, so ``E Z_k = theta sqrt(t_k)`` and
independent increments. The sub-density of ``Z_k`` on the continuation region, given that the trial
has not stopped, follows the Armitage-McPherson-Rowe recursion (Armitage, McPherson & Rowe 1969;
Jennison & Turnbull 2000, ch. 19)::

    f_1(z) = phi(z - theta sqrt(t_1))
    f_k(z) = int f_{k-1}(y) sqrt(t_k / d_k) phi((z sqrt(t_k) - y sqrt(t_{k-1}) - theta d_k) / sqrt(d_k)) dy

with ``d_k = t_k - t_{k-1}``; the probability of crossing an upper bound ``u_k`` at stage ``k`` is
``int f_{k-1}(y) Phi((y sqrt(t_{k-1}) + theta d_k - u_k sqrt(t_k)) / sqrt(d_k)) dy``. Each integral is
evaluated by composite Simpson's rule on the continuation interval, cut at ``theta sqrt(t_k) +- 9``
(the mass beyond is below 1e-18), with a step small against the width of the transition kernel.

The stage-by-stage structure is kept in :class:`Recursion`: after the bounds of stage ``k`` are fixed,
``advance`` moves to stage ``k + 1``, and the exit probabilities of a candidate bound at the next
stage cost one vector product, so spending-function boundaries are found stage by stage by 1-D root
finding without recomputing earlier stages.

References
----------
Armitage P, McPherson CK, Rowe BC. Repeated significance tests on accumulating data. J R Stat Soc A
1969;132:235-244.
Jennison C, Turnbull BW. Group Sequential Methods with Applications to Clinical Trials. Chapman &
Hall/CRC 2000, ch. 19.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from scipy import special

__all__ = ["Recursion", "crossing_probabilities"]

_SQRT_2PI = math.sqrt(2.0 * math.pi)
_CUT = 9.0
#: Simpson step on the z scale, at most; also at most 1/8 of the kernel's standard deviation.
_MAX_STEP = 0.03


def _norm_cdf(x: NDArray[np.float64] | float) -> NDArray[np.float64]:
    return np.asarray(special.ndtr(x), dtype=float)


def _simpson(a: float, b: float, step: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Nodes and composite Simpson weights on [a, b] with an even number of panels."""
    n = max(2, math.ceil((b - a) / step))
    n += n % 2
    z = np.linspace(a, b, n + 1)
    h = (b - a) / n
    w = np.full(n + 1, 2.0)
    w[1::2] = 4.0
    w[0] = w[-1] = 1.0
    return z, w * h / 3.0


class Recursion:
    """Stage-by-stage sub-density of ``Z_k`` on the continuation region under drift ``theta``.

    Parameters
    ----------
    rates
        Information rates ``t_1 < ... < t_K`` (the last usually 1).
    theta
        Drift: ``E Z_k = theta sqrt(t_k)``.
    """

    def __init__(self, rates: Sequence[float], theta: float) -> None:
        self.t = np.asarray(rates, dtype=float)
        self.theta = float(theta)
        self.k = 0  # stages already passed (bounds fixed)
        self._y: NDArray[np.float64] | None = None  # nodes of the current sub-density
        self._wf: NDArray[np.float64] | None = None  # Simpson weight x sub-density
        self.alive = True  # False once no probability mass is left in the continuation region

    def _mean(self, k: int) -> float:
        return self.theta * math.sqrt(self.t[k])

    def _kernel_args(self, k: int) -> tuple[float, float, float]:
        tk, tp = self.t[k], self.t[k - 1]
        d = tk - tp
        return math.sqrt(tk), math.sqrt(tp), d

    def upper(self, u: float) -> float:
        """P(not stopped before the next stage and ``Z > u`` there)."""
        k = self.k
        if not self.alive or u == math.inf:
            return 0.0
        if k == 0:
            return float(_norm_cdf(self._mean(0) - u))
        sk, sp, d = self._kernel_args(k)
        assert self._y is not None and self._wf is not None
        x = (self._y * sp + self.theta * d - u * sk) / math.sqrt(d)
        return float(self._wf @ _norm_cdf(x))

    def lower(self, lo: float) -> float:
        """P(not stopped before the next stage and ``Z < lo`` there)."""
        k = self.k
        if not self.alive or lo == -math.inf:
            return 0.0
        if k == 0:
            return float(_norm_cdf(lo - self._mean(0)))
        sk, sp, d = self._kernel_args(k)
        assert self._y is not None and self._wf is not None
        x = (lo * sk - self._y * sp - self.theta * d) / math.sqrt(d)
        return float(self._wf @ _norm_cdf(x))

    def advance(self, lo: float, u: float) -> None:
        """Fix the continuation interval ``(lo, u)`` of the next stage and move past it."""
        k = self.k
        m = self._mean(k)
        a, b = max(lo, m - _CUT), min(u, m + _CUT)
        self.k += 1
        if not self.alive or a >= b or self.k >= len(self.t):
            self.alive = self.alive and a < b
            self._y = self._wf = None
            return
        if k == 0:
            z, w = _simpson(a, b, _MAX_STEP)
            f = np.exp(-0.5 * (z - m) ** 2) / _SQRT_2PI
        else:
            sk, sp, d = self._kernel_args(k)
            sd_z = math.sqrt(d) / sk  # kernel standard deviation on the z scale
            z, w = _simpson(a, b, min(_MAX_STEP, sd_z / 8.0))
            assert self._y is not None and self._wf is not None
            arg = (z[:, None] * sk - self._y[None, :] * sp - self.theta * d) / math.sqrt(d)
            f = (np.exp(-0.5 * arg * arg) @ self._wf) * sk / (math.sqrt(d) * _SQRT_2PI)
        self._y, self._wf = z, w * f


def crossing_probabilities(
    rates: Sequence[float],
    lower: Sequence[float] | NDArray[np.float64],
    upper: Sequence[float] | NDArray[np.float64],
    theta: float,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Stage-wise probabilities of first crossing the lower and the upper bound.

    Parameters
    ----------
    rates
        Information rates.
    lower, upper
        Bounds per stage on the z scale (``-inf`` / ``inf`` for none); the trial continues while
        ``lower_k < Z_k < upper_k``.
    theta
        Drift (``E Z_k = theta sqrt(t_k)``).

    Returns
    -------
    (p_lower, p_upper)
        ``P(stop at k by Z_k <= lower_k)`` and ``P(stop at k by Z_k >= upper_k)``.
    """
    rec = Recursion(rates, theta)
    n = len(rates)
    pl, pu = np.zeros(n), np.zeros(n)
    for k in range(n):
        pu[k] = rec.upper(upper[k])
        pl[k] = rec.lower(lower[k])
        if k < n - 1:
            rec.advance(lower[k], upper[k])
    return pl, pu
