"""Bridge from a case (or a registry patient) to the ATA 2015 response-to-therapy engine.

:func:`ata_response` turns a case's labs, imaging and 131I courses into the input of
:func:`redif.response.ata_response.classify_time_points`:

- **labs**: each ``labs[]`` entry with Tg and/or TgAb, with its TSH state and TgAb verdict/titre;
- **imaging**, dated findings:

  * a RECIST time point (``response_assessments[]``) shows *disease* when a new lesion is reported, a
    non-target lesion is present or progressing, or a target lesion measures > 0 mm (a lymph node:
    short axis >= the RECIST pathological size, ``recist.yaml``); it is *negative* when every lesion
    was evaluated and none shows disease; otherwise it says nothing (not evaluated);
  * a radioiodine scan (diagnostic or post-therapy) with uptake ``present`` in a lesion is *functional*
    evidence of disease; ``equivocal`` uptake is a *non-specific* finding. A scan without uptake is not
    negative imaging (RAI-refractory disease does not take up iodine);
  * a progression event documented by RECIST 1.1, FDG PET or clinically is evidence of disease;

- **therapy dates**: the 131I courses (``rai_courses[].date``).

Table 13 of the ATA 2015 guideline is defined after total thyroidectomy and RAI remnant ablation: the
caveat (:func:`redif.response.ata_response.scope`) travels with the result.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from redif.data import load_yaml
from redif.model import NonTargetStatus, OverallResponse, ProgressionCriterion, TshState, UptakeStatus
from redif.pathway.case import Case
from redif.response.ata_response import AtaTimePoint, ImagingFinding, LabSample, classify_time_points

__all__ = ["ata_from_registry", "ata_response", "imaging_findings", "lab_samples"]

_STRUCTURAL_PROGRESSION = frozenset(
    {ProgressionCriterion.RECIST_1_1, ProgressionCriterion.FDG_PET, ProgressionCriterion.CLINICAL}
)


def _node_threshold_mm() -> float:
    return float(load_yaml("recist.yaml")["node_pathological_min_short_axis_mm"]["value"])


def lab_samples(case: Case) -> list[LabSample]:
    """The Tg / TgAb samples of a case."""
    return [
        LabSample(date=lab.date, tg_ng_ml=lab.tg_ng_ml, tsh_state=lab.tsh_state,
                  tgab_positive=lab.tgab_positive, tgab_iu_ml=lab.tgab_iu_ml)
        for lab in case.labs
        if lab.tg_ng_ml is not None or lab.tgab_iu_ml is not None or lab.tgab_positive is not None
    ]


def _scan_findings(date: dt.date, name: str, uptake: Mapping[str, UptakeStatus]) -> list[ImagingFinding]:
    present = sorted(k for k, v in uptake.items() if v is UptakeStatus.PRESENT)
    equivocal = sorted(k for k, v in uptake.items() if v is UptakeStatus.EQUIVOCAL)
    out = []
    if present:
        out.append(ImagingFinding(date, "disease", f"{name} {date}: uptake in {', '.join(present)}"))
    if equivocal:
        what = f"{name} {date}: equivocal uptake in {', '.join(equivocal)}"
        out.append(ImagingFinding(date, "nonspecific", what))
    return out


def imaging_findings(case: Case) -> list[ImagingFinding]:
    """The dated imaging findings of a case (see the module docstring for what counts)."""
    node_mm = _node_threshold_mm()
    out: list[ImagingFinding] = []
    for i, ra in enumerate(case.response_assessments):
        name = f"response_assessments[{i}] {ra.date}"
        shown: list[str] = []
        unknown = False
        for lid, mm in ra.target_mm.items():
            les = case.lesion(lid)
            if mm is None:
                unknown = True
            elif mm > 0 and not (les is not None and les.lymph_node and mm < node_mm):
                shown.append(f"{lid} {mm:g} mm")
        for lid, status in ra.non_target.items():
            if status in (NonTargetStatus.PRESENT, NonTargetStatus.PROGRESSION):
                shown.append(f"{lid} {status.value}")
            elif status is NonTargetStatus.NOT_EVALUATED:
                unknown = True
        if ra.new_lesions:
            shown.append("new lesion(s)")
        if shown:
            out.append(ImagingFinding(ra.date, "disease", f"{name}: {', '.join(shown)}"))
        elif not unknown and (ra.target_mm or ra.non_target):
            out.append(ImagingFinding(ra.date, "negative", f"{name}: no lesion shows disease"))
    for i, c in enumerate(case.rai_courses):
        pts = c.post_therapy_scan
        if pts is not None:
            out += _scan_findings(pts.date or c.date, f"post-therapy scan (rai_courses[{i}])", pts.uptake)
    for i, s in enumerate(case.diagnostic_scans):
        out += _scan_findings(s.date, f"{s.tracer} scan (diagnostic_scans[{i}])", s.uptake)
    for i, ev in enumerate(case.progression_events):
        if ev.criterion in _STRUCTURAL_PROGRESSION:
            out.append(ImagingFinding(ev.date, "disease",
                                      f"progression_events[{i}] {ev.date}: {ev.criterion.label} progression"))
    return out


def ata_response(case: Case) -> tuple[AtaTimePoint, ...]:
    """The ATA 2015 category of every follow-up time point of a case (after its first 131I course)."""
    return classify_time_points(
        lab_samples(case), imaging_findings(case),
        therapy_dates=[c.date for c in case.rai_courses], as_of=case.as_of(),
    )


def _date(value: Any) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def ata_from_registry(patient: Mapping[str, Any]) -> tuple[AtaTimePoint, ...]:
    """The ATA 2015 categories from a registry patient (``patient_to_dict`` shape).

    The registry holds Tg and TgAb values without the TSH state or the TgAb verdict (so Tg thresholds are
    judged both ways and TgAb gives only a trend), the RECIST overall response per assessment (CR ->
    negative imaging; PR, SD, NON-CR/NON-PD, PD -> disease; NE -> nothing) and the 131I dates (prior
    courses and administrations after redifferentiation).
    """
    records = patient.get("records") or {}
    by_date: dict[dt.date, dict[str, float]] = {}
    for lab in records.get("labs") or []:
        d = _date(lab.get("sample_date"))
        analyte = str(lab.get("analyte") or "")
        unit = str(lab.get("unit") or "").replace(" ", "").lower()
        if d is None or lab.get("value") is None:
            continue
        if analyte == "Tg" and unit in ("ng/ml", "µg/l", "ug/l"):
            by_date.setdefault(d, {})["tg"] = float(lab["value"])
        elif analyte == "TgAb" and unit in ("iu/ml", "kiu/l"):
            by_date.setdefault(d, {})["tgab"] = float(lab["value"])
    labs = [
        LabSample(date=d, tg_ng_ml=v.get("tg"), tsh_state=TshState.UNKNOWN, tgab_iu_ml=v.get("tgab"))
        for d, v in sorted(by_date.items())
    ]
    imaging = []
    for r in records.get("responses") or []:
        d = _date(r.get("assessment_date"))
        code = r.get("overall_response")
        if d is None or not code:
            continue
        try:
            resp = OverallResponse.parse(str(code))
        except ValueError:
            continue
        if resp is OverallResponse.CR:
            imaging.append(ImagingFinding(d, "negative", f"RECIST {resp.label} ({d})"))
        elif resp is not OverallResponse.NE:
            imaging.append(ImagingFinding(d, "disease", f"RECIST {resp.label} ({d})"))
    therapies = [d for r in records.get("rai-history") or [] if (d := _date(r.get("treatment_date")))]
    given = records.get("administrations") or []
    therapies += [d for r in given if (d := _date(r.get("administration_date")))]
    return classify_time_points(labs, imaging, therapy_dates=therapies)
