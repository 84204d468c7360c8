"""Shared helpers for the command-line interface (rendering only; no logic)."""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import sys
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

__all__ = ["console", "emit_json", "err_console", "parse_float_list", "to_jsonable"]

console = Console()
err_console = Console(stderr=True)


def to_jsonable(obj: Any) -> Any:
    """Convert engine results (dataclasses, enums, numpy values, NaN) into plain JSON values.

    NaN and infinities become ``null`` so that the output is strict JSON.
    """
    import numpy as np

    if obj is None or isinstance(obj, bool | str):
        return obj
    if isinstance(obj, enum.Enum):
        return to_jsonable(obj.value)
    if isinstance(obj, int | np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        value = float(obj)
        return value if math.isfinite(value) else None
    if isinstance(obj, np.ndarray):
        return [to_jsonable(v) for v in obj.tolist()]
    if isinstance(obj, datetime | date):
        return obj.isoformat()
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "to_dict") and callable(obj.to_dict):
        return to_jsonable(obj.to_dict())
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if hasattr(obj, "model_dump") and callable(obj.model_dump):
        return to_jsonable(obj.model_dump(mode="json"))
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, Sequence | set | frozenset | tuple):
        return [to_jsonable(v) for v in obj]
    return str(obj)


def emit_json(obj: Any) -> None:
    """Print ``obj`` as strict, indented JSON on standard output."""
    sys.stdout.write(json.dumps(to_jsonable(obj), indent=2, allow_nan=False) + "\n")


def parse_float_list(text: str, *, option: str) -> list[float]:
    """Parse ``"1,2.5,3"`` into floats, naming ``option`` in the error."""
    from redif.errors import InputError

    out: list[float] = []
    for i, part in enumerate(text.split(",")):
        part = part.strip()
        if not part:
            raise InputError(
                f"empty value at position {i + 1}", field=option, value=text,
                remedy="give comma-separated numbers, e.g. 4,24,48",
            )
        try:
            out.append(float(part))
        except ValueError:
            raise InputError(
                f"not a number at position {i + 1}", field=option, value=part,
                remedy="give comma-separated numbers, e.g. 4,24,48",
            ) from None
    return out
