"""The pooled-table lines shared by the CLI and the web explorer.

Expected values: a single-record group is shown with its own exact Clopper-Pearson interval, the same
numbers as the forest plot's study row (R: ``binom.test(5, 14)$conf.int`` = 0.1276, 0.6486 for the
ERRITI BRAF-wild-type arm P05b, 5/14, the evidence table); a pooled group shows the engine's pooled values.
"""

from __future__ import annotations

import pytest

from redif.evidence.studies import load_evidence
from redif.evidence.synthesis import pool_outcome
from redif.evidence.tables import outcome_table


def test_single_record_group_uses_its_exact_interval() -> None:
    table = outcome_table(load_evidence(), "uptake")
    pool = pool_outcome(table, by="genotype")
    lines = {line.name: line for line in pool.group_table()}
    wt = next(line for name, line in lines.items() if line.k == 1 and line.events == 5 and line.total == 14)
    assert not wt.pooled
    assert wt.pi_lower is None and wt.i2 is None
    assert wt.ci_lower == pytest.approx(0.1276, abs=1e-4)
    assert wt.ci_upper == pytest.approx(0.6486, abs=1e-4)
    # Issue 12: the uptake rows use several definitions, so by default the groups are definition x
    # genotype and there is no "all" line (it would pool definitions); it comes back, labelled, only with
    # mix_definitions.
    assert wt.name == "uptake on diagnostic scan × BRAF wild-type"
    assert "all" not in lines and pool.stratified
    mixed = pool_outcome(table, by="genotype", mix_definitions=True)
    lines = {line.name: line for line in mixed.group_table()}
    overall = lines["all (mixed definitions)"]
    pool = mixed
    assert overall.pooled
    assert overall.estimate == pytest.approx(pool.overall.estimate)
    assert overall.events == sum(r.events for r in table.rows)
