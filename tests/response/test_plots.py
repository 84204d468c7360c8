"""Response plots: the figures carry the RECIST thresholds and data they claim to show."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from redif.errors import InputError
from redif.response.plots import save, sum_of_diameters_figure, tg_figure, waterfall_figure
from redif.response.recist import assess, case_from_dict
from redif.response.thyroglobulin import TgMeasurement, doubling_time


def test_waterfall_sorted_with_thresholds(tmp_path):
    """Bars from largest increase to largest decrease; horizontal lines at +20 % and -30 % (RECIST 1.1)."""
    fig = waterfall_figure(["a", "b", "c"], [-40.0, 15.0, -5.0], ["PR", "SD", "SD"])
    ax = fig.axes[0]
    heights = [p.get_height() for p in ax.patches[:3]]
    assert heights == [15.0, -5.0, -40.0]
    levels = {round(line.get_ydata()[0], 6) for line in ax.get_lines()}
    assert {20.0, -30.0, 0.0} <= levels
    out = save(fig, tmp_path / "w.svg")
    assert "<svg" in out.read_text()


def test_sum_of_diameters_figure(mk, tmp_path):
    res = assess(case_from_dict(mk({"T1": 100}, [{"target_mm": {"T1": 60}}, {"target_mm": {"T1": 72}}])))
    fig = sum_of_diameters_figure(res)
    ax = fig.axes[0]
    main = ax.get_lines()[0]
    assert list(main.get_ydata()) == [100.0, 60.0, 72.0]
    pr_line = ax.get_lines()[1]
    assert pr_line.get_ydata()[0] == pytest.approx(70.0)
    texts = [t.get_text() for t in ax.texts]
    assert texts == ["PR", "PD"]
    assert save(fig, tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"


def test_tg_figure_log_axis():
    series = [
        TgMeasurement(date(2024, 1, 1) + timedelta(days=d), v) for d, v in ((0, 1.0), (100, 2.0), (200, 4.0))
    ]
    fig = tg_figure(doubling_time(series))
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    assert "doubling time 100 d" in ax.get_title()


def test_bad_plot_inputs(tmp_path):
    """Issue 10: the writer (redif.io.figures.save_figure) names the field ``plot``; the CLI shows
    ``--plot``."""
    with pytest.raises(InputError) as info:
        save(waterfall_figure(["a"], [1.0]), tmp_path / "x.jpg")
    assert info.value.field == "plot"
    with pytest.raises(InputError):
        waterfall_figure([], [])


def test_waterfall_colour_without_treatment_start(mk):
    """Without treatment start there is no BOR: the bar takes the best time-point response by rank."""
    res = assess(case_from_dict(mk({"T1": 100}, [{"target_mm": {"T1": 90}}, {"target_mm": {"T1": 60}}])))
    assert res.best_response_confirmed is None
    assert res.waterfall_response.value == "PR"
    with_start = assess(case_from_dict(mk({"T1": 100}, [{"target_mm": {"T1": 60}}], start="2025-01-01")))
    assert with_start.waterfall_response.value == "SD"  # one PR, never confirmed -> SD
