"""Issue 10: every coded field in the registry, the case schema and the API schema draws its terms from the
model (one parametrised test)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from redif.errors import InputError
from redif.model import FieldType, forms, vocabulary
from redif.pathway import case_json_schema
from redif.registry.models import CODED_COLUMNS, PATIENT_CHILD_MODELS, Patient
from redif.registry.schemas import RECORD_SCHEMAS, PatientIn, PatientPatch, column_length, validate_input
from redif.web.app import create_app
from redif.web.settings import WebSettings

CODED = [(frm.name, fld.name, fld.vocabulary) for frm in forms() for fld in frm.fields
         if fld.type is FieldType.CODED]

#: Where the pathway case file holds a model field: (form, field) -> [($defs object or "" for the root,
#: property)]. The case file has no registry form, so the correspondence is written out here.
CASE_PROPERTIES: dict[tuple[str, str], list[tuple[str, str]]] = {
    ("patient", "histology"): [("", "histology")],
    ("patient", "progression_criterion"): [("ProgressionEvent", "criterion")],
    ("genotypes", "gene"): [("GenomicAlteration", "gene")],
    ("courses", "tsh_stimulation"): [("RaiCourse", "tsh_stimulation"), ("DiagnosticScan", "tsh_stimulation")],
    ("uptake", "tracer"): [("UptakeAssessment", "tracer"), ("DiagnosticScan", "tracer")],
}

@pytest.fixture(scope="module")
def openapi(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The app's ``/openapi.json``."""
    d = tmp_path_factory.mktemp("openapi")
    app = create_app(WebSettings(database_url=f"sqlite:///{d / 'r.sqlite'}", data_dir=d))
    with TestClient(app) as client:
        r = client.get("/openapi.json")
        assert r.status_code == 200, r.text
        yield r.json()
    app.state.db.dispose()


def _resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    """Follow ``$ref`` and a nullable ``anyOf`` down to the schema holding ``enum`` (or the type)."""
    while True:
        if "$ref" in node:
            path = node["$ref"].removeprefix("#/").split("/")
            target: Any = root
            for part in path:
                target = target[part]
            node = target
        elif "anyOf" in node:
            node = next(x for x in node["anyOf"] if x.get("type") != "null")
        elif "allOf" in node and len(node["allOf"]) == 1:
            node = node["allOf"][0]
        else:
            return node


def _enum(schema: dict[str, Any], prop: str, root: dict[str, Any]) -> list[str] | None:
    node = _resolve(schema["properties"][prop], root)
    values = node.get("enum")
    return None if values is None else [str(v) for v in values]


@pytest.mark.parametrize(("form_name", "name", "vocab_name"), CODED, ids=[f"{f}.{n}" for f, n, _ in CODED])
def test_coded_field_draws_its_terms_from_the_model(
    form_name: str, name: str, vocab_name: str, openapi: dict[str, Any], tmp_path: Path
) -> None:
    """Issue 10: for a coded field of redif.model, (1) the registry column's validator accepts exactly the
    vocabulary's codes (a non-code is refused naming the field, the value and the codes) and the column
    is wide enough for every code; (2) the API input schema accepts every code and lists exactly the codes
    as its enum, in the app's /openapi.json too; (3) where the pathway case file has the field, its JSON
    Schema (``redif patient schema``) lists exactly the codes. Expected values: the vocabulary's codes
    (src/redif/data/model/vocabularies.yaml, read through redif.model.vocabulary)."""
    codes = list(vocabulary(vocab_name).codes())
    table = Patient if form_name == "patient" else PATIENT_CHILD_MODELS[form_name]

    # (1) the registry column
    attr, vocab = CODED_COLUMNS[(form_name, name)]
    assert vocab.codes() == tuple(codes) and attr.key == name
    row = table()
    for code in codes:
        setattr(row, name, code)
        assert getattr(row, name) == code
    with pytest.raises(InputError) as err:
        setattr(row, name, "not-a-code")
    assert err.value.field == name and "not-a-code" in str(err.value)
    assert err.value.remedy == f"use one of: {', '.join(codes)}"
    assert column_length(table, name) >= max(len(c) for c in codes)

    # (2) the API input schema and /openapi.json
    schemas: list[Any] = [PatientIn, PatientPatch] if form_name == "patient" else [RECORD_SCHEMAS[form_name]]
    for schema in schemas:
        js = schema.model_json_schema()
        assert _enum(js, name, js) == codes, schema.__name__
        base = {} if schema is PatientPatch else _required(form_name)
        for code in codes:
            parsed = validate_input(schema, {**base, name: code})
            assert str(getattr(parsed, name)) == code
        with pytest.raises(InputError) as bad:
            validate_input(schema, {**base, name: "not-a-code"})
        assert bad.value.field == name and all(c in (bad.value.remedy or "") for c in codes)
    if form_name == "patient":
        components = openapi["components"]["schemas"]
        for component in ("PatientIn", "PatientPatch"):
            assert _enum(components[component], name, openapi) == codes, component
    else:
        body = openapi["paths"]["/api/v1/patients/{patient_id}/records/{kind}"]["post"]["requestBody"]
        one_of = body["content"]["application/json"]["schema"]["oneOf"]
        (record,) = [x for x in one_of if x.get("x-record-kind") == form_name]
        assert _enum(record, name, openapi) == codes

    # (3) the pathway case file's JSON Schema
    case = case_json_schema()
    for definition, prop in CASE_PROPERTIES.get((form_name, name), []):
        obj = case if not definition else case["$defs"][definition]
        found = _enum(obj, prop, case)
        assert found == codes, (definition, prop)


def _required(form_name: str) -> dict[str, Any]:
    """A minimal valid body of a form (its required fields, from the model)."""
    values = {"text": "x", "integer": 1, "number": 1.0, "date": "2024-01-01", "boolean": True}
    out: dict[str, Any] = {}
    for frm in forms():
        if frm.name != form_name:
            continue
        for fld in frm.fields:
            if fld.required and fld.name not in ("site",):
                if fld.type is FieldType.CODED:
                    assert fld.vocabulary is not None
                    out[fld.name] = vocabulary(fld.vocabulary).codes()[0]
                else:
                    out[fld.name] = values[fld.type.value]
    if form_name == "patient":
        out["pseudonym"] = "P-1"
    return out
