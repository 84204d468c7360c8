"""Fields and forms of the redif data model: every item of the harmonised minimum data set once.

A :class:`Field`'s ``name`` is the registry column name and the API/JSON key; a TEXT field's
``max_length`` is the registry String column length; a CODED field names its :class:`~redif.model.terms.
Vocabulary`. Forms are the registry record kinds (``patient`` first). The data live in
``redif/data/model/fields.yaml``.

References
----------
Harmonised minimum data set: ITOG statement, Leboulleux S et al., Lancet Diabetes Endocrinol
2025;13(6):516-527, PMID 40318680; Pappa T et al., Endocrine 2025;87(1):1-10, PMID 39231920.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from redif.data import Grade, load_yaml
from redif.errors import InputError
from redif.model.terms import vocabulary

__all__ = ["Field", "FieldType", "Form", "field", "form", "forms"]

_FIELDS_FILE = "model/fields.yaml"


class FieldType(enum.StrEnum):
    """Type of a field's value."""

    TEXT = "text"
    INTEGER = "integer"
    NUMBER = "number"
    DATE = "date"
    BOOLEAN = "boolean"
    CODED = "coded"


@dataclass(frozen=True)
class Field:
    """One item of the data set."""

    name: str
    form: str
    label: str
    type: FieldType
    description: str
    required: bool
    unit: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None
    vocabulary: str | None = None
    identifier: bool = False
    source: str = ""
    grade: Grade = Grade.SECONDARY

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "name": self.name, "form": self.form, "label": self.label, "type": self.type.value,
            "description": self.description, "required": self.required, "unit": self.unit,
            "minimum": self.minimum, "maximum": self.maximum, "max_length": self.max_length,
            "vocabulary": self.vocabulary, "identifier": self.identifier, "source": self.source,
            "grade": self.grade.value,
        }


@dataclass(frozen=True)
class Form:
    """A group of fields: ``patient`` (one per patient) or a repeating record kind."""

    name: str
    label: str
    repeating: bool
    fields: tuple[Field, ...]

    def field(self, name: str) -> Field:
        """The field called ``name`` (InputError naming the form and the allowed fields)."""
        for f in self.fields:
            if f.name == name:
                return f
        raise InputError(f"form {self.name!r} has no such field", field="field", value=name,
                         remedy=f"use one of: {', '.join(f.name for f in self.fields)}")


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _field(form: str, entry: Mapping[str, Any], defaults: Mapping[str, Any]) -> Field:
    where = f"{form}.{entry.get('name')}"
    kind = FieldType(entry["type"])
    vocab = entry.get("vocabulary")
    if (kind is FieldType.CODED) != (vocab is not None):
        raise ValueError(f"{where}: a coded field needs a vocabulary, and only a coded field has one")
    if vocab is not None:
        vocabulary(str(vocab))  # an unknown vocabulary name fails at load time
    if entry.get("max_length") is not None and kind is not FieldType.TEXT:
        raise ValueError(f"{where}: max_length applies to text fields only")
    return Field(
        name=str(entry["name"]), form=form, label=str(entry["label"]), type=kind,
        description=str(entry["description"]), required=bool(entry["required"]),
        unit=None if entry.get("unit") is None else str(entry["unit"]),
        minimum=_number(entry.get("minimum")), maximum=_number(entry.get("maximum")),
        max_length=None if entry.get("max_length") is None else int(entry["max_length"]),
        vocabulary=None if vocab is None else str(vocab), identifier=bool(entry.get("identifier", False)),
        source=str(entry.get("source", defaults["source"])),
        grade=Grade(entry.get("grade", defaults["grade"])),
    )


@lru_cache(maxsize=1)
def _load() -> tuple[Form, ...]:
    data = load_yaml(_FIELDS_FILE)
    defaults = data["defaults"]
    return tuple(
        Form(name=str(f["name"]), label=str(f["label"]), repeating=bool(f["repeating"]),
             fields=tuple(_field(str(f["name"]), e, defaults) for e in f["fields"]))
        for f in data["forms"]
    )


def forms() -> tuple[Form, ...]:
    """Every form, in a stable order, ``patient`` first."""
    return _load()


def form(name: str) -> Form:
    """The form called ``name``.

    Raises
    ------
    InputError
        For an unknown form (names the allowed forms).
    """
    for f in _load():
        if f.name == name:
            return f
    raise InputError("unknown form", field="form", value=name,
                     remedy=f"use one of: {', '.join(f.name for f in _load())}")


def field(form_name: str, name: str) -> Field:
    """The field ``name`` of form ``form_name``."""
    return form(form_name).field(name)
