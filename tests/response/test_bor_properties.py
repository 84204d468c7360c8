"""Invariants of the best-overall-response derivation (hypothesis), each following from the rule text
of admiralonco ``derive_param_bor``/``derive_param_confirmed_bor`` (see redif.response.bor):

- requiring confirmation never gives a better BOR than not requiring it (every confirmed candidate is
  also an unconfirmed candidate of at least the same rank);
- relaxing the confirmation (more NE allowed, SD accepted, a shorter interval) never gives a worse BOR
  (the confirming window can only shrink to a prefix, and the conditions on it only loosen);
- dropping assessments after a PD never gives a better BOR (candidates of the truncated series are a
  subset of those of the full series).
"""

from __future__ import annotations

from datetime import date, timedelta

import hypothesis.strategies as st
from hypothesis import given, settings

from redif.response.bor import BorParameters, ResponseRecord, SubjectResponses, best_overall_response
from redif.response.codes import OverallResponse

START = date(2025, 1, 1)

_series = st.lists(
    st.tuples(st.integers(min_value=1, max_value=60), st.sampled_from(list(OverallResponse))),
    min_size=0,
    max_size=10,
)


def _subject(steps: list[tuple[int, OverallResponse]]) -> SubjectResponses:
    day = -10
    recs = []
    for gap, code in steps:
        day += gap
        recs.append(ResponseRecord(START + timedelta(days=day), code))
    return SubjectResponses("S", START, tuple(recs))


def _rank(s: SubjectResponses, **kw: object) -> int:
    return best_overall_response(s, BorParameters(**kw)).bor.rank  # type: ignore[arg-type]


@settings(max_examples=150, deadline=None)
@given(_series, st.integers(0, 2), st.booleans(), st.integers(0, 60), st.integers(0, 60))
def test_confirmation_never_improves(steps, max_ne, accept_sd, confirm_days, window):
    s = _subject(steps)
    common = {
        "max_ne": max_ne,
        "accept_sd": accept_sd,
        "confirm_days": confirm_days,
        "start_window_days": window,
    }
    assert _rank(s, confirm=True, **common) >= _rank(s, confirm=False, **common)


@settings(max_examples=150, deadline=None)
@given(_series, st.integers(0, 2), st.integers(0, 60), st.integers(0, 20))
def test_relaxing_confirmation_never_worsens(steps, max_ne, confirm_days, shorter):
    s = _subject(steps)
    strict = _rank(s, confirm=True, max_ne=max_ne, accept_sd=False, confirm_days=confirm_days)
    assert _rank(s, confirm=True, max_ne=max_ne + 1, accept_sd=False, confirm_days=confirm_days) <= strict
    assert _rank(s, confirm=True, max_ne=max_ne, accept_sd=True, confirm_days=confirm_days) <= strict
    assert _rank(s, confirm=True, max_ne=max_ne, confirm_days=max(0, confirm_days - shorter)) <= strict


@settings(max_examples=150, deadline=None)
@given(_series, st.booleans())
def test_stopping_at_pd_never_improves(steps, confirm):
    s = _subject(steps)
    assert _rank(s, confirm=confirm, stop_at_pd=True) >= _rank(s, confirm=confirm)
