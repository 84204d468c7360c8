"""Validated input and output shapes of registry records (pydantic 2), shared by the API, the importer
and the web forms -- generated from :mod:`redif.model`.

Every field's type, range (``minimum``/``maximum``), text length (``max_length``) and, for coded fields,
its vocabulary come from the model's :class:`redif.model.Field`: the record schemas of
:data:`RECORD_SCHEMAS` are built from the model's forms (a field added to the model appears here, in the
API and in the web forms), and :class:`PatientIn` / :class:`PatientPatch` take each field's constraints
from the model too. A coded field is typed by the model's enum, so the OpenAPI schema lists its codes;
a known label or alias of a term (``"rhTSH"``, ``"PET/CT"``) is accepted and stored as its code, anything
else is refused with the field, the value and the allowed codes. A text field's ``max_length`` is the
model's, which equals its column's length (checked by the tests), so a value that passes validation
always fits its column.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    model_validator,
)
from sqlalchemy import String

from redif.errors import InputError
from redif.model import (
    CodedEnum,
    FieldType,
    Histology,
    ProgressionCriterion,
    RaiRefractoryCriterion,
    Sex,
    enum_for,
    form,
    forms,
)
from redif.model import Field as ModelField
from redif.model import field as model_field
from redif.registry.models import Base

__all__ = [
    "PSEUDONYM_PATTERN",
    "RECORD_SCHEMAS",
    "PatientIn",
    "PatientPatch",
    "column_length",
    "input_error_from",
    "max_length_of",
    "record_body_schema",
    "validate_input",
]

#: A pseudonym: letters, digits, ``.``, ``_``, ``-``; starting with a letter or digit.
PSEUDONYM_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"

#: Defaults of fields whose registry column is NOT NULL with a default (the model says what they mean).
_DEFAULTS: dict[tuple[str, str], Any] = {
    ("courses", "course_number"): 1,
    ("courses", "dose_reductions"): 0,
    ("responses", "criteria"): "RECIST 1.1",
}


def column_length(model: type[Base], name: str) -> int:
    """Length of the ``String`` column ``name`` of ``model``.

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


def _to_code(enum_cls: type[CodedEnum]) -> Callable[[Any], Any]:
    """Before-validator: a label or alias of a term becomes its code; anything else is passed on (and
    refused by the enum with the allowed codes)."""

    def parse(value: Any) -> Any:
        if isinstance(value, str) and not isinstance(value, enum_cls):
            try:
                return enum_cls.parse(value)
            except InputError:
                return value
        return value

    return parse


def coded(enum_cls: type[CodedEnum]) -> Any:
    """The annotation of a coded field: the model's enum, accepting a term's label or alias."""
    return Annotated[enum_cls, BeforeValidator(_to_code(enum_cls))]


def _constraints(f: ModelField) -> dict[str, Any]:
    """pydantic ``Field`` keyword arguments of a model field (range, length, description)."""
    kw: dict[str, Any] = {"description": f.description + (f" Unit: {f.unit}." if f.unit else "")}
    if f.type in (FieldType.INTEGER, FieldType.NUMBER):
        if f.minimum is not None:
            kw["ge"] = f.minimum
        if f.maximum is not None:
            kw["le"] = f.maximum
    if f.type is FieldType.TEXT:
        kw["min_length"] = 1
        if f.max_length is not None:
            kw["max_length"] = f.max_length
    return kw


_PY_TYPES: dict[FieldType, Any] = {
    FieldType.TEXT: str,
    FieldType.INTEGER: int,
    FieldType.NUMBER: float,
    FieldType.DATE: date,
    FieldType.BOOLEAN: bool,
}


def _annotation(f: ModelField) -> Any:
    if f.type is FieldType.CODED:
        assert f.vocabulary is not None
        return coded(enum_for(f.vocabulary))
    return _PY_TYPES[f.type]


def _pydantic_field(f: ModelField, *, optional: bool = False) -> tuple[Any, Any]:
    """``(annotation, FieldInfo)`` of a model field for :func:`pydantic.create_model`."""
    kw = _constraints(f)
    default = _DEFAULTS.get((f.form, f.name))
    if default is not None:
        return _annotation(f), Field(default, **kw)
    if f.required and not optional:
        return _annotation(f), Field(..., **kw)
    return _annotation(f) | None, Field(None, **kw)


def _model(form_name: str, name: str, **kw: Any) -> Any:
    """A pydantic ``Field`` with the constraints of the model's field ``form_name.name`` (plus ``kw``)."""
    return Field(**{**_constraints(model_field(form_name, name)), **kw})


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


Year = Annotated[int, Field(ge=1900, le=2100)]
HistologyCode = Annotated[Histology, BeforeValidator(_to_code(Histology))]
CriterionCode = Annotated[RaiRefractoryCriterion, BeforeValidator(_to_code(RaiRefractoryCriterion))]
ProgressionCode = Annotated[ProgressionCriterion, BeforeValidator(_to_code(ProgressionCriterion))]
SexCode = Annotated[Sex, BeforeValidator(_to_code(Sex))]


class PatientIn(_Strict):
    """A new patient (the model's "patient" form). ``site`` (site code) is needed only for cross-site
    roles."""

    pseudonym: str = _model("patient", "pseudonym", default=..., pattern=PSEUDONYM_PATTERN)
    site: str | None = _model("patient", "site", default=None)
    sex: SexCode = _model("patient", "sex", default=Sex.UNKNOWN)
    birth_year: Year | None = _model("patient", "birth_year", default=None)
    histology: HistologyCode | None = _model("patient", "histology", default=None)
    rai_refractory_criterion: CriterionCode | None = _model(
        "patient", "rai_refractory_criterion", default=None
    )
    diagnosis_date: date | None = _model("patient", "diagnosis_date", default=None)
    progression_date: date | None = _model("patient", "progression_date", default=None)
    progression_criterion: ProgressionCode | None = _model("patient", "progression_criterion", default=None)
    last_follow_up_date: date | None = _model("patient", "last_follow_up_date", default=None)
    death_date: date | None = _model("patient", "death_date", default=None)


class PatientPatch(_Strict):
    """Fields of a patient that may change."""

    sex: SexCode | None = _model("patient", "sex", default=None)
    birth_year: Year | None = _model("patient", "birth_year", default=None)
    histology: HistologyCode | None = _model("patient", "histology", default=None)
    rai_refractory_criterion: CriterionCode | None = _model(
        "patient", "rai_refractory_criterion", default=None
    )
    diagnosis_date: date | None = _model("patient", "diagnosis_date", default=None)
    progression_date: date | None = _model("patient", "progression_date", default=None)
    progression_criterion: ProgressionCode | None = _model("patient", "progression_criterion", default=None)
    last_follow_up_date: date | None = _model("patient", "last_follow_up_date", default=None)
    death_date: date | None = _model("patient", "death_date", default=None)


def _schema_name(form_name: str) -> str:
    return "".join(part.capitalize() for part in form_name.split("-")) + "In"


def _record_schema(form_name: str) -> type[_Strict]:
    """The input schema of a repeating form, generated from its model fields."""
    frm = form(form_name)
    fields = {f.name: _pydantic_field(f) for f in frm.fields}
    schema: type[_Strict] = create_model(  # type: ignore[call-overload]
        _schema_name(form_name), __base__=_Strict, __doc__=f"{frm.label} (model form {frm.name!r}).", **fields
    )
    return schema


#: Input schema of each patient record kind (keys match ``models.PATIENT_CHILD_MODELS`` and the model's
#: repeating forms).
RECORD_SCHEMAS: dict[str, type[_Strict]] = {f.name: _record_schema(f.name) for f in forms() if f.repeating}


def _inline_refs(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        if "$ref" in node and node["$ref"].startswith("#/$defs/"):
            return _inline_refs(defs[node["$ref"].removeprefix("#/$defs/")], defs)
        return {k: _inline_refs(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline_refs(v, defs) for v in node]
    return node


def record_body_schema() -> dict[str, Any]:
    """OpenAPI schema of a record body: one of the record schemas (``x-record-kind`` names the kind),
    with their enums inlined (a request body schema cannot use JSON Schema ``$defs``)."""
    one_of = []
    for kind, schema in RECORD_SCHEMAS.items():
        js = schema.model_json_schema()
        inlined = _inline_refs(js, js.get("$defs", {}))
        inlined["x-record-kind"] = kind
        one_of.append(inlined)
    return {"oneOf": one_of}


def input_error_from(exc: ValidationError, *, where: str = "") -> InputError:
    """Turn the first pydantic error into an :class:`InputError` naming the field."""
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err.get("loc", ()))
    fld = f"{where}{loc}" if where else loc
    remedy = "correct the value and retry"
    if err.get("type") == "enum":
        remedy = f"use one of the codes: {err.get('ctx', {}).get('expected', '')}"
    return InputError(
        str(err.get("msg", "invalid value")),
        field=fld or None,
        value=err.get("input") if not isinstance(err.get("input"), dict) else None,
        remedy=remedy,
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
