"""`redif design group-sequential | rates | means` and the rpact-style path of `redif design survival`.

Thin: parse -> :mod:`redif.design.group_sequential` / :mod:`redif.design.sample_size_gs` -> render
(rich table, or ``--json``). Engines are imported inside the commands (start-up time, see
:mod:`redif.cli.design`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich import box
from rich.table import Table

from redif.cli._common import JsonOpt, console, emit_json, parse_float_list
from redif.cli._flags import field_flags

__all__ = [
    "PDF_OPT",
    "SUMMARY_OPT",
    "add_commands",
    "design_from_options",
    "survival_rpact",
    "write_gs_summary",
]

_TYPE_HELP = "OF, P, WT (with --delta-wt), asOF, asP, asKD (with --rho), asHSD (with --gamma)."
PDF_OPT = typer.Option(
    None, "--pdf", help="Write the protocol design summary (PDF: boundaries on the z and effect scale) here."
)
SUMMARY_OPT = typer.Option(None, "--summary-json", help="Write the protocol design summary (JSON) here.")


def write_gs_summary(
    design: Any,
    size: Any,
    pdf: Path | None,
    summary_json: Path | None,
    *,
    alpha: float = 0.0,
    beta: float = 0.0,
    sided: int = 1,
) -> None:
    """Write the group-sequential design summary (:mod:`redif.reports.design_summary`) as PDF and/or JSON.

    ``design`` None (a fixed design, ``--k 1``): the summary is of the single-analysis design with
    ``alpha``, ``beta`` and ``sided``.
    """
    if pdf is None and summary_json is None:
        return
    import json

    from redif.cli._common import to_jsonable
    from redif.design.effect_scale import effect_boundaries_for
    from redif.design.group_sequential import group_sequential_design
    from redif.design.gs_plots import boundary_figure
    from redif.io.figures import figure_bytes
    from redif.reports.design_summary import (
        GS_KIND,
        design_summary,
        design_summary_pdf,
        group_sequential_result,
    )

    if design is None:
        design = group_sequential_design(1, alpha, beta, sided, "OF")
    now = datetime.now(UTC).replace(microsecond=0)
    s = design_summary(GS_KIND, group_sequential_result(design, size), generated_at=now)
    if pdf is not None:
        eff = None if size is None else effect_boundaries_for(design, size)
        svg = figure_bytes(boundary_figure(design, eff), "svg").decode("utf-8")
        pdf.parent.mkdir(parents=True, exist_ok=True)
        pdf.write_bytes(design_summary_pdf(s, generated_at=now, plot_svg=svg))
    if summary_json is not None:
        summary_json.parent.mkdir(parents=True, exist_ok=True)
        summary_json.write_text(
            json.dumps(to_jsonable(s), indent=2, allow_nan=False) + "\n", encoding="utf-8"
        )


def design_from_options(
    k: int,
    alpha: float,
    beta: float,
    sided: int,
    type_of_design: str,
    delta_wt: float | None = None,
    gamma: float | None = None,
    rho: float | None = None,
    info_rates: str | None = None,
    beta_spending: str = "none",
    gamma_beta: float | None = None,
    binding: bool = False,
) -> Any:
    """Build the group-sequential design from command-line options (``k = 1`` gives the one-look design)."""
    from redif.design.group_sequential import group_sequential_design
    from redif.errors import InputError

    needs = {"asKD": ("rho", rho, "2"), "asHSD": ("gamma", gamma, "-4"), "WT": ("delta_wt", delta_wt, "0.25")}
    if type_of_design in needs and needs[type_of_design][1] is None:
        name, _, example = needs[type_of_design]
        raise InputError(
            f"--type {type_of_design} needs its parameter",
            field=name,
            remedy=f"add --{name.replace('_', '-')}, e.g. {example}",
        )
    if beta_spending in ("bsKD", "bsHSD") and gamma_beta is None:
        raise InputError(
            f"--beta-spending {beta_spending} needs its parameter",
            field="gamma_beta",
            remedy="add --gamma-beta, e.g. 2",
        )
    rates = parse_float_list(info_rates, option="info_rates") if info_rates else None
    gamma_a = rho if type_of_design == "asKD" else gamma
    return group_sequential_design(
        k,
        alpha,
        beta,
        sided,
        type_of_design,
        info_rates=rates,
        delta_wt=delta_wt,
        gamma_a=gamma_a,
        beta_spending=beta_spending,
        gamma_b=gamma_beta,
        binding=binding,
    )


def sizing_design(k: int, *args: Any) -> Any:
    """The design a sample size is computed on: ``None`` (the fixed design of the sample-size engines) for
    ``k = 1``, else :func:`design_from_options` with the same arguments."""
    return None if k == 1 else design_from_options(k, *args)


def _vec(xs: list[float] | None, d: int = 4) -> str:
    return "-" if xs is None else ", ".join(f"{x:.{d}f}" for x in xs)


def _render_design(d: Any) -> None:
    t = Table(
        box=box.SIMPLE_HEAD,
        title=f"Group-sequential design {d.type_of_design}, K = {d.k}, "
        f"alpha {d.alpha:g} ({d.sided}-sided), beta {d.beta:g}",
    )
    for col in ("look", "info rate", "critical z", "futility z", "alpha spent", "power (cum.)"):
        t.add_column(col, justify="right")
    for i in range(d.k):
        fut = "-" if d.futility_bounds is None or i >= d.k - 1 else f"{d.futility_bounds[i]:.4f}"
        t.add_row(
            str(i + 1),
            f"{d.information_rates[i]:.3f}",
            f"{d.critical_values[i]:.4f}",
            fut,
            f"{d.alpha_spent[i]:.6f}",
            f"{d.power[i]:.4f}",
        )
    console.print(t)
    fut = (
        ""
        if d.futility_bounds is None
        else (f"; futility {d.type_beta_spending} ({'binding' if d.binding_futility else 'non-binding'})")
    )
    console.print(
        f"Inflation factor {d.inflation_factor:.4f}; expected information relative to the fixed design: "
        f"H0 {d.expected_information_h0:.4f}, H1 {d.expected_information_h1:.4f}{fut}. "
        "Exact recursive integration (Jennison & Turnbull 2000, ch. 19); rpact 3.3.4 conventions."
    )


def survival_rpact(
    hr: float,
    alpha: float,
    power: float,
    sided: int,
    ratio: float,
    accrual_months: str | None,
    followup_months: float | None,
    median_control_months: float | None,
    lambda_control: float | None,
    accrual_intensity: str | None,
    dropout_rate: float,
    dropout_months: float,
    design: Any,
    as_json: bool,
    pdf: Path | None = None,
    summary_json: Path | None = None,
) -> None:
    """Run and render the rpact-style survival size (``redif design survival`` with the new flags);
    ``pdf`` / ``summary_json``: write the protocol design summary (:func:`write_gs_summary`)."""
    from redif.design.sample_size_gs import sample_size_survival
    from redif.errors import InputError

    if accrual_months is None or followup_months is None:
        raise InputError(
            "give the accrual and the follow-up time",
            field="accrual_months",
            remedy="add --accrual-months and --followup-months",
        )
    ends = parse_float_list(accrual_months, option="accrual_months")
    inten = parse_float_list(accrual_intensity, option="accrual_intensity") if accrual_intensity else None
    res = sample_size_survival(
        hr,
        accrual_months=ends,
        followup_months=followup_months,
        median_control_months=median_control_months,
        lambda_control=lambda_control,
        accrual_intensity=inten,
        dropout_rate=dropout_rate,
        dropout_months=dropout_months,
        design=design,
        alpha=alpha,
        power=power,
        sided=sided,
        ratio=ratio,
    )
    write_gs_summary(design, res, pdf, summary_json, alpha=res.alpha, beta=res.beta, sided=res.sided)
    if as_json:
        emit_json(res)
        return
    t = Table(
        box=box.SIMPLE_HEAD,
        title=f"Log-rank design: HR {hr:g}, alpha {res.alpha:g} ({res.sided}-sided), "
        f"power {1 - res.beta:g}, ratio {ratio:g}:1",
    )
    eff = None
    if design is not None:
        from redif.design.effect_scale import effect_boundaries_for

        eff = effect_boundaries_for(design, res)
    cols = ["look", "events", "time (months)", "patients accrued"] + ([] if eff is None else ["HR bound"])
    for col in cols:
        t.add_column(col, justify="right")
    for i in range(res.k):
        b = None if eff is None else eff.efficacy[i]
        hr_b = [] if eff is None else ["-" if b is None else f"{b:.4f}"]
        t.add_row(
            str(i + 1),
            f"{res.events_per_stage[i]:.2f}",
            f"{res.analysis_times_months[i]:.2f}",
            f"{res.subjects_per_stage[i]:.2f}",
            *hr_b,
        )
    console.print(t)
    console.print(
        f"Maximum events {res.events:.2f} ({res.events_ceil}); patients {res.subjects:.2f} "
        f"({res.subjects_ceil}); P(event by the end) {res.p_event:.4f}. Schoenfeld (Biometrics 1983), "
        "exponential survival and drop-out, piecewise-uniform accrual (rpact 3.3.4 getSampleSizeSurvival)."
    )


def _size_table(title: str, res: Any) -> None:
    t = Table(box=box.SIMPLE_HEAD, title=title)
    for col in ("look", "patients (cum.)", "rounded up"):
        t.add_column(col, justify="right")
    for i in range(res.k):
        t.add_row(str(i + 1), f"{res.n_per_stage[i]:.2f}", str(res.n_per_stage_ceil[i]))
    console.print(t)
    console.print(
        f"Total {res.n:.2f} ({res.n_ceil}); n1 {res.n1:.2f}, n2 {res.n2:.2f}; "
        f"fixed design {res.n_fixed:.2f}; "
        f"expected under H1 {res.expected_n_h1:.2f} (rpact 3.3.4 conventions)."
    )


def add_commands(app: typer.Typer) -> None:
    """Register ``group-sequential``, ``rates`` and ``means`` on the ``design`` application."""

    @app.command("group-sequential")
    @field_flags(gamma_a="--gamma", gamma_b="--gamma-beta", type_of_design="--type")
    def group_sequential_cmd(
        k: int = typer.Option(..., "--k", help="Number of looks (kMax)."),
        alpha: float = typer.Option(
            0.025, "--alpha", help="Type I error (both sides together if --sided 2)."
        ),
        beta: float = typer.Option(0.2, "--beta", help="Type II error."),
        sided: int = typer.Option(1, "--sided", help="1 or 2 (symmetric)."),
        type_of_design: str = typer.Option("OF", "--type", help=_TYPE_HELP),
        delta_wt: float | None = typer.Option(None, "--delta-wt", help="Wang-Tsiatis Delta (--type WT)."),
        gamma: float | None = typer.Option(None, "--gamma", help="Hwang-Shih-DeCani gamma (--type asHSD)."),
        rho: float | None = typer.Option(None, "--rho", help="Kim-DeMets rho (--type asKD)."),
        info_rates: str | None = typer.Option(
            None, "--info-rates", help="r1,...,1 (default equally spaced)."
        ),
        beta_spending: str = typer.Option("none", "--beta-spending", help="none, bsOF, bsP, bsKD, bsHSD."),
        gamma_beta: float | None = typer.Option(None, "--gamma-beta", help="Parameter of bsKD / bsHSD."),
        binding: bool = typer.Option(False, "--binding", help="Binding futility bounds."),
        pdf: Path | None = PDF_OPT,
        summary_json: Path | None = SUMMARY_OPT,
        as_json: JsonOpt = False,
    ) -> None:
        """Group-sequential boundaries, spending, inflation factor, power and expected information (rpact
        getDesignGroupSequential + getDesignCharacteristics); --pdf / --summary-json write the protocol
        design summary."""
        d = design_from_options(
            k,
            alpha,
            beta,
            sided,
            type_of_design,
            delta_wt,
            gamma,
            rho,
            info_rates,
            beta_spending,
            gamma_beta,
            binding,
        )
        write_gs_summary(d, None, pdf, summary_json)
        if as_json:
            emit_json(d)
            return
        _render_design(d)

    @app.command("rates")
    @field_flags(gamma_a="--gamma", gamma_b="--gamma-beta", type_of_design="--type")
    def rates_cmd(
        p1: float = typer.Option(..., "--p1", help="Rate in the experimental arm (group 1)."),
        p2: float = typer.Option(..., "--p2", help="Rate in the control arm (group 2)."),
        alpha: float = typer.Option(0.025, "--alpha"),
        power: float = typer.Option(0.8, "--power"),
        sided: int = typer.Option(1, "--sided"),
        ratio: float = typer.Option(1.0, "--ratio", help="n1 / n2 (experimental : control)."),
        k: int = typer.Option(1, "--k", help="Looks (1: fixed design)."),
        type_of_design: str = typer.Option("OF", "--type", help=_TYPE_HELP),
        info_rates: str | None = typer.Option(None, "--info-rates"),
        gamma: float | None = typer.Option(None, "--gamma"),
        rho: float | None = typer.Option(None, "--rho"),
        delta_wt: float | None = typer.Option(None, "--delta-wt"),
        beta_spending: str = typer.Option("none", "--beta-spending"),
        gamma_beta: float | None = typer.Option(None, "--gamma-beta"),
        binding: bool = typer.Option(False, "--binding"),
        pdf: Path | None = PDF_OPT,
        summary_json: Path | None = SUMMARY_OPT,
        as_json: JsonOpt = False,
    ) -> None:
        """Patients to compare two proportions, fixed or group-sequential (rpact getSampleSizeRates);
        --pdf / --summary-json write the protocol design summary (boundaries on the rate-difference
        scale)."""
        from redif.design.sample_size_gs import sample_size_rates

        design = sizing_design(k, alpha, 1 - power, sided, type_of_design, delta_wt, gamma, rho, info_rates,
                               beta_spending, gamma_beta, binding)
        res = sample_size_rates(p1, p2, design=design, alpha=alpha, power=power, sided=sided, ratio=ratio)
        write_gs_summary(design, res, pdf, summary_json, alpha=res.alpha, beta=res.beta, sided=res.sided)
        if as_json:
            emit_json(res)
            return
        _size_table(
            f"Two proportions {p1:g} vs {p2:g}, alpha {alpha:g} ({sided}-sided), power {power:g}", res
        )

    @app.command("means")
    @field_flags(gamma_a="--gamma", gamma_b="--gamma-beta", type_of_design="--type")
    def means_cmd(
        alternative: float = typer.Option(..., "--alternative", help="Mean difference to detect."),
        stdev: float = typer.Option(1.0, "--stdev", help="Common standard deviation."),
        alpha: float = typer.Option(0.025, "--alpha"),
        power: float = typer.Option(0.8, "--power"),
        sided: int = typer.Option(1, "--sided"),
        ratio: float = typer.Option(1.0, "--ratio", help="n1 / n2."),
        normal: bool = typer.Option(False, "--normal", help="Normal approximation instead of the t-test."),
        k: int = typer.Option(1, "--k"),
        type_of_design: str = typer.Option("OF", "--type", help=_TYPE_HELP),
        info_rates: str | None = typer.Option(None, "--info-rates"),
        gamma: float | None = typer.Option(None, "--gamma"),
        rho: float | None = typer.Option(None, "--rho"),
        delta_wt: float | None = typer.Option(None, "--delta-wt"),
        beta_spending: str = typer.Option("none", "--beta-spending"),
        gamma_beta: float | None = typer.Option(None, "--gamma-beta"),
        binding: bool = typer.Option(False, "--binding"),
        as_json: JsonOpt = False,
    ) -> None:
        """Patients to detect a mean difference, fixed or group-sequential (rpact getSampleSizeMeans)."""
        from redif.design.sample_size_gs import sample_size_means

        design = sizing_design(k, alpha, 1 - power, sided, type_of_design, delta_wt, gamma, rho, info_rates,
                               beta_spending, gamma_beta, binding)
        res = sample_size_means(
            alternative,
            stdev,
            design=design,
            alpha=alpha,
            power=power,
            sided=sided,
            ratio=ratio,
            normal_approximation=normal,
        )
        if as_json:
            emit_json(res)
            return
        test = "normal approximation" if normal else "t-test"
        _size_table(
            f"Mean difference {alternative:g} (sd {stdev:g}), {test}, alpha {alpha:g} ({sided}-sided), "
            f"power {power:g}",
            res,
        )

    _ = (group_sequential_cmd, rates_cmd, means_cmd)
