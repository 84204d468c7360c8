"""124I -> 131I conversion against the closed forms of docs/methods/dosimetry.md §4.

a₁₃₁(t) = a₁₂₄(t)·e^((λ₁₂₄ − λ₁₃₁)t); for f = U·e^(−λ_bio t): ã₁₃₁ = U/(λ_bio + λ₁₃₁). Decay constants from
the ICRP-107 half-lives (cross-checked against `radioactivedecay` below and in test_kernels_nuclides.py).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from redif.dosimetry.conversion import RecoveryCurve, convert_activity, convert_time_activity
from redif.dosimetry.kinetics import TimeActivity
from redif.dosimetry.nuclides import get_nuclide
from redif.errors import InputError

T = np.array([4.0, 24.0, 48.0, 72.0, 96.0])


def test_values_follow_the_decay_ratio(lam124: float, lam131: float) -> None:
    a124 = np.array([0.010, 0.008, 0.006, 0.004, 0.003])
    got = convert_activity(T, a124)
    assert np.allclose(got, a124 * np.exp((lam124 - lam131) * T), rtol=1e-12)
    # decay-corrected input is the biological retention: a131 = f·e^(−λ131 t)
    got_dc = convert_activity(T, a124, decay_corrected=True)
    assert np.allclose(got_dc, a124 * np.exp(-lam131 * T), rtol=1e-12)


def test_mono_tia_closed_form(lam124: float, lam131: float) -> None:
    """U = 0.01, λ_bio = 0.01/h: ã₁₃₁ = 0.01/(0.01 + λ131) = 0.73525 h."""
    a124 = 0.01 * np.exp(-(0.01 + lam124) * T)
    res = convert_time_activity(
        TimeActivity.create(T, a124, decay_corrected=False, nuclide="I-124"), model="mono", n_samples=0
    )
    assert res.tia_h == pytest.approx(0.01 / (0.01 + lam131), rel=1e-6)
    assert res.fit.tia_h == pytest.approx(0.01 / (0.01 + lam124), rel=1e-6)  # the 124I TIA itself
    d = res.to_dict()
    assert d["values_decay_corrected"] is False
    assert d["effective_half_life_h"] == pytest.approx(math.log(2) / (0.01 + lam131), rel=1e-6)


def test_uptake_washout_tia_closed_form(lam124: float, lam131: float) -> None:
    """f = U(e^(−0.02t) − e^(−0.5t)): ã₁₃₁ = U(1/(0.02+λ131) − 1/(0.5+λ131))."""
    t = np.array([1.0, 4.0, 24.0, 48.0, 72.0, 96.0])
    f = 0.004 * (np.exp(-0.02 * t) - np.exp(-0.5 * t))
    res = convert_time_activity(
        TimeActivity.create(t, f * np.exp(-lam124 * t), decay_corrected=False, nuclide="I-124"),
        model="uptake",
        n_samples=0,
    )
    assert res.tia_h == pytest.approx(0.004 * (1 / (0.02 + lam131) - 1 / (0.5 + lam131)), rel=1e-6)


def test_monte_carlo_ci_brackets(lam124: float) -> None:
    rng = np.random.default_rng(4)
    a124 = 0.01 * np.exp(-(0.01 + lam124) * T) * (1 + 0.05 * rng.standard_normal(T.size))
    res = convert_time_activity(
        TimeActivity.create(T, a124, decay_corrected=False, nuclide="I-124"),
        model="mono",
        measurement_cv=0.05,
        seed=3,
    )
    assert res.uncertainty is not None
    assert res.uncertainty.ci_lower < res.tia_h < res.uncertainty.ci_upper


def test_recovery_curve_log_volume_interpolation() -> None:
    """RC at the knots is exact; between 1 and 4 mL at 2 mL (half-way in log volume) it is the mean."""
    rc = RecoveryCurve((1.0, 4.0, 16.0), (0.4, 0.6, 0.8))
    assert rc.rc(4.0) == pytest.approx(0.6)
    assert rc.rc(2.0) == pytest.approx(0.5)
    assert rc.rc(8.0) == pytest.approx(0.7)
    with pytest.raises(InputError, match="volume_ml"):
        rc.rc(0.5)
    with pytest.raises(InputError, match="volume_ml"):
        rc.rc(20.0)


def test_recovery_correction_scales_tia(lam124: float) -> None:
    """A_true = A_meas / RC: the 131I TIA scales by 1/RC (RC = 0.5 at 2 mL)."""
    a124 = 0.01 * np.exp(-(0.01 + lam124) * T)
    data = TimeActivity.create(T, a124, decay_corrected=False, nuclide="I-124")
    plain = convert_time_activity(data, model="mono", n_samples=0)
    corr = convert_time_activity(
        data, model="mono", n_samples=0, recovery_curve=RecoveryCurve((1.0, 4.0), (0.4, 0.6)), volume_ml=2.0
    )
    assert corr.recovery_coefficient == pytest.approx(0.5)
    assert corr.tia_h == pytest.approx(plain.tia_h / 0.5, rel=1e-6)


@pytest.mark.parametrize(
    ("vols", "rcs"),
    [((1.0,), (0.5,)), ((4.0, 1.0), (0.5, 0.6)), ((1.0, 4.0), (0.0, 0.6)), ((1.0, 4.0), (0.5, 3.0))],
)
def test_bad_recovery_curve(vols: tuple[float, ...], rcs: tuple[float, ...]) -> None:
    with pytest.raises(InputError, match="recovery_curve"):
        RecoveryCurve(vols, rcs)


def test_recovery_curve_needs_volume(lam124: float) -> None:
    data = TimeActivity.create(T, 0.01 * np.exp(-lam124 * T), decay_corrected=False, nuclide="I-124")
    with pytest.raises(InputError, match="volume_ml"):
        convert_time_activity(data, recovery_curve=RecoveryCurve((1.0, 4.0), (0.4, 0.6)), n_samples=0)


def test_i123_half_life_transcription() -> None:
    """I-123 was added from the ICRP-107 set distributed with radioactivedecay (13.27 h); this checks the
    transcription (not an independent source). Energies are blank: no ICRP-107 list was obtained."""
    rd = pytest.importorskip("radioactivedecay")
    n = get_nuclide("I-123")
    assert n.half_life_h == pytest.approx(rd.Nuclide("I-123").half_life("h"), rel=1e-6)
    assert n.electron_energy_mev is None and n.photon_energy_mev is None
