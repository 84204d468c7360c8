"""Design summary for a protocol's statistics section (JSON and PDF) of the Bayesian designs.

:func:`design_summary` turns the JSON form of a predictive-probability, BOP2 or borrowing design
(``to_dict()`` of :mod:`redif.design.predictive`, :mod:`redif.design.bop2`,
:mod:`redif.design.borrowing`) into a self-contained summary: the method, the decision rule, every
assumption (rates, errors, prior, looks), the stopping table, the operating characteristics, the method
references and the software versions. :func:`design_summary_pdf` typesets it with typst, as the patient
report does (:mod:`redif.reports.pdf`): the data travel as JSON through ``sys.inputs``, system fonts are
ignored and the timestamp is an argument, so the same inputs give the same bytes.
"""

from __future__ import annotations

import json
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import scipy
import typst

from redif import DISCLAIMER, __version__
from redif.errors import InputError

__all__ = ["KINDS", "design_summary", "design_summary_pdf", "software_versions"]

_TEMPLATE = Path(__file__).with_name("templates") / "design_summary.typ"

KINDS = ("predictive", "bop2", "borrow")


def software_versions() -> dict[str, str]:
    """Versions of redif, Python, numpy and scipy (stated in every summary)."""
    return {
        "redif": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
    }


def _f(x: Any, d: int = 4) -> str:
    return "-" if x is None else f"{float(x):.{d}f}"


def _stopping_rows(tab: dict[str, Any]) -> list[list[str]]:
    rows = [
        [
            str(r["n"]),
            "stop (futility) if responses <= " + str(r["stop_if_at_most"])
            if r["stop_if_at_most"] >= 0
            else "continue (no stopping possible)",
        ]
        for r in tab["rows"][:-1]
    ]
    last = tab["rows"][-1]
    rows.append([str(last["n"]), f"final: promising if responses > {last['reject_if_more_than']}"])
    return rows


def _single_arm(kind: str, res: dict[str, Any]) -> dict[str, Any]:
    d = res["design"] if kind == "predictive" else res
    prior = res["prior"]
    tab = d["stopping_table"]
    looks = tab["looks"]
    assumptions = [
        f"Single-arm trial, binary endpoint; H0: p <= p0 = {res['p0']:g}; desirable rate p1 = {res['p1']:g}.",
        f"Maximum sample size Nmax = {res['nmax']}; analyses after "
        + (
            "every patient (continuous monitoring)"
            if len(looks) == res["nmax"]
            else ", ".join(str(n) for n in looks)
        )
        + " evaluable patients.",
        f"Prior on p: Beta({prior['a']:g}, {prior['b']:g}).",
        f"Type I error target <= {res['alpha_target']:g} at p0 (exact: {_f(d['type1_error'])}).",
        "Patients are independent with a common response rate; responses are evaluable before the next "
        "analysis (otherwise the table applies to the evaluable patients).",
        "Early stopping is for futility only; the trial is not stopped early for efficacy.",
    ]
    if kind == "predictive":
        assumptions.insert(4, f"Power target >= {res['power_target']:g} at p1 (exact: {_f(d['power'])}).")
        method = (
            "Predictive-probability design (Lee & Liu 2008): theta_T = "
            f"{d['theta_t']:g}, theta_L = {d['theta_l']:g}; chosen among {res['n_admissible']} admissible "
            f"designs of {res['n_evaluated']} evaluated ({res['selection']})."
        )
        rule = (
            f"At each analysis compute the predictive probability PP that the final posterior probability "
            f"Pr(p > {res['p0']:g} | data) exceeds theta_T = {d['theta_t']:g}; stop for futility if PP < "
            f"theta_L = {d['theta_l']:g}. Equivalent to the stopping table below."
        )
        title = "Predictive-probability single-arm phase II design"
    else:
        assumptions.insert(4, f"Power at p1 (maximised): {_f(d['power'])}.")
        method = (
            f"BOP2 (Zhou, Lee & Yuan 2017), lambda = {d['lambda']:g}, gamma = {d['gamma']:g}, optimised "
            f"over {d['n_evaluated']} (lambda, gamma) pairs to maximise power with type I error <= alpha."
        )
        rule = (
            f"After n patients stop for futility if Pr(p <= {res['p0']:g} | data) > 1 - lambda (n/N)^gamma; "
            "at N declare promising if the trial did not stop. Equivalent to the stopping table below."
        )
        title = "BOP2 single-arm phase II design"
    oc_rows = [
        ["type I error (p = p0)", _f(d["type1_error"])],
        ["power (p = p1)", _f(d["power"])],
        ["P(early stop) at p0", _f(d["pet_p0"])],
        ["P(early stop) at p1", _f(d["pet_p1"])],
        ["E[N] at p0", _f(d["en_p0"], 2)],
        ["E[N] at p1", _f(d["en_p1"], 2)],
    ]
    return {
        "title": title,
        "method": method,
        "rule": rule,
        "assumptions": assumptions,
        "tables": [
            {"title": "Stopping table", "columns": ["patients n", "decision"], "rows": _stopping_rows(tab)},
            {"title": "Operating characteristics (exact)", "columns": ["quantity", "value"], "rows": oc_rows},
        ],
        "references": list(res.get("references", [])),
    }


def _borrow(res: dict[str, Any]) -> dict[str, Any]:
    pc = res["prior_control"]
    comp = "; ".join(f"{m['w']:.3f} x Beta({m['a']:.3g}, {m['b']:.3g})" for m in pc["mixture"])
    ess = res["ess"]
    assumptions = [
        f"Two-arm randomised trial, binary endpoint; {res['n_control']} control and {res['n_treatment']} "
        "treated patients.",
        f"Control prior (robust MAP mixture): {comp}; mean {pc['mean']:.3f}, sd {pc['sd']:.3f}; "
        f"effective sample size ELIR {_f(ess['elir'], 1)} "
        f"(moment {_f(ess['moment'], 1)}, Morita {_f(ess['morita'], 1)}) patients.",
        "Treatment prior: "
        + "; ".join(f"Beta({m['a']:.3g}, {m['b']:.3g})" for m in res["prior_treatment"]["mixture"])
        + ".",
        f"Power evaluated at a treatment effect p_t - p_c = {res['effect']:g}; type I error at p_t = p_c.",
        "Comparator: the same rule with a vague Beta(1, 1) control prior (no borrowing).",
    ]
    oc = res["oc"]
    rows = [
        [f"{p:.2f}", _f(t1), _f(t1v), _f(pw), _f(pwv)]
        for p, t1, t1v, pw, pwv in zip(
            oc["p_control"],
            oc["type1_error"],
            oc["type1_error_vague"],
            oc["power"],
            oc["power_vague"],
            strict=True,
        )
    ]
    return {
        "title": "Two-arm design borrowing the control arm from the evidence",
        "method": res["method"] + "; " + res["ess_method"] + ".",
        "rule": res["rule"] + ".",
        "assumptions": assumptions,
        "tables": [
            {
                "title": "Operating characteristics across true control rates (exact)",
                "columns": ["p_c", "type I (borrow)", "type I (vague)", "power (borrow)", "power (vague)"],
                "rows": rows,
            }
        ],
        "references": list(res.get("references", [])),
    }


def design_summary(
    kind: str, result: dict[str, Any], *, generated_at: datetime | None = None
) -> dict[str, Any]:
    """The protocol summary of a design (JSON-ready).

    Parameters
    ----------
    kind
        ``predictive``, ``bop2`` or ``borrow``.
    result
        The design's ``to_dict()``.
    generated_at
        Timestamp (default now, UTC).

    Raises
    ------
    InputError
        For an unknown ``kind``.
    """
    if kind not in KINDS:
        raise InputError("unknown design kind", field="kind", value=kind, remedy="one of " + ", ".join(KINDS))
    body = _borrow(result) if kind == "borrow" else _single_arm(kind, result)
    ts = generated_at or datetime.now(UTC)
    return {
        **body,
        "kind": kind,
        "design": result,
        "software": software_versions(),
        "generated": ts.strftime("%Y-%m-%d %H:%M"),
        "disclaimer": DISCLAIMER,
    }


def design_summary_pdf(
    summary: dict[str, Any], *, generated_at: datetime, plot_svg: str | None = None
) -> bytes:
    """Typeset a :func:`design_summary` as PDF (deterministic for the same inputs and timestamp).

    ``plot_svg``: an SVG figure (boundaries and OC, :mod:`redif.design.bayes_plots`) placed in the PDF.
    """
    ts = generated_at if generated_at.tzinfo else generated_at.replace(tzinfo=UTC)
    payload = {k: v for k, v in summary.items() if k != "design"}
    payload["plot_svg"] = plot_svg
    data = typst.compile(
        str(_TEMPLATE),
        root=str(_TEMPLATE.parent),
        ignore_system_fonts=True,
        sys_inputs={"data": json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)},
        timestamp=int(ts.timestamp()),
        format="pdf",
    )
    assert isinstance(data, bytes)
    return data
