"""Regenerate ``src/redif/data/deid_basic_profile.yaml`` from the text of DICOM PS3.15 Annex E.

Input: the reStructuredText conversion of PS3.15 chapter E (Table E.1-1) published in the repository
``chsasank/dicom_standard`` (file ``source/part15/chapter_E.rst``, commit 2384a79, August 2020).
Only three columns are kept: the Basic Profile action, the Retain Patient Characteristics Option
and the Retain Longitudinal Temporal Information with Modified Dates Option.

Usage::

    python scripts/make_deid_basic_profile.py chapter_E.rst > src/redif/data/deid_basic_profile.yaml
"""

from __future__ import annotations

import re
import sys

import yaml
from pydicom.datadict import dictionary_keyword


def _rows(text: str) -> list[list[str]]:
    start = text.index("Application Level Confidentiality Profile Attributes")
    lines = text[start:].splitlines()
    rows: list[list[str]] = []
    cur: list[list[str]] | None = None
    begun = False
    for line in lines[1:]:
        s = line.strip()
        if s.startswith("+="):
            begun = True
            cur = []
            continue
        if not begun:
            continue
        if s.startswith("+-"):
            if cur:
                ncol = len(cur[0])
                rows.append(["".join(c[i] for c in cur).strip() for i in range(ncol)])
            cur = []
            continue
        if not s.startswith("|"):
            if s == "":
                continue
            break
        cells = [c.strip() for c in s.strip("|").split("|")]
        assert cur is not None
        cur.append(cells)
    return rows


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as fh:
        text = fh.read()
    out = []
    for r in _rows(text):
        name, tag, retired, _in_std, basic = r[0], r[1], r[2], r[3], r[4]
        pat_chars, long_mod = r[9], r[11]
        m = re.fullmatch(r"\(([0-9A-Fa-fx]{4}),([0-9A-Fa-fx]{4})\)", tag)
        entry: dict[str, object] = {"name": name, "tag": tag}
        if m and "x" not in tag.lower():
            value = int(m.group(1) + m.group(2), 16)
            entry["keyword"] = dictionary_keyword(value) if value else ""
        entry["basic"] = basic
        if pat_chars:
            entry["retain_patient_characteristics"] = pat_chars
        if long_mod:
            entry["retain_longitudinal_modified_dates"] = long_mod
        entry["retired"] = retired == "Y"
        out.append(entry)
    doc = {
        "source": (
            "DICOM PS3.15 Security and System Management Profiles, Annex E, Table E.1-1 "
            "(Application Level Confidentiality Profile Attributes), NEMA; transcribed from the "
            "reStructuredText conversion in github.com/chsasank/dicom_standard "
            "source/part15/chapter_E.rst (commit 2384a79, 2020-08-07)"
        ),
        "edition": (
            "DICOM PS3.15 as converted in August 2020 (2020b/2020c era; edition not printed in the copy)"
        ),
        "grade": "secondary",
        "columns": {
            "basic": (
                "Basic Profile action code (D, Z, X, K, C, U, or combinations X/Z, X/D, X/Z/D, X/Z/U*, Z/D)"
            ),
            "retain_patient_characteristics": "Retain Patient Characteristics Option action",
            "retain_longitudinal_modified_dates": (
                "Retain Longitudinal Temporal Information with Modified Dates Option action"
            ),
        },
        "attributes": out,
    }
    yaml.safe_dump(doc, sys.stdout, sort_keys=False, allow_unicode=True, width=110)


if __name__ == "__main__":
    main()
