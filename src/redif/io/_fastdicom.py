"""Minimal reader of selected elements of uncompressed little-endian DICOM files (speed path).

Parsing every element with pydicom dominates the loading time of a PET series (hundreds of files of
~100 elements each, most of which are never used). This reader walks the element headers of an
Explicit or Implicit VR Little Endian file, keeps the raw bytes of the requested top-level elements and
skips the rest (sequences of undefined length included). Anything else (other transfer syntaxes,
encapsulated pixel data, damaged files) returns ``None`` and the caller falls back to pydicom.

References
----------
DICOM PS3.5 §7.1 (data element encoding), §7.5 (nested data sets), §A.1-A.2 (transfer syntaxes);
PS3.10 §7.1 (file preamble and meta information).
"""

from __future__ import annotations

import struct
from pathlib import Path
from types import SimpleNamespace

from pydicom.datadict import tag_for_keyword

__all__ = ["RawDataset", "read_raw"]

_IMPLICIT_LE = "1.2.840.10008.1.2"
_EXPLICIT_LE = "1.2.840.10008.1.2.1"
_LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
_UNDEFINED = 0xFFFFFFFF
_ITEM = 0xFFFEE000
_ITEM_END = 0xFFFEE00D
_SEQ_END = 0xFFFEE0DD
_PIXEL_DATA = 0x7FE00010
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_TAG = struct.Struct("<HH")


class _Elem:
    __slots__ = ("value",)

    def __init__(self, value: bytes) -> None:
        self.value = value


class RawDataset:
    """The raw bytes of selected elements; mimics the bits of :class:`pydicom.Dataset` the reader uses."""

    def __init__(self, elements: dict[str, bytes], transfer_syntax: str) -> None:
        self._elements = elements
        self.file_meta = SimpleNamespace(TransferSyntaxUID=transfer_syntax)
        self.file_meta.get = lambda key, default=None: (  # type: ignore[attr-defined]
            transfer_syntax if key == "TransferSyntaxUID" else default)

    def get_item(self, keyword: str) -> _Elem | None:
        v = self._elements.get(keyword)
        return None if v is None else _Elem(v)

    def __contains__(self, keyword: object) -> bool:
        return keyword in self._elements


def _header(data: bytes, pos: int, explicit: bool) -> tuple[int, int, int]:
    """(tag, value length, header length) of the element at ``pos``."""
    group, elem = _TAG.unpack_from(data, pos)
    tag = (group << 16) | elem
    if tag in (_ITEM, _ITEM_END, _SEQ_END) or not explicit:
        return tag, _U32.unpack_from(data, pos + 4)[0], 8
    vr = data[pos + 4:pos + 6]
    if vr in _LONG_VRS:
        return tag, _U32.unpack_from(data, pos + 8)[0], 12
    return tag, _U16.unpack_from(data, pos + 6)[0], 8


def _skip_undefined(data: bytes, pos: int, explicit: bool, end_tag: int) -> int:
    """Position just after the delimiter ``end_tag``, skipping nested items and sequences."""
    n = len(data)
    while pos + 8 <= n:
        tag, length, hdr = _header(data, pos, explicit)
        pos += hdr
        if tag == end_tag:
            return pos
        if length == _UNDEFINED:
            pos = _skip_undefined(data, pos, explicit, _ITEM_END if tag == _ITEM else _SEQ_END)
        elif tag == _ITEM:
            pos += length
        else:
            pos += length
    raise ValueError("unterminated sequence")


def read_raw(path: Path, keywords: list[str]) -> RawDataset | None:
    """Raw bytes of the top-level elements named in ``keywords`` (``None``: use pydicom instead)."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if len(data) < 144 or data[128:132] != b"DICM":
        return None
    wanted = {int(t): k for k in keywords if (t := tag_for_keyword(k)) is not None}
    try:
        pos = 132
        ts = ""
        while pos + 8 <= len(data) and _U16.unpack_from(data, pos)[0] == 0x0002:
            tag, length, hdr = _header(data, pos, True)
            if tag == 0x00020010:
                ts = data[pos + hdr:pos + hdr + length].rstrip(b"\x00 ").decode("ascii")
            pos += hdr + length
        if ts not in (_IMPLICIT_LE, _EXPLICIT_LE):
            return None
        explicit = ts == _EXPLICIT_LE
        out: dict[str, bytes] = {}
        n = len(data)
        u16, u32, tagf = _U16.unpack_from, _U32.unpack_from, _TAG.unpack_from
        long_vrs = _LONG_VRS
        while pos + 8 <= n:  # the element loop, inlined: it runs ~100 times per file
            group, elem = tagf(data, pos)
            tag = (group << 16) | elem
            if not explicit or group == 0xFFFE:
                length = u32(data, pos + 4)[0]
                pos += 8
            elif data[pos + 4:pos + 6] in long_vrs:
                length = u32(data, pos + 8)[0]
                pos += 12
            else:
                length = u16(data, pos + 6)[0]
                pos += 8
            if length == _UNDEFINED:
                if tag == _PIXEL_DATA:
                    return None  # encapsulated (compressed) pixel data
                pos = _skip_undefined(data, pos, explicit, _SEQ_END)
                continue
            key = wanted.get(tag)
            if key is not None:
                out[key] = data[pos:pos + length]
            pos += length
            if tag == _PIXEL_DATA:
                break
        if pos > n:
            return None
    except (struct.error, ValueError, UnicodeDecodeError):
        return None
    return RawDataset(out, ts)
