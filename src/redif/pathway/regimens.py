"""Genotype -> candidate redifferentiation regimens, each with its evidence.

The regimen table (``redif/data/regimens.yaml``) holds drug, dose, duration, evidence level and source per
genotype group; a blank dose stays blank. The evidence for each regimen is drawn live from the evidence
base (``redif.evidence.studies``) and pooled with the meta-analysis engine (``redif.evidence.meta``);
when those engines are not installed the regimen says so instead of showing numbers.

References
----------
ITOG statement, Leboulleux S et al., Lancet Diabetes Endocrinol 2025;13:516-527, PMID 40318680 (BRAF/RAS
in prospective trials; RET/NTRK fusions in case reports). docs/methods/protocols.md.
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
    "course_regimen_note",
    "genotype_conflicts",
    "load_regimens",
    "regimens_for",
    "template_drugs",
    "template_mismatch",
    "untargeted_context",
]

_FILE = "regimens.yaml"


@dataclass(frozen=True)
class GenotypeMatch:
    """A case alteration matched to a genotype group of the regimen table (every alteration gets one).

    ``targetable``: the table has a regimen for the group. ``rec74a``: whether ATA 2025 Rec 74A covers the
    group (``None``: not stated in the sources read). ``evidence_level``: shown beside the alteration.
    """

    group: str
    alteration: str
    targetable: bool
    source: str
    grade: Grade
    evidence_level: str = ""
    rec74a: bool | None = None
    note: str | None = None


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
    unmatched: dict[str, Any]
    protocol_drugs: dict[str, dict[str, Any]]
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
    require_sourced(raw["unmatched_alteration"], file=_FILE, key="unmatched_alteration")
    for name, entry in raw["protocol_drugs"].items():
        require_sourced(entry, file=_FILE, key=f"protocol_drugs.{name}")
    return _Table(
        groups=groups,
        regimens=tuple(regimens),
        untargeted=RuleRef.from_entry(ut, file=_FILE, key="untargeted_trial_context"),
        untargeted_rows=tuple(ut.get("evidence_rows", ())),
        unmatched=raw["unmatched_alteration"],
        protocol_drugs=raw["protocol_drugs"],
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
    if "variant_prefix" in rule and not _norm_variant(a.variant).startswith(rule["variant_prefix"]):
        return False
    return not ("variant" in rule and _norm_variant(a.variant) != _norm_variant(rule["variant"]))


def classify_genotype(case: Case) -> tuple[GenotypeMatch, ...]:
    """Match each alteration of the case to a genotype group (BRAF V600E, RAS, RET/NTRK fusion)."""
    return classify_alterations(case.genotype)


def _group_match(a: GenomicAlteration, name: str, g: Mapping[str, Any]) -> GenotypeMatch:
    note = g.get("note") or g.get("text")
    return GenotypeMatch(
        group=name,
        alteration=_describe(a),
        targetable=bool(g["targetable"]),
        source=str(g["source"]),
        grade=Grade(g["grade"]),
        evidence_level=str(g["evidence_level"]),
        rec74a=g.get("rec74a"),
        note=" ".join(str(note).split()) if note else None,
    )


def classify_alterations(alterations: Sequence[GenomicAlteration]) -> tuple[GenotypeMatch, ...]:
    """Match every alteration to a genotype group of the regimen table (first matching group wins).

    An alteration that matches no group is kept, under the table's ``unmatched_alteration`` entry: every
    genotype entry of the case is shown, none is dropped.
    """
    t = _table()
    out = []
    for a in alterations:
        match = next((_group_match(a, n, g) for n, g in t.groups.items() if _matches(a, g["match"])), None)
        if match is None:
            u = t.unmatched
            match = _group_match(a, str(u["group"]), u)
        out.append(match)
    return tuple(out)


def regimens_for(matches: Sequence[GenotypeMatch]) -> tuple[Regimen, ...]:
    """The regimens of the matched genotype groups, in table order (each group once)."""
    groups = list(dict.fromkeys(m.group for m in matches))
    return tuple(r for g in groups for r in _table().regimens if r.genotype_group == g)


def genotype_conflicts(matches: Sequence[GenotypeMatch]) -> list[str]:
    """Notes on alterations of different driver groups recorded together (each is kept and shown).

    A driver group here is one of the regimen table's genotype groups (not the unmatched entry). Two such
    groups in one tumour (e.g. BRAF V600K and KRAS G12C) lead to different regimens; the note asks for the
    report to be checked and says which groups the regimens come from.
    """
    unmatched = str(_table().unmatched["group"])
    drivers = [m for m in matches if m.group != unmatched]
    groups = list(dict.fromkeys(m.group for m in drivers))
    if len(groups) < 2:
        return []
    with_regimens = [g for g in groups if any(r.genotype_group == g for r in _table().regimens)]
    return [
        "conflicting alterations recorded together: "
        + ", ".join(f"{m.alteration} ({m.group})" for m in drivers)
        + "; each is kept and shown. The regimens listed come from "
        + (", ".join(with_regimens) if with_regimens else "no group (none has a regimen in the table)")
        + "; check the molecular report (assay, sample, variant allele fractions) before choosing a drug"
    ]


def template_drugs(template: str) -> tuple[tuple[str, ...], str, Grade] | None:
    """The drugs a packaged protocol template was designed with, its source and grade (``None``: unknown)."""
    entry = _table().protocol_drugs.get(template)
    if entry is None:
        return None
    return tuple(str(d).lower() for d in entry["drugs"]), str(entry["source"]), Grade(entry["grade"])


def template_mismatch(template: str, drugs: Sequence[str], *, what: str) -> str | None:
    """Warning when ``drugs`` (the course's or the chosen regimen's) are not the template's trial drugs."""
    known = template_drugs(template)
    if known is None or not drugs:
        return None
    designed, source, grade = known
    other = [d for d in drugs if d.lower() not in designed]
    if not other:
        return None
    return (
        f"warning: drug/protocol mismatch: {what} {' + '.join(drugs)} runs the {template} template, "
        "which was "
        f"designed with {' + '.join(designed)} ({source}; grade {grade.value}); its day offsets and "
        f"event texts name the trial's drug, not {', '.join(other)}"
    )


def course_regimen_note(course_drugs: Sequence[str], options: Sequence[RegimenOption]) -> str | None:
    """How the recorded course relates to the candidate regimens (a mismatch is said, never hidden)."""
    if not course_drugs:
        return None
    drugs = {d.lower() for d in course_drugs}
    listed = " + ".join(course_drugs)
    same = [o for o in options if {d.lower() for d in o.regimen.drugs} == drugs]
    if same:
        o = same[0]
        return (
            f"regimen: the recorded course ({listed}) is regimen {o.regimen.id} of genotype group "
            f"{o.regimen.genotype_group}, matched by {o.matched_by}"
        )
    elsewhere = [r for r in _table().regimens if {d.lower() for d in r.drugs} == drugs]
    where = (
        "; in the table it is regimen "
        + ", ".join(f"{r.id} ({r.genotype_group})" for r in elsewhere)
        + ", a group this case does not match"
        if elsewhere
        else "; it is no regimen of the table"
    )
    offered = ", ".join(f"{o.regimen.drug} ({o.regimen.genotype_group})" for o in options) or "none"
    return (
        f"warning: regimen mismatch: the recorded course ({listed}) is not a candidate regimen for this "
        f"genotype (candidates: {offered}){where}"
    )


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
    for group in dict.fromkeys(m.group for m in matches):
        by = ", ".join(m.alteration for m in matches if m.group == group)
        for r in _table().regimens:
            if r.genotype_group == group:
                options.append(RegimenOption(regimen=r, matched_by=by, evidence=evidence(r)))
    return matches, tuple(options)
