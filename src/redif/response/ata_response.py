"""ATA 2015 response to therapy: classify each follow-up time point (Haugen 2016, Table 13).

Each follow-up time point is classified as ``excellent``, ``indeterminate``, ``biochemical_incomplete`` or
``structural_incomplete`` (:class:`redif.model.AtaResponse`) from

- **imaging**: dated findings, each ``disease`` (structural or functional evidence of disease),
  ``nonspecific`` (e.g. equivocal or faint radioiodine uptake) or ``negative`` (structural imaging without
  disease);
- **thyroglobulin** with the TSH state of the sample (suppressed or stimulated);
- **TgAb**: positivity and the trend of the titre (rising vs stable or declining).

The thresholds and rules are data (``redif/data/ata_response.yaml``), each with its source and grade;
every classified point carries the rule that fired, its source and grade. The engine does no I/O.

Scope
-----
Table 13 is defined for patients **after total thyroidectomy and radioiodine remnant ablation**. For
redifferentiation follow-up the categories are applied to each time point after a recorded 131I course,
as issue 11 asks; they describe the disease state at that time point and are not a validated outcome
measure of redifferentiation. :func:`scope` returns this caveat with its source; show it with the result.

What a time point needs, and missing data
-----------------------------------------
A time point is the date of a laboratory value (Tg or TgAb) or of an imaging finding after the first
therapy date (when therapy dates are given). It uses the imaging and the latest laboratory values dated
within ``window_days`` before it and after the previous therapy. Rules are tried in order:

1. imaging shows disease -> structural incomplete (any Tg, any TgAb). Without imaging a point can never be
   structural incomplete, and it is never excellent (excellent needs negative imaging);
2. TgAb rising (titre up by more than ``tgab_rise_fraction`` of the previous titre, or de novo positive)
   -> biochemical incomplete;
3. TgAb positive -> Tg is not interpretable: indeterminate (stable or declining TgAb, or no earlier
   titre to judge the trend) — at best indeterminate unless imaging decides;
4. Tg (TgAb negative or not measured): suppressed Tg >= 1 or stimulated Tg >= 10 ng/mL -> biochemical
   incomplete; non-specific imaging -> indeterminate; suppressed 0.2 to < 1 or stimulated 1 to < 10 ng/mL
   -> indeterminate; a Tg of unknown TSH state whose category depends on the state -> indeterminate;
   below 0.2 (suppressed) or 1 ng/mL (stimulated) -> excellent only with negative imaging and a negative
   TgAb, otherwise indeterminate (the rule says which was missing);
5. no Tg at all -> indeterminate (``no_tg``).

When several Tg samples share the latest date (e.g. suppressed and stimulated), the worst category wins.

References
----------
Haugen BR et al. 2015 American Thyroid Association Management Guidelines for Adult Patients with Thyroid
Nodules and Differentiated Thyroid Cancer. Thyroid 2016;26(1):1-133, PMID 26462967, Table 13 (read in the
transcription of PMC7578621 Table 1; grade secondary). Reverter JL et al. J Thyroid Res 2020;2020:8312628
(TgAb rising patterns).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from redif.data import Grade, load_yaml
from redif.errors import InputError
from redif.model import AtaResponse, TshState

__all__ = [
    "AtaRule",
    "AtaThresholds",
    "AtaTimePoint",
    "ImagingFinding",
    "ImagingStatus",
    "LabSample",
    "classify_time_points",
    "rules",
    "scope",
    "thresholds",
]

_DATA_FILE = "ata_response.yaml"

#: What an imaging finding shows: structural/functional disease, a non-specific finding, or no disease.
ImagingStatus = Literal["disease", "nonspecific", "negative"]


@dataclass(frozen=True)
class AtaRule:
    """One rule of ``ata_response.yaml``."""

    id: str
    category: AtaResponse
    text: str
    source: str
    grade: Grade


@dataclass(frozen=True)
class AtaThresholds:
    """The sourced thresholds (ng/mL, fraction, days); see ``ata_response.yaml`` for each source."""

    excellent_suppressed_tg_below: float
    excellent_stimulated_tg_below: float
    biochemical_suppressed_tg_at_least: float
    biochemical_stimulated_tg_at_least: float
    tgab_rise_fraction: float
    window_days: int


@dataclass(frozen=True)
class LabSample:
    """Tg and/or TgAb drawn on one date.

    ``tgab_positive`` is the laboratory's verdict against its assay cut-off (``None``: not reported); the
    titre ``tgab_iu_ml`` alone does not say positive or negative (the cut-off is assay-specific) but
    serves the trend.
    """

    date: dt.date
    tg_ng_ml: float | None = None
    tsh_state: TshState = TshState.UNKNOWN
    tgab_positive: bool | None = None
    tgab_iu_ml: float | None = None

    @property
    def has_tgab(self) -> bool:
        """Whether TgAb was reported (verdict or titre)."""
        return self.tgab_positive is not None or self.tgab_iu_ml is not None


@dataclass(frozen=True)
class ImagingFinding:
    """One dated imaging finding; ``what`` names it (e.g. ``"CT 2024-09-01: target lesions present"``)."""

    date: dt.date
    status: ImagingStatus
    what: str


@dataclass(frozen=True)
class AtaTimePoint:
    """The category of one follow-up time point, with the rule that fired."""

    date: dt.date
    category: AtaResponse
    rule: AtaRule
    detail: str
    basis: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """``{date, category, rule, text, source, grade, detail, basis}`` (stable keys)."""
        return {
            "date": self.date.isoformat(),
            "category": self.category.value,
            "label": self.category.label,
            "rule": self.rule.id,
            "text": self.rule.text,
            "source": self.rule.source,
            "grade": self.rule.grade.value,
            "detail": self.detail,
            "basis": list(self.basis),
        }


@lru_cache(maxsize=1)
def _data() -> Mapping[str, Any]:
    data: Mapping[str, Any] = load_yaml(_DATA_FILE)
    return data


def rules() -> dict[str, AtaRule]:
    """The rules of ``ata_response.yaml`` by id, in the order they are tried."""
    return {
        str(r["id"]): AtaRule(
            id=str(r["id"]), category=AtaResponse(r["category"]), text=" ".join(str(r["text"]).split()),
            source=str(r["source"]), grade=Grade(r["grade"]),
        )
        for r in _data()["rules"]
    }


def thresholds() -> AtaThresholds:
    """The sourced thresholds of ``ata_response.yaml``."""
    t = _data()["thresholds"]
    return AtaThresholds(
        excellent_suppressed_tg_below=float(t["excellent_suppressed_tg_below"]["value"]),
        excellent_stimulated_tg_below=float(t["excellent_stimulated_tg_below"]["value"]),
        biochemical_suppressed_tg_at_least=float(t["biochemical_suppressed_tg_at_least"]["value"]),
        biochemical_stimulated_tg_at_least=float(t["biochemical_stimulated_tg_at_least"]["value"]),
        tgab_rise_fraction=float(t["tgab_rise_fraction"]["value"]),
        window_days=int(t["window_days"]["value"]),
    )


def scope() -> dict[str, str]:
    """The scope caveat of Table 13 (``text``, ``source``, ``grade``) to show with every result."""
    s = _data()["scope"]
    return {"text": " ".join(str(s["text"]).split()), "source": str(s["source"]), "grade": str(s["grade"])}


def _tg_category(tg: float, state: TshState, t: AtaThresholds) -> tuple[AtaResponse, str]:
    """Category and rule id of one Tg value under a known TSH state (TgAb negative)."""
    if state is TshState.SUPPRESSED:
        if tg >= t.biochemical_suppressed_tg_at_least:
            return AtaResponse.BIOCHEMICAL_INCOMPLETE, "tg_suppressed_high"
        if tg >= t.excellent_suppressed_tg_below:
            return AtaResponse.INDETERMINATE, "tg_suppressed_intermediate"
        return AtaResponse.EXCELLENT, "excellent"
    if tg >= t.biochemical_stimulated_tg_at_least:
        return AtaResponse.BIOCHEMICAL_INCOMPLETE, "tg_stimulated_high"
    if tg >= t.excellent_stimulated_tg_below:
        return AtaResponse.INDETERMINATE, "tg_stimulated_intermediate"
    return AtaResponse.EXCELLENT, "excellent"


def _sample_category(s: LabSample, t: AtaThresholds) -> tuple[AtaResponse, str, str]:
    """Category, rule id and a description of one Tg sample; an unknown TSH state is judged both ways."""
    assert s.tg_ng_ml is not None
    if s.tsh_state is not TshState.UNKNOWN:
        cat, rid = _tg_category(s.tg_ng_ml, s.tsh_state, t)
        return cat, rid, f"{s.tsh_state.value} Tg {s.tg_ng_ml:g} ng/mL ({s.date})"
    sup, _ = _tg_category(s.tg_ng_ml, TshState.SUPPRESSED, t)
    sti, rsti = _tg_category(s.tg_ng_ml, TshState.STIMULATED, t)
    what = f"Tg {s.tg_ng_ml:g} ng/mL, TSH state unknown ({s.date})"
    if sup is sti:
        return sti, rsti, what  # both readings agree (the stimulated rule holds a fortiori)
    return (
        AtaResponse.INDETERMINATE,
        "tsh_state_unknown",
        f"{what}: {sup.label.lower()} if suppressed, {sti.label.lower()} if stimulated",
    )


def _tgab_trend(history: Sequence[LabSample], t: AtaThresholds) -> tuple[bool | None, str]:
    """Whether the latest TgAb is rising against the previous one (``None``: no earlier value to judge)."""
    ab = [s for s in history if s.has_tgab]
    if len(ab) < 2:
        return None, "no earlier TgAb to judge the trend"
    prev, cur = ab[-2], ab[-1]
    if prev.tgab_positive is False and cur.tgab_positive is True:
        return True, f"TgAb turned positive ({prev.date} negative, {cur.date} positive)"
    if prev.tgab_iu_ml is not None and cur.tgab_iu_ml is not None and cur.tgab_positive is not False:
        limit = prev.tgab_iu_ml * (1 + t.tgab_rise_fraction)
        if cur.tgab_iu_ml > limit:
            return True, (
                f"TgAb {prev.tgab_iu_ml:g} -> {cur.tgab_iu_ml:g} IU/mL ({prev.date} -> {cur.date}): "
                f"up by more than {100 * t.tgab_rise_fraction:g} %"
            )
        return False, (
            f"TgAb {prev.tgab_iu_ml:g} -> {cur.tgab_iu_ml:g} IU/mL ({prev.date} -> {cur.date}): "
            "stable or declining"
        )
    if prev.tgab_positive is not None and cur.tgab_positive is not None:
        return False, (
            f"TgAb {'positive' if prev.tgab_positive else 'negative'} -> "
            f"{'positive' if cur.tgab_positive else 'negative'} ({prev.date} -> {cur.date}), no titres"
        )
    return None, "TgAb titres not comparable (verdict and titre mixed)"


def _tgab_text(s: LabSample) -> str:
    verdict = {True: "positive", False: "negative", None: "(no verdict)"}[s.tgab_positive]
    titre = "" if s.tgab_iu_ml is None else f" {s.tgab_iu_ml:g} IU/mL"
    return f"TgAb {verdict}{titre} ({s.date})"


def _validate(labs: Sequence[LabSample], imaging: Sequence[ImagingFinding], window_days: int) -> None:
    for i, s in enumerate(labs):
        for name in ("tg_ng_ml", "tgab_iu_ml"):
            v = getattr(s, name)
            if v is not None and not v >= 0:
                raise InputError("must be >= 0", field=f"labs[{i}].{name}", value=v,
                                 remedy="give the measured value (ng/mL for Tg, IU/mL for TgAb)")
    for i, f in enumerate(imaging):
        if f.status not in ("disease", "nonspecific", "negative"):
            raise InputError("unknown imaging status", field=f"imaging[{i}].status", value=f.status,
                             remedy="use disease, nonspecific or negative")
    if window_days < 1:
        raise InputError("must be >= 1 day", field="window_days", value=window_days)


def _classify_one(
    day: dt.date,
    labs: Sequence[LabSample],
    imaging: Sequence[ImagingFinding],
    all_labs: Sequence[LabSample],
    t: AtaThresholds,
    table: Mapping[str, AtaRule],
) -> AtaTimePoint:
    """Classify the time point ``day`` from the evidence in its window (``labs``, ``imaging``)."""

    def point(rid: str, detail: str, basis: Iterable[str]) -> AtaTimePoint:
        rule = table[rid]
        return AtaTimePoint(date=day, category=rule.category, rule=rule, detail=detail, basis=tuple(basis))

    disease = [f for f in imaging if f.status == "disease"]
    nonspecific = [f for f in imaging if f.status == "nonspecific"]
    negative = [f for f in imaging if f.status == "negative"]
    img_basis = [f.what for f in imaging]
    if disease:
        return point("structural_evidence", "; ".join(f.what for f in disease), img_basis)
    no_imaging = "" if imaging else " No imaging in the window: structural disease is not excluded."

    ab_history = [s for s in all_labs if s.date <= day and s.has_tgab]
    ab_now = [s for s in labs if s.has_tgab]
    rising, trend = _tgab_trend(ab_history, t) if ab_now else (None, "")
    lab_basis = [_tgab_text(s) for s in ab_now[-1:]]
    if rising:
        return point("tgab_rising", trend + "." + no_imaging, [*img_basis, *lab_basis])
    tgab_positive = bool(ab_now) and ab_now[-1].tgab_positive is True
    if tgab_positive:
        rid = "tgab_positive_stable" if rising is False else "tgab_positive_trend_unknown"
        return point(rid, f"{trend}; Tg not used." + no_imaging, [*img_basis, *lab_basis])

    tg_samples = [s for s in labs if s.tg_ng_ml is not None]
    if not tg_samples:
        if nonspecific:
            return point("imaging_nonspecific", "; ".join(f.what for f in nonspecific), img_basis)
        return point("no_tg", "No Tg in the window." + no_imaging, [*img_basis, *lab_basis])
    latest = max(s.date for s in tg_samples)
    judged = [_sample_category(s, t) for s in tg_samples if s.date == latest]
    worst = max(judged, key=lambda j: j[0].rank)
    tg_basis = [what for _, _, what in judged]
    basis = [*img_basis, *tg_basis, *lab_basis]
    tgab_negative = bool(ab_now) and ab_now[-1].tgab_positive is False
    tgab_note = "" if tgab_negative else " TgAb negativity not reported."
    if worst[0] is AtaResponse.BIOCHEMICAL_INCOMPLETE:
        return point(worst[1], worst[2] + "." + tgab_note + no_imaging, basis)
    if nonspecific:
        return point("imaging_nonspecific", "; ".join(f.what for f in nonspecific) + f"; {worst[2]}.", basis)
    if worst[0] is AtaResponse.INDETERMINATE:
        return point(worst[1], worst[2] + "." + tgab_note + no_imaging, basis)
    if not negative:
        return point("excellent_range_no_imaging", worst[2] + "." + tgab_note, basis)
    if not tgab_negative:
        return point("excellent_range_tgab_unknown", worst[2] + "." + tgab_note, basis)
    found = "; ".join(f.what for f in negative)
    return point("excellent", f"{worst[2]}; TgAb negative; {found}.", basis)


def classify_time_points(
    labs: Sequence[LabSample],
    imaging: Sequence[ImagingFinding],
    *,
    therapy_dates: Sequence[dt.date] = (),
    as_of: dt.date | None = None,
    window_days: int | None = None,
) -> tuple[AtaTimePoint, ...]:
    """Classify every follow-up time point (ATA 2015 Table 13 categories).

    Parameters
    ----------
    labs
        Tg / TgAb samples (any order).
    imaging
        Dated imaging findings (any order).
    therapy_dates
        Dates of 131I therapy. When given, only dates after the first one are time points, and a time point
        uses only evidence dated after the last therapy before it.
    as_of
        Ignore everything after this date.
    window_days
        Override of ``window_days`` of ``ata_response.yaml`` (how far back a time point looks).

    Returns
    -------
    tuple of AtaTimePoint
        One per date that has a laboratory value or an imaging finding, in date order.

    Raises
    ------
    InputError
        For a negative laboratory value, an unknown imaging status or a window below one day.
    """
    t = thresholds()
    window = t.window_days if window_days is None else int(window_days)
    _validate(labs, imaging, window)
    table = rules()
    useful = sorted((s for s in labs if s.tg_ng_ml is not None or s.has_tgab), key=lambda s: s.date)
    findings = sorted(imaging, key=lambda f: f.date)
    if as_of is not None:
        useful = [s for s in useful if s.date <= as_of]
        findings = [f for f in findings if f.date <= as_of]
    therapies = sorted(therapy_dates)
    days = sorted({s.date for s in useful} | {f.date for f in findings})
    if therapies:
        days = [d for d in days if d > therapies[0]]
    out = []
    for day in days:
        start = day - dt.timedelta(days=window)
        before = [d for d in therapies if d < day]
        if before:
            start = max(start, before[-1] + dt.timedelta(days=1))
        in_labs = [s for s in useful if start <= s.date <= day]
        in_img = [f for f in findings if start <= f.date <= day]
        out.append(_classify_one(day, in_labs, in_img, useful, t, table))
    return tuple(out)
