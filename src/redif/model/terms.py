"""Controlled vocabularies of the redif data model: terms with code, label, definition, source and grade.

The vocabularies live in ``redif/data/model/vocabularies.yaml``; the RAI-refractoriness criteria are
derived from ``redif/data/refractoriness.yaml`` (written once, there). Each vocabulary also has a
:class:`enum.StrEnum` here whose values **are** its codes (a test checks that they agree); every other
module imports these enums from :mod:`redif.model` and defines no vocabulary of its own.

Codes are REDCap/ODM-safe (letters, digits, ``_`` and ``-``). Where a standard spells a code otherwise
(RECIST ``NON-CR/NON-PD``) the code is made safe (``NON_CR_NON_PD``), the standard's spelling is the
term's label, and :meth:`Vocabulary.parse` accepts both: that is the one place where old spellings map to
codes.

References
----------
Harmonised minimum data set: ITOG statement, Leboulleux S et al., Lancet Diabetes Endocrinol
2025;13(6):516-527, PMID 40318680; Pappa T et al., Endocrine 2025;87(1):1-10, PMID 39231920.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Self

from redif.data import Grade, load_yaml
from redif.errors import InputError

__all__ = [
    "CODE_PATTERN",
    "ActivityBasis",
    "AeAttribution",
    "AlterationKind",
    "Analyte",
    "BestResponse",
    "CodedEnum",
    "DosimetryKind",
    "DosimetryMethod",
    "Gene",
    "Histology",
    "ImagingModality",
    "NextTherapyClass",
    "NonTargetResponse",
    "NonTargetStatus",
    "OverallResponse",
    "ProgressionCriterion",
    "RaiIntent",
    "RaiRefractoryCriterion",
    "Setting",
    "Sex",
    "TargetResponse",
    "Term",
    "Tracer",
    "TshState",
    "TshStimulation",
    "UptakeDefinition",
    "UptakeModality",
    "UptakeStatus",
    "Vocabulary",
    "coded_enums",
    "enum_for",
    "refractoriness_code",
    "vocabularies",
    "vocabulary",
]

#: A code safe as a REDCap raw choice value and an ODM CodedValue: letters, digits, ``_`` and ``-``.
CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")

_VOCABULARY_FILE = "model/vocabularies.yaml"
_REFRACTORINESS_FILE = "refractoriness.yaml"


@dataclass(frozen=True)
class Term:
    """One term of a controlled vocabulary.

    ``external`` holds codes of external terminologies (``{"HGNC": "HGNC:1097"}``) only where they were
    read in a cited source; otherwise it is empty. ``unit`` is the unit of a measured analyte (UCUM-style
    text). ``aliases`` are other spellings accepted on input (old redif values, a standard's spelling).
    """

    code: str
    label: str
    definition: str
    source: str
    grade: Grade
    external: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    unit: str | None = None
    aliases: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "code": self.code, "label": self.label, "definition": self.definition, "source": self.source,
            "grade": self.grade.value, "external": dict(self.external), "unit": self.unit,
            "aliases": list(self.aliases),
        }


@dataclass(frozen=True)
class Vocabulary:
    """A named controlled vocabulary (its terms in their display order)."""

    name: str
    label: str
    source: str
    terms: tuple[Term, ...]

    def codes(self) -> tuple[str, ...]:
        """The codes, in order."""
        return tuple(t.code for t in self.terms)

    def term(self, code: str) -> Term:
        """The term with this exact ``code``.

        Raises
        ------
        InputError
            Naming the vocabulary, the bad code and the allowed codes.
        """
        for t in self.terms:
            if t.code == code:
                return t
        raise InputError(
            f"unknown {self.name} code", field=self.name, value=code,
            remedy=f"use one of: {', '.join(self.codes())}",
        )

    def parse(self, value: str) -> Term:
        """The term whose code, label or alias equals ``value`` (ignoring case and surrounding spaces).

        This is the one place where an old spelling (``"rhTSH"``, ``"NON-CR/NON-PD"``, ``"increased 124I
        uptake"``) maps to a code.

        Raises
        ------
        InputError
            When nothing matches (names the vocabulary, the value and the allowed codes).
        """
        key = str(value).strip().casefold()
        for t in self.terms:
            if t.code == value:
                return t
        for t in self.terms:
            if key in {t.code.casefold(), t.label.casefold(), *(a.casefold() for a in t.aliases)}:
                return t
        raise InputError(
            f"unknown {self.name} value", field=self.name, value=value,
            remedy=f"use one of: {', '.join(self.codes())}",
        )


def _term(entry: Mapping[str, Any], where: str) -> Term:
    missing = [k for k in ("code", "label", "definition", "source", "grade") if not entry.get(k)]
    if missing:
        raise ValueError(f"{where}: term lacks {', '.join(missing)}")
    external = entry.get("external") or {}
    return Term(
        code=str(entry["code"]), label=str(entry["label"]), definition=str(entry["definition"]),
        source=str(entry["source"]), grade=Grade(entry["grade"]),
        external=MappingProxyType({str(k): str(v) for k, v in external.items()}),
        unit=None if entry.get("unit") is None else str(entry["unit"]),
        aliases=tuple(str(a) for a in entry.get("aliases") or ()),
    )


def refractoriness_code(criterion_id: str) -> str:
    """The vocabulary code of a criterion id of ``refractoriness.yaml`` (dots become underscores)."""
    return criterion_id.replace(".", "_")


def _refractoriness_vocabulary() -> Vocabulary:
    """The RAI-refractoriness criteria, derived from ``refractoriness.yaml`` (not copied)."""
    data = load_yaml(_REFRACTORINESS_FILE)
    frameworks = data["frameworks"]
    terms = [
        Term(
            code=refractoriness_code(str(c["id"])),
            label=f"{frameworks[c['framework']]['title'].split(' management')[0]} {c['strength']}: "
                  f"{' '.join(str(c['text']).split())}",
            definition=" ".join(str(c["text"]).split()),
            source=str(c["source"]),
            grade=Grade(c["grade"]),
            aliases=(str(c["id"]),),
        )
        for c in data["criteria"]
    ]
    terms.append(Term(code="other", label="Other", definition="Another criterion (describe it in a note).",
                      source="redif convention", grade=Grade.UNVERIFIED))
    return Vocabulary(
        name="rai_refractory_criterion",
        label="RAI-refractoriness criterion (ATA 2025 / ATA 2015)",
        source="; ".join(str(f["source"]) for f in frameworks.values()),
        terms=tuple(terms),
    )


@lru_cache(maxsize=1)
def _load() -> Mapping[str, Vocabulary]:
    data = load_yaml(_VOCABULARY_FILE)
    out: dict[str, Vocabulary] = {}
    for name, entry in data["vocabularies"].items():
        out[name] = Vocabulary(
            name=name, label=str(entry["label"]), source=" ".join(str(entry["source"]).split()),
            terms=tuple(_term(t, f"{name}[{i}]") for i, t in enumerate(entry["terms"])),
        )
    out["rai_refractory_criterion"] = _refractoriness_vocabulary()
    return MappingProxyType(out)


def vocabularies() -> Mapping[str, Vocabulary]:
    """Every vocabulary of the model, by name."""
    return _load()


def vocabulary(name: str) -> Vocabulary:
    """The vocabulary called ``name``.

    Raises
    ------
    InputError
        For an unknown name.
    """
    table = _load()
    if name not in table:
        raise InputError("unknown vocabulary", field="vocabulary", value=name,
                         remedy=f"use one of: {', '.join(table)}")
    return table[name]


# --------------------------------------------------------------------------------------------------
# One StrEnum per vocabulary: the values are the codes
# --------------------------------------------------------------------------------------------------

_ENUM_VOCABULARY: dict[type[CodedEnum], str] = {}


class CodedEnum(enum.StrEnum):
    """Base of the model's enums: a member's value is a vocabulary code."""

    @classmethod
    def vocabulary(cls) -> Vocabulary:
        """The vocabulary this enum encodes."""
        return vocabulary(_ENUM_VOCABULARY[cls])

    @property
    def term(self) -> Term:
        """The member's term (label, definition, source, grade)."""
        return type(self).vocabulary().term(self.value)

    @property
    def label(self) -> str:
        """The member's human label (e.g. ``"NON-CR/NON-PD"``, ``"increased 124I uptake"``)."""
        return self.term.label

    @classmethod
    def parse(cls, value: str | CodedEnum) -> Self:
        """The member whose code, label or alias equals ``value`` (case-insensitive); see
        :meth:`Vocabulary.parse`."""
        if isinstance(value, cls):
            return value
        return cls(cls.vocabulary().parse(str(value)).code)


def _coded(name: str) -> Any:
    def register(cls: type[CodedEnum]) -> type[CodedEnum]:
        _ENUM_VOCABULARY[cls] = name
        return cls

    return register


def coded_enums() -> Mapping[str, type[CodedEnum]]:
    """Vocabulary name -> its enum."""
    return MappingProxyType({name: cls for cls, name in _ENUM_VOCABULARY.items()})


def enum_for(name: str) -> type[CodedEnum]:
    """The enum of vocabulary ``name``."""
    for cls, vname in _ENUM_VOCABULARY.items():
        if vname == name:
            return cls
    raise InputError("no enum for vocabulary", field="vocabulary", value=name,
                     remedy=f"use one of: {', '.join(_ENUM_VOCABULARY.values())}")


@_coded("sex")
class Sex(CodedEnum):
    """Administrative sex (HL7 administrative gender)."""

    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


@_coded("histology")
class Histology(CodedEnum):
    """WHO 2022 histological type (follicular-cell-derived carcinomas)."""

    PAPILLARY = "papillary"
    FOLLICULAR = "follicular"
    IEFVPTC = "iefvptc"
    ONCOCYTIC = "oncocytic"
    POORLY_DIFFERENTIATED = "poorly_differentiated"
    DIFFERENTIATED_HIGH_GRADE = "differentiated_high_grade"
    ANAPLASTIC = "anaplastic"
    OTHER = "other"


@_coded("gene")
class Gene(CodedEnum):
    """HGNC symbol of a gene tested in thyroid cancer."""

    BRAF = "BRAF"
    NRAS = "NRAS"
    HRAS = "HRAS"
    KRAS = "KRAS"
    RET = "RET"
    NTRK1 = "NTRK1"
    NTRK2 = "NTRK2"
    NTRK3 = "NTRK3"
    ALK = "ALK"
    TERT = "TERT"
    PIK3CA = "PIK3CA"
    TP53 = "TP53"
    PAX8 = "PAX8"
    PPARG = "PPARG"
    OTHER = "other"


@_coded("alteration_kind")
class AlterationKind(CodedEnum):
    """Kind of a genomic alteration."""

    MUTATION = "mutation"
    FUSION = "fusion"
    OTHER = "other"


@_coded("setting")
class Setting(CodedEnum):
    """Clinical setting of the question."""

    RECURRENT_OR_METASTATIC = "recurrent_or_metastatic"
    ADJUVANT = "adjuvant"


@_coded("imaging_modality")
class ImagingModality(CodedEnum):
    """Structural or FDG imaging that shows a lesion."""

    CT = "ct"
    MRI = "mri"
    US = "us"
    FDG_PET = "fdg_pet"
    OTHER = "other"


@_coded("lesion_uptake")
class UptakeStatus(CodedEnum):
    """Radioiodine uptake of one lesion on one scan."""

    PRESENT = "present"
    ABSENT = "absent"
    EQUIVOCAL = "equivocal"
    NOT_ASSESSED = "not_assessed"


@_coded("rai_intent")
class RaiIntent(CodedEnum):
    """Intent of a prior 131I administration."""

    ABLATION = "ablation"
    ADJUVANT = "adjuvant"
    TREATMENT = "treatment"


@_coded("rai_refractory_criterion")
class RaiRefractoryCriterion(CodedEnum):
    """RAI-refractoriness criterion (codes derived from the ids of ``refractoriness.yaml``)."""

    ATA2025_STRONG_NO_UPTAKE_POST_THERAPY = "ata2025_strong_no_uptake_post_therapy"
    ATA2025_STRONG_PROGRESSION_DESPITE_UPTAKE = "ata2025_strong_progression_despite_uptake"
    ATA2025_SUPPLEMENTAL_NO_UPTAKE_DIAGNOSTIC = "ata2025_supplemental_no_uptake_diagnostic"
    ATA2025_SUPPLEMENTAL_PARTIAL_UPTAKE_POST_THERAPY = "ata2025_supplemental_partial_uptake_post_therapy"
    ATA2015_NEVER_CONCENTRATES = "ata2015_never_concentrates"
    ATA2015_LOSES_ABILITY = "ata2015_loses_ability"
    ATA2015_SOME_LESIONS_NOT_OTHERS = "ata2015_some_lesions_not_others"
    ATA2015_PROGRESSION_DESPITE_CONCENTRATION = "ata2015_progression_despite_concentration"
    OTHER = "other"


@_coded("tsh_stimulation")
class TshStimulation(CodedEnum):
    """How TSH was raised before radioiodine."""

    RHTSH = "rhtsh"
    WITHDRAWAL = "withdrawal"
    NONE = "none"
    UNKNOWN = "unknown"


@_coded("tsh_state")
class TshState(CodedEnum):
    """TSH state when thyroglobulin was drawn."""

    SUPPRESSED = "suppressed"
    STIMULATED = "stimulated"
    UNKNOWN = "unknown"


@_coded("tracer")
class Tracer(CodedEnum):
    """Radioiodine tracer of an uptake assessment."""

    I123 = "I-123"
    I124 = "I-124"
    I131 = "I-131"


@_coded("uptake_modality")
class UptakeModality(CodedEnum):
    """Imaging technique of an uptake assessment."""

    PET_CT = "pet_ct"
    SPECT_CT = "spect_ct"
    SPECT = "spect"
    PLANAR_WBS = "planar_wbs"
    OTHER = "other"


@_coded("uptake_definition")
class UptakeDefinition(CodedEnum):
    """How "restored" radioiodine uptake was defined (the labels are the evidence base's wording)."""

    INCREASED_124I = "increased_124i_uptake"
    LESION_DOSE_THRESHOLD = "lesion_dose_threshold"
    DIAGNOSTIC_SCAN = "diagnostic_scan"
    POST_THERAPY_SCAN = "post_therapy_scan"
    PROTOCOL_SUFFICIENT = "protocol_sufficient"
    NOT_REPORTED = "not_reported"


@_coded("dosimetry_kind")
class DosimetryKind(CodedEnum):
    """Kind of a dosimetry result."""

    LESION = "lesion"
    BLOOD = "blood"
    VOXEL = "voxel"


@_coded("dosimetry_method")
class DosimetryMethod(CodedEnum):
    """Method of a dosimetry result."""

    I124_PET_LESION = "i124_pet_lesion"
    EANM_BLOOD_SOP = "eanm_blood_sop"
    SPHERE_S_VALUE = "sphere_s_value"
    VOXEL_S_VALUE = "voxel_s_value"
    OTHER = "other"


@_coded("activity_basis")
class ActivityBasis(CodedEnum):
    """How the therapeutic 131I activity was chosen."""

    EMPIRIC = "empiric"
    DOSIMETRY = "dosimetry"


@_coded("overall_response")
class OverallResponse(CodedEnum):
    """RECIST 1.1 overall response at one time point (Tables 1 and 2)."""

    CR = "CR"
    PR = "PR"
    SD = "SD"
    NON_CR_NON_PD = "NON_CR_NON_PD"
    PD = "PD"
    NE = "NE"


@_coded("target_response")
class TargetResponse(CodedEnum):
    """RECIST 1.1 response of the target lesions at one time point (§4.3.1)."""

    CR = "CR"
    PR = "PR"
    SD = "SD"
    PD = "PD"
    NE = "NE"
    NA = "NA"
    """No target lesion at baseline (non-target disease only: RECIST 1.1 Table 2 applies)."""


@_coded("non_target_response")
class NonTargetResponse(CodedEnum):
    """RECIST 1.1 response of the non-target lesions at one time point (§4.3.2)."""

    CR = "CR"
    NON_CR_NON_PD = "NON_CR_NON_PD"
    PD = "PD"
    NE = "NE"
    NA = "NA"
    """No non-target lesion at baseline."""


@_coded("non_target_status")
class NonTargetStatus(CodedEnum):
    """What the reader recorded for one non-target lesion at one time point."""

    PRESENT = "present"
    """Persisting, not unequivocally progressing (non-CR/non-PD)."""
    ABSENT = "absent"
    """Disappeared; for a lymph node: normal size (< 10 mm short axis)."""
    PROGRESSION = "progression"
    """Unequivocal progression of this (or the overall non-target) disease."""
    NOT_EVALUATED = "not-evaluated"


@_coded("best_response")
class BestResponse(CodedEnum):
    """Best overall response of a subject, best first (admiralonco ``aval_resp`` order)."""

    CR = "CR"
    PR = "PR"
    SD = "SD"
    NON_CR_NON_PD = "NON_CR_NON_PD"
    PD = "PD"
    NE = "NE"
    MISSING = "MISSING"
    """The subject has no assessment."""

    @property
    def rank(self) -> int:
        """1 for CR ... 7 for MISSING (admiralonco ``aval_resp``); smaller is better."""
        return list(type(self)).index(self) + 1


@_coded("analyte")
class Analyte(CodedEnum):
    """Laboratory analyte (the unit is the term's ``unit``)."""

    TG = "Tg"
    TGAB = "TgAb"
    TSH = "TSH"


@_coded("progression_criterion")
class ProgressionCriterion(CodedEnum):
    """How progression was documented."""

    RECIST_1_1 = "recist_1_1"
    CLINICAL = "clinical"
    FDG_PET = "fdg_pet"
    BIOCHEMICAL = "biochemical"
    OTHER = "other"


@_coded("ae_attribution")
class AeAttribution(CodedEnum):
    """Attribution of an adverse event to the treatment."""

    UNRELATED = "unrelated"
    UNLIKELY = "unlikely"
    POSSIBLE = "possible"
    PROBABLE = "probable"
    DEFINITE = "definite"


@_coded("next_therapy_class")
class NextTherapyClass(CodedEnum):
    """Class of the next systemic therapy after redifferentiation."""

    MULTIKINASE_INHIBITOR = "multikinase_inhibitor"
    BRAF_MEK_INHIBITOR = "braf_mek_inhibitor"
    RET_INHIBITOR = "ret_inhibitor"
    TRK_INHIBITOR = "trk_inhibitor"
    RADIOIODINE = "radioiodine"
    CLINICAL_TRIAL = "clinical_trial"
    OTHER = "other"

