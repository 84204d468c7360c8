"""RECIST 1.1 thresholds, read exactly (as :class:`fractions.Fraction`) from ``data/recist.yaml``.

References
----------
Eisenhauer EA et al. New response evaluation criteria in solid tumours: revised RECIST guideline
(version 1.1). Eur J Cancer 2009;45:228-247. doi:10.1016/j.ejca.2008.10.026
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

from redif.data import SourcedValue, sourced_value

__all__ = ["RECIST_FILE", "RecistCriteria", "recist_criteria"]

RECIST_FILE = "recist.yaml"

_KEYS = (
    "measurable_min_longest_diameter_mm",
    "node_measurable_min_short_axis_mm",
    "node_pathological_min_short_axis_mm",
    "max_target_lesions",
    "max_target_lesions_per_organ",
    "partial_response_decrease_pct",
    "progression_increase_pct",
    "progression_absolute_increase_mm",
    "confirmation_min_days",
    "sd_min_days_from_start",
    "max_ne_between_confirmation",
)


@dataclass(frozen=True)
class RecistCriteria:
    """The RECIST 1.1 numbers redif uses, as exact fractions, with their sourced entries.

    Attributes
    ----------
    measurable_min_mm
        Minimum longest diameter of a measurable non-nodal lesion, mm (10).
    node_measurable_min_mm
        Minimum short axis of a measurable (target) lymph node, mm (15).
    node_normal_below_mm
        A node with short axis below this is normal, mm (10).
    max_targets, max_targets_per_organ
        At most 5 target lesions, at most 2 per organ.
    pr_decrease
        Fractional decrease of the sum from baseline that makes PR (3/10).
    pd_increase
        Fractional increase of the sum from the nadir needed for PD (1/5).
    pd_absolute_mm
        Absolute increase of the sum over the nadir also needed for PD, mm (5).
    sources
        The :class:`~redif.data.SourcedValue` of every key of ``recist.yaml`` (source and grade).
    """

    measurable_min_mm: Fraction
    node_measurable_min_mm: Fraction
    node_normal_below_mm: Fraction
    max_targets: int
    max_targets_per_organ: int
    pr_decrease: Fraction
    pd_increase: Fraction
    pd_absolute_mm: Fraction
    confirmation_min_days: int
    sd_min_days_from_start: int
    max_ne_between_confirmation: int
    sources: dict[str, SourcedValue]

    def source(self, key: str) -> str:
        """Citation of constant ``key`` followed by its grade, e.g. ``"Eisenhauer 2009 ... [primary]"``."""
        sv = self.sources[key]
        return f"{sv.source} [{sv.grade.value}]"


def _exact(sv: SourcedValue) -> Fraction:
    # str() first: a YAML float such as 0.3 becomes Fraction("0.3") == 3/10, never the binary value.
    return Fraction(str(sv.value))


@lru_cache(maxsize=1)
def recist_criteria() -> RecistCriteria:
    """Load the RECIST 1.1 constants from ``data/recist.yaml`` (cached)."""
    sv = {key: sourced_value(RECIST_FILE, key) for key in _KEYS}
    hundred = Fraction(100)
    return RecistCriteria(
        measurable_min_mm=_exact(sv["measurable_min_longest_diameter_mm"]),
        node_measurable_min_mm=_exact(sv["node_measurable_min_short_axis_mm"]),
        node_normal_below_mm=_exact(sv["node_pathological_min_short_axis_mm"]),
        max_targets=int(sv["max_target_lesions"].value),
        max_targets_per_organ=int(sv["max_target_lesions_per_organ"].value),
        pr_decrease=_exact(sv["partial_response_decrease_pct"]) / hundred,
        pd_increase=_exact(sv["progression_increase_pct"]) / hundred,
        pd_absolute_mm=_exact(sv["progression_absolute_increase_mm"]),
        confirmation_min_days=int(sv["confirmation_min_days"].value),
        sd_min_days_from_start=int(sv["sd_min_days_from_start"].value),
        max_ne_between_confirmation=int(sv["max_ne_between_confirmation"].value),
        sources=sv,
    )
