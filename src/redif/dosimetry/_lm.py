"""Batched Levenberg-Marquardt least squares for the small exponential models of :mod:`kinetics`.

Every row of ``u`` is an independent problem (a start point, or one Monte Carlo sample); all rows are
iterated together with numpy, so 1000 refits cost about as much as a few dozen python-level steps.
Parameters are unconstrained (log-transformed rates and amplitudes), so no bounds are needed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

#: (u [S,p]) -> (model values [S,n], jacobian d model / d u [S,n,p])
ModelFn = Callable[[FloatArray], tuple[FloatArray, FloatArray]]

_U_MIN = -30.0
_U_MAX = 8.0


def levenberg_marquardt(
    fn: ModelFn,
    u0: FloatArray,
    y: FloatArray,
    *,
    max_iter: int = 200,
    tol: float = 1e-12,
) -> tuple[FloatArray, FloatArray]:
    """Minimise ``0.5 * sum((fn(u) - y)**2)`` row by row.

    Parameters
    ----------
    fn
        Model and Jacobian for a batch of parameter rows.
    u0
        Start points, shape (S, p).
    y
        Data, shape (S, n) (or (n,), broadcast to every row).
    max_iter
        Iterations (all rows together).
    tol
        Relative cost change below which a row is considered converged.

    Returns
    -------
    u, cost
        Fitted parameters (S, p) and final cost 0.5*RSS (S,).
    """
    u = np.clip(np.array(u0, dtype=float, copy=True), _U_MIN, _U_MAX)
    s, p = u.shape
    yb = np.ascontiguousarray(np.broadcast_to(y, (s, y.shape[-1])))
    f, jac = fn(u)
    r = f - yb
    cost = 0.5 * np.einsum("sn,sn->s", r, r)
    mu = np.full(s, 1e-3)
    eye = np.eye(p)
    active = np.isfinite(cost)
    for _ in range(max_iter):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        ja, ra, ua, ma = jac[idx], r[idx], u[idx], mu[idx]
        jtj = np.einsum("snp,snq->spq", ja, ja)
        g = np.einsum("snp,sn->sp", ja, ra)
        diag = np.einsum("spp->sp", jtj)
        a = jtj + ma[:, None, None] * (diag[:, :, None] * eye + 1e-12 * eye)
        try:
            step = -np.linalg.solve(a, g[:, :, None])[:, :, 0]
        except np.linalg.LinAlgError:
            step = -np.einsum("spq,sq->sp", np.linalg.pinv(a), g)
        step = np.where(np.isfinite(step), step, 0.0)
        u_new = np.clip(ua + step, _U_MIN, _U_MAX)
        f_new, jac_new = fn(u_new)
        r_new = f_new - yb[idx]
        cost_new = 0.5 * np.einsum("sn,sn->s", r_new, r_new)
        old = cost[idx]
        better = np.isfinite(cost_new) & (cost_new < old)
        rel = (old - cost_new) / np.maximum(old, 1e-300)
        small_step = np.max(np.abs(u_new - ua), axis=1) < 1e-9
        done = (better & (rel < tol)) | small_step | (old <= 1e-300)
        bi = idx[better]
        u[bi], f[bi], jac[bi], r[bi], cost[bi] = (
            u_new[better],
            f_new[better],
            jac_new[better],
            r_new[better],
            cost_new[better],
        )
        mu[idx] = np.where(better, ma / 3.0, ma * 4.0)
        active[idx[done]] = False
        active[idx[mu[idx] > 1e10]] = False
    return u, cost
