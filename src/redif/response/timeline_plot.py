"""Drawing the patient timeline and the cohort figures (swimmer, waterfall) with matplotlib.

The figure data come from :func:`redif.response.timeline.patient_timeline` and
:mod:`redif.response.cohort`; the functions here only draw them (matplotlib's object API, no pyplot
state), in the Okabe-Ito palette (``data/palette.yaml``; Okabe and Ito 2008, Wong 2011), with markers
that differ in shape as well as colour. :func:`figure_svg` writes SVG with one ``<title>`` per mark (the
hover text of the page); :func:`figure_png` writes PNG (bytes through :func:`redif.io.figures.figure_bytes`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any
from xml.sax.saxutils import escape

import matplotlib as mpl
import matplotlib.dates as mdates
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FormatStrFormatter, LogLocator

from redif.data import load_yaml
from redif.io.figures import figure_bytes
from redif.response.cohort import CohortFigure
from redif.response.timeline import LANE_LABELS, Timeline

__all__ = ["TitledFigure", "figure_png", "figure_svg", "inline_svg", "swimmer_figure", "timeline_figure",
           "waterfall_figure"]


def _c(name: str) -> str:
    return str(load_yaml("palette.yaml")["colours"][name])


#: Colour of each category of the timeline's marks.
def _colours() -> dict[str, str]:
    return {
        "course": _c("blue"), "restored": _c("bluish_green"), "not_restored": _c("vermillion"),
        "not_recorded": _c("grey"), "post_therapy": _c("black"), "administration": _c("vermillion"),
        "previous": _c("grey"), "rhtsh": _c("sky_blue"), "withdrawal": _c("reddish_purple"),
        "CR": _c("bluish_green"), "PR": _c("sky_blue"), "SD": _c("yellow"), "NON-CR/NON-PD": _c("orange"),
        "PD": _c("vermillion"), "NE": _c("grey"), "Tg": _c("blue"), "TgAb": _c("orange"),
        "progression": _c("vermillion"), "dose_reduction": _c("black"),
    }


class TitledFigure:
    """A matplotlib figure and the hover text of its marks (``gid -> text``)."""

    def __init__(self, fig: Figure, titles: dict[str, str], description: str) -> None:
        self.fig = fig
        self.titles = titles
        self.description = description


def _x(d: str) -> float:
    date2num: Any = mdates.date2num
    return float(date2num(date.fromisoformat(d)))


def timeline_figure(tl: Timeline) -> TitledFigure:
    """Draw a patient timeline: one row per lane on a shared date axis, Tg/TgAb on a log axis beneath.

    Parameters
    ----------
    tl
        The figure data (:func:`redif.response.timeline.patient_timeline`).
    """
    col = _colours()
    lanes = [lane for lane in tl.lanes if lane != "lab"]
    has_lab = "lab" in tl.lanes
    height = 1.2 + 0.45 * max(len(lanes), 1) + (1.9 if has_lab else 0)
    fig = Figure(figsize=(8.0, height), layout="constrained")
    if has_lab:
        ax, axl = fig.subplots(2, 1, sharex=True, height_ratios=[max(len(lanes), 1), 3])
    else:
        ax, axl = fig.add_subplot(), None
    titles: dict[str, str] = {}
    y = {lane: len(lanes) - 1 - i for i, lane in enumerate(lanes)}
    seen: dict[str, int] = {}
    for i, m in enumerate(tl.marks):
        k = seen[m.lane] = seen.get(m.lane, -1) + 1
        dy = 0.22 if k % 2 == 0 else -0.45  # labels of a lane alternate above/below its marks
        gid = f"mark-{i}"
        titles[gid] = m.detail or m.label
        x = _x(m.date)
        artists: list[Any] = []
        if m.kind == "course":
            assert m.end is not None
            w = max(_x(m.end) - x, 1.0)
            artists += ax.barh(y["drug"], w, left=x, height=0.5, color=col["course"], alpha=0.85)
            artists.append(ax.text(x, y["drug"] + 0.3, m.label, fontsize=7, va="bottom"))
            if m.ongoing:
                artists.append(ax.annotate("", (x + w + 8, y["drug"]), (x + w, y["drug"]),
                                           arrowprops={"arrowstyle": "-|>", "color": col["course"]}))
        elif m.kind == "dose_reduction":
            artists += ax.plot([x], [y["drug"] - 0.05], "v", color=col["dose_reduction"], ms=6)
            artists.append(ax.text(x, y["drug"] - 0.3, " " + m.label, fontsize=6.5, va="top"))
        elif m.kind == "tsh_stimulation":
            c = col.get(m.category or "", col["rhtsh"])
            artists += ax.plot([x], [y["stimulation"]], "D", color=c, ms=7)
            artists.append(ax.text(x, y["stimulation"] + dy, m.label, fontsize=7, ha="center"))
        elif m.kind in ("uptake_scan", "post_therapy_scan"):
            c = col.get(m.category or "", col["not_recorded"])
            shape = "o" if m.kind == "uptake_scan" else "s"
            face = "white" if m.category == "not_restored" else c
            artists += ax.plot([x], [y["scan"]], shape, mec=c, mfc=face, mew=2, ms=8)
            if m.kind == "uptake_scan":  # post-therapy scans: shape, legend and hover text only
                artists.append(ax.text(x, y["scan"] + dy, m.label, fontsize=7, ha="center"))
        elif m.kind in ("administration", "prior_administration"):
            c = col["administration"] if m.kind == "administration" else col["previous"]
            artists += ax.plot([x], [y["131I"]], "^", color=c, ms=9)
            artists.append(ax.text(x, y["131I"] + dy, m.label, fontsize=7, ha="center"))
        elif m.kind == "response":
            c = col.get(m.category or "", col["NE"])
            artists.append(ax.text(x, y["response"], m.label, fontsize=7, ha="center", va="center",
                                   bbox={"boxstyle": "round,pad=0.25", "fc": c, "ec": "black", "lw": 0.5}))
        elif m.kind == "progression":
            artists += ax.plot([x], [y["response"] - 0.3], "X", color=col["progression"], ms=8)
            artists.append(ax.axvline(x, color=col["progression"], ls=":", lw=1))
            if axl is not None:
                artists.append(axl.axvline(x, color=col["progression"], ls=":", lw=1))
        for j, a in enumerate(artists):
            a.set_gid(f"{gid}-{j}")
    if axl is not None:
        for analyte, shape in (("Tg", "o-"), ("TgAb", "s--")):
            pts = [(i, m) for i, m in enumerate(tl.marks) if m.kind == "lab" and m.category == analyte
                   and (m.value or 0) > 0]
            if not pts:
                continue
            unit = pts[0][1].unit or ""
            axl.plot([_x(m.date) for _, m in pts], [m.value for _, m in pts], shape, color=col[analyte],
                     ms=5, label=f"{analyte} ({unit})" if unit else analyte)
            for i, m in pts:  # an invisible, hoverable point per value
                (pt,) = axl.plot([_x(m.date)], [m.value], "o", color=col[analyte], ms=5)
                pt.set_gid(f"mark-{i}-0")
                titles[f"mark-{i}"] = m.detail
        axl.set_yscale("log")
        axl.yaxis.set_major_locator(LogLocator(base=10))
        axl.yaxis.set_major_formatter(FormatStrFormatter("%g"))
        axl.set_ylabel("Tg / TgAb (log)", fontsize=8)
        axl.grid(alpha=0.3, which="major")
        if axl.get_legend_handles_labels()[0]:
            axl.legend(fontsize=7, loc="upper right", frameon=False)
        axl.xaxis_date()
    ax.set_yticks(list(y.values()), [LANE_LABELS[lane] for lane in y], fontsize=8)
    ax.set_ylim(-0.8, max(len(lanes), 1) - 0.2)
    ax.grid(axis="x", alpha=0.3)
    ax.xaxis_date()
    if tl.start and tl.end:
        pad = max((_x(tl.end) - _x(tl.start)) * 0.05, 10.0)
        ax.set_xlim(_x(tl.start) - pad, _x(tl.end) + pad)
    ax.set_title(f"Timeline {tl.subject}", fontsize=10, pad=20)
    keys = [("o", col["restored"], col["restored"], "uptake restored"),
            ("o", col["not_restored"], "white", "no uptake"), ("s", col["post_therapy"], col["post_therapy"],
                                                               "post-therapy scan"),
            ("^", col["administration"], col["administration"], "131I"),
            ("X", col["PD"], col["PD"], "progression")]
    ax.legend(handles=[Line2D([], [], ls="", marker=mk, mec=ec, mfc=fc, mew=1.5, label=lb)
                       for mk, ec, fc, lb in keys], fontsize=6.5, loc="lower left", ncols=5, frameon=False,
              bbox_to_anchor=(0, 1.0))
    desc = (f"Timeline of patient {tl.subject} from {tl.start or '?'} to {tl.end or '?'}: "
            + ", ".join(f"{sum(1 for m in tl.marks if m.lane == lane)} {LANE_LABELS[lane]}"
                        for lane in tl.lanes))
    return TitledFigure(fig, titles, desc)


def swimmer_figure(data: CohortFigure) -> TitledFigure:
    """Draw a swimmer plot (:func:`redif.response.cohort.swimmer_data`): one lane per patient, days from the
    first drug start."""
    n = len(data.lanes)
    fig = Figure(figsize=(8.0, 1.6 + 0.32 * max(n, 1)), layout="constrained")
    ax = fig.add_subplot()
    titles: dict[str, str] = {}
    ypos = {lane["lane"]: n - 1 - lane["lane"] for lane in data.lanes}
    # the ongoing arrow: 2 % of the axis
    arrow = 0.02 * max([int(lane["end_days"]) for lane in data.lanes] + [100])
    for lane in data.lanes:
        y = ypos[lane["lane"]]
        (ln,) = ax.plot([0, lane["end_days"]], [y, y], color="#bbbbbb", lw=1, zorder=1)
        ln.set_gid(f"lane-{lane['lane']}-0")
        titles[f"lane-{lane['lane']}"] = (f"{lane['patient']} (site {lane['site']}, {lane['genotype']}): "
                                          f"followed {lane['end_days']} days")
    # markers in neutral colours (white, yellow, black) so that they never read as a lane's category colour
    shapes = {"131I": ("^", "white"), "response": ("*", _c("yellow")),
              "progression": ("X", "black"), "censored": ("|", "black")}
    for i, m in enumerate(data.marks):
        gid = f"mark-{i}"
        y = ypos[m["lane"]]
        titles[gid] = f"{m['patient']}: {m['label']}"
        if m["kind"] == "drug":
            lane = data.lanes[m["lane"]]
            (a,) = ax.barh(y, max(m["end"], 1), left=0, height=0.55, color=lane["colour"], zorder=2)
        elif m["kind"] == "ongoing":
            a = ax.annotate("", (m["day"] + arrow, y), (m["day"], y),
                            arrowprops={"arrowstyle": "-|>", "color": "black", "lw": 1.2})
        else:
            shape, c = shapes[m["kind"]]
            (a,) = ax.plot([m["day"]], [y], shape, color=c, mec="black", mew=0.6,
                           ms=11 if shape == "*" else 8, zorder=3)
        a.set_gid(f"{gid}-0")
    ax.set_yticks(list(ypos.values()), [lane["patient"] for lane in data.lanes], fontsize=7)
    ax.set_xlabel("Days from first redifferentiation-drug start")
    ax.set_xlim(left=-5)
    ax.grid(axis="x", alpha=0.3)
    handles = [Line2D([], [], color=c, lw=6, label=k) for k, c in data.categories.items()]
    handles += [Line2D([], [], ls="", marker=s, color=c, mec="black", label=k)
                for k, (s, c) in (("first 131I", shapes["131I"]), ("first response", shapes["response"]),
                                  ("progression/death", shapes["progression"]),
                                  ("censored", shapes["censored"]))]
    handles.append(Line2D([], [], ls="", marker=r"$\rightarrow$", color="black", ms=10, label="ongoing"))
    ax.legend(handles=handles, fontsize=7, loc="lower right", frameon=True)
    ax.set_title(f"Swimmer plot ({n} patients, coloured by {data.colour_by.replace('_', ' ')})", fontsize=10)
    desc = f"Swimmer plot of {n} patients coloured by {data.colour_by}"
    return TitledFigure(fig, titles, desc)


def waterfall_figure(data: CohortFigure) -> TitledFigure:
    """Draw a waterfall plot (:func:`redif.response.cohort.waterfall_data`) with the RECIST levels."""
    n = len(data.lanes)
    fig = Figure(figsize=(max(5.0, 0.4 * n + 2.5), 4.2), layout="constrained")
    ax = fig.add_subplot()
    titles: dict[str, str] = {}
    for i, m in enumerate(data.marks):
        lane = data.lanes[m["lane"]]
        (bar,) = ax.bar(m["lane"], m["value"], color=lane["colour"], edgecolor="black", lw=0.5)
        bar.set_gid(f"mark-{i}-0")
        titles[f"mark-{i}"] = f"{m['label']} ({data.colour_by.replace('_', ' ')}: {m['category']})"
    pd_, pr = data.reference_lines.get("PD", 20.0), data.reference_lines.get("PR", -30.0)
    ax.axhline(pd_, color=_c("vermillion"), ls="--", lw=1)
    ax.axhline(pr, color=_c("bluish_green"), ls="--", lw=1)
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(range(n), [lane["patient"] for lane in data.lanes], rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("Best change in sum of diameters (%)")
    handles = [Line2D([], [], color=c, lw=6, label=k) for k, c in data.categories.items()]
    handles += [Line2D([], [], color=_c("vermillion"), ls="--", label=f"PD +{pd_:g}%"),
                Line2D([], [], color=_c("bluish_green"), ls="--", label=f"PR {pr:g}%")]
    ax.legend(handles=handles, fontsize=7, loc="upper right")
    ax.set_title(f"Waterfall ({n} patients, coloured by {data.colour_by.replace('_', ' ')})", fontsize=10)
    return TitledFigure(fig, titles, f"Waterfall of best change of {n} patients coloured by {data.colour_by}")


def _add_titles(svg: str, titles: Mapping[str, str], description: str, prefix: str) -> str:
    """Put a ``<title>`` (the hover text) into each ``<g id="mark-i-j">`` of a mark named in ``titles``,
    prefix every id (several figures on one page keep unique ids) and make the root an accessible
    image."""
    def sub(m: re.Match[str]) -> str:
        text = titles.get(m.group(1))
        return m.group(0) if text is None else f"{m.group(0)}\n   <title>{escape(text)}</title>"

    svg = re.sub(r'<g id="((?:mark|lane)-\d+)-\d+">', sub, svg)
    svg = re.sub(r'\bid="([^"]+)"', rf'id="{prefix}\1"', svg)
    svg = svg.replace('href="#', f'href="#{prefix}').replace("url(#", f"url(#{prefix}")
    return svg.replace("<svg ", f'<svg role="img" aria-label="{escape(description, {chr(34): "&quot;"})}" ',
                       1)


def figure_svg(fig: TitledFigure, *, prefix: str = "fig-") -> bytes:
    """SVG bytes with one ``<title>`` per mark (no date in the metadata: reproducible); every id starts
    with ``prefix``."""
    with mpl.rc_context({"svg.hashsalt": "redif"}):  # fixed clip-path ids: the same figure, the same bytes
        svg = figure_bytes(fig.fig, "svg").decode("utf-8")
    return _add_titles(svg, fig.titles, fig.description, prefix).encode("utf-8")


def _style_to_attributes(m: re.Match[str]) -> str:
    pairs = [p.split(":", 1) for p in m.group(1).split(";") if ":" in p]
    return " ".join(f'{k.strip()}="{v.strip()}"' for k, v in pairs)


def inline_svg(fig: TitledFigure, *, prefix: str = "fig-") -> str:
    """The SVG for inlining in an HTML page under a strict Content-Security-Policy (``style-src 'self'``
    blocks ``style`` attributes and elements): styles become presentation attributes, the XML prologue
    and the ``<style>`` element are dropped and the width follows the page (``<title>`` hover text kept).
    """
    svg = figure_svg(fig, prefix=prefix).decode("utf-8")
    svg = svg[svg.index("<svg "):]
    svg = re.sub(r"<style[^>]*>.*?</style>", "", svg, flags=re.S)
    svg = re.sub(r'style="([^"]*)"', _style_to_attributes, svg)
    svg = re.sub(r'<metadata>.*?</metadata>', "", svg, flags=re.S)
    return re.sub(r'width="[\d.]+pt" height="[\d.]+pt"', 'width="100%" stroke-linejoin="round"', svg, count=1)


def figure_png(fig: TitledFigure, *, dpi: float = 120) -> bytes:
    """PNG bytes."""
    return figure_bytes(fig.fig, "png", dpi=dpi)
