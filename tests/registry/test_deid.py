"""DICOM de-identification (PS3.15 Annex E basic profile + Retain Longitudinal Modified Dates + Retain
Patient Characteristics) and HIPAA Safe Harbor exports.

Corpus: ``dicom_corpus.make_pet_series`` (synthetic; every profile attribute pydicom can create holds
an identifying value). Expected results follow from the profile's action codes in
``src/redif/data/deid_basic_profile.yaml`` (PS3.15 Table E.1-1) and from closed-form arithmetic
(interval = 24.5 h; decay factor exp(-ln2 t / T1/2)).
"""

from __future__ import annotations

import io
import math
import re
from datetime import date, datetime, timedelta

import numpy as np
import pydicom
import pytest
from dicom_corpus import ACQUISITION, INJECTION, KEPT, WEIGHT_KG, make_pet_series  # type: ignore[import-not-found]
from pydicom.dataset import Dataset

from redif.dosimetry.nuclides import get_nuclide
from redif.registry import deid
from redif.registry.deid import basic_profile_rules, effective_action

KEY = b"k" * 32
SHIFT = -1234


def _walk(ds: Dataset):  # type: ignore[no-untyped-def]
    for elem in ds:
        yield elem
        if elem.VR == "SQ":
            for item in elem.value:
                yield from _walk(item)


@pytest.fixture(scope="module")
def corpus():  # type: ignore[no-untyped-def]
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c = make_pet_series(3)
    before = [pydicom.dcmread(io.BytesIO(b)) for b in c.files]
    after = [
        deid.deidentify_dataset(
            pydicom.dcmread(io.BytesIO(b)), pseudonym="A-0007", shift_days=SHIFT, uid_key=KEY
        )
        for b in c.files
    ]
    return c, before, after


def test_profile_file_is_sourced() -> None:
    from redif.data import load_yaml

    doc = load_yaml("deid_basic_profile.yaml")
    assert "PS3.15" in doc["source"] and doc["edition"] and doc["grade"] in ("primary", "secondary")
    rules = basic_profile_rules()
    assert len(rules) > 400
    assert effective_action(rules[0x00100010]) == "Z"  # PatientName, basic Z
    assert effective_action(rules[0x00101030]) == "K"  # PatientWeight kept by the option
    assert effective_action(rules[0x00080020]) == "C"  # StudyDate modified by the option
    assert effective_action(rules[0x0020000E]) == "U"  # SeriesInstanceUID


def test_every_profile_attribute_is_removed_or_replaced(corpus) -> None:  # type: ignore[no-untyped-def]
    c, _before, after = corpus
    rules = basic_profile_rules()
    by_kw = {r.keyword: r for r in rules.values() if r.keyword}
    checked = 0
    for kw, original in c.originals.items():
        action = effective_action(by_kw[kw])
        ds = after[0]
        present = kw in ds
        value = ds.get(kw) if present else None
        if action == "X":
            assert not present, kw
        elif action == "Z":
            # Z: zero length, or a dummy value (Table E.1-1a); the registry pseudonym is that dummy
            assert (
                not present
                or value in ("", None, "A-0007")
                or (hasattr(value, "__len__") and len(value) == 0)
            ), kw
        elif action in ("D", "U"):
            assert not present or str(value) != str(original), kw
        elif action == "C":
            if ds[kw].VR == "DA":
                shifted = datetime.strptime(str(original), "%Y%m%d").date() + timedelta(days=SHIFT)
                assert value == shifted.strftime("%Y%m%d"), kw
            elif ds[kw].VR == "DT":
                assert str(value)[:8] != str(original)[:8] and str(value)[8:] == str(original)[8:], kw
            elif ds[kw].VR == "TM":
                assert str(value) == str(original), kw
            else:
                assert str(value) != str(original), kw
        elif action == "K":
            assert str(value) == str(original), kw
        checked += 1
    assert checked > 300
    for kw in c.sequences:
        action = effective_action(by_kw[kw])
        if action == "X":
            assert kw not in after[0], kw
        elif action in ("Z", "D"):
            assert kw not in after[0] or len(after[0][kw].value) == 0, kw
        else:
            assert len(after[0][kw].value) == 1, kw
    assert len(c.sequences) > 50
    # nothing identifying anywhere (sequences, private tags, file meta included)
    for ds in after:
        for elem in _walk(ds):
            if elem.VR != "SQ":
                assert "IDENT" not in str(elem.value), elem
        for elem in ds.file_meta:
            assert "IDENT" not in str(elem.value), elem
        assert ds.PatientName == "A-0007" and ds.PatientID == "A-0007"
        assert ds.PatientBirthDate == ""
        assert ds.PatientIdentityRemoved == "YES"
        assert ds.LongitudinalTemporalInformationModified == "MODIFIED"
        assert [i.CodeValue for i in ds.DeidentificationMethodCodeSequence] == ["113100", "113107", "113108"]
        assert not any(e.tag.is_private for e in ds)


def test_patient_characteristics_retained(corpus) -> None:  # type: ignore[no-untyped-def]
    _, _, after = corpus
    for kw, v in KEPT.items():
        assert str(after[0].get(kw)) == str(v)


def test_uids_remapped_consistently(corpus) -> None:  # type: ignore[no-untyped-def]
    _, before, after = corpus
    assert len({str(d.SeriesInstanceUID) for d in after}) == 1
    assert after[0].SeriesInstanceUID != before[0].SeriesInstanceUID
    assert after[0].StudyInstanceUID == deid.remap_uid(str(before[0].StudyInstanceUID), KEY)
    assert after[0].FrameOfReferenceUID == after[2].FrameOfReferenceUID
    assert len({str(d.SOPInstanceUID) for d in after}) == 3
    for d in after:
        assert re.fullmatch(r"2\.25\.\d{1,39}", str(d.SOPInstanceUID))
        assert d.file_meta.MediaStorageSOPInstanceUID == d.SOPInstanceUID
    # a different key gives different UIDs (not a plain hash of the UID)
    assert deid.remap_uid("1.2.3", KEY) != deid.remap_uid("1.2.3", b"other")


def _activity_concentration_at_injection(ds: Dataset) -> float:
    """Mean activity concentration (Bq/mL) decay-corrected to injection time, normalised by
    injected activity per body weight (an SUV-like quantity): uses pixels, rescale, interval, weight."""
    pix = ds.pixel_array.astype(float) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    t_h = deid.injection_to_scan_h(ds)
    assert t_h is not None
    lam = math.log(2) / get_nuclide("I-124").half_life_h
    injected = float(ds.RadiopharmaceuticalInformationSequence[0].RadionuclideTotalDose)
    return float(pix.mean() * math.exp(lam * t_h) / (injected / (float(ds.PatientWeight) * 1000.0)))


def test_intervals_and_quantification_survive(corpus) -> None:  # type: ignore[no-untyped-def]
    """Injection-to-scan interval is 24.5 h before and after (closed form from the corpus parameters);
    a decay-corrected, weight-normalised uptake value computed from the header and pixels agrees."""
    _, before, after = corpus
    expected_h = (ACQUISITION - INJECTION).total_seconds() / 3600
    for b, a in zip(before, after, strict=True):
        assert deid.injection_to_scan_h(b) == pytest.approx(expected_h, abs=1e-9)
        assert deid.injection_to_scan_h(a) == pytest.approx(expected_h, abs=1e-9)
        assert float(a.PatientWeight) == WEIGHT_KG
        assert _activity_concentration_at_injection(a) == _activity_concentration_at_injection(b)
        assert a.StudyDate != b.StudyDate
        assert np.array_equal(a.pixel_array, b.pixel_array)


def test_date_shift_is_per_patient_and_stable() -> None:
    s1 = deid.date_shift_days(KEY, "patient:1")
    assert s1 == deid.date_shift_days(KEY, "patient:1")
    assert -3650 <= s1 <= -365
    assert len({deid.date_shift_days(KEY, f"patient:{i}") for i in range(50)}) > 40


def test_unparseable_dates_are_emptied_not_leaked() -> None:
    ds = Dataset()
    ds.ContentDate = "2020-01-15"  # not DICOM DA format
    ds.InstanceCreationDate = "20200230"  # impossible date
    deid.deidentify_dataset(ds, pseudonym="X", shift_days=-10, uid_key=KEY)
    assert ds.ContentDate == "" and ds.get("InstanceCreationDate", "") == ""


def test_safe_harbor_export() -> None:
    """Ages over 89 aggregated, dates reduced to year / day offsets, pseudonyms and sites replaced,
    free text omitted (45 CFR 164.514(b)(2))."""
    patients = [
        {
            "pseudonym": "SECRET-1",
            "site": "HOSP",
            "sex": "female",
            "birth_year": 1930,
            "rai_refractory_criterion": "Jane Doe, 12 Main St",
            "progression_date": "2024-06-30",
            "records": {
                "courses": [{"drugs": "dabrafenib", "start_date": "2024-01-01", "days_before_uptake": 28}],
                "genotypes": [{"gene": "BRAF", "variant": "V600E"}],
                "responses": [{"overall_response": "SD"}, {"overall_response": "PR"}],
            },
        },
        {"pseudonym": "SECRET-2", "site": "HOSP", "sex": "male", "birth_year": 1960, "records": {}},
    ]
    rows = deid.safe_harbor_rows(patients, export_date=date(2025, 1, 1))
    assert rows[0]["birth_year"] is None and rows[0]["age_group_90_plus"] is True
    assert rows[0]["first_course_year"] is None  # a year that reveals an age over 89 is withheld too
    assert rows[1]["birth_year"] == 1960
    assert rows[0]["pfs_days_from_first_course"] == 181  # 2024-01-01 -> 2024-06-30
    assert rows[0]["best_overall_response"] == "PR"
    text = deid.safe_harbor_csv(patients, export_date=date(2025, 1, 1))
    assert "SECRET" not in text and "HOSP" not in text and "Jane" not in text and "2024-" not in text
    assert text.splitlines()[0].startswith("export_id,site,sex")
