"""Thyroglobulin kinetics: doubling time by least squares of ln(Tg) on time (Miyauchi et al., Thyroid
2011;21:707-716; docs/methods/response.md, docs/methods/response.md).

References: closed forms for exact exponentials, and R 4.2 ``lm`` run here (code in each docstring).
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import hypothesis.strategies as st
import pytest
from hypothesis import given, settings

from redif.errors import InputError
from redif.response.thyroglobulin import TgMeasurement, TshState, doubling_time, measurements_from_rows

D0 = date(2024, 1, 10)


def _series(days, tgs, **kw):
    return [TgMeasurement(D0 + timedelta(days=d), tg, **kw) for d, tg in zip(days, tgs, strict=True)]


def test_exact_exponential_doubling():
    """Tg = 1, 2, 4, 8 ng/mL at days 0, 100, 200, 300: ln Tg is exactly linear with slope ln 2 / 100 per
    day, so DT = 100 d, DT_years = 100 / 365.25, rate = 3.6525 per year, r2 = 1 (closed form)."""
    k = doubling_time(_series([0, 100, 200, 300], [1.0, 2.0, 4.0, 8.0]))
    assert k.doubling_time_days == pytest.approx(100.0, rel=1e-12)
    assert k.doubling_time_years == pytest.approx(100.0 / 365.25, rel=1e-12)
    assert k.doubling_rate_per_year == pytest.approx(3.6525, rel=1e-12)
    assert k.slope_per_year == pytest.approx(math.log(2) / 100 * 365.25, rel=1e-12)
    assert k.r2 == pytest.approx(1.0, abs=1e-12)
    assert k.percent_change_from_baseline == pytest.approx(700.0)
    assert k.flags == ()
    assert k.slope_ci95_per_year is not None
    assert k.slope_ci95_per_year[0] == pytest.approx(k.slope_ci95_per_year[1], rel=1e-9)


def test_exact_exponential_halving():
    """Tg 40 -> 20 -> 10 at days 0, 90, 180: DT = -90 d (negative: Tg falls), halving time 90 d, flag
    ``halving`` (closed form: slope = -ln 2 / 90 per day)."""
    k = doubling_time(_series([0, 90, 180], [40.0, 20.0, 10.0]))
    assert k.doubling_time_days == pytest.approx(-90.0, rel=1e-12)
    assert k.halving_time_days == pytest.approx(90.0, rel=1e-12)
    assert k.doubling_rate_per_year == pytest.approx(-365.25 / 90, rel=1e-12)
    assert "halving" in k.flags
    assert k.percent_change_from_baseline == pytest.approx(-75.0)


def test_against_r_lm():
    """Noisy series, reference from R 4.2 (run here)::

        d <- as.Date(c("2024-01-10","2024-04-02","2024-07-15","2024-10-01","2025-01-20","2025-04-14"))
        tg <- c(0.9, 1.3, 1.2, 2.4, 3.1, 4.8); x <- as.numeric(d - d[1]); f <- lm(log(tg) ~ x)
        b <- coef(f)[2]; log(2)/b; b*365.25; summary(f)$r.squared; confint(f)[2,]*365.25

    -> slope 0.00355966504110244 /d, DT 194.722585568129 d (0.533121384170099 y), slope 1.30016765626267
    /y, rate 1.87574543001437 /y, r2 0.930952021792433, 95 % CI of slope 0.808614728530946 to
    1.79172058399439 /y, intercept -0.16091478316483."""
    days = ["2024-01-10", "2024-04-02", "2024-07-15", "2024-10-01", "2025-01-20", "2025-04-14"]
    tg = [0.9, 1.3, 1.2, 2.4, 3.1, 4.8]
    k = doubling_time([TgMeasurement(date.fromisoformat(d), v) for d, v in zip(days, tg, strict=True)])
    assert k.slope_per_day == pytest.approx(0.00355966504110244, rel=1e-10)
    assert k.doubling_time_days == pytest.approx(194.722585568129, rel=1e-10)
    assert k.doubling_time_years == pytest.approx(0.533121384170099, rel=1e-10)
    assert k.slope_per_year == pytest.approx(1.30016765626267, rel=1e-10)
    assert k.doubling_rate_per_year == pytest.approx(1.87574543001437, rel=1e-10)
    assert k.r2 == pytest.approx(0.930952021792433, rel=1e-10)
    assert k.slope_ci95_per_year == pytest.approx((0.808614728530946, 1.79172058399439), rel=1e-9)
    assert k.intercept_ln_tg == pytest.approx(-0.16091478316483, rel=1e-9)
    assert (k.n, k.span_days) == (6, 460)


def test_two_points_flagged():
    """Two samples: DT from the two points (3 -> 6 in 50 d: DT 50 d), r2 = 1, flag ``two_points``, no CI."""
    k = doubling_time(_series([0, 50], [3.0, 6.0]))
    assert k.doubling_time_days == pytest.approx(50.0)
    assert "two_points" in k.flags and k.slope_ci95_per_year is None


def test_flat_series():
    """Equal values: slope 0, DT undefined (None), r2 undefined (None), flag ``stable``."""
    k = doubling_time(_series([0, 30, 60], [2.0, 2.0, 2.0]))
    assert k.doubling_time_days is None and k.r2 is None and "stable" in k.flags
    assert k.doubling_rate_per_year == 0.0


def test_tgab_and_mixed_tsh_flags():
    """Any TgAb-positive sample flags ``tgab_positive``; suppressed and stimulated samples in one series
    flag ``mixed_tsh_states``; ``tsh_state=`` fits one state only (here the 3 suppressed, an exact
    doubling every 100 d)."""
    s = [
        TgMeasurement(D0, 1.0, False, TshState.SUPPRESSED),
        TgMeasurement(D0 + timedelta(days=50), 9.0, True, TshState.STIMULATED),
        TgMeasurement(D0 + timedelta(days=100), 2.0, False, TshState.SUPPRESSED),
        TgMeasurement(D0 + timedelta(days=200), 4.0, False, TshState.SUPPRESSED),
    ]
    k = doubling_time(s)
    assert "tgab_positive" in k.flags and "mixed_tsh_states" in k.flags
    k2 = doubling_time(s, tsh_state=TshState.SUPPRESSED)
    assert k2.n == 3 and k2.doubling_time_days == pytest.approx(100.0)
    assert "mixed_tsh_states" in k2.flags


@pytest.mark.parametrize(
    ("days", "tgs", "match"),
    [
        ([0, 10], [1.0, 0.0], "must be a number > 0"),
        ([0, 10], [1.0, -2.0], "must be a number > 0"),
        ([0, 0, 10], [1.0, 2.0, 3.0], "duplicate date"),
        ([10, 0], [1.0, 2.0], "out of order"),
        ([0], [1.0], "at least 2"),
    ],
)
def test_bad_series(days, tgs, match):
    with pytest.raises(InputError, match=match):
        doubling_time(_series(days, tgs))


def test_rows_parsing_and_errors():
    """CSV rows: aliases accepted; each bad cell gives a line naming row and column."""
    rows = [
        {"date": "2024-01-01", "tg": "1.5", "tgab": "neg", "tsh_state": "rhTSH"},
        {"date": "2024-06-01", "tg": "3", "tgab": "", "tsh_state": ""},
    ]
    ms = measurements_from_rows(rows, ["date", "tg", "tgab", "tsh_state"])
    assert (
        ms[0].tsh_state is TshState.STIMULATED
        and ms[0].tgab_positive is False
        and ms[1].tgab_positive is None
    )
    bad = [
        {"date": "2024-01-01", "tg": "abc", "tgab": "12 IU/mL", "tsh_state": "low"},
        {"date": "2023-12-01", "tg": "2", "tgab": "", "tsh_state": ""},
    ]
    with pytest.raises(InputError) as info:
        measurements_from_rows(bad, ["date", "tg", "tgab", "tsh_state"])
    text = str(info.value)
    assert "row 2, tg" in text and "row 2, tgab" in text and "row 2, tsh_state" in text
    with pytest.raises(InputError, match="missing column 'tg'"):
        measurements_from_rows([], ["date", "value"])


@settings(max_examples=100, deadline=None)
@given(
    dt=st.floats(min_value=20, max_value=5000),
    tg0=st.floats(min_value=0.05, max_value=5000),
    gaps=st.lists(st.integers(min_value=1, max_value=400), min_size=2, max_size=8),
)
def test_property_exact_exponential_recovers_dt(dt, tg0, gaps):
    """For Tg = tg0 x 2^(t / DT) sampled at any increasing days, the fit returns DT (closed form)."""
    days = [0]
    for g in gaps:
        days.append(days[-1] + g)
    k = doubling_time(_series(days, [tg0 * 2 ** (d / dt) for d in days]))
    assert k.doubling_time_days == pytest.approx(dt, rel=1e-6)
    assert k.doubling_rate_per_year * k.doubling_time_years == pytest.approx(1.0, rel=1e-12)


@settings(max_examples=50, deadline=None)
@given(factor=st.floats(min_value=0.01, max_value=100))
def test_property_scale_invariance(factor):
    """Multiplying every Tg by a constant (another assay calibration) leaves DT and r2 unchanged."""
    days = [0, 40, 130, 200, 310]
    tg = [1.1, 1.9, 2.2, 4.0, 5.5]
    a = doubling_time(_series(days, tg))
    b = doubling_time(_series(days, [v * factor for v in tg]))
    assert b.doubling_time_days == pytest.approx(a.doubling_time_days, rel=1e-9)
    assert b.r2 == pytest.approx(a.r2, rel=1e-9)


def test_numeric_tgab_needs_a_cutoff():
    """Numeric TgAb titres: positive when >= the assay cut-off given; without a cut-off, an error (the
    positivity threshold is assay-specific, so redif does not guess one). ``unknown`` TSH = not reported."""
    rows = [
        {"date": "2024-01-01", "tg": "1.5", "tgab": "12", "tsh_state": "unknown"},
        {"date": "2024-06-01", "tg": "3", "tgab": "180", "tsh_state": ""},
    ]
    ms = measurements_from_rows(rows, ["date", "tg", "tgab", "tsh_state"], tgab_cutoff=115)
    assert [m.tgab_positive for m in ms] == [False, True]
    assert ms[0].tsh_state is None
    with pytest.raises(InputError, match="row 2, tgab"):
        measurements_from_rows(rows, ["date", "tg", "tgab", "tsh_state"])
