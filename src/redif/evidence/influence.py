"""Leave-one-out analysis and case-deletion influence diagnostics (metafor ``leave1out``/``influence``).

For each study i the model is refitted without it (tau^2 re-estimated with the same method and the
same test). The diagnostics follow Viechtbauer and Cheung (2010) as implemented in
``metafor::influence.rma.uni`` (version 3.8):

* ``rstudent``: externally standardised residual ``(y_i - x_i'b_(-i)) / sqrt(s2w_(-i)(v_i + tau2_(-i))
  + x_i' Var(b_(-i)) x_i)``;
* ``dffits``: ``(x_i'b - x_i'b_(-i)) / sqrt(s2w_(-i) h_i (tau2_(-i) + v_i))``;
* ``cook_d``: ``(b - b_(-i))' Var(b)^-1 (b - b_(-i))`` over all coefficients;
* ``cov_r``: ``det Var(b_(-i)) / det Var(b)``; ``tau2_del``, ``qe_del``; ``hat`` (diagonal of
  ``X (X'WX)^-1 X'W``) and ``weight`` (percent); ``dfbetas`` per coefficient;
* ``influential``: metafor's flag (|DFFITS| > 3 sqrt(p/(k-p)), P(chi2_p <= Cook's D) > 0.5,
  hat > 3p/k, or any |DFBETAS| > 1).

References
----------
Viechtbauer W, Cheung MW-L. Outlier and influence diagnostics for meta-analysis. Res Synth Methods
2010;1:112-125.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from redif.errors import InputError
from redif.evidence.rma import check_generic, check_level, fit_rma
from redif.evidence.tau2 import Method, parse_method

__all__ = ["InfluenceResult", "LeaveOneOutRow", "influence", "leave_one_out"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class LeaveOneOutRow:
    """The pooled model refitted without one study (analysis scale)."""

    omitted: str
    estimate: float
    se: float
    stat: float
    p: float
    ci_lower: float
    ci_upper: float
    q: float
    q_p: float
    tau2: float
    i2: float
    h2: float

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary of the fields."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class InfluenceResult:
    """Case-deletion diagnostics, one entry per study (arrays in study order)."""

    labels: tuple[str, ...]
    rstudent: FloatArray
    dffits: FloatArray
    cook_d: FloatArray
    cov_r: FloatArray
    tau2_del: FloatArray
    qe_del: FloatArray
    hat: FloatArray
    weight: FloatArray
    dfbetas: FloatArray
    influential: NDArray[np.bool_]

    def to_dict(self) -> dict[str, Any]:
        """One record per study."""
        rows = []
        for i, lab in enumerate(self.labels):
            rows.append({
                "label": lab, "rstudent": float(self.rstudent[i]), "dffits": float(self.dffits[i]),
                "cook_d": float(self.cook_d[i]), "cov_r": float(self.cov_r[i]),
                "tau2_del": float(self.tau2_del[i]), "qe_del": float(self.qe_del[i]),
                "hat": float(self.hat[i]), "weight": float(self.weight[i]),
                "dfbetas": [float(v) for v in self.dfbetas[i]], "influential": bool(self.influential[i]),
            })
        return {"studies": rows}


def _labels(labels: Sequence[str] | None, k: int) -> tuple[str, ...]:
    return tuple(f"Study {i + 1}" for i in range(k)) if labels is None else tuple(str(s) for s in labels)


def leave_one_out(
    yi: ArrayLike, vi: ArrayLike, labels: Sequence[str] | None = None, *, method: str | Method = "REML",
    knha: bool = False, level: float = 95.0,
) -> tuple[LeaveOneOutRow, ...]:
    """Refit the intercept-only model leaving out each study in turn (metafor ``leave1out``).

    Needs k >= 3 for a random-effects method (each refit needs 2 studies).
    """
    m = parse_method(method)
    lv = check_level(level)
    y, v = check_generic(yi, vi)
    k = y.size
    if k < 2 or (m is not Method.EE and k < 3):
        raise InputError(f"k = {k}: leave-one-out needs at least {2 if m is Method.EE else 3} studies",
                         field="k", value=k)
    labs = _labels(labels, k)
    rows = []
    keep = np.ones(k, dtype=bool)
    for i in range(k):
        keep[:] = True
        keep[i] = False
        f = fit_rma(y[keep], v[keep], method=m, knha=knha, level=lv)
        rows.append(LeaveOneOutRow(labs[i], float(f.beta[0]), float(f.se[0]), float(f.stat[0]),
                                   float(f.pval[0]), float(f.ci_lower[0]), float(f.ci_upper[0]), f.qe, f.qe_p,
                                   f.tau2, f.i2, f.h2))
    return tuple(rows)


def influence(
    yi: ArrayLike, vi: ArrayLike, labels: Sequence[str] | None = None, *, X: ArrayLike | None = None,
    method: str | Method = "REML", knha: bool = False, level: float = 95.0,
) -> InfluenceResult:
    """Influence diagnostics of a (mixed-effects) model (metafor ``influence.rma.uni``).

    Parameters
    ----------
    yi, vi
        Effect sizes and sampling variances.
    labels
        Study labels.
    X
        Optional design matrix (k x p, with intercept column); intercept-only by default.
    method, knha, level
        As for :func:`~redif.evidence.rma.pool_generic`.
    """
    m = parse_method(method)
    lv = check_level(level)
    y, v = check_generic(yi, vi)
    k = y.size
    Xm = np.ones((k, 1)) if X is None else np.asarray(X, dtype=float)
    p = Xm.shape[1]
    if k - 1 <= p and m is not Method.EE:
        raise InputError(f"k = {k}: influence diagnostics need at least {p + 2} studies", field="k", value=k)
    full = fit_rma(y, v, Xm, method=m, knha=knha, level=lv)
    w = full.weights
    xtwx_inv = np.linalg.inv((Xm.T * w) @ Xm)
    hat = np.einsum("ij,jk,ik->i", Xm, xtwx_inv, Xm) * w
    weight = 100.0 * w / w.sum()
    svb = np.linalg.inv(full.vb)
    det_full = np.linalg.det(full.vb)
    pred_full = Xm @ full.beta
    out = {name: np.full(k, np.nan) for name in ("rstudent", "dffits", "cook", "covr", "tau2", "qe")}
    dfbs = np.full((k, p), np.nan)
    keep = np.ones(k, dtype=bool)
    for i in range(k):
        keep[:] = True
        keep[i] = False
        try:
            f = fit_rma(y[keep], v[keep], Xm[keep], method=m, knha=knha, level=lv)
        except (InputError, np.linalg.LinAlgError):
            continue
        xi = Xm[i]
        delpred = float(xi @ f.beta)
        vdel = float(xi @ f.vb @ xi)
        resid = float(y[i] - delpred)
        if abs(resid) < 100 * np.finfo(float).eps:
            resid = 0.0
        out["rstudent"][i] = resid / np.sqrt(v[i] * f.s2w + vdel + f.tau2 * f.s2w)
        out["dffits"][i] = (pred_full[i] - delpred) / np.sqrt(f.s2w * hat[i] * (f.tau2 + v[i]))
        vb_del = np.linalg.inv((Xm.T / (v + f.tau2)) @ Xm)
        dfb = full.beta - f.beta
        dfbs[i] = dfb / np.sqrt(f.s2w * np.diag(vb_del))
        out["cook"][i] = float(dfb @ svb @ dfb)
        out["covr"][i] = float(np.linalg.det(f.vb) / det_full)
        out["tau2"][i] = f.tau2
        out["qe"][i] = f.qe
    with np.errstate(invalid="ignore"):
        infl = (
            (np.abs(out["dffits"]) > 3.0 * np.sqrt(p / (k - p)))
            | (stats.chi2.cdf(out["cook"], p) > 0.5)
            | (hat > 3.0 * p / k)
            | np.any(np.abs(dfbs) > 1.0, axis=1)
        )
    return InfluenceResult(
        labels=_labels(labels, k), rstudent=out["rstudent"], dffits=out["dffits"], cook_d=out["cook"],
        cov_r=out["covr"], tau2_del=out["tau2"], qe_del=out["qe"], hat=hat, weight=weight, dfbetas=dfbs,
        influential=np.asarray(infl & ~np.isnan(out["dffits"]), dtype=bool),
    )
