"""The data model as a data dictionary that centres can adopt: REDCap, CDISC ODM 1.3.2, JSON Schema, Markdown.

Every function here is pure: it reads the model (:func:`redif.model.fields.forms`,
:func:`redif.model.terms.vocabularies`, or the forms and vocabularies given) and returns text or bytes;
writing files is the job of the interfaces (``redif dictionary export``).

REDCap data dictionary
    The 18 columns of REDCap's data dictionary CSV, in REDCap's order and with REDCap's header text
    (:data:`REDCAP_COLUMNS`). Field types are REDCap's own (:data:`REDCAP_FIELD_TYPES`): text fields with
    the validation types ``date_ymd``, ``integer`` and ``number`` (with the model's minimum and maximum),
    ``dropdown`` for coded fields with choices written ``raw, label | raw, label``, ``yesno`` (stored 1/0)
    for booleans, ``notes`` for long text; the registry's hard limits become the action tags
    ``@CHARLIMIT`` (text length) and ``@FORCE-MINMAX`` (range) in the Field Annotation. The first field
    of the first instrument is the record identifier ``record_id``, as REDCap requires. Every form but
    ``patient`` is a repeating instrument (a patient has many courses, scans, lesions, labs, responses);
    REDCap keeps that setting outside the
    data dictionary, so :func:`redcap_repeating_instruments` writes the list of repeating instruments in
    the CSV layout of REDCap's "repeating instruments" import (``form_name,custom_form_label``).

    REDCap names: variable and instrument names are lowercase letters, digits and single underscores,
    starting with a letter, unique in the project (REDCap's mandatory rule; names longer than 26
    characters draw only an advisory warning). A model field keeps its name when no other form uses it;
    a name used by several forms is prefixed with the instrument name (``uptake_assessment_date``,
    ``responses_assessment_date``). Choice codes are the model's codes in lowercase with every other
    character than a letter or digit turned into ``_`` (``NON-CR/NON-PD`` -> ``non_cr_non_pd``);
    :func:`redcap_choice_codes` gives the mapping both ways.

    Identifiers: ``Identifier?`` is ``y`` for the fields the model marks as identifying
    (:attr:`Field.identifier`). The **site pseudonym** is flagged: it is the key to the site's
    re-identification list, so under the GDPR (Art. 4(5)) it is personal data for the site, and REDCap's
    de-identified exports (which drop fields flagged ``y``) must not carry it to others. For the same
    reason ``record_id`` is not the pseudonym but a number assigned at export (see
    :mod:`redif.registry.redcap`).

CDISC ODM 1.3.2
    One ``Study`` with ``GlobalVariables``, ``BasicDefinitions`` (a ``MeasurementUnit`` per unit) and a
    ``MetaDataVersion`` holding the ``Protocol``, one ``StudyEventDef`` ("Registry"), a ``FormDef`` and an
    ``ItemGroupDef`` per form (``Repeating="Yes"`` for repeating forms), an ``ItemDef`` per field
    (``DataType`` text/integer/float/date/boolean, ``Length`` for text and codes, ``RangeCheck`` for the
    allowed range, ``MeasurementUnitRef``) and a ``CodeList`` per vocabulary used, each
    ``CodeListItem`` with its ``Decode`` and, where the model holds verified external codes, an ``Alias``
    (``Context`` = the code system). The document is built with the standard library and checked in the
    tests by reading it back with ``odmlib`` and against the CDISC ODM 1.3.2 XML Schema.

JSON Schema
    The case-file schema of the pathway (``redif patient schema``; passed in, since the model sits below
    the pathway), with every enumeration that draws on a model vocabulary annotated with the vocabulary
    (``title``, a ``description`` listing code = label, and ``x-redif-vocabulary``).

Markdown
    A codebook for people: every form, field and term with type, unit, range, required-ness, definition
    and source. ``docs/data-dictionary.md`` is this output.

References
----------
REDCap data dictionary: the REDCap "Data Dictionary" help and its demonstration file (the 18 columns,
field types, validation types, "the first variable on the first form must be the record identifier");
column-by-column reference: REDCap Knowledge Base RC-FD-08, "Data Dictionary: Column Reference & Advanced
Techniques" (https://bdeveer.github.io/REDCap_KB_RAG/); the header text as used by Sage Bionetworks'
``redcapdd`` (``get_dd_cols``); allowed field types, validation types and the name and choice-code
patterns as modelled by LinkML's ``linkml-redcap`` (https://linkml.io/linkml-redcap/); the variable-name
rule and the advisory 26-character warning: REDCap's validation suite, vanderbilt-redcap/redcap_rsvc
issue 638 (B.6.7.2200); repeating instruments: REDCap "Repeating Instruments & Events" help (University
of Alberta REDCap help pages); action tags ``@CHARLIMIT`` and ``@FORCE-MINMAX``: REDCap Knowledge Base
RC-AT-05, "Free Text Action Tags".

CDISC Operational Data Model (ODM) version 1.3.2, CDISC 2013 (specification and XML Schema
``ODM1-3-2.xsd``, namespace ``http://www.cdisc.org/ns/odm/v1.3``).

JSON Schema draft 2020-12 (https://json-schema.org/draft/2020-12/schema).
"""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from redif.errors import InputError
from redif.model.fields import Field, FieldType, Form, forms
from redif.model.terms import Vocabulary, vocabularies

__all__ = [
    "EXPORT_FORMATS",
    "ODM_NAMESPACE",
    "REDCAP_COLUMNS",
    "REDCAP_FIELD_TYPES",
    "REDCAP_RECORD_ID",
    "REDCAP_VALIDATION_TYPES",
    "jsonschema",
    "markdown",
    "odm",
    "redcap",
    "redcap_choice_codes",
    "redcap_form_name",
    "redcap_repeating_instruments",
    "redcap_variables",
]

#: The formats of ``redif dictionary export`` with a one-line description (the CLI help reads this).
EXPORT_FORMATS: Mapping[str, str] = {
    "redcap": "REDCap data dictionary (CSV, 18 columns)",
    "odm": "CDISC ODM 1.3.2 study metadata (XML)",
    "jsonschema": "JSON Schema of a case file",
    "markdown": "human codebook (Markdown)",
}

#: REDCap's data dictionary columns, in REDCap's order, with REDCap's header text.
REDCAP_COLUMNS: tuple[str, ...] = (
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
)

#: Every field type REDCap accepts in a data dictionary.
REDCAP_FIELD_TYPES: frozenset[str] = frozenset(
    {
        "text",
        "notes",
        "dropdown",
        "radio",
        "checkbox",
        "yesno",
        "truefalse",
        "calc",
        "file",
        "descriptive",
        "slider",
        "sql",
    }
)

#: The REDCap text validation types this dictionary uses, by model field type.
REDCAP_VALIDATION_TYPES: Mapping[FieldType, str] = {
    FieldType.DATE: "date_ymd",
    FieldType.INTEGER: "integer",
    FieldType.NUMBER: "number",
}

#: The record identifier: the first field of the first instrument.
REDCAP_RECORD_ID = "record_id"

#: REDCap names of its own columns and suffixes; a model name equal to one of these is prefixed.
_REDCAP_RESERVED = frozenset(
    {
        REDCAP_RECORD_ID,
        "redcap_event_name",
        "redcap_repeat_instrument",
        "redcap_repeat_instance",
        "redcap_data_access_group",
        "redcap_survey_identifier",
    }
)
_NAME = re.compile(r"^[a-z](?:[a-z0-9]|_(?!_))*$")
#: Text longer than this is a REDCap ``notes`` box rather than a one-line ``text`` field.
_NOTES_FROM = 255

ODM_NAMESPACE = "http://www.cdisc.org/ns/odm/v1.3"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_ODM_TYPES: Mapping[FieldType, str] = {
    FieldType.TEXT: "text",
    FieldType.INTEGER: "integer",
    FieldType.NUMBER: "float",
    FieldType.DATE: "date",
    FieldType.BOOLEAN: "boolean",
    FieldType.CODED: "text",
}


def _model(
    model_forms: Sequence[Form] | None, vocabs: Mapping[str, Vocabulary] | None
) -> tuple[tuple[Form, ...], Mapping[str, Vocabulary]]:
    return (
        tuple(forms() if model_forms is None else model_forms),
        vocabularies() if vocabs is None else vocabs,
    )


def _number(value: float) -> str:
    """A number as plain decimal text (no exponent), integral values without a fraction."""
    if float(value).is_integer():
        return str(int(value))
    return format(Decimal(repr(float(value))), "f")


# --------------------------------------------------------------------------------------------- REDCap


def redcap_form_name(form: Form) -> str:
    """REDCap instrument name of a form (``rai-history`` -> ``rai_history``)."""
    name = re.sub(r"[^a-z0-9]+", "_", form.name.lower()).strip("_")
    if not _NAME.match(name):
        raise InputError(
            "form name cannot be a REDCap instrument name",
            field="form",
            value=form.name,
            remedy="name forms with letters, digits, '-' or '_', starting with a letter",
        )
    return name


def redcap_variables(model_forms: Sequence[Form] | None = None) -> dict[tuple[str, str], str]:
    """REDCap variable name of every field, keyed by ``(form name, field name)``.

    A field keeps its name unless another form has a field of the same name or the name is one of
    REDCap's own; then it is prefixed with the instrument name. Raises :class:`InputError` when a name
    cannot be a REDCap variable or two variables would coincide.
    """
    all_forms = tuple(forms() if model_forms is None else model_forms)
    uses = Counter(f.name for form in all_forms for f in form.fields)
    out: dict[tuple[str, str], str] = {}
    for form in all_forms:
        for f in form.fields:
            name = f.name.lower()
            if uses[f.name] > 1 or name in _REDCAP_RESERVED or name.startswith("redcap_"):
                name = f"{redcap_form_name(form)}_{name}"
            if not _NAME.match(name):
                raise InputError(
                    "field name cannot be a REDCap variable name",
                    field=f"{form.name}.{f.name}",
                    value=name,
                    remedy="use lowercase letters, digits and single underscores",
                )
            out[(form.name, f.name)] = name
    taken = Counter(out.values())
    clash = sorted(n for n, k in taken.items() if k > 1)
    if clash or REDCAP_RECORD_ID in taken:
        raise InputError(
            "REDCap variable names coincide",
            field="fields",
            value=", ".join(clash),
            remedy="rename one of the fields in the model",
        )
    return out


def redcap_choice_codes(vocabulary: Vocabulary) -> dict[str, str]:
    """REDCap raw value of every code of ``vocabulary`` (code -> raw value; invert for import).

    Raw values are the codes in lowercase with runs of other characters than letters and digits turned
    into ``_``; two codes that would give the same raw value are an error.
    """
    out = {code: re.sub(r"[^a-z0-9]+", "_", code.lower()).strip("_") for code in vocabulary.codes()}
    if len(set(out.values())) != len(out) or not all(out.values()):
        raise InputError(
            "vocabulary codes do not give distinct REDCap choice codes",
            field=vocabulary.name,
            value=", ".join(vocabulary.codes()),
            remedy="make the codes differ in letters or digits",
        )
    return out


def _choice_label(text: str) -> str:
    # REDCap splits choices at "|" and a choice at its first ","; a label keeps its commas but no "|".
    return " ".join(text.replace("|", "/").split())


def _redcap_row(f: Field, form: Form, variable: str, vocabs: Mapping[str, Vocabulary]) -> dict[str, str]:
    row = dict.fromkeys(REDCAP_COLUMNS, "")
    row["Variable / Field Name"] = variable
    row["Form Name"] = redcap_form_name(form)
    row["Field Label"] = f.label
    row["Field Note"] = f.unit or ""
    row["Identifier?"] = "y" if f.identifier else ""
    row["Required Field?"] = "y" if f.required else ""
    notes = [f.description] if f.description else []
    if f.type is FieldType.CODED:
        vocab = _vocabulary_of(f, vocabs)
        raw = redcap_choice_codes(vocab)
        row["Field Type"] = "dropdown"
        row["Choices, Calculations, OR Slider Labels"] = " | ".join(
            f"{raw[t.code]}, {_choice_label(t.label)}" for t in vocab.terms
        )
        notes.append(f"Vocabulary: {vocab.name}.")
    elif f.type is FieldType.BOOLEAN:
        row["Field Type"] = "yesno"
    elif f.type is FieldType.TEXT and (f.max_length is None or f.max_length > _NOTES_FROM):
        row["Field Type"] = "notes"
    else:
        row["Field Type"] = "text"
        if f.type in REDCAP_VALIDATION_TYPES:
            row["Text Validation Type OR Show Slider Number"] = REDCAP_VALIDATION_TYPES[f.type]
            if f.type is not FieldType.DATE:
                row["Text Validation Min"] = "" if f.minimum is None else _number(f.minimum)
                row["Text Validation Max"] = "" if f.maximum is None else _number(f.maximum)
    tags = []  # REDCap action tags: the registry's limits are hard limits, so REDCap enforces them too
    if f.type is FieldType.TEXT and f.max_length is not None:
        tags.append(f"@CHARLIMIT={f.max_length}")
    if f.type in (FieldType.INTEGER, FieldType.NUMBER) and (f.minimum is not None or f.maximum is not None):
        tags.append("@FORCE-MINMAX")
    row["Field Annotation"] = " ".join(tags + notes)
    return row


def _vocabulary_of(f: Field, vocabs: Mapping[str, Vocabulary]) -> Vocabulary:
    if f.vocabulary is None or f.vocabulary not in vocabs:
        raise InputError(
            "coded field without a known vocabulary",
            field=f"{f.form}.{f.name}",
            value=f.vocabulary,
            remedy="name a vocabulary of the model",
        )
    return vocabs[f.vocabulary]


def _csv(rows: Sequence[Sequence[str]]) -> str:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerows(rows)
    return buf.getvalue()


def redcap(model_forms: Sequence[Form] | None = None, vocabs: Mapping[str, Vocabulary] | None = None) -> str:
    """The model as a REDCap data dictionary (CSV text, CRLF line ends as REDCap writes them).

    Parameters
    ----------
    model_forms, vocabs
        The forms and vocabularies to describe (default: the whole model).
    """
    all_forms, all_vocabs = _model(model_forms, vocabs)
    variables = redcap_variables(all_forms)
    rows: list[list[str]] = [list(REDCAP_COLUMNS)]
    first = dict.fromkeys(REDCAP_COLUMNS, "")
    first.update(
        {
            "Variable / Field Name": REDCAP_RECORD_ID,
            "Form Name": redcap_form_name(all_forms[0]),
            "Field Type": "text",
            "Field Label": "Record ID",
            "Field Annotation": "REDCap record identifier, assigned at export; not the site pseudonym.",
        }
    )
    rows.append([first[c] for c in REDCAP_COLUMNS])
    for form in all_forms:
        for f in form.fields:
            row = _redcap_row(f, form, variables[(form.name, f.name)], all_vocabs)
            rows.append([row[c] for c in REDCAP_COLUMNS])
    return _csv(rows)


def redcap_repeating_instruments(model_forms: Sequence[Form] | None = None) -> str:
    """The repeating instruments (every repeating form) as REDCap's ``form_name,custom_form_label`` CSV."""
    all_forms = tuple(forms() if model_forms is None else model_forms)
    return _csv(
        [["form_name", "custom_form_label"]] + [[redcap_form_name(f), ""] for f in all_forms if f.repeating]
    )


# ------------------------------------------------------------------------------------------------ ODM


def _oid(*parts: str) -> str:
    return ".".join(re.sub(r"[^A-Za-z0-9_-]+", "_", p) for p in parts)


def _text(parent: ET.Element, tag: str, text: str) -> ET.Element:
    el = ET.SubElement(parent, f"{{{ODM_NAMESPACE}}}{tag}")
    tt = ET.SubElement(el, f"{{{ODM_NAMESPACE}}}TranslatedText", {_XML_LANG: "en"})
    tt.text = text
    return el


def _sub(parent: ET.Element, tag: str, attrib: Mapping[str, str] | None = None) -> ET.Element:
    return ET.SubElement(parent, f"{{{ODM_NAMESPACE}}}{tag}", dict(attrib or {}))


def odm(
    model_forms: Sequence[Form] | None = None,
    vocabs: Mapping[str, Vocabulary] | None = None,
    *,
    creation_datetime: str,
    study_oid: str = "REDIF",
    version: str = "1",
) -> bytes:
    """The model as CDISC ODM 1.3.2 study metadata (UTF-8 XML with declaration).

    Parameters
    ----------
    creation_datetime
        ``ODM/@CreationDateTime`` (ISO 8601 date-time, e.g. ``2025-01-01T00:00:00Z``); given by the caller
        so that the output is reproducible.
    study_oid, version
        OID of the study and version of the metadata (``MetaDataVersion/@OID`` is ``MDV.<version>``).
    """
    all_forms, all_vocabs = _model(model_forms, vocabs)
    ET.register_namespace("", ODM_NAMESPACE)
    root = ET.Element(
        f"{{{ODM_NAMESPACE}}}ODM",
        {
            "FileType": "Snapshot",
            "Granularity": "Metadata",
            "FileOID": _oid("redif", "dictionary", study_oid, version),
            "CreationDateTime": creation_datetime,
            "ODMVersion": "1.3.2",
            "Originator": "redif",
            "SourceSystem": "redif",
        },
    )
    study = _sub(root, "Study", {"OID": study_oid})
    gv = _sub(study, "GlobalVariables")
    _sub(gv, "StudyName").text = "redif registry"
    _sub(gv, "StudyDescription").text = (
        "Harmonised minimum data set of radioiodine redifferentiation therapy in RAI-refractory "
        "differentiated thyroid cancer (redif data model)."
    )
    _sub(gv, "ProtocolName").text = "redif registry"
    units = sorted({f.unit for form in all_forms for f in form.fields if f.unit})
    if units:
        bd = _sub(study, "BasicDefinitions")
        for unit in units:
            mu = _sub(bd, "MeasurementUnit", {"OID": _oid("MU", unit), "Name": unit})
            _text(mu, "Symbol", unit)
    mdv = _sub(study, "MetaDataVersion", {"OID": _oid("MDV", version), "Name": f"redif data model {version}"})
    protocol = _sub(mdv, "Protocol")
    _sub(protocol, "StudyEventRef", {"StudyEventOID": "SE.REGISTRY", "OrderNumber": "1", "Mandatory": "Yes"})
    event = _sub(
        mdv, "StudyEventDef", {"OID": "SE.REGISTRY", "Name": "Registry", "Repeating": "No", "Type": "Common"}
    )
    for i, form in enumerate(all_forms, start=1):
        _sub(
            event,
            "FormRef",
            {
                "FormOID": _oid("F", form.name),
                "OrderNumber": str(i),
                "Mandatory": "Yes" if not form.repeating else "No",
            },
        )
    for form in all_forms:
        fd = _sub(
            mdv,
            "FormDef",
            {"OID": _oid("F", form.name), "Name": form.label, "Repeating": "Yes" if form.repeating else "No"},
        )
        _sub(fd, "ItemGroupRef", {"ItemGroupOID": _oid("IG", form.name), "Mandatory": "Yes"})
    for form in all_forms:
        ig = _sub(
            mdv,
            "ItemGroupDef",
            {
                "OID": _oid("IG", form.name),
                "Name": form.label,
                "Repeating": "Yes" if form.repeating else "No",
            },
        )
        for i, f in enumerate(form.fields, start=1):
            _sub(
                ig,
                "ItemRef",
                {
                    "ItemOID": _oid("IT", form.name, f.name),
                    "OrderNumber": str(i),
                    "Mandatory": "Yes" if f.required else "No",
                },
            )
    used: dict[str, Vocabulary] = {}
    for form in all_forms:
        for f in form.fields:
            _item_def(mdv, form, f, all_vocabs, used)
    for name, vocab in used.items():
        cl = _sub(mdv, "CodeList", {"OID": _oid("CL", name), "Name": vocab.label, "DataType": "text"})
        for i, term in enumerate(vocab.terms, start=1):
            item = _sub(cl, "CodeListItem", {"CodedValue": term.code, "OrderNumber": str(i)})
            _text(item, "Decode", term.label)
            for system, code in sorted(term.external.items()):
                _sub(item, "Alias", {"Context": system, "Name": code})
    ET.indent(root, space="  ")
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data + b"\n"


def _item_def(
    mdv: ET.Element, form: Form, f: Field, vocabs: Mapping[str, Vocabulary], used: dict[str, Vocabulary]
) -> None:
    attrib = {"OID": _oid("IT", form.name, f.name), "Name": f.name, "DataType": _ODM_TYPES[f.type]}
    vocab = _vocabulary_of(f, vocabs) if f.type is FieldType.CODED else None
    if vocab is not None:
        attrib["Length"] = str(max(len(c) for c in vocab.codes()))
    elif f.type is FieldType.TEXT and f.max_length is not None:
        attrib["Length"] = str(f.max_length)
    item = _sub(mdv, "ItemDef", attrib)
    if f.description:
        _text(item, "Description", f.description)
    _text(item, "Question", f.label)
    if f.unit:
        _sub(item, "MeasurementUnitRef", {"MeasurementUnitOID": _oid("MU", f.unit)})
    for comparator, bound in (("GE", f.minimum), ("LE", f.maximum)):
        if bound is not None and f.type in (FieldType.INTEGER, FieldType.NUMBER):
            check = _sub(item, "RangeCheck", {"Comparator": comparator, "SoftHard": "Hard"})
            _sub(check, "CheckValue").text = _number(bound)
    if vocab is not None:
        _sub(item, "CodeListRef", {"CodeListOID": _oid("CL", vocab.name)})
        used.setdefault(vocab.name, vocab)


# ---------------------------------------------------------------------------------------- JSON Schema


def _annotate(node: Any, by_codes: Mapping[frozenset[str], Vocabulary]) -> None:
    if isinstance(node, dict):
        values = node.get("enum")
        if isinstance(values, list) and all(isinstance(v, str) for v in values):
            vocab = by_codes.get(frozenset(values))
            if vocab is not None:
                node.setdefault("title", vocab.label)
                node["description"] = "; ".join(f"{t.code} = {t.label}" for t in vocab.terms)
                node["x-redif-vocabulary"] = vocab.name
        for value in node.values():
            _annotate(value, by_codes)
    elif isinstance(node, list):
        for value in node:
            _annotate(value, by_codes)


def jsonschema(case_schema: Mapping[str, Any], vocabs: Mapping[str, Vocabulary] | None = None) -> str:
    """The JSON Schema of a case file, its enumerations annotated with the model vocabularies they use.

    Parameters
    ----------
    case_schema
        The case-file schema (:func:`redif.pathway.case.case_json_schema`); it is not changed.
    vocabs
        Vocabularies to recognise (default: the model's). An enumeration whose values are exactly the
        codes of a vocabulary gets the vocabulary's label as ``title`` (unless it has one), the codes with
        their labels as ``description`` and the vocabulary name as ``x-redif-vocabulary``.
    """
    schema = json.loads(json.dumps(case_schema))
    all_vocabs = vocabularies() if vocabs is None else vocabs
    by_codes = {frozenset(v.codes()): v for v in all_vocabs.values()}
    _annotate(schema, by_codes)
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


# ------------------------------------------------------------------------------------------- Markdown


def _cell(text: str) -> str:
    return " ".join(str(text).replace("|", "\\|").split())


def _range(f: Field) -> str:
    if f.minimum is None and f.maximum is None:
        return ""
    low = "" if f.minimum is None else _number(f.minimum)
    high = "" if f.maximum is None else _number(f.maximum)
    return f"{low} to {high}".strip()


def _type(f: Field) -> str:
    if f.type is FieldType.CODED:
        return f"coded ([{f.vocabulary}](#vocabulary-{f.vocabulary}))"
    if f.type is FieldType.TEXT and f.max_length is not None:
        return f"text (max {f.max_length})"
    return f.type.value


def markdown(
    model_forms: Sequence[Form] | None = None, vocabs: Mapping[str, Vocabulary] | None = None
) -> str:
    """The model as a human codebook (Markdown): forms, fields, then the vocabularies they use."""
    all_forms, all_vocabs = _model(model_forms, vocabs)
    variables = redcap_variables(all_forms)
    out = [
        "# redif data dictionary",
        "",
        "<!-- Generated from the redif data model (src/redif/model): do not edit by hand. Regenerate with",
        "     redif dictionary export --format markdown --out docs/data-dictionary.md -->",
        "",
        "The harmonised minimum data set of radioiodine redifferentiation therapy, as the redif registry",
        "stores it. Every field has a type, a unit where it has one, an allowed range, and whether it is",
        "required; every coded field draws its terms from one vocabulary below. The same model is",
        "exported as a REDCap data dictionary, as CDISC ODM 1.3.2 metadata and as a JSON Schema",
        "(`redif dictionary export --format redcap|odm|jsonschema|markdown --out FILE`).",
        "",
        "Identifier = the field could identify a person (REDCap `Identifier?`; REDCap's de-identified",
        "exports drop it). The site pseudonym is one: it is the key to the site's re-identification list.",
        "",
        "## Forms",
        "",
        "| Form | Label | Repeating | REDCap instrument |",
        "|---|---|---|---|",
    ]
    out += [
        f"| [{form.name}](#form-{form.name}) | {_cell(form.label)} | {'yes' if form.repeating else 'no'} "
        f"| `{redcap_form_name(form)}` |"
        for form in all_forms
    ]
    used: dict[str, Vocabulary] = {}
    for form in all_forms:
        out += [
            "",
            f"## Form {form.name}",
            "",
            f"{form.label}. "
            + ("Repeating: a patient has any number of these." if form.repeating else "One per patient."),
            "",
            "| Field | REDCap variable | Label | Type | Unit | Range | Required | Identifier | Description |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for f in form.fields:
            if f.type is FieldType.CODED:
                vocab = _vocabulary_of(f, all_vocabs)
                used.setdefault(vocab.name, vocab)
            out.append(
                f"| `{f.name}` | `{variables[(form.name, f.name)]}` | {_cell(f.label)} | {_type(f)} "
                f"| {_cell(f.unit or '')} | {_range(f)} | {'yes' if f.required else ''} "
                f"| {'yes' if f.identifier else ''} | {_cell(f.description)} |"
            )
    out += ["", "## Vocabularies"]
    for name in sorted(used):
        vocab = used[name]
        out += [
            "",
            f"### Vocabulary {name}",
            "",
            f"{_cell(vocab.label)}. Source: {_cell(vocab.source)}",
            "",
            "| Code | Label | Definition | External codes | Source | Grade |",
            "|---|---|---|---|---|---|",
        ]
        for t in vocab.terms:
            ext = ", ".join(f"{k}: {v}" for k, v in sorted(t.external.items()))
            out.append(
                f"| `{_cell(t.code)}` | {_cell(t.label)} | {_cell(t.definition)} | {_cell(ext)} "
                f"| {_cell(t.source)} | {t.grade.value} |"
            )
    return "\n".join(out) + "\n"
