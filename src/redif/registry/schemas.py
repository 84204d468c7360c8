"""Validated input and output shapes of registry records (pydantic 2), shared by the API, the importer
and the web forms.

Vocabularies (sex, RECIST overall response, CTCAE grade range, tracers) are standard terms; they are
validated here so that the database holds only well-formed values.

Text fields take their ``max_length`` from the length of the SQLAlchemy column that stores them
(:func:`column_length`, read from :mod:`redif.registry.models`), so validation and storage cannot
disagree: a value that passes validation always fits its column (on SQLite and PostgreSQL alike).
"""

from __future__ import annotations

import enum
from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import String

from redif.errors import InputError
from redif.registry.models import (
    AdverseEvent,
    Base,
    DosimetryResult,
    Genotype,
    IodineAdministration,
    LabResult,
    Patient,
    RaiHistory,
    RedifCourse,
    ResponseAssessment,
    Site,
    UptakeAssessment,
)

__all__ = [
    "PSEUDONYM_PATTERN",
    "RECORD_SCHEMAS",
    "AdministrationIn",
    "AdverseEventIn",
    "CourseIn",
    "DosimetryIn",
    "GenotypeIn",
    "LabIn",
    "PatientIn",
    "PatientPatch",
    "RaiHistoryIn",
    "ResponseIn",
    "UptakeIn",
    "column_length",
    "input_error_from",
    "max_length_of",
    "validate_input",
]

Year = Annotated[int, Field(ge=1900, le=2100)]

#: A pseudonym: letters, digits, ``.``, ``_``, ``-``; starting with a letter or digit.
PSEUDONYM_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


def column_length(model: type[Base], name: str) -> int:
    """Length of the ``String`` column ``name`` of ``model``: the one definition of a text field's size.

    Raises
    ------
    TypeError
        If the column is not a ``String`` with a length (a programming error, found at import).
    """
    col_type = model.__table__.columns[name].type
    length = getattr(col_type, "length", None)
    if not isinstance(col_type, String) or not isinstance(length, int):
        raise TypeError(f"{model.__name__}.{name} is not a String column with a length")
    return length


def _text(
    model: type[Base],
    name: str,
    *,
    default: Any = None,
    min_length: int | None = None,
    pattern: str | None = None,
) -> Any:
    """A pydantic ``Field`` for a text field stored in ``model.name``; ``max_length`` is the column's.

    ``default=...`` makes the field required. Whitespace is stripped first (``_Strict`` config), so the
    limit applies to the stored text.
    """
    return Field(default, min_length=min_length, max_length=column_length(model, name), pattern=pattern)


class SexIn(enum.StrEnum):
    """Administrative sex."""

    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class OverallResponse(enum.StrEnum):
    """RECIST 1.1 overall response (Eisenhauer et al., Eur J Cancer 2009;45:228-247)."""

    CR = "CR"
    PR = "PR"
    SD = "SD"
    PD = "PD"
    NE = "NE"


def _check_text(value: Any) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("text must not contain NUL characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("text is not valid Unicode (lone surrogate)") from None
    elif isinstance(value, dict):
        for v in value.values():
            _check_text(v)
    elif isinstance(value, list):
        for v in value:
            _check_text(v)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _clean_text(cls, data: Any) -> Any:
        _check_text(data)
        return data


class PatientIn(_Strict):
    """A new patient. ``site`` (site code) is needed only for cross-site roles."""

    pseudonym: str = _text(Patient, "pseudonym", default=..., min_length=1, pattern=PSEUDONYM_PATTERN)
    site: str | None = _text(Site, "code")
    sex: SexIn = SexIn.UNKNOWN
    birth_year: Year | None = None
    histology: str | None = _text(Patient, "histology", min_length=1)
    rai_refractory_criterion: str | None = _text(Patient, "rai_refractory_criterion")
    diagnosis_date: date | None = None
    progression_date: date | None = None
    last_follow_up_date: date | None = None


class PatientPatch(_Strict):
    """Fields of a patient that may change."""

    sex: SexIn | None = None
    birth_year: Year | None = None
    histology: str | None = _text(Patient, "histology", min_length=1)
    rai_refractory_criterion: str | None = _text(Patient, "rai_refractory_criterion")
    diagnosis_date: date | None = None
    progression_date: date | None = None
    last_follow_up_date: date | None = None


class GenotypeIn(_Strict):
    """Tumour genotype."""

    gene: str = _text(Genotype, "gene", default=..., min_length=1)
    variant: str | None = _text(Genotype, "variant")
    fusion_partner: str | None = _text(Genotype, "fusion_partner")
    assay: str | None = _text(Genotype, "assay", min_length=1)
    sample_date: date | None = None


class RaiHistoryIn(_Strict):
    """Previous radioiodine therapy."""

    treatment_date: date | None = None
    activity_gbq: Annotated[float, Field(gt=0, le=100)] | None = None
    indication: str | None = _text(RaiHistory, "indication", min_length=1)
    post_therapy_scan_uptake: bool | None = None


class CourseIn(_Strict):
    """Redifferentiation drug course."""

    course_number: Annotated[int, Field(ge=1, le=20)] = 1
    drugs: str = _text(RedifCourse, "drugs", default=..., min_length=1)
    dose: str | None = _text(RedifCourse, "dose", min_length=1)
    start_date: date | None = None
    stop_date: date | None = None
    dose_reductions: Annotated[int, Field(ge=0, le=20)] = 0
    days_before_uptake: Annotated[int, Field(ge=0, le=3650)] | None = None
    tsh_stimulation: str | None = _text(RedifCourse, "tsh_stimulation", pattern=r"^(rhTSH|withdrawal|none)$")
    low_iodine_diet: bool | None = None


class UptakeIn(_Strict):
    """Uptake assessment. ``tracer``: one of the three iodine isotopes used for uptake imaging."""

    assessment_date: date | None = None
    modality: str | None = _text(UptakeAssessment, "modality")
    tracer: str | None = _text(UptakeAssessment, "tracer", pattern=r"^(I-123|I-124|I-131)$")
    activity_mbq: Annotated[float, Field(gt=0, le=10000)] | None = None
    time_after_administration_h: Annotated[float, Field(ge=0, le=2000)] | None = None
    restored: bool | None = None
    restored_definition: str | None = _text(UptakeAssessment, "restored_definition")


class DosimetryIn(_Strict):
    """Stored dosimetry result."""

    kind: str = _text(DosimetryResult, "kind", default=..., pattern=r"^(lesion|blood|voxel)$")
    method: str | None = _text(DosimetryResult, "method", min_length=1)
    lesion_label: str | None = _text(DosimetryResult, "lesion_label")
    absorbed_dose_gy: Annotated[float, Field(ge=0, le=1e5)] | None = None
    dose_per_activity_gy_per_gbq: Annotated[float, Field(ge=0, le=1e5)] | None = None
    threshold_gy: Annotated[float, Field(ge=0, le=1e5)] | None = None


class AdministrationIn(_Strict):
    """Therapeutic 131I administration."""

    administration_date: date | None = None
    activity_gbq: Annotated[float, Field(gt=0, le=100)]
    basis: str | None = _text(IodineAdministration, "basis", pattern=r"^(empiric|dosimetry)$")
    post_therapy_scan: str | None = _text(IodineAdministration, "post_therapy_scan")


class ResponseIn(_Strict):
    """Response time point."""

    assessment_date: date | None = None
    criteria: str = _text(ResponseAssessment, "criteria", default="RECIST 1.1")
    overall_response: OverallResponse | None = None
    sum_of_diameters_mm: Annotated[float, Field(ge=0, le=5000)] | None = None
    fdg_pet: str | None = _text(ResponseAssessment, "fdg_pet", min_length=1)


class LabIn(_Strict):
    """Laboratory value."""

    sample_date: date | None = None
    analyte: str = _text(LabResult, "analyte", default=..., pattern=r"^(Tg|TgAb|TSH)$")
    value: Annotated[float, Field(ge=0, le=1e7)]
    unit: str = _text(LabResult, "unit", default=..., min_length=1)


class AdverseEventIn(_Strict):
    """Adverse event (CTCAE grade 1-5)."""

    onset_date: date | None = None
    term: str = _text(AdverseEvent, "term", default=..., min_length=1)
    ctcae_grade: Annotated[int, Field(ge=1, le=5)]
    attribution: str | None = _text(AdverseEvent, "attribution")


#: Input schema of each patient record kind (keys match ``models.PATIENT_CHILD_MODELS``).
RECORD_SCHEMAS: dict[str, type[_Strict]] = {
    "genotypes": GenotypeIn,
    "rai-history": RaiHistoryIn,
    "courses": CourseIn,
    "uptake": UptakeIn,
    "dosimetry": DosimetryIn,
    "administrations": AdministrationIn,
    "responses": ResponseIn,
    "labs": LabIn,
    "adverse-events": AdverseEventIn,
}


def input_error_from(exc: ValidationError, *, where: str = "") -> InputError:
    """Turn the first pydantic error into an :class:`InputError` naming the field."""
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err.get("loc", ()))
    fld = f"{where}{loc}" if where else loc
    return InputError(
        str(err.get("msg", "invalid value")),
        field=fld or None,
        value=err.get("input") if not isinstance(err.get("input"), dict) else None,
        remedy="correct the value and retry",
    )


def validate_input(schema: type[_Strict], data: Any, *, where: str = "") -> Any:
    """Validate ``data`` against ``schema``, raising :class:`InputError` on failure."""
    if not isinstance(data, dict):
        raise InputError("expected an object", field=where.rstrip(".") or None, value=type(data).__name__)
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise input_error_from(exc, where=where) from None



def max_length_of(schema: type[BaseModel], name: str) -> int | None:
    """The ``max_length`` constraint of a schema field (``None`` when it has none)."""
    for meta in schema.model_fields[name].metadata:
        limit = getattr(meta, "max_length", None)
        if isinstance(limit, int):
            return limit
    return None
