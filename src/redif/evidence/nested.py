"""The evidence base pooled with arms nested in their trials (two-level model, as metafor's
``rma.mv(yi, vi, random = ~ 1 | trial/arm)``).

Ho 2013 reports a BRAF and an NRAS arm, ERRITI a BRAF and a BRAF-wild-type arm, MERAIODE a BRAF and a
RAS cohort: arms of one trial share its protocol, centres and assessors, so they are not independent
studies. :func:`pool_nested` fits the nested model of :mod:`redif.evidence.multilevel` to an
:class:`~redif.evidence.tables.OutcomeTable`, with the trial of each row taken from the record it is part
of (``part_of``: Ho 2013's and ERRITI's arms, which have an overall record), else from its ``trial``
(MERAIODE's cohorts, two reports with no overall record: ``trial: MERAIODE``); a record with neither is
its own trial.

References
----------
Konstantopoulos S. Fixed effects and variance components estimation in three-level meta-analysis. Res
Synth Methods 2011;2:61-76. Viechtbauer W. Conducting meta-analyses in R with the metafor package. J Stat
Softw 2010;36(3):1-48.
"""

from __future__ import annotations

from redif.errors import InputError
from redif.evidence.measures import Measure, escalc
from redif.evidence.multilevel import MultilevelResult, pool_multilevel
from redif.evidence.tables import OutcomeRow, OutcomeTable, require_one_definition

__all__ = ["pool_nested", "trial_of"]


def trial_of(row: OutcomeRow) -> str:
    """The trial of an analysis row: the record it is part of, else its ``trial``, else the record."""
    return row.part_of or row.trial or row.row_id


def pool_nested(
    table: OutcomeTable, *, measure: str | Measure = Measure.PLO, method: str = "REML", level: float = 95.0
) -> MultilevelResult:
    """Pool the rows of ``table`` with arms nested in trials (variance components: trial, then arm).

    Parameters
    ----------
    table
        The rows to pool (one outcome; for uptake, one definition at a time).
    measure
        ``PLO`` (default), ``PR``, ``PAS`` or ``PFT``; the estimate is back-transformed to a proportion.
    method
        ``REML`` or ``ML``.
    level
        Confidence level, percent.

    Raises
    ------
    InputError
        Fewer than two rows or two trials, or a measure/method the multilevel engine refuses.
    MixedDefinitionsError
        Uptake rows under several definitions of restored uptake (two "not reported" rows count as two).
    """
    if table.k < 2:
        raise InputError(
            f"{table.k} row(s) to pool; a nested model needs at least 2", field="k", value=table.k,
            remedy="widen the filters (genotype, grade) or pool without nesting",
        )
    require_one_definition(table, what="nested pool")
    trials = [trial_of(r) for r in table.rows]
    if len(set(trials)) < 2:
        raise InputError(
            f"the {table.k} rows are arms of one trial ({trials[0]}): a model of arms nested in trials needs "
            "at least two trials", field="k", value=table.k,
            remedy="widen the filters (genotype, definition, grade) or pool without nesting",
        )
    yi, vi = escalc(measure, table.events, table.totals)
    return pool_multilevel(
        yi, vi, trials, [r.row_id for r in table.rows],
        method=method, level=level, measure=measure, totals=table.totals, random=("trial", "arm"),
    )
