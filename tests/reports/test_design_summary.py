"""Issue 15 item 5: the protocol design summary (JSON and PDF) states assumptions, references and the
software versions. typst writes text as glyph ids and pypdf is not installed, so the PDF is checked
through its document metadata (title, author, keywords with the versions) and determinism, as in
tests/reports/test_reports.py."""

from __future__ import annotations

import contextlib
import zlib
from datetime import datetime

import numpy as np
import pytest
import scipy

from redif import __version__
from redif.design.bop2 import bop2_design
from redif.design.borrowing import borrowing_design
from redif.design.mixture import BetaMixture
from redif.design.predictive import predictive_design
from redif.errors import InputError
from redif.reports.design_summary import design_summary, design_summary_pdf


def _pdf_text(data: bytes) -> str:
    out = [data.decode("latin-1")]
    pos = 0
    while (i := data.find(b"stream", pos)) != -1:
        j = data.find(b"endstream", i)
        with contextlib.suppress(zlib.error):
            out.append(zlib.decompress(data[i + 6 : j].strip(b"\r\n")).decode("latin-1"))
        pos = j + 9
    return "\n".join(out)


T = datetime(2026, 1, 2, 3, 4, 5)


def test_summary_states_assumptions_versions_references() -> None:
    """Issue 15: every summary names rates, Nmax, prior, looks, the stopping table, references, versions."""
    res = predictive_design(
        0.2, 0.4, 25, alpha=0.1, power=0.7, looks=[10, 15, 20], theta_t_grid=[0.85, 0.9]
    ).to_dict()
    s = design_summary("predictive", res, generated_at=T)
    text = " ".join(s["assumptions"])
    assert (
        "p0 = 0.2" in text and "Nmax = 25" in text and "Beta(0.2, 0.8)" in text and "10, 15, 20, 25" in text
    )
    assert s["software"] == {
        "redif": __version__,
        "python": s["software"]["python"],
        "numpy": np.__version__,
        "scipy": scipy.__version__,
    }
    assert s["tables"][0]["title"] == "Stopping table" and len(s["tables"][0]["rows"]) == 4
    assert any("Clin Trials 2008" in r for r in s["references"])
    b = design_summary("bop2", bop2_design(0.2, 0.4, 30, n_looks=3).to_dict(), generated_at=T)
    assert any("Stat Med 2017" in r for r in b["references"]) and "lambda" in b["method"]


def test_pdf_metadata_and_determinism() -> None:
    """Issue 15: the PDF carries the title and the redif/numpy/scipy versions; same inputs -> same bytes."""
    d = borrowing_design(
        BetaMixture.from_arrays([0.8, 0.2], [10, 1], [30, 1]), 15, 30, effect=0.3, p_control=[0.2, 0.3]
    )
    s = design_summary("borrow", d.to_dict(), generated_at=T)
    a = design_summary_pdf(s, generated_at=T)
    assert a.startswith(b"%PDF") and a == design_summary_pdf(s, generated_at=T)
    text = _pdf_text(a)
    assert "borrowing the control arm" in text
    assert f"numpy {np.__version__}" in text and f"scipy {scipy.__version__}" in text
    assert f"redif {__version__}" in text
    with_plot = design_summary_pdf(s, generated_at=T, plot_svg=SVG)
    assert with_plot.startswith(b"%PDF") and with_plot != a  # the figure is placed in the PDF


SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="100" height="50">'
    '<rect x="0" y="0" width="100" height="50" fill="red"/></svg>'
)


def test_unknown_kind() -> None:
    """Issue 15: an unknown design kind names the field."""
    with pytest.raises(InputError) as e:
        design_summary("simon", {})
    assert e.value.field == "kind"
