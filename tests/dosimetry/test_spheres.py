"""Sphere self-dose S-values: physical bounds (docs/methods/dosimetry.md §5), kernel anchor, reproducibility.

Closed form of the electron-only limit. For a sphere of mass m that absorbs every electron, the mean
absorbed dose per unit time-integrated activity is S_e = Δ_e/m. With Δ_e(I-131) = 0.19185 MeV per decay
(ICRP-107), 1 MBq·s = 1e6 decays and 1 MeV = 1.602176634e-13 J:
Δ_e = 0.19185 × 1e6 × 1.602176634e-13 J = 3.0738e-8 J; per gram 3.0738e-8 J / 1e-3 kg = 3.0738e-5 Gy
= 3.0737e-2 mGy. Hence S_e·m -> 3.0737e-2 mGy·g/(MBq·s) for large m, and in general
S(m) <= (Δ_e + Δ_p)/m (everything absorbed).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from redif.dosimetry.kernels import load_kernel
from redif.dosimetry.nuclides import get_nuclide
from redif.dosimetry.spheres import sphere_s_value, sphere_table
from redif.errors import InputError

MEV_TO_MGY_G = 1e6 * 1.602176634e-13 / 1e-6  # MeV per decay -> mGy*g per MBq*s
ROOT = Path(__file__).resolve().parents[2]


def _delta(nuclide: str) -> tuple[float, float]:
    n = get_nuclide(nuclide)
    assert n.electron_energy_mev is not None and n.photon_energy_mev is not None
    return n.electron_energy_mev * MEV_TO_MGY_G, n.photon_energy_mev * MEV_TO_MGY_G


def test_electron_only_constant() -> None:
    """The docstring's closed form: 3.0737e-2 mGy·g/(MBq·s) (docs/methods/dosimetry.md §5)."""
    assert _delta("I-131")[0] == pytest.approx(3.0737e-2, rel=1e-4)


@pytest.mark.parametrize(
    ("nuclide", "column"), [("I-131", "s_i131_mgy_per_mbq_s"), ("I-124", "s_i124_mgy_per_mbq_s")]
)
def test_upper_bound_total_energy(nuclide: str, column: str) -> None:
    de, dp = _delta(nuclide)
    tab = sphere_table()
    assert np.all(tab[column] * tab["mass_g"] <= de + dp)
    assert np.all(tab[column] > 0)


def test_electron_component_tends_to_full_absorption() -> None:
    """S_e·m <= Δ_e everywhere, increases with m, and is within 1 % of Δ_e at 1000 g."""
    de, _ = _delta("I-131")
    tab = sphere_table()
    se_m = tab["s_i131_electron"] * tab["mass_g"]
    assert np.all(se_m <= de * (1 + 1e-9))
    assert np.all(np.diff(se_m) > 0)
    assert se_m[-1] == pytest.approx(de, rel=0.01)
    # electrons dominate small spheres; the photon share grows with size but stays a minority
    phi_p = tab["phi_photon"]
    assert np.all(np.diff(phi_p) > 0) and phi_p[0] < 0.01 and phi_p[-1] < 0.5


def test_total_is_sum_of_components() -> None:
    tab = sphere_table()
    assert np.allclose(tab["s_i131_electron"] + tab["s_i131_photon"], tab["s_i131_mgy_per_mbq_s"], rtol=1e-5)


def test_anchor_against_kernel_self_cube() -> None:
    """The central voxel of the 2.21 mm Lanconelli kernel (2.1 mGy/(MBq·s), file 131I2.21mmsoft.txt) is the
    self-dose of a 0.0108 g cube. A sphere of equal mass is more compact, so its S is higher, but not by
    much: between 1.0x and 1.2x (the table also renormalises the electron energy by ~6 %, see the CSV
    header)."""
    k0 = float(load_kernel(2.21)[5, 5, 5])
    m = 0.221**3
    ratio = sphere_s_value(m).s_mgy_per_mbq_s / k0
    assert 1.0 <= ratio <= 1.2


def test_log_log_interpolation() -> None:
    tab = sphere_table()
    m0, m1 = tab["mass_g"][10], tab["mass_g"][11]
    s0, s1 = tab["s_i131_mgy_per_mbq_s"][10], tab["s_i131_mgy_per_mbq_s"][11]
    assert sphere_s_value(float(m0)).s_mgy_per_mbq_s == pytest.approx(s0)
    mid = float(np.sqrt(m0 * m1))
    assert sphere_s_value(mid).s_mgy_per_mbq_s == pytest.approx(float(np.sqrt(s0 * s1)), rel=1e-9)


@pytest.mark.parametrize("mass", [0.001, 5000.0, float("nan")])
def test_out_of_range(mass: float) -> None:
    with pytest.raises(InputError, match="mass_g"):
        sphere_s_value(mass)


def test_no_table_for_i123() -> None:
    with pytest.raises(InputError, match="nuclide"):
        sphere_s_value(1.0, "I-123")


def test_header_states_method_date_grade() -> None:
    from redif.data import data_path

    head = data_path("sphere_svalues.csv").read_text(encoding="utf-8").splitlines()[:12]
    text = "\n".join(head)
    assert "make_sphere_svalues.py" in text and "Generated 20" in text and "unverified" in text


_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def _last_place(token: str) -> float:
    """One unit in the last printed place of a decimal token (``"0.003326"`` -> 1e-6,
    ``"9.469696e-03"`` -> 1e-9, ``"43"`` -> 1)."""
    mant, _, exp = token.lower().partition("e")
    decimals = len(mant.split(".")[1]) if "." in mant else 0
    return float(10.0 ** (int(exp or 0) - decimals))


def _split_numbers(line: str) -> tuple[str, list[str]]:
    """The text of a line with every number replaced by ``#``, and the numbers as printed."""
    return _NUMBER.sub("#", line), _NUMBER.findall(line)


def test_table_is_reproduced_by_the_script(tmp_path: Path) -> None:
    """Regenerate with scripts/make_sphere_svalues.py and compare every line (not the date line): the
    words exactly, every number within one unit of its last printed place (the table prints 6-7
    significant digits; the fits behind it differ across numpy/scipy builds in the last digit, e.g.
    9.469696e-03 vs 9.469695e-03 with numpy 2.4.6 / scipy 1.17.1), so numbers are compared as numbers."""
    out = tmp_path / "s.csv"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_sphere_svalues.py"), "--quiet", "--out", str(out)],
        check=True,
        capture_output=True,
    )
    from redif.data import data_path

    def rows(p: Path) -> list[str]:
        return [ln for ln in p.read_text(encoding="utf-8").splitlines() if not ln.startswith("# Generated")]

    got, ref = rows(out), rows(data_path("sphere_svalues.csv"))
    assert len(got) == len(ref)
    n_numbers = 0
    for i, (g, r) in enumerate(zip(got, ref, strict=True)):
        g_text, g_nums = _split_numbers(g)
        r_text, r_nums = _split_numbers(r)
        assert g_text == r_text, f"line {i + 1}: {g!r} != {r!r}"
        assert len(g_nums) == len(r_nums), f"line {i + 1}"
        for gt, rt in zip(g_nums, r_nums, strict=True):
            tol = max(_last_place(gt), _last_place(rt)) * 1.000001
            assert abs(float(gt) - float(rt)) <= tol, f"line {i + 1}: {gt} vs {rt} (tolerance {tol:g})"
            n_numbers += 1
    assert n_numbers > 200  # the comparison saw the table, not an empty file


def test_number_comparison_catches_a_changed_digit() -> None:
    """The tolerance of the table check is one unit in the last place: a change of two units fails."""
    assert _last_place("9.469696e-03") == pytest.approx(1e-9)
    assert _last_place("0.003326") == pytest.approx(1e-6)
    assert abs(9.469696e-03 - 9.469694e-03) > _last_place("9.469696e-03") * 1.000001
    assert _split_numbers("a=1.5e-04, b 7") == ("a=#, b #", ["1.5e-04", "7"])


def test_direct_voxel_convolution_sanity() -> None:
    """Independent of the table's fits: a 30 g unit-density sphere voxelised on the 2.21 mm grid (4³
    sub-samples for partial volume) and convolved with the raw Lanconelli kernel gives a mean dose per
    MBq·s that must lie below the table value but within 20 % of it. Three known biases all push the
    direct result low: the raw kernel's electron energy is 5.8 % below Δ_e at unit density (the table
    renormalises it), partially filled surface voxels lose ≈ L/R of the electron energy, and the ±5-voxel
    kernel drops photon dose beyond 11 mm. (Computed here: ratio ≈ 0.88.)"""
    import math

    from scipy.signal import fftconvolve

    m, size = 30.0, 2.21
    k = load_kernel(size)
    r_vox = (3 * m / (4 * math.pi)) ** (1 / 3) * 10 / size
    n = math.ceil(r_vox) + 1
    ax = np.arange(-n, n + 1)
    sub = (np.arange(4) + 0.5) / 4 - 0.5
    occ = np.zeros((ax.size,) * 3)
    for dx in sub:
        for dy in sub:
            for dz in sub:
                x, y, z = np.meshgrid(ax + dx, ax + dy, ax + dz, indexing="ij", sparse=True)
                occ += (x * x + y * y + z * z) <= r_vox * r_vox
    occ /= 64
    dose = fftconvolve(occ / occ.sum(), k, mode="same")
    mean_dose = float((dose * occ).sum() / occ.sum())
    s_direct = mean_dose * float(occ.sum()) * (size / 10) ** 3 / m
    ratio = s_direct / sphere_s_value(m).s_mgy_per_mbq_s
    assert 0.8 <= ratio <= 1.0
