"""The one table of supported tau^2 estimation methods, each with its estimator and its standard error.

The engine (:func:`redif.evidence.tau2.estimate_tau2`, :func:`~redif.evidence.tau2.tau2_se`), the CLI's
``--method`` help, the web's estimator select and ``docs/meta.md`` all read :data:`ESTIMATORS`. Adding an
estimator is one entry here plus its two functions in :mod:`redif.evidence.tau2` (and a reference test
against metafor).

Like pydicom's pixel-data decoders, an entry names its functions by module and attribute and they are
imported on first use: this module costs nothing at start-up (``redif --help`` does not load numpy and
scipy to list the method names; measured: importing :mod:`redif.evidence.tau2` takes about 1 s).

References
----------
Viechtbauer W. Conducting meta-analyses in R with the metafor package. J Stat Softw 2010;36(3):1-48
(``rma.uni`` methods and ``se.tau2``).
"""

from __future__ import annotations

import enum
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from redif.errors import InputError

__all__ = ["ESTIMATORS", "Method", "Tau2Estimator", "method_codes", "methods_help", "parse_method"]

_TAU2 = "redif.evidence.tau2"


class Method(enum.StrEnum):
    """Estimation method (metafor names); GLMM only for proportions. One member per :data:`ESTIMATORS`
    entry."""

    EE = "EE"
    DL = "DL"
    HE = "HE"
    SJ = "SJ"
    ML = "ML"
    REML = "REML"
    EB = "EB"
    PM = "PM"
    HS = "HS"
    GLMM = "GLMM"


@dataclass(frozen=True)
class Tau2Estimator:
    """One supported method: its estimator of tau^2 and the standard error of that estimate.

    ``estimate`` and ``se`` name functions ``(y, v, X) -> tau2`` and ``(y, v, X, tau2) -> se`` as
    ``(module, attribute)``; ``None`` only for a method fitted by its own engine (``proportions_only``:
    the GLMM, :mod:`redif.evidence.glmm`).
    """

    method: Method
    name: str
    reference: str
    se_formula_text: str
    estimate: tuple[str, str] | None
    se: tuple[str, str] | None
    positive_v: bool = False  # the estimator divides by the sampling variances
    proportions_only: bool = False

    def _load(self, ref: tuple[str, str] | None, what: str) -> Callable[..., float]:
        if ref is None:
            raise InputError(f"{self.method} has no {what} for generic effect sizes", field="method",
                             value=str(self.method),
                             remedy=f"use one of {', '.join(method_codes(glmm=False))}; "
                                    "GLMM is available for proportions only")
        func: Callable[..., float] = getattr(importlib.import_module(ref[0]), ref[1])
        return func

    def estimator(self) -> Callable[[Any, Any, Any], float]:
        """The estimator of tau^2 ``(y, v, X) -> tau2``.

        Raises
        ------
        InputError
            For a method without one (GLMM).
        """
        return self._load(self.estimate, "tau2 estimator")

    def se_formula(self) -> Callable[[Any, Any, Any, float], float]:
        """The standard error of the estimate ``(y, v, X, tau2) -> se``."""
        return self._load(self.se, "standard error")


def _entry(method: Method, name: str, reference: str, se_text: str, key: str, se_key: str,
           **flags: bool) -> Tau2Estimator:
    return Tau2Estimator(method, name, reference, se_text, (_TAU2, f"tau2_{key}"), (_TAU2, f"se_{se_key}"),
                         **flags)


#: The supported methods in metafor's order; see the module docstring.
ESTIMATORS: Mapping[Method, Tau2Estimator] = MappingProxyType({
    Method.EE: _entry(Method.EE, "equal-effects (common-effect) model, tau2 = 0", "-", "0", "ee", "zero"),
    Method.DL: _entry(Method.DL, "DerSimonian-Laird", "DerSimonian & Laird 1986",
                      "sqrt(2(k-p) + 4 tau2 tr(P) + 2 tau2^2 tr(PP)) / tr(P), P for weights 1/v",
                      "dl", "dl", positive_v=True),
    Method.HE: _entry(Method.HE, "Hedges (Hedges-Olkin)", "Hedges & Olkin 1985",
                      "sqrt(2 tr(PVPV) + 4 tau2 tr(PV) + 2 tau2^2 (k-p)) / (k-p), OLS projection P",
                      "he", "he"),
    Method.SJ: _entry(Method.SJ, "Sidik-Jonkman", "Sidik & Jonkman 2005",
                      "tau2_0 sqrt(2 tr(PVPV) + 4 tau2 tr(PPV) + 2 tau2^2 tr(PP)) / (k-p), weights "
                      "1/(v + tau2_0)", "sj", "sj"),
    Method.ML: _entry(Method.ML, "maximum likelihood (Fisher scoring)", "Viechtbauer 2005",
                      "sqrt(2 / sum w^2), w = 1/(v + tau2)", "ml", "ml"),
    Method.REML: _entry(Method.REML, "restricted maximum likelihood (Fisher scoring)", "Viechtbauer 2005",
                        "sqrt(2 / tr(PP))", "reml", "reml"),
    Method.EB: _entry(Method.EB, "empirical Bayes (Morris)", "Morris 1983",
                      "sqrt(2 k^2 / (k-p) / (sum w)^2)", "pm", "pm", positive_v=True),
    Method.PM: _entry(Method.PM, "Paule-Mandel", "Paule & Mandel 1982",
                      "sqrt(2 k^2 / (k-p) / (sum w)^2)", "pm", "pm", positive_v=True),
    Method.HS: _entry(Method.HS, "Hunter-Schmidt", "Hunter & Schmidt 2004",
                      "as DL, divided by sum(1/v) instead of tr(P)", "hs", "hs", positive_v=True),
    Method.GLMM: Tau2Estimator(Method.GLMM, "binomial-normal GLMM by ML (7-point adaptive Gauss-Hermite)",
                               "metafor rma.glmm; lme4 nAGQ = 7",
                               "not reported (NaN)", None, None,
                               proportions_only=True),
})


def method_codes(*, glmm: bool = True) -> tuple[str, ...]:
    """The codes of the supported methods, in table order (``glmm=False`` leaves GLMM out)."""
    return tuple(m.value for m, e in ESTIMATORS.items() if glmm or not e.proportions_only)


def methods_help(*, glmm: bool = True, default: str = "REML") -> str:
    """The help text of a method option, read from :data:`ESTIMATORS`."""
    codes = [f"{c} (default)" if c == default else c for c in method_codes(glmm=glmm)]
    text = "tau2 estimator: " + ", ".join(codes)
    return text + ("; GLMM for proportions only." if glmm else ".")


def parse_method(method: str | Method) -> Method:
    """Return ``method`` as a :class:`Method` (``FE`` and ``CE`` are accepted as ``EE``).

    Raises
    ------
    InputError
        For a method that is not in :data:`ESTIMATORS` (field ``method``).
    """
    text = str(method).strip().upper()
    if text in ("FE", "CE"):
        text = "EE"
    try:
        m = Method(text)
    except ValueError:
        m = None
    if m is None or m not in ESTIMATORS:
        raise InputError("unknown method", field="method", value=method,
                         remedy=f"use one of {', '.join(method_codes())}")
    return m
