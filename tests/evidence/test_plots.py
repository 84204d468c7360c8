"""Forest and funnel plots: valid SVG/PNG files holding every study label; bad suffixes rejected.

Issue 10: the engine renders bytes (``forest_bytes``/``funnel_bytes``) and writes no file; the file
writer is :func:`redif.io.figures.write_plot`. ``forest_plot``/``funnel_plot`` below compose the two the
way the CLI does, so the file-level checks are unchanged.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from redif.errors import InputError
from redif.evidence.meta import PoolResult, SubgroupResult, pool_proportions, pool_subgroups
from redif.evidence.plots import forest_bytes, funnel_bytes
from redif.io.figures import check_plot_path, plot_format, write_plot

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_SVG_NS = "{http://www.w3.org/2000/svg}"

# Illustrative counts (not data): three groups, one with a single study.
EVENTS = [4, 5, 3, 4, 2, 11, 20]
TOTALS = [9, 5, 6, 10, 6, 28, 21]
LABELS = ["Alpha 2013", "Beta 2015", "Gamma 2019", "Delta 2019", "Epsilon 2022", "Zeta 2023", "Eta 2023"]
GROUPS = ["BRAF", "RAS", "other", "BRAF", "BRAF", "mixed", "BRAF"]


def forest_plot(result: PoolResult | SubgroupResult, path: Path, *, title: str | None = None) -> Path:
    out = check_plot_path(path)
    return write_plot(forest_bytes(result, plot_format(out), title=title), out)


def funnel_plot(result: PoolResult | SubgroupResult, path: Path, *, title: str | None = None) -> Path:
    out = check_plot_path(path)
    return write_plot(funnel_bytes(result, plot_format(out), title=title), out)


def test_engine_renders_bytes_and_refuses_unknown_format() -> None:
    """Issue 10: the engine returns SVG bytes (well-formed XML) and names its own field ``fmt`` for an
    unknown format (the PDF renderer is not offered)."""
    res = pool_proportions(EVENTS, TOTALS, LABELS)
    assert ET.fromstring(forest_bytes(res, "svg")).tag == f"{_SVG_NS}svg"
    assert funnel_bytes(res, "png").startswith(_PNG_MAGIC)
    with pytest.raises(InputError) as info:
        forest_bytes(res, "pdf")
    assert info.value.field == "fmt"


def _svg_texts(path: Path) -> str:
    root = ET.parse(path).getroot()  # raises if the SVG is not well-formed XML
    assert root.tag == f"{_SVG_NS}svg"
    return " ".join("".join(el.itertext()) for el in root.iter(f"{_SVG_NS}text"))


def test_forest_svg_has_every_label(tmp_path: Path) -> None:
    res = pool_proportions(EVENTS, TOTALS, LABELS)
    out = forest_plot(res, tmp_path / "forest.svg", title="Test forest")
    texts = _svg_texts(out)
    for label in LABELS:
        assert label in texts
    assert "Prediction interval" in texts and "Random-effects model (REML, PLO)" in texts
    assert "4/9" in texts and "Weight" in texts and "Test forest" in texts


def test_forest_png_valid(tmp_path: Path) -> None:
    res = pool_proportions(EVENTS, TOTALS, LABELS)
    out = forest_plot(res, tmp_path / "forest.png")
    data = out.read_bytes()
    assert data.startswith(_PNG_MAGIC) and len(data) > 5000


def test_forest_subgroups(tmp_path: Path) -> None:
    res = pool_subgroups(EVENTS, TOTALS, GROUPS, LABELS)
    texts = _svg_texts(forest_plot(res, tmp_path / "sub.svg"))
    for label in LABELS:
        assert label in texts
    for group in ("BRAF (k = 4)", "RAS (k = 1)", "Subtotal: BRAF", "Test for subgroup differences"):
        assert group in texts
    assert "Subtotal: RAS" not in texts  # a single study is not pooled


def test_forest_height_grows_with_k(tmp_path: Path) -> None:
    small = forest_plot(pool_proportions(EVENTS[:3], TOTALS[:3], LABELS[:3]), tmp_path / "a.svg")
    many = pool_proportions(EVENTS * 3, TOTALS * 3, [f"S{i}" for i in range(21)])
    big = forest_plot(many, tmp_path / "b.svg")

    def height(p: Path) -> float:
        return float(ET.parse(p).getroot().attrib["height"].rstrip("pt"))

    assert height(big) > height(small) + 18 * 14  # >= 14 pt per added study row


def test_forest_generic_measure(tmp_path: Path) -> None:
    from redif.evidence.meta import pool_generic

    res = pool_generic([0.1, -0.3, 0.5], [0.04, 0.09, 0.05], ["a1", "b2", "c3"])
    texts = _svg_texts(forest_plot(res, tmp_path / "gen.svg"))
    assert "a1" in texts and "effect size" in texts


@pytest.mark.parametrize("name", ["forest.pdf", "forest.jpg", "forest"])
def test_unknown_suffix_rejected(tmp_path: Path, name: str) -> None:
    res = pool_proportions(EVENTS, TOTALS, LABELS)
    with pytest.raises(InputError, match="unknown plot file type"):
        forest_plot(res, tmp_path / name)
    with pytest.raises(InputError, match="unknown plot file type"):
        funnel_plot(res, tmp_path / name)


def test_missing_folder_rejected(tmp_path: Path) -> None:
    res = pool_proportions(EVENTS, TOTALS, LABELS)
    with pytest.raises(InputError, match="folder"):
        forest_plot(res, tmp_path / "nope" / "f.svg")


def test_funnel(tmp_path: Path) -> None:
    res = pool_proportions(EVENTS, TOTALS, LABELS)
    svg = funnel_plot(res, tmp_path / "funnel.svg")
    assert "Standard error" in _svg_texts(svg)
    assert funnel_plot(res, tmp_path / "funnel.png").read_bytes().startswith(_PNG_MAGIC)
    sub = pool_subgroups(EVENTS, TOTALS, GROUPS, LABELS)
    assert funnel_plot(sub, tmp_path / "funnel2.svg").exists()


def test_funnel_needs_two(tmp_path: Path) -> None:
    res = pool_proportions([3], [10], ["only"], method="EE")
    with pytest.raises(InputError, match="at least 2"):
        funnel_plot(res, tmp_path / "f.svg")


def _text_boxes(fig: object) -> list[tuple[str, object]]:
    from matplotlib.text import Text

    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    boxes = []
    for t in fig.findobj(Text):  # type: ignore[attr-defined]
        if t.get_text().strip() and t.get_visible():
            boxes.append((t.get_text(), t.get_window_extent(renderer)))
    return boxes


@pytest.mark.parametrize("subgroups", [False, True])
def test_forest_text_does_not_overlap(subgroups: bool) -> None:
    """Rendered text boxes (Agg renderer) never overlap one another, and the label/count columns end left
    of the plotting area while the estimate/weight columns start right of it -- with a long label too."""
    import matplotlib.pyplot as plt

    from redif.evidence import plots

    labels = [*LABELS[:-1], "An unusually long study label for a trial arm 2024 (BRAF V600E cohort)"]
    res = (pool_subgroups(EVENTS, TOTALS, GROUPS, labels) if subgroups
           else pool_proportions(EVENTS, TOTALS, labels))
    with plt.rc_context(plots._STYLE):
        fig = plots._forest_figure(res, "A title")
        fig.canvas.draw()
        boxes = _text_boxes(fig)
        axes_box = fig.axes[0].get_window_extent()
        for i, (text_a, a) in enumerate(boxes):
            for text_b, b in boxes[i + 1:]:
                assert not a.overlaps(b), (text_a, text_b)
        for text, box in boxes:
            if box.y0 < axes_box.y0 - 1:  # tick labels and the axis label, below the plot
                continue
            inside = box.x1 > axes_box.x0 + 1 and box.x0 < axes_box.x1 - 1
            if inside:
                # only the heterogeneity / subgroup-test notes (on a white box) and the title may cross
                assert text.startswith(("Heterogeneity", "Test for subgroup", "A title")), text
        plt.close(fig)


def test_p_value_text_has_no_double_operator() -> None:
    """A very small p prints as 'p < 0.001' (never 'p = < 0.001'); others as 'p = 0.xxx'."""
    from redif.evidence.plots import _fmt_p

    assert _fmt_p(1e-9) == "p < 0.001"
    assert _fmt_p(0.0343) == "p = 0.034"
