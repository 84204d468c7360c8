"""Post-therapy verification from files: a prediction (JSON), 131I SPECT time points and a lesion mask.

Reads the prediction written by ``redif dose voxel --json`` (a list of lesion objects, or an object with
``lesions``) or ``redif dose lesion --json`` (one lesion, or a list of them each with a ``name``), reads
the SPECT time points (:func:`redif.io.spect.read_spect`) and the mask, computes the delivered lesion
doses with the voxel engine (several time points: :func:`redif.dosimetry.voxel_pipeline.
compute_voxel_dose`; one: the single-time-point TIA of :func:`redif.dosimetry.verification.
single_time_point_lesion_doses`) and compares them (:func:`redif.dosimetry.verification.
verify_lesion_doses`).

The predicted doses are rescaled to the administered 131I activity (the SPECT's RadionuclideTotalDose, or
``activity_gbq``) from their per-GBq values; a rescaling is stated in the notes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from redif import DISCLAIMER
from redif.dosimetry.kernels import Tissue
from redif.dosimetry.nuclides import THERAPY_NUCLIDE
from redif.dosimetry.verification import (
    Z95,
    DosePair,
    VerificationResult,
    single_time_point_lesion_doses,
    verify_lesion_doses,
)
from redif.dosimetry.voxel_pipeline import compute_voxel_dose
from redif.dosimetry.voxel_tia import TiaMethod, check_time_series
from redif.errors import InputError
from redif.io.masks import read_mask
from redif.io.spect import SpectVolume, read_spect

_REMEDY = "give the --json output of `redif dose voxel` or `redif dose lesion`"

__all__ = ["PredictedLesion", "VerificationReport", "read_predicted", "run_verification"]



@dataclass(frozen=True)
class PredictedLesion:
    """One lesion of the prediction file: dose per GBq of 131I and its stated uncertainty."""

    name: str | None
    gy_per_gbq: float
    activity_gbq: float | None
    u_rel: float | None
    u_source: str | None
    imaged_nuclide: str | None


@dataclass(frozen=True)
class VerificationReport:
    """JSON-ready result of :func:`run_verification`."""

    lesions: list[dict[str, object]]
    bland_altman: dict[str, object] | None
    bland_altman_difference_gy: dict[str, object] | None
    administered_gbq: float
    predicted_activity_gbq: float | None
    time_points_h: list[float]
    delivered_method: str
    spect: list[dict[str, object]]
    notes: list[str] = field(default_factory=list)
    unmatched: dict[str, list[str]] = field(default_factory=dict)
    disclaimer: str = DISCLAIMER


def _num(item: dict[str, Any], key: str) -> float | None:
    v = item.get(key)
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def _uncertainty(item: dict[str, Any]) -> tuple[float | None, str | None]:
    """Stated relative standard uncertainty of the lesion's mean dose, and where it came from."""
    unc = item.get("uncertainty")
    if isinstance(unc, dict) and isinstance(unc.get("mean_gy"), dict):  # one budget per dose statistic
        unc = unc["mean_gy"]
    if isinstance(unc, dict):
        rel = unc.get("relative_standard")
        if isinstance(rel, dict):
            rel = rel.get("mean_gy", rel.get("dose"))
        if isinstance(rel, int | float) and not isinstance(rel, bool):
            return float(rel), "uncertainty.relative_standard"
    lo, hi = _num(item, "ci_lower"), _num(item, "ci_upper")
    if lo is not None and hi is not None and lo > 0 and hi > lo:
        return math.log(hi / lo) / (2 * Z95), "95 % CI (ci_lower, ci_upper), log-normal"
    return None, None


def read_predicted(path: str | Path) -> list[PredictedLesion]:
    """Lesions of a ``redif dose voxel --json`` or ``redif dose lesion --json`` file.

    Raises
    ------
    InputError
        Naming the file: unreadable JSON, no lesion, a lesion without a per-GBq dose, or a post-therapy
        (131I-imaged) dose file given as the prediction.
    """
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read the prediction ({type(exc).__name__}: {str(exc)[:100]})",
                         field="predicted", value=str(p),
                         remedy=_REMEDY) from None
    top: dict[str, Any] = data if isinstance(data, dict) else {}
    if isinstance(data, list):
        items = data
    elif isinstance(data, dict) and isinstance(data.get("lesions"), list):
        items = data["lesions"]
    elif isinstance(data, dict):
        items = [data]
    else:
        items = []
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise InputError(f"{p}: lesion {i + 1} is not an object", field="predicted", value=item)
        per_gbq = _num(item, "mean_gy_per_gbq")
        if per_gbq is None:
            per_gbq = _num(item, "dose_per_activity_gy_per_gbq")
        if per_gbq is None:
            raise InputError(f"{p}: lesion {i + 1} has no mean_gy_per_gbq (dose voxel) or "
                             "dose_per_activity_gy_per_gbq (dose lesion)", field="predicted",
                             remedy=_REMEDY)
        imaged = item.get("imaged_nuclide", top.get("imaged_nuclide"))
        if imaged == THERAPY_NUCLIDE:
            raise InputError(f"{p} holds doses from {THERAPY_NUCLIDE} images (post-therapy), not a "
                             "prediction",
                             field="predicted", value=imaged,
                             remedy="give the dose voxel output of the pre-therapy 124I PET")
        u, src = _uncertainty(item)
        act = _num(item, "activity_gbq") or _num(top, "activity_gbq")
        name = item.get("name")
        out.append(PredictedLesion(str(name) if name is not None else None, per_gbq, act, u, src,
                                   str(imaged) if imaged else None))
    if not out:
        raise InputError(f"{p} holds no lesion", field="predicted",
                         remedy=_REMEDY)
    return out


def _spect_info(s: SpectVolume) -> dict[str, object]:
    v = s.volume
    return {"source": v.source, "time_h": v.time_since_admin_h, "units_source": s.units_source,
            "administered_mbq": None if v.total_dose_bq is None else v.total_dose_bq / 1e6,
            "calibration_cps_per_mbq": s.calibration_cps_per_mbq,
            "acquisition_duration_s": s.acquisition_duration_s,
            "observed_count_rate_cps": s.observed_count_rate_cps, "dead_time_factor": s.dead_time_factor,
            "dead_time_model": s.dead_time_model, "dead_time_us": s.dead_time_us,
            "energy_window": s.energy_window}


def run_verification(
    predicted: str | Path,
    spect: Sequence[str | Path],
    mask: str | Path,
    *,
    calibration_cps_per_mbq: float | None = None,
    dead_time_us: float | None = None,
    dead_time_model: str | None = None,
    acquisition_duration_s: float | None = None,
    energy_window: int | None = None,
    activity_gbq: float | None = None,
    u_predicted: float | None = None,
    u_delivered: float | None = None,
    method: TiaMethod | str = TiaMethod.FIT,
    tissue: Tissue | str = Tissue.SOFT,
    effective_half_life_h: float | None = None,
) -> tuple[VerificationReport, VerificationResult]:
    """Predicted against delivered lesion doses (see module docstring).

    ``u_predicted``, when given, is the relative standard uncertainty of every predicted dose (it overrides
    the uncertainty the prediction file states, e.g. its ``uncertainty.relative_standard``, which covers
    only the components given when the prediction was made); ``u_delivered`` is the
    relative standard uncertainty of the delivered doses (calibration, fit, ...), stated by the user.
    """
    if not spect:
        raise InputError("no SPECT time point", field="spect", remedy="give --spect DIR (one per time point)")
    preds = read_predicted(predicted)
    vols = [read_spect(s, calibration_cps_per_mbq=calibration_cps_per_mbq, dead_time_us=dead_time_us,
                       dead_time_model=dead_time_model, acquisition_duration_s=acquisition_duration_s,
                       energy_window=energy_window) for s in spect]
    first = vols[0].volume
    notes: list[str] = []
    labelmap = read_mask(mask, first)
    names = labelmap.names
    recorded = None if first.total_dose_bq is None else first.total_dose_bq / 1e9
    if activity_gbq is not None:
        if not activity_gbq > 0:
            raise InputError("activity must be positive", field="activity_gbq", value=activity_gbq)
        administered = float(activity_gbq)
    elif recorded is not None:
        administered = recorded
    else:
        raise InputError("the SPECT does not record the administered activity (RadionuclideTotalDose)",
                         field="activity_gbq", remedy="give the administered 131I activity with "
                                                      "--activity-gbq")
    if len(vols) >= 2:
        series = check_time_series([v.volume for v in vols], nuclide=THERAPY_NUCLIDE)
        result = compute_voxel_dose(series, labelmap.array, names, activity_gbq=administered, method=method,
                                    tissue=tissue)
        delivered = {les.name: les.mean_gy for les in result.lesions}
        how = f"{len(vols)} time points, {TiaMethod(method)} TIA, voxel S-value convolution"
    else:
        doses = single_time_point_lesion_doses(first, labelmap.array, names,
                                               effective_half_life_h=effective_half_life_h, tissue=tissue)
        scale = 1.0 if recorded is None else administered / recorded
        delivered = {les.name: les.mean_gy * scale for les in doses}
        how = ("1 time point, single-time-point TIA ("
               + ("Hänscheid 2018, 2t/ln2" if effective_half_life_h is None
                  else f"Madsen 2018, T_eff {effective_half_life_h:g} h") + "), voxel S-value convolution")
        notes.append("single time point: the TIA assumes mono-exponential kinetics (" + how + ")")
    if recorded is not None and abs(administered - recorded) > 1e-6 * recorded:
        notes.append(f"delivered doses rescaled from the recorded {recorded:g} GBq to {administered:g} GBq")
    pred_acts = {p.activity_gbq for p in preds if p.activity_gbq is not None}
    pred_act = next(iter(pred_acts)) if len(pred_acts) == 1 else None
    for a in pred_acts:
        if abs(a - administered) > 0.005 * administered:
            notes.append(f"predicted doses rescaled from {a:g} GBq (prediction) to the administered "
                         f"{administered:g} GBq (per-GBq values x activity)")
    by_name = {p.name: p for p in preds if p.name is not None}
    unnamed = [p for p in preds if p.name is None]
    pairs = []
    unmatched_mask: list[str] = []
    for label in sorted(names):
        nm = names[label]
        pred = by_name.get(nm)
        if pred is None and unnamed and len(names) == 1 and len(preds) == 1:
            pred = unnamed[0]
        if pred is None:
            unmatched_mask.append(nm)
            continue
        u_p = u_predicted if u_predicted is not None else pred.u_rel
        pairs.append(DosePair(nm, pred.gy_per_gbq * administered, float(delivered[nm]), u_p, u_delivered,
                              label=int(label)))
    unmatched_pred = [p.name for p in preds if p.name is not None and p.name not in names.values()]
    if not pairs:
        raise InputError(f"no lesion of the prediction matches the mask (prediction: "
                         f"{[p.name for p in preds]}; mask: {sorted(names.values())})", field="predicted",
                         remedy="use the same mask (lesion names) for the prediction and the verification")
    if unmatched_mask or unmatched_pred:
        notes.append(f"not compared: mask lesions without a prediction {unmatched_mask}, predicted lesions "
                     f"not in the mask {unmatched_pred}")
    res = verify_lesion_doses(pairs, notes)
    u_src = {p.name: p.u_source for p in preds}
    rows = []
    for r in res.lesions:
        row = dict(r.__dict__)
        row["u_predicted_source"] = "--u-predicted" if u_predicted is not None else u_src.get(r.name)
        rows.append(row)
    report = VerificationReport(
        lesions=rows,
        bland_altman=(None if res.bland_altman_log_ratio is None
                      else dict(res.bland_altman_log_ratio.__dict__)),
        bland_altman_difference_gy=(None if res.bland_altman_difference_gy is None
                                    else dict(res.bland_altman_difference_gy.__dict__)),
        administered_gbq=administered,
        predicted_activity_gbq=pred_act,
        time_points_h=[float(v.volume.time_since_admin_h or 0.0) for v in vols],
        delivered_method=how,
        spect=[_spect_info(v) for v in vols],
        notes=res.notes,
        unmatched={"mask": unmatched_mask, "predicted": [str(n) for n in unmatched_pred]},
    )
    return report, res
