"""Issue 16: the PDF report holds the patient's timeline, the same figure as the patient page (one engine
function, :func:`redif.response.timeline.patient_timeline`, drawn by
:func:`redif.response.timeline_plot.timeline_figure`), embedded by the typst template as SVG."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from redif.reports import pdf
from redif.response.timeline import patient_timeline
from redif.response.timeline_plot import figure_svg, timeline_figure

from .test_reports import PATIENT, _pdf_text


def test_payload_carries_the_page_figure() -> None:
    """Issue 16: the report's timeline SVG is byte-for-byte the figure of the engine (3 marks of PATIENT:
    the course 2021-01-04 to 2021-02-15, its rhTSH at start + 28 days = 2021-02-01 and the dated 5.5 GBq
    131I; the undated 3.7 GBq is named as not drawn)."""
    tl = patient_timeline(PATIENT)
    assert [(m.kind, m.date) for m in tl.marks] == [
        ("course", "2021-01-04"), ("tsh_stimulation", "2021-02-01"), ("administration", "2021-02-10")]
    section = pdf._payload(PATIENT, datetime(2026, 1, 2))["timeline"]
    assert section["svg"] == figure_svg(timeline_figure(tl), prefix="tl-").decode()
    assert section["n_marks"] == 3
    assert section["problems"] == ["administrations: a 131I administration has no date and is not drawn"]
    assert "Activity (GBq): 5.5" in section["svg"]


def test_template_embeds_the_timeline_and_the_pdf_holds_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 16: the typst template draws d.timeline.svg as an image under a "Timeline" heading; the PDF
    with the figure holds more drawing than the PDF of the same patient with the figure left out."""
    src = pdf.report_source()
    assert "== Timeline" in src and 'image(bytes(d.timeline.svg), format: "svg"' in src
    t = datetime(2026, 1, 2)
    with_fig = pdf.patient_report_pdf(PATIENT, generated_at=t)
    assert with_fig == pdf.patient_report_pdf(PATIENT, generated_at=t)  # still deterministic

    def no_figure(patient: dict[str, Any]) -> dict[str, Any]:
        return {"svg": None, "n_marks": 0, "problems": []}

    monkeypatch.setattr(pdf, "timeline_section", no_figure)
    without = pdf.patient_report_pdf(PATIENT, generated_at=t)
    assert len(_pdf_text(with_fig)) > len(_pdf_text(without)) + 2000
