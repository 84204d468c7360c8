"""Issue 13: data on which a model has no answer get a clear InputError naming the parameter, never a
traceback (found by the coordinator page's API fuzzing). Expected behaviour: R's ``glmer`` has no finite
estimate under complete separation, and R's ``survdiff`` stops on a singular variance ("system is
exactly singular"), so redif refuses both with the reason and the fix."""

from __future__ import annotations

import pytest

from redif.errors import InputError
from redif.ipd.dataset import parse_analysis_csv
from redif.ipd.pool import pool_ipd
from redif.ipd.survival import survival

_HEADER = ("patient,site,genotype,uptake_restored,uptake_definition,objective_response,response_denominator,"
           "pfs_days,pfs_event,ttnt_days,ttnt_event,dor_days,dor_event")


def _rows(lines: list[str]) -> list:  # type: ignore[type-arg]
    return parse_analysis_csv("\n".join([_HEADER, *lines]))


def _patients() -> list[str]:
    out = []
    for i in range(12):
        site = "A" if i < 6 else "B"
        genotype = "BRAF V600E" if i % 2 else "NRAS"
        restored = 1 if (genotype == "BRAF V600E" and i % 3) else 0  # NRAS: no events at all
        out.append(f"p{i},{site},{genotype},{restored},diagnostic_scan,0,treated,{100 + 10 * i},{i % 2},"
                   f"{200 + i},0,,")
    return out


def test_one_stage_level_without_events_is_refused() -> None:
    """A level of --by with no events (complete separation) is refused with field 'by' and the level."""
    rows = _rows(_patients())
    with pytest.raises(InputError) as exc:
        pool_ipd(rows, outcome="uptake_restored", method="one-stage", by="genotype")
    assert exc.value.field == "by" and "NRAS" in str(exc.value) and "no events" in str(exc.value)
    # the two-stage model (continuity-corrected per-site counts) still answers
    assert pool_ipd(rows, outcome="uptake_restored", method="two-stage", by="genotype").n == 12


def test_logrank_with_no_comparing_stratum_is_refused() -> None:
    """--by site with --strata site: no stratum holds two groups, the variance is singular: field 'strata'."""
    rows = _rows(_patients())
    with pytest.raises(InputError) as exc:
        survival(rows, time="pfs_days", event="pfs_event", by="site", strata="site")
    assert exc.value.field == "strata" and "singular" in str(exc.value)
    assert survival(rows, time="pfs_days", event="pfs_event", by="site").logrank is not None
