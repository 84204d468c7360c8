"""Issue 10: the data dictionary exports of the model (REDCap, CDISC ODM 1.3.2, JSON Schema, Markdown).

Expected values come from the formats' own documentation, typed here independently of the code:
REDCap's 18 data dictionary columns and their header text (issue 10; REDCap data dictionary help, the
header as in Sage Bionetworks' ``redcapdd``), REDCap's field types and validation types (REDCap help;
LinkML ``linkml-redcap`` FieldType / TextValidationType), REDCap's name rule (lowercase letters, digits,
underscores, starting with a letter: vanderbilt-redcap/redcap_rsvc issue 638); the CDISC ODM 1.3.2 XML
Schema shipped with ``odmlib`` and odmlib's own reader; JSON Schema via ``jsonschema_rs``.
"""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import xmlschema
from odmlib import loader as odm_loader_facade
from odmlib import odm_loader, schema_manager
from typer.testing import CliRunner

from redif.cli.main import app
from redif.data import Grade
from redif.errors import InputError
from redif.io.yaml_doc import MAX_FILE_BYTES, load_document
from redif.model import dictionary
from redif.model.fields import Field, FieldType, Form, forms
from redif.model.terms import Term, Vocabulary, vocabularies
from redif.pathway.case import case_json_schema

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_CASES = sorted((ROOT / "examples").glob("case_*.yaml"))

#: REDCap's data dictionary header, as the issue lists it (REDCap's order and text).
REDCAP_HEADER = [
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
]
#: The field types REDCap accepts (REDCap help; linkml-redcap FieldType).
REDCAP_TYPES = {
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
REDCAP_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
CHOICE = re.compile(r"^([a-z0-9_]+), (.+)$")


def _rows() -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(dictionary.redcap(), newline="")))


def _model_fields() -> list[Field]:
    return [f for form in forms() for f in form.fields]


def test_redcap_header_is_redcaps() -> None:
    """Issue 10: the REDCap dictionary has REDCap's 18 columns, in REDCap's order, with its header text."""
    header = next(csv.reader(io.StringIO(dictionary.redcap(), newline="")))
    assert header == REDCAP_HEADER
    assert len(header) == 18


def test_redcap_fields_types_and_names() -> None:
    """Issue 10: every model field once, REDCap field types only, valid unique names, ``record_id`` first
    on the first form, forms contiguous, every form but ``patient`` listed as a repeating instrument."""
    rows = _rows()
    assert rows[0]["Variable / Field Name"] == "record_id"
    assert rows[0]["Form Name"] == "patient" == forms()[0].name
    assert {r["Field Type"] for r in rows} <= REDCAP_TYPES
    names = [r["Variable / Field Name"] for r in rows]
    assert len(names) == len(set(names)) == len(_model_fields()) + 1
    assert all(REDCAP_NAME.match(n) and "__" not in n and not n.endswith("_") for n in names)
    form_order = [r["Form Name"] for r in rows]
    blocks = [f for i, f in enumerate(form_order) if i == 0 or form_order[i - 1] != f]
    assert len(blocks) == len(set(blocks)), "fields of a form must be contiguous"
    assert all(REDCAP_NAME.match(f) for f in blocks)
    repeating = list(csv.DictReader(io.StringIO(dictionary.redcap_repeating_instruments(), newline="")))
    assert [r["form_name"] for r in repeating] == [
        dictionary.redcap_form_name(f) for f in forms() if f.name != "patient"
    ]


def test_redcap_rows_follow_the_model() -> None:
    """Issue 10: validation types date_ymd/integer/number with the model's range, choices written
    ``code, label | code, label`` decoding to the vocabulary's terms, yesno for booleans, the unit in the
    Field Note, Identifier?/Required Field? = y where the model says so."""
    rows = {r["Variable / Field Name"]: r for r in _rows()}
    variables = dictionary.redcap_variables()
    vocabs = vocabularies()
    for form in forms():
        for f in form.fields:
            row = rows[variables[(form.name, f.name)]]
            assert row["Form Name"] == dictionary.redcap_form_name(form)
            assert row["Identifier?"] == ("y" if f.identifier else "")
            assert row["Required Field?"] == ("y" if f.required else "")
            assert row["Field Note"] == (f.unit or "")
            validation = row["Text Validation Type OR Show Slider Number"]
            if f.type is FieldType.DATE:
                assert (row["Field Type"], validation) == ("text", "date_ymd")
            elif f.type in (FieldType.INTEGER, FieldType.NUMBER):
                assert (row["Field Type"], validation) == ("text", f.type.value)
                for column, bound in (("Text Validation Min", f.minimum), ("Text Validation Max", f.maximum)):
                    assert (float(row[column]) if row[column] else None) == bound
            elif f.type is FieldType.BOOLEAN:
                assert row["Field Type"] == "yesno"
            elif f.type is FieldType.CODED:
                assert row["Field Type"] == "dropdown"
                vocab = vocabs[str(f.vocabulary)]
                raw = dictionary.redcap_choice_codes(vocab)
                choices = [
                    CHOICE.match(c) for c in row["Choices, Calculations, OR Slider Labels"].split(" | ")
                ]
                assert all(choices)
                assert [(m.group(1), m.group(2)) for m in choices if m] == [
                    (raw[t.code], " ".join(t.label.split())) for t in vocab.terms
                ]
            else:
                assert row["Field Type"] in ("text", "notes") and validation == ""


def test_redcap_flags_the_site_pseudonym_as_identifier() -> None:
    """Issue 10: the site pseudonym is the key to the site's re-identification list (GDPR Art. 4(5)), so
    REDCap's de-identified exports must drop it: ``Identifier?`` = y; ``record_id`` is not the pseudonym."""
    rows = {r["Variable / Field Name"]: r for r in _rows()}
    assert rows["pseudonym"]["Identifier?"] == "y"
    assert rows["record_id"]["Identifier?"] == ""


def _term(code: str) -> Term:
    return Term(
        code=code, label=f"Label of {code}", definition="d", source="s", grade=Grade.UNVERIFIED, external={}
    )


def _fixture() -> tuple[tuple[Form, ...], dict[str, Vocabulary]]:
    vocab = Vocabulary(
        name="overall_response",
        label="Overall response",
        source="s",
        terms=tuple(_term(c) for c in ("CR", "NON-CR/NON-PD", "NE")),
    )

    def fld(form: str, name: str, kind: FieldType, **kw: Any) -> Field:
        return Field(name=name, form=form, label=name, type=kind, description="", required=False, **kw)

    model = (
        Form("patient", "Patient", False, (fld("patient", "pseudonym", FieldType.TEXT, max_length=64),)),
        Form("scans", "Scans", True, (fld("scans", "assessment_date", FieldType.DATE),)),
        Form(
            "responses",
            "Responses",
            True,
            (
                fld("responses", "assessment_date", FieldType.DATE),
                fld("responses", "overall_response", FieldType.CODED, vocabulary="overall_response"),
            ),
        ),
    )
    return model, {"overall_response": vocab}


def test_redcap_names_and_codes_on_a_small_model() -> None:
    """Issue 10: a field name used by two forms is prefixed with the instrument name; codes become
    REDCap raw values of lowercase letters, digits and '_' (linkml-redcap raw_value pattern), e.g.
    NON-CR/NON-PD -> non_cr_non_pd; codes that would coincide are refused."""
    model, vocabs = _fixture()
    assert dictionary.redcap_variables(model) == {
        ("patient", "pseudonym"): "pseudonym",
        ("scans", "assessment_date"): "scans_assessment_date",
        ("responses", "assessment_date"): "responses_assessment_date",
        ("responses", "overall_response"): "overall_response",
    }
    assert dictionary.redcap_choice_codes(vocabs["overall_response"]) == {
        "CR": "cr",
        "NON-CR/NON-PD": "non_cr_non_pd",
        "NE": "ne",
    }
    text = dictionary.redcap(model, vocabs)
    assert '"cr, Label of CR | non_cr_non_pd, Label of NON-CR/NON-PD | ne, Label of NE"' in text
    clash = Vocabulary(name="v", label="v", source="s", terms=(_term("a-b"), _term("a_b")))
    with pytest.raises(InputError, match="distinct REDCap choice codes"):
        dictionary.redcap_choice_codes(clash)


def _odm_bytes() -> bytes:
    return dictionary.odm(creation_datetime="2025-01-01T00:00:00Z")


def test_odm_reads_back_with_odmlib() -> None:
    """Issue 10: the ODM export loads with the CDISC ODM library odmlib (its 1.3.2 model), passes odmlib's
    own checks (element order, OID references, conformance), and holds every form, field and term."""
    loader = odm_loader_facade.ODMLoader(odm_loader.XMLODMLoader(model_package="odm_1_3_2"))
    loader.load_odm_string(_odm_bytes().decode("utf-8"))
    root = loader.root()
    assert root.ODMVersion == "1.3.2"
    assert root.validate(collect_errors=True) == []
    mdv = loader.MetaDataVersion()
    assert [fd.OID for fd in mdv.FormDef] == [f"F.{f.name}" for f in forms()]
    assert {ig.OID: ig.Repeating for ig in mdv.ItemGroupDef} == {
        f"IG.{f.name}": ("Yes" if f.repeating else "No") for f in forms()
    }
    items = {it.OID: it for it in mdv.ItemDef}
    expected_type = {
        "text": "text",
        "integer": "integer",
        "number": "float",
        "date": "date",
        "boolean": "boolean",
        "coded": "text",
    }
    for f in _model_fields():
        item = items[f"IT.{f.form}.{f.name}"]
        assert item.DataType == expected_type[f.type.value]
        assert item.Question.TranslatedText[0]._content == f.label
        if f.type is FieldType.TEXT and f.max_length is not None:
            assert item.Length == f.max_length
    assert len(items) == len(_model_fields())
    vocabs = vocabularies()
    for cl in mdv.CodeList:
        vocab = vocabs[cl.OID.removeprefix("CL.")]
        assert [(i.CodedValue, i.Decode.TranslatedText[0]._content) for i in cl.CodeListItem] == [
            (t.code, t.label) for t in vocab.terms
        ]
    used = {f.vocabulary for f in _model_fields() if f.type is FieldType.CODED}
    assert {cl.OID for cl in mdv.CodeList} == {f"CL.{v}" for v in used}


def test_odm_is_valid_odm_1_3_2_xml() -> None:
    """Issue 10: the ODM export is valid against the CDISC ODM 1.3.2 XML Schema (as shipped with odmlib)
    and its root is ODM in the 1.3 namespace with ODMVersion 1.3.2."""
    data = _odm_bytes()
    root = ET.fromstring(data)
    assert root.tag == "{http://www.cdisc.org/ns/odm/v1.3}ODM"
    assert root.get("ODMVersion") == "1.3.2"
    schema = xmlschema.XMLSchema(schema_manager.get_schema_path("odm", "1.3.2"))
    schema.validate(data.decode("utf-8"))


def _case_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(dictionary.jsonschema(case_json_schema()))
    return schema


def _example(path: Path) -> Any:
    doc = load_document(path.read_bytes(), field=str(path), max_bytes=MAX_FILE_BYTES)
    return json.loads(json.dumps(doc, default=str))  # YAML dates as the ISO text a JSON case holds


@pytest.mark.parametrize("path", EXAMPLE_CASES, ids=lambda p: p.name)
def test_jsonschema_validates_every_example_case(path: Path) -> None:
    """Issue 10: the exported JSON Schema accepts every example case of examples/ (draft 2020-12)."""
    validator = jsonschema_rs.validator_for(_case_schema())
    errors = [e.message for e in validator.iter_errors(_example(path))]
    assert errors == []


def test_jsonschema_rejects_a_bad_code_and_names_vocabularies() -> None:
    """Issue 10: a case with a code outside its vocabulary is rejected; enumerations that are a model
    vocabulary carry its name (x-redif-vocabulary) and its codes with labels."""
    assert EXAMPLE_CASES
    schema = _case_schema()
    validator = jsonschema_rs.validator_for(schema)
    case = _example(EXAMPLE_CASES[0])
    case["histology"] = "hurthle"
    assert not validator.is_valid(case)
    annotated = {k: v for k, v in schema["$defs"].items() if "x-redif-vocabulary" in v}
    assert annotated
    vocabs = vocabularies()
    for definition in annotated.values():
        vocab = vocabs[definition["x-redif-vocabulary"]]
        assert definition["enum"] == list(vocab.codes()) or set(definition["enum"]) == set(vocab.codes())


def test_markdown_codebook_is_up_to_date() -> None:
    """Issue 10: docs/data-dictionary.md is the Markdown export of the current model (regenerate with
    ``redif dictionary export --format markdown --out docs/data-dictionary.md``)."""
    committed = (ROOT / "docs" / "data-dictionary.md").read_text(encoding="utf-8")
    assert committed == dictionary.markdown()
    for form in forms():
        assert f"## Form {form.name}" in committed


@pytest.mark.parametrize("fmt", sorted(dictionary.EXPORT_FORMATS))
def test_cli_writes_each_format(fmt: str, tmp_path: Path) -> None:
    """Issue 10: ``redif dictionary export --format F --out FILE`` writes the engine's output."""
    out = tmp_path / f"dictionary.{fmt}"
    result = CliRunner().invoke(app, ["dictionary", "export", "--format", fmt, "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    if fmt == "odm":
        assert re.sub(rb'CreationDateTime="[^"]*"', b"", data) == re.sub(
            rb'CreationDateTime="[^"]*"', b"", _odm_bytes()
        )
    else:
        expected = {
            "redcap": dictionary.redcap,
            "markdown": dictionary.markdown,
            "jsonschema": lambda: dictionary.jsonschema(case_json_schema()),
        }[fmt]()
        assert data.decode("utf-8") == expected


def test_cli_refuses_an_unknown_format(tmp_path: Path) -> None:
    """Issue 10: an unknown format is bad input (exit 2) naming --format and the allowed formats."""
    result = CliRunner().invoke(
        app, ["dictionary", "export", "--format", "xls", "--out", str(tmp_path / "x")]
    )
    assert result.exit_code != 0
    assert isinstance(result.exception, InputError)
    assert result.exception.field == "--format"
