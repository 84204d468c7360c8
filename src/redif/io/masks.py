"""Lesion masks on the PET grid: DICOM SEG (highdicom), RTSTRUCT (rasterised polygons), NIfTI label maps.

Every reader returns a :class:`LabelMap` on the grid of a reference :class:`Volume` (index order
``[slice, row, column]``). Axis permutations and flips of the same grid (e.g. NIfTI files from dcm2niix)
are undone exactly. A mask on another grid of the same patient coordinates (a SEG or NIfTI label map
drawn on the CT, whose geometry is known) is resampled onto the PET grid (issue 14,
:func:`resample_labels`): each PET voxel takes the label of the mask voxel nearest to its centre, and
the fraction of each PET voxel inside each lesion is estimated by supersampling (``n^3`` points per PET
voxel, each taking the nearest mask label) and kept in :attr:`LabelMap.fractions` for partial-voxel
use. A mask in another frame of reference, or with labels outside the PET field of view, is refused
with an error naming both files (redif does not guess a registration between frames of reference).

References
----------
DICOM PS3.3 A.51 (Segmentation IOD), C.8.8.6 (ROI Contour Module: CLOSED_PLANAR contours).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from matplotlib.path import Path as PolyPath
from numpy.typing import NDArray
from pydicom.dataset import Dataset

from redif.errors import DicomInputError, InputError
from redif.io.volume import Volume

__all__ = ["LabelFraction", "LabelMap", "align_to_reference", "read_mask", "resample_labels", "write_seg"]

_RAS_FROM_LPS = np.diag([-1.0, -1.0, 1.0, 1.0])
_GRID_TOL = 1e-2  # voxels
_SUPERSAMPLE = 4  # points per PET voxel edge for the lesion fractions of a resampled mask


@dataclass(frozen=True)
class LabelFraction:
    """Fraction (0..1) of each PET voxel inside one lesion, in a box of the PET grid.

    ``fraction[i, j, k]`` belongs to PET voxel ``start + (i, j, k)``; outside the box it is 0.
    """

    label: int
    start: tuple[int, int, int]
    fraction: NDArray[np.float32]

    def volume_ml(self, voxel_volume_ml: float) -> float:
        """The lesion volume these fractions describe, mL."""
        return float(np.sum(self.fraction, dtype=np.float64)) * voxel_volume_ml


@dataclass(frozen=True)
class LabelMap:
    """Integer label map on a reference grid with a name per label (labels 1..n; 0 = background).

    ``resampled`` says whether the mask came from another grid (nearest-neighbour labels); then
    ``fractions`` holds, per label, the fraction of each PET voxel inside the lesion.
    """

    array: NDArray[np.uint16]
    names: dict[int, str]
    source: str
    resampled: bool = False
    fractions: dict[int, LabelFraction] = field(default_factory=dict)

    def mask(self, label: int) -> NDArray[np.bool_]:
        """Boolean mask of one label."""
        return np.asarray(self.array == label)


def _mismatch(mask_path: str, ref: Volume, why: str, cls: type[InputError] = InputError) -> InputError:
    return cls(
        f"mask {mask_path} and image {ref.source or '(image)'} are on different grids ({why})",
        field="mask", value=None,
        remedy="give a mask in the PET's frame of reference that lies inside the PET field of view",
    )


def _exact_or_resampled(array: NDArray[np.generic], affine_lps: NDArray[np.float64], ref: Volume,
                        mask_path: str, *, allow_crop: bool = False,
                        ) -> tuple[NDArray[np.generic], dict[int, LabelFraction] | None]:
    """The exact re-indexing of :func:`align_to_reference` where it applies, else :func:`resample_labels`."""
    try:
        return align_to_reference(array, affine_lps, ref, mask_path, allow_crop=allow_crop), None
    except _GridMismatch:
        return resample_labels(np.asarray(array), affine_lps, ref, mask_path)


class _GridMismatch(InputError):
    """The mask is on another grid (it may still be resampled)."""


def resample_labels(array: NDArray[np.generic], affine_lps: NDArray[np.float64], ref: Volume, mask_path: str,
                    *, supersample: int = _SUPERSAMPLE,
                    ) -> tuple[NDArray[np.uint16], dict[int, LabelFraction]]:
    """Resample a label map on its own grid (``affine_lps``: index -> LPS mm) onto ``ref``'s grid.

    Each PET voxel takes the label of the mask voxel nearest to its centre (nearest neighbour: labels
    are never averaged). Per label, the fraction of each PET voxel inside the lesion is the share of
    ``supersample^3`` points on a regular sub-grid of the voxel whose nearest mask voxel carries the
    label. Only the box of each lesion (plus one voxel) is evaluated.

    Raises
    ------
    InputError
        Labels outside the PET field of view, or a lesion that covers no PET voxel centre.
    """
    arr = np.asarray(array)
    m = np.linalg.solve(np.asarray(affine_lps, dtype=np.float64), ref.affine)  # ref index -> mask index
    back = np.linalg.inv(m)  # mask index -> ref index
    shape = np.asarray(ref.shape)
    out = np.zeros(ref.shape, dtype=np.uint16)
    fractions: dict[int, LabelFraction] = {}
    offsets = (np.arange(supersample) + 0.5) / supersample - 0.5
    for label in (int(v) for v in np.unique(arr) if v != 0):
        pts = np.argwhere(arr == label).astype(np.float64)
        corners = np.array([[a, b, c] for a in (-0.5, 0.5) for b in (-0.5, 0.5) for c in (-0.5, 0.5)])
        box_corners = (pts[:, None, :] + corners[None]).reshape(-1, 3)
        in_ref = box_corners @ back[:3, :3].T + back[:3, 3]
        centres = pts @ back[:3, :3].T + back[:3, 3]
        if np.any(centres < -0.5) or np.any(centres > shape - 0.5):
            raise _mismatch(mask_path, ref, f"label {label} lies partly outside the image after resampling")
        lo = np.maximum(np.floor(in_ref.min(axis=0)).astype(int) - 1, 0)
        hi = np.minimum(np.ceil(in_ref.max(axis=0)).astype(int) + 2, shape)
        grid = np.stack(np.meshgrid(*(np.arange(a, b) for a, b in zip(lo, hi, strict=True)), indexing="ij"),
                        axis=-1).reshape(-1, 3).astype(np.float64)
        box = tuple(int(b - a) for a, b in zip(lo, hi, strict=True))
        count = np.zeros(len(grid), dtype=np.float32)
        for oz in offsets:
            for oy in offsets:
                for ox in offsets:
                    hit = _lookup(arr, (grid + np.array([oz, oy, ox])) @ m[:3, :3].T + m[:3, 3]) == label
                    count += hit
        nearest = _lookup(arr, grid @ m[:3, :3].T + m[:3, 3]) == label
        sub = out[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]
        sub[nearest.reshape(box) & (sub == 0)] = label
        fractions[label] = LabelFraction(label, (int(lo[0]), int(lo[1]), int(lo[2])),
                                         (count / np.float32(supersample**3)).reshape(box))
        if not np.any(nearest):
            raise _mismatch(mask_path, ref, f"label {label} covers no PET voxel centre after resampling "
                            f"({fractions[label].volume_ml(ref.voxel_volume_ml):.3g} mL)")
    return out, fractions


def _lookup(arr: NDArray[np.generic], idx: NDArray[np.float64]) -> NDArray[np.generic]:
    """Nearest-neighbour value of ``arr`` at fractional indices (0 outside)."""
    r = np.rint(idx).astype(np.intp)
    ok = np.all((r >= 0) & (r < np.asarray(arr.shape)), axis=1)
    vals = np.zeros(len(r), dtype=arr.dtype)
    vals[ok] = arr[r[ok, 0], r[ok, 1], r[ok, 2]]
    return vals


def align_to_reference(array: NDArray[np.generic], affine_lps: NDArray[np.float64], ref: Volume,
                       mask_path: str, *, allow_crop: bool = False) -> NDArray[np.generic]:
    """Return ``array`` re-indexed onto ``ref``'s grid (exact axis permutations/flips/offsets only).

    ``allow_crop`` accepts a mask that covers part of the image grid (a SEG stored without empty frames).

    Raises
    ------
    InputError
        If the grids differ in spacing, orientation, shape or by a non-integer shift (the readers then
        resample the mask with :func:`resample_labels`).
    """
    m = np.linalg.solve(ref.affine, affine_lps)  # mask index -> reference index
    rot = m[:3, :3]
    perm = np.argmax(np.abs(rot), axis=0)  # reference axis of each mask axis
    signs = np.sign(rot[perm, np.arange(3)])
    expected = np.zeros((3, 3))
    expected[perm, np.arange(3)] = signs
    if sorted(perm.tolist()) != [0, 1, 2] or not np.allclose(rot, expected, atol=_GRID_TOL):
        raise _mismatch(mask_path, ref, "different voxel spacing or orientation", _GridMismatch)
    # move mask axes into reference order, flipping where needed
    order = np.argsort(perm)  # mask axis that becomes reference axis 0, 1, 2
    arr = np.transpose(array, order)
    sign_ref = signs[order]
    corner = m[:3, 3]  # reference index of mask index (0, 0, 0)
    start = []
    for ax in range(3):
        if sign_ref[ax] < 0:
            arr = np.flip(arr, axis=ax)
        first = corner[ax] if sign_ref[ax] > 0 else corner[ax] - (arr.shape[ax] - 1)
        if abs(first - round(first)) > _GRID_TOL:
            raise _mismatch(mask_path, ref, "grids shifted by a fraction of a voxel", _GridMismatch)
        start.append(round(first))
    if tuple(arr.shape) == ref.shape and start == [0, 0, 0]:
        return np.ascontiguousarray(arr)
    if not allow_crop:
        raise _mismatch(mask_path, ref, f"mask shape {tuple(arr.shape)} vs image {ref.shape}", _GridMismatch)
    # a cropped mask (e.g. a SEG without empty frames) must lie wholly inside the image
    out = np.zeros(ref.shape, dtype=arr.dtype)
    src, dst = [], []
    for ax in range(3):
        lo, hi = max(start[ax], 0), min(start[ax] + arr.shape[ax], ref.shape[ax])
        if hi <= lo:
            raise _mismatch(mask_path, ref, "the mask lies outside the image")
        dst.append(slice(lo, hi))
        src.append(slice(lo - start[ax], hi - start[ax]))
    if np.count_nonzero(arr[tuple(src)]) != np.count_nonzero(arr):
        raise _mismatch(mask_path, ref, f"mask shape {tuple(arr.shape)} vs image {ref.shape}, "
                        "labels outside the image")
    out[tuple(dst)] = arr[tuple(src)]
    return out


def _names_sidecar(path: Path) -> dict[int, str]:
    for cand in (path.with_name(path.name.replace(".nii.gz", "").replace(".nii", "") + ".json"),):
        if cand.exists():
            raw = json.loads(cand.read_text(encoding="utf-8"))
            return {int(k): str(v) for k, v in raw.items()}
    return {}


def _finish(array: NDArray[np.generic], names: Mapping[int, str], source: str,
            fractions: dict[int, LabelFraction] | None = None) -> LabelMap:
    labels = np.asarray(array).astype(np.uint16)
    present = sorted(int(v) for v in np.unique(labels) if v != 0)
    if not present:
        raise InputError("mask has no labelled voxels", field=source, remedy="check the mask file")
    return LabelMap(labels, {i: names.get(i, f"lesion_{i}") for i in present}, source,
                    resampled=fractions is not None, fractions=dict(fractions or {}))


def _read_nifti(path: Path, ref: Volume, names: Mapping[int, str] | None) -> LabelMap:
    import nibabel as nib

    img: Any = nib.load(str(path))
    data = np.asarray(img.dataobj)
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise InputError("NIfTI mask must be 3-D", field=str(path), value=data.shape)
    if not np.allclose(data, np.round(data)) or data.min() < 0:
        raise InputError("NIfTI mask must hold non-negative integer labels", field=str(path))
    affine_lps = _RAS_FROM_LPS @ np.asarray(img.affine, dtype=np.float64)
    aligned, fractions = _exact_or_resampled(np.round(data).astype(np.uint16), affine_lps, ref, str(path))
    return _finish(aligned, dict(names or _names_sidecar(path)), str(path), fractions)


def _read_seg_direct(ds: Dataset, ref: Volume, path: Path) -> LabelMap | None:
    """Fast path for the common case: a BINARY SEG whose frames reference the PET slices one to one.

    Returns ``None`` (and the caller uses highdicom) for anything else.
    """
    if str(ds.get("SegmentationType", "")) != "BINARY" or not ref.sop_instance_uids:
        return None
    if (int(ds.Rows), int(ds.Columns)) != ref.shape[1:]:
        return None
    index = {uid: k for k, uid in enumerate(ref.sop_instance_uids)}
    frames = []
    try:
        for item in ds.PerFrameFunctionalGroupsSequence:
            src = item.DerivationImageSequence[0].SourceImageSequence
            if len(src) != 1:
                return None
            k = index.get(str(src[0].ReferencedSOPInstanceUID))
            if k is None:
                return None
            frames.append((k, int(item.SegmentIdentificationSequence[0].ReferencedSegmentNumber)))
    except (AttributeError, IndexError):
        return None
    pixels = np.asarray(ds.pixel_array)
    if pixels.ndim == 2:
        pixels = pixels[None]
    out = np.zeros(ref.shape, dtype=np.uint16)
    for (k, number), frame in zip(frames, pixels, strict=True):
        out[k][frame > 0] = number
    names = {int(item.SegmentNumber): str(item.SegmentLabel) for item in ds.SegmentSequence}
    return _finish(out, names, str(path))


def _read_seg(path: Path, ref: Volume, ds: Dataset | None = None) -> LabelMap:
    import highdicom as hd

    if ds is not None:
        fast = _read_seg_direct(ds, ref, path)
        if fast is not None:
            return fast
    seg = hd.seg.segread(str(path))
    names = {int(n): str(seg.get_segment_description(n).segment_label) for n in seg.segment_numbers}
    referenced: set[str] = set()
    for series in seg.get("ReferencedSeriesSequence", []):
        for inst in series.get("ReferencedInstanceSequence", []):
            referenced.add(str(inst.ReferencedSOPInstanceUID))
    if referenced and ref.sop_instance_uids and referenced <= set(ref.sop_instance_uids):
        arr = seg.get_pixels_by_source_instance(
            source_sop_instance_uids=list(ref.sop_instance_uids), combine_segments=True,
            assert_missing_frames_are_empty=True, skip_overlap_checks=True,
        )
        return _finish(np.asarray(arr), names, str(path))
    if seg.get("FrameOfReferenceUID") and ref.frame_of_reference_uid and str(
            seg.FrameOfReferenceUID) != ref.frame_of_reference_uid:
        raise _mismatch(str(path), ref, "different frames of reference")
    try:
        vol = seg.get_volume(combine_segments=True, skip_overlap_checks=True)
    except (ValueError, RuntimeError) as exc:
        raise _mismatch(str(path), ref, f"SEG frames do not form a volume: {exc}") from None
    aligned, fractions = _exact_or_resampled(np.asarray(vol.array), np.asarray(vol.affine, dtype=np.float64),
                                             ref, str(path), allow_crop=True)
    return _finish(aligned, names, str(path), fractions)


def _rasterise_rtstruct(ds: Dataset, ref: Volume, path: Path) -> LabelMap:
    rois = {int(r.ROINumber): str(r.ROIName) for r in ds.get("StructureSetROISequence", [])}
    if ref.frame_of_reference_uid:
        for r in ds.get("StructureSetROISequence", []):
            f = str(r.get("ReferencedFrameOfReferenceUID", ""))
            if f and f != ref.frame_of_reference_uid:
                raise _mismatch(str(path), ref, "different frames of reference")
    inv = np.linalg.inv(ref.affine)
    nz, ny, nx = ref.shape
    rr, cc = np.mgrid[0:ny, 0:nx]
    centres = np.column_stack([rr.ravel(), cc.ravel()]).astype(np.float64)
    out = np.zeros(ref.shape, dtype=np.uint16)
    names: dict[int, str] = {}
    for label, item in enumerate(ds.get("ROIContourSequence", []), start=1):
        number = int(item.ReferencedROINumber)
        names[label] = rois.get(number, f"roi_{number}")
        roi = np.zeros(ref.shape, dtype=bool)
        for contour in item.get("ContourSequence", []):
            if str(contour.get("ContourGeometricType", "CLOSED_PLANAR")) not in ("CLOSED_PLANAR",):
                continue
            pts = np.asarray(contour.ContourData, dtype=np.float64).reshape(-1, 3)
            idx = (inv @ np.column_stack([pts, np.ones(len(pts))]).T).T[:, :3]
            k = float(np.mean(idx[:, 0]))
            if np.ptp(idx[:, 0]) > 0.5 or abs(k - round(k)) > 0.25:
                raise _mismatch(str(path), ref, f"contour of {names[label]!r} not on an image slice")
            kk = round(k)
            if not 0 <= kk < nz:
                continue
            poly = PolyPath(idx[:, 1:3])
            inside = poly.contains_points(centres).reshape(ny, nx)
            roi[kk] ^= inside  # even-odd rule: inner contours are holes
        out[roi & (out == 0)] = label
    return _finish(out, names, str(path))


def read_mask(path: str | Path, reference: Volume, *, names: Mapping[int, str] | None = None) -> LabelMap:
    """Read a lesion mask (DICOM SEG, RTSTRUCT or NIfTI label map) onto ``reference``'s grid.

    Parameters
    ----------
    path
        ``.nii``/``.nii.gz`` label map (names from ``names`` or a sidecar ``<mask>.json`` mapping
        label -> name), or a DICOM SEG / RTSTRUCT file.
    reference
        The PET volume whose grid the labels must share.

    Raises
    ------
    InputError
        Unknown file type, empty mask, or grid mismatch (naming both files).
    """
    p = Path(path)
    if not p.is_file():
        raise InputError("mask file not found", field="mask", value=str(p))
    if p.name.endswith((".nii", ".nii.gz")):
        return _read_nifti(p, reference, names)
    try:
        ds = pydicom.dcmread(p, stop_before_pixels=False)
    except Exception:
        raise InputError("not a NIfTI or DICOM file", field="mask", value=str(p),
                         remedy="give a DICOM SEG, RTSTRUCT or a NIfTI label map") from None
    modality = str(ds.get("Modality", ""))
    if modality == "SEG":
        return _read_seg(p, reference, ds)
    if modality == "RTSTRUCT":
        return _rasterise_rtstruct(ds, reference, p)
    raise DicomInputError(f"DICOM modality {modality!r} is not a mask", field=str(p),
                          remedy="give a DICOM SEG, RTSTRUCT or a NIfTI label map")


def write_seg(path: str | Path, labels: NDArray[np.integer], names: Sequence[str],
              source_images: Sequence[Dataset]) -> None:
    """Write a binary DICOM SEG (highdicom) of ``labels`` (1..n) referencing ``source_images``.

    ``source_images`` are the PET slices in array order (their geometry is the SEG's geometry).
    """
    import highdicom as hd
    from pydicom.sr.codedict import codes

    descriptions = [
        hd.seg.SegmentDescription(
            segment_number=i,
            segment_label=name,
            segmented_property_category=codes.SCT.MorphologicallyAbnormalStructure,
            segmented_property_type=codes.SCT.Neoplasm,
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
        )
        for i, name in enumerate(names, start=1)
    ]
    seg = hd.seg.Segmentation(
        source_images=list(source_images),
        pixel_array=np.asarray(labels, dtype=np.uint8),
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions,
        series_instance_uid=hd.UID(),
        series_number=300,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="redif synthetic phantom",
        manufacturer_model_name="redif.dosimetry.phantoms",
        software_versions="redif",
        device_serial_number="0",
        series_description="lesions (synthetic truth)",
    )
    seg.save_as(str(path))
