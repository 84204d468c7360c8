# mypy: allow-untyped-calls
# (SimpleITK ships no annotations for its SWIG methods.)
"""Rigid or affine registration of PET time points to a reference time point (mutual information).

Each later (or earlier) time point is registered to the reference time point with SimpleITK's
``ImageRegistrationMethod`` (ITK v4 registration framework): Mattes mutual information (Mattes et al.
2003), a centred transform initialiser (geometric centres), a three-level image pyramid (16, 8 and
4 mm: Gaussian smoothing and shrinking) and a regular-step gradient descent with optimiser scales from
the physical shift of each parameter (:class:`RegistrationParameters`). Registration runs on a
log-compressed copy of each image (``log(1 + a / s)`` with ``s`` 1 % of the image's 99.9th
percentile), so that the body outline and the lungs, not only the hottest
lesions, inform the metric at late time points where the background has washed out; mutual information
itself does not care about the monotone transform, the histograms are simply better filled.

Given a focus (``redif dose voxel`` passes the lesion mask), only the coarsest level sees the whole
images; the finer levels evaluate the metric on every voxel within 20 mm of a lesion (a fixed-image
mask, images cropped around it), so the lesions and their surroundings are aligned (lesion tracking)
at a fraction of the cost of the whole field of view, and without the sampling error of a few per cent
of random voxels (on the phantom, whose body is uniform along the cranio-caudal axis, random samples
left that shift wrong by centimetres on a whole-body grid).

The moving image is then resampled onto the reference grid with linear interpolation of the activity
concentration (Bq/mL), multiplied by the Jacobian determinant of the transform (exactly 1 for a rigid
transform), so that the activity in any region of the reference grid equals the activity in its image
region of the moving scan up to the interpolation error: ``∫ c_m(T(x)) |det A| dx = ∫ c_m(y) dy``.
Linear interpolation of a pure translation conserves the voxel sum exactly away from the field-of-view
edges (each source voxel's tent weights sum to one); activity that the transform moves out of the
reference field of view is lost and is reported (``activity_ratio``).

A registration is refused (:class:`redif.errors.InputError`) when the optimiser did not converge, when
the final metric is not better than ``metric_max`` or worse than the metric before registration, or
when the transform exceeds the plausibility bounds of ``redif/data/voxel_dosimetry.yaml``
(``registration_*``).

The function is pure: arrays and geometry in, transform and resampled arrays out; no file I/O.

References
----------
Mattes D, Haynor DR, Vesselle H, Lewellen TK, Eubank W. PET-CT image registration in the chest using
free-form deformations. IEEE Trans Med Imaging 2003;22(1):120-128.
Lowekamp BC, Chen DT, Ibáñez L, Blezek D. The design of SimpleITK. Front Neuroinform 2013;7:45.
Yaniv Z, Lowekamp BC, Johnson HJ, Beare R. SimpleITK image-analysis notebooks. J Digit Imaging
2018;31:290-303.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import SimpleITK as sitk  # noqa: N813 (the library's own convention)
from numpy.typing import NDArray

from redif.data import sourced_value
from redif.errors import InputError
from redif.io.volume import Volume

__all__ = [
    "RegistrationBounds",
    "RegistrationKind",
    "RegistrationParameters",
    "TimePointRegistration",
    "register_time_points",
    "register_volume",
    "resample_volume",
    "sitk_image",
]

_DATA = "voxel_dosimetry.yaml"


class RegistrationKind(enum.StrEnum):
    """Transform model: ``rigid`` (3 rotations + 3 translations), ``affine`` (12 parameters), ``none``."""

    RIGID = "rigid"
    AFFINE = "affine"
    NONE = "none"


@dataclass(frozen=True)
class RegistrationBounds:
    """Plausibility bounds of a transform (defaults from ``voxel_dosimetry.yaml``, graded there).

    Attributes
    ----------
    max_translation_mm
        Largest accepted displacement of the image centre, mm.
    max_rotation_deg
        Largest accepted rotation angle (axis-angle magnitude), degrees.
    max_scale_change
        Largest accepted relative change of any principal scale of an affine transform (0.1 = 10 %).
    metric_max
        The final Mattes mutual-information metric (negative; lower is better) must be below this.
    negligible_displacement_voxels
        A transform that moves no corner of the reference field of view by more than this many voxels
        (of the smallest spacing) is treated as no motion: a time point on the reference grid is then
        used as it is, not resampled.
    """

    max_translation_mm: float
    max_rotation_deg: float
    max_scale_change: float
    metric_max: float
    negligible_displacement_voxels: float = 0.0

    @classmethod
    def default(cls) -> RegistrationBounds:
        """Bounds read from ``redif/data/voxel_dosimetry.yaml``."""
        return cls(*(float(sourced_value(_DATA, f"registration_{k}").value) for k in
                     ("max_translation_mm", "max_rotation_deg", "max_scale_change", "metric_max",
                      "negligible_displacement_voxels")))


@dataclass(frozen=True)
class RegistrationParameters:
    """Optimiser and metric settings (documented in docs/voxel.md, "Registration").

    The image pyramid has one level per entry of ``levels_mm``: the image shrunk by
    ``round(level / smallest voxel edge)`` (at least 1) after Gaussian smoothing with a sigma of half
    that many voxels. The metric uses every voxel of a level up to ``max_samples`` voxels, and that many
    random voxels (fixed ``seed``, drawn once per level) above it: on the phantom, sampling a few per
    cent of the voxels left the cranio-caudal shift wrong by 1-2 mm where whole levels fixed it to
    0.3 mm. The regular-step gradient descent starts with steps of ``learning_rate`` mm of physical
    shift (rotations scaled by the shift they cause), halves the step (``relaxation``) at each change of
    direction and stops when it falls below ``min_step`` mm; ``iterations`` per level at most (reaching
    it counts as not converged).

    With a focus (the lesion mask), the first level runs on block means of the whole images (first step
    twice ``learning_rate``; at most ``coarse_samples`` random voxels), the finer levels on every voxel
    within ``focus_margin_mm`` of the focus (first step half ``learning_rate``), the moving image cropped
    to the focus box plus
    ``crop_margin_mm``.
    """

    histogram_bins: int = 50
    levels_mm: tuple[float, ...] = (16.0, 8.0, 4.0)
    max_samples: int = 150_000
    learning_rate: float = 2.0
    min_step: float = 1e-2
    iterations: int = 500
    relaxation: float = 0.5
    gradient_tolerance: float = 1e-8
    seed: int = 20031
    focus_margin_mm: float = 20.0
    crop_margin_mm: float = 80.0
    coarse_samples: int = 30_000


@dataclass(frozen=True)
class TimePointRegistration:
    """Result of registering one time point to the reference.

    Attributes
    ----------
    index
        Position of the time point in the input order.
    time_point_h
        Hours after administration (``None`` when unknown).
    kind
        ``rigid``, ``affine`` or ``none`` (the reference itself is ``none``).
    reference
        Whether this is the reference time point (identity transform).
    translation_mm
        Displacement (LPS x, y, z, mm) of the reference image centre: a point ``p`` of the reference
        scan is found at ``A (p - c) + c + t`` in this scan, ``t`` is this vector.
    rotation_deg
        Rotation angle (axis-angle magnitude) of the transform's rotation part, degrees.
    matrix
        4 x 4 homogeneous matrix mapping reference LPS points to this scan's LPS points.
    metric
        Final Mattes mutual information (negative; lower is better); ``None`` for the reference.
    metric_initial
        The metric after the centred initialisation, before optimisation.
    iterations
        Optimiser iterations at the finest level.
    stop
        The optimiser's stop condition.
    activity_ratio
        Total activity on the reference grid after resampling / total activity of this scan.
    resampled
        Whether the time point was resampled; ``False`` when it is on the reference grid and the
        transform moves no point of the field of view by more than the negligible displacement of
        :class:`RegistrationBounds` (resampling would then only blur the image).
    """

    index: int
    time_point_h: float | None
    kind: str
    reference: bool
    translation_mm: tuple[float, float, float]
    rotation_deg: float
    matrix: tuple[tuple[float, ...], ...]
    metric: float | None = None
    metric_initial: float | None = None
    iterations: int = 0
    stop: str = ""
    activity_ratio: float = 1.0
    scale: tuple[float, float, float] = (1.0, 1.0, 1.0)
    extra: dict[str, float] = field(default_factory=dict)
    resampled: bool = True

    def to_json(self) -> dict[str, object]:
        """The JSON object of ``redif dose voxel --json`` (``registration`` list)."""
        return {
            "time_point": self.time_point_h, "index": self.index, "kind": self.kind,
            "reference": self.reference,
            "translation_mm": [round(v, 4) for v in self.translation_mm],
            "rotation_deg": round(self.rotation_deg, 4),
            "metric": None if self.metric is None else round(self.metric, 6),
            "metric_initial": None if self.metric_initial is None else round(self.metric_initial, 6),
            "iterations": self.iterations, "stop": self.stop,
            "activity_ratio": round(self.activity_ratio, 6),
            "scale": [round(v, 6) for v in self.scale],
            "resampled": self.resampled,
        }


def sitk_image(array: NDArray[np.floating], affine: NDArray[np.float64]) -> sitk.Image:
    """A SimpleITK image of ``array[slice, row, column]`` with the index -> LPS ``affine``.

    SimpleITK indexes ``(column, row, slice)``; its direction matrix holds the unit column, row and
    slice vectors. Raises :class:`InputError` for a non-orthogonal (sheared) grid.
    """
    img = sitk.GetImageFromArray(np.ascontiguousarray(array, dtype=np.float32))
    cols = np.asarray(affine, dtype=np.float64)[:3, [2, 1, 0]]
    spacing = np.linalg.norm(cols, axis=0)
    direction = cols / spacing
    if not np.allclose(direction.T @ direction, np.eye(3), atol=1e-4):
        raise InputError("image grid is not orthogonal (sheared)", field="affine",
                         remedy="resample the image onto an orthogonal grid first")
    img.SetSpacing([float(s) for s in spacing])
    img.SetDirection([float(v) for v in direction.ravel()])
    img.SetOrigin([float(v) for v in np.asarray(affine)[:3, 3]])
    return img


def _compressed(array: NDArray[np.floating]) -> NDArray[np.float32]:
    a = np.asarray(array, dtype=np.float32)
    sample = a[:: max(1, a.shape[0] // 64)].ravel()  # slices spread over the volume suffice
    top = float(np.percentile(sample, 99.9)) if sample.size else 0.0
    scale = np.float32(top * 0.01 if top > 0 else 1.0)
    return np.log1p(np.maximum(a, 0) / scale).astype(np.float32)


def _rotation_angle_deg(rot: NDArray[np.float64]) -> float:
    cos = (float(np.trace(rot)) - 1.0) / 2.0
    return math.degrees(math.acos(min(1.0, max(-1.0, cos))))


def _polar(a: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    u, s, vt = np.linalg.svd(a)
    rot = u @ vt
    if np.linalg.det(rot) < 0:
        u[:, -1] *= -1
        rot = u @ vt
    return rot, s


def _unwrap(tx: sitk.Transform) -> sitk.Euler3DTransform | sitk.AffineTransform:
    """The single rigid or affine transform inside (possibly nested) composite transforms."""
    while tx.GetName() == "CompositeTransform":
        comp = sitk.CompositeTransform(tx)
        comp.FlattenTransform()
        if comp.GetNumberOfTransforms() != 1:
            raise RuntimeError("registration returned a chain of transforms")
        tx = comp.GetNthTransform(0)
    return sitk.Euler3DTransform(tx) if tx.GetName() == "Euler3DTransform" else sitk.AffineTransform(tx)


def _matrix(tx: sitk.Transform) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """(A, t, c) of a matrix-offset transform: x -> A (x - c) + c + t."""
    t = _unwrap(tx)
    a = np.asarray(t.GetMatrix(), dtype=np.float64).reshape(3, 3)
    return a, np.asarray(t.GetTranslation(), dtype=np.float64), np.asarray(t.GetCenter(), dtype=np.float64)


def register_volume(
    fixed: NDArray[np.floating],
    fixed_affine: NDArray[np.float64],
    moving: NDArray[np.floating],
    moving_affine: NDArray[np.float64],
    *,
    kind: RegistrationKind | str = RegistrationKind.RIGID,
    parameters: RegistrationParameters | None = None,
    fixed_image: sitk.Image | None = None,
    focus: NDArray[np.bool_] | None = None,
    cache: dict[str, object] | None = None,
) -> tuple[sitk.Transform, float, float, int, str]:
    """Register ``moving`` to ``fixed`` by Mattes mutual information (see module docstring).

    With ``focus`` (a boolean map on the fixed grid, e.g. the lesion mask) the registration runs in two
    stages: the whole images at the coarsest level (block means), then the finer levels with the metric
    restricted to the voxels within ``focus_margin_mm`` of ``focus`` (every such voxel evaluated), on
    images cropped around them: the lesions and their surroundings are aligned, at a fraction of the cost.

    Returns
    -------
    tuple
        ``(transform, metric, metric_initial, iterations, stop_condition)``, the last three of the finest
        level; the transform maps fixed LPS points to moving LPS points.
    """
    p = parameters or RegistrationParameters()
    kind = RegistrationKind(kind)
    if focus is not None and np.any(focus):
        return _register_focused(fixed, fixed_affine, moving, moving_affine, kind, p, focus,
                                 {} if cache is None else cache)
    fimg = fixed_image if fixed_image is not None else sitk_image(_compressed(fixed), fixed_affine)
    mimg = sitk_image(_compressed(moving), moving_affine)
    base: sitk.Transform = (sitk.Euler3DTransform() if kind is RegistrationKind.RIGID
                            else sitk.AffineTransform(3))
    initial = sitk.CenteredTransformInitializer(fimg, mimg, base,
                                                sitk.CenteredTransformInitializerFilter.GEOMETRY)
    edge = float(min(fimg.GetSpacing()))
    shrink = [max(1, round(mm / edge)) for mm in p.levels_mm]
    n = int(np.prod(fimg.GetSize()))
    fractions = [min(1.0, p.max_samples * f**3 / n) for f in shrink]
    reg = sitk.ImageRegistrationMethod()
    reg.SetMetricAsMattesMutualInformation(numberOfHistogramBins=p.histogram_bins)
    if min(fractions) < 1.0:
        reg.SetMetricSamplingStrategy(reg.RANDOM)
        reg.SetMetricSamplingPercentagePerLevel(fractions, p.seed)
    else:
        reg.SetMetricSamplingStrategy(reg.NONE)  # every voxel of each level: a deterministic metric
    reg.SetInterpolator(sitk.sitkLinear)
    reg.SetOptimizerAsRegularStepGradientDescent(
        learningRate=p.learning_rate, minStep=p.min_step, numberOfIterations=p.iterations,
        relaxationFactor=p.relaxation, gradientMagnitudeTolerance=p.gradient_tolerance)
    reg.SetOptimizerScalesFromPhysicalShift()
    reg.SetShrinkFactorsPerLevel(shrink)
    reg.SetSmoothingSigmasPerLevel([f / 2.0 for f in shrink])
    reg.SmoothingSigmasAreSpecifiedInPhysicalUnitsOff()
    reg.SetInitialTransform(initial, inPlace=False)
    metric_initial = float(reg.MetricEvaluate(fimg, mimg))
    final = _unwrap(reg.Execute(fimg, mimg))
    return (final, float(reg.GetMetricValue()), metric_initial, int(reg.GetOptimizerIteration()),
            str(reg.GetOptimizerStopConditionDescription()))


def _block_mean(array: NDArray[np.float32], affine: NDArray[np.float64], level_mm: float,
                ) -> tuple[NDArray[np.float32], NDArray[np.float64]]:
    """Block means of ``array`` with blocks of about ``level_mm`` (edge voxels repeated to fill)."""
    spacing = np.linalg.norm(np.asarray(affine)[:3, :3], axis=0)
    f = [max(1, round(level_mm / float(d))) for d in spacing]
    if f == [1, 1, 1]:
        return array, affine
    pad = [(0, (-n) % k) for n, k in zip(array.shape, f, strict=True)]
    a = np.pad(array, pad, mode="edge") if any(q[1] for q in pad) else array
    sh = a.shape
    out = a.reshape(sh[0] // f[0], f[0], sh[1] // f[1], f[1], sh[2] // f[2], f[2]).mean(
        axis=(1, 3, 5), dtype=np.float32)
    scale = np.eye(4)
    for ax in range(3):
        scale[ax, ax] = f[ax]
        scale[ax, 3] = (f[ax] - 1) / 2.0  # block centre in fine voxel indices
    return np.ascontiguousarray(out, dtype=np.float32), np.asarray(affine) @ scale


def _crop(array: NDArray[np.generic], affine: NDArray[np.float64], lo: NDArray[np.intp], hi: NDArray[np.intp],
          ) -> tuple[NDArray[np.generic], NDArray[np.float64]]:
    shift = np.eye(4)
    shift[:3, 3] = lo
    return (np.ascontiguousarray(array[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]),
            np.asarray(affine, dtype=np.float64) @ shift)


def _register_focused(fixed: NDArray[np.floating], fixed_affine: NDArray[np.float64],
                      moving: NDArray[np.floating], moving_affine: NDArray[np.float64],
                      kind: RegistrationKind, p: RegistrationParameters, focus: NDArray[np.bool_],
                      cache: dict[str, object]) -> tuple[sitk.Transform, float, float, int, str]:
    """Coarse whole-image stage, then the finer levels on the neighbourhood of ``focus``.

    ``cache`` keeps what depends on the fixed image only, between the time points of one study.
    """
    from scipy import ndimage

    if "cf" not in cache:
        cache["cf"] = _compressed(fixed)
        cache["fimg0"] = sitk_image(*_block_mean(cache["cf"], fixed_affine, p.levels_mm[0]))  # type: ignore[arg-type]
    cf: NDArray[np.float32] = cache["cf"]  # type: ignore[assignment]
    fimg0 = cache["fimg0"]
    assert isinstance(fimg0, sitk.Image)
    cm = _compressed(moving)
    # stage 1: whole images, coarsest level, block means
    mimg0 = sitk_image(*_block_mean(cm, moving_affine, p.levels_mm[0]))
    base: sitk.Transform = (sitk.Euler3DTransform() if kind is RegistrationKind.RIGID
                            else sitk.AffineTransform(3))
    tx: sitk.Transform = sitk.CenteredTransformInitializer(fimg0, mimg0, base,
                                                           sitk.CenteredTransformInitializerFilter.GEOMETRY)
    reg = _method(fimg0, tx, p, p.learning_rate * 2.0, max(p.min_step, 0.05), p.coarse_samples)
    tx = _unwrap(reg.Execute(fimg0, mimg0))
    stop0 = str(reg.GetOptimizerStopConditionDescription())
    # stage 2: the focus neighbourhood, finer levels, every voxel near the focus
    spacing = np.linalg.norm(np.asarray(fixed_affine)[:3, :3], axis=0)
    idx = np.argwhere(focus)
    pad = np.ceil(p.focus_margin_mm / spacing).astype(int) + 1
    lo = np.maximum(idx.min(axis=0) - pad, 0)
    hi = np.minimum(idx.max(axis=0) + pad + 1, np.asarray(focus.shape))
    fcrop, fca = _crop(cf, fixed_affine, lo, hi)
    near = ndimage.distance_transform_edt(~focus[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]],
                                          sampling=spacing) <= p.focus_margin_mm
    # the moving image around the same place, with room for the largest plausible motion
    corners = np.array([[a, b, c, 1.0] for a in (lo[0], hi[0]) for b in (lo[1], hi[1])
                        for c in (lo[2], hi[2])])
    mcorner = (np.linalg.solve(np.asarray(moving_affine), (np.asarray(fixed_affine) @ corners.T))).T[:, :3]
    mspacing = np.linalg.norm(np.asarray(moving_affine)[:3, :3], axis=0)
    mpad = np.ceil(p.crop_margin_mm / mspacing).astype(int)
    mlo = np.maximum(np.floor(mcorner.min(axis=0)).astype(int) - mpad, 0)
    mhi = np.minimum(np.ceil(mcorner.max(axis=0)).astype(int) + mpad + 1, np.asarray(moving.shape))
    mcrop, mca = _crop(cm, moving_affine, mlo, mhi)
    fimg = sitk_image(np.asarray(fcrop, dtype=np.float32), fca)
    mimg = sitk_image(np.asarray(mcrop, dtype=np.float32), mca)
    mask = sitk.Cast(sitk_image(near.astype(np.float32), fca), sitk.sitkUInt8)
    edge = float(min(fimg.GetSpacing()))
    shrink = [max(1, round(mm / edge)) for mm in p.levels_mm[1:]] or [1]
    reg = sitk.ImageRegistrationMethod()
    reg.SetMetricAsMattesMutualInformation(numberOfHistogramBins=p.histogram_bins)
    reg.SetMetricSamplingStrategy(reg.NONE)
    reg.SetMetricFixedMask(mask)
    reg.SetInterpolator(sitk.sitkLinear)
    reg.SetOptimizerAsRegularStepGradientDescent(
        learningRate=p.learning_rate / 2.0, minStep=p.min_step, numberOfIterations=p.iterations,
        relaxationFactor=p.relaxation, gradientMagnitudeTolerance=p.gradient_tolerance)
    reg.SetOptimizerScalesFromPhysicalShift()
    reg.SetShrinkFactorsPerLevel(shrink)
    reg.SetSmoothingSigmasPerLevel([f / 2.0 for f in shrink])
    reg.SmoothingSigmasAreSpecifiedInPhysicalUnitsOff()
    initial = sitk.CenteredTransformInitializer(fimg0, mimg0, (sitk.Euler3DTransform() if kind is
                                                RegistrationKind.RIGID else sitk.AffineTransform(3)),
                                                sitk.CenteredTransformInitializerFilter.GEOMETRY)
    reg.SetInitialTransform(initial, inPlace=False)
    metric_initial = float(reg.MetricEvaluate(fimg, mimg))
    reg.SetInitialTransform(tx, inPlace=False)
    final = _unwrap(reg.Execute(fimg, mimg))
    stop = str(reg.GetOptimizerStopConditionDescription())
    if "Maximum number of iterations" in stop0:
        stop = stop0
    return final, float(reg.GetMetricValue()), metric_initial, int(reg.GetOptimizerIteration()), stop


def _method(fimg: sitk.Image, tx: sitk.Transform, p: RegistrationParameters, learning_rate: float,
            min_step: float, max_samples: int) -> sitk.ImageRegistrationMethod:
    """One-level registration on ``fimg``: every voxel up to ``max_samples``, else that many random."""
    reg = sitk.ImageRegistrationMethod()
    reg.SetMetricAsMattesMutualInformation(numberOfHistogramBins=p.histogram_bins)
    n = int(np.prod(fimg.GetSize()))
    if n > max_samples:
        reg.SetMetricSamplingStrategy(reg.RANDOM)
        reg.SetMetricSamplingPercentage(max_samples / n, p.seed)
    else:
        reg.SetMetricSamplingStrategy(reg.NONE)
    reg.SetInterpolator(sitk.sitkLinear)
    reg.SetOptimizerAsRegularStepGradientDescent(
        learningRate=learning_rate, minStep=min_step, numberOfIterations=p.iterations,
        relaxationFactor=p.relaxation, gradientMagnitudeTolerance=p.gradient_tolerance)
    reg.SetOptimizerScalesFromPhysicalShift()
    reg.SetInitialTransform(tx, inPlace=False)
    return reg


def resample_volume(moving: Volume, reference: Volume, transform: sitk.Transform | None) -> Volume:
    """``moving`` on ``reference``'s grid: linear interpolation of Bq/mL times the Jacobian determinant.

    Keeps ``moving``'s timing, units and decay information; takes the reference's geometry. The
    per-slice SOP Instance UIDs are dropped (the slices are no longer the stored ones).
    """
    tx = transform if transform is not None else sitk.Transform(3, sitk.sitkIdentity)
    geo = sitk_image(np.empty((1, 1, 1), np.float32), reference.affine)  # geometry only
    nz, ny, nx = reference.shape
    res = sitk.Resample(sitk_image(moving.array, moving.affine), [int(nx), int(ny), int(nz)], tx,
                        sitk.sitkLinear, geo.GetOrigin(), geo.GetSpacing(), geo.GetDirection(), 0.0,
                        sitk.sitkFloat32)
    arr = sitk.GetArrayFromImage(res)
    jac = 1.0
    if transform is not None and transform.GetName() not in ("TranslationTransform", "IdentityTransform"):
        a, _, _ = _matrix(transform)
        jac = abs(float(np.linalg.det(a)))
    if abs(jac - 1.0) > 1e-9:
        arr *= np.float32(jac)
    return replace(moving, array=arr.astype(np.float32, copy=False), affine=reference.affine.copy(),
                   sop_instance_uids=())


def _check(result: TimePointRegistration, bounds: RegistrationBounds, source: str) -> None:
    where = f"time point {result.time_point_h:g} h ({source})" if result.time_point_h is not None \
        else f"time point {result.index + 1} ({source})"
    remedy = ("check that the series belong to the same patient and cover the same body region, or "
              "give --register none if the scans are already aligned")
    metric = result.metric if result.metric is not None else float("nan")
    if "Maximum number of iterations" in result.stop:
        raise InputError(f"registration of {where} did not converge (metric {metric:.4f}, "
                         f"{result.iterations} iterations)", field="register", value=result.stop,
                         remedy=remedy)
    if not metric < bounds.metric_max or (result.metric_initial is not None
                                          and metric > result.metric_initial + 1e-6):
        raise InputError(f"registration of {where} failed: mutual-information metric {metric:.4f} "
                         f"(before registration {result.metric_initial:.4f}; must be below "
                         f"{bounds.metric_max:g} and not worse than before)", field="register",
                         value=round(metric, 6), remedy=remedy)
    shift = float(np.linalg.norm(result.translation_mm))
    if shift > bounds.max_translation_mm or result.rotation_deg > bounds.max_rotation_deg:
        raise InputError(f"registration of {where} implausible: translation {shift:.1f} mm, rotation "
                         f"{result.rotation_deg:.1f} deg (metric {metric:.4f}; bounds "
                         f"{bounds.max_translation_mm:g} mm, {bounds.max_rotation_deg:g} deg)",
                         field="register", value=[round(v, 2) for v in result.translation_mm],
                         remedy=remedy)
    if max(abs(s - 1.0) for s in result.scale) > bounds.max_scale_change:
        raise InputError(f"registration of {where} implausible: scale factors "
                         f"{[round(s, 3) for s in result.scale]} (metric {metric:.4f}; bound "
                         f"±{bounds.max_scale_change:g})", field="register", remedy=remedy)


def register_time_points(
    volumes: Sequence[Volume],
    *,
    kind: RegistrationKind | str = RegistrationKind.RIGID,
    reference_index: int = 0,
    parameters: RegistrationParameters | None = None,
    bounds: RegistrationBounds | None = None,
    focus: NDArray[np.bool_] | None = None,
) -> tuple[list[Volume], list[TimePointRegistration]]:
    """Register every time point to ``volumes[reference_index]`` and resample it onto that grid.

    ``focus`` (boolean map on the reference grid, e.g. the lesion mask) restricts the finer levels to
    the neighbourhood of those voxels (:func:`register_volume`).

    With ``kind="none"`` the time points are returned as they are (identity transforms; time points on
    other grids are then refused by :func:`redif.dosimetry.voxel_tia.check_time_series`).

    Returns
    -------
    (volumes, registrations)
        The time points on the reference grid (input order) and one :class:`TimePointRegistration`
        each (the reference included, with an identity transform).

    Raises
    ------
    InputError
        Unknown kind, a reference index out of range, or a failed registration (see module docstring),
        naming the time point, the metric and the remedy.
    """
    try:
        kind = RegistrationKind(kind)
    except ValueError:
        raise InputError("unknown registration", field="register", value=kind,
                         remedy="use rigid, affine or none") from None
    n = len(volumes)
    if not 0 <= reference_index < n:
        raise InputError("reference time point out of range", field="reference_time_point",
                         value=reference_index + 1, remedy=f"give 1 to {n}")
    b = bounds or RegistrationBounds.default()
    ref = volumes[reference_index]
    identity = tuple(tuple(float(v) for v in row) for row in np.eye(4))
    out: list[Volume] = []
    results: list[TimePointRegistration] = []
    fixed_image: sitk.Image | None = None
    cache: dict[str, object] = {}
    for i, vol in enumerate(volumes):
        t_h = vol.time_since_admin_h
        if i == reference_index:
            out.append(vol)
            results.append(TimePointRegistration(i, t_h, "none", True, (0.0, 0.0, 0.0), 0.0, identity,
                                                   resampled=False))
            continue
        if kind is RegistrationKind.NONE:
            out.append(vol)
            results.append(TimePointRegistration(i, t_h, "none", False, (0.0, 0.0, 0.0), 0.0, identity,
                                                   resampled=False))
            continue
        if fixed_image is None and focus is None:
            fixed_image = sitk_image(_compressed(ref.array), ref.affine)
        tx, metric, metric0, iters, stop = register_volume(
            ref.array, ref.affine, vol.array, vol.affine, kind=kind, parameters=parameters,
            fixed_image=fixed_image, focus=focus, cache=cache)
        a, t, c = _matrix(tx)
        rot, scales = _polar(a)
        m = np.eye(4)
        m[:3, :3] = a
        m[:3, 3] = t + c - a @ c
        negligible = _negligible(m, ref, vol, b.negligible_displacement_voxels)
        moved = vol if negligible else resample_volume(vol, ref, tx)
        res = TimePointRegistration(
            i, t_h, str(kind), False, (float(t[0]), float(t[1]), float(t[2])), _rotation_angle_deg(rot),
            tuple(tuple(float(v) for v in row) for row in m), metric, metric0, iters, stop,
            _ratio(moved, vol), (float(scales[0]), float(scales[1]), float(scales[2])),
            resampled=not negligible)
        _check(res, b, vol.source or f"time point {i + 1}")
        out.append(moved)
        results.append(res)
    return out, results


def _negligible(m: NDArray[np.float64], ref: Volume, vol: Volume, voxels: float) -> bool:
    """Whether ``vol`` is on ``ref``'s grid and ``m`` moves no corner of that grid by more than ``voxels``
    voxels of its smallest spacing (then resampling would only blur: the time point is used as it is)."""
    if voxels <= 0 or vol.array.shape != ref.array.shape or not np.allclose(vol.affine, ref.affine):
        return False
    corners = np.array([[i, j, k, 1.0] for i in (0, ref.array.shape[0] - 1)
                        for j in (0, ref.array.shape[1] - 1) for k in (0, ref.array.shape[2] - 1)])
    p = corners @ np.asarray(ref.affine, dtype=np.float64).T  # index -> LPS (homogeneous rows)
    moved = p @ np.asarray(m, dtype=np.float64).T
    shift = float(np.max(np.linalg.norm(moved[:, :3] - p[:, :3], axis=1)))
    return shift <= voxels * float(min(ref.spacing_mm))


def _ratio(moved: Volume, original: Volume) -> float:
    before = float(np.sum(original.array, dtype=np.float64)) * original.voxel_volume_ml
    after = float(np.sum(moved.array, dtype=np.float64)) * moved.voxel_volume_ml
    return after / before if before > 0 else 1.0
