"""`redif dose` commands: kinetics, 124I->131I conversion, lesion and blood dosimetry, planning.

The voxel commands (`redif dose voxel`, `redif dose batch`) live in :mod:`redif.cli.dose_voxel` and
attach to :data:`dose_app`. Commands parse, call one engine function and render; no logic here.

Engine modules (numpy, scipy, matplotlib, pydicom, ...) are imported inside the commands: every ``redif``
start-up imports this module, and importing the engines here would take it from about 0.2 s to 2 s or
more (measured with ``python -X importtime -c "import redif.cli.main"``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from redif import DISCLAIMER
from redif.cli._common import JsonOpt, console, emit_json, parse_float_list, to_jsonable
from redif.errors import InputError

dose_app = typer.Typer(help="Dosimetry: kinetics, lesion, blood, voxel, prescription.", no_args_is_help=True)

TimesOpt = Annotated[str, typer.Option("--times-h", help="Comma-separated times after administration, h.")]
ValuesOpt = Annotated[str, typer.Option("--values", help="Comma-separated activities (fractions or MBq).")]
DecayOpt = Annotated[
    bool,
    typer.Option(
        "--decay-corrected/--not-decay-corrected",
        help="Whether the values are decay-corrected to the administration time (default: not).",
    ),
]
ModelOpt = Annotated[str, typer.Option("--model", help="auto, mono, bi, uptake or trapezoid.")]
SamplesOpt = Annotated[int, typer.Option("--samples", help="Monte Carlo samples for the CI (0: none).")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed of the Monte Carlo.")]
CvOpt = Annotated[
    float | None,
    typer.Option(
        "--measurement-cv", help="Relative SD of each measurement (default: the fit's residual SD)."
    ),
]


UCalOpt = Annotated[float, typer.Option(
    "--u-calibration", help="Relative standard uncertainty of the calibration factor (fraction; default 0: "
    "none shipped, give your site's).")]
URecOpt = Annotated[float, typer.Option(
    "--u-recovery", help="Relative standard uncertainty of the recovery coefficient (fraction; default 0).")]
UVolOpt = Annotated[float, typer.Option(
    "--u-volume", help="Relative standard uncertainty of the delineated volume (fraction; default 0).")]
USvOpt = Annotated[float, typer.Option(
    "--u-svalue", help="Relative standard uncertainty of the S-value / dose factor (fraction; default 0).")]
UMcOpt = Annotated[int, typer.Option(
    "--uncertainty-mc", help="Also propagate the budget by Monte Carlo (JCGM 101) with N draws (0: no).")]


def budget_inputs(u_calibration: float, u_recovery: float, u_volume: float, u_svalue: float) -> Any:
    """The :class:`redif.dosimetry.budget.UncertaintyInputs` of the ``--u-*`` options."""
    from redif.dosimetry.budget import UncertaintyInputs

    return UncertaintyInputs(u_calibration, u_recovery, u_volume, u_svalue)


def print_budget(title: str, unc: dict[str, Any]) -> None:
    """The uncertainty-budget table of one dose (``uncertainty`` object of the JSON)."""
    table = Table(title=title, title_justify="left")
    cols = ("component", "input u (rel.)", "sensitivity", "contribution to dose (rel.)", "variance share")
    for col in cols:
        table.add_column(col, justify="right" if col != "component" else "left")
    ins = unc["inputs"]
    fit_u = unc["tia"]["components"]["fit"]
    for key, contrib in unc["components"].items():
        u_in = fit_u if key == "fit" else ins[key]
        table.add_row(key, f"{u_in:.4f}", f"{unc['sensitivity'][key]:+.3f}", f"{contrib:.4f}",
                      f"{100 * unc['variance_share'][key]:.1f} %")
    table.add_row("[bold]combined[/bold]", "", "", f"[bold]{unc['relative_standard']:.4f}[/bold]", "100 %")
    console.print(table)
    mc = unc.get("monte_carlo")
    if mc:
        for key, m in mc.items():
            console.print(f"  Monte Carlo ({m['n_samples']} draws, seed {m['seed']}) {key}: relative u "
                          f"{m['relative_standard']:.4f} vs analytic {m['analytic_relative_standard']:.4f} "
                          f"({100 * m['relative_difference']:+.1f} %); {100 * m['ci_level']:g} % interval "
                          f"{m['ci_lower']:.4g}-{m['ci_upper']:.4g}")
    for note in unc.get("notes", []):
        console.print(f"  [dim]note: {note}[/dim]")


#: The nuclide options name entries of the nuclide table (data/nuclides.yaml, redif.dosimetry.nuclides);
#: their default is the table's therapy nuclide, resolved when a command runs (reading the table at
#: import would add ~0.1 s to every start-up).
_NUCLIDE_HELP = " A nuclide of the nuclide table (default: its therapy nuclide)."


NuclideOpt = Annotated[str | None, typer.Option("--nuclide", help="Measured nuclide." + _NUCLIDE_HELP)]


def _therapy(nuclide: str | None) -> str:
    from redif.dosimetry.nuclides import THERAPY_NUCLIDE

    return THERAPY_NUCLIDE if nuclide is None else nuclide


def _disclaimer() -> str:
    return DISCLAIMER


def _kv_table(title: str, rows: list[tuple[str, Any]]) -> None:
    table = Table(title=title, show_header=False)
    table.add_column("", style="bold")
    table.add_column("")
    for k, v in rows:
        val = to_jsonable(v)
        if isinstance(val, float):
            val = f"{val:.5g}"
        table.add_row(k, "-" if val is None else str(val))
    console.print(table)


@dose_app.command("tia")
def tia_cmd(
    times_h: TimesOpt,
    values: ValuesOpt,
    model: ModelOpt = "auto",
    decay_corrected: DecayOpt = False,
    nuclide: NuclideOpt = None,
    unit: Annotated[
        str, typer.Option("--unit", help="fraction (of administered activity) or MBq.")
    ] = "fraction",
    samples: SamplesOpt = 1000,
    seed: SeedOpt = 0,
    measurement_cv: CvOpt = None,
    weighting: Annotated[
        str, typer.Option("--weighting", help="uniform (least squares) or relative (residual/value).")
    ] = "uniform",
    json_out: JsonOpt = False,
) -> None:
    """Fit a time-activity curve; time-integrated activity with a Monte Carlo CI."""
    from redif.dosimetry.kinetics import ValueUnit
    from redif.dosimetry.tia import estimate_tia

    est = estimate_tia(
        parse_float_list(times_h, option="times_h"), parse_float_list(values, option="values"),
        model=model, unit=unit, decay_corrected=decay_corrected, nuclide=_therapy(nuclide), samples=samples,
        seed=seed, measurement_cv=measurement_cv, weighting=weighting,
    )
    vunit = est.fit.unit
    out = est.to_dict()
    if json_out:
        emit_json(out)
        return
    _kv_table(
        "Time-integrated activity",
        [
            ("model", out["model"]),
            ("decay_corrected", out["decay_corrected"]),
            (f"tia_h ({'h' if vunit is ValueUnit.FRACTION else 'MBq*h'})", out["tia_h"]),
            ("95% CI", "-" if out["ci_lower"] is None else f"{out['ci_lower']:.5g} - {out['ci_upper']:.5g}"),
            ("effective_half_life_h", out["effective_half_life_h"]),
            ("AICc", out["aicc"]),
            ("R2", out["r2"]),
            *[(k, v) for k, v in out["parameters"].items()],
            ("selection", out["selection_rule"] or "-"),
            ("extrapolated_fraction", out["extrapolated_fraction"]),
        ],
    )
    for note in out["notes"]:
        console.print(f"[yellow]note:[/yellow] {note}")


@dose_app.command("stp")
def stp_cmd(
    time_h: Annotated[float, typer.Option("--time-h", help="Measurement time after administration, h.")],
    value: Annotated[float, typer.Option("--value", help="Activity at that time (fraction or MBq).")],
    method: Annotated[str, typer.Option("--method", help="hanscheid or madsen.")] = "hanscheid",
    effective_half_life_h: Annotated[
        float | None, typer.Option("--effective-half-life-h", help="Prior effective half-life (madsen).")
    ] = None,
    decay_corrected: DecayOpt = False,
    nuclide: NuclideOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Single-time-point TIA (Hänscheid 2018 or Madsen 2018)."""
    from redif.dosimetry.single_time_point import hanscheid_tia_h, madsen_tia_h
    if method == "hanscheid":
        tia = hanscheid_tia_h(value, time_h, decay_corrected=decay_corrected, nuclide=_therapy(nuclide))
        rule = "Hänscheid 2018: A(t)*2t/ln2 (doi:10.2967/jnumed.117.193706)"
    elif method == "madsen":
        if effective_half_life_h is None:
            raise InputError("madsen needs a prior effective half-life", field="--effective-half-life-h")
        tia = madsen_tia_h(
            value, time_h, effective_half_life_h, decay_corrected=decay_corrected, nuclide=_therapy(nuclide)
        )
        rule = "Madsen 2018: A(t)*exp(lambda_eff t)/lambda_eff"
    else:
        raise InputError("unknown method", field="--method", value=method, remedy="use hanscheid or madsen")
    out = {"tia_h": tia, "method": method, "rule": rule, "decay_corrected": decay_corrected}
    if json_out:
        emit_json(out)
        return
    _kv_table("Single-time-point TIA", list(out.items()))


@dose_app.command("convert")
def convert_cmd(
    times_h: TimesOpt,
    values: ValuesOpt,
    from_nuclide: Annotated[str, typer.Option("--from", help="Measured nuclide.")] = "I-124",
    to_nuclide: Annotated[str | None, typer.Option("--to", help="Therapy nuclide." + _NUCLIDE_HELP)] = None,
    decay_corrected: DecayOpt = False,
    model: ModelOpt = "auto",
    volume_ml: Annotated[float | None, typer.Option("--volume-ml", help="Lesion volume for the RC.")] = None,
    rc_volumes_ml: Annotated[
        str | None, typer.Option("--rc-volumes-ml", help="Recovery curve volumes (mL), comma-separated.")
    ] = None,
    rc_values: Annotated[str | None, typer.Option("--rc-values", help="Recovery coefficients.")] = None,
    samples: SamplesOpt = 1000,
    seed: SeedOpt = 0,
    measurement_cv: CvOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Predict 131I activities and TIA from serial 124I measurements (same biology)."""
    from redif.dosimetry.conversion import RecoveryCurve, convert_time_activity
    from redif.dosimetry.kinetics import TimeActivity
    curve = None
    if (rc_volumes_ml is None) != (rc_values is None):
        raise InputError("give both --rc-volumes-ml and --rc-values", field="--rc-values")
    if rc_volumes_ml is not None and rc_values is not None:
        curve = RecoveryCurve(
            tuple(parse_float_list(rc_volumes_ml, option="--rc-volumes-ml")),
            tuple(parse_float_list(rc_values, option="--rc-values")),
        )
    data = TimeActivity.create(
        parse_float_list(times_h, option="--times-h"),
        parse_float_list(values, option="--values"),
        decay_corrected=decay_corrected,
        nuclide=from_nuclide,
    )
    res = convert_time_activity(
        data,
        to_nuclide=_therapy(to_nuclide),
        model=model,
        recovery_curve=curve,
        volume_ml=volume_ml,
        n_samples=samples,
        seed=seed,
        measurement_cv=measurement_cv,
    )
    out = res.to_dict()
    if json_out:
        emit_json(out)
        return
    table = Table(title=f"{out['from']} -> {out['to']} (predicted values not decay-corrected)")
    table.add_column("time (h)")
    table.add_column(f"measured {out['from']}")
    table.add_column(f"predicted {out['to']}")
    for t, a, b in zip(out["times_h"], data.values, out["values"], strict=True):
        table.add_row(f"{t:g}", f"{a:.5g}", f"{b:.5g}")
    console.print(table)
    console.print(
        f"{out['to']} tia_h = {out['tia_h']:.5g} (CI {to_jsonable(out['ci_lower'])} - "
        f"{to_jsonable(out['ci_upper'])}), model {out['model']}"
    )


@dose_app.command("lesion")
def lesion_cmd(
    tia_h: Annotated[
        float | None, typer.Option("--tia-h", help="Lesion TIA coefficient of the dose nuclide, h.")
    ] = None,
    mass_g: Annotated[float | None, typer.Option("--mass-g", help="Lesion mass, g.")] = None,
    volume_ml: Annotated[
        float | None, typer.Option("--volume-ml", help="Lesion volume, mL (x density).")
    ] = None,
    density: Annotated[float | None, typer.Option("--density-g-per-ml", help="Default 1.04 g/mL.")] = None,
    nuclide: Annotated[
        str | None, typer.Option("--nuclide", help="Nuclide of the dose." + _NUCLIDE_HELP)
    ] = None,
    target_gy: Annotated[float | None, typer.Option("--target-gy", help="Target lesion dose, Gy.")] = None,
    times_h: Annotated[
        str | None, typer.Option("--times-h", help="Instead of --tia-h: measurement times, h.")
    ] = None,
    values: Annotated[
        str | None, typer.Option("--values", help="Instead of --tia-h: fractions of administered activity.")
    ] = None,
    measured: Annotated[str, typer.Option("--measured", help="Nuclide of the measurements.")] = "I-124",
    decay_corrected: DecayOpt = False,
    model: ModelOpt = "auto",
    samples: SamplesOpt = 1000,
    seed: SeedOpt = 0,
    measurement_cv: CvOpt = None,
    u_calibration: UCalOpt = 0.0,
    u_recovery: URecOpt = 0.0,
    u_volume: UVolOpt = 0.0,
    u_svalue: USvOpt = 0.0,
    uncertainty_mc: UMcOpt = 0,
    json_out: JsonOpt = False,
) -> None:
    """Lesion dose per administered activity (sphere model) and the activity for a target dose.

    Give the lesion TIA (--tia-h), or the serial measurements (--times-h/--values, e.g. 124I PET) to
    fit, convert to the dose nuclide and propagate by Monte Carlo into a CI on the dose. The dose carries
    its uncertainty budget (Gear et al. 2018): --u-* inputs, the fit's covariance, GUM and Monte Carlo.
    """
    from redif.dosimetry.budget import dose_budget
    from redif.dosimetry.conversion import convert_time_activity
    from redif.dosimetry.kinetics import TimeActivity
    from redif.dosimetry.lesion import lesion_dose, lesion_mass_g
    if (mass_g is None) == (volume_ml is None):
        raise InputError("give exactly one of --mass-g or --volume-ml", field="--mass-g")
    if (tia_h is None) == (times_h is None):
        raise InputError("give exactly one of --tia-h or --times-h/--values", field="--tia-h")
    mass = mass_g if mass_g is not None else lesion_mass_g(volume_ml or 0.0, density)
    inputs = budget_inputs(u_calibration, u_recovery, u_volume, u_svalue)
    samples_h = None
    kinetics = None
    fit = None
    if times_h is not None:
        if values is None:
            raise InputError("--times-h needs --values", field="--values")
        data = TimeActivity.create(
            parse_float_list(times_h, option="--times-h"),
            parse_float_list(values, option="--values"),
            decay_corrected=decay_corrected,
            nuclide=measured,
        )
        conv = convert_time_activity(
            data, to_nuclide=_therapy(nuclide), model=model, n_samples=samples, seed=seed,
            measurement_cv=measurement_cv,
        )
        tia_h = conv.tia_h
        fit = conv.fit
        samples_h = None if conv.uncertainty is None else conv.uncertainty.samples_h
        kinetics = conv.to_dict()
    assert tia_h is not None
    res = lesion_dose(mass_g=mass, tia_h=tia_h, nuclide=_therapy(nuclide), target_gy=target_gy,
                      tia_samples_h=samples_h)
    budget = dose_budget(dose_per_activity_gy_per_gbq=res.dose_per_activity_gy_per_gbq, tia_h=tia_h,
                         mass_g=mass, inputs=inputs, fit=fit, dose_nuclide=res.nuclide, target_gy=target_gy,
                         monte_carlo_samples=uncertainty_mc, seed=seed)
    out = {**res.to_dict(), "uncertainty": budget.to_dict(), "kinetics": kinetics,
           "disclaimer": _disclaimer()}
    if json_out:
        emit_json(out)
        return
    ci = "-" if out["ci_lower"] is None else f"{out['ci_lower']:.4g} - {out['ci_upper']:.4g}"
    _kv_table(
        "Lesion dosimetry (sphere self-dose)",
        [
            ("mass_g", out["mass_g"]),
            ("tia_h", out["tia_h"]),
            ("s_mgy_per_mbq_s", out["s_mgy_per_mbq_s"]),
            ("dose_per_activity_gy_per_gbq", out["dose_per_activity_gy_per_gbq"]),
            ("95% CI (Gy/GBq)", ci),
            ("class (Jentzen 2008)", out["dose_class"]),
            ("activity_for_target_gbq", out["activity_for_target_gbq"]),
            (
                "95% CI (GBq)",
                "-"
                if out["activity_ci_lower_gbq"] is None
                else f"{out['activity_ci_lower_gbq']:.4g} - {out['activity_ci_upper_gbq']:.4g}",
            ),
            ("S-value", f"{out['s_value_grade']}: {out['s_value_source']}"),
        ],
    )
    print_budget("Uncertainty budget of the dose per activity (Gear et al. 2018; GUM)", out["uncertainty"])
    console.print(out["disclaimer"])


@dose_app.command("blood")
def blood_cmd(
    weight_kg: Annotated[float, typer.Option("--weight-kg", help="Patient weight, kg.")],
    wb_tia_h: Annotated[float, typer.Option("--wb-tia-h", help="Whole-body 131I residence time, h.")],
    blood_tia_h_per_ml: Annotated[
        float, typer.Option("--blood-tia-h-per-ml", help="Blood TIA per mL, h/mL.")
    ],
    limit_gy: Annotated[
        float | None, typer.Option("--limit-gy", help="Blood dose limit (default 2 Gy).")
    ] = None,
    retention_48h: Annotated[
        float | None,
        typer.Option(
            "--retention-48h", help="Fraction of 131I retained at 48 h -> retention-limited activity."
        ),
    ] = None,
    lung_metastases: Annotated[
        bool, typer.Option("--lung-metastases", help="Diffuse lung metastases.")
    ] = False,
    haematocrit: Annotated[
        float | None, typer.Option("--haematocrit", help="Fraction (e.g. 0.42) -> red-marrow/blood ratio.")
    ] = None,
    red_marrow_mass_g: Annotated[
        float | None, typer.Option("--red-marrow-mass-g", help="With --haematocrit: red-marrow TIA.")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """EANM SOP blood dose per activity, maximum tolerable activity, 48-h retention limit."""
    from redif.dosimetry.blood import (
        blood_dose_per_activity,
        red_marrow_blood_ratio,
        red_marrow_tia_h,
        retention_limited_activity,
    )
    res = blood_dose_per_activity(
        weight_kg=weight_kg,
        wholebody_tia_h=wb_tia_h,
        blood_tia_h_per_ml=blood_tia_h_per_ml,
        limit_gy=limit_gy,
    )
    out = res.to_dict()
    if retention_48h is not None:
        rl = retention_limited_activity(retention_48h, lung_metastases=lung_metastases)
        out["retention_limited_activity_gbq"] = rl.activity_gbq
        out["retention_limit"] = rl.to_dict()
    if red_marrow_mass_g is not None and haematocrit is None:
        raise InputError("the red-marrow TIA needs the haematocrit", field="--haematocrit")
    if haematocrit is not None:
        out["rmblr"] = red_marrow_blood_ratio(haematocrit)
        out["rmblr_rule"] = "RMBLR = 0.19 / (1 - haematocrit) (Sgouros 1993; unverified)"
        if red_marrow_mass_g is not None:
            out["red_marrow_tia_h"] = red_marrow_tia_h(blood_tia_h_per_ml, red_marrow_mass_g, haematocrit)
    out["disclaimer"] = _disclaimer()
    if json_out:
        emit_json(out)
        return
    rows: list[tuple[str, Any]] = [
        ("dose_per_activity_gy_per_gbq", out["dose_per_activity_gy_per_gbq"]),
        ("mta_gbq", out["mta_gbq"]),
        ("rule", out["rule"]),
    ]
    if retention_48h is not None:
        rows += [
            ("retention_limited_activity_gbq", out["retention_limited_activity_gbq"]),
            ("retention rule", out["retention_limit"]["rule"]),
        ]
    if "rmblr" in out:
        rows += [("rmblr", out["rmblr"]), ("red_marrow_tia_h", out.get("red_marrow_tia_h"))]
    rows += [(c["name"], f"{c['value']} {c['unit']} [{c['grade']}] {c['source']}") for c in out["constants"]]
    _kv_table("Blood dosimetry (EANM SOP)", rows)
    console.print(out["disclaimer"])


@dose_app.command("plan")
def plan_cmd(
    case: Annotated[Path, typer.Argument(help="Dosimetry plan YAML (schema: redif.dosimetry.plan_input).")],
    voxel_json: Annotated[
        Path | None,
        typer.Option(
            "--voxel-json", help="Add the lesions of a `redif dose voxel --json` result (mean Gy/GBq)."
        ),
    ] = None,
    u_calibration: UCalOpt = 0.0,
    u_recovery: URecOpt = 0.0,
    u_volume: UVolOpt = 0.0,
    u_svalue: USvOpt = 0.0,
    uncertainty_mc: UMcOpt = 0,
    json_out: JsonOpt = False,
) -> None:
    """Recommend a 131I activity: lesion targets vs blood/retention limits, beside the empiric option.

    Every lesion dose carries its uncertainty budget (Gear et al. 2018): --u-* inputs, the fit covariance.
    """
    from redif.dosimetry.budget import plan_budgets
    from redif.dosimetry.plan_input import DosimetryPlanInput
    from redif.dosimetry.prescription import plan_from_mapping
    from redif.io.yaml_doc import MAX_FILE_BYTES, load_document

    if not case.is_file():
        raise InputError("case file not found", field=str(case), remedy="give the path of a YAML case file")
    data = load_document(case.read_bytes(), field=str(case), max_bytes=MAX_FILE_BYTES, dates_as_text=False)
    if data is not None and not isinstance(data, dict):
        raise InputError("expected a mapping of plan fields", field=str(case), value=type(data).__name__)
    data = data or {}
    if voxel_json is not None:
        from redif.dosimetry.prescription import merge_voxel_summary

        if not voxel_json.is_file():
            raise InputError("voxel result not found", field=str(voxel_json))
        try:
            summary = json.loads(voxel_json.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InputError(f"not valid JSON ({exc.msg})", field=str(voxel_json)) from None
        data = merge_voxel_summary(data, summary)
    res = plan_from_mapping(data)
    out = res.to_dict()
    budgets = plan_budgets(DosimetryPlanInput.from_mapping(data), res,
                           budget_inputs(u_calibration, u_recovery, u_volume, u_svalue),
                           monte_carlo_samples=uncertainty_mc, seed=int((data.get("monte_carlo") or {}).get(
                               "seed", 0)))
    attach_plan_budgets(out, [b.to_dict() for b in budgets])
    if json_out:
        emit_json(out)
        return
    rec = out["recommended_activity_gbq"]
    console.print(
        f"[bold]Recommended 131I activity: {'-' if rec is None else f'{rec:.2f} GBq'}[/bold]  "
        f"(binding: {out['binding_constraint']})"
    )
    console.print(out["reason"])
    ct = Table(title="Constraints")
    for col in ("#", "constraint", "kind", "activity (GBq)", "95% CI", "binding"):
        ct.add_column(col)
    for i, c in enumerate(out["constraints"], 1):
        ci = "-" if c["ci_lower_gbq"] is None else f"{c['ci_lower_gbq']:.2f}-{c['ci_upper_gbq']:.2f}"
        ct.add_row(
            str(i), c["name"], c["kind"], f"{c['activity_gbq']:.2f}", ci, "yes" if c["binding"] else ""
        )
    console.print(ct)
    for i, c in enumerate(out["constraints"], 1):
        console.print(f"  [{i}] {c['rule']} — {c['source']} [{c['grade']}]")
    ot = Table(title="Options: lesion doses (Gy, 95% CI)")
    ot.add_column("option")
    ot.add_column("GBq")
    ot.add_column("blood (Gy)")
    for les in out["lesions"]:
        ot.add_column(les["name"])
    for o in out["options"]:
        cells = []
        for ld in o["lesion_doses"]:
            ci = "" if ld["ci_lower_gy"] is None else f" ({ld['ci_lower_gy']:.1f}-{ld['ci_upper_gy']:.1f})"
            cells.append(f"{ld['dose_gy']:.1f}{ci}")
        blood = "-" if o["blood_dose_gy"] is None else f"{o['blood_dose_gy']:.2f}"
        ot.add_row(o["name"], f"{o['activity_gbq']:.2f}", blood, *cells)
    console.print(ot)
    for w in out["warnings"]:
        console.print(f"[yellow]warning:[/yellow] {w}")
    for les in out["lesions"]:
        print_budget(f"Uncertainty budget: lesion {les['name']} (Gear et al. 2018; GUM)", les["uncertainty"])
    console.print(out["disclaimer"])


def attach_plan_budgets(out: dict[str, Any], budgets: list[dict[str, Any]]) -> None:
    """Put each lesion's ``uncertainty`` on the lesion and, as ``{relative_standard, components}``, on
    its dose under every option (the budget is relative, so it is the same for every activity)."""
    by_name = {}
    for les, unc in zip(out["lesions"], budgets, strict=True):
        les["uncertainty"] = unc
        by_name[les["name"]] = {"relative_standard": unc["relative_standard"],
                                "components": unc["components"]}
    for opt in out["options"]:
        for ld in opt["lesion_doses"]:
            ld["uncertainty"] = by_name.get(ld["name"])


def register(app: typer.Typer) -> None:
    """Add the `dose` group to the root application."""
    app.add_typer(dose_app, name="dose")
