"""Pooled binary outcomes of registry patients across sites: two-stage and one-stage IPD meta-analysis.

Outcomes (columns of the analysis dataset, :mod:`redif.ipd.dataset`):

- ``uptake_restored``: patients assessed for uptake (non-empty cell), like with like: one
  ``uptake_definition`` per analysis (``definition``; the only one present when not given). Mixing
  definitions is refused unless ``mix_definitions`` (as the evidence explorer since issue 12).
- ``objective_response`` (RECIST 1.1 CR or PR after 131I), with the ``denominator``: ``itt`` = every
  patient who started the drug (``response_denominator`` treated or itt; a patient not given 131I or not
  evaluable counts as a non-responder), ``treated`` = patients given 131I with an evaluable response.

Methods:

- ``two-stage``: per-site events/totals, then the evidence engine's random-effects meta-analysis
  (:func:`redif.evidence.rma.pool_proportions`; logit ``PLO``, REML by default) - the numbers are those of
  ``redif meta pool`` on the per-site table. With ``by``: per level of the column, the sites' counts in
  that level are pooled (separate tau2; :func:`redif.evidence.subgroups.pool_subgroups`).
- ``one-stage``: logistic mixed model with a random site intercept (:mod:`redif.ipd.onestage`, lme4
  ``glmer(nAGQ = 7)``); with ``by`` the column enters as a factor (treatment contrasts, first level in
  sorted order the reference) and is reported as ``coefficients``.

References
----------
Riley RD, Lambert PC, Abo-Zaid G. Meta-analysis of individual participant data: rationale, conduct, and
reporting. BMJ 2010;340:c221.
Eisenhauer EA, et al. New response evaluation criteria in solid tumours: revised RECIST guideline
(version 1.1). Eur J Cancer 2009;45:228-247.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import special

from redif.errors import InputError
from redif.evidence._dist import norm_isf, norm_sf
from redif.evidence.results import PoolResult
from redif.evidence.rma import check_level, pool_proportions
from redif.evidence.studies import EvidenceBase
from redif.evidence.subgroups import pool_subgroups
from redif.ipd.dataset import AnalysisRow
from redif.ipd.onestage import fit_mixed_logit
from redif.ipd.published import check_published_sources, published_arms

__all__ = ["METHODS", "OUTCOMES", "IpdPoolResult", "SiteCount", "binary_outcome", "pool_ipd", "site_counts"]

OUTCOMES: tuple[str, ...] = ("uptake_restored", "objective_response")
METHODS: tuple[str, ...] = ("two-stage", "one-stage")
DENOMINATORS: tuple[str, ...] = ("itt", "treated")


@dataclass(frozen=True)
class SiteCount:
    """Events and total of one site (a registry site, or a published arm: ``source``)."""

    site: str
    events: int
    total: int
    source: str = "site"

    def to_dict(self) -> dict[str, Any]:
        """``{site, events, total, source}``."""
        return {"site": self.site, "events": self.events, "total": self.total, "source": self.source}


@dataclass(frozen=True)
class IpdPoolResult:
    """A pooled proportion across sites (``mu``/``se`` on the logit scale, ``estimate``/CI proportions)."""

    outcome: str
    method: str
    tau2_method: str
    definition: str | None
    definitions: dict[str, int]
    denominator: str | None
    level: float
    k_sites: int
    n: int
    events: int
    mu: float
    se: float
    estimate: float
    ci_lower: float
    ci_upper: float
    tau2: float
    sites: tuple[SiteCount, ...]
    subgroups: tuple[dict[str, Any], ...] | None = None
    coefficients: tuple[dict[str, Any], ...] | None = None
    pool: PoolResult | None = None
    test_between: dict[str, Any] | None = None
    published_excluded: tuple[dict[str, str], ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        """The ``redif ipd pool --json`` keys (stable contract of issue 13)."""
        out: dict[str, Any] = {
            "outcome": self.outcome, "method": self.method, "tau2_method": self.tau2_method,
            "measure": "PLO", "definition": self.definition, "definitions": self.definitions,
            "denominator": self.denominator, "level": self.level, "k_sites": self.k_sites, "n": self.n,
            "events": self.events, "mu": self.mu, "se": self.se, "estimate": self.estimate,
            "ci_lower": self.ci_lower, "ci_upper": self.ci_upper, "tau2": self.tau2,
            "sites": [s.to_dict() for s in self.sites],
        }
        if self.subgroups is not None:
            out["subgroups"] = list(self.subgroups)
        if self.test_between is not None:
            out["test_between"] = self.test_between
        if self.coefficients is not None:
            out["coefficients"] = list(self.coefficients)
        if self.pool is not None:
            out["pool"] = self.pool.to_dict()
        out["published_excluded"] = list(self.published_excluded)
        out["notes"] = list(self.notes)
        return out


def _choice(value: str, allowed: Sequence[str], name: str) -> str:
    v = value.strip().lower()
    if v not in allowed:
        raise InputError(f"unknown {name}", field=name, value=value, remedy=f"use {' or '.join(allowed)}")
    return v


def binary_outcome(
    rows: Sequence[AnalysisRow], outcome: str, *, definition: str | None = None, denominator: str = "itt",
    mix_definitions: bool = False,
) -> tuple[list[tuple[AnalysisRow, bool]], str | None, dict[str, int]]:
    """The patients in the analysis of ``outcome`` with their 0/1 value (rules in the module docstring).

    Returns
    -------
    pairs, definition, definitions
        ``(row, y)`` for each analysed patient; the uptake definition analysed (``None`` for response or
        mixed definitions); patients per definition among the assessed.
    """
    out = _choice(outcome, OUTCOMES, "outcome")
    if out == "objective_response":
        if definition is not None:
            raise InputError("an uptake definition does not apply to objective_response", field="definition",
                             value=definition, remedy="drop it, or use outcome uptake_restored")
        den = _choice(denominator, DENOMINATORS, "denominator")
        if den == "itt":
            return ([(r, bool(r.objective_response)) for r in rows if r.response_denominator is not None],
                    None, {})
        return ([(r, bool(r.objective_response)) for r in rows
                 if r.response_denominator == "treated" and r.objective_response is not None], None, {})
    assessed = [r for r in rows if r.uptake_restored is not None]
    counts: dict[str, int] = {}
    for r in assessed:
        counts[str(r.uptake_definition)] = counts.get(str(r.uptake_definition), 0) + 1
    if definition is not None:
        d = definition.strip()
        if d not in counts:
            raise InputError("no patient assessed under this uptake definition", field="definition", value=d,
                             remedy=f"use one present in the file: {', '.join(sorted(counts)) or 'none'}")
        return [(r, bool(r.uptake_restored)) for r in assessed if r.uptake_definition == d], d, counts
    if len(counts) > 1 and not mix_definitions:
        listing = ", ".join(f"{k} ({v})" for k, v in sorted(counts.items()))
        raise InputError(f"the file mixes uptake definitions: {listing}", field="definition",
                         value=",".join(sorted(counts)),
                         remedy="choose one definition (like with like), or allow mixing (mix_definitions)")
    only = next(iter(counts)) if len(counts) == 1 else None
    return [(r, bool(r.uptake_restored)) for r in assessed], only, counts


def _site_key(row: AnalysisRow) -> str:
    src = row.source
    if src == "site":
        return row.site
    if not src.startswith("published:") or src == "published:":
        raise InputError(f"patient {row.patient!r}: unknown source", field="source", value=src,
                         remedy="write site (registry patient) or published:<record id>")
    return src


def site_counts(pairs: Sequence[tuple[AnalysisRow, bool]]) -> list[SiteCount]:
    """Events and totals per site (registry sites in sorted order, then published sources)."""
    acc: dict[str, list[int]] = {}
    for row, y in pairs:
        c = acc.setdefault(_site_key(row), [0, 0])
        c[0] += int(y)
        c[1] += 1
    keys = sorted(k for k in acc if not k.startswith("published:")) + sorted(
        k for k in acc if k.startswith("published:"))
    return [SiteCount(k, acc[k][0], acc[k][1], "site" if not k.startswith("published:") else k) for k in keys]


def _group_sites(pairs: Sequence[tuple[AnalysisRow, bool]], by: str) -> dict[str, list[SiteCount]]:
    levels: dict[str, list[tuple[AnalysisRow, bool]]] = {}
    for row, y in pairs:
        try:
            value = row.value(by)
        except AttributeError:
            raise InputError("no such column", field="by", value=by,
                             remedy="name a column of the analysis dataset") from None
        if value == "":
            raise InputError(f"patient {row.patient!r}: empty value in the grouping column", field=by,
                             remedy="fill it in, or group by another column")
        levels.setdefault(value, []).append((row, y))
    return {lev: site_counts(levels[lev]) for lev in sorted(levels)}


def _summary(sites: Sequence[SiteCount]) -> dict[str, Any]:
    return {"k_sites": len(sites), "n": sum(s.total for s in sites), "events": sum(s.events for s in sites),
            "sites": [s.to_dict() for s in sites]}


def _wald(mu: float, se: float, level: float) -> dict[str, float]:
    z = norm_isf((1.0 - level / 100.0) / 2.0)
    return {"mu": mu, "se": se, "estimate": float(special.expit(mu)),
            "ci_lower": float(special.expit(mu - z * se)), "ci_upper": float(special.expit(mu + z * se))}


def pool_ipd(
    rows: Sequence[AnalysisRow], *, outcome: str, method: str = "two-stage", by: str | None = None,
    definition: str | None = None, denominator: str = "itt", mix_definitions: bool = False,
    tau2_method: str = "REML", level: float = 95.0, with_evidence: bool = False,
    overlaps: Collection[str] = (), evidence: EvidenceBase | None = None,
) -> IpdPoolResult:
    """Pool ``outcome`` across sites (see the module docstring for the rules and the methods).

    Parameters
    ----------
    rows
        The analysis dataset (:func:`redif.ipd.dataset.read_analysis_csv`).
    outcome
        ``uptake_restored`` or ``objective_response``.
    method
        ``two-stage`` (default) or ``one-stage``.
    by
        A column: two-stage subgroups (separate tau2), or a factor of the one-stage model.
    definition, mix_definitions
        Uptake definition to analyse; mixing refused unless ``mix_definitions``.
    denominator
        Response denominator ``itt`` (default) or ``treated``.
    tau2_method
        Two-stage tau2 estimator (REML default; any of ``redif meta pool``'s).
    level
        Confidence level in percent.
    with_evidence, overlaps, evidence
        Add the evidence base's published units for the same outcome/definition/denominator as sites,
        leaving out records in ``overlaps`` (:mod:`redif.ipd.published`); ``evidence`` defaults to the
        built-in base.

    Raises
    ------
    InputError
        Naming the parameter (``outcome``, ``method``, ``by``, ``definition``, ``denominator``, ...).
    """
    meth = _choice(method, METHODS, "method")
    lv = check_level(level)
    pairs, defn, defs = binary_outcome(rows, outcome, definition=definition, denominator=denominator,
                                       mix_definitions=mix_definitions)
    out = outcome.strip().lower()
    denom = denominator.strip().lower() if out == "objective_response" else None
    if not pairs:
        raise InputError(f"no patient with {out} in the data", field="outcome", value=out,
                         remedy="check the column, the definition and the denominator")
    pub_ids = sorted({r.source.split(":", 1)[1] for r, _ in pairs if r.source.startswith("published:")})
    if pub_ids:
        check_published_sources(pub_ids, overlaps=overlaps, evidence=evidence)
    sites = site_counts(pairs)
    notes: list[str] = []
    if out == "objective_response":
        missing = sum(r.response_denominator is None for r in rows)
        if missing:
            notes.append(f"{missing} patient(s) without response_denominator left out (response)")
    excluded: list[dict[str, str]] = []
    if with_evidence:
        if by is not None:
            raise InputError("published arms have no patient-level columns to group by", field="by", value=by,
                             remedy="drop by, or give the published arms as rows with a source column")
        if out == "uptake_restored" and defn is None:
            raise InputError("published arms are added for one uptake definition", field="definition",
                             remedy="choose one definition")
        arms, excluded = published_arms(out, definition=defn, denominator=denom or "itt", overlaps=overlaps,
                                        already=pub_ids, evidence=evidence)
        sites = sites + [SiteCount(a.label, a.events, a.total, f"published:{a.record_id}") for a in arms]
        if not arms:
            notes.append("no published unit of the evidence base matches (or all overlap the registry)")
    if len(sites) < 2:
        raise InputError(f"{out}: patients from {len(sites)} site only, nothing to pool across sites",
                         field="method", value=meth,
                         remedy="pool the data of two or more sites (or add published arms)")
    common = {"outcome": out, "method": meth, "definition": defn, "definitions": defs, "denominator": denom,
              "level": lv, "sites": tuple(sites), "published_excluded": tuple(excluded)}
    if meth == "two-stage":
        return _two_stage(pairs, sites, by, tau2_method, lv, common, notes)
    return _one_stage(pairs, sites, by, lv, common, notes)


def _two_stage(pairs: Sequence[tuple[AnalysisRow, bool]], sites: Sequence[SiteCount], by: str | None,
               tau2_method: str, lv: float, common: dict[str, Any], notes: list[str]) -> IpdPoolResult:
    labels = [s.site for s in sites]
    res = pool_proportions([s.events for s in sites], [s.total for s in sites], labels, measure="PLO",
                           method=tau2_method, level=lv)
    subgroups = test_between = None
    if by is not None:
        groups = _group_sites(pairs, by)
        cells = [(lev, s) for lev, ss in groups.items() for s in ss]
        sub = pool_subgroups([s.events for _, s in cells], [s.total for _, s in cells], [g for g, _ in cells],
                             [s.site for _, s in cells], measure="PLO", method=tau2_method, level=lv)
        subgroups = tuple(
            {"group": lev, **_summary(groups[lev]),
             **{k: getattr(r, k) for k in ("mu", "se", "estimate", "ci_lower", "ci_upper", "tau2")}}
            for lev, r in sub.subgroups.items())
        test_between = sub.test_between.to_dict()
    return IpdPoolResult(
        tau2_method=res.method, k_sites=len(sites), n=sum(s.total for s in sites),
        events=sum(s.events for s in sites), mu=res.mu, se=res.se, estimate=res.estimate,
        ci_lower=res.ci_lower, ci_upper=res.ci_upper, tau2=res.tau2, subgroups=subgroups, pool=res,
        test_between=test_between, notes=tuple(notes + list(res.notes)), **common)


def _one_stage(pairs: Sequence[tuple[AnalysisRow, bool]], sites: Sequence[SiteCount], by: str | None,
               lv: float, common: dict[str, Any], notes: list[str]) -> IpdPoolResult:
    index = {s.site: i for i, s in enumerate(sites)}
    levels: list[str] = []
    if by is not None:
        levels = sorted(_group_sites(pairs, by))
    cell: dict[tuple[int, int], list[int]] = {}
    for row, y in pairs:
        lev = levels.index(row.value(by)) if by is not None else 0
        c = cell.setdefault((index[_site_key(row)], lev), [0, 0])
        c[0] += int(y)
        c[1] += 1
    # published arms added from the evidence base (counts, no patient rows) enter as intercept-only cells
    for s in sites:
        if index[s.site] not in {k[0] for k in cell}:
            cell[(index[s.site], 0)] = [s.events, s.total]
    for j, name in enumerate(levels or ["all patients"]):
        ev = sum(c[0] for k, c in cell.items() if k[1] == j)
        tot = sum(c[1] for k, c in cell.items() if k[1] == j)
        if ev in (0, tot):  # separation: the logistic model has no finite estimate
            raise InputError(
                f"{'level ' + repr(name) + ' of ' + by if by is not None else 'the outcome'} has "
                f"{'no events' if ev == 0 else 'only events'} ({ev}/{tot}): the one-stage logistic model "
                "has no finite estimate", field="by" if by is not None else "method", value=name,
                remedy="use --method two-stage (per-site counts with a continuity correction), or merge "
                "the level with another")
    keys = sorted(cell)
    p = max(1, len(levels))
    X = np.zeros((len(keys), p))
    X[:, 0] = 1.0
    for r, (_, lev) in enumerate(keys):
        if lev > 0:
            X[r, lev] = 1.0
    names = ["(Intercept)"] + [f"{by}={lev}" for lev in levels[1:]]
    fit = fit_mixed_logit([cell[k][0] for k in keys], [cell[k][1] for k in keys], X, [k[0] for k in keys],
                          names)
    z = norm_isf((1.0 - lv / 100.0) / 2.0)
    se = np.sqrt(np.diag(fit.vcov))
    coefficients = subgroups = None
    if by is not None:
        coefficients = tuple(
            {"name": nm, "estimate": float(b), "se": float(s), "z": float(b / s),
             "p": float(2.0 * norm_sf(abs(b / s))), "ci_lower": float(b - z * s),
             "ci_upper": float(b + z * s)}
            for nm, b, s in zip(names, fit.beta, se, strict=True))
        groups = _group_sites(pairs, by)
        subs = []
        for j, name in enumerate(levels):
            vec = np.zeros(p)
            vec[0] = 1.0
            if j > 0:
                vec[j] = 1.0
            mu = float(vec @ fit.beta)
            sd = math.sqrt(float(vec @ fit.vcov @ vec))
            subs.append({"group": name, **_summary(groups[name]), **_wald(mu, sd, lv), "tau2": fit.tau2})
        subgroups = tuple(subs)
        notes.append(f"mu is the logit of the reference level {levels[0]!r} of {by}")
    w = _wald(float(fit.beta[0]), float(se[0]), lv)
    return IpdPoolResult(
        tau2_method="ML, adaptive Gauss-Hermite (7 nodes)", k_sites=len(sites),
        n=sum(s.total for s in sites), events=sum(s.events for s in sites), tau2=fit.tau2,
        mu=w["mu"], se=w["se"], estimate=w["estimate"], ci_lower=w["ci_lower"], ci_upper=w["ci_upper"],
        subgroups=subgroups, coefficients=coefficients, notes=tuple(notes), **common)
