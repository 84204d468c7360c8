"""The case model: one pseudonymous patient, as a validated pydantic v2 document.

A case file (YAML or JSON) holds what the pathway needs to answer, in order: is the disease
RAI-refractory, which regimen fits the genotype, the dated protocol, go / no-go after the uptake scan,
and the response. Its JSON Schema is printed by ``redif patient schema``; ``docs/pathway.md`` shows a
commented example.

Pseudonymity is enforced: fields that identify a person (``name``, ``mrn``, ``birth_date`` and their
variants) are rejected, ``case_id`` must look like a code rather than a name, and only the year of birth
or the age may be given.

References
----------
Harmonised minimum data set: docs/methods/minimum-data-set.md (ITOG statement, Leboulleux et al.,
Lancet Diabetes Endocrinol 2025;13:516-527, PMID 40318680).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from redif.dosimetry.plan_input import DosimetryPlanInput
from redif.errors import InputError
from redif.io.yaml_doc import MAX_FILE_BYTES, load_document
from redif.model import (
    AlterationKind,
    Gene,
    Histology,
    LesionPattern,
    NonTargetStatus,
    ProgressionCriterion,
    RaiIntent,
    Setting,
    Tracer,
    TshState,
    TshStimulation,
)
from redif.model import ImagingModality as Modality
from redif.model import UptakeStatus as Uptake

__all__ = [
    "AlterationKind",
    "Case",
    "CaseValidationError",
    "DiagnosticScan",
    "DosimetryResults",
    "DosimetrySection",
    "DrugDose",
    "GenomicAlteration",
    "Histology",
    "LabResult",
    "Lesion",
    "LesionDosimetry",
    "LesionPattern",
    "LesionUptake",
    "Modality",
    "NonTargetStatus",
    "PostTherapyScan",
    "ProgressionCriterion",
    "ProgressionEvent",
    "RaiCourse",
    "RaiIntent",
    "RedifferentiationCourse",
    "ResponseAssessment",
    "SafetyBaseline",
    "Setting",
    "TshState",
    "TshStimulation",
    "Uptake",
    "UptakeAssessment",
    "case_json_schema",
    "load_case",
    "parse_case",
]

_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
Ident = Annotated[str, Field(pattern=_ID_PATTERN, description="Identifier: letters, digits, '_', '-', '.'")]

#: Keys that would identify a person. Matched case-insensitively, ignoring '_', '-' and spaces.
_IDENTIFYING_KEYS = frozenset(
    k.replace("_", "")
    for k in (
        "name",
        "patient_name",
        "first_name",
        "last_name",
        "given_name",
        "family_name",
        "surname",
        "full_name",
        "initials",
        "mrn",
        "medical_record_number",
        "record_number",
        "hospital_number",
        "nhs_number",
        "insurance_number",
        "ssn",
        "social_security_number",
        "national_id",
        "birth_date",
        "date_of_birth",
        "dob",
        "birthdate",
        "address",
        "postcode",
        "zip_code",
        "phone",
        "telephone",
        "email",
    )
)


#: Modalities that show disease structurally or on FDG (ATA 2025 strong criterion i).
STRUCTURAL_OR_FDG = frozenset({Modality.CT, Modality.MRI, Modality.US, Modality.FDG_PET})


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class GenomicAlteration(_Model):
    """One alteration: gene, variant or fusion partner, assay and date."""

    gene: Gene = Field(description="HGNC symbol (vocabulary `gene` of redif.model); `other` if not in it")
    kind: AlterationKind = AlterationKind.MUTATION
    variant: str | None = Field(None, description="Protein change for a mutation, e.g. V600E, Q61R")
    fusion_partner: str | None = Field(None, description="5' partner of a fusion, e.g. CCDC6, ETV6")
    assay: str | None = Field(None, description="e.g. targeted NGS panel, RNA fusion panel, IHC")
    date: dt.date | None = None

    @field_validator("gene", mode="before")
    @classmethod
    def _gene_term(cls, v: object) -> object:
        """Accept the model's code, label or alias in any case (``braf`` -> ``BRAF``)."""
        if isinstance(v, str):
            try:
                return Gene.parse(v)
            except InputError:
                return v  # the enum check below reports it with the allowed codes
        return v


class PostTherapyScan(_Model):
    """Post-therapy whole-body scan after a 131I activity: uptake per lesion id."""

    date: dt.date | None = None
    uptake: dict[str, Uptake] = Field(default_factory=dict, description="lesion id -> uptake")


class RaiCourse(_Model):
    """One prior 131I administration."""

    id: Ident | None = None
    date: dt.date
    activity_gbq: float = Field(gt=0, le=50, description="Administered 131I activity, GBq")
    intent: RaiIntent
    tsh_stimulation: TshStimulation = TshStimulation.UNKNOWN
    post_therapy_scan: PostTherapyScan | None = None


class DiagnosticScan(_Model):
    """A diagnostic radioiodine scan (123I/131I whole body or SPECT/CT, 124I PET/CT)."""

    id: Ident | None = None
    date: dt.date
    tracer: Tracer = Field(description="I-123, I-124 or I-131 (vocabulary `tracer` of redif.model)")
    technique: str | None = Field(None, description="e.g. planar WBS, SPECT/CT, PET/CT")
    tsh_stimulation: TshStimulation = TshStimulation.UNKNOWN
    on_redifferentiation_drug: bool = False
    uptake: dict[str, Uptake] = Field(default_factory=dict, description="lesion id -> uptake")


class Lesion(_Model):
    """One lesion, with the imaging that shows it."""

    id: Ident
    site: str = Field(min_length=1, description="Free text, e.g. 'right lower lobe'")
    organ: str = Field(min_length=1, description="e.g. lung, lymph_node, bone, liver, pleura")
    size_mm: float | None = Field(
        None, gt=0, le=500, description="Longest diameter (short axis for a lymph node), mm"
    )
    lymph_node: bool = False
    detected_by: list[Modality] = Field(default_factory=list, description="Modalities that show it")
    pattern: LesionPattern | None = Field(
        None, description="diffuse (micronodular / miliary), macronodular or focal; diffuse lung -> lower "
        "48-h retention limit"
    )

    @field_validator("pattern", mode="before")
    @classmethod
    def _pattern_alias(cls, v: Any) -> Any:
        """Accept the vocabulary's labels and aliases (``nodular``, ``micronodular``)."""
        if isinstance(v, str):
            try:
                return LesionPattern.parse(v)
            except InputError:
                return v  # pydantic reports the allowed codes
        return v


class ProgressionEvent(_Model):
    """Documented disease progression."""

    date: dt.date
    criterion: ProgressionCriterion
    lesion_ids: list[str] = Field(default_factory=list)
    note: str | None = None


class LabResult(_Model):
    """Thyroglobulin, TgAb and TSH on one date."""

    date: dt.date
    tg_ng_ml: float | None = Field(None, ge=0)
    tgab_iu_ml: float | None = Field(None, ge=0)
    tgab_positive: bool | None = None
    tsh_miu_l: float | None = Field(None, ge=0)
    tsh_state: TshState = TshState.UNKNOWN


class DrugDose(_Model):
    """One drug of a redifferentiation regimen."""

    drug: str = Field(min_length=1)
    dose: str | None = Field(None, description="e.g. '150 mg BID'")


class RedifferentiationCourse(_Model):
    """The redifferentiation course given (or planned)."""

    drugs: list[DrugDose] = Field(min_length=1)
    start_date: dt.date | None = None
    stop_date: dt.date | None = None
    protocol: str | None = Field(None, description="Protocol template name, e.g. meraiode")


class LesionUptake(_Model):
    """Uptake of one lesion before and on the redifferentiation drug."""

    lesion_id: str
    baseline_uptake: float | None = Field(None, ge=0, description="e.g. %IA or counts; same unit on-drug")
    on_drug_uptake: float | None = Field(None, ge=0)
    new_uptake: bool | None = Field(None, description="Uptake in a lesion without uptake at baseline")


class UptakeAssessment(_Model):
    """Result of the uptake assessment after the drug lead-in (the go / no-go scan)."""

    date: dt.date | None = None
    tracer: Tracer | None = None
    technique: str | None = None
    unit: str | None = Field(None, description="Unit of baseline/on-drug uptake, e.g. %IA")
    days_on_drug: int | None = Field(None, ge=0)
    lesions: list[LesionUptake] = Field(min_length=1)


class LesionDosimetry(_Model):
    """Predicted absorbed dose per administered 131I activity for one lesion."""

    lesion_id: str
    dose_per_activity_gy_per_gbq: float = Field(gt=0, le=10000)


class DosimetryResults(_Model):
    """Dosimetry already computed (e.g. by the physicist from 124I PET/CT)."""

    method: str | None = Field(None, description="e.g. 124I PET/CT lesion dosimetry")
    max_tolerable_activity_gbq: float = Field(gt=0, le=100, description="MTA from blood/whole-body limits")
    mta_constraint: str | None = Field(None, description="Which limit binds, e.g. 'blood 2 Gy'")
    lesions: list[LesionDosimetry] = Field(min_length=1)


class DosimetrySection(_Model):
    """Dosimetry: computed results and/or an input plan for the dosimetry engine."""

    results: DosimetryResults | None = None
    plan: dict[str, Any] | None = Field(
        None, description="Input of redif.dosimetry.prescription (validated by that engine)"
    )


class ResponseAssessment(_Model):
    """One RECIST 1.1 time point; the first one is the baseline (it defines target / non-target lesions)."""

    date: dt.date
    target_mm: dict[str, Annotated[float, Field(ge=0, le=1000)] | None] = Field(
        default_factory=dict,
        description="Target lesion id -> longest diameter (node: short axis), mm; null = not evaluated",
    )
    non_target: dict[str, NonTargetStatus] = Field(
        default_factory=dict,
        description="Non-target lesion id -> present | absent | progression | not-evaluated",
    )
    new_lesions: bool = False
    note: str | None = None


class SafetyBaseline(_Model):
    """What the safety checks of the assessment read: pregnancy, lactation, cardiac and ocular baseline,
    medications, iodinated contrast and the low-iodine diet (rules: ``redif/data/safety_rules.yaml``)."""

    pregnant: bool | None = Field(None, description="Pregnant now (null = not recorded)")
    breastfeeding: bool | None = Field(None, description="Breastfeeding now (null = not recorded)")
    lvef_percent: float | None = Field(None, ge=0, le=100, description="Baseline LVEF, %")
    lvef_lln_percent: float | None = Field(
        None, ge=0, le=100, description="Institutional lower limit of normal of the LVEF, %"
    )
    ecg_qtc_ms: float | None = Field(None, gt=0, le=1000, description="Baseline corrected QT interval, ms")
    ophthalmology_exam_date: dt.date | None = Field(None, description="Baseline ophthalmological examination")
    medications: list[Annotated[str, Field(min_length=1, max_length=120)]] = Field(
        default_factory=list, description="Current medications, by name (e.g. dexamethasone, rifampicin)"
    )
    iodinated_contrast_date: dt.date | None = Field(None, description="Latest iodinated contrast")
    low_iodine_diet_start: dt.date | None = Field(None, description="Start of the low-iodine diet")
    corticosteroid_cover: bool | None = Field(
        None, description="Corticosteroid cover planned for TSH stimulation (brain / spine metastases)"
    )


class Case(_Model):
    """One pseudonymous patient: everything the pathway assessment reads."""

    case_id: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,63}$",
        description="Pseudonym (a code, never a name or record number)",
    )
    synthetic: bool = Field(False, description="True for a made-up teaching case")
    description: str | None = None
    year_of_birth: int | None = Field(None, ge=1900, le=2100)
    age_years: int | None = Field(None, ge=0, le=120)
    assessment_date: dt.date | None = Field(
        None, description="'As of' date; default: latest date in the case"
    )
    setting: Setting = Setting.RECURRENT_OR_METASTATIC
    histology: Histology
    genotype: list[GenomicAlteration] = Field(default_factory=list)
    rai_courses: list[RaiCourse] = Field(default_factory=list)
    diagnostic_scans: list[DiagnosticScan] = Field(default_factory=list)
    lesions: list[Lesion] = Field(default_factory=list)
    progression_events: list[ProgressionEvent] = Field(default_factory=list)
    labs: list[LabResult] = Field(default_factory=list)
    redifferentiation_course: RedifferentiationCourse | None = None
    uptake_assessment: UptakeAssessment | None = None
    dosimetry: DosimetrySection | None = None
    response_assessments: list[ResponseAssessment] = Field(default_factory=list)
    safety: SafetyBaseline | None = Field(None, description="Baseline for the safety checks")

    def lesion(self, lesion_id: str) -> Lesion | None:
        """Return the lesion with this id, or ``None``."""
        return next((les for les in self.lesions if les.id == lesion_id), None)

    def avidity(self, lesion_id: str) -> list[tuple[dt.date | None, str, Uptake]]:
        """Uptake of one lesion on every scan, in date order: ``(date, scan, uptake)``."""
        out: list[tuple[dt.date | None, str, Uptake]] = []
        for i, c in enumerate(self.rai_courses):
            pts = c.post_therapy_scan
            if pts is not None and lesion_id in pts.uptake:
                out.append(
                    (
                        pts.date or c.date,
                        f"post-therapy scan after {c.id or f'rai_courses[{i}]'}",
                        pts.uptake[lesion_id],
                    )
                )
        for i, s in enumerate(self.diagnostic_scans):
            if lesion_id in s.uptake:
                kind = "on-drug" if s.on_redifferentiation_drug else "diagnostic"
                out.append(
                    (
                        s.date,
                        f"{kind} {s.tracer} scan {s.id or f'diagnostic_scans[{i}]'}",
                        s.uptake[lesion_id],
                    )
                )
        return sorted(out, key=lambda t: (t[0] is None, t[0] or dt.date.min))

    def latest_date(self) -> dt.date | None:
        """Latest date recorded anywhere in the case (the default 'as of' date)."""
        dates: list[dt.date] = []
        dates += [c.date for c in self.rai_courses]
        dates += [
            c.post_therapy_scan.date
            for c in self.rai_courses
            if c.post_therapy_scan and c.post_therapy_scan.date
        ]
        dates += [s.date for s in self.diagnostic_scans]
        dates += [p.date for p in self.progression_events]
        dates += [lab.date for lab in self.labs]
        dates += [r.date for r in self.response_assessments]
        return max(dates) if dates else None

    def as_of(self) -> dt.date | None:
        """The assessment ('as of') date: ``assessment_date`` or the latest date in the case."""
        return self.assessment_date or self.latest_date()


class CaseValidationError(InputError):
    """A case file with one or more problems; ``problems`` holds one line per problem."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = list(problems)
        n = len(self.problems)
        header = f"{source}: {n} problem{'s' if n != 1 else ''} in the case file"
        super().__init__(
            "\n".join([header, *(f"  {p}" for p in self.problems)]),
            remedy=None,
        )

    def __str__(self) -> str:
        return self.message


def _path(loc: Iterable[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(root)"


def _norm_key(key: object) -> str:
    return re.sub(r"[\s_-]", "", str(key)).lower()


def _identifying(loc: tuple[int | str, ...], key: object) -> bool:
    """Whether ``key`` at ``loc`` names a person (a dosimetry lesion's ``name`` is a lesion id)."""
    if len(loc) == 4 and loc[:3] == ("dosimetry", "plan", "lesions") and key == "name":
        return False
    return _norm_key(key) in _IDENTIFYING_KEYS


def _identifying_keys(obj: Any, loc: tuple[int | str, ...] = ()) -> list[str]:
    problems: list[str] = []
    if isinstance(obj, Mapping):
        for key, value in obj.items():
            here = (*loc, str(key))
            if _identifying(loc, key):
                problems.append(
                    f"{_path(here)}: identifying field not allowed; a case is pseudonymous: use case_id "
                    "(a code) and year_of_birth or age_years only"
                )
            else:
                problems.extend(_identifying_keys(value, here))
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            problems.extend(_identifying_keys(value, (*loc, i)))
    return problems


def _strip_identifying(obj: Any, loc: tuple[int | str, ...] = ()) -> Any:
    if isinstance(obj, Mapping):
        return {k: _strip_identifying(v, (*loc, str(k))) for k, v in obj.items() if not _identifying(loc, k)}
    if isinstance(obj, list):
        return [_strip_identifying(v, (*loc, i)) for i, v in enumerate(obj)]
    return obj


def _pydantic_problems(exc: ValidationError) -> list[str]:
    problems = []
    for err in exc.errors(include_url=False):
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown field (see `redif patient schema`)"
        elif err["type"] == "string_pattern_mismatch" and tuple(err["loc"]) == ("case_id",):
            msg = "must be a pseudonymous code (letters, digits, '_', '-', '.'; no spaces), never a name"
        line = f"{_path(err['loc'])}: {msg}"
        if err["type"] not in ("missing", "extra_forbidden") and "input" in err:
            shown = repr(err["input"])
            if len(shown) <= 60:
                line += f" (got {shown})"
        problems.append(line)
    return problems


def plan_input_problems(plan: dict[str, Any], lesion_ids: set[str]) -> list[str]:
    """Problems of a ``dosimetry.plan`` section (the dosimetry engine's input model), one line each."""
    try:
        model = DosimetryPlanInput.model_validate(plan)
    except ValidationError as exc:
        return [f"dosimetry.plan.{line}" for line in _pydantic_problems(exc)]
    return [
        f"dosimetry.plan.lesions[{i}].name: {les.name!r} is not a lesion id of the case; "
        f"use one of {', '.join(sorted(lesion_ids)) or '(none)'}"
        for i, les in enumerate(model.lesions)
        if les.name not in lesion_ids
    ]



#: Tolerance, in days, between ``uptake_assessment.days_on_drug`` and the dates. Counting conventions differ
#: by one day: the day of the first dose is day 0 in the protocol templates (``days_on_drug`` =
#: date - start) but day 1 when the doses taken are counted (date - start + 1). A difference of more than
#: one day cannot come from the convention: the case is inconsistent. (redif convention, not a clinical rule.)
DAYS_ON_DRUG_TOLERANCE = 1


def sequence_problems(case: Case) -> list[str]:
    """Problems of date order in a case, one line each, naming the field.

    Refused: an uptake assessment (or an on-drug diagnostic scan) before the drug start; a
    ``days_on_drug`` that disagrees with the dates by more than :data:`DAYS_ON_DRUG_TOLERANCE`; a 131I
    administration given after the drug start but before the uptake assessment it should follow; a
    follow-up response assessment (any time point after the baseline) before the drug start.
    """
    problems: list[str] = []
    rc = case.redifferentiation_course
    start = rc.start_date if rc else None
    ua = case.uptake_assessment
    if ua is not None and ua.date is not None and start is not None:
        if ua.date < start:
            problems.append(
                f"uptake_assessment.date: {ua.date} is before the drug start "
                f"(redifferentiation_course.start_date {start}); the go / no-go scan must be taken on "
                "the drug"
            )
        if ua.days_on_drug is not None:
            elapsed = (ua.date - start).days
            if abs(ua.days_on_drug - elapsed) > DAYS_ON_DRUG_TOLERANCE:
                problems.append(
                    f"uptake_assessment.days_on_drug: {ua.days_on_drug} disagrees with the dates "
                    f"({ua.date} - {start} = {elapsed} days; tolerance +/-{DAYS_ON_DRUG_TOLERANCE} day for "
                    "counting the first dose as day 0 or day 1)"
                )
    if start is not None:
        for i, s in enumerate(case.diagnostic_scans):
            if s.on_redifferentiation_drug and s.date < start:
                problems.append(
                    f"diagnostic_scans[{i}].date: {s.date} is marked on_redifferentiation_drug but is before "
                    f"the drug start (redifferentiation_course.start_date {start})"
                )
        if ua is not None and ua.date is not None and ua.date >= start:
            for i, c in enumerate(case.rai_courses):
                if start <= c.date < ua.date:
                    problems.append(
                        f"rai_courses[{i}].date: 131I on {c.date}, after the drug start ({start}) but before "
                        f"the uptake assessment ({ua.date}) that decides it"
                    )
        for i, ra in enumerate(case.response_assessments):
            if i and ra.date < start:
                problems.append(
                    f"response_assessments[{i}].date: {ra.date} is before the treatment "
                    f"(redifferentiation_course.start_date {start}); only the baseline "
                    "(response_assessments[0]) may precede it"
                )
    return problems


def _cross_check(case: Case) -> list[str]:
    """Consistency checks pydantic cannot express: unique ids, known lesion references, date order."""
    problems: list[str] = []
    ids = [les.id for les in case.lesions]
    seen: set[str] = set()
    for i, lid in enumerate(ids):
        if lid in seen:
            problems.append(f"lesions[{i}].id: duplicate lesion id (got {lid!r})")
        seen.add(lid)
    known = set(ids)
    hint = f"known lesion ids: {', '.join(sorted(known)) or 'none (add them under lesions)'}"

    def ref(path: str, lid: str) -> None:
        if lid not in known:
            problems.append(f"{path}: unknown lesion id {lid!r}; {hint}")

    for i, course in enumerate(case.rai_courses):
        if course.post_therapy_scan:
            for lid in course.post_therapy_scan.uptake:
                ref(f"rai_courses[{i}].post_therapy_scan.uptake.{lid}", lid)
            pts = course.post_therapy_scan.date
            if pts is not None and pts < course.date:
                problems.append(
                    f"rai_courses[{i}].post_therapy_scan.date: before the 131I administration "
                    f"({pts} < {course.date})"
                )
    for i, scan in enumerate(case.diagnostic_scans):
        for lid in scan.uptake:
            ref(f"diagnostic_scans[{i}].uptake.{lid}", lid)
    for i, ev in enumerate(case.progression_events):
        for j, lid in enumerate(ev.lesion_ids):
            ref(f"progression_events[{i}].lesion_ids[{j}]", lid)
    if case.uptake_assessment:
        for i, lu in enumerate(case.uptake_assessment.lesions):
            ref(f"uptake_assessment.lesions[{i}].lesion_id", lu.lesion_id)
    if case.dosimetry and case.dosimetry.results:
        for i, ld in enumerate(case.dosimetry.results.lesions):
            ref(f"dosimetry.results.lesions[{i}].lesion_id", ld.lesion_id)
    baseline = case.response_assessments[0] if case.response_assessments else None
    for i, ra in enumerate(case.response_assessments):
        for lid in ra.target_mm:
            ref(f"response_assessments[{i}].target_mm.{lid}", lid)
            if baseline is not None and i and lid not in baseline.target_mm and lid in known:
                problems.append(
                    f"response_assessments[{i}].target_mm.{lid}: not a target lesion at baseline "
                    "(response_assessments[0].target_mm)"
                )
        for lid in ra.non_target:
            ref(f"response_assessments[{i}].non_target.{lid}", lid)
            if baseline is not None and i and lid not in baseline.non_target and lid in known:
                problems.append(
                    f"response_assessments[{i}].non_target.{lid}: not a non-target lesion at "
                    "baseline (response_assessments[0].non_target)"
                )
        both = set(ra.target_mm) & set(ra.non_target)
        if both:
            problems.append(
                f"response_assessments[{i}]: lesion(s) {', '.join(sorted(both))} both target and non-target"
            )
        if i and ra.date <= case.response_assessments[i - 1].date:
            problems.append(
                f"response_assessments[{i}].date: dates out of order "
                f"({ra.date} after {case.response_assessments[i - 1].date}); list time points in date order"
            )
    if case.dosimetry and case.dosimetry.plan is not None:
        problems += plan_input_problems(case.dosimetry.plan, known)
    rc = case.redifferentiation_course
    if rc and rc.start_date and rc.stop_date and rc.stop_date < rc.start_date:
        problems.append(
            f"redifferentiation_course.stop_date: before start_date ({rc.stop_date} < {rc.start_date})"
        )
    for i, g in enumerate(case.genotype):
        if g.kind is AlterationKind.MUTATION and g.fusion_partner:
            problems.append(f"genotype[{i}].fusion_partner: given for a mutation; set kind: fusion")
    problems += sequence_problems(case)
    return problems


def parse_case(data: Any, *, source: str = "case") -> Case:
    """Validate a decoded case document (dict) and return the :class:`Case`.

    Raises
    ------
    CaseValidationError
        Listing every problem, one line each, naming the field path (e.g. ``lesions[2].size_mm``).
    """
    if not isinstance(data, Mapping):
        raise CaseValidationError(
            source, [f"(root): expected a mapping of fields, got {type(data).__name__}"]
        )
    problems = _identifying_keys(data)
    try:
        case = Case.model_validate(_strip_identifying(data))
    except ValidationError as exc:
        raise CaseValidationError(source, problems + _pydantic_problems(exc)) from None
    problems += _cross_check(case)
    if problems:
        raise CaseValidationError(source, problems)
    return case


def load_case(path: str | Path) -> Case:
    """Read and validate a YAML or JSON case file.

    Raises
    ------
    InputError
        If the file cannot be read or parsed.
    CaseValidationError
        If the content does not validate (every problem listed).
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read case file: {exc.strerror}", field=str(p)) from None
    data = load_document(raw, field=str(p), max_bytes=MAX_FILE_BYTES)  # YAML covers JSON; no aliases
    return parse_case(data, source=str(p))


def case_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a case file."""
    schema = Case.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "redif case"
    _embed_plan_schema(schema)
    return schema


def _embed_plan_schema(schema: dict[str, Any]) -> None:
    """Put the dosimetry engine's input schema under ``dosimetry.plan``."""
    plan = DosimetryPlanInput.model_json_schema()
    defs = schema.setdefault("$defs", {})
    extra = plan.pop("$defs", {})
    if set(extra) & set(defs) or "DosimetryPlanInput" in defs:
        return  # name clash: keep the generic object schema rather than a wrong reference
    defs.update(extra)
    defs["DosimetryPlanInput"] = plan
    defs["DosimetrySection"]["properties"]["plan"] = {
        "anyOf": [{"$ref": "#/$defs/DosimetryPlanInput"}, {"type": "null"}],
        "default": None,
        "description": "Input of redif.dosimetry.prescription; lesion names are the case's lesion ids",
    }
