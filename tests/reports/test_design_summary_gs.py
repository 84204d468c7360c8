"""Issue 15 item 5: the protocol design summary of group-sequential designs (kind ``group_sequential``,
:func:`redif.reports.design_summary.group_sequential_result`). Expected values: the engines' own
(checked against rpact 3.3.4 in tests/design), the closed form z_{1-alpha} for a single analysis, and
the PDF metadata (title, keywords with the kind and versions) as in tests/reports/test_design_summary.py."""

from __future__ import annotations

from datetime import datetime

import pytest
from scipy import stats

from redif.design.group_sequential import group_sequential_design
from redif.design.sample_size_gs import sample_size_rates
from redif.errors import InputError
from redif.reports.design_summary import GS_KIND, design_summary, design_summary_pdf, group_sequential_result

T = datetime(2026, 1, 2, 3, 4, 5)


def test_two_sided_rates_summary_has_both_sides() -> None:
    """Issue 15: a two-sided rates design lists the rate-difference bound of each side, the rates
    assumptions and the Pocock / Farrington-Manning references."""
    d = group_sequential_design(3, 0.05, 0.2, 2, "P")
    ss = sample_size_rates(0.5, 0.3, design=d)
    s = design_summary(GS_KIND, group_sequential_result(d, ss), generated_at=T)
    cols = s["tables"][0]["columns"]
    assert cols[-2:] == ["p1-p2 bound", "p1-p2 bound (other side)"] and "patients" in cols
    eff = s["design"]["effect_scale"]
    assert all(a > 0 > b for a, b in zip(eff["efficacy"], eff["efficacy_mirror"], strict=True))
    text = " ".join(s["assumptions"])
    assert "p1 = 0.5" in text and "p2 = 0.3" in text and "2-sided; symmetric bounds" in text
    assert any("Pocock SJ" in r for r in s["references"]) and any("Farrington" in r for r in s["references"])
    assert "symmetric" in text and "|Z_k| >= u_k" in s["rule"]


def test_single_analysis_and_determinism() -> None:
    """Issue 15: K = 1 is summarised as a fixed design at z_{1-alpha}; same inputs -> same PDF bytes,
    whose metadata carry the title and the kind."""
    d = group_sequential_design(1, 0.025, 0.2, 1, "OF")
    s = design_summary(GS_KIND, group_sequential_result(d), generated_at=T)
    assert "fixed design" in s["method"]
    assert float(s["tables"][0]["rows"][0][2]) == pytest.approx(stats.norm.isf(0.025), abs=5e-5)
    a = design_summary_pdf(s, generated_at=T)
    assert a.startswith(b"%PDF") and a == design_summary_pdf(s, generated_at=T)


def test_unknown_kind_lists_group_sequential() -> None:
    """Issue 15: an unknown kind names the field and the accepted kinds."""
    with pytest.raises(InputError) as e:
        design_summary("sequential", {})
    assert e.value.field == "kind" and "group_sequential" in (e.value.remedy or "")
