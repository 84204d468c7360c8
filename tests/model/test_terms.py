"""Issue 10: the model's controlled vocabularies are sourced, graded, REDCap-safe, and each has exactly one
enum whose values are its codes.

Expected values come from the issue and the brief of the model (codes: letters, digits, ``_``, ``-``;
every term with a source and a grade, as every redif data file), from ``data/refractoriness.yaml`` (the
criteria ids), and from RECIST 1.1 (Eisenhauer 2009: CR, PR, SD, NON-CR/NON-PD, PD, NE).
"""

from __future__ import annotations

import pytest

from redif.data import Grade, load_yaml
from redif.errors import InputError
from redif.model import (
    CODE_PATTERN,
    OverallResponse,
    TshState,
    TshStimulation,
    UptakeDefinition,
    coded_enums,
    enum_for,
    refractoriness_code,
    vocabularies,
    vocabulary,
)

VOCABS = sorted(vocabularies())


@pytest.mark.parametrize("name", VOCABS)
def test_every_term_has_source_and_grade(name: str) -> None:
    """Issue 10: every term carries a definition, a source and a grade (primary/secondary/unverified)."""
    vocab = vocabulary(name)
    assert vocab.terms and vocab.label and vocab.source
    for t in vocab.terms:
        assert t.label and t.definition and t.source, (name, t.code)
        assert isinstance(t.grade, Grade), (name, t.code)


@pytest.mark.parametrize("name", VOCABS)
def test_codes_unique_and_redcap_safe(name: str) -> None:
    """Issue 10: codes are unique within a vocabulary and REDCap/ODM-safe (letters, digits, '_', '-'),
    so they can be REDCap raw choice codes; no label or alias of one term is the code of another."""
    vocab = vocabulary(name)
    codes = vocab.codes()
    assert len(set(codes)) == len(codes)
    assert all(CODE_PATTERN.match(c) for c in codes), codes
    assert all("/" not in c and " " not in c and "." not in c and "," not in c for c in codes)
    spellings: dict[str, str] = {}
    for t in vocab.terms:
        for s in {t.code, t.label, *t.aliases}:
            key = s.casefold()
            assert spellings.setdefault(key, t.code) == t.code, f"{name}: {s!r} is ambiguous"


@pytest.mark.parametrize("name", VOCABS)
def test_enum_equals_vocabulary(name: str) -> None:
    """Issue 10: each vocabulary has one StrEnum in redif.model whose values are exactly its codes, in
    the same order."""
    cls = enum_for(name)
    assert tuple(m.value for m in cls) == vocabulary(name).codes()
    assert coded_enums()[name] is cls
    for m in cls:
        assert m.label == vocabulary(name).term(m.value).label


def test_every_enum_has_a_vocabulary() -> None:
    """Issue 10: no model enum without a vocabulary, no vocabulary without an enum."""
    assert set(coded_enums()) == set(vocabularies())


def test_refractoriness_terms_are_derived_from_the_rules_file() -> None:
    """Issue 10: the RAI-refractoriness criterion vocabulary is derived from data/refractoriness.yaml
    (one term per criterion, same text, source and grade), not copied; plus the convention 'other'."""
    rules = load_yaml("refractoriness.yaml")["criteria"]
    vocab = vocabulary("rai_refractory_criterion")
    assert vocab.codes()[:-1] == tuple(refractoriness_code(c["id"]) for c in rules)
    assert vocab.codes()[-1] == "other"
    for c in rules:
        term = vocab.parse(c["id"])  # the old dotted id is accepted
        assert term.source == c["source"] and term.grade.value == c["grade"]
        assert term.definition == " ".join(c["text"].split())


def test_recist_codes() -> None:
    """Issue 10: the overall response has the RECIST 1.1 codes incl. NON-CR/NON-PD and NE (Eisenhauer
    2009 Tables 1-2); NON-CR/NON-PD has the safe code NON_CR_NON_PD and keeps its spelling as label."""
    assert {t.label for t in vocabulary("overall_response").terms} == {
        "CR", "PR", "SD", "NON-CR/NON-PD", "PD", "NE"}
    assert OverallResponse.NON_CR_NON_PD.value == "NON_CR_NON_PD"
    assert OverallResponse.NON_CR_NON_PD.label == "NON-CR/NON-PD"
    assert OverallResponse.parse("NON-CR/NON-PD") is OverallResponse.NON_CR_NON_PD
    assert OverallResponse.parse("non-cr/non-pd") is OverallResponse.NON_CR_NON_PD


@pytest.mark.parametrize(
    ("cls", "text", "expected"),
    [
        (TshStimulation, "rhTSH", TshStimulation.RHTSH),  # the registry's old spelling
        (TshStimulation, "rhtsh", TshStimulation.RHTSH),  # the pathway's
        (TshState, "withdrawal", TshState.STIMULATED),
        (TshState, "levothyroxine", TshState.SUPPRESSED),
        (UptakeDefinition, "uptake on post-therapy scan", UptakeDefinition.POST_THERAPY_SCAN),
        (UptakeDefinition, "increased 124I uptake", UptakeDefinition.INCREASED_124I),
    ],
)
def test_parse_maps_old_spellings(cls: type, text: str, expected: object) -> None:
    """Issue 10: the one place where old spellings map to codes (registry 'rhTSH' vs pathway 'rhtsh';
    the evidence base's definition wording) is Vocabulary.parse / CodedEnum.parse."""
    assert cls.parse(text) is expected  # type: ignore[attr-defined]


def test_unknown_code_names_vocabulary_value_and_choices() -> None:
    """Issue 10: an unknown code raises InputError naming the vocabulary (field), the bad value and the
    allowed codes."""
    with pytest.raises(InputError) as err:
        vocabulary("tsh_stimulation").term("thyrogen-ish")
    assert err.value.field == "tsh_stimulation" and err.value.value == "thyrogen-ish"
    assert "rhtsh" in (err.value.remedy or "")
    with pytest.raises(InputError):
        vocabulary("tsh_stimulation").parse("maybe")
    with pytest.raises(InputError):
        vocabulary("no_such_vocabulary")


def test_external_codes_only_hgnc_and_sourced() -> None:
    """Issue 10: external codes appear only where verified from a cited source: here HGNC ids of genes,
    each with a source naming where the id was read and a grade better than unverified."""
    for vocab in vocabularies().values():
        for t in vocab.terms:
            for system, code in t.external.items():
                assert vocab.name == "gene" and system == "HGNC" and code.startswith("HGNC:")
                assert "HGNC id as in" in t.source and t.grade is not Grade.UNVERIFIED


def test_histology_keeps_the_pathway_codes() -> None:
    """Issue 10: the pathway's histology codes (in case files and examples/) stay valid; WHO 2022 types
    are added; 'Hurthle' maps to oncocytic (WHO 2022 renamed Hurthle cell carcinoma)."""
    codes = set(vocabulary("histology").codes())
    assert {"papillary", "follicular", "oncocytic", "poorly_differentiated", "other"} <= codes
    assert {"iefvptc", "differentiated_high_grade"} <= codes
    assert vocabulary("histology").parse("Hurthle").code == "oncocytic"


def test_analytes_have_units() -> None:
    """Issue 10: Tg, TgAb and TSH carry their units (ng/mL, IU/mL, mIU/L)."""
    units = {t.code: t.unit for t in vocabulary("analyte").terms}
    assert units == {"Tg": "ng/mL", "TgAb": "IU/mL", "TSH": "mIU/L"}
