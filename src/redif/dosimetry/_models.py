"""Exponential time-activity models in a biological parameterisation (private to :mod:`kinetics`).

Every model describes the *biological* retention f(t) (decay-corrected). The curve that is fitted to
the data is f(t)·e^(−c·t) with c = λ_phys for data that are not decay-corrected and c = 0 for
decay-corrected data, so a fit never mixes the two. The time-integrated activity for any nuclide with
physical decay constant λ is then analytic: Σ a_i / (k_i + λ).

Fitting uses unconstrained parameters ``u`` (logs of amplitudes and of rate differences), which keeps
every amplitude positive, every biological rate ≥ 0 and the rate ordering of the bi-exponential and
uptake-washout models, without bounds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class ExpModel:
    """One exponential model: names, transforms, curve, Jacobian and analytic integral."""

    key: str
    param_names: tuple[str, ...]

    @property
    def n_params(self) -> int:
        return len(self.param_names)

    # --- parameter transforms -------------------------------------------------------------
    def to_natural(self, u: FloatArray) -> FloatArray:
        e = np.exp(u)
        if self.key == "mono":
            return e
        if self.key == "bi":  # a1, k1 (fast) = k2 + d, a2, k2
            return np.stack([e[:, 0], e[:, 1] + e[:, 3], e[:, 2], e[:, 3]], axis=1)
        # uptake: a, k_washout, k_uptake = k_w + d
        return np.stack([e[:, 0], e[:, 1], e[:, 1] + e[:, 2]], axis=1)

    def to_unconstrained(self, nat: FloatArray) -> FloatArray:
        floor = 1e-13
        nat = np.asarray(nat, dtype=float)
        if self.key == "mono":
            return np.log(np.maximum(nat, floor))
        if self.key == "bi":
            return np.log(
                np.maximum(np.stack([nat[:, 0], nat[:, 1] - nat[:, 3], nat[:, 2], nat[:, 3]], axis=1), floor)
            )
        return np.log(np.maximum(np.stack([nat[:, 0], nat[:, 1], nat[:, 2] - nat[:, 1]], axis=1), floor))

    def natural_jacobian(self, u: FloatArray) -> FloatArray:
        """d natural / d u, shape (S, p, p)."""
        e = np.exp(u)
        s, p = u.shape
        d = np.zeros((s, p, p))
        if self.key == "mono":
            d[:, 0, 0] = e[:, 0]
            d[:, 1, 1] = e[:, 1]
        elif self.key == "bi":
            d[:, 0, 0] = e[:, 0]
            d[:, 1, 1] = e[:, 1]
            d[:, 1, 3] = e[:, 3]
            d[:, 2, 2] = e[:, 2]
            d[:, 3, 3] = e[:, 3]
        else:
            d[:, 0, 0] = e[:, 0]
            d[:, 1, 1] = e[:, 1]
            d[:, 2, 1] = e[:, 1]
            d[:, 2, 2] = e[:, 2]
        return d

    # --- curve -----------------------------------------------------------------------------
    def curve(self, nat: FloatArray, t: FloatArray, c: float) -> FloatArray:
        """Model values (S, n) for natural parameters (S, p) at times t (n,), extra decay c."""
        t = t[None, :]
        if self.key == "mono":
            return nat[:, 0:1] * np.exp(-(nat[:, 1:2] + c) * t)
        if self.key == "bi":
            return nat[:, 0:1] * np.exp(-(nat[:, 1:2] + c) * t) + nat[:, 2:3] * np.exp(-(nat[:, 3:4] + c) * t)
        return np.asarray(nat[:, 0:1] * (np.exp(-(nat[:, 1:2] + c) * t) - np.exp(-(nat[:, 2:3] + c) * t)))

    def value_and_jacobian(self, u: FloatArray, t: FloatArray, c: float) -> tuple[FloatArray, FloatArray]:
        """Curve (S, n) and d curve / d u (S, n, p)."""
        nat = self.to_natural(u)
        tt = t[None, :]
        if self.key == "mono":
            e1 = np.exp(-(nat[:, 1:2] + c) * tt)
            f = nat[:, 0:1] * e1
            jn = np.stack([e1, -nat[:, 0:1] * tt * e1], axis=2)
        elif self.key == "bi":
            e1 = np.exp(-(nat[:, 1:2] + c) * tt)
            e2 = np.exp(-(nat[:, 3:4] + c) * tt)
            f = nat[:, 0:1] * e1 + nat[:, 2:3] * e2
            jn = np.stack([e1, -nat[:, 0:1] * tt * e1, e2, -nat[:, 2:3] * tt * e2], axis=2)
        else:
            ew = np.exp(-(nat[:, 1:2] + c) * tt)
            eu = np.exp(-(nat[:, 2:3] + c) * tt)
            f = nat[:, 0:1] * (ew - eu)
            jn = np.stack([ew - eu, -nat[:, 0:1] * tt * ew, nat[:, 0:1] * tt * eu], axis=2)
        jac = np.einsum("snq,sqp->snp", jn, self.natural_jacobian(u))
        return f, jac

    # --- integrals ---------------------------------------------------------------------------
    def integral(self, nat: FloatArray, lam: float) -> FloatArray:
        """∫₀^∞ f(t)·e^(−λt) dt for each row (S,): the time-integrated activity for decay constant λ."""
        if self.key == "mono":
            return np.asarray(nat[:, 0] / (nat[:, 1] + lam))
        if self.key == "bi":
            return np.asarray(nat[:, 0] / (nat[:, 1] + lam) + nat[:, 2] / (nat[:, 3] + lam))
        return np.asarray(nat[:, 0] * (1.0 / (nat[:, 1] + lam) - 1.0 / (nat[:, 2] + lam)))

    def integral_from(self, nat: FloatArray, lam: float, t0: float) -> FloatArray:
        """∫_t0^∞ f(t)·e^(−λt) dt for each row (S,): the part of the TIA after time t0."""
        if self.key == "mono":
            r = nat[:, 1] + lam
            return np.asarray(nat[:, 0] * np.exp(-r * t0) / r)
        if self.key == "bi":
            r1, r2 = nat[:, 1] + lam, nat[:, 3] + lam
            return np.asarray(nat[:, 0] * np.exp(-r1 * t0) / r1 + nat[:, 2] * np.exp(-r2 * t0) / r2)
        rw, ru = nat[:, 1] + lam, nat[:, 2] + lam
        return np.asarray(nat[:, 0] * (np.exp(-rw * t0) / rw - np.exp(-ru * t0) / ru))

    def terminal_rate(self, nat: FloatArray) -> FloatArray:
        """Slowest biological rate (1/h) of each row."""
        if self.key == "bi":
            return np.asarray(nat[:, 3])
        return np.asarray(nat[:, 1])

    # --- start points --------------------------------------------------------------------------
    def start_points(self, t: FloatArray, y: FloatArray, c: float) -> FloatArray:
        """A grid of natural start points; amplitudes by linear least squares for the given rates."""
        pos = y > 0
        k_mono = 0.01
        if pos.sum() >= 2:
            slope = float(np.polyfit(t[pos], np.log(y[pos]), 1)[0])
            k_mono = max(-slope - c, 1e-4)
        tmax = float(t.max()) if t.size else 1.0
        rate_grid = [k_mono, 1e-4, 0.3 * math.log(2) / tmax, 3 * math.log(2) / tmax]
        rows: list[list[float]] = []
        if self.key == "mono":
            for k in rate_grid:
                rows.append([_amp(t, y, [k + c]), k])
        elif self.key == "bi":
            for k2 in rate_grid:
                for mult in (3.0, 10.0, 30.0):
                    k1 = (k2 + c) * mult + 0.05 - c
                    k1 = max(k1, k2 * 1.5 + 1e-3)
                    a1, a2 = _amps2(t, y, k1 + c, k2 + c)
                    rows.append([a1, k1, a2, k2])
        else:
            for kw in rate_grid:
                for ku in (0.05, 0.3, 2.0):
                    kuu = kw + ku
                    basis = np.exp(-(kw + c) * t) - np.exp(-(kuu + c) * t)
                    den = float(basis @ basis)
                    a = float(basis @ y) / den if den > 0 else float(y.max())
                    rows.append([max(a, 1e-6), kw, kuu])
        return np.asarray(rows, dtype=float)


def _amp(t: FloatArray, y: FloatArray, rates: list[float]) -> float:
    basis = np.exp(-rates[0] * t)
    den = float(basis @ basis)
    return max(float(basis @ y) / den if den > 0 else float(y.max()), 1e-6)


def _amps2(t: FloatArray, y: FloatArray, r1: float, r2: float) -> tuple[float, float]:
    basis = np.stack([np.exp(-r1 * t), np.exp(-r2 * t)], axis=1)
    coef, *_ = np.linalg.lstsq(basis, y, rcond=None)
    peak = float(max(y.max(), 1e-6))
    a1 = float(coef[0]) if coef[0] > 0 else 0.3 * peak
    a2 = float(coef[1]) if coef[1] > 0 else 0.7 * peak
    return a1, a2


MODELS: dict[str, ExpModel] = {
    "mono": ExpModel("mono", ("a", "k_bio_per_h")),
    "bi": ExpModel("bi", ("a1", "k1_bio_per_h", "a2", "k2_bio_per_h")),
    "uptake": ExpModel("uptake", ("a", "k_washout_bio_per_h", "k_uptake_bio_per_h")),
}
