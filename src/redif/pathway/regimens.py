"""Genotype -> candidate redifferentiation regimens, each with its evidence.

The regimen table (``redif/data/regimens.yaml``) holds drug, dose, duration, evidence level and source per
genotype group; a blank dose stays blank. The evidence for each regimen is drawn live from the evidence
base (``redif.evidence.studies``) and pooled with the meta-analysis engine (``redif.evidence.meta``);
when those engines are not installed the regimen says so instead of showing numbers.

References
----------
ITOG statement, Leboulleux S et al., Lancet Diabetes Endocrinol 2025;13:516-527, PMID 40318680 (BRAF/RAS
in prospective trials; RET/NTRK fusions in case reports). ``shared/clinical/RULES.md`` §3.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from redif.data import Grade, load_yaml
from redif.pathway._common import Regimen, RuleRef, require_sourced
from redif.pathway.case import AlterationKind, Case, GenomicAlteration
from redif.pathway.evidence_link import regimen_evidence

__all__ = [
    "GenotypeMatch",
    "Regimen",
    "RegimenOption",
    "candidate_regimens",
    "classify_alterations",
    "classify_genotype",
    "load_regimens",
    "regimens_for",
    "untargeted_context",
]

_FILE = "regimens.yaml"


@dataclass(frozen=True)
class GenotypeMatch:
    """A case alteration matched to a genotype group of the regimen table."""

    group: str
    alteration: str
    targetable: bool
    source: str
    grade: Grade


@dataclass(frozen=True)
class RegimenOption:
    """A candidate regimen for this case with its evidence (a mapping, see ``regimen_evidence``)."""

    regimen: Regimen
    matched_by: str
    evidence: Mapping[str, Any]


@dataclass(frozen=True)
class _Table:
    groups: dict[str, dict[str, Any]]
    regimens: tuple[Regimen, ...]
    untargeted: RuleRef
    untargeted_rows: tuple[str, ...]
    raw: dict[str, Any]


@lru_cache(maxsize=1)
def _table() -> _Table:
    raw = load_yaml(_FILE)
    groups = {}
    for name, g in raw["genotype_groups"].items():
        require_sourced(g, file=_FILE, key=name)
        groups[name] = g
    regimens = []
    for r in raw["regimens"]:
        require_sourced(r, file=_FILE, key=r["id"])
        if r["genotype_group"] not in groups:
            raise ValueError(f"{_FILE}: regimen {r['id']} names unknown group {r['genotype_group']!r}")
        regimens.append(
            Regimen(
                id=r["id"],
                genotype_group=r["genotype_group"],
                drugs=tuple(r["drugs"]),
                dose=r.get("dose"),
                duration_days=r.get("duration_days"),
                duration_text=r.get("duration_text"),
                evidence_level=r["evidence_level"],
                evidence_rows=tuple(r.get("evidence_rows", ())),
                default_protocol=r["default_protocol"],
                source=r["source"],
                grade=Grade(r["grade"]),
            )
        )
    ut = raw["untargeted_trial_context"]
    return _Table(
        groups=groups,
        regimens=tuple(regimens),
        untargeted=RuleRef.from_entry(ut, file=_FILE, key="untargeted_trial_context"),
        untargeted_rows=tuple(ut.get("evidence_rows", ())),
        raw=raw,
    )


def load_regimens() -> tuple[Regimen, ...]:
    """All regimens of the table."""
    return _table().regimens


def untargeted_context() -> tuple[RuleRef, tuple[str, ...]]:
    """Trial context for patients without a targetable alteration, and its evidence rows."""
    t = _table()
    return t.untargeted, t.untargeted_rows


def _norm_variant(v: str | None) -> str:
    if not v:
        return ""
    v = v.strip().upper()
    return v[2:] if v.startswith("P.") else v


def _describe(a: GenomicAlteration) -> str:
    if a.kind is AlterationKind.FUSION:
        partner = f"{a.fusion_partner}-" if a.fusion_partner else ""
        return f"{partner}{a.gene} fusion"
    return f"{a.gene} {a.variant}" if a.variant else a.gene


def _matches(a: GenomicAlteration, rule: Mapping[str, Any]) -> bool:
    genes = rule["gene"] if isinstance(rule["gene"], list) else [rule["gene"]]
    if a.gene not in genes:
        return False
    if "kind" in rule and a.kind.value != rule["kind"]:
        return False
    return not ("variant" in rule and _norm_variant(a.variant) != _norm_variant(rule["variant"]))


def classify_genotype(case: Case) -> tuple[GenotypeMatch, ...]:
    """Match each alteration of the case to a genotype group (BRAF V600E, RAS, RET/NTRK fusion)."""
    return classify_alterations(case.genotype)


def classify_alterations(alterations: Sequence[GenomicAlteration]) -> tuple[GenotypeMatch, ...]:
    """Match alterations to the genotype groups of the regimen table (first matching group wins)."""
    t = _table()
    out = []
    for a in alterations:
        for name, g in t.groups.items():
            if _matches(a, g["match"]):
                out.append(
                    GenotypeMatch(
                        group=name,
                        alteration=_describe(a),
                        targetable=bool(g["targetable"]),
                        source=str(g["source"]),
                        grade=Grade(g["grade"]),
                    )
                )
                break
    return tuple(out)


def regimens_for(matches: Sequence[GenotypeMatch]) -> tuple[Regimen, ...]:
    """The regimens of the matched genotype groups, in table order."""
    groups = [m.group for m in matches]
    return tuple(r for g in groups for r in _table().regimens if r.genotype_group == g)


def candidate_regimens(
    case: Case, *, evidence: Any = None
) -> tuple[tuple[GenotypeMatch, ...], tuple[RegimenOption, ...]]:
    """Candidate regimens for the case's genotype, each with its evidence.

    Parameters
    ----------
    case
        The case.
    evidence
        Callable ``regimen -> mapping`` giving the live evidence (see
        :func:`redif.pathway.evidence_link.regimen_evidence`); ``None`` uses that function.

    Returns
    -------
    (matches, options)
        The genotype groups matched and the regimens of those groups, in table order.
    """
    if evidence is None:
        evidence = regimen_evidence
    matches = classify_genotype(case)
    options = []
    for m in matches:
        for r in _table().regimens:
            if r.genotype_group == m.group:
                options.append(RegimenOption(regimen=r, matched_by=m.alteration, evidence=evidence(r)))
    return matches, tuple(options)
