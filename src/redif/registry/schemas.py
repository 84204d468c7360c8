"""Validated input and output shapes of registry records (pydantic 2), shared by the API, the importer
and the web forms.

Vocabularies (sex, RECIST overall response, CTCAE grade range, tracers) are standard terms; they are
validated here so that the database holds only well-formed values.
"""

from __future__ import annotations

import enum
from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from redif.errors import InputError

__all__ = [
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
    "input_error_from",
    "validate_input",
]

Pseudonym = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
    ),
]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Text200 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Year = Annotated[int, Field(ge=1900, le=2100)]


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

    pseudonym: Pseudonym
    site: str | None = Field(default=None, max_length=32)
    sex: SexIn = SexIn.UNKNOWN
    birth_year: Year | None = None
    histology: ShortText | None = None
    rai_refractory_criterion: Text200 | None = None
    diagnosis_date: date | None = None
    progression_date: date | None = None
    last_follow_up_date: date | None = None


class PatientPatch(_Strict):
    """Fields of a patient that may change."""

    sex: SexIn | None = None
    birth_year: Year | None = None
    histology: ShortText | None = None
    rai_refractory_criterion: Text200 | None = None
    diagnosis_date: date | None = None
    progression_date: date | None = None
    last_follow_up_date: date | None = None


class GenotypeIn(_Strict):
    """Tumour genotype."""

    gene: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
    variant: Annotated[str, StringConstraints(max_length=64)] | None = None
    fusion_partner: Annotated[str, StringConstraints(max_length=32)] | None = None
    assay: ShortText | None = None
    sample_date: date | None = None


class RaiHistoryIn(_Strict):
    """Previous radioiodine therapy."""

    treatment_date: date | None = None
    activity_gbq: Annotated[float, Field(gt=0, le=100)] | None = None
    indication: ShortText | None = None
    post_therapy_scan_uptake: bool | None = None


class CourseIn(_Strict):
    """Redifferentiation drug course."""

    course_number: Annotated[int, Field(ge=1, le=20)] = 1
    drugs: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    dose: ShortText | None = None
    start_date: date | None = None
    stop_date: date | None = None
    dose_reductions: Annotated[int, Field(ge=0, le=20)] = 0
    days_before_uptake: Annotated[int, Field(ge=0, le=3650)] | None = None
    tsh_stimulation: Annotated[str, StringConstraints(pattern=r"^(rhTSH|withdrawal|none)$")] | None = None
    low_iodine_diet: bool | None = None


class UptakeIn(_Strict):
    """Uptake assessment."""

    assessment_date: date | None = None
    modality: Annotated[str, StringConstraints(max_length=32)] | None = None
    tracer: Annotated[str, StringConstraints(pattern=r"^I-12[34]|I-131$")] | None = None
    activity_mbq: Annotated[float, Field(gt=0, le=10000)] | None = None
    time_after_administration_h: Annotated[float, Field(ge=0, le=2000)] | None = None
    restored: bool | None = None
    restored_definition: Text200 | None = None


class DosimetryIn(_Strict):
    """Stored dosimetry result."""

    kind: Annotated[str, StringConstraints(pattern=r"^(lesion|blood|voxel)$")]
    method: ShortText | None = None
    lesion_label: Annotated[str, StringConstraints(max_length=64)] | None = None
    absorbed_dose_gy: Annotated[float, Field(ge=0, le=1e5)] | None = None
    dose_per_activity_gy_per_gbq: Annotated[float, Field(ge=0, le=1e5)] | None = None
    threshold_gy: Annotated[float, Field(ge=0, le=1e5)] | None = None


class AdministrationIn(_Strict):
    """Therapeutic 131I administration."""

    administration_date: date | None = None
    activity_gbq: Annotated[float, Field(gt=0, le=100)]
    basis: Annotated[str, StringConstraints(pattern=r"^(empiric|dosimetry)$")] | None = None
    post_therapy_scan: Text200 | None = None


class ResponseIn(_Strict):
    """Response time point."""

    assessment_date: date | None = None
    criteria: Annotated[str, StringConstraints(max_length=32)] = "RECIST 1.1"
    overall_response: OverallResponse | None = None
    sum_of_diameters_mm: Annotated[float, Field(ge=0, le=5000)] | None = None
    fdg_pet: ShortText | None = None


class LabIn(_Strict):
    """Laboratory value."""

    sample_date: date | None = None
    analyte: Annotated[str, StringConstraints(pattern=r"^(Tg|TgAb|TSH)$")]
    value: Annotated[float, Field(ge=0, le=1e7)]
    unit: Annotated[str, StringConstraints(min_length=1, max_length=16)]


class AdverseEventIn(_Strict):
    """Adverse event (CTCAE grade 1-5)."""

    onset_date: date | None = None
    term: ShortText
    ctcae_grade: Annotated[int, Field(ge=1, le=5)]
    attribution: Annotated[str, StringConstraints(max_length=32)] | None = None


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


def max_length_of(schema: Any, name: str) -> int | None:
    for m in schema.model_fields[name].metadata:
        if getattr(m, "max_length", None) is not None:
            return int(m.max_length)
    return None
