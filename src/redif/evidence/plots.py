"""Forest and funnel plots of pooled results (matplotlib, Agg backend; SVG or PNG by file suffix).

The forest plot follows the layout of metafor's ``forest()``/meta's ``forest.meta``: one row per study
with its label, events/total, a square sized by weight on its estimate with the confidence interval,
the estimate with CI as text and the weight in percent; a diamond for each pooled estimate (and each
subgroup's), a bar for the prediction interval, heterogeneity statistics and, for subgroups, the test of
subgroup differences. Text stays text in SVG output (``svg.fonttype = "none"``) so that it is searchable.

These functions return the rendered bytes (SVG or PNG) and do no file I/O; the CLI writes them with
:func:`redif.io.figures.write_plot`, the web sends them.

References
----------
.. [1] Viechtbauer W. Conducting meta-analyses in R with the metafor package. J Stat Softw 2010;36(3).
.. [2] Lewis S, Clarke M. Forest plots: trying to see the wood and the trees. BMJ 2001;322:1479-1480.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import Polygon
from matplotlib.textpath import TextToPath

from redif.errors import InputError
from redif.evidence.meta import PoolResult, StudyRow, SubgroupResult

__all__ = ["NO_OVERALL_NOTE", "PLOT_FORMATS", "forest_bytes", "funnel_bytes"]

#: Formats the plots render to.
PLOT_FORMATS = ("svg", "png")
_TEXT_TO_PATH = TextToPath()
_PROPORTION_MEASURES = {"PR", "PLO", "PAS", "PFT"}
_ROW_IN = 0.26  # height of one row, inches
_FONT = 9.0
_STYLE: Any = {  # matplotlib types rc keys as a Literal union
    "font.family": "DejaVu Sans",
    "font.size": _FONT,
    "svg.fonttype": "none",
    "svg.hashsalt": "redif",
    "axes.linewidth": 0.8,
    "figure.dpi": 100,
    "savefig.dpi": 200,
}
_SCALE_NAMES = {
    "PLO": "logit proportion",
    "PR": "proportion",
    "PAS": "arcsine-transformed proportion",
    "PFT": "Freeman-Tukey double-arcsine proportion",
    "GEN": "effect size",
}


def _render(fig: Figure, fmt: str) -> bytes:
    """Render ``fig`` in ``fmt`` (call inside ``plt.rc_context(_STYLE)``) and close it."""
    buf = io.BytesIO()
    meta: dict[str, str | None] = (
        {"Date": None, "Creator": "redif"} if fmt == "svg" else {"Software": "redif"})
    try:
        fig.savefig(buf, format=fmt, metadata=meta)
    finally:
        plt.close(fig)
    return buf.getvalue()


def _check_format(fmt: str) -> str:
    f = str(fmt).lower().lstrip(".")
    if f not in PLOT_FORMATS:
        raise InputError("unknown plot format", field="fmt", value=fmt,
                         remedy=f"use one of: {', '.join(PLOT_FORMATS)}")
    return f


def _fmt(x: float, digits: int = 2) -> str:
    return "NA" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def _fmt_p(p: float) -> str:
    if p is None or not math.isfinite(p):
        return "p = NA"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


@dataclass(frozen=True)
class _Row:
    kind: str  # "header", "study", "pooled", "pi", "text", "blank"
    label: str = ""
    counts: str = ""
    est: float = float("nan")
    lo: float = float("nan")
    hi: float = float("nan")
    weight: float = float("nan")
    bold: bool = False
    note: str = ""


def _study_rows(studies: Sequence[StudyRow], weights: dict[str, float] | None = None) -> list[_Row]:
    rows = []
    for s in studies:
        counts = f"{s.events}/{s.total}" if s.events is not None and s.total is not None else ""
        weight = weights.get(s.label, s.weight_percent) if weights else s.weight_percent
        rows.append(_Row("study", s.label, counts, s.estimate, s.ci_lower, s.ci_upper, weight))
    return rows


def _est_text(r: _Row) -> str:
    return f"{_fmt(r.est)} [{_fmt(r.lo)}, {_fmt(r.hi)}]"


def _model_name(res: PoolResult) -> str:
    if res.k == 1:
        return "Single study"
    if res.method == "EE":
        return f"Common-effect model ({res.measure})"
    return f"Random-effects model ({res.method}, {res.measure}{', Knapp-Hartung' if res.knha else ''})"


def _pooled_rows(res: PoolResult, label: str, *, bold: bool) -> list[_Row]:
    rows = [_Row("pooled", label, f"{sum(s.events or 0 for s in res.studies)}/"
                 f"{sum(s.total or 0 for s in res.studies)}" if res.studies and res.studies[0].total
                 is not None else "", res.estimate, res.ci_lower, res.ci_upper, 100.0 if bold else
                 float("nan"), bold=bold)]
    if res.k >= 2 and math.isfinite(res.pi_lower) and math.isfinite(res.pi_upper):
        rows.append(_Row("pi", "Prediction interval", "", res.estimate, res.pi_lower, res.pi_upper))
    if res.k >= 2:
        rows.append(_Row("text", note=(
            f"Heterogeneity: I\u00b2 = {_fmt(res.i2, 1)}%, \u03c4\u00b2 = {_fmt(res.tau2, 3)}, "
            f"Q = {_fmt(res.q, 2)} (df = {res.q_df}, {_fmt_p(res.q_p)})")))
    return rows


#: Drawn instead of the overall diamond when the subgroups must not be pooled together.
NO_OVERALL_NOTE = "No overall pool: the groups use different definitions of restored uptake"


def _layout(result: PoolResult | SubgroupResult, show_overall: bool = True) -> tuple[list[_Row], PoolResult]:
    rows: list[_Row] = [_Row("header")]
    if isinstance(result, SubgroupResult):
        overall = result.overall
        # weights of the overall model (as R meta's forest does), so that they add up to 100% overall
        labels = [s.label for s in overall.studies]
        weights = ({s.label: s.weight_percent for s in overall.studies}
                   if len(set(labels)) == len(labels) else None)
        for name, sub in result.subgroups.items():
            rows.append(_Row("text", label=f"{name} (k = {sub.k})", bold=True))
            rows.extend(_study_rows(sub.studies, weights))
            if sub.k >= 2:
                rows.extend(_pooled_rows(sub, f"Subtotal: {name}", bold=False))
            rows.append(_Row("blank"))
        if show_overall:
            rows.extend(_pooled_rows(overall, _model_name(overall), bold=True))
        else:
            rows.append(_Row("text", note=NO_OVERALL_NOTE))
        tb = result.test_between
        rows.append(_Row("text", note=(
            f"Test for subgroup differences: Q = {_fmt(tb.q, 2)}, df = {tb.df}, {_fmt_p(tb.p)}")))
    else:
        overall = result
        rows.extend(_study_rows(result.studies))
        rows.append(_Row("blank"))
        rows.extend(_pooled_rows(result, _model_name(result), bold=True))
    return rows, overall


def _x_limits(rows: Sequence[_Row], proportion: bool) -> tuple[float, float]:
    if proportion:
        return 0.0, 1.0
    vals = [v for r in rows if r.kind in ("study", "pooled", "pi") for v in (r.lo, r.hi) if math.isfinite(v)]
    if not vals:
        return -1.0, 1.0
    lo, hi = min(vals), max(vals)
    pad = 0.05 * (hi - lo or 1.0)
    return lo - pad, hi + pad


def _char_in(text: str, *, bold: bool = True, size: float = _FONT) -> float:
    """Rendered width of ``text`` in inches (measured on the glyph outlines, bold by default: the widest)."""
    if not text:
        return 0.0
    prop = FontProperties(family=_STYLE["font.family"], size=size, weight="bold" if bold else "normal")
    width_pt, _, _ = _TEXT_TO_PATH.get_text_width_height_descent(text, prop, ismath=False)
    return float(width_pt) / 72.0


def forest_bytes(result: PoolResult | SubgroupResult, fmt: str = "svg", *, title: str | None = None,
                 show_overall: bool = True) -> bytes:
    """Draw a forest plot of ``result`` and return it rendered as ``fmt`` (``"svg"`` or ``"png"``).

    Parameters
    ----------
    result
        A pooled result (:func:`redif.evidence.meta.pool_proportions`) or a subgroup analysis
        (:func:`redif.evidence.meta.pool_subgroups`, drawn as one block per subgroup with its own diamond,
        then the overall diamond and the test of subgroup differences).
    fmt
        ``"svg"`` (text stays text) or ``"png"``.
    title
        Optional title above the plot.
    show_overall
        ``False`` (subgroup analyses only): leave out the overall diamond and its reference line, and say
        why (:data:`NO_OVERALL_NOTE`) -- for groups that use different definitions of restored uptake.

    Raises
    ------
    InputError
        For another format (field ``fmt``).
    """
    f = _check_format(fmt)
    with plt.rc_context(_STYLE):
        return _render(_forest_figure(result, title, show_overall), f)


def _forest_figure(result: PoolResult | SubgroupResult, title: str | None,
                   show_overall: bool = True) -> Figure:
    """Build the forest plot figure (call inside ``plt.rc_context(_STYLE)``)."""
    show_overall = show_overall or not isinstance(result, SubgroupResult)
    rows, overall = _layout(result, show_overall)
    proportion = overall.measure.upper() in _PROPORTION_MEASURES
    xlo, xhi = _x_limits(rows, proportion)
    n = len(rows) + 1  # + axis row
    label_w = max(2.2, max((_char_in(r.label) for r in rows if r.kind != "text" or r.bold),
                           default=1.0) + 0.2)
    note_w = max((_char_in(r.note, bold=False, size=_FONT - 1) for r in rows if r.note), default=0.0)
    est_texts = [_est_text(r) for r in rows if r.kind in ("study", "pooled", "pi")]
    counts_w = max(0.9, max((_char_in(r.counts) for r in rows), default=0.0) + 0.25)
    est_w = max(1.55, max((_char_in(t) for t in est_texts), default=0.0) + 0.2)
    plot_w, weight_w = 3.4, 0.7
    margin = 0.15
    width = max(label_w + counts_w + plot_w + est_w + weight_w, note_w + 0.4) + 2 * margin
    height = n * _ROW_IN + (0.45 if title else 0.15) + 0.55
    fig: Figure = plt.figure(figsize=(width, height))
    bottom = 0.55 / height
    top = 1.0 - (0.45 if title else 0.15) / height
    left = margin + label_w + counts_w
    ax: Axes = fig.add_axes((left / width, bottom, plot_w / width, top - bottom))
    ax.set_xlim(xlo, xhi)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.set_yticks([])
    ax.tick_params(axis="x", labelsize=_FONT - 1)
    ax.set_xlabel("Proportion" if proportion else _SCALE_NAMES.get(overall.measure, "Estimate"),
                  fontsize=_FONT)
    trans = ax.get_yaxis_transform()  # x in axes fraction, y in data
    x_label = -(left - margin) / plot_w
    x_counts = -(counts_w * 0.15) / plot_w
    x_est = 1.0 + 0.12 / plot_w
    x_weight = 1.0 + (est_w + weight_w - 0.05) / plot_w
    max_w = max((r.weight for r in rows if r.kind == "study" and math.isfinite(r.weight)), default=1.0)
    if show_overall:
        ax.axvline(overall.estimate, color="0.55", lw=0.7, ls=(0, (3, 3)), zorder=0)
    for y, r in enumerate(rows):
        weight = "bold" if r.bold or r.kind == "header" else "normal"
        if r.kind == "header":
            ci_head = f"Estimate [{overall.level:g}% CI]"
            for x, text, ha in ((x_label, "Study", "left"), (x_counts, "Events/Total", "right"),
                                (x_est, ci_head, "left"), (x_weight, "Weight", "right")):
                ax.text(x, y, text, transform=trans, ha=ha, va="center", fontweight="bold",
                        clip_on=False)
            continue
        if r.kind == "text":
            if r.label:
                ax.text(x_label, y, r.label, transform=trans, ha="left", va="center",
                        fontweight=weight, clip_on=False)
            if r.note:
                ax.text(x_label + 0.15 / plot_w, y, r.note, transform=trans, ha="left", va="center",
                        fontsize=_FONT - 1, style="italic", clip_on=False, zorder=4,
                        bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5})
            continue
        if r.kind == "blank":
            continue
        ax.text(x_label, y, r.label, transform=trans, ha="left", va="center", fontweight=weight,
                clip_on=False, style="italic" if r.kind == "pi" else "normal")
        if r.counts:
            ax.text(x_counts, y, r.counts, transform=trans, ha="right", va="center", fontweight=weight,
                    clip_on=False)
        if r.kind == "study":
            ax.plot([max(r.lo, xlo), min(r.hi, xhi)], [y, y], color="black", lw=0.9,
                    solid_capstyle="butt")
            size = 10.0 + 110.0 * (r.weight / max_w if math.isfinite(r.weight) and max_w > 0 else 0.3)
            ax.scatter([r.est], [y], s=size, marker="s", color="0.2", zorder=3, linewidths=0)
            ax.text(x_weight, y, f"{_fmt(r.weight, 1)}%", transform=trans, ha="right", va="center",
                    clip_on=False)
        elif r.kind == "pooled":
            h = 0.34
            colour = "0.15" if r.bold else "0.45"
            ax.add_patch(Polygon([(r.lo, y), (r.est, y - h), (r.hi, y), (r.est, y + h)], closed=True,
                                 facecolor=colour, edgecolor=colour, zorder=3))
            if r.bold:
                ax.text(x_weight, y, "100%", transform=trans, ha="right", va="center", fontweight="bold",
                        clip_on=False)
        elif r.kind == "pi":
            ax.plot([r.lo, r.hi], [y, y], color="0.35", lw=2.2, solid_capstyle="butt")
            ax.plot([r.lo, r.lo], [y - 0.18, y + 0.18], color="0.35", lw=1.0)
            ax.plot([r.hi, r.hi], [y - 0.18, y + 0.18], color="0.35", lw=1.0)
        if r.kind in ("study", "pooled", "pi"):
            ax.text(x_est, y, _est_text(r), transform=trans, ha="left", va="center", fontweight=weight,
                    clip_on=False)
    if title:
        fig.suptitle(title, x=0.2 / width, ha="left", y=1.0 - 0.12 / height, va="top",
                     fontsize=_FONT + 2, fontweight="bold")
    return fig


def funnel_bytes(result: PoolResult | SubgroupResult, fmt: str = "svg", *, title: str | None = None) -> bytes:
    """Funnel plot: each study's effect on the analysis scale against its standard error (inverted axis),
    the pooled estimate and the pseudo 95% confidence region mu +/- 1.96 SE.

    Parameters
    ----------
    result
        A pooled result; for a subgroup analysis the overall model is drawn.
    fmt
        ``"svg"`` or ``"png"``.
    title
        Optional title.

    Raises
    ------
    InputError
        For another format, or fewer than 2 studies.
    """
    f = _check_format(fmt)
    res = result.overall if isinstance(result, SubgroupResult) else result
    if len(res.studies) < 2:
        raise InputError("a funnel plot needs at least 2 studies", field="studies", value=len(res.studies))
    yi = [s.yi for s in res.studies]
    se = [math.sqrt(s.vi) for s in res.studies]
    se_max = max(se) * 1.08
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(5.2, 4.4))
        ax.fill([res.mu - 1.96 * se_max, res.mu, res.mu + 1.96 * se_max], [se_max, 0.0, se_max],
                color="0.93", edgecolor="0.6", lw=0.7, zorder=0)
        ax.axvline(res.mu, color="0.3", lw=0.9)
        ax.scatter(yi, se, s=26, color="0.15", zorder=3)
        ax.set_ylim(se_max, 0.0)
        ax.set_ylabel("Standard error")
        ax.set_xlabel(f"{_SCALE_NAMES.get(res.measure, 'Estimate').capitalize()} ({res.measure})")
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        if title:
            ax.set_title(title, fontsize=_FONT + 1, fontweight="bold", loc="left")
        fig.tight_layout()
        return _render(fig, f)
