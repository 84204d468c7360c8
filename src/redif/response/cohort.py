"""Cohort figures: swimmer plot and waterfall plot data from the analysis dataset (issue 16).

Both take the rows of the registry's analysis dataset (``redif registry export --format analysis``;
columns in ``docs/analysis-dataset.md``) as plain mappings (CSV text cells or numbers) and return a
:class:`CohortFigure`: one lane per patient, the marks of each lane (``kind``, ``day``, ``label``,
``value``, ``lane``, ``category``), the colour categories and the patients left out with the reason.
:mod:`redif.response.timeline_plot` draws them; the tests check the figure data.

- :func:`swimmer_data`: a lane from the first redifferentiation-drug start (day 0) to the last follow-up
  (``follow_up_days``): the drug window (``drug_days``; a course without a stop date runs to the end of
  follow-up), the first 131I (``first_131i_days``), the first response (``first_response_days``: the
  first CR/PR date of the best overall response), progression (``pfs_event`` = 1 at ``pfs_days``) or
  censoring (``pfs_event`` = 0 at ``pfs_days``), and an arrow when the patient is still followed
  without progression, death or next therapy (``pfs_event`` = 0 and ``ttnt_event`` = 0).
- :func:`waterfall_data`: one bar per patient with the best percentage change of the sum of target
  diameters from baseline (``best_change_pct``, :func:`best_change_from_baseline_pct`), sorted from the
  largest increase to the largest decrease, with the RECIST 1.1 levels (+20 % PD, -30 % PR).

Colours (``colour_by``: ``genotype``, ``site`` or ``uptake_restored``) follow the Okabe-Ito palette
(``data/palette.yaml``).

References
----------
Eisenhauer EA et al. New response evaluation criteria in solid tumours: revised RECIST guideline
(version 1.1). Eur J Cancer 2009;45:228-247 (sum of diameters, -30 % PR, +20 % PD).
Okabe M, Ito K. Color Universal Design, 2002/2008; Wong B. Nat Methods 2011;8:441 (palette).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from typing import Any

from redif.data import load_yaml
from redif.errors import InputError
from redif.response.criteria import recist_criteria

__all__ = [
    "COLOUR_BY",
    "CohortFigure",
    "best_change_from_baseline_pct",
    "palette",
    "parse_cohort_csv",
    "swimmer_data",
    "waterfall_data",
]

#: The columns a cohort figure may be coloured by.
COLOUR_BY: tuple[str, ...] = ("genotype", "site", "uptake_restored")

_UPTAKE_LABELS = {"1": "uptake restored", "0": "uptake not restored", "": "uptake not assessed"}


def palette() -> list[str]:
    """The Okabe-Ito colours in the order categories get them (black last: it is kept for text)."""
    doc = load_yaml("palette.yaml")
    order = ("blue", "orange", "bluish_green", "vermillion", "sky_blue", "reddish_purple", "yellow", "grey",
             "black")
    return [str(doc["colours"][k]) for k in order]


def best_change_from_baseline_pct(
    sums: Sequence[tuple[date | None, float | None]], index: date | None
) -> float | None:
    """Best (most negative) percentage change of the sum of target diameters from baseline.

    Parameters
    ----------
    sums
        (assessment date, sum of target diameters in mm) of the patient's RECIST assessments.
    index
        First redifferentiation-drug start: the baseline is the last sum dated on or before it.

    Returns
    -------
    float or None
        ``min((sum - baseline) / baseline) x 100`` over the sums dated after the baseline, rounded to
        0.1 %; None without a dated baseline > 0 mm, an index date or a later sum.

    References
    ----------
    Eisenhauer 2009 (RECIST 1.1): the baseline sum is the reference for response; the waterfall shows the
    best change of each patient.
    """
    if index is None:
        return None
    dated = sorted((d, s) for d, s in sums if d is not None and s is not None)
    before = [(d, s) for d, s in dated if d <= index]
    if not before or before[-1][1] <= 0:
        return None
    base_date, base = before[-1]
    later = [s for d, s in dated if d > base_date]
    if not later:
        return None
    best = min(Fraction(s) - Fraction(base) for s in later) / Fraction(base) * 100
    return round(float(best), 1)


@dataclass(frozen=True)
class CohortFigure:
    """The data of a cohort figure.

    Attributes
    ----------
    kind
        ``swimmer`` or ``waterfall``.
    colour_by
        The column giving the category of each patient.
    categories
        ``{category: colour}`` in legend order.
    lanes
        One dict per patient, in drawing order (top to bottom, or left to right): ``lane`` (0-based),
        ``patient``, ``site``, ``genotype``, ``uptake_restored``, ``category``, ``colour`` and, for the
        swimmer, ``end_days`` and ``ongoing``; for the waterfall, ``best_change_pct``.
    marks
        ``kind``, ``lane``, ``patient``, ``day`` (days from the first drug start; None for bars of the
        waterfall), ``end`` (bars), ``label``, ``value``, ``category``.
    left_out
        ``{"patient": ..., "reason": ...}`` for the rows not drawn.
    filters
        The genotype and site filters applied.
    reference_lines
        Waterfall: ``{"PD": +20.0, "PR": -30.0}`` (RECIST 1.1, ``data/recist.yaml``).
    """

    kind: str
    colour_by: str
    categories: dict[str, str]
    lanes: list[dict[str, Any]]
    marks: list[dict[str, Any]]
    left_out: list[dict[str, str]] = field(default_factory=list)
    filters: dict[str, list[str]] = field(default_factory=dict)
    reference_lines: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "kind": self.kind, "colour_by": self.colour_by, "categories": self.categories,
            "lanes": self.lanes, "marks": self.marks, "left_out": self.left_out, "filters": self.filters,
            "reference_lines": self.reference_lines, "n_patients": len(self.lanes),
        }


def _text(row: Mapping[str, Any], key: str) -> str:
    v = row.get(key)
    return "" if v is None else str(v).strip()


def _int(row: Mapping[str, Any], key: str, patient: str) -> int | None:
    raw = _text(row, key)
    if raw == "":
        return None
    try:
        return int(float(raw))
    except ValueError:
        raise InputError(f"patient {patient}: {key} is not a number", field="rows", value=raw,
                         remedy=f"write {key} as a whole number of days (or leave the cell empty)") from None


def _float(row: Mapping[str, Any], key: str, patient: str) -> float | None:
    raw = _text(row, key)
    if raw == "":
        return None
    try:
        return float(raw)
    except ValueError:
        raise InputError(f"patient {patient}: {key} is not a number", field="rows", value=raw,
                         remedy=f"write {key} as a number (or leave the cell empty)") from None


def _category(row: Mapping[str, Any], colour_by: str) -> str:
    if colour_by == "uptake_restored":
        raw = _text(row, "uptake_restored")
        return _UPTAKE_LABELS.get(raw, raw)
    return _text(row, colour_by) or "unknown"


def _prepare(
    rows: Iterable[Mapping[str, Any]], colour_by: str, genotypes: Sequence[str], sites: Sequence[str]
) -> list[Mapping[str, Any]]:
    if colour_by not in COLOUR_BY:
        raise InputError("unknown colour column", field="colour_by", value=colour_by,
                         remedy=f"use one of {', '.join(COLOUR_BY)}")
    out = []
    for row in rows:
        if "patient" not in row:
            raise InputError("the rows lack the patient column", field="rows",
                             remedy="give the registry's analysis dataset (docs/analysis-dataset.md)")
        if genotypes and _text(row, "genotype") not in genotypes:
            continue
        if sites and _text(row, "site") not in sites:
            continue
        out.append(row)
    return out


def _categories(rows: Sequence[Mapping[str, Any]], colour_by: str) -> dict[str, str]:
    colours = palette()
    if colour_by == "uptake_restored":
        names = [n for n in _UPTAKE_LABELS.values() if any(_category(r, colour_by) == n for r in rows)]
        names += sorted({_category(r, colour_by) for r in rows} - set(names))
    else:
        names = sorted({_category(r, colour_by) for r in rows})
    return {n: colours[i % len(colours)] for i, n in enumerate(names)}


def _lane(i: int, row: Mapping[str, Any], cat: str, colour: str) -> dict[str, Any]:
    return {
        "lane": i, "patient": _text(row, "patient"), "site": _text(row, "site"),
        "genotype": _text(row, "genotype"), "uptake_restored": _text(row, "uptake_restored") or None,
        "category": cat, "colour": colour,
    }


def swimmer_data(
    rows: Iterable[Mapping[str, Any]],
    *,
    colour_by: str = "genotype",
    genotypes: Sequence[str] = (),
    sites: Sequence[str] = (),
) -> CohortFigure:
    """Swimmer-plot data: one lane per patient from the first drug start.

    Parameters
    ----------
    rows
        Analysis-dataset rows (``patient``, ``site``, ``genotype``, ``uptake_restored``, ``pfs_days``,
        ``pfs_event``, ``ttnt_event``, ``drug_days``, ``first_131i_days``, ``first_response_days``,
        ``follow_up_days``).
    colour_by
        ``genotype``, ``site`` or ``uptake_restored``.
    genotypes, sites
        Keep only these genotype labels / site codes (empty: all).

    Returns
    -------
    CohortFigure
        Lanes sorted by length (longest on top); marks of kinds ``drug`` (bar from day 0 to
        ``end``), ``131I``, ``response``, ``progression``, ``censored``, ``ongoing`` (arrow at the lane
        end). A row without ``follow_up_days`` is left out with the reason.

    Raises
    ------
    InputError
        For an unknown ``colour_by``, rows without a ``patient`` column or a non-numeric day cell.
    """
    kept = _prepare(rows, colour_by, genotypes, sites)
    left_out: list[dict[str, str]] = []
    drawn: list[tuple[int, Mapping[str, Any]]] = []
    for row in kept:
        p = _text(row, "patient")
        fu = _int(row, "follow_up_days", p)
        if fu is None:
            left_out.append({"patient": p, "reason": "no follow_up_days (no dated course start)"})
            continue
        drawn.append((fu, row))
    drawn.sort(key=lambda x: (-x[0], _text(x[1], "patient")))
    cats = _categories([r for _, r in drawn], colour_by)
    lanes: list[dict[str, Any]] = []
    marks: list[dict[str, Any]] = []
    for i, (fu, row) in enumerate(drawn):
        p = _text(row, "patient")
        cat = _category(row, colour_by)
        pfs, pfs_event = _int(row, "pfs_days", p), _int(row, "pfs_event", p)
        ttnt_event = _int(row, "ttnt_event", p)
        drug = _int(row, "drug_days", p)
        ongoing = pfs_event == 0 and ttnt_event == 0
        end = max([fu] + [d for d in (pfs, drug) if d is not None])
        lane = _lane(i, row, cat, cats[cat])
        lane.update(end_days=end, ongoing=ongoing)
        lanes.append(lane)

        def add(kind: str, day: int | None, label: str, value: float | None = None, *,
                end_day: int | None = None, lane_i: int = i, patient: str = p, category: str = cat) -> None:
            marks.append({"kind": kind, "lane": lane_i, "patient": patient, "day": day, "end": end_day,
                          "label": label, "value": value, "category": category})

        drug_end = drug if drug is not None else end
        add("drug", 0, _text(row, "drug") or "redifferentiation drug", float(drug_end), end_day=drug_end)
        i131 = _int(row, "first_131i_days", p)
        if i131 is not None:
            add("131I", i131, f"131I day {i131}", float(i131))
        resp = _int(row, "first_response_days", p)
        if resp is not None:
            add("response", resp, f"first response day {resp}", float(resp))
        if pfs is not None and pfs_event == 1:
            add("progression", pfs, f"progression or death day {pfs}", float(pfs))
        elif pfs is not None and pfs_event == 0:
            add("censored", pfs, f"censored day {pfs} (last assessment)", float(pfs))
        if ongoing:
            add("ongoing", end, "ongoing", float(end))
    return CohortFigure("swimmer", colour_by, cats, lanes, marks, left_out,
                        {"genotype": list(genotypes), "site": list(sites)})


def waterfall_data(
    rows: Iterable[Mapping[str, Any]],
    *,
    colour_by: str = "genotype",
    genotypes: Sequence[str] = (),
    sites: Sequence[str] = (),
) -> CohortFigure:
    """Waterfall data: the best percentage change of the sum of target diameters per patient.

    Parameters
    ----------
    rows
        Analysis-dataset rows with ``best_change_pct`` (and ``patient``, ``site``, ``genotype``,
        ``uptake_restored``, ``objective_response``).
    colour_by, genotypes, sites
        As :func:`swimmer_data`.

    Returns
    -------
    CohortFigure
        Bars (marks of kind ``bar``, ``value`` = best change in %) sorted from the largest increase to the
        largest decrease; rows without ``best_change_pct`` are left out with the reason; the RECIST
        levels in ``reference_lines``.
    """
    kept = _prepare(rows, colour_by, genotypes, sites)
    left_out: list[dict[str, str]] = []
    drawn: list[tuple[float, Mapping[str, Any]]] = []
    for row in kept:
        p = _text(row, "patient")
        v = _float(row, "best_change_pct", p)
        if v is None:
            left_out.append({"patient": p, "reason": "no best_change_pct (no baseline and later sum of "
                             "target diameters)"})
            continue
        drawn.append((v, row))
    drawn.sort(key=lambda x: (-x[0], _text(x[1], "patient")))
    cats = _categories([r for _, r in drawn], colour_by)
    lanes: list[dict[str, Any]] = []
    marks: list[dict[str, Any]] = []
    for i, (v, row) in enumerate(drawn):
        cat = _category(row, colour_by)
        lane = _lane(i, row, cat, cats[cat])
        lane["best_change_pct"] = v
        lanes.append(lane)
        marks.append({"kind": "bar", "lane": i, "patient": lane["patient"], "day": None, "end": None,
                      "label": f"{lane['patient']}: {v:+.1f}%", "value": v, "category": cat})
    c = recist_criteria()
    refs = {"PD": float(c.pd_increase * 100), "PR": -float(c.pr_decrease * 100)}
    return CohortFigure("waterfall", colour_by, cats, lanes, marks, left_out,
                        {"genotype": list(genotypes), "site": list(sites)}, refs)


def parse_cohort_csv(text: str, *, name: str = "file") -> list[dict[str, str]]:
    """The rows of an analysis-dataset CSV (text cells) for :func:`swimmer_data` and
    :func:`waterfall_data`.

    Raises
    ------
    InputError
        When the header lacks ``patient``, ``site`` or ``genotype`` (naming the file and the fix).
    """
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = reader.fieldnames or []
    missing = [c for c in ("patient", "site", "genotype") if c not in header]
    if missing:
        raise InputError(f"{name}: the CSV lacks the column(s) {', '.join(missing)}", field="file",
                         value=",".join(header[:8]),
                         remedy="give the registry's analysis dataset (docs/analysis-dataset.md)")
    return [dict(r) for r in reader]
