"""Synthetic DICOM corpus for de-identification tests, generated with pydicom from documented parameters.

``make_pet_series`` writes an I-124 PET series whose header carries an *identifying* value in every
attribute of PS3.15 Table E.1-1 that pydicom can create (text ``IDENT-<n>``, dates, times, UIDs),
plus private attributes, and realistic patient characteristics (sex, age, weight, size) that the Retain
Patient Characteristics Option keeps. Injection: 2020-01-15 08:30:00; acquisition: 2020-01-16
09:00:00 (24.5 h later); weight 70.5 kg; administered activity 74 MBq.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
from pydicom.datadict import dictionary_VR
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from redif.registry.deid import basic_profile_rules, effective_action

INJECTION = datetime(2020, 1, 15, 8, 30, 0)
ACQUISITION = datetime(2020, 1, 16, 9, 0, 0)
WEIGHT_KG = 70.5
ACTIVITY_BQ = 74e6
KEPT = {"PatientSex": "F", "PatientAge": "045Y", "PatientWeight": WEIGHT_KG, "PatientSize": 1.65}
_SKIP = {"PixelData", "SOPClassUID", "Modality", "SpecificCharacterSet"}
_TEXT_LEN = {"AE": 16, "CS": 16, "SH": 16, "LO": 64, "PN": 64, "ST": 1024, "LT": 1024, "UT": 1024, "UC": 1024}


@dataclass
class Corpus:
    files: list[bytes]
    originals: dict[str, object] = field(default_factory=dict)  # keyword -> identifying value set
    sequences: list[str] = field(default_factory=list)  # profile sequences given one item


def _value(vr: str, n: int, uid_root: str) -> object | None:
    if vr in _TEXT_LEN:
        s = f"IDENT-{n}"
        return f"IDENT_{n}" if vr == "CS" else s
    return {
        "DA": "20200115",
        "DT": "20200115103000",
        "TM": "103000",
        "UI": f"{uid_root}.{n}",
        "AS": "045Y",
        "IS": str(n),
        "DS": "1.5",
        "US": 7,
        "UL": 7,
        "SS": 7,
        "SL": 7,
        "FL": 1.5,
        "FD": 1.5,
    }.get(vr)


def make_pet_series(n_slices: int = 3, *, seed: int = 7) -> Corpus:
    rng = np.random.default_rng(seed)
    uid_root = "1.2.826.0.1.3680043.10.999"
    study_uid, series_uid, for_uid = generate_uid(), generate_uid(), generate_uid()
    corpus = Corpus(files=[])
    for i in range(n_slices):
        ds = Dataset()
        n = 0
        for tag, rule in basic_profile_rules().items():
            kw = rule.keyword
            if not kw or kw in _SKIP or kw in KEPT or tag >> 16 == 0x0002 or tag >> 16 == 0x0000:
                continue
            try:
                vr = dictionary_VR(tag)
            except KeyError:
                continue
            n += 1
            if vr == "SQ":
                item = Dataset()
                item.CodeValue = f"SEQ{n}"
                item.CodeMeaning = "synthetic sequence item"
                setattr(ds, kw, Sequence([item]))
                if i == 0:
                    corpus.sequences.append(kw)
                continue
            value = _value(vr, n, uid_root)
            if value is None:
                continue
            if effective_action(rule) == "K" and vr in _TEXT_LEN:
                value = f"KEEP{n}"
            setattr(ds, kw, value)
            if i == 0:
                corpus.originals[kw] = value
        for k, v in KEPT.items():
            setattr(ds, k, v)
        ds.PatientName = "Doe^Jane"
        ds.PatientID = "MRN-123456"
        ds.PatientBirthDate = "19750312"
        ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.128"  # PET Image Storage
        ds.SOPInstanceUID = f"{uid_root}.100.{i}"
        ds.StudyInstanceUID = study_uid
        ds.SeriesInstanceUID = series_uid
        ds.FrameOfReferenceUID = for_uid
        ds.Modality = "PT"
        ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = ACQUISITION.strftime("%Y%m%d")
        ds.SeriesTime = ds.AcquisitionTime = ACQUISITION.strftime("%H%M%S")
        ds.AcquisitionDateTime = ACQUISITION.strftime("%Y%m%d%H%M%S")
        ds.InstanceNumber = i + 1
        info = Dataset()
        info.RadiopharmaceuticalStartDateTime = INJECTION.strftime("%Y%m%d%H%M%S")
        info.RadiopharmaceuticalStartTime = INJECTION.strftime("%H%M%S")
        info.RadionuclideTotalDose = ACTIVITY_BQ
        code = Dataset()
        code.CodeValue = "C-114A5"
        code.CodingSchemeDesignator = "SRT"
        code.CodeMeaning = "^124^Iodine"
        info.RadionuclideCodeSequence = Sequence([code])
        ds.RadiopharmaceuticalInformationSequence = Sequence([info])
        ds.Units = "BQML"
        ds.DecayCorrection = "NONE"
        ds.Rows = ds.Columns = 8
        ds.BitsAllocated = ds.BitsStored = 16
        ds.HighBit = 15
        ds.PixelRepresentation = 0
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.RescaleSlope = 2.5
        ds.RescaleIntercept = 0
        ds.PixelData = rng.integers(0, 1000, size=(8, 8), dtype=np.uint16).tobytes()
        block = ds.private_block(0x0011, "ACME IDENT", create=True)
        block.add_new(0x01, "LO", "IDENT-PRIVATE Jane Doe")
        if i == 0:
            for kw in corpus.originals:
                if kw in ds and ds[kw].VR != "SQ":
                    corpus.originals[kw] = ds[kw].value
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = ds.SOPClassUID
        meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        meta.SourceApplicationEntityTitle = "IDENTSCANNER"
        ds.file_meta = meta
        buf = io.BytesIO()
        ds.save_as(buf, enforce_file_format=True)
        corpus.files.append(buf.getvalue())
    return corpus


def stored_dicom_files(data_dir: Path) -> list[Path]:
    """Every file under ``data_dir`` that is DICOM Part 10 (whatever the storage layout): what an upload
    left on disk."""
    out = []
    for f in data_dir.rglob("*"):
        if f.is_file() and f.stat().st_size > 132:
            with f.open("rb") as fh:
                fh.seek(128)
                if fh.read(4) == b"DICM":
                    out.append(f)
    return out
