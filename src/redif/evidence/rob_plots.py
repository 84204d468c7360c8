"""Risk-of-bias plots (matplotlib, Agg): a traffic-light plot (records x items) and a summary bar plot.

Like :func:`redif.evidence.plots.forest_bytes`, the functions return the rendered bytes (SVG with text
kept as text, or PNG) and do no file I/O; the CLI writes them with :func:`redif.io.figures.write_plot`.
The layout follows the robvis plots (McGuinness LA, Higgins JPT. Res Synth Methods 2021;12:55-61).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from redif.errors import InputError
from redif.evidence.risk_of_bias import Assessment, RobSummary, RobTool

__all__ = ["rob_summary_bytes", "traffic_light_bytes"]

_COLOURS = {"yes": "#4caf50", "no": "#e53935", "unclear": "#fdd835", "not_applicable": "#bdbdbd",
            "low": "#4caf50", "some_concerns": "#fdd835", "high": "#e53935", "not_assessed": "#bdbdbd"}
_SYMBOL = {"yes": "+", "no": "\u2212", "unclear": "?", "not_applicable": "", "low": "+",
           "some_concerns": "!", "high": "\u2212", "not_assessed": ""}
_STYLE: Any = {"font.family": "DejaVu Sans", "font.size": 8.0, "svg.fonttype": "none",
               "svg.hashsalt": "redif"}


def _render(fig: Any, fmt: str) -> bytes:
    f = str(fmt).lower().lstrip(".")
    if f not in ("svg", "png"):
        plt.close(fig)
        raise InputError("unknown plot format", field="fmt", value=fmt, remedy="use svg or png")
    buf = io.BytesIO()
    meta: dict[str, str | None] = {"Date": None, "Creator": "redif"} if f == "svg" else {"Software": "redif"}
    try:
        fig.savefig(buf, format=f, metadata=meta, dpi=150)
    finally:
        plt.close(fig)
    return buf.getvalue()


def traffic_light_bytes(assessments: Sequence[Assessment], tool: RobTool, fmt: str = "svg") -> bytes:
    """One row per record, one column per item plus the overall judgement; colour and symbol per answer."""
    rows = list(assessments)
    if not rows:
        raise InputError("no assessments to plot", field="assessments")
    cols = [*tool.item_ids, "Overall"]
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(1.6 + 0.42 * len(cols), 0.8 + 0.28 * len(rows)))
        for y, a in enumerate(rows):
            answers = {i: ans for i, ans, _ in a.answers}
            for x, col in enumerate(cols):
                value = a.judgement if col == "Overall" else answers.get(col, "not_applicable")
                if a.judgement == "not_assessed":
                    value = "not_assessed"
                ax.scatter(x, y, s=110, color=_COLOURS[value], edgecolors="black", linewidths=0.4)
                ax.text(x, y, _SYMBOL[value], ha="center", va="center", fontsize=7)
        ax.set_xticks(range(len(cols)), cols)
        ax.set_yticks(range(len(rows)), [a.record + (f" (= {a.same_as})" if a.same_as else "") for a in rows])
        ax.set_xlim(-0.6, len(cols) - 0.4)
        ax.set_ylim(len(rows) - 0.5, -0.5)
        ax.xaxis.tick_top()
        for side in ("right", "bottom", "left", "top"):
            ax.spines[side].set_visible(False)
        ax.set_title(f"Risk of bias: {tool.name} (draft, unverified)", fontsize=8, pad=18)
        fig.tight_layout()
        return _render(fig, fmt)


def rob_summary_bytes(summary: RobSummary, tool: RobTool, fmt: str = "svg") -> bytes:
    """Per item (and overall), the share of records with each answer, as stacked horizontal bars."""
    labels = [*tool.item_ids, "Overall"]
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(6.5, 1.2 + 0.3 * len(labels)))
        for y, label in enumerate(labels):
            counts = summary.judgements if label == "Overall" else summary.items[label]
            total = sum(counts.values()) or 1
            left = 0.0
            for key, n in counts.items():
                share = n / total
                if share:
                    ax.barh(y, share, left=left, color=_COLOURS[key], edgecolor="white", label=key)
                    left += share
        handles, names = ax.get_legend_handles_labels()
        unique = dict(zip(names, handles, strict=True))
        ax.legend(unique.values(), [n.replace("_", " ") for n in unique], loc="upper center",
                  bbox_to_anchor=(0.5, -0.18), ncol=4, frameon=False)
        ax.set_yticks(range(len(labels)), labels)
        ax.set_ylim(len(labels) - 0.5, -0.5)
        ax.set_xlim(0, 1)
        ax.set_xlabel(f"share of records ({summary.n_records} appraisals, not-assessed ones in Overall only)")
        ax.set_title(f"Risk of bias summary: {tool.name} (draft, unverified)", fontsize=8)
        fig.tight_layout()
        return _render(fig, fmt)
