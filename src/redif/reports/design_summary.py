"""Design summary for a protocol's statistics section (JSON and PDF) of the Bayesian and the
group-sequential designs.

:func:`design_summary` turns the JSON form of a predictive-probability, BOP2 or borrowing design
(``to_dict()`` of :mod:`redif.design.predictive`, :mod:`redif.design.bop2`,
:mod:`redif.design.borrowing`) into a self-contained summary: the method, the decision rule, every
assumption (rates, errors, prior, looks), the stopping table, the operating characteristics, the method
references and the software versions. The group-sequential kind (``GS_KIND``) takes
:func:`group_sequential_result` - the design of :mod:`redif.design.group_sequential`, optionally a
survival or rates sample size (:mod:`redif.design.sample_size_gs`) and the effect-scale boundaries
(:mod:`redif.design.effect_scale`). :func:`design_summary_pdf` typesets it with typst, as the patient
report does (:mod:`redif.reports.pdf`): the data travel as JSON through ``sys.inputs``, system fonts are
ignored and the timestamp is an argument, so the same inputs give the same bytes.
"""

from __future__ import annotations

import json
import math
import platform
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import scipy
import typst

from redif import DISCLAIMER, __version__
from redif.design.effect_scale import effect_boundaries_for
from redif.design.group_sequential import GroupSequentialDesign
from redif.design.sample_size_gs import RatesSampleSize, SurvivalSampleSize
from redif.errors import InputError

__all__ = [
    "GS_KIND",
    "KINDS",
    "design_summary",
    "design_summary_pdf",
    "group_sequential_result",
    "software_versions",
]

_TEMPLATE = Path(__file__).with_name("templates") / "design_summary.typ"

KINDS = ("predictive", "bop2", "borrow")
#: The group-sequential kind (with or without a survival / rates sample size).
GS_KIND = "group_sequential"

_GS_REFS = {
    "OF": "O'Brien PC, Fleming TR. A multiple testing procedure for clinical trials. Biometrics "
    "1979;35:549-556.",
    "P": "Pocock SJ. Group sequential methods in the design and analysis of clinical trials. Biometrika "
    "1977;64:191-199.",
    "WT": "Wang SK, Tsiatis AA. Approximately optimal one-parameter boundaries for group sequential trials. "
    "Biometrics 1987;43:193-199.",
    "as": "Lan KKG, DeMets DL. Discrete sequential boundaries for clinical trials. Biometrika "
    "1983;70:659-663.",
    "KD": "Kim K, DeMets DL. Design and analysis of group sequential tests based on the type I error "
    "spending rate function. Biometrika 1987;74:149-154.",
    "HSD": "Hwang IK, Shih WJ, DeCani JS. Group sequential designs using a family of type I error "
    "probability spending functions. Stat Med 1990;9:1439-1445.",
    "JT": "Jennison C, Turnbull BW. Group Sequential Methods with Applications to Clinical Trials. "
    "Chapman & Hall/CRC 2000.",
    "WB": "Wassmer G, Brannath W. Group Sequential and Confirmatory Adaptive Designs in Clinical Trials. "
    "Springer 2016 (rpact 3.3.4 conventions).",
    "survival": "Schoenfeld DA. Sample-size formula for the proportional-hazards regression model. "
    "Biometrics 1983;39:499-503.",
    "rates": "Farrington CP, Manning G. Test statistics and sample size formulae for comparative binomial "
    "trials with null hypothesis of non-zero risk difference or non-unity relative risk. Stat Med "
    "1990;9:1447-1454.",
}


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


def group_sequential_result(
    design: GroupSequentialDesign, size: SurvivalSampleSize | RatesSampleSize | None = None
) -> dict[str, Any]:
    """The JSON form of a group-sequential design, its sample size and effect-scale boundaries.

    Keys: ``endpoint`` (``none``, ``survival``, ``rates``), ``design`` (``redif design group-sequential
    --json`` keys), ``sample_size`` (``redif design survival|rates --json`` keys or None),
    ``effect_scale`` (:class:`redif.design.effect_scale.EffectScaleBoundaries` or None), ``references``.
    """
    endpoint = "none" if size is None else ("survival" if isinstance(size, SurvivalSampleSize) else "rates")
    t = design.type_of_design
    keys = [t if t in ("OF", "P", "WT") else "as"]
    if t in ("asOF", "asP"):
        keys.append("OF" if t == "asOF" else "P")
    if t == "asKD" or design.type_beta_spending == "bsKD":
        keys.append("KD")
    if t == "asHSD" or design.type_beta_spending == "bsHSD":
        keys.append("HSD")
    keys += ["JT", "WB"] + ([] if size is None else [endpoint])
    return {
        "endpoint": endpoint,
        "design": asdict(design),
        "sample_size": None if size is None else asdict(size),
        "effect_scale": None if size is None else asdict(effect_boundaries_for(design, size)),
        "references": [_GS_REFS[k] for k in dict.fromkeys(keys)],
    }


def _g(x: Any, d: int = 4) -> str:
    return "-" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{float(x):.{d}f}"


_TYPE_NAMES = {
    "OF": "O'Brien & Fleming (1979) boundaries",
    "P": "Pocock (1977) boundaries",
    "WT": "Wang & Tsiatis (1987) boundaries",
    "asOF": "alpha spending (Lan & DeMets 1983), O'Brien-Fleming type",
    "asP": "alpha spending (Lan & DeMets 1983), Pocock type",
    "asKD": "alpha spending (Lan & DeMets 1983), Kim & DeMets power family",
    "asHSD": "alpha spending (Lan & DeMets 1983), Hwang-Shih-DeCani family",
}


def _group_sequential(res: dict[str, Any]) -> dict[str, Any]:
    d = res["design"]
    ss = res.get("sample_size")
    eff = res.get("effect_scale")
    endpoint = res.get("endpoint", "none")
    k = int(d["k"])
    sided = int(d["sided"])
    fut = d.get("futility_bounds")
    param = {
        "WT": ("Delta", d.get("delta_wt")),
        "asKD": ("rho", d.get("gamma_a")),
        "asHSD": ("gamma", d.get("gamma_a")),
    }.get(d["type_of_design"])
    tname = _TYPE_NAMES.get(d["type_of_design"], d["type_of_design"])
    if param is not None:
        tname += f" ({param[0]} = {param[1]:g})"
    futility = (
        "no futility bounds"
        if fut is None
        else f"futility bounds by beta spending {d['type_beta_spending']} "
        f"({'binding' if d['binding_futility'] else 'non-binding'})"
    )
    if k == 1:
        tname, futility = "a single analysis (fixed design)", "no interim analyses"
    method = (
        f"Group-sequential design with K = {k} analyses: {tname}; {futility}. Boundaries, power and expected "
        "information by exact recursive numerical integration of the canonical joint distribution of the "
        "z statistics (Jennison & Turnbull 2000, ch. 19), following rpact 3.3.4 conventions (Wassmer & "
        "Brannath 2016)."
    )
    side = "Z_k >= u_k" if sided == 1 else "|Z_k| >= u_k"
    rule = f"At analysis k reject H0 and stop for efficacy if {side}"
    if fut is not None:
        rule += "; stop for futility if Z_k <= l_k" + (
            "" if d["binding_futility"] else " (non-binding: the trial may continue without inflating alpha)"
        )
    rule += "; otherwise continue to the next analysis (bounds in the table below)."
    info_col: str | None = None
    assumptions = [
        f"Type I error alpha = {d['alpha']:g} ({sided}-sided"
        + ("; symmetric bounds" if sided == 2 else "")
        + f"); type II error beta = {d['beta']:g} (power {1 - d['beta']:g}).",
        "Analyses at information rates "
        + ", ".join(f"{x:.4g}" for x in d["information_rates"])
        + " of the maximum information"
        + (
            ""
            if d["type_of_design"] in ("OF", "P", "WT")
            else "; the spending function recomputes the bounds at the information actually reached"
        )
        + ".",
        "The z statistics are asymptotically multivariate normal with independent increments (canonical "
        "joint distribution; Jennison & Turnbull 2000, ch. 3).",
    ]
    if endpoint == "survival" and ss is not None:
        info_col = "events"
        acc = ss["accrual_times_months"]
        assumptions += [
            f"Two-arm comparison of survival by the log-rank test; hazard ratio to detect {ss['hr']:g} "
            f"(experimental / control); allocation {ss['ratio']:g}:1 (experimental : control).",
            f"Exponential survival: control hazard {ss['lambda_control']:.5g} per month (median "
            f"{math.log(2) / ss['lambda_control']:.4g} months), experimental "
            f"{ss['lambda_experimental']:.5g}.",
            "Accrual "
            + (
                "uniform over " + f"{acc[0]:g} months"
                if len(acc) == 1
                else "piecewise uniform, periods ending at "
                + ", ".join(f"{a:g}" for a in acc)
                + " months, relative intensities "
                + ", ".join(f"{w:g}" for w in ss["accrual_intensity"])
            )
            + f"; further follow-up {ss['followup_months']:g} months after the end of accrual.",
            "Drop-out: "
            + (
                "none"
                if ss["dropout_hazard"] == 0
                else f"exponential, hazard {ss['dropout_hazard']:.5g} per month in each arm"
            )
            + ".",
            "Events from Schoenfeld's formula (Schoenfeld 1983); analyses when the cumulative events reach "
            "the information rates.",
        ]
    elif endpoint == "rates" and ss is not None:
        info_col = "patients"
        assumptions += [
            f"Two-arm comparison of proportions: p1 = {ss['p1']:g} (experimental) against p2 = {ss['p2']:g} "
            f"(control); allocation n1 / n2 = {ss['ratio']:g}.",
            "Normal approximation with the variance pooled under H0 (Farrington & Manning 1990, theta0 = 0).",
        ]
    if eff is not None:
        assumptions.append("Effect-scale boundaries: " + eff["formula"] + ".")
    columns = ["look", "info rate"] + ([info_col] if info_col else []) + ["critical z"]
    columns += ["futility z"] if fut is not None else []
    columns += ["alpha spent (cum.)", "power (cum.)"]
    if eff is not None:
        name = "HR bound" if eff["scale"] == "hazard_ratio" else "p1-p2 bound"
        columns.append(name)
        if eff.get("efficacy_mirror") is not None:
            columns.append(name + " (other side)")
        if eff.get("futility") is not None:
            columns.append("futility " + ("HR" if eff["scale"] == "hazard_ratio" else "p1-p2"))
    rows = []
    for i in range(k):
        row = [str(i + 1), f"{d['information_rates'][i]:.4f}"]
        if info_col and eff is not None:
            row.append(f"{eff['information'][i]:.2f}")
        row.append(f"{d['critical_values'][i]:.4f}")
        if fut is not None:
            row.append(_g(fut[i]) if i < k - 1 else "-")
        row += [f"{d['alpha_spent'][i]:.6f}", f"{d['power'][i]:.4f}"]
        if eff is not None:
            row.append(_g(eff["efficacy"][i]))
            if eff.get("efficacy_mirror") is not None:
                row.append(_g(eff["efficacy_mirror"][i]))
            if eff.get("futility") is not None:
                row.append(_g(eff["futility"][i]) if i < k - 1 else "-")
        rows.append(row)
    ch = [
        ["inflation factor", _g(d["inflation_factor"])],
        ["power", _g(d["power"][-1])],
        ["expected information under H0 (rel. to fixed)", _g(d["expected_information_h0"])],
        ["expected information under theta/2", _g(d["expected_information_h01"])],
        ["expected information under H1", _g(d["expected_information_h1"])],
    ]
    tables: list[dict[str, Any]] = [
        {"title": "Boundaries", "columns": columns, "rows": rows},
        {"title": "Design characteristics", "columns": ["quantity", "value"], "rows": ch},
    ]
    if endpoint == "survival" and ss is not None:
        tables[1]["rows"] += [
            ["events (maximum; rounded up)", f"{ss['events']:.2f} ({ss['events_ceil']})"],
            ["events, fixed design", _g(ss["events_fixed"], 2)],
            ["patients (maximum; rounded up)", f"{ss['subjects']:.2f} ({ss['subjects_ceil']})"],
            [
                "expected events under H0 / H1",
                f"{ss['expected_events_h0']:.2f} / {ss['expected_events_h1']:.2f}",
            ],
        ]
        tables.append(
            {
                "title": "Analysis times (expected)",
                "columns": ["look", "events", "time (months)", "patients accrued"],
                "rows": [
                    [str(i + 1), f"{e:.2f}", f"{t:.2f}", f"{n:.2f}"]
                    for i, (e, t, n) in enumerate(
                        zip(
                            ss["events_per_stage"],
                            ss["analysis_times_months"],
                            ss["subjects_per_stage"],
                            strict=True,
                        )
                    )
                ],
            }
        )
    elif endpoint == "rates" and ss is not None:
        tables[1]["rows"] += [
            ["patients (maximum; rounded up)", f"{ss['n']:.2f} ({ss['n_ceil']})"],
            ["patients, fixed design", _g(ss["n_fixed"], 2)],
            ["expected patients under H0 / H1", f"{ss['expected_n_h0']:.2f} / {ss['expected_n_h1']:.2f}"],
        ]
    title = "Group-sequential design"
    if endpoint == "survival":
        title += " for a time-to-event endpoint"
    elif endpoint == "rates":
        title += " comparing two proportions"
    return {
        "title": title,
        "method": method,
        "rule": rule,
        "assumptions": assumptions,
        "tables": tables,
        "references": list(res.get("references", [])),
        "oc_note": "Boundaries and characteristics are exact (recursive numerical integration, no "
        "simulation); sizes are unrounded as rpact prints them, rounded up in brackets.",
    }


def design_summary(
    kind: str, result: dict[str, Any], *, generated_at: datetime | None = None
) -> dict[str, Any]:
    """The protocol summary of a design (JSON-ready).

    Parameters
    ----------
    kind
        ``predictive``, ``bop2``, ``borrow`` or ``group_sequential`` (``GS_KIND``).
    result
        The design's ``to_dict()`` (group-sequential: :func:`group_sequential_result`).
    generated_at
        Timestamp (default now, UTC).

    Raises
    ------
    InputError
        For an unknown ``kind``.
    """
    if kind not in (*KINDS, GS_KIND):
        raise InputError(
            "unknown design kind", field="kind", value=kind, remedy="one of " + ", ".join((*KINDS, GS_KIND))
        )
    if kind == GS_KIND:
        body = _group_sequential(result)
    elif kind == "borrow":
        body = _borrow(result)
    else:
        body = _single_arm(kind, result)
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
