"""Thyroglobulin (Tg) kinetics: doubling time, doubling rate, percent change, interpretability flags.

Method (Miyauchi et al. 2011): ordinary least squares of ln(Tg) on time. With the slope ``b`` (per
day), the doubling time is ``DT = ln 2 / b`` days; the doubling rate is ``1 / DT`` per year. A negative
slope gives a negative DT, whose magnitude is the Tg *halving* time (flag ``halving``); keeping the sign
makes the doubling rate a continuous, monotone measure through zero (rate 0 = stable Tg).

Rules of redif (documented choices):

- Tg must be > 0 ng/mL (ln Tg); undetectable values are an error, not silently dropped or replaced.
- Dates strictly increasing (a repeated or out-of-order date is an error).
- At least 2 points (``data/thyroglobulin.yaml`` ``min_points``); with exactly 2 the line passes through
  both points and ``r2`` = 1 carries no information (flag ``two_points``); 95 % CIs need >= 3 points.
- Flags: ``tgab_positive`` (any TgAb-positive sample: Tg may be falsely low, the series is
  uninterpretable), ``mixed_tsh_states`` (suppressed and stimulated samples in one series: values are not
  comparable; fit one state with ``tsh_state=``), ``halving`` (negative slope), ``stable`` (slope exactly
  0: DT undefined), ``two_points``.
- Time is counted in days from the first sample; years = days / 365.25.

References
----------
Miyauchi A, Kudo T, Miya A, et al. Prognostic impact of serum thyroglobulin doubling-time under
thyrotropin suppression in patients with papillary thyroid carcinoma who underwent total thyroidectomy.
Thyroid 2011;21(7):707-716. doi:10.1089/thy.2010.0355 (docs/methods/response.md: method primary,
TgAb/TSH details unverified).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache
from typing import Any

from redif.data import sourced_value
from redif.errors import InputError
from redif.model import TshState
from redif.response._problems import Problems, parse_date

__all__ = [
    "TgKinetics",
    "TgMeasurement",
    "TgPoint",
    "TshState",
    "doubling_time",
    "measurements_from_rows",
]

_FILE = "thyroglobulin.yaml"


def _tsh_state(raw: str) -> TshState | None:
    """The TSH state of a CSV cell (the model's vocabulary: ``rhtsh`` and ``withdrawal`` mean stimulated,
    ``levothyroxine`` suppressed); ``None`` for blank or unknown. Raises InputError for anything else."""
    if not raw:
        return None
    state = TshState.parse(raw)
    return None if state is TshState.UNKNOWN else state


_POS = {"positive", "pos", "+", "yes", "y", "true", "1"}
_NEG = {"negative", "neg", "-", "no", "n", "false", "0"}


@dataclass(frozen=True)
class TgMeasurement:
    """One serum thyroglobulin value.

    Attributes
    ----------
    date
        Sampling date.
    tg_ng_ml
        Thyroglobulin, ng/mL (> 0).
    tgab_positive
        Anti-Tg antibodies positive (``None`` = not reported).
    tsh_state
        TSH state at sampling (``None`` = not reported).
    """

    date: date
    tg_ng_ml: float
    tgab_positive: bool | None = None
    tsh_state: TshState | None = None


@dataclass(frozen=True)
class TgPoint:
    """A sample with its percent change from the first sample and the fitted value."""

    date: date
    day: int
    tg_ng_ml: float
    percent_change_from_baseline: float
    fitted_tg_ng_ml: float


@dataclass(frozen=True)
class TgKinetics:
    """Result of :func:`doubling_time`.

    Attributes
    ----------
    n
        Number of samples fitted.
    first_date, last_date, span_days
        Range of the fitted samples.
    slope_per_day, slope_per_year
        OLS slope of ln(Tg) on time, 1/day and 1/year.
    intercept_ln_tg
        Fitted ln(Tg) at the first date.
    doubling_time_days, doubling_time_years
        ln 2 / slope (negative when Tg falls; ``None`` when the slope is 0).
    halving_time_days
        -DT when the slope is negative, else ``None``.
    doubling_rate_per_year
        1 / DT in years = slope_per_year / ln 2.
    r2
        Coefficient of determination of the fit (``None`` when all ln Tg are equal).
    slope_ci95_per_year, doubling_rate_ci95_per_year
        95 % t-based confidence interval (n >= 3; ``None`` otherwise).
    percent_change_from_baseline
        (last - first) / first x 100 %.
    points
        Every sample with its % change from the first and its fitted value.
    flags
        Stable codes: ``tgab_positive``, ``mixed_tsh_states``, ``halving``, ``stable``, ``two_points``.
    notes
        One line per flag, for a human.
    tsh_state
        The TSH state filter applied (``None`` = all samples).
    """

    n: int
    first_date: date
    last_date: date
    span_days: int
    slope_per_day: float
    slope_per_year: float
    intercept_ln_tg: float
    doubling_time_days: float | None
    doubling_time_years: float | None
    halving_time_days: float | None
    doubling_rate_per_year: float
    r2: float | None
    slope_ci95_per_year: tuple[float, float] | None
    doubling_rate_ci95_per_year: tuple[float, float] | None
    percent_change_from_baseline: float
    points: tuple[TgPoint, ...]
    flags: tuple[str, ...]
    notes: tuple[str, ...]
    tsh_state: TshState | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form with the stable keys ``doubling_time_days``, ``doubling_time_years``,
        ``doubling_rate_per_year``, ``slope_per_year``, ``r2``, ``n``, ``flags`` (and more)."""
        return {
            "doubling_time_days": self.doubling_time_days,
            "doubling_time_years": self.doubling_time_years,
            "doubling_rate_per_year": self.doubling_rate_per_year,
            "slope_per_year": self.slope_per_year,
            "r2": self.r2,
            "n": self.n,
            "flags": list(self.flags),
            "halving_time_days": self.halving_time_days,
            "slope_per_day": self.slope_per_day,
            "slope_ci95_per_year": None
            if self.slope_ci95_per_year is None
            else list(self.slope_ci95_per_year),
            "doubling_rate_ci95_per_year": (
                None if self.doubling_rate_ci95_per_year is None else list(self.doubling_rate_ci95_per_year)
            ),
            "first_date": self.first_date.isoformat(),
            "last_date": self.last_date.isoformat(),
            "span_days": self.span_days,
            "percent_change_from_baseline": self.percent_change_from_baseline,
            "points": [
                {
                    "date": p.date.isoformat(),
                    "day": p.day,
                    "tg_ng_ml": p.tg_ng_ml,
                    "percent_change_from_baseline": p.percent_change_from_baseline,
                    "fitted_tg_ng_ml": p.fitted_tg_ng_ml,
                }
                for p in self.points
            ],
            "tsh_state": None if self.tsh_state is None else self.tsh_state.value,
            "notes": list(self.notes),
        }


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


@lru_cache(maxsize=1)
def _constants() -> tuple[int, float]:
    """(min_points, days_per_year) from ``data/thyroglobulin.yaml``."""
    return (
        int(sourced_value(_FILE, "min_points").value),
        float(sourced_value(_FILE, "days_per_year").value),
    )


@lru_cache(maxsize=256)
def _t975(df: int) -> float:
    """97.5 % quantile of Student's t with ``df`` degrees of freedom (two-sided 95 % interval)."""
    from scipy.special import stdtrit  # inverse Student t CDF; far lighter to import than scipy.stats

    return float(stdtrit(df, 0.975))


def _check_series(series: Sequence[TgMeasurement], min_points: int) -> None:
    problems = Problems()
    for i, m in enumerate(series):
        if not (isinstance(m.tg_ng_ml, int | float) and math.isfinite(m.tg_ng_ml) and m.tg_ng_ml > 0):
            problems.add(
                f"Tg on {m.date} must be a number > 0 ng/mL (its logarithm is fitted)",
                field=f"tg[{i}]",
                value=m.tg_ng_ml,
                remedy="remove undetectable values or enter them deliberately (e.g. the assay's "
                "functional sensitivity) and say so in the report",
            )
    for i in range(1, len(series)):
        prev, cur = series[i - 1].date, series[i].date
        if cur == prev:
            problems.add(
                f"duplicate date {cur}",
                field=f"date[{i}]",
                value=cur.isoformat(),
                remedy="keep one Tg value per date",
            )
        elif cur < prev:
            problems.add(
                f"dates out of order: {cur} after {prev}",
                field=f"date[{i}]",
                value=cur.isoformat(),
                remedy="list samples in increasing date order",
            )
    problems.raise_if_any()
    if len(series) < min_points:
        raise InputError(
            f"{len(series)} Tg value(s): at least {min_points} are needed to fit a doubling time",
            field="tg",
            value=len(series),
            remedy="add measurements at other dates",
        )


def doubling_time(series: Sequence[TgMeasurement], *, tsh_state: TshState | None = None) -> TgKinetics:
    """Thyroglobulin doubling time by least squares of ln(Tg) on time.

    Parameters
    ----------
    series
        Tg samples in increasing date order.
    tsh_state
        Fit only the samples drawn in this TSH state (``None``: all samples; a mixed series is flagged).

    Returns
    -------
    TgKinetics
        Slope, DT (days, years), doubling rate, r2, CIs, % change, flags.

    Raises
    ------
    InputError
        Tg <= 0, repeated or out-of-order dates, or fewer than ``min_points`` samples.

    Examples
    --------
    Tg 1, 2, 4 ng/mL at days 0, 100, 200 is an exact exponential: slope = ln 2 / 100 per day, so
    DT = 100 days, r2 = 1.

    References
    ----------
    Miyauchi A et al. Thyroid 2011;21:707-716 (Tg-DT by least squares of ln Tg on time, rate = 1/DT).
    """
    min_points, days_per_year = _constants()
    if tsh_state is TshState.UNKNOWN:
        tsh_state = None
    all_points = [
        m if m.tsh_state is not TshState.UNKNOWN else replace(m, tsh_state=None)
        for m in series
    ]
    _check_series(all_points, 1 if tsh_state is not None else min_points)
    points = [m for m in all_points if tsh_state is None or m.tsh_state is tsh_state]
    if len(points) < min_points:
        assert tsh_state is not None
        raise InputError(
            f"{len(points)} sample(s) with TSH {tsh_state.value}: at least {min_points} needed",
            field="tsh_state",
            value=tsh_state.value,
            remedy="fit another TSH state or all samples",
        )
    t0 = points[0].date
    x = [float((m.date - t0).days) for m in points]
    y = [math.log(m.tg_ng_ml) for m in points]
    n = len(points)
    xm = sum(x) / n
    ym = sum(y) / n
    sxx = sum((xi - xm) ** 2 for xi in x)
    sxy = sum((xi - xm) * (yi - ym) for xi, yi in zip(x, y, strict=True))
    syy = sum((yi - ym) ** 2 for yi in y)
    slope = sxy / sxx
    intercept = ym - slope * xm
    resid = [yi - (intercept + slope * xi) for xi, yi in zip(x, y, strict=True)]
    sse = sum(r * r for r in resid)
    r2 = None if syy == 0 else max(0.0, 1.0 - sse / syy)
    ln2 = math.log(2.0)
    slope_year = slope * days_per_year
    dt_days = None if slope == 0 else ln2 / slope
    ci = rate_ci = None
    if n >= 3:
        se = math.sqrt(sse / (n - 2) / sxx) * days_per_year
        q = _t975(n - 2)
        ci = (slope_year - q * se, slope_year + q * se)
        rate_ci = (ci[0] / ln2, ci[1] / ln2)
    flags: list[str] = []
    notes: list[str] = []
    if any(m.tgab_positive for m in all_points):
        flags.append("tgab_positive")
        notes.append(
            "TgAb positive in at least one sample: Tg may be falsely low; the series is uninterpretable "
            "(follow TgAb instead)"
        )
    states = {m.tsh_state for m in all_points if m.tsh_state is not None}
    if len(states) > 1:
        flags.append("mixed_tsh_states")
        notes.append(
            "suppressed and stimulated TSH samples in one series: values are not comparable"
            + (
                f"; fitted only the {tsh_state.value} samples"
                if tsh_state
                else "; fit one state (--tsh-state)"
            )
        )
    if slope < 0:
        flags.append("halving")
        notes.append(f"Tg falls: negative doubling time, halving time {-ln2 / slope:.1f} days")
    elif slope == 0:
        flags.append("stable")
        notes.append("slope exactly 0: doubling time undefined")
    if n == 2:
        flags.append("two_points")
        notes.append("only 2 samples: the line passes through both, r2 = 1 says nothing about the fit")
    base = points[0].tg_ng_ml
    pts = tuple(
        TgPoint(
            m.date, int(xi), m.tg_ng_ml, (m.tg_ng_ml - base) / base * 100.0, math.exp(intercept + slope * xi)
        )
        for m, xi in zip(points, x, strict=True)
    )
    return TgKinetics(
        n=n,
        first_date=t0,
        last_date=points[-1].date,
        span_days=int(x[-1]),
        slope_per_day=slope,
        slope_per_year=slope_year,
        intercept_ln_tg=intercept,
        doubling_time_days=dt_days,
        doubling_time_years=None if dt_days is None else dt_days / days_per_year,
        halving_time_days=None if slope >= 0 else -ln2 / slope,
        doubling_rate_per_year=slope_year / ln2,
        r2=r2,
        slope_ci95_per_year=ci,
        doubling_rate_ci95_per_year=rate_ci,
        percent_change_from_baseline=pts[-1].percent_change_from_baseline,
        points=pts,
        flags=tuple(flags),
        notes=tuple(notes),
        tsh_state=tsh_state,
    )


def measurements_from_rows(
    rows: Iterable[Mapping[str, str | None]],
    columns: Sequence[str],
    *,
    tgab_cutoff: float | None = None,
) -> list[TgMeasurement]:
    """Read Tg samples from CSV rows with columns ``date,tg`` and optionally ``tgab``, ``tsh_state``.

    ``tgab``: positive/negative (also pos/neg, yes/no, true/false, 1/0, +/-), blank = not reported; or,
    with ``tgab_cutoff`` (the assay's positivity cut-off, IU/mL), numeric titres: positive when >= the
    cut-off. Numeric titres without a cut-off are an error (positivity is assay-specific).
    ``tsh_state``: suppressed or stimulated (rhtsh and withdrawal mean stimulated); blank or ``unknown``
    = not reported.
    Row numbers in messages are file lines (the header is line 1).

    Raises
    ------
    InputError
        One line per problem (missing column, bad date, non-numeric or non-positive Tg, unknown TgAb or
        TSH value, repeated or out-of-order date).
    """
    problems = Problems()
    cols = [c.strip().lower() for c in columns]
    missing = [c for c in ("date", "tg") if c not in cols]
    for c in missing:
        problems.add(
            f"missing column {c!r}",
            field=c,
            value=",".join(columns),
            remedy="the CSV needs columns date,tg (optionally tgab,tsh_state)",
        )
    problems.raise_if_any()
    out: list[TgMeasurement] = []
    for line, row in enumerate(rows, start=2):
        r = {str(k).strip().lower(): (v or "").strip() for k, v in row.items() if k is not None}
        if not any(r.values()):
            continue
        when = parse_date(r.get("date", ""), field=f"row {line}, date", problems=problems)
        tg_raw = r.get("tg", "")
        tg: float | None = None
        try:
            tg = float(tg_raw)
        except ValueError:
            problems.add(
                "Tg is not a number",
                field=f"row {line}, tg",
                value=tg_raw,
                remedy="give Tg in ng/mL, e.g. 3.2",
            )
        if tg is not None and not (math.isfinite(tg) and tg > 0):
            problems.add(
                "Tg must be > 0 ng/mL (its logarithm is fitted)",
                field=f"row {line}, tg",
                value=tg_raw,
                remedy="remove undetectable values or enter them deliberately",
            )
            tg = None
        ab_raw = r.get("tgab", "").lower()
        ab: bool | None = None
        titre = _number(ab_raw) if tgab_cutoff is not None else None
        if titre is not None and tgab_cutoff is not None:
            ab = titre >= tgab_cutoff
        elif ab_raw in _POS:
            ab = True
        elif ab_raw in _NEG:
            ab = False
        elif ab_raw:
            problems.add(
                "unknown TgAb value",
                field=f"row {line}, tgab",
                value=r.get("tgab"),
                remedy="write positive or negative, or give numeric titres with the assay's cut-off "
                "(--tgab-cutoff)",
            )
        tsh: TshState | None = None
        try:
            tsh = _tsh_state(r.get("tsh_state", "").strip())
        except InputError:
            problems.add(
                "unknown TSH state",
                field=f"row {line}, tsh_state",
                value=r.get("tsh_state"),
                remedy="write suppressed, stimulated or unknown",
            )
        if when is not None and tg is not None:
            if out and when <= out[-1].date:
                problems.add(
                    "duplicate date"
                    if when == out[-1].date
                    else f"dates out of order ({when} after {out[-1].date})",
                    field=f"row {line}, date",
                    value=r.get("date"),
                    remedy="one sample per date, in date order",
                )
            out.append(TgMeasurement(when, tg, ab, tsh))
    problems.raise_if_any()
    return out
