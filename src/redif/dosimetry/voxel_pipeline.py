"""The voxel-dosimetry pipeline for one patient: time points + mask -> 131I dose map and lesion statistics.

:func:`compute_voxel_dose` is pure (arrays in, arrays and statistics out); it reads and writes no file.
The orchestration that reads the DICOM/NIfTI inputs, calls it and writes the dose maps is
:func:`redif.workflows.voxel_case.run_voxel_case` (used by ``redif dose voxel``, ``redif dose batch``
and the web).

What the doses refer to
-----------------------
* 131I images: the absorbed dose of the administered 131I activity recorded in the series
  (``--activity-gbq`` rescales to another activity).
* 124I images (prediction): the 131I dose **predicted** with the same biological kinetics
  (per-voxel swap of the physical decay, docs/methods/dosimetry.md §4), for an administered 131I activity of
  ``--activity-gbq`` GBq, or 1 GBq when not given; the ``*_per_gbq`` values are always reported.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from redif import DISCLAIMER
from redif.dosimetry.dvh import LesionDose, lesion_statistics
from redif.dosimetry.heterogeneity import density_scaled_dose, hu_density_curve, reference_density
from redif.dosimetry.kernels import Tissue
from redif.dosimetry.nuclides import THERAPY_NUCLIDE, get_nuclide
from redif.dosimetry.voxel import dose_from_tia, kernel_voxel_size_for, soft_tissue_density
from redif.dosimetry.voxel_tia import (
    TiaMethod,
    TimeSeries,
    tia_map,
    voxel_fit_tia,
)
from redif.errors import InputError

__all__ = ["VoxelDoseOutput", "VoxelDoseSummary", "compute_voxel_dose", "plan_lesions"]

Progress = Callable[[int, int, str], None]
_DOSE_NUCLIDE = THERAPY_NUCLIDE


@dataclass(frozen=True)
class VoxelDoseSummary:
    """JSON-ready result of one case (doses in Gy for ``activity_gbq`` of 131I; see module docstring)."""

    imaged_nuclide: str
    dose_nuclide: str
    activity_gbq: float
    dose_refers_to: str
    method: str
    tissue: str
    time_points_h: list[float]
    voxel_mm: list[float]
    kernel_voxel_mm: float
    resampled: bool
    density_g_per_ml: float
    tia_unit: str
    lesions: list[dict[str, object]]
    outputs: dict[str, str] = field(default_factory=dict)
    timings_s: dict[str, float] = field(default_factory=dict)
    disclaimer: str = DISCLAIMER
    heterogeneity: dict[str, object] | None = None  # density scaling from the CT (None: homogeneous)
    # issue 14: each time point's transform to the reference time point (1-based), and how the mask
    # reached the PET grid (redif.dosimetry.registration, redif.io.masks)
    registration: list[dict[str, object]] = field(default_factory=list)
    reference_time_point: int = 1
    mask: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class VoxelDoseOutput:
    """Arrays and summary of :func:`compute_voxel_dose`."""

    dose_gy: NDArray[np.float32]
    tia_mbq_h: NDArray[np.float32]
    lesions: list[LesionDose]
    summary: VoxelDoseSummary
    labels: NDArray[np.integer] | None = None
    spacing_mm: tuple[float, float, float] | None = None


def _lesion_dict(les: LesionDose, per_gbq: float, imaged_tia: float | None) -> dict[str, object]:
    # tia_h: the 131I time-integrated activity coefficient (h) = TIA / administered activity, the
    # lesion input of `redif dose plan` (redif.dosimetry.plan_input.LesionInput.tia_h)
    tia_h = None if les.tia_mbq_h is None else les.tia_mbq_h * per_gbq / 1000.0
    out: dict[str, object] = {
        "label": les.label, "name": les.name, "voxels": les.voxels,
        "volume_ml": les.volume_ml, "mass_g": les.mass_g,
        "mean_gy": les.mean_gy, "min_gy": les.min_gy, "max_gy": les.max_gy,
        "d50_gy": les.d50_gy, "d90_gy": les.d90_gy,
        "tia_mbq_h": les.tia_mbq_h,
        "tia_mbq_h_imaged": imaged_tia,
        "tia_h": tia_h,
    }
    for key in ("mean", "min", "max", "d50", "d90"):
        out[f"{key}_gy_per_gbq"] = getattr(les, f"{key}_gy") * per_gbq
    return out


def _imaged_tia(series: TimeSeries, labels: NDArray[np.integer], method: TiaMethod | str,
                n_late: int) -> NDArray[np.float32]:
    """TIA of the imaged nuclide (MBq*h per voxel); for ``fit`` only the labelled voxels are fitted."""
    if TiaMethod(method) is TiaMethod.REGION:
        return tia_map(series, method=method, labels=labels, n_late=n_late)
    idx = np.flatnonzero(labels)
    tac = series.activity_bqml.reshape(len(series.times_h), -1)[:, idx]
    lam = get_nuclide(series.nuclide).decay_constant_per_h
    out = np.zeros(labels.shape, dtype=np.float32)
    out.ravel()[idx] = voxel_fit_tia(series.times_h, tac, lam, n_late=n_late) * np.float32(
        series.voxel_volume_ml / 1e6)
    return out


def _lesion_tacs(series: TimeSeries, flat: NDArray[np.integer], idx: NDArray[np.intp],
                 names: dict[int, str]) -> dict[int, list[float]]:
    """Activity (MBq, imaged nuclide, at acquisition: not decay corrected) in each lesion at each time point:
    the lesion time-activity curve whose fit gives the fit component of the uncertainty budget."""
    lab = flat[idx].astype(np.intp)
    n_lab = int(lab.max()) + 1 if lab.size else 1
    mbq_per_bqml = series.voxel_volume_ml / 1e6
    rows = [np.bincount(lab, weights=series.activity_bqml[i].ravel()[idx].astype(np.float64), minlength=n_lab)
            * mbq_per_bqml for i in range(len(series.times_h))]
    return {k: [float(r[k]) if k < r.size else 0.0 for r in rows] for k in names}


def _lesion_densities(rho: NDArray[np.floating] | None, flat: NDArray[np.integer], idx: NDArray[np.intp],
                      names: dict[int, str], voxel_ml: float) -> dict[int, dict[str, float]]:
    """Mean CT density (g/mL) and CT mass (g) of each lesion (empty without a density map)."""
    if rho is None:
        return {}
    lab = flat[idx].astype(np.intp)
    n_lab = int(lab.max()) + 1 if lab.size else 1
    sums = np.bincount(lab, weights=np.asarray(rho).ravel()[idx].astype(np.float64), minlength=n_lab)
    counts = np.bincount(lab, minlength=n_lab)
    return {k: {"mean_density_g_per_ml": float(sums[k] / counts[k]), "mass_g_ct": float(sums[k] * voxel_ml)}
            for k in names if k < counts.size and counts[k] > 0}


def compute_voxel_dose(
    series: TimeSeries,
    labels: NDArray[np.integer],
    names: dict[int, str],
    *,
    activity_gbq: float | None = None,
    method: TiaMethod | str = TiaMethod.FIT,
    tissue: Tissue | str = Tissue.SOFT,
    density_g_per_ml: float | None = None,
    n_late: int = 3,
    progress: Progress | None = None,
    density_map_g_per_ml: NDArray[np.floating] | None = None,
) -> VoxelDoseOutput:
    """131I dose map (Gy) and per-lesion statistics from checked time points (pure).

    Parameters
    ----------
    series
        Output of :func:`redif.dosimetry.voxel_tia.check_time_series` (I-124 or I-131 images).
    labels, names
        Lesion label map on the same grid and the name of each label.
    activity_gbq
        131I activity the doses refer to (see module docstring).
    method
        ``fit`` or ``region`` (:func:`redif.dosimetry.voxel_tia.tia_map`).
    density_map_g_per_ml
        Voxel densities from the CT on the same grid: the kernel dose is scaled by ρ_water/ρ(x)
        (:mod:`redif.dosimetry.heterogeneity`; soft-tissue kernel only). ``None``: homogeneous medium.
    """
    try:
        method = TiaMethod(method)
    except ValueError:
        raise InputError("unknown TIA method", field="method", value=method,
                         remedy="use fit or region") from None
    try:
        tissue = Tissue(tissue)
    except ValueError:
        raise InputError("unknown kernel tissue", field="tissue", value=tissue,
                         remedy="use soft or bone") from None
    if density_map_g_per_ml is not None:
        if Tissue(tissue) is not Tissue.SOFT:
            raise InputError("density scaling uses the soft-tissue kernel", field="tissue", value=str(tissue),
                             remedy="use tissue soft with the CT density (the CT gives bone its density)")
        if np.shape(density_map_g_per_ml) != labels.shape:
            raise InputError("the density map is not on the PET grid", field="density_ct",
                             value=np.shape(density_map_g_per_ml), remedy="resample the CT onto the PET grid")
    timings: dict[str, float] = {}
    rho = soft_tissue_density() if density_g_per_ml is None else float(density_g_per_ml)
    if activity_gbq is not None and not activity_gbq > 0:
        raise InputError("activity must be positive", field="activity_gbq", value=activity_gbq)
    imaged = get_nuclide(series.nuclide).name
    t0 = time.perf_counter()
    if imaged == _DOSE_NUCLIDE:
        tia_imaged = tia_map(series, method=method, labels=labels, n_late=n_late)  # every voxel
        recorded = series.injected_activity_mbq
        if activity_gbq is None:
            if recorded is None:
                raise InputError("the series does not record the administered activity",
                                 field="RadionuclideTotalDose", remedy="give activity_gbq")
            activity_gbq = recorded / 1000.0
        scale = 1.0 if recorded is None else activity_gbq * 1000.0 / recorded
        tia = tia_imaged * np.float32(scale)
        refers = (f"absorbed dose of {activity_gbq:g} GBq 131I (post-therapy imaging; "
                  f"TIA scaled from the recorded {recorded} MBq)")
    else:
        tia_imaged = _imaged_tia(series, labels, method, n_late)  # lesion voxels suffice for the report
        if series.injected_activity_mbq is None:
            raise InputError(f"the {imaged} series does not record the administered activity",
                             field="RadionuclideTotalDose",
                             remedy="the prediction needs the imaged activity (RadionuclideTotalDose)")
        tia131 = tia_map(series, method=method, labels=labels, n_late=n_late, to_nuclide=_DOSE_NUCLIDE)
        activity_gbq = 1.0 if activity_gbq is None else float(activity_gbq)
        scale = activity_gbq * 1000.0 / series.injected_activity_mbq
        tia = tia131 * np.float32(scale)
        del tia131
        refers = (f"131I absorbed dose PREDICTED from {imaged} PET (same biological kinetics, "
                  f"physical decay swapped) for an administered 131I activity of {activity_gbq:g} GBq")
    timings["tia_s"] = time.perf_counter() - t0
    if progress:
        progress(1, 3, "time-integrated activity")
    spacing = series.reference.spacing_mm
    t0 = time.perf_counter()
    dose_mgy = dose_from_tia(tia * np.float32(3600.0), spacing, _DOSE_NUCLIDE, str(Tissue(tissue)))
    dose_gy = (np.asarray(dose_mgy, dtype=np.float32) / np.float32(1000.0)).astype(np.float32)
    het: dict[str, object] | None = None
    if density_map_g_per_ml is not None:
        dose_gy = density_scaled_dose(dose_gy, density_map_g_per_ml)
        het = {"method": "density", "reference_g_per_ml": reference_density(),
               "rule": "D(x) = D_kernel(x) * rho_water / rho(x) "
                       "(Dieudonne et al., J Nucl Med 2013;54:236-243)",
               "hu_density_curve": hu_density_curve().to_dict()}
    timings["dose_s"] = time.perf_counter() - t0
    if progress:
        progress(2, 3, "dose convolution")
    t0 = time.perf_counter()
    stats = lesion_statistics(dose_gy, labels, names, series.voxel_volume_ml, density_g_per_ml=rho,
                              tia_mbq_h=tia)
    flat = labels.ravel()
    idx = np.flatnonzero(flat)
    sums = np.bincount(flat[idx].astype(np.intp), weights=tia_imaged.ravel()[idx].astype(np.float64))
    imaged_tia = {k: float(sums[k]) if k < sums.size else 0.0 for k in names}
    tacs = _lesion_tacs(series, flat, idx, names)
    ct_rho = _lesion_densities(density_map_g_per_ml, flat, idx, names, series.voxel_volume_ml)
    timings["stats_s"] = time.perf_counter() - t0
    if progress:
        progress(3, 3, "lesion statistics")
    size = kernel_voxel_size_for(spacing, tissue)
    resampled = max(abs(s - size) for s in spacing) > 1e-6
    summary = VoxelDoseSummary(
        imaged_nuclide=imaged,
        dose_nuclide=_DOSE_NUCLIDE,
        activity_gbq=float(activity_gbq),
        dose_refers_to=refers,
        method=str(TiaMethod(method)),
        tissue=str(Tissue(tissue)),
        time_points_h=[float(t) for t in series.times_h],
        voxel_mm=[float(s) for s in spacing],
        kernel_voxel_mm=size,
        resampled=resampled,
        density_g_per_ml=rho,
        tia_unit="MBq*h per lesion (131I for the stated activity); tia_mbq_h_imaged: as imaged",
        lesions=[{**_lesion_dict(s, 1.0 / float(activity_gbq), imaged_tia[s.label]),
                  "tac_mbq_imaged": tacs[s.label], **ct_rho.get(s.label, {})} for s in stats],
        timings_s=timings,
        heterogeneity=het,
    )
    return VoxelDoseOutput(dose_gy, tia, stats, summary)


def plan_lesions(summary: VoxelDoseSummary) -> list[dict[str, object]]:
    """The ``lesions`` block of a ``redif dose plan`` case: name, mass (g) and 131I TIA coefficient (h).

    The coefficient is the voxel-based 131I TIA per administered activity; the plan then applies its
    sphere-model S-values to it (:mod:`redif.dosimetry.plan_input`).
    """
    return [{"name": les["name"], "mass_g": round(float(les["mass_g"]), 4),  # type: ignore[arg-type]
             "tia_h": float(les["tia_h"])}  # type: ignore[arg-type]
            for les in summary.lesions if les.get("tia_h") is not None]
