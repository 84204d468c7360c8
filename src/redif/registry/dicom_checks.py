"""Completeness checks of an uploaded DICOM file, run before anything of it is stored.

pydicom reads leniently: a file cut short inside an element is returned as the data set of the elements
before the cut, without an error, and a PixelData element shorter than its image is only noticed when
the pixels are decoded. The registry refuses such files at upload (:func:`check_instance`):

* the byte stream must end exactly where its last element ends: every element's value length, every
  item and every undefined-length sequence must fit in the file (a walk over the encoded elements,
  PS3.5 §7.1 and §7.5, independent of pydicom's reader);
* the identifying attributes (SOP class/instance, study/series UIDs) and ``Modality`` must be present,
  and ``Modality`` one of :data:`ACCEPTED_MODALITIES`;
* an image (``PixelData`` in native encoding) must hold ``Rows x Columns x NumberOfFrames x
  SamplesPerPixel x BitsAllocated / 8`` bytes (PS3.5 §8.1.1; one trailing pad byte allowed), with the
  image attributes present.

References
----------
DICOM PS3.5 §7.1 (data elements), §7.5 (nesting of data sets), §8.1.1 (pixel data encoding), §10 (transfer
syntaxes); PS3.10 §7.1 (file meta information); PS3.3 C.7.3.1.1.1 (Modality defined terms).
"""

from __future__ import annotations

import math
import struct
from typing import Any

from pydicom.dataset import Dataset

from redif.errors import DicomInputError

__all__ = ["ACCEPTED_MODALITIES", "check_instance"]

#: What the registry stores, by Modality (0008,0060), with why. PS3.3 C.7.3.1.1.1 defines the terms.
ACCEPTED_MODALITIES: dict[str, str] = {
    "PT": "PET (quantitative time points of dosimetry)",
    "NM": "nuclear medicine / SPECT (whole-body scans, quantitative SPECT)",
    "CT": "CT (attenuation correction, anatomy)",
    "MR": "MR (neck anatomy)",
    "SEG": "segmentation (lesion masks)",
    "RTSTRUCT": "structure set (lesion contours)",
    "RTDOSE": "dose map (as written by redif dose voxel --rtdose)",
}

_REQUIRED = ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID", "Modality")
_IMAGE_REQUIRED = ("Rows", "Columns", "BitsAllocated", "PhotometricInterpretation")
_LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
_UNDEFINED = 0xFFFFFFFF
_ITEM, _ITEM_END, _SEQ_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_IMPLICIT_LE = "1.2.840.10008.1.2"
_EXPLICIT_BE = "1.2.840.10008.1.2.2"
_DEFLATED = {"1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.8.1"}
_NATIVE = {_IMPLICIT_LE, "1.2.840.10008.1.2.1", _EXPLICIT_BE}
_MAX_DEPTH = 64


class _Truncated(Exception):
    """The stream ends inside an element (message: where)."""


def _refuse(name: str, message: str, remedy: str = "re-export the file from the scanner or PACS"
            ) -> DicomInputError:
    return DicomInputError(message, field="file", value=name, remedy=remedy)


class _Walker:
    """Walks encoded data elements, checking that each one fits in the buffer."""

    def __init__(self, data: bytes, *, explicit: bool, little: bool) -> None:
        self.data = data
        self.explicit = explicit
        self.end = "<" if little else ">"

    def _u32(self, pos: int) -> int:
        return int(struct.unpack_from(self.end + "I", self.data, pos)[0])

    def _tag(self, pos: int) -> int:
        group, elem = struct.unpack_from(self.end + "HH", self.data, pos)
        return (int(group) << 16) | int(elem)

    def _need(self, pos: int, n: int, what: str) -> None:
        if pos + n > len(self.data):
            raise _Truncated(f"{what} at byte {pos} needs {n} bytes, {len(self.data) - pos} left")

    def elements(self, pos: int, stop: int | None, depth: int) -> int:
        """Walk elements from ``pos`` up to ``stop`` (``None``: to an item delimiter); return the end."""
        if depth > _MAX_DEPTH:
            raise _Truncated(f"sequences nested deeper than {_MAX_DEPTH} levels")
        while stop is None or pos < stop:
            self._need(pos, 8, "element header")
            tag = self._tag(pos)
            if tag == _ITEM_END:
                if stop is not None:
                    raise _Truncated(f"item delimiter at byte {pos} outside an item")
                return pos + 8
            if self.explicit and tag >> 16 != 0xFFFE:
                vr = self.data[pos + 4:pos + 6]
                if vr in _LONG_VRS:
                    self._need(pos, 12, "element header")
                    length, pos = self._u32(pos + 8), pos + 12
                else:
                    (length,) = struct.unpack_from(self.end + "H", self.data, pos + 6)
                    pos += 8
            else:
                length, pos = self._u32(pos + 4), pos + 8
            if length == _UNDEFINED:
                pos = self.undefined_sequence(pos, depth + 1, tag)
            else:
                self._need(pos, int(length), f"value of ({tag >> 16:04X},{tag & 0xFFFF:04X})")
                pos += int(length)
        if pos != stop:
            raise _Truncated(f"an element overruns its item at byte {stop}")
        return pos

    def undefined_sequence(self, pos: int, depth: int, tag: int) -> int:
        """Items of an undefined-length sequence (or encapsulated pixel fragments) up to its delimiter."""
        while True:
            self._need(pos, 8, f"item of ({tag >> 16:04X},{tag & 0xFFFF:04X})")
            item, length = self._tag(pos), self._u32(pos + 4)
            pos += 8
            if item == _SEQ_END:
                return pos
            if item != _ITEM:
                where = f"({tag >> 16:04X},{tag & 0xFFFF:04X})"
                raise _Truncated(f"expected an item at byte {pos - 8} in {where}")
            if length == _UNDEFINED:
                pos = self.elements(pos, None, depth)
            elif tag == 0x7FE00010:  # encapsulated pixel data: fragments are opaque bytes
                self._need(pos, int(length), "pixel data fragment")
                pos += int(length)
            else:
                self._need(pos, int(length), "sequence item")
                pos = self.elements(pos, pos + int(length), depth)


def _meta_end(data: bytes) -> int:
    """Offset of the first data-set byte after the preamble and the group 0002 (explicit VR LE)."""
    walker = _Walker(data, explicit=True, little=True)
    pos = 132 if data[128:132] == b"DICM" else 0
    while pos + 8 <= len(data) and walker._tag(pos) >> 16 == 0x0002:
        vr = data[pos + 4:pos + 6]
        if vr in _LONG_VRS:
            walker._need(pos, 12, "file meta element")
            length, pos = walker._u32(pos + 8), pos + 12
        else:
            (length,) = struct.unpack_from("<H", data, pos + 6)
            pos += 8
        walker._need(pos, int(length), "file meta element value")
        pos += int(length)
    return pos


def _check_stream(name: str, data: bytes, ds: Dataset, syntax: str) -> None:
    if syntax in _DEFLATED:
        return  # pydicom inflated it; a truncated deflate stream fails there
    implicit, little = ds.original_encoding
    try:
        start = _meta_end(data)
        walker = _Walker(data, explicit=not implicit, little=little is not False)
        walker.elements(start, len(data), 0)
    except (_Truncated, struct.error) as exc:
        raise _refuse(name, f"truncated or incomplete DICOM file ({exc}); the file is cut short or "
                      "damaged") from None


def _int(ds: Dataset, keyword: str, default: int | None = None) -> int | None:
    v: Any = ds.get(keyword, default)
    try:
        return None if v is None or v == "" else int(v)
    except (TypeError, ValueError):
        return None


def _check_pixels(name: str, ds: Dataset, syntax: str) -> None:
    if "PixelData" not in ds:
        return
    missing = [k for k in _IMAGE_REQUIRED if k not in ds]
    if missing:
        raise _refuse(name, f"image without {', '.join(missing)}")
    if syntax and syntax not in _NATIVE:
        return  # encapsulated (compressed): the fragment structure was checked by the walk
    rows, cols = _int(ds, "Rows"), _int(ds, "Columns")
    bits, samples = _int(ds, "BitsAllocated"), _int(ds, "SamplesPerPixel", 1)
    frames = _int(ds, "NumberOfFrames", 1)
    if None in (rows, cols, bits, samples, frames) or min(rows or 0, cols or 0, bits or 0, samples or 0,
                                                           frames or 0) < 1:
        raise _refuse(name, "image with a missing or non-positive Rows/Columns/BitsAllocated/"
                      "SamplesPerPixel/NumberOfFrames")
    expected = math.ceil((rows or 0) * (cols or 0) * (frames or 0) * (samples or 0) * (bits or 0) / 8)
    got = len(ds.PixelData)
    if not expected <= got <= expected + 1:
        raise _refuse(name, f"truncated or incomplete image: PixelData holds {got} bytes, Rows x Columns x "
                      f"NumberOfFrames x SamplesPerPixel x BitsAllocated/8 = {expected}")


def check_instance(name: str, data: bytes, ds: Dataset) -> None:
    """Refuse an uploaded file that is truncated, incomplete or of a modality the registry does not hold.

    Parameters
    ----------
    name
        The file's name in the upload (named in the error).
    data
        Its bytes as uploaded.
    ds
        The data set pydicom read from ``data``.

    Raises
    ------
    DicomInputError
        ``field="file"``, ``value=name``: the stream ends inside an element, an identifying attribute
        or ``Modality`` is missing, ``Modality`` is not in :data:`ACCEPTED_MODALITIES`, or the pixel
        data is shorter or longer than the image it declares.
    """
    syntax = str(getattr(ds, "file_meta", Dataset()).get("TransferSyntaxUID", ""))
    _check_stream(name, data, ds, syntax)
    missing = [k for k in _REQUIRED if not str(ds.get(k, "") or "").strip()]
    if missing:
        raise _refuse(name, f"DICOM file without {', '.join(missing)}",
                      "upload complete storage objects (PET/SPECT/CT/MR images, SEG, RTSTRUCT)")
    modality = str(ds.Modality).strip()
    if modality not in ACCEPTED_MODALITIES:
        raise _refuse(name, f"Modality {modality!r} is not one the registry holds (accepted: "
                      f"{', '.join(ACCEPTED_MODALITIES)})", "upload PET, SPECT/NM, CT, MR, SEG, RTSTRUCT "
                      "or RTDOSE objects")
    _check_pixels(name, ds, syntax)
