"""A user's table of study results (CSV) and its meta-analysis: reading, validation, pooling.

``study,events,total`` for proportions or ``study,yi,vi`` for generic effect sizes, plus the grouping and
moderator columns an analysis names. This is the engine behind ``redif meta pool|bias|influence``; the
CLI only parses its options and renders the result.

Errors name the parameter (``file``, ``measure``, ``method``, ``moderators``) or the CSV column; the CLI
shows its flags for them (:mod:`redif.cli._flags`).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from redif.errors import InputError
from redif.evidence.measures import PROPORTION_MEASURES, Measure, escalc
from redif.evidence.regression import meta_regression
from redif.evidence.results import PoolResult, RegressionResult, SubgroupResult
from redif.evidence.rma import pool_generic, pool_proportions
from redif.evidence.subgroups import pool_subgroups, pool_subgroups_generic
from redif.evidence.tau2 import Method, method_codes, parse_method

__all__ = ["EffectTable", "EffectTablePool", "MetaTable", "effect_sizes", "parse_effect_measure",
           "parse_effect_table", "parse_moderators", "pool_effect_table", "read_effect_table",
           "require_tau2_method"]

_MEASURES = tuple(m.value for m in Measure)


@dataclass(frozen=True)
class EffectTable:
    """Validated contents of a study-results CSV file."""

    labels: list[str]
    events: list[int] | None
    totals: list[int] | None
    yi: list[float] | None
    vi: list[float] | None
    columns: dict[str, list[str]]


#: The former name (``redif.cli.meta.MetaTable``).
MetaTable = EffectTable


def parse_effect_measure(text: str | Measure) -> Measure:
    """``PR``, ``PLO``, ``PAS``, ``PFT`` or ``GEN`` (any case) as a :class:`Measure`; field ``measure``."""
    key = str(text).strip().upper()
    if key not in Measure.__members__:
        raise InputError("unknown measure", field="measure", value=text, remedy=f"use {', '.join(_MEASURES)}")
    return Measure(key)


def require_tau2_method(method: str | Method) -> Method:
    """``method`` as a tau^2 estimator; GLMM refused (analyses on escalc values); field ``method``."""
    m = parse_method(method)
    if m is Method.GLMM:
        raise InputError("this analysis works on escalc values, not the GLMM", field="method",
                         value=str(method),
                         remedy=f"use a tau2 estimator: {', '.join(method_codes(glmm=False))}")
    return m


def _number(text: str, *, name: str, row: int, column: str) -> float:
    t = text.strip()
    if t == "":
        raise InputError(f"{name} row {row}: empty value", field=column,
                         remedy="fill in every value or remove the row")
    try:
        value = float(t)
    except ValueError:
        raise InputError(f"{name} row {row}: not a number", field=column, value=t) from None
    if not math.isfinite(value):
        raise InputError(f"{name} row {row}: not a finite number", field=column, value=t)
    return value


def _count(text: str, *, name: str, row: int, column: str) -> int:
    value = _number(text, name=name, row=row, column=column)
    if value < 0:
        raise InputError(f"{name} row {row}: negative count", field=column, value=text.strip(),
                         remedy="counts must be >= 0")
    if value != int(value):
        raise InputError(f"{name} row {row}: not a whole number", field=column, value=text.strip(),
                         remedy="counts must be integers")
    return int(value)


def read_effect_table(
    file: Path, *, measure: str | Measure, extra_columns: Sequence[str] = (),
) -> EffectTable:
    """Read and validate ``study,events,total`` (proportions) or ``study,yi,vi`` (GEN) plus the
    grouping/moderator columns in ``extra_columns``.

    Rows are numbered from 1 for the first data row (the header is row 0).

    Raises
    ------
    InputError
        Naming the file (field ``file``) or the row and column of the first problem.
    """
    name = str(file)
    if not file.is_file():
        raise InputError("file not found", field="file", value=name, remedy="give the path of a CSV file")
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputError("not a UTF-8 text file", field="file", value=name) from None
    return parse_effect_table(text, name=name, measure=measure, extra_columns=extra_columns)


def parse_effect_table(
    text: str, *, name: str, measure: str | Measure, extra_columns: Sequence[str] = (),
) -> EffectTable:
    """Validate the CSV ``text`` of a study-results table (``name`` labels the errors); no file I/O."""
    ms = parse_effect_measure(measure)
    rows = list(csv.reader(line for line in text.splitlines() if line.strip()))
    if not rows:
        raise InputError(f"{name} is empty", field="file", remedy="give a header line and one row per study")
    header = [h.strip() for h in rows[0]]
    body = rows[1:]
    if not body:
        raise InputError(f"{name} has a header but no studies", field="file", remedy="add one row per study")
    prop = ms in PROPORTION_MEASURES
    needed = ["events", "total"] if prop else ["yi", "vi"]
    for col in ["study", *needed, *extra_columns]:
        if col not in header:
            raise InputError(f"{name}: missing column {col!r} (found: {', '.join(header)})", field=col,
                             remedy=f"the file needs columns study,{','.join(needed)}")
    idx = {h: i for i, h in enumerate(header)}
    for r, row in enumerate(body, start=1):
        if len(row) != len(header):
            raise InputError(f"{name} row {r}: {len(row)} fields but the header has {len(header)}",
                             field="file", remedy="every row needs one value per column")
    labels = [row[idx["study"]].strip() or f"Study {r}" for r, row in enumerate(body, start=1)]
    events = totals = None
    yi = vi = None
    if prop:
        events, totals = [], []
        for r, row in enumerate(body, start=1):
            x = _count(row[idx["events"]], name=name, row=r, column="events")
            n = _count(row[idx["total"]], name=name, row=r, column="total")
            if n == 0:
                raise InputError(f"{name} row {r}: total is 0", field="total", remedy="total must be >= 1")
            if x > n:
                raise InputError(f"{name} row {r}: events ({x}) exceed total ({n})", field="events",
                                 remedy="events must be <= total")
            events.append(x)
            totals.append(n)
    else:
        yi, vi = [], []
        for r, row in enumerate(body, start=1):
            yi.append(_number(row[idx["yi"]], name=name, row=r, column="yi"))
            v = _number(row[idx["vi"]], name=name, row=r, column="vi")
            if v <= 0:
                raise InputError(f"{name} row {r}: sampling variance must be > 0", field="vi", value=v,
                                 remedy="vi is a variance, not a standard error")
            vi.append(v)
    columns: dict[str, list[str]] = {}
    for col in extra_columns:
        vals = [row[idx[col]].strip() for row in body]
        for r, val in enumerate(vals, start=1):
            if val == "":
                raise InputError(f"{name} row {r}: empty value", field=col,
                                 remedy="fill in the column for every study")
        columns[col] = vals
    return EffectTable(labels, events, totals, yi, vi, columns)


FloatArray = NDArray[np.float64]


def effect_sizes(table: EffectTable, measure: str | Measure) -> tuple[FloatArray, FloatArray]:
    """``(yi, vi)`` on the analysis scale of ``measure`` (escalc for proportions, as read for GEN)."""
    ms = parse_effect_measure(measure)
    if ms is Measure.GEN:
        return np.asarray(table.yi or [], dtype=float), np.asarray(table.vi or [], dtype=float)
    yi, vi = escalc(ms, table.events or [], table.totals or [])
    return np.asarray(yi, dtype=float), np.asarray(vi, dtype=float)


@dataclass(frozen=True)
class EffectTablePool:
    """A pooled (or subgroup) result of an effect table with its optional meta-regression."""

    measure: Measure
    result: PoolResult | SubgroupResult
    regression: RegressionResult | None = None

    def to_dict(self) -> dict[str, Any]:
        """The result's keys; with moderators also ``coefficients``, ``qm*``, ``qe*``, ``r2`` and
        ``residual_tau2`` (the ``redif meta pool --json`` contract)."""
        out: dict[str, Any] = self.result.to_dict()
        if self.regression is not None:
            rd = self.regression.to_dict()
            for key in ("coefficients", "qm", "qm_df", "qm_df2", "qm_p", "qe", "qe_df", "qe_p", "r2"):
                out[key] = rd[key]
            out["residual_tau2"] = rd["tau2"]
        return out


def parse_moderators(moderators: str | Sequence[str] | None) -> list[str]:
    """Moderator column names from ``"a,b"`` or a sequence; an empty name is refused (``moderators``)."""
    if moderators is None:
        return []
    names = [c.strip() for c in (moderators.split(",") if isinstance(moderators, str) else moderators)]
    if not names or any(c == "" for c in names):
        raise InputError("empty moderator name", field="moderators", value=",".join(names),
                         remedy="give comma-separated column names, e.g. weeks,activity")
    return names


def pool_effect_table(
    file: Path, *, measure: str | Measure = "PLO", method: str | Method = "REML", knha: bool = False,
    level: float = 95.0, by: str | None = None, moderators: str | Sequence[str] | None = None,
    study_ci: str = "clopper-pearson",
) -> EffectTablePool:
    """Read ``file`` and pool it: overall, by the column ``by`` (separate tau^2), and with a
    meta-regression on the ``moderators`` columns.

    Raises
    ------
    InputError
        For a bad file, measure, method or column, or moderators with the GLMM.
    """
    ms = parse_effect_measure(measure)
    mods = parse_moderators(moderators)
    m = parse_method(method)
    if mods and m is Method.GLMM:
        raise InputError("a meta-regression is not available with the GLMM", field="moderators",
                         value=",".join(mods), remedy="use method REML for meta-regression")
    extra = ([by] if by else []) + [c for c in mods if c != by]
    table = read_effect_table(file, measure=ms, extra_columns=extra)
    prop = ms is not Measure.GEN
    result: PoolResult | SubgroupResult
    if by:
        groups = table.columns[by]
        if prop:
            result = pool_subgroups(table.events or [], table.totals or [], groups, table.labels,
                                    measure=str(ms), method=m, knha=knha, level=level, study_ci=study_ci)
        else:
            result = pool_subgroups_generic(table.yi or [], table.vi or [], groups, table.labels,
                                            method=m, knha=knha, level=level)
    elif prop:
        result = pool_proportions(table.events or [], table.totals or [], table.labels, measure=str(ms),
                                  method=m, knha=knha, level=level, study_ci=study_ci)
    else:
        result = pool_generic(table.yi or [], table.vi or [], table.labels, method=m, knha=knha, level=level)
    regression = None
    if mods:
        yi, vi = effect_sizes(table, ms)
        regression = meta_regression(yi, vi, {c: table.columns[c] for c in mods}, method=m, knha=knha,
                                     level=level, measure=str(ms))
    return EffectTablePool(ms, result, regression)
