"""Writing figures to files: the one place a plot reaches the disk.

Engines draw (``redif.evidence.plots.forest_bytes`` returns the SVG/PNG bytes of a forest plot, the
response and dosimetry plot functions return matplotlib figures); the CLI writes them with the functions
here, the web sends the bytes in its answer.
"""

from __future__ import annotations

import io
from collections.abc import Collection
from pathlib import Path
from typing import Any

from redif.errors import InputError

__all__ = ["FIGURE_SUFFIXES", "PLOT_SUFFIXES", "check_plot_path", "figure_bytes", "plot_format",
           "save_figure", "write_plot"]

#: Suffixes of the evidence plots (vector SVG with searchable text, or PNG).
PLOT_SUFFIXES = (".svg", ".png")
#: Suffixes any matplotlib figure may be saved as.
FIGURE_SUFFIXES = (".png", ".svg", ".pdf")


def check_plot_path(
    path: Path | str, *, field: str = "out", suffixes: Collection[str] = PLOT_SUFFIXES
) -> Path:
    """Return ``path`` as a Path if its suffix is one of ``suffixes`` and its folder exists.

    Parameters
    ----------
    path
        The output file.
    field
        Name of the field that gave the path, for the error (the CLI names its flag for it).
    suffixes
        Allowed suffixes, lower case with the dot.

    Raises
    ------
    InputError
        Otherwise (the CLI checks the path before computing anything).
    """
    out = Path(path)
    if out.suffix.lower() not in suffixes:
        raise InputError("unknown plot file type", field=field, value=str(out),
                         remedy=f"end the file name in {' or '.join(suffixes)}")
    if out.parent and not out.parent.exists():
        raise InputError("the folder of the plot file does not exist", field=field, value=str(out.parent),
                         remedy="create the folder first or choose another path")
    return out


def plot_format(path: Path | str) -> str:
    """The figure format named by the suffix of ``path`` (``"svg"``, ``"png"``, ...)."""
    return Path(path).suffix.lower().lstrip(".")


def write_plot(data: bytes, path: Path | str, *, field: str = "out") -> Path:
    """Write rendered plot bytes to ``path`` (checked with :func:`check_plot_path`); return the path."""
    out = check_plot_path(path, field=field)
    out.write_bytes(data)
    return out


def figure_bytes(fig: Any, fmt: str, *, dpi: float = 150) -> bytes:
    """Render a matplotlib figure to bytes in ``fmt`` (reproducible: no date in SVG/PDF metadata)."""
    buf = io.BytesIO()
    meta = {"Date": None} if fmt == "svg" else None
    fig.savefig(buf, format=fmt, dpi=dpi, metadata=meta)
    return buf.getvalue()


def save_figure(fig: Any, path: str | Path, *, field: str = "plot", dpi: float = 150) -> Path:
    """Write a matplotlib figure to ``path`` (format from the suffix: png, svg, pdf); return the path.

    Raises
    ------
    InputError
        For another suffix or a missing folder (naming ``field``).
    """
    out = Path(path)
    if out.suffix.lower() not in FIGURE_SUFFIXES:
        raise InputError("unsupported plot format", field=field, value=str(out),
                         remedy="use a file name ending in .png, .svg or .pdf")
    if not out.parent.exists():
        raise InputError("folder does not exist", field=field, value=str(out.parent))
    out.write_bytes(figure_bytes(fig, plot_format(out), dpi=dpi))
    return out
