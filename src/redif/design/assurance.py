"""Assurance (probability of success) of a binary design under a design prior, computed exactly.

Assurance = ``int P(success | p) pi_d(p) dp`` (O'Hagan, Stevens & Campbell 2005). For a single-arm
design described by a stopping table (single-stage, Simon two-stage, predictive-probability, BOP2),
``P(success | p) = sum_x K(x) p^x (1 - p)^(N - x)`` with ``K(x)`` the number of patient sequences that
reach the end with ``x`` responses and pass every look; integrating against a beta mixture gives
``sum_x K(x) sum_c w_c B(a_c + x, b_c + N - x) / B(a_c, b_c)`` exactly. For a two-arm design the
success region is summed against the two prior-predictive (beta-binomial) distributions
(:func:`redif.design.borrowing.two_arm_assurance`).

References
----------
O'Hagan A, Stevens JW, Campbell MJ. Assurance in clinical trial design. Pharm Stat 2005;4:187-201.
"""

from __future__ import annotations

from redif.design.mixture import BetaMixture
from redif.design.monitoring import StoppingTable, assurance_from_counts, success_path_counts
from redif.errors import InputError

__all__ = ["REFERENCE", "parse_mixture", "simon_table", "single_arm_assurance", "single_stage_table"]

REFERENCE = (
    "O'Hagan A, Stevens JW, Campbell MJ. Assurance in clinical trial design. Pharm Stat 2005;4:187-201."
)


def single_arm_assurance(table: StoppingTable, design_prior: BetaMixture) -> float:
    """Exact assurance of a single-arm design (see the module docstring)."""
    return assurance_from_counts(success_path_counts(table), design_prior)


def simon_table(r1: int, n1: int, r: int, n: int) -> StoppingTable:
    """A Simon two-stage design as a stopping table."""
    return StoppingTable(looks=(n1, n), r=(r1, r))


def single_stage_table(n: int, r: int) -> StoppingTable:
    """An exact single-stage design (reject if > r of n) as a stopping table."""
    return StoppingTable(looks=(n,), r=(r,))


def parse_mixture(text: str, field: str = "design_prior") -> BetaMixture:
    """``"a,b"`` (one beta) or ``"w,a,b;w,a,b"`` (a mixture) -> :class:`BetaMixture`.

    Raises
    ------
    InputError
        Naming ``field`` when the text is not of that form.
    """
    parts = [p.strip() for p in str(text).split(";") if p.strip()]
    try:
        rows = [[float(v) for v in p.split(",")] for p in parts]
    except ValueError:
        raise InputError(
            "not a list of numbers",
            field=field,
            value=text,
            remedy="give a,b for one beta or w,a,b;w,a,b for a mixture",
        ) from None
    if len(rows) == 1 and len(rows[0]) == 2:
        return BetaMixture.beta(rows[0][0], rows[0][1])
    if rows and all(len(r) == 3 for r in rows):
        w = [r[0] for r in rows]
        if any(x < 0 for x in w) or sum(w) <= 0:
            raise InputError("mixture weights must be >= 0 with a positive sum", field=field, value=text)
        return BetaMixture.from_arrays(w, [r[1] for r in rows], [r[2] for r in rows])
    raise InputError(
        "expected a,b or w,a,b;w,a,b",
        field=field,
        value=text,
        remedy="e.g. 6,14 (Beta(6, 14)) or 0.8,6,14;0.2,1,1",
    )
