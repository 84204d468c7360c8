"""Issue 16 (item 3): no file or output of the project points outside the repository.

Every reference a reader follows must resolve inside the repository: a published source (PMID, DOI,
URL) or a project document (``docs/methods/...``). The checks:

* tracked text files (``git ls-files``; binary files skipped) do not mention a ``shared/`` path or the
  maintainers' notes by name (``RULES.md``, ``METHODS.md``, ``evidence.csv``: not part of the
  repository), an absolute ``/work/`` or ``/home/`` path,
  an absolute ``/tmp/`` path (documentation and code name a relative scratch folder instead), or a
  relative ``../`` path that leaves the repository when resolved from the file's folder;
* a rendered patient report does not: the typst template, the JSON payload the template prints (summary,
  tables, engine sections and their sources, the "Sources" list) and the inflated PDF streams.

Expected value: no match (closed form: the list of offending lines is empty). The patterns are checked
against known good and bad strings below, so the check cannot pass vacuously. This file is the only one
allowed to spell the patterns out.
"""

from __future__ import annotations

import contextlib
import importlib.util
import re
import subprocess
import zlib
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SELF = PurePosixPath("tests/test_self_contained.py")

# `shared/` as a path (start of a token, or after ../), never inside a URL or a word (e.g. "not_shared/").
_SHARED = re.compile(r"(?<![\w/.:-])shared/|\.\./shared\b")
# the maintainers' notes named without a path (a reader cannot open them either)
_NOTES = re.compile(r"\b(?:RULES|METHODS)\.md\b|\bevidence\.csv\b")
# absolute paths of this machine: /work/, /home/, /tmp/ at the start of a token (not inside a URL path)
_ABSOLUTE = re.compile(r"(?<![\w/.:~-])/(?:work|home|tmp)/")
# a relative path that climbs: ../ at the start of a token (not the ellipsis ".../")
_CLIMB = re.compile(r"(?<![\w.])((?:\.\./)+)([\w./*-]*)")

_BINARY_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".pdf", ".dcm", ".gz", ".nii", ".npz", ".npy", ".ico",
                    ".woff", ".woff2", ".ttf", ".otf", ".zip", ".sqlite", ".xlsx"}


def offending(text: str, where: PurePosixPath = PurePosixPath("x.md")) -> list[str]:
    """The mentions in ``text`` of a path outside the repository (``where``: the file's repository path)."""
    hits = [m.group(0) for pat in (_SHARED, _NOTES, _ABSOLUTE) for m in pat.finditer(text)]
    for m in _CLIMB.finditer(text):
        depth = m.group(1).count("../")
        if depth > len(where.parent.parts):  # climbs above the repository root
            hits.append(m.group(0))
    return hits


def test_patterns_catch_outside_paths_and_allow_legitimate_text() -> None:
    """The patterns themselves (so the scan below cannot pass by matching nothing)."""
    bad = [
        "Harmonised minimum data set, shared/clinical/RULES.md §7",
        "see ``../shared/clinical/RULES.md``",
        "source: \"shared/dosimetry/METHODS.md §5\"",
        "run /work/venv/bin/python scripts/x.py",
        "$ redif phantom /tmp/ph",
        "(`shared/stats/METHODS.md`)",
        "not in RULES.md, graded unverified",
        "the 27 rows of evidence.csv",
    ]
    for s in bad:
        assert offending(s), s
    assert offending("[x](../../README.md)", PurePosixPath("docs/a.md"))  # leaves the repository
    good = [
        "https://www.oncologynurseadvisor.com/home/headlines/x/",
        "https://example.org/work/tmp/shared/file",
        "the tests/web/test_browser.py fixture; docs/methods/minimum-data-set.md",
        "error: --sites: .../site_B.csv: bad value",
        "not_shared/x and data-shared/x",
        "redif phantom ph --shape 40,40,32",
    ]
    for s in good:
        assert not offending(s), s
    assert not offending("[x](../methods/dosimetry.md)", PurePosixPath("docs/getting-started/x.md"))


def _tracked_text_files() -> list[tuple[PurePosixPath, str]]:
    names = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode().split("\0")
    out = []
    for name in filter(None, names):
        p = PurePosixPath(name)
        path = ROOT / name
        if p == SELF or "".join(p.suffixes[-1:]).lower() in _BINARY_SUFFIXES or not path.is_file():
            continue
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            continue
        out.append((p, data.decode("utf-8", errors="replace")))
    return out


def test_no_tracked_file_points_outside_the_repository() -> None:
    files = _tracked_text_files()
    assert len(files) > 100  # the scan really read the repository
    bad = []
    for p, text in files:
        for lineno, line in enumerate(text.splitlines(), 1):
            for hit in offending(line, p):
                bad.append(f"{p}:{lineno}: {hit!r} in {line.strip()[:120]!r}")
    assert not bad, f"{len(bad)} mentions of paths outside the repository:\n" + "\n".join(bad)


def _report_patient() -> dict[str, Any]:
    """The rich patient of the report tests (every record kind, engine sections available)."""
    path = ROOT / "tests" / "reports" / "test_reports.py"
    spec = importlib.util.spec_from_file_location("_report_tests", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return dict(mod.PATIENT)


def _strings(x: Any) -> list[str]:
    if isinstance(x, str):
        return [x]
    if isinstance(x, dict):
        return [s for v in x.values() for s in _strings(v)]
    if isinstance(x, list | tuple):
        return [s for v in x for s in _strings(v)]
    return []


def _inflated(data: bytes) -> str:
    out = [data.decode("latin-1")]
    pos = 0
    while (i := data.find(b"stream", pos)) != -1:
        j = data.find(b"endstream", i)
        with contextlib.suppress(zlib.error):
            out.append(zlib.decompress(data[i + 6 : j].strip(b"\r\n")).decode("latin-1"))
        pos = j + 9
    return "\n".join(out)


def test_rendered_report_points_nowhere_outside_the_repository() -> None:
    pytest.importorskip("typst")
    from redif.reports import pdf

    patient = _report_patient()
    t = datetime(2026, 1, 2)
    payload = pdf._payload(patient, t)
    assert payload["sources"], "the report has a Sources section"
    printed = _strings(payload)
    assert any("minimum data set" in s for s in payload["sources"])
    bad = [s for s in printed if offending(s)]
    bad += [f"template: {h}" for h in offending(pdf.report_source())]
    bad += [f"pdf: {h}" for h in offending(_inflated(pdf.patient_report_pdf(patient, generated_at=t)))]
    assert not bad, "the rendered report mentions paths outside the repository:\n" + "\n".join(bad)
