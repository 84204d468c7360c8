"""One voxel-dosimetry case from files to files: read the time points and the mask, compute, write.

The reading and writing around the pure engine :func:`redif.dosimetry.voxel_pipeline.compute_voxel_dose`
(issue 10: engines do no file I/O). Used by ``redif dose voxel``, ``redif dose batch`` and the web's
voxel dosimetry.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from redif.dosimetry.kernels import Tissue
from redif.dosimetry.registration import RegistrationKind, register_time_points
from redif.dosimetry.voxel_limits import DEFAULT_MAX_JOB_BYTES, plan_voxel_job
from redif.dosimetry.voxel_pipeline import Progress, VoxelDoseOutput, VoxelDoseSummary, compute_voxel_dose
from redif.dosimetry.voxel_tia import TiaMethod, check_time_series
from redif.errors import InputError
from redif.io.dicom import read_pet_series
from redif.io.masks import read_mask
from redif.io.nifti import read_nifti_volume, write_nifti
from redif.io.rtdose import write_rtdose
from redif.io.volume import Volume

__all__ = ["run_voxel_case"]


def run_voxel_case(
    pet: Sequence[str | Path],
    mask: str | Path,
    *,
    out: str | Path | None = None,
    rtdose: str | Path | None = None,
    activity_gbq: float | None = None,
    method: TiaMethod | str = TiaMethod.FIT,
    tissue: Tissue | str = Tissue.SOFT,
    calibration_bqml_per_count: float | None = None,
    nifti_inputs: dict[str, object] | None = None,
    progress: Progress | None = None,
    keep_arrays: bool = False,
    read_workers: int = 1,
    max_bytes: int = DEFAULT_MAX_JOB_BYTES,
    density_ct: str | Path | None = None,
    register: RegistrationKind | str | None = None,
    reference_time_point: int = 1,
) -> VoxelDoseOutput | VoxelDoseSummary:
    """Read inputs, compute, write outputs. Returns the summary (or the full output with ``keep_arrays``).

    The geometry of the first time point read is checked (:func:`redif.dosimetry.voxel_limits.
    plan_voxel_job`: voxel edges within the accepted range, the job's estimated peak memory at most
    ``max_bytes``) before the other time points are read and before anything is resampled or stacked.

    ``nifti_inputs`` (for NIfTI time points) holds ``units``, ``times_h``, ``nuclide`` and
    ``injected_activity_mbq`` (see :func:`redif.io.nifti.read_nifti_volume`). ``read_workers`` > 1
    reads the DICOM time points in that many worker processes (worth it only where reading waits on
    slow storage: with local files the transfer of the arrays costs more than it saves).
    ``density_ct``: a CT folder; its HU are resampled onto the PET grid, mapped to density and the dose
    is density-scaled (:mod:`redif.dosimetry.heterogeneity`).

    ``register`` (``rigid``, ``affine`` or ``none``; default ``rigid`` for more than one time point)
    registers every time point to time point ``reference_time_point`` (1-based, input order) by mutual
    information (whole images at 16 mm, then 8 and 4 mm within 20 mm of the lesions of the mask) and
    resamples it onto that grid (:func:`redif.dosimetry.registration.
    register_time_points`); the mask is read on the reference time point's grid (resampled there from a
    CT or SEG grid of the same frame of reference when needed) and the dose maps are written on it. The
    summary's ``registration`` lists each time point's transform.
    """
    t0 = time.perf_counter()
    paths = [Path(p) for p in pet]
    n_steps = len(paths) + 3
    loaded: list[Volume | None] = [None] * len(paths)
    dicom_idx = []
    for i, p in enumerate(paths):
        if p.name.endswith((".nii", ".nii.gz")):
            if not nifti_inputs:
                raise InputError("NIfTI time points need units, times and nuclide", field=str(p),
                                 remedy="give the NIfTI units, times_h and nuclide")
            times = list(nifti_inputs["times_h"])  # type: ignore[call-overload]
            if len(times) != len(paths):
                raise InputError("one time per NIfTI file needed", field="times_h", value=times)
            loaded[i] = read_nifti_volume(
                p, units=str(nifti_inputs["units"]), time_h=float(times[i]),
                nuclide=str(nifti_inputs["nuclide"]),
                injected_activity_mbq=nifti_inputs.get("injected_activity_mbq"),  # type: ignore[arg-type]
            )
        else:
            dicom_idx.append(i)
    done = len(paths) - len(dicom_idx)
    # one time point read and its geometry checked before the others are read
    first = next((v for v in loaded if v is not None), None)
    if first is None and dicom_idx:
        i0 = dicom_idx.pop(0)
        first = loaded[i0] = read_pet_series(paths[i0], calibration_bqml_per_count=calibration_bqml_per_count)
        done += 1
        if progress:
            progress(done, n_steps, f"read {paths[i0].name}")
    if first is not None:
        plan_voxel_job(first.shape, first.spacing_mm, len(paths), tissue).check_memory(max_bytes)
    workers = max(1, min(read_workers, len(dicom_idx)))
    if workers > 1:
        ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods()
                                          else None)
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            futs = {pool.submit(read_pet_series, paths[i],
                                calibration_bqml_per_count=calibration_bqml_per_count): i
                    for i in dicom_idx}
            for fut in as_completed(futs):
                loaded[futs[fut]] = fut.result()
                done += 1
                if progress:
                    progress(done, n_steps, f"read {paths[futs[fut]].name}")
    else:
        for i in dicom_idx:
            loaded[i] = read_pet_series(paths[i], calibration_bqml_per_count=calibration_bqml_per_count)
            done += 1
            if progress:
                progress(done, n_steps, f"read {paths[i].name}")
    volumes = [v for v in loaded if v is not None]
    del loaded
    t_load = time.perf_counter() - t0
    t0 = time.perf_counter()
    kind = register if register is not None else (
        RegistrationKind.RIGID if len(volumes) > 1 else RegistrationKind.NONE)
    if not 1 <= int(reference_time_point) <= len(volumes):
        raise InputError("reference time point out of range", field="reference_time_point",
                         value=reference_time_point, remedy=f"give 1 to {len(volumes)}")
    reference = volumes[int(reference_time_point) - 1]
    labelmap = read_mask(mask, reference)
    # the lesions and their surroundings drive the finer registration levels (lesion tracking)
    volumes, registrations = register_time_points(volumes, kind=kind,
                                                  reference_index=int(reference_time_point) - 1,
                                                  focus=labelmap.array > 0)
    t_register = time.perf_counter() - t0
    series = check_time_series(volumes)
    del volumes

    def _inner(done: int, total: int, label: str) -> None:
        if progress:
            progress(len(paths) + done, n_steps, label)

    rho_map = None
    if density_ct is not None:
        from redif.dosimetry.heterogeneity import density_from_hu
        from redif.io.ct import read_ct_hu, resample_to_grid

        hu, ct_affine = read_ct_hu(density_ct)
        rho_map = density_from_hu(resample_to_grid(hu, ct_affine, reference.shape, reference.affine))
        del hu
    result = compute_voxel_dose(series, labelmap.array, labelmap.names, activity_gbq=activity_gbq,
                                method=method, tissue=tissue, progress=_inner,
                                density_map_g_per_ml=rho_map)
    outputs: dict[str, str] = {}
    for target in (out, rtdose):
        if target is not None:
            Path(target).parent.mkdir(parents=True, exist_ok=True)
    if out is not None:
        write_nifti(out, result.dose_gy, reference.affine,
                    description=f"redif 131I dose Gy, {result.summary.activity_gbq:g} GBq")
        outputs["nifti"] = str(out)
    if rtdose is not None:
        write_rtdose(rtdose, result.dose_gy, reference)
        outputs["rtdose"] = str(rtdose)
    timings = {"load_s": t_load, "register_s": t_register, **result.summary.timings_s}
    mask_info: dict[str, object] = {"source": labelmap.source, "resampled": labelmap.resampled}
    if labelmap.fractions:
        vox_ml = reference.voxel_volume_ml
        mask_info["fraction_volume_ml"] = {labelmap.names.get(k, f"lesion_{k}"): f.volume_ml(vox_ml)
                                           for k, f in labelmap.fractions.items()}
    summary = VoxelDoseSummary(**{**result.summary.__dict__, "outputs": outputs, "timings_s": timings,
                                  "registration": [r.to_json() for r in registrations],
                                  "reference_time_point": int(reference_time_point),
                                  "mask": mask_info})
    if keep_arrays:
        return VoxelDoseOutput(result.dose_gy, result.tia_mbq_h, result.lesions, summary, labelmap.array,
                               reference.spacing_mm)
    return summary
