"""`redif design predictive|bop2|borrow|assurance`: Bayesian monitoring, borrowing and assurance.

These commands join the ``design`` group of :mod:`redif.cli.design` (``register`` is a no-op kept for
the group list in :mod:`redif.cli.main`). Thin: parse -> engine in :mod:`redif.design` -> render.
Engines are imported inside the commands (start-up time; see :mod:`redif.cli.design`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich import box
from rich.table import Table

from redif import DISCLAIMER
from redif.cli._common import JsonOpt, console, emit_json, parse_float_list
from redif.cli._flags import field_flags
from redif.cli.design import _arms, _fmt, _save, design_app

__all__ = ["register"]


def _looks(text: str | None) -> list[int] | None:
    if not text:
        return None
    vals = parse_float_list(text, option="looks")
    return [int(v) if v == int(v) else v for v in vals]  # type: ignore[misc]


def _write_summary(
    kind: str, result: dict[str, Any], pdf: Path | None, summary_json: Path | None, figure: Any = None
) -> None:
    if pdf is None and summary_json is None:
        return
    import json

    from redif.cli._common import to_jsonable
    from redif.reports.design_summary import design_summary, design_summary_pdf

    now = datetime.now(UTC)
    s = design_summary(kind, result, generated_at=now)
    if pdf is not None:
        pdf.parent.mkdir(parents=True, exist_ok=True)
        svg = None
        if figure is not None:
            from redif.io.figures import figure_bytes

            svg = figure_bytes(figure(), "svg").decode("utf-8")
        pdf.write_bytes(design_summary_pdf(s, generated_at=now, plot_svg=svg))
    if summary_json is not None:
        summary_json.parent.mkdir(parents=True, exist_ok=True)
        summary_json.write_text(
            json.dumps(to_jsonable(s), indent=2, allow_nan=False) + "\n", encoding="utf-8"
        )


def _monitoring_fig(table: Any, p0: float, p1: float) -> Any:
    from redif.design.bayes_plots import monitoring_figure

    return monitoring_figure(table, p0=p0, p1=p1)


def _borrowing_fig(design: Any) -> Any:
    from redif.design.bayes_plots import borrowing_figure

    return borrowing_figure(design)


def _stop_table(tab: dict[str, Any], title: str) -> Table:
    t = Table(title=title, box=box.SIMPLE_HEAD, show_edge=False)
    t.add_column("patients n", justify="right")
    t.add_column("decision")
    for row in tab["rows"][:-1]:
        r = row["stop_if_at_most"]
        if r >= 0:
            t.add_row(str(row["n"]), f"stop (futility) if responses <= {r}")
    last = tab["rows"][-1]
    t.add_row(str(last["n"]), f"final: promising if responses > {last['reject_if_more_than']}")
    return t


_PDF = typer.Option(None, "--pdf", help="Write a protocol design summary (PDF) to this path.")
_SUMMARY = typer.Option(None, "--summary-json", help="Write the protocol design summary (JSON) to this path.")
_DPRIOR = typer.Option(
    None, "--design-prior", help="Design prior of p (a,b or w,a,b;...): adds the assurance."
)


def _assurance(table: Any, design_prior: str | None, out: dict[str, Any]) -> None:
    if design_prior:
        from redif.design.assurance import parse_mixture, single_arm_assurance

        out["assurance"] = single_arm_assurance(table, parse_mixture(design_prior))


# --------------------------------------------------------------------------------------- predictive
@design_app.command("predictive")
@field_flags(theta_l="--theta-l-grid", theta_t="--theta-t-grid")
def predictive_cmd(
    p0: float = typer.Option(..., "--p0", help="Unacceptable response rate (H0: p <= p0)."),
    p1: float = typer.Option(..., "--p1", help="Desirable response rate."),
    nmax: int = typer.Option(..., "--nmax", help="Maximum number of patients."),
    nmin: int | None = typer.Option(
        None, "--nmin", help="Search Nmax from here up to --nmax for the smallest feasible one (minimax)."
    ),
    alpha: float = typer.Option(0.05, "--alpha", help="Largest type I error (exact)."),
    power: float = typer.Option(0.8, "--power", help="Smallest power at p1 (exact)."),
    prior_a: float | None = typer.Option(None, "--prior-a", help="Beta prior a (default p0)."),
    prior_b: float | None = typer.Option(None, "--prior-b", help="Beta prior b (default 1 - p0)."),
    looks: str | None = typer.Option(
        None, "--looks", help="Interim looks, e.g. 10,20,30 (default: after every patient)."
    ),
    theta_l_grid: str | None = typer.Option(None, "--theta-l-grid", help="theta_L values searched."),
    theta_t_grid: str | None = typer.Option(None, "--theta-t-grid", help="theta_T values searched."),
    plot: Path | None = typer.Option(None, "--plot", help="Write boundary and OC plots to this PNG."),
    pdf: Path | None = _PDF,
    summary_json: Path | None = _SUMMARY,
    design_prior: str | None = _DPRIOR,
    as_json: JsonOpt = False,
) -> None:
    """Predictive-probability single-arm design (Lee & Liu 2008): search of (theta_L, theta_T), exact OC."""
    from redif.design.predictive import predictive_design, predictive_minimax

    kw: dict[str, Any] = {
        "alpha": alpha,
        "power": power,
        "a": prior_a,
        "b": prior_b,
        "looks": _looks(looks),
        "theta_l_grid": parse_float_list(theta_l_grid, option="theta_l_grid") if theta_l_grid else None,
        "theta_t_grid": parse_float_list(theta_t_grid, option="theta_t_grid") if theta_t_grid else None,
    }

    if nmin is not None and looks:
        from redif.errors import InputError

        raise InputError(
            "the Nmax search (--nmin) monitors after every patient",
            field="looks",
            value=looks,
            remedy="drop --looks, or give a fixed --nmax without --nmin",
        )

    def run() -> Any:
        if nmin is None:
            return predictive_design(p0, p1, nmax, **kw)
        return predictive_minimax(p0, p1, nmin, nmax, **{k: v for k, v in kw.items() if k != "looks"})

    if as_json:
        res = run()
    else:
        with console.status("searching (theta_L, theta_T) with exact operating characteristics..."):
            res = run()
    out = res.to_dict()
    _assurance(res.design.table, design_prior, out)
    if plot is not None:
        from redif.design.bayes_plots import monitoring_figure

        _save(monitoring_figure(res.design.table, p0=p0, p1=p1, title="Predictive-probability design"), plot)
    _write_summary("predictive", out, pdf, summary_json, lambda: _monitoring_fig(res.design.table, p0, p1))
    if as_json:
        out["disclaimer"] = DISCLAIMER
        emit_json(out)
        return
    d = res.design
    console.print(
        _stop_table(
            d.table.to_dict(),
            f"Predictive-probability design: p0={p0:g}, p1={p1:g}, "
            f"Nmax={res.nmax}, prior Beta({res.prior_a:g}, {res.prior_b:g})",
        )
    )
    console.print(
        f"theta_L = {d.theta_l:g}, theta_T = {d.theta_t:g}; type I error {d.alpha:.4f}, power {d.power:.4f}; "
        f"PET {d.pet0:.3f} (p0) / {d.pet1:.3f} (p1); E[N] {d.en0:.2f} (p0) / {d.en1:.2f} (p1); "
        f"{len(res.admissible)} admissible of {res.n_evaluated}. Exact enumeration. "
        "Lee & Liu, Clin Trials 2008."
    )
    if "assurance" in out:
        console.print(f"Assurance under the design prior: {out['assurance']:.4f} (exact).")


# --------------------------------------------------------------------------------------------- bop2
@design_app.command("bop2")
@field_flags(lam="--lambda-grid", gamma="--gamma-grid")
def bop2_cmd(
    p0: float = typer.Option(..., "--p0", help="Null response rate."),
    p1: float = typer.Option(..., "--p1", help="Alternative response rate."),
    nmax: int = typer.Option(..., "--nmax", help="Maximum number of patients N."),
    n_looks: int | None = typer.Option(None, "--n-looks", help="Equally spaced analyses incl. final (5)."),
    looks: str | None = typer.Option(None, "--looks", help="Interim looks, e.g. 10,20,30."),
    alpha: float = typer.Option(0.1, "--alpha", help="Largest type I error (exact)."),
    prior_a: float | None = typer.Option(None, "--prior-a", help="Beta prior a (default p0)."),
    prior_b: float | None = typer.Option(None, "--prior-b", help="Beta prior b (default 1 - p0)."),
    plot: Path | None = typer.Option(None, "--plot", help="Write boundary and OC plots to this PNG."),
    pdf: Path | None = _PDF,
    summary_json: Path | None = _SUMMARY,
    design_prior: str | None = _DPRIOR,
    as_json: JsonOpt = False,
) -> None:
    """BOP2 single-arm design (Zhou, Lee & Yuan 2017): optimised (lambda, gamma), exact OC."""
    from redif.design.bop2 import bop2_design

    res = bop2_design(p0, p1, nmax, looks=_looks(looks), n_looks=n_looks, alpha=alpha, a=prior_a, b=prior_b)
    out = res.to_dict()
    _assurance(res.table, design_prior, out)
    if plot is not None:
        from redif.design.bayes_plots import monitoring_figure

        _save(monitoring_figure(res.table, p0=p0, p1=p1, title="BOP2 design"), plot)
    _write_summary("bop2", out, pdf, summary_json, lambda: _monitoring_fig(res.table, p0, p1))
    if as_json:
        out["disclaimer"] = DISCLAIMER
        emit_json(out)
        return
    console.print(
        _stop_table(
            res.table.to_dict(),
            f"BOP2: p0={p0:g}, p1={p1:g}, N={nmax}, prior Beta({res.prior_a:g}, {res.prior_b:g})",
        )
    )
    console.print(
        f"lambda = {res.lam:g}, gamma = {res.gamma:g}; type I error {res.alpha:.4f}, power {res.power:.4f}; "
        f"PET {res.pet0:.3f} (p0) / {res.pet1:.3f} (p1); E[N] {res.en0:.2f} (p0) / {res.en1:.2f} (p1). "
        "Exact enumeration. Zhou, Lee & Yuan, Stat Med 2017."
    )
    if "assurance" in out:
        console.print(f"Assurance under the design prior: {out['assurance']:.4f} (exact).")


# ------------------------------------------------------------------------------------------- borrow
@design_app.command("borrow")
@field_flags(data="--data", mixture="--prior", w="--prior", a="--prior", b="--prior")
def borrow_cmd(
    n_control: int = typer.Option(..., "--n-control", help="Control patients."),
    n_treatment: int = typer.Option(..., "--n-treatment", help="Treated patients."),
    effect: float = typer.Option(..., "--effect", help="p_t - p_c at which power is shown."),
    delta: float = typer.Option(0.0, "--delta", help="Margin: success if Pr(p_t - p_c > delta) > c."),
    c: float = typer.Option(0.975, "--c", help="Posterior-probability cut-off."),
    prior: str | None = typer.Option(
        None, "--prior", help="Control prior a,b or w,a,b;w,a,b instead of a MAP prior."
    ),
    data: Path | None = typer.Option(None, "--data", help="CSV of historical control arms: label,r,n."),
    from_evidence: bool = typer.Option(
        False, "--from-evidence", help="Historical arms from the evidence base."
    ),
    outcome: str | None = typer.Option(None, "--outcome", help="uptake or response (with --from-evidence)."),
    genotype: str | None = typer.Option(None, "--genotype"),
    definition: str | None = typer.Option(None, "--definition"),
    mix_definitions: bool = typer.Option(
        False, "--mix-definitions",
        help="Borrow uptake arms measured under different definitions anyway (labelled mixed).",
    ),
    min_grade: str = typer.Option("secondary", "--min-grade"),
    robust_weight: float | None = typer.Option(None, "--robust-weight", help="Vague-component weight (0.2)."),
    p_control: str | None = typer.Option(
        None, "--p-control", help="True control rates (default 0.05..0.95)."
    ),
    design_prior_control: str | None = typer.Option(
        None, "--design-prior-control", help="Design prior of p_c (a,b or w,a,b;...) for the assurance."
    ),
    design_prior_treatment: str | None = typer.Option(
        None, "--design-prior-treatment", help="Design prior of p_t for the assurance."
    ),
    plot: Path | None = typer.Option(None, "--plot", help="Write OC curves to this PNG."),
    pdf: Path | None = _PDF,
    summary_json: Path | None = _SUMMARY,
    as_json: JsonOpt = False,
) -> None:
    """Two-arm binary design, robust MAP control prior: exact OC across control rates, ESS, assurance."""
    from redif.design.assurance import parse_mixture
    from redif.design.borrowing import borrowing_design, two_arm_assurance
    from redif.errors import InputError

    if prior is not None:
        mix = parse_mixture(prior, field="prior")
        source: dict[str, Any] = {"prior": prior}
    elif data is not None or from_evidence:
        from redif.design.bayes import map_prior

        arms = _arms(data, from_evidence, outcome, genotype, definition, min_grade, mix_definitions)
        mp = map_prior(arms.r, arms.n, robust_weight=robust_weight)
        mix = mp.mixture
        source = {"historical": arms.to_dict(), "robust_weight": mp.robust_weight,
                  "mixed_definitions": arms.mixed_definitions}
    else:
        raise InputError(
            "no control prior given",
            field="prior",
            value=None,
            remedy="give --prior a,b, or --data arms.csv, or --from-evidence",
        )
    grid = parse_float_list(p_control, option="p_control") if p_control else None
    res = borrowing_design(mix, n_control, n_treatment, effect=effect, delta=delta, c=c, p_control=grid)
    out = res.to_dict()
    out["control_prior_source"] = source
    if design_prior_control or design_prior_treatment:
        if not (design_prior_control and design_prior_treatment):
            raise InputError(
                "give both design priors",
                field="design_prior_treatment",
                value=design_prior_treatment,
                remedy="--design-prior-control and --design-prior-treatment",
            )
        out["assurance"] = two_arm_assurance(
            res.region,
            parse_mixture(design_prior_control, "design_prior_control"),
            parse_mixture(design_prior_treatment, "design_prior_treatment"),
        )
    if plot is not None:
        from redif.design.bayes_plots import borrowing_figure

        _save(borrowing_figure(res), plot)
    _write_summary("borrow", out, pdf, summary_json, lambda: _borrowing_fig(res))
    if as_json:
        out["disclaimer"] = DISCLAIMER
        emit_json(out)
        return
    t = Table(
        title=f"Borrowing design: {out['rule']}; n_c={n_control}, n_t={n_treatment}", box=box.SIMPLE_HEAD
    )
    for col in ("p_c", "type I (borrow)", "type I (vague)", f"power +{effect:g} (borrow)", "power (vague)"):
        t.add_column(col, justify="right")
    oc = res.oc
    for i, pcv in enumerate(oc.p_control):
        t.add_row(
            f"{pcv:.2f}",
            _fmt(oc.type1_error[i]),
            _fmt(oc.type1_error_vague[i]),
            _fmt(oc.power[i]),
            _fmt(oc.power_vague[i]),
        )
    console.print(t)
    console.print(
        f"Control prior mean {mix.mean:.3f}, sd {mix.sd:.3f}; ESS ELIR {_fmt(res.ess.elir, 1)} "
        f"(moment {_fmt(res.ess.moment, 1)}, Morita {_fmt(res.ess.morita, 1)}) patients."
        + (f" Assurance {out['assurance']:.4f}." if "assurance" in out else "")
        + " Exact enumeration over (x_c, x_t)."
    )


# ---------------------------------------------------------------------------------------- assurance
@design_app.command("assurance")
@field_flags(looks="--table", r="--table")
def assurance_cmd(
    design_prior: str = typer.Option(..., "--design-prior", help="Design prior of p: a,b or w,a,b;w,a,b."),
    single: str | None = typer.Option(None, "--single", help="Single-stage design n,r (reject if > r)."),
    simon: str | None = typer.Option(None, "--simon", help="Simon design r1,n1,r,n."),
    table: str | None = typer.Option(
        None, "--table", help="Stopping table n:r,...,N:r_final (e.g. from design predictive or bop2)."
    ),
    as_json: JsonOpt = False,
) -> None:
    """Assurance (probability of success) of a single-arm binary design under a design prior, exactly."""
    from redif.design.assurance import (
        REFERENCE,
        parse_mixture,
        simon_table,
        single_arm_assurance,
        single_stage_table,
    )
    from redif.design.monitoring import StoppingTable, monitoring_oc
    from redif.errors import InputError

    given = [x for x in (single, simon, table) if x]
    if len(given) != 1:
        raise InputError(
            "give exactly one design",
            field="table",
            value=given,
            remedy="one of --single n,r, --simon r1,n1,r,n or --table n:r,...",
        )
    prior = parse_mixture(design_prior)
    if single:
        v = [int(x) for x in parse_float_list(single, option="single")]
        if len(v) != 2:
            raise InputError("expected n,r", field="single", value=single)
        tab = single_stage_table(v[0], v[1])
    elif simon:
        v = [int(x) for x in parse_float_list(simon, option="simon")]
        if len(v) != 4:
            raise InputError("expected r1,n1,r,n", field="simon", value=simon)
        tab = simon_table(*v)
    else:
        try:
            pairs = [tuple(int(y) for y in x.split(":")) for x in str(table).split(",") if x.strip()]
        except ValueError:
            raise InputError(
                "expected n:r pairs", field="table", value=table, remedy="e.g. 10:0,20:2,30:5,40:11"
            ) from None
        if not pairs or any(len(p) != 2 for p in pairs):
            raise InputError("expected n:r pairs", field="table", value=table, remedy="e.g. 10:0,20:2,40:11")
        tab = StoppingTable(looks=tuple(p[0] for p in pairs), r=tuple(p[1] for p in pairs))
    a = single_arm_assurance(tab, prior)
    mean_p = prior.mean
    power_at_mean = float(monitoring_oc(tab, [mean_p]).reject[0])
    out = {
        "assurance": a,
        "design_prior": prior.to_dict(),
        "stopping_table": tab.to_dict(),
        "power_at_prior_mean": power_at_mean,
        "method": "exact: sum over success paths of K(x) E[p^x (1-p)^(N-x)] under the design prior",
        "references": [REFERENCE],
    }
    if as_json:
        emit_json(out)
        return
    console.print(
        f"Assurance [bold]{a:.4f}[/bold] (power at the design prior's mean {mean_p:.3f}: "
        f"{power_at_mean:.4f}); exact integration of the OC over the design prior. "
        "O'Hagan, Stevens & Campbell, Pharm Stat 2005."
    )


def register(app: typer.Typer) -> None:
    """The commands above join ``design_app``, which :mod:`redif.cli.design` registers."""
