"""Plain JSON values from engine results (used by the CLI, the web app and the registry's JSON columns)."""

from __future__ import annotations

import dataclasses
import enum
import math
import numbers
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

__all__ = ["to_jsonable"]


def to_jsonable(obj: Any) -> Any:
    """Convert engine results (dataclasses, enums, numpy values, NaN) into plain JSON values.

    NaN and infinities become ``null`` so that the output is strict JSON. numpy scalars are recognised
    through the :mod:`numbers` ABCs and arrays through ``tolist`` (no numpy import: the CLI starts fast).
    """
    if obj is None or isinstance(obj, bool | str):
        return obj
    if isinstance(obj, enum.Enum):
        return to_jsonable(obj.value)
    if isinstance(obj, numbers.Integral):
        return int(obj)
    if isinstance(obj, numbers.Real):
        value = float(obj)
        return value if math.isfinite(value) else None
    if type(obj).__name__ == "ndarray" and callable(getattr(obj, "tolist", None)):
        return [to_jsonable(v) for v in obj.tolist()]
    if type(obj).__module__ == "numpy" and type(obj).__name__ in ("bool", "bool_"):
        return bool(obj)
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
