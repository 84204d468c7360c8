"""Kinetic fits against closed forms.

Expected values are analytic integrals of the generating curves (docs/methods/dosimetry.md §3):
∫₀^∞ A·e^(−λt) dt = A/λ; bi-exponential Σ A_i/λ_i; uptake-washout A·(1/λ_w − 1/λ_u), with λ = λ_bio +
λ_phys. Noise-free data generated from these curves must be recovered to 1e-6; noisy synthetic data from
known models (fixed seeds) check the AIC choice and the Monte Carlo coverage.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from redif.dosimetry.kinetics import DecayCorrection, KineticModel, TimeActivity, fit_kinetics
from redif.dosimetry.single_time_point import hanscheid_tia_h, madsen_tia_h
from redif.dosimetry.uncertainty import monte_carlo_tia
from redif.errors import InputError

T = np.array([4.0, 24.0, 48.0, 96.0, 144.0])


def test_mono_integral_is_a_over_lambda(lam131: float) -> None:
    """A·e^(−(k+λ)t) integrates to A/(k+λ): 0.3/(0.01+λ131) = 22.0575 h."""
    y = 0.3 * np.exp(-(0.01 + lam131) * T)
    fit = fit_kinetics(TimeActivity.create(T, y, decay_corrected=False), "mono")
    assert fit.tia_h == pytest.approx(0.3 / (0.01 + lam131), rel=1e-6)
    assert fit.parameters["k_bio_per_h"] == pytest.approx(0.01, rel=1e-6)
    assert fit.effective_half_life_h == pytest.approx(math.log(2) / (0.01 + lam131), rel=1e-6)
    assert fit.r2 == pytest.approx(1.0)
    assert not fit.decay_corrected


def test_decay_corrected_and_not_give_the_same_tia(lam131: float) -> None:
    """The same biology given decay-corrected (f) or not (f·e^(−λt)) yields the same Ã, never mixed."""
    f = 0.3 * np.exp(-0.01 * T)
    a = fit_kinetics(TimeActivity.create(T, f, decay_corrected=True), "mono")
    b = fit_kinetics(TimeActivity.create(T, f * np.exp(-lam131 * T), decay_corrected=False), "mono")
    assert a.decay_correction is DecayCorrection.DECAY_CORRECTED
    assert b.decay_correction is DecayCorrection.NOT_DECAY_CORRECTED
    assert a.tia_h == pytest.approx(b.tia_h, rel=1e-6)
    assert a.tia_h == pytest.approx(0.3 / (0.01 + lam131), rel=1e-6)


def test_bi_exponential_integral(lam131: float) -> None:
    """0.2·e^(−(0.1+λ)t) + 0.1·e^(−(0.005+λ)t) -> 0.2/(0.1+λ) + 0.1/(0.005+λ) = 13.5573 h."""
    t = np.array([1.0, 4.0, 24.0, 48.0, 96.0, 144.0])
    y = 0.2 * np.exp(-(0.1 + lam131) * t) + 0.1 * np.exp(-(0.005 + lam131) * t)
    fit = fit_kinetics(TimeActivity.create(t, y, decay_corrected=False), "bi")
    assert fit.tia_h == pytest.approx(0.2 / (0.1 + lam131) + 0.1 / (0.005 + lam131), rel=1e-6)
    assert fit.parameters["k1_bio_per_h"] > fit.parameters["k2_bio_per_h"]


def test_uptake_washout_integral(lam131: float) -> None:
    """0.05·(e^(−0.02t) − e^(−0.3t)) decay-corrected -> 0.05·(1/(0.02+λ) − 1/(0.3+λ))."""
    f = 0.05 * (np.exp(-0.02 * T) - np.exp(-0.3 * T))
    fit = fit_kinetics(TimeActivity.create(T, f, decay_corrected=True), "uptake")
    assert fit.tia_h == pytest.approx(0.05 * (1 / (0.02 + lam131) - 1 / (0.3 + lam131)), rel=1e-6)


def test_trapezoid_with_tail_hand_computed() -> None:
    """Hand computation, values 0.5 and 0.25 at 2 and 4 h (not decay-corrected, I-131):
    triangle 0-2 h = 0.5; trapezoid 2-4 h = 0.75; tail rate ln2/2 h⁻¹ (> λ131) -> 0.25/(ln2/2) = 0.72135;
    total 1.97135 h."""
    fit = fit_kinetics(TimeActivity.create([2.0, 4.0], [0.5, 0.25], decay_corrected=False), "trapezoid")
    assert fit.tia_h == pytest.approx(0.5 + 0.75 + 0.25 / (math.log(2) / 2), rel=1e-12)
    assert fit.effective_half_life_h == pytest.approx(2.0)


def test_trapezoid_tail_never_slower_than_physical_decay(lam131: float) -> None:
    """Rising last two points: the tail uses λ_phys (conservative, biological rate 0)."""
    fit = fit_kinetics(TimeActivity.create([2.0, 4.0], [0.2, 0.3], decay_corrected=False), "trapezoid")
    assert fit.parameters["tail_rate_eff_per_h"] == pytest.approx(lam131)
    assert fit.tia_h == pytest.approx(0.2 + 0.5 + 0.3 / lam131)


def test_aicc_formula() -> None:
    """AIC = n ln(RSS/n) + 2p; AICc = AIC + 2p(p+1)/(n−p−1) (Burnham & Anderson 2002, eq. 2.1/2.2)."""
    rng = np.random.default_rng(3)
    y = 0.3 * np.exp(-0.02 * T) * (1 + 0.05 * rng.standard_normal(T.size))
    fit = fit_kinetics(TimeActivity.create(T, y, decay_corrected=True), "mono")
    n, p = 5, 2
    aic = n * math.log(fit.rss / n) + 2 * p
    assert fit.aic == pytest.approx(aic)
    assert fit.aicc == pytest.approx(aic + 2 * p * (p + 1) / (n - p - 1))
    assert fit.rss == pytest.approx(float(np.sum(np.square(fit.residuals))))


@pytest.mark.parametrize("truth", ["mono", "bi", "uptake"])
def test_auto_choice_recovers_the_generating_model(truth: str, lam131: float) -> None:
    """8 time points with 1 % noise from a known model, 20 seeds (0-19): AICc + the parsimony rule picks
    the generating model in at least 80 % of the data sets (chance can favour a neighbour now and then)."""
    t = np.array([0.5, 2.0, 6.0, 24.0, 48.0, 72.0, 120.0, 168.0])
    f = {
        "mono": 0.4 * np.exp(-0.02 * t),
        "bi": 0.3 * np.exp(-0.3 * t) + 0.1 * np.exp(-0.01 * t),
        "uptake": 0.08 * (np.exp(-0.015 * t) - np.exp(-0.5 * t)),
    }[truth]
    hits = 0
    for seed in range(20):
        rng = np.random.default_rng(seed)
        y = f * np.exp(-lam131 * t) * (1 + 0.01 * rng.standard_normal(t.size))
        fit = fit_kinetics(TimeActivity.create(t, y, decay_corrected=False), "auto")
        hits += fit.model is KineticModel(truth)
        assert {c.model.value for c in fit.candidates} == {"mono", "bi", "uptake"}
        assert "ΔAICc <= 2" in fit.selection_rule
    assert hits >= 16


def test_parsimony_prefers_fewer_parameters(lam131: float) -> None:
    """Mono-exponential data: bi fits as well (ΔAICc small) but mono is chosen."""
    t = np.array([0.5, 2.0, 6.0, 24.0, 48.0, 72.0, 120.0, 168.0])
    rng = np.random.default_rng(5)
    y = 0.4 * np.exp(-(0.02 + lam131) * t) * (1 + 0.02 * rng.standard_normal(t.size))
    fit = fit_kinetics(TimeActivity.create(t, y, decay_corrected=False), "auto")
    assert fit.model is KineticModel.MONO


def test_too_few_points_for_auto_falls_back_to_mono() -> None:
    fit = fit_kinetics(TimeActivity.create([24.0, 48.0], [0.3, 0.2], decay_corrected=False), "auto")
    assert fit.model is KineticModel.MONO
    assert "no model comparison" in fit.selection_rule


def test_four_points_can_choose_uptake_washout() -> None:
    """Four time points (4, 24, 48, 96 h, the usual 124I PET schedule) of an exact uptake-washout curve
    A(t) = 0.05·(e^(−0.01 t) − e^(−0.2 t)) (not decay-corrected): AICc is undefined for the 3-parameter
    model (n − p − 1 = 0), so auto ranks by AIC; the exact model fits with RSS ≈ 0 and must win over the
    mono-exponential, and its TIA must equal the closed form 0.05·(1/0.01 − 1/0.2) = 4.75 h."""
    t = [4.0, 24.0, 48.0, 96.0]
    a = [0.05 * (math.exp(-0.01 * x) - math.exp(-0.2 * x)) for x in t]
    fit = fit_kinetics(TimeActivity.create(t, a, decay_corrected=False), "auto")
    assert fit.model is KineticModel.UPTAKE
    assert "AIC" in fit.selection_rule
    assert fit.tia_h == pytest.approx(0.05 * (1 / 0.01 - 1 / 0.2), rel=1e-4)


def test_hanscheid_exact_at_effective_half_life() -> None:
    """Mono-exponential A0·e^(−λt): Ã = A0/λ. Hänscheid A(t)·2t/ln2 equals it at t = T_eff
    (λt = ln2: A0·½·2·T_eff/ln2 = A0/λ)."""
    teff = 60.0
    lam = math.log(2) / teff
    a_t = 0.3 * math.exp(-lam * teff)
    assert hanscheid_tia_h(a_t, teff) == pytest.approx(0.3 / lam, rel=1e-12)
    # and not at another time (the method is approximate)
    assert hanscheid_tia_h(0.3 * math.exp(-lam * 24), 24) != pytest.approx(0.3 / lam, rel=0.05)


@pytest.mark.parametrize("t", [6.0, 24.0, 72.0, 150.0])
def test_madsen_exact_for_mono_exponential(t: float) -> None:
    """Madsen A(t)·e^(λt)/λ = A0/λ exactly for mono-exponential data at any t."""
    lam = math.log(2) / 45.0
    assert madsen_tia_h(0.2 * math.exp(-lam * t), t, 45.0) == pytest.approx(0.2 / lam, rel=1e-12)


def test_stp_decay_corrected_input_is_converted(lam131: float) -> None:
    """Decay-corrected f(t) -> physical f·e^(−λ131 t) before applying the formula."""
    assert hanscheid_tia_h(0.5, 48, decay_corrected=True) == pytest.approx(
        hanscheid_tia_h(0.5 * math.exp(-lam131 * 48), 48)
    )


def test_monte_carlo_is_reproducible_and_brackets_the_estimate(lam131: float) -> None:
    rng = np.random.default_rng(2)
    y = 0.3 * np.exp(-(0.01 + lam131) * T) * (1 + 0.05 * rng.standard_normal(T.size))
    fit = fit_kinetics(TimeActivity.create(T, y, decay_corrected=False), "mono")
    a = monte_carlo_tia(fit, n_samples=1000, seed=7)
    b = monte_carlo_tia(fit, n_samples=1000, seed=7)
    assert a.ci_lower == b.ci_lower and a.ci_upper == b.ci_upper
    assert a.ci_lower < fit.tia_h < a.ci_upper
    assert a.n_samples == 1000
    c = monte_carlo_tia(fit, n_samples=1000, seed=8)
    assert c.ci_lower != a.ci_lower


def test_monte_carlo_coverage(lam131: float) -> None:
    """Coverage sanity: 120 datasets (seed 2024) from 0.3·e^(−(0.01+λ)t) with 10 % relative noise; the 95 %
    MC interval (measurement_cv = 0.1, 400 samples) must contain the true Ã = 0.3/(0.01+λ) in 85-100 %
    of them (binomial 95 % range for p = 0.95, n = 120 is about 0.91-0.99; the parametric bootstrap around
    a noisy fit is approximate, hence the wider band)."""
    true = 0.3 / (0.01 + lam131)
    rng = np.random.default_rng(2024)
    hits = 0
    n = 120
    for i in range(n):
        y = 0.3 * np.exp(-(0.01 + lam131) * T) * (1 + 0.1 * rng.standard_normal(T.size))
        fit = fit_kinetics(TimeActivity.create(T, np.maximum(y, 0), decay_corrected=False), "mono")
        unc = monte_carlo_tia(fit, n_samples=400, seed=i, measurement_cv=0.1)
        hits += unc.ci_lower <= true <= unc.ci_upper
    assert 0.85 <= hits / n <= 1.0


def test_trapezoid_monte_carlo_needs_cv() -> None:
    fit = fit_kinetics(
        TimeActivity.create([2.0, 4.0, 8.0], [0.5, 0.3, 0.2], decay_corrected=False), "trapezoid"
    )
    assert monte_carlo_tia(fit).n_samples == 0
    unc = monte_carlo_tia(fit, measurement_cv=0.1, seed=1)
    assert unc.ci_lower < fit.tia_h < unc.ci_upper


@pytest.mark.parametrize(
    ("times", "values", "model", "field"),
    [
        ([4, 24, 12], [0.3, 0.2, 0.1], "mono", "times_h"),  # non-monotonic
        ([4, 24, 24], [0.3, 0.2, 0.1], "mono", "times_h"),  # repeated
        ([4, 24, 48], [0.3, -0.2, 0.1], "mono", "values"),  # negative
        ([4, 24, 48], [0.3, float("nan"), 0.1], "mono", "values"),  # NaN
        ([4, 24, 48], [0.3, 0.2], "mono", "values"),  # length mismatch
        ([4, 24, 48], [0.3, 0.2, 0.1], "bi", "times_h"),  # too few points for bi
        ([4], [0.3], "mono", "times_h"),  # too few points
        ([4, 24, 48], [1.3, 0.2, 0.1], "mono", "values"),  # fraction > 1
        ([-1, 24, 48], [0.3, 0.2, 0.1], "mono", "times_h"),  # negative time
    ],
)
def test_bad_input_names_the_field(times: list[float], values: list[float], model: str, field: str) -> None:
    with pytest.raises(InputError) as info:
        fit_kinetics(TimeActivity.create(times, values, decay_corrected=False), model)
    assert info.value.field == field


def test_unknown_model() -> None:
    with pytest.raises(InputError, match="model"):
        fit_kinetics(TimeActivity.create([4, 24, 48], [0.3, 0.2, 0.1], decay_corrected=False), "quad")


@settings(max_examples=30, deadline=None)
@given(scale=st.floats(1e-3, 1e3), k=st.floats(1e-3, 0.1), a=st.floats(0.01, 1.0))
def test_tia_scales_linearly_with_values(scale: float, k: float, a: float) -> None:
    """Property: multiplying every value by c multiplies Ã by c (MBq unit, mono model)."""
    y = a * np.exp(-k * T)
    base = fit_kinetics(TimeActivity.create(T, y, decay_corrected=True, unit="MBq"), "mono")
    scaled = fit_kinetics(TimeActivity.create(T, y * scale, decay_corrected=True, unit="MBq"), "mono")
    assert scaled.tia_h == pytest.approx(base.tia_h * scale, rel=1e-5)


def test_extrapolated_fraction_closed_form(lam131: float) -> None:
    """Mono-exponential: the share of Ã after the last time point t_n is e^(−(k+λ)t_n)."""
    y = 0.3 * np.exp(-(0.01 + lam131) * T)
    fit = fit_kinetics(TimeActivity.create(T, y, decay_corrected=False), "mono")
    assert fit.extrapolated_fraction == pytest.approx(math.exp(-(0.01 + lam131) * T[-1]), rel=1e-6)


def test_quality_notes_are_shown() -> None:
    """Rising data: notes say so and flag the extrapolated share; an impossible t = 0 extrapolation too."""
    rising = fit_kinetics(
        TimeActivity.create([4, 24, 48, 96], [0.01, 0.02, 0.05, 0.1], decay_corrected=False)
    )
    assert any("still rising" in n for n in rising.notes)
    assert any("after the last measurement" in n for n in rising.notes)
    steep = fit_kinetics(TimeActivity.create([24, 48], [0.3, 0.001], decay_corrected=False), "mono")
    assert any("extrapolates to" in n for n in steep.notes)


def test_single_time_point_fit_matches_formulas_and_converts(lam124: float, lam131: float) -> None:
    """A single 124I measurement at 48 h with a prior T_eff = 40 h (Madsen): Ã₁₂₄ = A·e^(λt)/λ; the implied
    biology k_bio = ln2/40 − λ124 integrates for 131I to U/(k_bio + λ131) with U = A·e^((k_bio+λ124)·48)."""
    from redif.dosimetry.single_time_point import single_time_point_fit

    data = TimeActivity.create([48.0], [0.002], decay_corrected=False, nuclide="I-124")
    fit = single_time_point_fit(data, "madsen", effective_half_life_h=40.0)
    lam = math.log(2) / 40.0
    assert fit.tia_h == pytest.approx(0.002 * math.exp(lam * 48) / lam, rel=1e-12)
    k_bio = lam - lam124
    u = 0.002 * math.exp((k_bio + lam124) * 48)
    assert fit.tia_for("I-131") == pytest.approx(u / (k_bio + lam131), rel=1e-12)
    h = single_time_point_fit(TimeActivity.create([48.0], [0.2], decay_corrected=False))
    assert h.tia_h == pytest.approx(0.2 * 96 / math.log(2), rel=1e-12)
    unc = monte_carlo_tia(h, measurement_cv=0.1, seed=1)
    assert unc.ci_lower < h.tia_h < unc.ci_upper


def test_single_time_point_errors() -> None:
    from redif.dosimetry.single_time_point import single_time_point_fit

    with pytest.raises(InputError, match="effective_half_life_h"):
        single_time_point_fit(TimeActivity.create([48.0], [0.2], decay_corrected=False), "madsen")
    with pytest.raises(InputError, match="times_h"):
        single_time_point_fit(TimeActivity.create([4.0, 48.0], [0.3, 0.2], decay_corrected=False))
    with pytest.raises(InputError, match="method"):
        single_time_point_fit(TimeActivity.create([48.0], [0.2], decay_corrected=False), "guess")


def test_relative_weighting_recovers_exact_data_and_is_scale_free(lam131: float) -> None:
    """Noise-free bi-exponential data are recovered with either weighting (closed form Σ A_i/λ_i); with
    relative weighting the AICc does not change when every value is multiplied by 1000 (MBq instead of
    a fraction), because the weighted residuals are relative."""
    t = np.array([1.0, 4.0, 8.0, 24.0, 48.0, 96.0, 144.0])
    y = 0.2 * np.exp(-(0.1 + lam131) * t) + 0.1 * np.exp(-(0.005 + lam131) * t)
    fit = fit_kinetics(TimeActivity.create(t, y, decay_corrected=False), "bi", weighting="relative")
    assert fit.tia_h == pytest.approx(0.2 / (0.1 + lam131) + 0.1 / (0.005 + lam131), rel=1e-6)
    rng = np.random.default_rng(9)
    noisy = y * (1 + 0.05 * rng.standard_normal(t.size))
    a = fit_kinetics(TimeActivity.create(t, noisy, decay_corrected=False), "mono", weighting="relative")
    b = fit_kinetics(
        TimeActivity.create(t, noisy * 1000, decay_corrected=False, unit="MBq"), "mono", weighting="relative"
    )
    assert a.aicc == pytest.approx(b.aicc, abs=1e-6)
    assert b.tia_h == pytest.approx(1000 * a.tia_h, rel=1e-6)
    assert a.weighting.value == "relative"
    with pytest.raises(InputError, match="weighting"):
        fit_kinetics(TimeActivity.create(t, noisy, decay_corrected=False), "mono", weighting="inverse")
