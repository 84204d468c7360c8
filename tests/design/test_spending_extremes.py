"""Issue 15 item 5 (found by probing the designer page): the Hwang-Shih-DeCani spending function
alpha (1 - e^{-gamma t}) / (1 - e^{-gamma}) (Hwang, Shih & DeCani 1990) is evaluated without overflow
for large |gamma|. Expected values: the closed form itself where it is representable, its limits
(gamma -> -inf: nothing spent before t = 1; gamma -> +inf: everything at the first look), and the exact
total alpha at t = 1."""

from __future__ import annotations

import math

import pytest

from redif.design.group_sequential import group_sequential_design
from redif.design.spending import spending_value


@pytest.mark.parametrize("gamma", [-8.0, -4.0, -1.0, 0.5, 2.0, 5.0])
@pytest.mark.parametrize("t", [0.2, 0.5, 0.9])
def test_hsd_equals_closed_form(gamma: float, t: float) -> None:
    """Issue 15: moderate gamma equals the textbook closed form to 1e-13 relative."""
    ref = 0.025 * (1 - math.exp(-gamma * t)) / (1 - math.exp(-gamma))
    assert spending_value(0.025, t, "asHSD", gamma=gamma) == pytest.approx(ref, rel=1e-13)


def test_hsd_extremes_and_total() -> None:
    """Issue 15: |gamma| = 1e6 gives the limits instead of an OverflowError; t = 1 spends alpha exactly;
    the design builds (first bounds at rpact's cap of 8)."""
    assert spending_value(0.025, 0.5, "asHSD", gamma=-1e6) == 0.0
    assert spending_value(0.025, 0.5, "asHSD", gamma=1e6) == pytest.approx(0.025, rel=1e-15)
    assert spending_value(0.025, 1.0, "bsHSD", gamma=-1.0) == 0.025
    d = group_sequential_design(3, 0.025, 0.2, 1, "asHSD", gamma_a=-1e6)
    assert d.critical_values[-1] == pytest.approx(1.959963984540054, abs=1e-8)
