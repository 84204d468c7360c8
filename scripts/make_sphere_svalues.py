"""Generate ``src/redif/data/sphere_svalues.csv``: unit-density sphere self-dose S-values, I-131 and I-124.

Run from the repository root::

    python scripts/make_sphere_svalues.py            # writes the CSV
    python scripts/make_sphere_svalues.py --check    # prints diagnostics only

Method (I-131), all from the Lanconelli et al. 2012 soft-tissue voxel S-value kernels shipped in
``redif/data/vsv_lanconelli2012_I131`` (13 voxel sizes, 2.21-9.28 mm), spheres of density 1 g/mL:

1. **Photon point kernel.** Beyond the I-131 beta range, every kernel voxel is photon dose. Kernel
   voxels at distance r >= max(1 cm, 2.5 voxels) from all 13 kernels are fitted with
   K_p(r) = A·e^(−b r)·(1 + c r)/r² (attenuation with a linear build-up factor). The sphere photon S-value
   is then the exact pair-distance integral S_p(m) = ∫₀^{2R} p_R(r) K_p(r) dr with
   p_R(r) = 3r²/R³ − 9r³/(4R⁴) + 3r⁵/(16R⁶) (distance density of two uniform points in a ball of
   radius R). No voxelisation and no ±5-voxel truncation: the part of the photon dose the truncated
   kernels miss is restored by the fitted kernel, which is an extrapolation beyond r ≈ 6.6 cm (the
   farthest tabulated voxel) — that affects spheres above ≈ 100 g.
2. **Electron kernel.** K_e = K − <K_p>_voxel (the photon kernel averaged over each voxel) for every
   voxel size, normalised so that Σ K_e·m_voxel = Δ_e (all electron energy is absorbed inside the
   ±5-voxel box, which is ≥ 1.1 cm wide, far beyond the 131I beta range). The normalisation
   factor is printed and written to the CSV header.
3. **Electron absorbed fraction of spheres.** The central voxel of K_e is exactly the electron
   self-dose of a cube of edge L (13 sizes, 0.011-0.80 g). For short-range emitters the escape
   fraction scales with surface/volume, i.e. with 1/(mean chord) (Cauchy: mean chord 4V/S = 2L/3 for a
   cube, 4R/3 for a sphere); the 13 cube values are fitted with 1 − φ_e = k/(g + g0) (g = mean chord)
   and the fit is evaluated at the sphere's mean chord. Max residual on the cubes ≈ 0.005.
   A direct voxelisation of the sphere on the 2.21 mm grid convolved with K_e is printed with
   ``--check`` for comparison: it underestimates φ_e by ≈ L/R (the partially occupied surface voxels
   receive a voxel-averaged dose), 0.81 instead of 0.95 at 1 g and 0.979 instead of 0.995 at 1000 g,
   which is why it is not used for the table.
4. S(m) = (φ_e(m)·Δ_e + φ_p(m)·Δ_p)/m, Δ from ``nuclides.yaml`` (ICRP-107), 1 MeV = 1.602176634e-13 J.

I-124: no kernel exists. The I-131 absorbed fractions φ_e(m) and φ_p(m) are applied to the I-124
energies (Δ_e = 0.19429 MeV, Δ_p = 1.11325 MeV per decay). Assumptions: positrons (longer range than
I-131 betas) and the harder I-124 photons (511, 603, 1691 keV) are absorbed like I-131's — both
overestimate the I-124 self-dose of small spheres; annihilation photons are treated as photons
emitted at the source. Graded **unverified**; redif predicts 131I therapy doses from I-131 S-values.

Grade of the I-131 table: unverified (computed here, not checked against the published OLINDA sphere
tables, which were not obtained).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import math
import sys
from pathlib import Path

import numpy as np
from scipy.integrate import quad
from scipy.optimize import curve_fit
from scipy.signal import fftconvolve

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from redif.dosimetry.kernels import available_voxel_sizes_mm, load_kernel  # noqa: E402
from redif.dosimetry.nuclides import get_nuclide  # noqa: E402

MEV_J = 1.602176634e-13  # J per MeV (SI exact)
RHO = 1.0  # g/cm^3, unit-density spheres
OUT = ROOT / "src" / "redif" / "data" / "sphere_svalues.csv"


def mev_to_mgy_g(delta_mev: float) -> float:
    """Energy per MBq*s (1e6 decays) in mGy*g: 1 mGy*g = 1e-6 J."""
    return delta_mev * 1e6 * MEV_J / 1e-6


def photon_model(r: np.ndarray, log_a: float, b: float, c: float) -> np.ndarray:
    return np.exp(log_a - b * r) * (1.0 + c * r) / r**2


def fit_photon_kernel() -> tuple[np.ndarray, float, int]:
    rr, kk = [], []
    for size in available_voxel_sizes_mm():
        k = load_kernel(size)[5:, 5:, 5:]
        idx = np.indices(k.shape)
        r = np.sqrt((idx**2).sum(axis=0)) * size / 10.0
        sel = r >= max(1.0, 2.5 * size / 10.0)
        rr.append(r[sel])
        kk.append(k[sel])
    r = np.concatenate(rr)
    k = np.concatenate(kk)

    def logf(r: np.ndarray, log_a: float, b: float, c: float) -> np.ndarray:
        return log_a - b * r + np.log1p(c * r) - 2 * np.log(r)

    p, _ = curve_fit(logf, r, np.log(k), p0=[math.log(1.6e-4), 0.05, 0.05])
    resid = np.log(k) - logf(r, *p)
    return p, float(np.sqrt(np.mean(resid**2))), int(r.size)


def voxel_avg_photon(size_mm: float, p: np.ndarray, sub: int = 8) -> np.ndarray:
    """Photon kernel averaged over each voxel of an 11^3 grid (cm units)."""
    L = size_mm / 10.0
    offs = (np.arange(sub) + 0.5) / sub - 0.5
    ox, oy, oz = np.meshgrid(offs, offs, offs, indexing="ij")
    out = np.zeros((11, 11, 11))
    for i in range(11):
        for j in range(11):
            for k in range(11):
                x = (i - 5 + ox) * L
                y = (j - 5 + oy) * L
                z = (k - 5 + oz) * L
                r = np.sqrt(x * x + y * y + z * z)
                out[i, j, k] = photon_model(r, *p).mean()
    return out


def pair_pdf(r: float, R: float) -> float:
    return 3 * r**2 / R**3 - 9 * r**3 / (4 * R**4) + 3 * r**5 / (16 * R**6)


def photon_s(mass_g: float, p: np.ndarray) -> float:
    R = (3 * mass_g / (4 * math.pi * RHO)) ** (1 / 3)
    val, _ = quad(lambda r: pair_pdf(r, R) * photon_model(np.array(r), *p), 0.0, 2 * R, limit=200)
    return float(val)


def sphere_occupancy(R_vox: float, sub: int = 4) -> np.ndarray:
    n = math.ceil(R_vox) + 1
    offs = (np.arange(sub) + 0.5) / sub - 0.5
    ax = np.arange(-n, n + 1)
    occ = np.zeros((ax.size,) * 3)
    for dx in offs:
        for dy in offs:
            for dz in offs:
                X, Y, Z = np.meshgrid(ax + dx, ax + dy, ax + dz, indexing="ij", sparse=True)
                occ += R_vox * R_vox >= (X * X + Y * Y + Z * Z)
    return occ / sub**3


def electron_phi_voxel(mass_g: float, ke: np.ndarray, size_mm: float, delta_e: float) -> float:
    L = size_mm / 10.0
    R = (3 * mass_g / (4 * math.pi * RHO)) ** (1 / 3)
    occ = sphere_occupancy(R / L)
    act = occ / occ.sum()  # 1 MBq*s in total
    dose = fftconvolve(act, ke, mode="same")
    mean_dose = float((dose * occ).sum() / occ.sum())
    m_vox = float(occ.sum()) * RHO * L**3
    return mean_dose * m_vox / delta_e


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="print diagnostics, do not write the CSV")
    ap.add_argument("--out", type=Path, default=OUT, help="output CSV (default: the package data file)")
    ap.add_argument("--quiet", action="store_true", help="print only the output path")
    args = ap.parse_args()
    if args.quiet:
        import builtins
        import functools
        import io

        builtins.print = functools.partial(builtins.print, file=io.StringIO())  # type: ignore[assignment]
    i131, i124 = get_nuclide("I-131"), get_nuclide("I-124")
    assert i131.electron_energy_mev and i131.photon_energy_mev
    assert i124.electron_energy_mev and i124.photon_energy_mev
    de131, dp131 = mev_to_mgy_g(i131.electron_energy_mev), mev_to_mgy_g(i131.photon_energy_mev)
    de124, dp124 = mev_to_mgy_g(i124.electron_energy_mev), mev_to_mgy_g(i124.photon_energy_mev)

    p, rms, npts = fit_photon_kernel()
    print(
        f"photon kernel fit on {npts} voxels: A={math.exp(p[0]):.4e} mGy cm^2/(MBq s), "
        f"b={p[1]:.4f}/cm, c={p[2]:.4f}/cm, rms log residual {rms:.4f}"
    )

    # electron kernels and cube self-absorbed fractions
    cube_m, cube_phi, norms = [], [], []
    ke_fine = None
    for size in available_voxel_sizes_mm():
        k = load_kernel(size)
        kp = voxel_avg_photon(size, p)
        ke = np.clip(k - kp, 0.0, None)
        m_vox = RHO * (size / 10.0) ** 3
        raw = float(ke.sum() * m_vox)
        norm = de131 / raw
        ke = ke * norm
        norms.append(norm)
        cube_m.append(m_vox)
        cube_phi.append(float(ke[5, 5, 5]) * m_vox / de131)
        if ke_fine is None:
            ke_fine = ke
            fine_size = size
        print(
            f"  {size:5.2f} mm: raw electron sum {raw:.5e} mGy g (Delta_e {de131:.5e}), norm {norm:.4f}, "
            f"cube phi_e {cube_phi[-1]:.4f} at {m_vox:.4g} g"
        )
    assert ke_fine is not None
    # escape fraction of short-range emitters scales with S/V: 1 - phi = k / (g + g0), g = mean chord
    cube_chord = np.array([2.0 * (m / RHO) ** (1 / 3) / 3.0 for m in cube_m])  # cm, 2L/3
    (k_esc, g0), _ = curve_fit(
        lambda g, k, g0: k / (g + g0), cube_chord, 1.0 - np.array(cube_phi), p0=[0.05, 0.05]
    )
    fit_res = (1.0 - k_esc / (cube_chord + g0)) - np.array(cube_phi)
    print(
        f"electron escape fit 1-phi = {k_esc:.5f} cm / (g + {g0:.5f} cm); max |residual| on the 13 cubes "
        f"{np.abs(fit_res).max():.4f}"
    )

    def phi_e_of(m: float) -> float:
        R = (3 * m / (4 * math.pi * RHO)) ** (1 / 3)
        return float(1.0 - k_esc / (4.0 * R / 3.0 + g0))

    masses = np.logspace(-2, 3, 31)
    rows = []
    for m in masses:
        R_vox = (3 * m / (4 * math.pi * RHO)) ** (1 / 3) / (fine_size / 10.0)
        phi_vox = (
            electron_phi_voxel(m, ke_fine, fine_size, de131) if R_vox >= 2.0 and args.check else float("nan")
        )
        phi_e = phi_e_of(m)
        sp = photon_s(m, p)
        phi_p = sp * m / dp131
        s131 = (phi_e * de131 + phi_p * dp131) / m
        s124 = (phi_e * de124 + phi_p * dp124) / m
        rows.append((m, phi_e, phi_p, s131, phi_e * de131 / m, phi_p * dp131 / m, s124))
        print(
            f"m={m:9.4g} g  phi_e={phi_e:.4f} (voxelised {fine_size} mm: {phi_vox:.4f})  "
            f"phi_p={phi_p:.4f}  S131={s131:.4e}  S124={s124:.4e}  S131*m={s131 * m:.4e}"
        )
    if args.check:
        return
    today = _dt.date.today().isoformat()
    header = [
        "# Unit-density (1 g/mL) sphere self-dose S-values, S in mGy/(MBq*s) (x3600 -> Gy/(GBq*h)).",
        f"# Generated {today} by scripts/make_sphere_svalues.py (see its docstring for the method).",
        "# I-131: electron absorbed fraction from the central-voxel (cube) self-doses of the 13 Lanconelli "
        "2012",
        "#   soft-tissue kernels, mapped to spheres by equal mean chord, "
        f"1-phi_e = {k_esc:.5f} cm/(g + {g0:.5f} cm),",
        "#   g = 4R/3 (electron kernel = kernel - voxel-averaged photon kernel, normalised to",
        f"#   Delta_e (factors {min(norms):.4f}-{max(norms):.4f}); photon part from a point kernel "
        f"A*exp(-b r)(1+c r)/r^2 fitted to",
        f"#   the kernels' far voxels (A={math.exp(p[0]):.4e} mGy cm^2/(MBq s), b={p[1]:.4f}/cm, "
        f"c={p[2]:.4f}/cm, rms {rms:.3f}),",
        "#   integrated exactly over the sphere (no kernel truncation; extrapolated beyond r = 6.6 cm).",
        "# I-124: I-131 absorbed fractions applied to ICRP-107 I-124 energies (overestimates small spheres).",
        "# Energies: ICRP-107 via redif/data/nuclides.yaml. Grade: unverified (not checked against OLINDA).",
        "# Columns: phi = absorbed fractions (I-131); s_i131_electron/photon = components of s_i131.",
    ]
    with args.out.open("w", encoding="utf-8") as fh:
        fh.write("\n".join(header) + "\n")
        fh.write(
            "mass_g,phi_electron,phi_photon,s_i131_mgy_per_mbq_s,s_i131_electron,s_i131_photon,"
            "s_i124_mgy_per_mbq_s\n"
        )
        for r in rows:
            fh.write(f"{r[0]:.6g},{r[1]:.6f},{r[2]:.6f},{r[3]:.6e},{r[4]:.6e},{r[5]:.6e},{r[6]:.6e}\n")
    sys.stdout.write(f"wrote {args.out}\n")


if __name__ == "__main__":
    main()
