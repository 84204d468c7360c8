"""`redif design` commands: Simon, exact single-stage, Bayesian (MAP) and randomised designs.

Thin: parse -> call the engine in :mod:`redif.design` -> render (rich table, or ``--json``).

Engine modules (numpy, scipy, matplotlib, pydicom, ...) are imported inside the commands: every ``redif``
start-up imports this module, and importing the engines here would take it from about 0.2 s to 2 s or
more (measured with ``python -X importtime -c "import redif.cli.main"``).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import typer
from rich import box
from rich.table import Table

from redif import DISCLAIMER
from redif.cli._common import JsonOpt, console, emit_json, parse_float_list
from redif.cli._flags import field_flags
from redif.cli.design_gs import add_commands

__all__ = ["read_arms_csv", "register"]

design_app = typer.Typer(
    help="Trial design: Simon two-stage, exact single-stage, Bayesian MAP priors, "
    "operating characteristics, randomised sizing.",
    no_args_is_help=True,
)

def read_arms_csv(path: Path) -> Any:
    """Historical arms from a CSV (kept name; the engine is :func:`redif.design.historical.read_arms_csv`)."""
    from redif.design.historical import read_arms_csv as read

    return read(path)


def _arms(
    data: Path | None,
    from_evidence: bool,
    outcome: str | None,
    genotype: str | None,
    definition: str | None,
    min_grade: str,
    mix_definitions: bool = False,
) -> Any:
    from redif.design.historical import select_arms
    from redif.evidence.tables import MixedDefinitionsError

    try:
        return select_arms(data, from_evidence=from_evidence, outcome=outcome, genotype=genotype,
                           definition=definition, min_grade=min_grade, mix_definitions=mix_definitions)
    except MixedDefinitionsError as exc:  # issue 12: name the flags that fix it
        raise exc.with_names("--definition", "--mix-definitions") from None


def _save(fig: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130)


def _fmt(x: float | None, d: int = 4) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{d}f}"


def _simon_with_progress(p0: float, p1: float, alpha: float, beta: float, nmax: int, *, show: bool) -> Any:
    """Run the Simon search, with a progress bar on the terminal for large nmax."""
    from redif.design.simon import simon_design

    if not show or nmax <= 150:
        return simon_design(p0, p1, alpha, beta, nmax=nmax)
    from rich.progress import Progress

    with Progress(console=console, transient=True) as bar:
        task = bar.add_task(f"Simon search up to n = {nmax}", total=1)

        def tick(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return simon_design(p0, p1, alpha, beta, nmax=nmax, progress=tick)


# --------------------------------------------------------------------------------------------- simon
@design_app.command("simon")
def simon_cmd(
    p0: float = typer.Option(..., "--p0", help="Unacceptable response rate (H0: p <= p0)."),
    p1: float = typer.Option(..., "--p1", help="Desirable response rate."),
    alpha: float = typer.Option(0.05, "--alpha", help="Type I error bound (exact, strict)."),
    beta: float = typer.Option(0.2, "--beta", help="Type II error bound (exact, strict)."),
    nmax: int = typer.Option(100, "--nmax", help="Largest total sample size searched (<= 1000)."),
    plot: Path | None = typer.Option(None, "--plot", help="Write OC curves of the designs to this PNG."),
    as_json: JsonOpt = False,
) -> None:
    """Optimal, minimax and admissible Simon two-stage designs (clinfun ph2simon conventions)."""

    res = _simon_with_progress(p0, p1, alpha, beta, nmax, show=not as_json)
    if plot is not None:
        import numpy as np

        from redif.design.oc import oc_table
        from redif.design.plots import oc_figure

        tab = oc_table(
            np.linspace(0, 1, 201),
            simon={
                f"{k} {d.r1}/{d.n1}, {d.r}/{d.n}": (d.r1, d.n1, d.r, d.n)
                for k, d in (("optimal", res.optimal), ("minimax", res.minimax))
            },
        )
        _save(oc_figure(tab, p0=p0, p1=p1, alpha=alpha, title="Simon two-stage designs"), plot)
    if as_json:
        emit_json(res.to_dict())
        return
    t = Table(
        title=f"Simon two-stage designs: p0={p0:g}, p1={p1:g}, alpha<{alpha:g}, beta<{beta:g}, nmax={nmax}",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
    )
    for c in ("design", "r1/n1", "r/n", "EN(p0)", "PET(p0)", "alpha", "power", "qLo", "qHi"):
        t.add_column(c, justify="left" if c == "design" else "right", no_wrap=True,
                     min_width=10 if c == "design" else None)
    for i, d in enumerate(res.admissible):
        name = "minimax" if i == 0 else ("optimal" if i == len(res.admissible) - 1 else "admissible")
        if len(res.admissible) == 1:
            name = "optimal = minimax"
        t.add_row(
            name,
            f"{d.r1}/{d.n1}",
            f"{d.r}/{d.n}",
            f"{d.en0:.2f}",
            f"{d.pet0:.4f}",
            f"{d.alpha:.4f}",
            f"{d.power:.4f}",
            f"{d.q_lo:.3f}",
            f"{d.q_hi:.3f}",
        )
    console.print(t)
    console.print(
        "Stop after stage 1 if <= r1 responses among n1; declare promising if > r among n. "
        "Rule: Simon, Control Clin Trials 1989;10:1-10; admissible: Jung et al., Stat Med 2004."
    )
    if plot is not None:
        console.print(f"OC curves written to {plot}")


# -------------------------------------------------------------------------------------------- single
@design_app.command("single")
def single_cmd(
    p0: float = typer.Option(..., "--p0"),
    p1: float = typer.Option(..., "--p1"),
    alpha: float = typer.Option(0.05, "--alpha"),
    beta: float = typer.Option(0.2, "--beta"),
    solutions: int = typer.Option(5, "--solutions", help="How many designs to list."),
    as_json: JsonOpt = False,
) -> None:
    """Exact single-stage designs (clinfun ph2single): reject H0 if > r responses among n."""
    from redif.design.exact import single_stage_designs

    ds = single_stage_designs(p0, p1, alpha, beta, solutions=solutions)
    if as_json:
        emit_json(
            {
                "p0": p0,
                "p1": p1,
                "alpha_target": alpha,
                "beta_target": beta,
                "designs": [{"n": d.n, "r": d.r, "alpha": d.alpha, "power": d.power} for d in ds],
            }
        )
        return
    t = Table(title=f"Exact single-stage designs: p0={p0:g}, p1={p1:g}, alpha<={alpha:g}, beta<={beta:g}")
    for c in ("n", "r (reject if > r)", "alpha", "power"):
        t.add_column(c, justify="right")
    for d in ds:
        t.add_row(str(d.n), str(d.r), f"{d.alpha:.4f}", f"{d.power:.4f}")
    console.print(t)


# ----------------------------------------------------------------------------------- simon-inference
@design_app.command("simon-inference")
def simon_inference_cmd(
    x: int = typer.Option(..., "--x", help="Responses (stage-1 count if the trial stopped, else total)."),
    r1: int = typer.Option(..., "--r1"),
    n1: int = typer.Option(..., "--n1"),
    n: int = typer.Option(..., "--n"),
    p0: float = typer.Option(..., "--p0"),
    alpha: float = typer.Option(0.05, "--alpha", help="One-sided error of each confidence limit."),
    ci_method: str = typer.Option("exact", "--ci-method", help="exact (default) or clinfun."),
    as_json: JsonOpt = False,
) -> None:
    """UMVUE, stagewise p-value and exact CI after a Simon two-stage trial."""
    from redif.design.inference import simon_inference

    res = simon_inference(x, r1, n1, n, p0, alpha=alpha, ci_method=ci_method)
    if as_json:
        emit_json(
            {
                "umvue": res.umvue,
                "p_value": res.p_value,
                "ci_lower": res.ci_lower,
                "ci_upper": res.ci_upper,
                "confidence": res.confidence,
                "stopped_early": res.stopped_early,
                "ci_method": ci_method,
            }
        )
        return
    t = Table(title=f"Inference after the two-stage trial {r1}/{n1}, n={n}: x={x}")
    for c in ("UMVUE", f"p-value (H0: p<={p0:g})", f"{100 * res.confidence:g}% CI"):
        t.add_column(c, justify="right")
    t.add_row(f"{res.umvue:.4f}", f"{res.p_value:.4g}", f"[{res.ci_lower:.4f}, {res.ci_upper:.4f}]")
    console.print(t)
    console.print("Jung & Kim, Stat Med 2004 (UMVUE); Koyama & Chen, Stat Med 2008 (stagewise ordering).")


# ----------------------------------------------------------------------------------------------- map
@design_app.command("map")
def map_cmd(
    data: Path | None = typer.Option(None, "--data", help="CSV of historical arms: label,r,n."),
    from_evidence: bool = typer.Option(
        False, "--from-evidence", help="Take the arms from the evidence base."
    ),
    outcome: str | None = typer.Option(None, "--outcome", help="uptake or response (with --from-evidence)."),
    genotype: str | None = typer.Option(None, "--genotype", help="e.g. BRAF, RAS (with --from-evidence)."),
    definition: str | None = typer.Option(
        None, "--definition", help="Uptake definition, e.g. post-therapy, diagnostic, 124I."
    ),
    min_grade: str = typer.Option("secondary", "--min-grade", help="Lowest evidence grade kept."),
    mix_definitions: bool = typer.Option(
        False, "--mix-definitions",
        help="Uptake from the evidence base: allow arms under different definitions of restored uptake "
             "(labelled 'mixed definitions'); without it, give --definition when they differ."),
    tau_prior_sd: float | None = typer.Option(
        None, "--tau-prior-sd", help="Half-normal scale of tau (default 1)."
    ),
    mu_prior_sd: float | None = typer.Option(
        None, "--mu-prior-sd", help="sd of the normal prior on mu (default 2)."
    ),
    robust_weight: float | None = typer.Option(
        None, "--robust-weight", help="Weight of the vague component (0.2)."
    ),
    vague: str = typer.Option("uniform", "--vague", help="uniform (Beta(1,1)) or unit (mean-matched)."),
    plot: Path | None = typer.Option(None, "--plot", help="Write the prior densities to this PNG."),
    as_json: JsonOpt = False,
) -> None:
    """Robust meta-analytic-predictive (MAP) prior from historical arms, as a beta mixture."""
    from redif.design.bayes import map_prior

    arms = _arms(data, from_evidence, outcome, genotype, definition, min_grade, mix_definitions)
    if as_json:
        res = map_prior(
            arms.r,
            arms.n,
            tau_prior_sd=tau_prior_sd,
            mu_prior_sd=mu_prior_sd,
            robust_weight=robust_weight,
            vague=vague,
        )
    else:
        with console.status("integrating the hierarchical model and fitting the beta mixture..."):
            res = map_prior(
                arms.r,
                arms.n,
                tau_prior_sd=tau_prior_sd,
                mu_prior_sd=mu_prior_sd,
                robust_weight=robust_weight,
                vague=vague,
            )
    if plot is not None:
        from redif.design.plots import prior_posterior_figure

        _save(
            prior_posterior_figure(
                {"MAP prior": res.map_mixture, "robust MAP prior": res.mixture},
                title=f"MAP prior from {len(arms.r)} arms"
                + (" (MIXED DEFINITIONS)" if arms.mixed_definitions else ""),
            ),
            plot,
        )
    if as_json:
        out = res.to_dict()
        out["historical"] = arms.to_dict()
        out["mixed_definitions"] = arms.mixed_definitions
        out["disclaimer"] = DISCLAIMER
        emit_json(out)
        return
    ta = Table(title=f"Historical arms ({arms.selection})")
    for c in ("arm", "r", "n", "rate"):
        ta.add_column(c, justify="left" if c == "arm" else "right")
    for lab, r, n in zip(arms.labels, arms.r, arms.n, strict=True):
        ta.add_row(lab, str(r), str(n), f"{r / n:.2f}")
    console.print(ta)
    t = Table(
        title=f"Robust MAP prior (weight {res.robust_weight:g} on Beta({res.vague.a[0]:g}, "
        f"{res.vague.b[0]:g}))"
    )
    for c in ("component", "w", "a", "b", "mean"):
        t.add_column(c, justify="right")
    for i, (w, a, b) in enumerate(zip(res.mixture.w, res.mixture.a, res.mixture.b, strict=True)):
        t.add_row(str(i + 1), f"{w:.3f}", f"{a:.3f}", f"{b:.3f}", f"{a / (a + b):.3f}")
    console.print(t)
    console.print(
        f"mean {res.mixture.mean:.4f}, sd {res.mixture.sd:.4f}; ESS: ELIR {_fmt(res.ess.elir, 1)}, "
        f"moment {_fmt(res.ess.moment, 1)}, Morita {_fmt(res.ess.morita, 1)} patients "
        f"(MAP before robustification: ELIR {_fmt(res.ess_map.elir, 1)}); posterior mean tau "
        f"{res.tau_mean:.3f} (logit scale)"
    )
    console.print(
        f"Model: logit(theta_i) ~ N(mu, tau^2), tau ~ HalfNormal({res.tau_prior_sd:g}), "
        f"mu ~ N({res.mu_prior_mean:g}, {res.mu_prior_sd:g}^2); deterministic quadrature. "
        "Neuenschwander et al. 2010; Schmidli et al. 2014."
    )
    console.print(DISCLAIMER)


# ------------------------------------------------------------------------------------------------ oc
@design_app.command("oc")
def oc_cmd(
    p0: float = typer.Option(..., "--p0"),
    p1: float = typer.Option(..., "--p1"),
    alpha: float = typer.Option(0.05, "--alpha"),
    beta: float = typer.Option(0.2, "--beta"),
    nmax: int = typer.Option(100, "--nmax"),
    simon: str | None = typer.Option(
        None, "--simon", help="A Simon design r1,n1,r,n (default: optimal and minimax for p0/p1/alpha/beta)."
    ),
    single: str | None = typer.Option(
        None, "--single", help="A single-stage design n,r (default: smallest)."
    ),
    bayes_n: int | None = typer.Option(
        None, "--bayes-n", help="Sample size of a Bayesian single-arm design."
    ),
    c: float = typer.Option(0.95, "--c", help="Success if P(theta > theta0 | data) > c."),
    theta0: float | None = typer.Option(None, "--theta0", help="Threshold rate (default p0)."),
    data: Path | None = typer.Option(None, "--data", help="CSV of historical arms for a MAP prior."),
    from_evidence: bool = typer.Option(False, "--from-evidence"),
    outcome: str | None = typer.Option(None, "--outcome"),
    genotype: str | None = typer.Option(None, "--genotype"),
    definition: str | None = typer.Option(None, "--definition"),
    min_grade: str = typer.Option("secondary", "--min-grade"),
    mix_definitions: bool = typer.Option(False, "--mix-definitions"),
    robust_weight: float | None = typer.Option(None, "--robust-weight"),
    prior_beta: str | None = typer.Option(
        None, "--prior-beta", help="Beta prior a,b instead of a MAP prior (default Beta(1,1))."
    ),
    grid: str | None = typer.Option(
        None, "--grid", help="Comma-separated true rates (default 0, 0.05, ..., 1)."
    ),
    plot: Path | None = typer.Option(None, "--plot", help="Write the OC curves to this PNG."),
    as_json: JsonOpt = False,
) -> None:
    """Operating characteristics (exact) of Simon, single-stage and Bayesian designs on a grid of p."""
    from redif.design.compare import compare_designs

    arms = None
    if bayes_n is not None and (data is not None or from_evidence):
        arms = _arms(data, from_evidence, outcome, genotype, definition, min_grade, mix_definitions)
    cmp = compare_designs(
        p0, p1, alpha=alpha, beta=beta, nmax=nmax,
        simon=parse_float_list(simon, option="simon") if simon else None,
        single=parse_float_list(single, option="single") if single else None,
        bayes_n=bayes_n, c=c, theta0=theta0, arms=arms, robust_weight=robust_weight,
        prior_beta=parse_float_list(prior_beta, option="prior_beta") if prior_beta else None,
        grid=parse_float_list(grid, option="grid") if grid else None,
    )
    tab = cmp.table
    prior_info = cmp.bayes_dict()
    if plot is not None:
        from redif.design.plots import oc_figure

        _save(oc_figure(tab, p0=p0, p1=p1, alpha=alpha), plot)
    if as_json:
        emit_json(cmp.to_dict())
        return
    t = Table(title="Operating characteristics: P(declare promising) [expected n]")
    t.add_column("p", justify="right")
    for k in tab.curves:
        t.add_column(k, justify="right")
    for i, pi in enumerate(tab.p):
        t.add_row(f"{pi:.2f}", *[f"{tab.curves[k][i]:.3f} [{tab.expected_n[k][i]:.1f}]" for k in tab.curves])
    console.print(t)
    if prior_info:
        console.print(
            f"Bayesian rule: {prior_info['rule']} (critical y = {prior_info['y_crit']}); prior "
            f"{prior_info['kind']} mean {prior_info['mean']:.3f}, sd {prior_info['sd']:.3f}."
        )
    console.print("Exact binomial enumeration, no simulation.")


# ------------------------------------------------------------------------------------------ survival
@design_app.command("survival")
@field_flags(gamma_a="--gamma", gamma_b="--gamma-beta", type_of_design="--type")
def survival_cmd(
    hr: float = typer.Option(..., "--hr", help="Hazard ratio to detect (experimental / control)."),
    alpha: float = typer.Option(0.05, "--alpha", help="Significance level (two-sided unless --sided 1)."),
    power: float = typer.Option(0.8, "--power"),
    ratio: float = typer.Option(1.0, "--ratio", help="Allocation experimental : control."),
    accrual_months: str | None = typer.Option(
        None, "--accrual-months", help="End of accrual, or the ends of accrual periods a1,a2."
    ),
    followup_months: float | None = typer.Option(None, "--followup-months"),
    median_control_months: float | None = typer.Option(None, "--median-control-months"),
    sided: int | None = typer.Option(None, "--sided", help="1 or 2: rpact-style output (issue 15)."),
    lambda_control: float | None = typer.Option(None, "--lambda-control", help="Control hazard per month."),
    accrual_intensity: str | None = typer.Option(None, "--accrual-intensity", help="Relative, per period."),
    dropout_rate: float = typer.Option(0.0, "--dropout-rate", help="P(drop-out) by --dropout-months."),
    dropout_months: float = typer.Option(12.0, "--dropout-months"),
    k: int = typer.Option(1, "--k", help="Looks of a group-sequential design."),
    type_of_design: str = typer.Option("OF", "--type", help="Design type (see group-sequential)."),
    info_rates: str | None = typer.Option(None, "--info-rates"),
    gamma: float | None = typer.Option(None, "--gamma"),
    rho: float | None = typer.Option(None, "--rho"),
    delta_wt: float | None = typer.Option(None, "--delta-wt"),
    beta_spending: str = typer.Option("none", "--beta-spending"),
    gamma_beta: float | None = typer.Option(None, "--gamma-beta"),
    binding: bool = typer.Option(False, "--binding"),
    pdf: Path | None = typer.Option(None, "--pdf", help="Protocol design summary (PDF; rpact-style path)."),
    summary_json: Path | None = typer.Option(None, "--summary-json", help="Protocol design summary (JSON)."),
    as_json: JsonOpt = False,
) -> None:
    """Events for a log-rank test (Schoenfeld) and, with accrual/follow-up, patients.

    With --sided, --k, --lambda-control, --accrual-intensity, --dropout-rate or piecewise accrual
    (--accrual-months 6,30) the rpact-style sizing runs: unrounded events, events per look, patients and
    analysis times (rpact getSampleSizeSurvival); without them the result is today's (two-sided --alpha).
    --pdf / --summary-json (rpact-style path) write the protocol design summary with the hazard-ratio
    boundaries.
    """
    from redif.design.randomised import survival_design

    rpact_style = (sided is not None or k != 1 or lambda_control is not None or accrual_intensity is not None
                   or dropout_rate != 0.0 or (accrual_months is not None and "," in accrual_months)
                   or pdf is not None or summary_json is not None)
    if rpact_style:
        from redif.cli.design_gs import sizing_design, survival_rpact

        s = 2 if sided is None else sided
        design = sizing_design(
            k, alpha, 1 - power, s, type_of_design, delta_wt, gamma, rho, info_rates, beta_spending,
            gamma_beta, binding)
        survival_rpact(hr, alpha, power, s, ratio, accrual_months, followup_months, median_control_months,
                       lambda_control, accrual_intensity, dropout_rate, dropout_months, design, as_json,
                       pdf, summary_json)
        return
    accrual = None if accrual_months is None else parse_float_list(accrual_months, option="accrual_months")[0]
    res = survival_design(hr, alpha, power, ratio, accrual, followup_months, median_control_months)
    if as_json:
        emit_json(res)
        return
    console.print(
        f"Events required: [bold]{res.events}[/bold] ({res.events_exact:.2f}) for HR {hr:g}, "
        f"two-sided alpha {alpha:g}, power {power:g}, ratio {ratio:g}:1 (Schoenfeld, Biometrics 1983)."
    )
    if res.n_total is not None:
        console.print(
            f"P(event) control {res.p_event_control:.3f}, experimental {res.p_event_experimental:.3f}; "
            f"total patients [bold]{res.n_total}[/bold] ({res.n_control} control, "
            f"{res.n_experimental} experimental); exponential survival, uniform accrual."
        )


# ------------------------------------------------------------------------------------------- two-arm
@design_app.command("two-arm")
def two_arm_cmd(
    p1: float = typer.Option(..., "--p1", help="Response rate, control arm."),
    p2: float = typer.Option(..., "--p2", help="Response rate, experimental arm."),
    alpha: float = typer.Option(0.05, "--alpha", help="Two-sided significance level."),
    power: float = typer.Option(0.8, "--power"),
    ratio: float = typer.Option(1.0, "--ratio", help="n2 / n1."),
    cc: bool = typer.Option(False, "--cc", help="Fleiss-Tytun-Ury continuity correction."),
    as_json: JsonOpt = False,
) -> None:
    """Patients per arm for comparing two response rates (normal approximation; exact power)."""
    from redif.design.randomised import two_arm_binary

    res = two_arm_binary(p1, p2, alpha, power, ratio, continuity_correction=cc)
    if as_json:
        emit_json(res)
        return
    console.print(
        f"n1 = [bold]{res.n1}[/bold], n2 = [bold]{res.n2}[/bold] (total {res.n_total}); "
        f"formula {res.n1_exact:.2f} per control arm"
        f"{' with continuity correction' if cc else ''}; exact power of the pooled z-test "
        f"{_fmt(res.exact_power)} (Fleiss, Levin & Paik 2003)."
    )


add_commands(design_app)  # group-sequential, rates, means (issue 15)


def register(app: typer.Typer) -> None:
    """Add the `design` commands to the root application."""
    app.add_typer(design_app, name="design")
