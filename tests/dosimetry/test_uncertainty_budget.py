"""Issue 14 (item 3): the uncertainty budget after Gear et al. 2018 (GUM analytic and JCGM 101 Monte Carlo).

Expected values come from closed forms: a single multiplicative input gives exactly its own relative
uncertainty; independent inputs add in quadrature; the mono-exponential fit's TIA uncertainty is derived
by hand here (Σ = s²(JᵀJ)⁻¹ with the analytic Jacobian, u²(Ã) = gᵀΣg with g = ∂(a/(k+λ))/∂(a, k)); the
S-value's mass sensitivity is the log-log slope of the sphere table; the Monte Carlo must agree with the
first-order result within 5 % (relative), the tolerance of the issue.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from redif.dosimetry.budget import (
    COMPONENTS,
    UncertaintyInputs,
    dose_budget,
    fit_tia_relative_uncertainty,
    recovery_volume_slope,
    svalue_mass_slope,
)
from redif.dosimetry.conversion import RecoveryCurve
from redif.dosimetry.kinetics import TimeActivity, fit_kinetics
from redif.dosimetry.spheres import sphere_s_value
from redif.errors import InputError

TIMES = [24.0, 48.0, 72.0, 96.0, 144.0]
VALUES = [0.010, 0.0075, 0.0052, 0.0041, 0.0024]  # 124I lesion fractions with scatter about a mono-exp


def _fit(values: list[float] = VALUES, model: str = "mono"):  # type: ignore[no-untyped-def]
    return fit_kinetics(TimeActivity.create(TIMES, values, decay_corrected=False, nuclide="I-124"), model)


def test_single_multiplicative_component_gives_its_own_uncertainty() -> None:
    """Issue 14: with one input only, the dose's relative standard uncertainty equals that input exactly,
    and so does the activity for a target (sensitivity −1)."""
    for name, kw in (("calibration", {"u_calibration": 0.07}), ("recovery", {"u_recovery": 0.07}),
                     ("svalue", {"u_svalue": 0.07})):
        b = dose_budget(dose_per_activity_gy_per_gbq=12.0, tia_h=1.0, mass_g=None,
                        inputs=UncertaintyInputs(**kw), target_gy=20.0)
        assert b.dose.relative_standard == pytest.approx(0.07, rel=1e-15)
        assert b.dose.components[name] == pytest.approx(0.07, rel=1e-15)
        assert b.dose.variance_share[name] == pytest.approx(1.0, rel=1e-15)
        assert b.activity is not None and b.activity.relative_standard == pytest.approx(0.07, rel=1e-15)
    # the S-value does not enter the TIA
    b = dose_budget(dose_per_activity_gy_per_gbq=12.0, tia_h=1.0, mass_g=None,
                    inputs=UncertaintyInputs(u_svalue=0.07))
    assert b.tia.relative_standard == 0.0


def test_independent_components_add_in_quadrature() -> None:
    """Issue 14: 0.03, 0.04 and 0.12 combine to √(0.03²+0.04²+0.12²) = 0.13 exactly."""
    b = dose_budget(dose_per_activity_gy_per_gbq=5.0, tia_h=0.5, mass_g=None,
                    inputs=UncertaintyInputs(u_calibration=0.03, u_recovery=0.04, u_svalue=0.12))
    assert b.dose.relative_standard == pytest.approx(0.13, rel=1e-12)
    assert sum(b.dose.variance_share.values()) == pytest.approx(1.0, rel=1e-12)
    assert b.dose.variance_share["svalue"] == pytest.approx(0.12**2 / 0.13**2, rel=1e-12)
    assert b.tia.relative_standard == pytest.approx(0.05, rel=1e-12)  # S-value not in the TIA


def test_calibration_is_fully_correlated_across_time_points() -> None:
    """Issue 14: one calibration factor scales every time point, so it scales the fitted TIA by exactly
    that factor (sensitivity 1, not the ~1/√n of independent per-point errors)."""
    k = 1.1
    assert _fit([v * k for v in VALUES]).tia_h == pytest.approx(k * _fit().tia_h, rel=1e-6)
    b = dose_budget(dose_per_activity_gy_per_gbq=1.0, tia_h=1.0, mass_g=None,
                    inputs=UncertaintyInputs(u_calibration=0.05))
    assert b.tia.sensitivity["calibration"] == 1.0


def test_fit_component_matches_hand_derivation_mono() -> None:
    """Issue 14: the fit component of a mono-exponential equals √(gᵀΣg)/Ã derived by hand (independent
    of the code's transformed-parameter fit): Σ = s²(JᵀJ)⁻¹, J = [e^{-(k+λ124)t}, −a t e^{-(k+λ124)t}],
    s² = RSS/(n−2); Ã = a/(k+λ131), g = [1/(k+λ131), −a/(k+λ131)²]."""
    from redif.dosimetry.nuclides import get_nuclide

    fit = _fit()
    a, k = fit.parameters["a"], fit.parameters["k_bio_per_h"]
    lam124 = get_nuclide("I-124").decay_constant_per_h
    lam131 = get_nuclide("I-131").decay_constant_per_h
    t, y = np.array(TIMES), np.array(VALUES)
    e = np.exp(-(k + lam124) * t)
    jac = np.stack([e, -a * t * e], axis=1)
    rss = float(((y - a * e) ** 2).sum())
    cov = rss / (t.size - 2) * np.linalg.inv(jac.T @ jac)
    tia = a / (k + lam131)
    g = np.array([1 / (k + lam131), -a / (k + lam131) ** 2])
    expected = math.sqrt(float(g @ cov @ g)) / tia
    assert fit_tia_relative_uncertainty(fit, "I-131") == pytest.approx(expected, rel=1e-4)
    b = dose_budget(dose_per_activity_gy_per_gbq=10.0, tia_h=tia, mass_g=None, inputs=UncertaintyInputs(),
                    fit=fit)
    assert b.dose.relative_standard == pytest.approx(expected, rel=1e-4)


def test_fit_without_covariance_contributes_nothing_and_says_so() -> None:
    """Issue 14: a trapezoid fit has no parameter covariance: fit component 0 with a note."""
    fit = _fit(model="trapezoid")
    b = dose_budget(dose_per_activity_gy_per_gbq=10.0, tia_h=1.0, mass_g=None, inputs=UncertaintyInputs(),
                    fit=fit)
    assert b.dose.components["fit"] == 0.0
    assert any("covariance" in n for n in b.notes)


def test_volume_enters_through_the_svalue_mass_dependence() -> None:
    """Issue 14: the volume's sensitivity is ∂ln S/∂ln m of the sphere table (a finite difference of
    :func:`sphere_s_value` inside one log-log segment), plus −∂ln RC/∂ln V of a recovery curve."""
    m = 3.0
    h = 1e-4
    fd = (math.log(sphere_s_value(m * (1 + h)).s_mgy_per_mbq_s)
          - math.log(sphere_s_value(m * (1 - h)).s_mgy_per_mbq_s)) / (math.log(1 + h) - math.log(1 - h))
    assert svalue_mass_slope(m) == pytest.approx(fd, rel=1e-6)
    b = dose_budget(dose_per_activity_gy_per_gbq=10.0, tia_h=1.0, mass_g=m,
                    inputs=UncertaintyInputs(u_volume=0.1))
    assert b.dose.sensitivity["volume"] == pytest.approx(fd, rel=1e-6)
    assert b.dose.relative_standard == pytest.approx(0.1 * abs(fd), rel=1e-6)
    # RC(V) linear in log V between 1 and 4 mL: RC = 0.4 + 0.2 log(V)/log(4); dlnRC/dlnV = (0.2/log 4)/RC
    curve = RecoveryCurve((1.0, 4.0), (0.4, 0.6))
    v = 2.0
    rc = 0.4 + 0.2 * math.log(v) / math.log(4.0)
    slope_rc = 0.2 / math.log(4.0) / rc
    assert recovery_volume_slope(curve, v) == pytest.approx(slope_rc, rel=1e-6)
    b2 = dose_budget(dose_per_activity_gy_per_gbq=10.0, tia_h=1.0, mass_g=m,
                     inputs=UncertaintyInputs(u_volume=0.1), recovery_volume_slope=slope_rc)
    # one input quantity, two paths: the terms add before squaring
    assert b2.dose.components["volume"] == pytest.approx(0.1 * abs(fd - slope_rc), rel=1e-6)
    assert b2.tia.components["volume"] == pytest.approx(0.1 * slope_rc, rel=1e-6)


@pytest.mark.parametrize(("u", "mass"), [((0.05, 0.10, 0.10, 0.05), 2.0), ((0.03, 0.05, 0.10, 0.08), 20.0),
                                         ((0.10, 0.0, 0.0, 0.0), None), ((0.02, 0.02, 0.02, 0.02), 0.5)])
def test_analytic_and_monte_carlo_agree_within_5_percent(u: tuple[float, ...], mass: float | None) -> None:
    """Issue 14: the JCGM 101 Monte Carlo (200 000 seeded draws; fit parameters from N(θ̂, Σ), actual
    S(m) and 1/RC) agrees with the first-order GUM result within 5 % relative, for TIA, dose and activity."""
    fit = _fit()
    tia = fit.tia_for("I-131")
    b = dose_budget(dose_per_activity_gy_per_gbq=10.0, tia_h=tia, mass_g=mass, inputs=UncertaintyInputs(*u),
                    fit=fit, target_gy=20.0, monte_carlo_samples=200_000, seed=3)
    assert b.monte_carlo is not None and set(b.monte_carlo) == {"tia", "dose_per_activity",
                                                                 "activity_for_target"}
    for key, mc in b.monte_carlo.items():
        assert mc.n_samples + mc.n_discarded == 200_000
        assert abs(mc.relative_difference) <= 0.05, (key, mc.relative_standard, mc.analytic_relative_standard)
        assert mc.agrees
    # same seed, same figures
    b2 = dose_budget(dose_per_activity_gy_per_gbq=10.0, tia_h=tia, mass_g=mass, inputs=UncertaintyInputs(*u),
                     fit=fit, target_gy=20.0, monte_carlo_samples=200_000, seed=3)
    assert b2.monte_carlo is not None
    assert b2.monte_carlo["dose_per_activity"].standard == b.monte_carlo["dose_per_activity"].standard


def test_monte_carlo_flags_where_first_order_fails() -> None:
    """Issue 14: with a 30 % volume uncertainty S(m) ∝ m^-0.97 is far from linear over the spread; the
    Monte Carlo (JCGM 101: the reference when the linearisation is doubtful) departs from the GUM
    figure by more than 5 % and ``agrees`` says so."""
    b = dose_budget(dose_per_activity_gy_per_gbq=10.0, tia_h=1.0, mass_g=5.0,
                    inputs=UncertaintyInputs(u_volume=0.3), monte_carlo_samples=200_000, seed=1)
    assert b.monte_carlo is not None
    mc = b.monte_carlo["dose_per_activity"]
    assert mc.relative_difference > 0.05 and not mc.agrees


def test_json_shape() -> None:
    """Issue 14: ``uncertainty`` = {relative_standard, components: {calibration, recovery, volume, fit,
    svalue}} (plus the TIA/activity budgets and, when asked, monte_carlo)."""
    b = dose_budget(dose_per_activity_gy_per_gbq=10.0, tia_h=1.0, mass_g=2.0,
                    inputs=UncertaintyInputs(0.05, 0.05, 0.05, 0.05), fit=_fit(), target_gy=20.0,
                    monte_carlo_samples=1000)
    d = json.loads(json.dumps(b.to_dict()))
    assert set(d["components"]) == set(COMPONENTS)
    assert d["relative_standard"] == pytest.approx(
        math.sqrt(sum(v * v for v in d["components"].values())), rel=1e-12)
    assert {"tia", "dose", "activity_for_target", "monte_carlo", "inputs", "variance_share"} <= set(d)


@pytest.mark.parametrize(("kw", "field"), [({"u_calibration": -0.1}, "u_calibration"),
                                           ({"u_svalue": 1.5}, "u_svalue"),
                                           ({"u_volume": float("nan")}, "u_volume")])
def test_bad_inputs_name_the_field(kw: dict[str, float], field: str) -> None:
    """Issue 14: a negative, ≥ 1 or NaN relative uncertainty is refused naming its field."""
    with pytest.raises(InputError) as exc:
        UncertaintyInputs(**kw)
    assert exc.value.field == field


def test_bad_sample_count() -> None:
    """Issue 14: fewer than 100 Monte Carlo draws are refused (field uncertainty_mc)."""
    with pytest.raises(InputError) as exc:
        dose_budget(dose_per_activity_gy_per_gbq=1.0, tia_h=1.0, mass_g=None, inputs=UncertaintyInputs(),
                    monte_carlo_samples=5)
    assert exc.value.field == "uncertainty_mc"


# --------------------------------------------------------------------------------------------------------
# CLI: every dose carries its budget (dose lesion, plan, voxel)
# --------------------------------------------------------------------------------------------------------
def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    from redif.cli.main import main

    capsys.readouterr()
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


U_FLAGS = ("--u-calibration", "0.05", "--u-recovery", "0.08", "--u-volume", "0.1", "--u-svalue", "0.05")


def _check_unc(unc: dict[str, object], mc: bool) -> None:
    assert set(unc["components"]) == set(COMPONENTS)  # type: ignore[call-overload]
    comps = unc["components"]
    assert isinstance(comps, dict)
    assert unc["relative_standard"] == pytest.approx(math.sqrt(sum(v * v for v in comps.values())), rel=1e-9)
    assert comps["calibration"] == pytest.approx(0.05) and comps["recovery"] == pytest.approx(0.08)
    assert ("monte_carlo" in unc) is mc


def test_cli_dose_lesion_json(capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 14: `redif dose lesion --json` carries `uncertainty` with the five components and, with
    --uncertainty-mc, the Monte Carlo figures (agreeing within 5 %)."""
    code, out, err = _cli(capsys, "dose", "lesion", "--volume-ml", "2",
                          "--times-h", ",".join(map(str, TIMES)),
                          "--values", ",".join(map(str, VALUES)), "--target-gy", "20", *U_FLAGS,
                          "--uncertainty-mc", "50000", "--samples", "100", "--json")
    assert code == 0, err
    unc = json.loads(out)["uncertainty"]
    _check_unc(unc, mc=True)
    assert unc["components"]["fit"] > 0
    assert all(m["agrees_within_5pct"] for m in unc["monte_carlo"].values())
    code, out, _ = _cli(capsys, "dose", "lesion", "--mass-g", "2", "--tia-h", "1", "--json")
    unc = json.loads(out)["uncertainty"]
    assert unc["relative_standard"] == 0.0 and "monte_carlo" not in unc  # defaults 0, TIA given


def test_cli_bad_u_names_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 14: a bad relative uncertainty exits 2 naming --u-calibration."""
    code, out, err = _cli(capsys, "dose", "lesion", "--mass-g", "2", "--tia-h", "1", "--u-calibration", "5")
    assert code == 2
    assert "--u-calibration" in out + err


def test_cli_dose_plan_json(capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 14: `redif dose plan --json`: every lesion and every option's lesion dose carries the budget."""
    from pathlib import Path

    case = Path(__file__).resolve().parents[2] / "examples" / "dosimetry_plan.yaml"
    code, out, err = _cli(capsys, "dose", "plan", str(case), *U_FLAGS, "--uncertainty-mc", "20000", "--json")
    assert code == 0, err
    d = json.loads(out)
    for les in d["lesions"]:
        _check_unc(les["uncertainty"], mc=True)
        # the example's recovery curve adds the volume's path through RC(V)
        assert les["uncertainty"]["sensitivity"]["volume"] < svalue_mass_slope(les["mass_g"])
    for opt in d["options"]:
        for ld in opt["lesion_doses"]:
            assert set(ld["uncertainty"]) == {"relative_standard", "components"}


def test_cli_dose_voxel_json(capsys: pytest.CaptureFixture[str], tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Issue 14: `redif dose voxel --json`: every lesion carries `uncertainty` (fit from its time-activity
    curve)."""
    ph = tmp_path / "ph"
    code, _, err = _cli(capsys, "phantom", str(ph), "--shape", "24,24,20", "--voxel-mm", "6", "--json")
    assert code == 0, err
    pets = sorted(str(p) for p in ph.glob("pet_*"))
    code, out, err = _cli(capsys, "dose", "voxel", "--pet", *pets, "--mask", str(ph / "seg_lesions.dcm"),
                          "--out", str(tmp_path / "dose.nii.gz"), *U_FLAGS, "--uncertainty-mc", "1000",
                          "--json")
    assert code == 0, err
    payload = json.loads(out)
    rows = payload["lesions"] if isinstance(payload, dict) else payload
    assert rows
    for les in rows:
        _check_unc(les["uncertainty"], mc=True)
        assert len(les["tac_mbq_imaged"]) == len(pets)
