"""Synthetic multi-time-point 124I PET phantom with analytic time-integrated activities (pure).

Geometry (index order ``[slice, row, column]``, LPS): an elliptic-cylinder body, two ellipsoidal lungs,
a posterior spine cylinder (CT only) and a few spherical lesions. Every compartment has
uptake-washout kinetics in activity concentration that is **not** decay corrected (activity present at
the scan start)::

    c(t) = C * (1 - exp(-lambda_u * t)) * exp(-lambda_e * t),   lambda_e >= lambda_phys(I-124)

so its time integral from 0 to infinity is ``C * (1/lambda_e - 1/(lambda_e + lambda_u))`` (closed form,
the truth written to ``truth.json``). The 131I prediction keeps the biology
(``lambda_bio = lambda_e - lambda_124``) and swaps the physical decay:
``lambda_e131 = lambda_bio + lambda_131`` (docs/methods/dosimetry.md §4).

All numbers in :class:`PhantomSpec` are illustrative test parameters, not clinical data.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from redif.dosimetry.nuclides import THERAPY_NUCLIDE, get_nuclide
from redif.errors import InputError

__all__ = ["Compartment", "LesionSpec", "Phantom", "PhantomSpec", "SpectFrames", "compartment_concentration",
           "compartment_tia", "make_phantom", "make_spect_frames", "motion_matrix"]


@dataclass(frozen=True)
class Compartment:
    """Kinetics of one compartment (not decay corrected, 124I).

    Attributes
    ----------
    peak_bqml
        Scale ``C`` of the uptake-washout curve, Bq/mL.
    effective_half_life_h
        Washout half-life including 124I physical decay, h (at most the 124I half-life).
    uptake_half_time_h
        Uptake half-time, h.
    """

    peak_bqml: float
    effective_half_life_h: float
    uptake_half_time_h: float

    def concentration(self, time_h: float) -> float:
        """Activity concentration (Bq/mL) at ``time_h`` after administration."""
        le = math.log(2) / self.effective_half_life_h
        lu = math.log(2) / self.uptake_half_time_h
        return self.peak_bqml * (1.0 - math.exp(-lu * time_h)) * math.exp(-le * time_h)


def compartment_tia(comp: Compartment, *, swap_to: str | None = None, swap_from: str = "I-124") -> float:
    """Closed-form integral of :meth:`Compartment.concentration` over 0..inf, in Bq*h/mL.

    With ``swap_to`` (e.g. ``"I-131"``) the physical decay of ``swap_from`` is replaced by that of
    ``swap_to`` (same biological kinetics; docs/methods/dosimetry.md §4).
    """
    le = math.log(2) / comp.effective_half_life_h
    lu = math.log(2) / comp.uptake_half_time_h
    if swap_to is not None:
        le = le - get_nuclide(swap_from).decay_constant_per_h + get_nuclide(swap_to).decay_constant_per_h
    return comp.peak_bqml * (1.0 / le - 1.0 / (le + lu))


@dataclass(frozen=True)
class LesionSpec:
    """A spherical lesion: centre as fractions of the field of view (slice, row, column), radius in mm."""

    name: str
    centre_fraction: tuple[float, float, float]
    radius_mm: float
    kinetics: Compartment


def _default_lesions() -> tuple[LesionSpec, ...]:
    return (
        LesionSpec("neck_node_left", (0.78, 0.45, 0.58), 12.0, Compartment(24000.0, 70.0, 2.0)),
        LesionSpec("lung_met_right", (0.55, 0.45, 0.33), 9.0, Compartment(15000.0, 45.0, 3.0)),
        LesionSpec("bone_met_pelvis", (0.25, 0.55, 0.50), 15.0, Compartment(9000.0, 30.0, 4.0)),
        LesionSpec("lung_met_left", (0.52, 0.42, 0.70), 7.5, Compartment(30000.0, 85.0, 1.5)),
    )


@dataclass(frozen=True)
class PhantomSpec:
    """Parameters of :func:`make_phantom` (all illustrative).

    ``shape`` is ``(slices, rows, columns)``; ``voxel_mm`` the cubic voxel edge; ``noise_cv`` the
    coefficient of variation of Gaussian noise at the body background level (scaled with the square root
    of the local value, Poisson-like); ``fwhm_mm`` an optional Gaussian blur (0 = none; blur moves activity
    across lesion borders, so per-lesion truth then no longer holds voxel-wise).

    ``motion_mm`` (LPS x, y, z) and ``rotation_deg`` (about the LPS x, y and z axes through the centre of
    the field of view, applied in that order) move the patient in every time point after the first: a
    point ``q`` of the first scan is found at ``R q + d`` in the later ones (:func:`motion_matrix`). The
    labels, the CT and the truth stay those of the first time point. The object that moves is the first
    scan's voxelised phantom (whose voxels define the truth); a moved frame is drawn with partial-volume
    occupancy (the fraction of each voxel in the moved body, lungs and lesions, from 2^3 and 4^3 sub-voxel
    points), as a scanner sees structures between voxel centres (a shift by whole voxels is an exact
    shift of the array); each lesion's concentration scaled so that it holds exactly the activity of its
    first-scan voxels: the activity of every lesion, and hence the truth, is that of the phantom
    without motion.
    """

    shape: tuple[int, int, int] = (100, 96, 96)
    voxel_mm: float = 4.0
    time_points_h: tuple[float, ...] = (4.0, 24.0, 48.0, 96.0)
    injected_activity_mbq: float = 37.0
    background: Compartment = Compartment(1500.0, 15.0, 0.5)
    lung: Compartment = Compartment(700.0, 20.0, 0.5)
    lesions: tuple[LesionSpec, ...] = field(default_factory=_default_lesions)
    noise_cv: float = 0.0
    fwhm_mm: float = 0.0
    seed: int = 0
    motion_mm: tuple[float, float, float] = (0.0, 0.0, 0.0)
    rotation_deg: tuple[float, float, float] = (0.0, 0.0, 0.0)


@dataclass(frozen=True)
class Phantom:
    """Output of :func:`make_phantom`.

    Attributes
    ----------
    activity_bqml
        One float32 array per time point: activity concentration at the scan start (not decay corrected).
    ct_hu
        int16 CT numbers on the same grid.
    labels
        uint8 label map (0 = no lesion, i = ``lesion_names[i-1]``).
    affine
        ``(slice, row, column)`` -> LPS mm.
    truth
        JSON-ready dictionary of the analytic per-lesion truth.
    """

    spec: PhantomSpec
    activity_bqml: tuple[NDArray[np.float32], ...]
    ct_hu: NDArray[np.int16]
    labels: NDArray[np.uint8]
    lesion_names: tuple[str, ...]
    affine: NDArray[np.float64]
    truth: dict[str, object]


def _validate(spec: PhantomSpec) -> None:
    if any(n < 8 for n in spec.shape):
        raise InputError("phantom shape too small", field="shape", value=spec.shape, remedy="use >= 8")
    times = spec.time_points_h
    if len(times) < 2 or any(b <= a for a, b in itertools.pairwise(times)) or times[0] <= 0:
        raise InputError("time points must be positive and strictly increasing", field="time_points_h",
                         value=times, remedy="e.g. 4,24,48,96")
    t124 = get_nuclide("I-124").half_life_h
    for comp in [spec.background, spec.lung, *(les.kinetics for les in spec.lesions)]:
        if comp.effective_half_life_h > t124 + 1e-9:
            raise InputError("effective half-life longer than the I-124 physical half-life",
                             field="effective_half_life_h", value=comp.effective_half_life_h)


def make_phantom(spec: PhantomSpec | None = None) -> Phantom:
    """Generate the phantom arrays and their analytic truth (pure; deterministic for a given seed).

    Returns
    -------
    Phantom
        Arrays, geometry and a truth dictionary with, per lesion, the voxel count, volume (mL), the
        124I time-integrated activity (MBq*h) and the predicted 131I time-integrated activity for the
        same administered activity (MBq*h, closed form).
    """
    spec = spec or PhantomSpec()
    _validate(spec)
    nz, ny, nx = spec.shape
    v = spec.voxel_mm
    z = (np.arange(nz, dtype=np.float32) - (nz - 1) / 2) * v
    y = (np.arange(ny, dtype=np.float32) - (ny - 1) / 2) * v
    x = (np.arange(nx, dtype=np.float32) - (nx - 1) / 2) * v
    half = np.array([nz, ny, nx], dtype=np.float64) * v / 2
    region, labels = _geometry(spec, z, y, x, half)
    moved = None
    if any(spec.motion_mm) or any(spec.rotation_deg):
        m = motion_matrix(spec.motion_mm, spec.rotation_deg)
        inv = np.asarray(np.linalg.inv(m), dtype=np.float64)
        moved = (_moved_regions(spec, region, inv, z, y, x, half),
                 _moved_lesions(spec, labels, m, z, y, x, half))
    rng = np.random.default_rng(spec.seed)
    frames = []
    counts = np.bincount(labels.ravel(), minlength=len(spec.lesions) + 1)
    for k, t in enumerate(spec.time_points_h):
        img = np.zeros(spec.shape, dtype=np.float32)
        if moved is None or k == 0:
            img[(region == 1) | (region == 3)] = spec.background.concentration(t)
            img[region == 2] = spec.lung.concentration(t)
        else:  # partial-volume fractions of body and lung
            img += moved[0][0] * np.float32(spec.background.concentration(t))
            img += moved[0][1] * np.float32(spec.lung.concentration(t))
        for i, les in enumerate(spec.lesions, start=1):
            if moved is None or k == 0:
                img[labels == i] = les.kinetics.concentration(t)
                continue
            box, frac = moved[1][i - 1]
            # partial-volume occupancy, scaled so that the lesion holds the activity of its first-scan voxels
            conc = np.float32(les.kinetics.concentration(t) * counts[i] / max(float(frac.sum()), 1e-12))
            img[box] = img[box] * (np.float32(1) - frac) + conc * frac
        if spec.fwhm_mm > 0:
            sigma = spec.fwhm_mm / (2 * math.sqrt(2 * math.log(2))) / v
            img = ndimage.gaussian_filter(img, sigma).astype(np.float32)
        if spec.noise_cv > 0:
            ref = spec.background.concentration(t)
            sd = spec.noise_cv * np.sqrt(np.maximum(img, 0) * ref, dtype=np.float32)
            img = np.maximum(img + sd * rng.standard_normal(spec.shape, dtype=np.float32), 0)
        frames.append(img.astype(np.float32))
    ct = np.full(spec.shape, -1000, dtype=np.int16)
    ct[region == 1] = 40
    ct[region == 2] = -780
    ct[region == 3] = 650
    ct[labels > 0] = 45
    affine = np.eye(4)
    # slices go from feet to head (+z in LPS is superior), rows anterior->posterior, columns right->left
    affine[:3, 0] = [0, 0, v]
    affine[:3, 1] = [0, v, 0]
    affine[:3, 2] = [v, 0, 0]
    affine[:3, 3] = [-half[2] + v / 2, -half[1] + v / 2, -half[0] + v / 2]
    voxel_ml = v**3 / 1000.0
    lesions_truth = []
    for i, les in enumerate(spec.lesions, start=1):
        n = int(np.count_nonzero(labels == i))
        vol = n * voxel_ml
        lesions_truth.append({
            "label": i,
            "name": les.name,
            "voxels": n,
            "volume_ml": vol,
            "radius_mm": les.radius_mm,
            "peak_bqml": les.kinetics.peak_bqml,
            "effective_half_life_h_i124": les.kinetics.effective_half_life_h,
            "uptake_half_time_h": les.kinetics.uptake_half_time_h,
            "tia_mbq_h_i124": compartment_tia(les.kinetics) * vol / 1e6,
            "tia_mbq_h_i131_same_activity":
                compartment_tia(les.kinetics, swap_to=THERAPY_NUCLIDE) * vol / 1e6,
        })
    truth: dict[str, object] = {
        "description": "analytic time-integrated activities of the redif synthetic 124I phantom",
        "nuclide": "I-124",
        "injected_activity_mbq": spec.injected_activity_mbq,
        "time_points_h": list(spec.time_points_h),
        "voxel_mm": v,
        "shape_slices_rows_columns": list(spec.shape),
        "noise_cv": spec.noise_cv,
        "fwhm_mm": spec.fwhm_mm,
        "seed": spec.seed,
        "motion_mm": list(spec.motion_mm),
        "rotation_deg": list(spec.rotation_deg),
        "tia_formula": "C*V*(1/lambda_e - 1/(lambda_e+lambda_u)); not decay corrected",
        "lesions": lesions_truth,
    }
    return Phantom(spec, tuple(frames), ct, labels, tuple(les.name for les in spec.lesions), affine, truth)


def compartment_concentration(comp: Compartment, time_h: float, *, swap_to: str | None = None,
                              swap_from: str = "I-124") -> float:
    """:meth:`Compartment.concentration`, with the physical decay of ``swap_from`` replaced by that of
    ``swap_to`` when given (same biological kinetics, as in :func:`compartment_tia`)."""
    if swap_to is None:
        return comp.concentration(time_h)
    le = math.log(2) / comp.effective_half_life_h
    le = le - get_nuclide(swap_from).decay_constant_per_h + get_nuclide(swap_to).decay_constant_per_h
    lu = math.log(2) / comp.uptake_half_time_h
    return comp.peak_bqml * (1.0 - math.exp(-lu * time_h)) * math.exp(-le * time_h)


@dataclass(frozen=True)
class SpectFrames:
    """Output of :func:`make_spect_frames`: post-therapy 131I activity (Bq/mL at each scan) and its truth."""

    time_points_h: tuple[float, ...]
    activity_bqml: tuple[NDArray[np.float32], ...]
    administered_mbq: float
    lesion_uptake_factor: float
    truth: dict[str, object]


def make_spect_frames(
    phantom: Phantom,
    times_h: tuple[float, ...] = (24.0, 72.0, 144.0),
    *,
    administered_mbq: float = 5500.0,
    lesion_uptake_factor: float = 1.0,
) -> SpectFrames:
    """Post-therapy 131I activity of the phantom at ``times_h`` (pure, deterministic).

    Every compartment keeps the biology of the 124I phantom with the 131I physical decay
    (docs/methods/dosimetry.md §4)
    and is scaled to ``administered_mbq`` of 131I; the lesions are further multiplied by
    ``lesion_uptake_factor`` (therapy uptake = factor x the uptake predicted from 124I, e.g. stunning
    below 1). So the delivered lesion TIA is exactly ``lesion_uptake_factor`` x the predicted 131I TIA for
    the same activity (``truth``), and delivered/predicted lesion doses differ by that factor up to the
    cross-dose from the unscaled background. Regions are recovered from the phantom's CT numbers;
    ``spec.noise_cv`` and ``spec.fwhm_mm`` apply as in :func:`make_phantom` (noise seed ``seed + 131``).
    """
    spec = phantom.spec
    times = tuple(float(t) for t in times_h)
    if not times or any(b <= a for a, b in itertools.pairwise(times)) or times[0] <= 0:
        raise InputError("SPECT time points must be positive and strictly increasing", field="times_h",
                         value=times, remedy="e.g. 24,72,144")
    if not administered_mbq > 0:
        raise InputError("administered activity must be positive", field="administered_mbq",
                         value=administered_mbq)
    if not lesion_uptake_factor > 0:
        raise InputError("uptake factor must be positive", field="lesion_uptake_factor",
                         value=lesion_uptake_factor)
    scale = administered_mbq / spec.injected_activity_mbq
    lung = phantom.ct_hu == -780
    body = (phantom.ct_hu > -500) & (phantom.labels == 0)
    rng = np.random.default_rng(spec.seed + 131)
    frames = []
    for t in times:
        img = np.zeros(spec.shape, dtype=np.float32)
        img[body] = compartment_concentration(spec.background, t, swap_to=THERAPY_NUCLIDE) * scale
        img[lung] = compartment_concentration(spec.lung, t, swap_to=THERAPY_NUCLIDE) * scale
        for i, les in enumerate(spec.lesions, start=1):
            img[phantom.labels == i] = (compartment_concentration(les.kinetics, t, swap_to=THERAPY_NUCLIDE)
                                        * scale * lesion_uptake_factor)
        if spec.fwhm_mm > 0:
            sigma = spec.fwhm_mm / (2 * math.sqrt(2 * math.log(2))) / spec.voxel_mm
            img = ndimage.gaussian_filter(img, sigma).astype(np.float32)
        if spec.noise_cv > 0:
            ref = compartment_concentration(spec.background, t, swap_to=THERAPY_NUCLIDE) * scale
            sd = spec.noise_cv * np.sqrt(np.maximum(img, 0) * ref, dtype=np.float32)
            img = np.maximum(img + sd * rng.standard_normal(spec.shape, dtype=np.float32), 0)
        frames.append(img.astype(np.float32))
    lesions = []
    for les, row in zip(spec.lesions, phantom.truth["lesions"], strict=True):  # type: ignore[call-overload]
        tia = compartment_tia(les.kinetics, swap_to=THERAPY_NUCLIDE) * float(row["volume_ml"]) / 1e6
        lesions.append({"label": row["label"], "name": les.name,
                        "tia_mbq_h_i131_predicted": tia * scale,
                        "tia_mbq_h_i131_delivered": tia * scale * lesion_uptake_factor})
    truth: dict[str, object] = {
        "description": "post-therapy 131I SPECT of the redif phantom (same biology, 131I decay)",
        "nuclide": THERAPY_NUCLIDE,
        "administered_mbq": administered_mbq,
        "time_points_h": list(times),
        "lesion_uptake_factor": lesion_uptake_factor,
        "delivered_over_predicted_tia": lesion_uptake_factor,
        "lesions": lesions,
    }
    return SpectFrames(times, tuple(frames), administered_mbq, lesion_uptake_factor, truth)
def motion_matrix(motion_mm: tuple[float, float, float],
                  rotation_deg: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> NDArray[np.float64]:
    """4 x 4 LPS matrix of the phantom's motion: ``p = R q + d``, ``R = Rz Ry Rx`` about the FOV centre.

    A rigid registration of a moved time point to the first (centred on the FOV centre) recovers ``d``
    as its translation and the angle of ``R`` as its rotation.
    """
    ax, ay, az = (math.radians(a) for a in rotation_deg)
    rx = np.array([[1, 0, 0], [0, math.cos(ax), -math.sin(ax)], [0, math.sin(ax), math.cos(ax)]])
    ry = np.array([[math.cos(ay), 0, math.sin(ay)], [0, 1, 0], [-math.sin(ay), 0, math.cos(ay)]])
    rz = np.array([[math.cos(az), -math.sin(az), 0], [math.sin(az), math.cos(az), 0], [0, 0, 1]])
    m = np.eye(4)
    m[:3, :3] = rz @ ry @ rx
    m[:3, 3] = np.asarray(motion_mm, dtype=np.float64)
    return m


def _lookup_first_scan(array: NDArray[np.uint8], inv: NDArray[np.float64], v: float,
                       half: NDArray[np.float64],
                       px: NDArray[np.float32], py: NDArray[np.float32], pz: NDArray[np.float32],
                       ) -> NDArray[np.uint8]:
    """Value of the first scan's ``array`` in the voxel holding ``q = M^-1 p``.

    Outside the first scan's grid the edge voxel is repeated (the body goes on beyond the field of view).
    """
    idx = []
    for row, h, n in zip((2, 1, 0), half, array.shape, strict=True):  # array axes z, y, x = LPS rows 2, 1, 0
        q = inv[row, 0] * px + inv[row, 1] * py + inv[row, 2] * pz + inv[row, 3]
        idx.append(np.clip(np.floor((q + h) / v), 0, n - 1).astype(np.intp))
    return np.asarray(array[idx[0], idx[1], idx[2]])


def _moved_regions(spec: PhantomSpec, region: NDArray[np.uint8], inv: NDArray[np.float64],
                   z: NDArray[np.float32], y: NDArray[np.float32], x: NDArray[np.float32],
                   half: NDArray[np.float64], n_sub: int = 2,
                   ) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Fractions of each voxel of a moved scan in body-or-spine and in lung (``n_sub``^3 points)."""
    v = spec.voxel_mm
    offsets = ((np.arange(n_sub) + 0.5) / n_sub - 0.5) * v
    body = np.zeros(spec.shape, dtype=np.float32)
    lung = np.zeros(spec.shape, dtype=np.float32)
    for oz, oy, ox in itertools.product(offsets, offsets, offsets):
        zz, yy, xx = np.meshgrid(z + np.float32(oz), y + np.float32(oy), x + np.float32(ox), indexing="ij",
                                 copy=False)
        reg = _lookup_first_scan(region, inv, v, half, xx, yy, zz)
        del zz, yy, xx
        body += (reg == 1) | (reg == 3)
        lung += reg == 2
    w = np.float32(1.0 / n_sub**3)
    return body * w, lung * w


def _moved_lesions(spec: PhantomSpec, labels: NDArray[np.uint8], m: NDArray[np.float64],
                   z: NDArray[np.float32], y: NDArray[np.float32], x: NDArray[np.float32],
                   half: NDArray[np.float64], n_sub: int = 4,
                   ) -> list[tuple[tuple[slice, slice, slice], NDArray[np.float32]]]:
    """Per lesion, its box in a moved scan and the fraction of each voxel inside the moved lesion.

    The lesion is the first scan's voxels of its label, moved rigidly; ``n_sub``^3 sub-voxel points per
    voxel (partial-volume occupancy, as a scanner sees an object between voxel centres).
    """
    v = spec.voxel_mm
    inv = np.asarray(np.linalg.inv(m), dtype=np.float64)
    offsets = ((np.arange(n_sub) + 0.5) / n_sub - 0.5) * v
    out = []
    for i, les in enumerate(spec.lesions, start=1):
        c = np.array([(f - 0.5) * 2 * h for f, h in zip(les.centre_fraction, half, strict=True)])  # z, y, x
        r = les.radius_mm + 2 * v
        pc = m[:3, :3] @ c[::-1] + m[:3, 3]  # moved centre, LPS x, y, z
        box = []
        for axis_c, coords in zip(pc[::-1], (z, y, x), strict=True):
            lo = max(0, int(np.searchsorted(coords, axis_c - r)))
            hi = min(coords.size, int(np.searchsorted(coords, axis_c + r)))
            box.append(slice(lo, max(lo, hi)))
        zz, yy, xx = np.meshgrid(z[box[0]], y[box[1]], x[box[2]], indexing="ij")
        frac = np.zeros(zz.shape, dtype=np.float32)
        for oz, oy, ox in itertools.product(offsets, offsets, offsets):
            frac += _lookup_first_scan(labels, inv, v, half, xx + np.float32(ox), yy + np.float32(oy),
                                       zz + np.float32(oz)) == i
        out.append(((box[0], box[1], box[2]), frac / np.float32(n_sub**3)))
    return out


def _geometry(spec: PhantomSpec, z: NDArray[np.float32], y: NDArray[np.float32], x: NDArray[np.float32],
              half: NDArray[np.float64], *, points: bool = False,
              ) -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
    """Region (0 air, 1 body, 2 lung, 3 spine) and lesion labels.

    ``z, y, x`` are the axis coordinates (mm) of the grid, or with ``points`` three arrays of the grid's
    shape holding the coordinates (in the first scan's frame) of every voxel of a moved scan.
    """
    if points:
        zz, yy, xx = z, y, x
    else:
        yy2, xx2 = np.meshgrid(y, x, indexing="ij")
        yy, xx, zz = yy2[None], xx2[None], z[:, None, None]
    body = (xx / (0.42 * 2 * half[2])) ** 2 + (yy / (0.30 * 2 * half[1])) ** 2 <= 1.0
    spine = (xx / 12.0) ** 2 + ((yy - 0.20 * 2 * half[1]) / 12.0) ** 2 <= 1.0
    region = np.zeros(spec.shape, dtype=np.uint8)
    region[np.broadcast_to(body, spec.shape)] = 1
    for side in (-1.0, 1.0):
        lung = (((zz - 0.12 * 2 * half[0]) / (0.20 * 2 * half[0])) ** 2
                + ((yy + 0.02 * 2 * half[1]) / (0.18 * 2 * half[1])) ** 2
                + ((xx - side * 0.17 * 2 * half[2]) / (0.12 * 2 * half[2])) ** 2) <= 1.0
        region[lung & (region == 1)] = 2
    region[np.broadcast_to(spine & body, spec.shape)] = 3
    labels = np.zeros(spec.shape, dtype=np.uint8)
    v = spec.voxel_mm
    for i, les in enumerate(spec.lesions, start=1):
        c = [(f - 0.5) * 2 * h for f, h in zip(les.centre_fraction, half, strict=True)]
        r = les.radius_mm
        if points:
            continue  # lesions of a moved scan: _moved_lesions
            continue
        sl = []
        for axis_c, coords in zip(c, (z, y, x), strict=True):
            lo = int(np.searchsorted(coords, axis_c - r - v))
            hi = int(np.searchsorted(coords, axis_c + r + v))
            sl.append(slice(lo, hi))
        dz, dy, dx = np.meshgrid(z[sl[0]] - c[0], y[sl[1]] - c[1], x[sl[2]] - c[2], indexing="ij")
        inside = dz**2 + dy**2 + dx**2 <= r**2
        sub = labels[sl[0], sl[1], sl[2]]
        sub[inside] = i
    return region, labels
