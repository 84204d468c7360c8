"""The registry's pooled analyses as one view (the web app's ``/analysis`` page and its JSON API).

Two functions, both calling the engines that ``redif ipd`` calls, so that the page shows the numbers of
``redif ipd pool|survival --json`` on the registry's analysis dataset:

- :func:`registry_rows` reads the analysis dataset of the patients in a principal's scope (the rows of
  ``redif registry export --format analysis``: :func:`redif.registry.analysis_export.derive_rows` over
  the bulk read :func:`redif.registry.bulk_read.read_patients`). It is a *read*, not an export: the data
  do not leave the registry, so it writes the one ``read`` audit event of a registry list (naming the
  patients read) and no ``export`` event. Like the export it needs the ``export`` permission (the
  auditor reads patients but may not analyse or export them) and is role-scoped: a site user's
  analysis holds their own site only.
- :func:`analysis_view` assembles the page from those rows: pooled restored uptake for one definition
  of restored uptake at a time (like with like; by default the definition with the most patients
  assessed), pooled objective response with the ``itt`` or ``treated`` denominator (two-stage:
  :func:`redif.ipd.pool.pool_ipd`, with the forest plot of :func:`redif.evidence.plots.forest_bytes`),
  and Kaplan-Meier curves with the log-rank test of progression-free survival and time to next systemic
  therapy by genotype and by restored uptake (:func:`redif.ipd.survival.survival`,
  :func:`redif.ipd.plots.km_plot_bytes`). The per-site intervals are Clopper-Pearson exact intervals
  (:func:`redif.evidence.measures.study_intervals`, those of the forest plot). A scope with one site
  has nothing to pool across sites: its own proportion and exact interval are shown.

References
----------
Riley RD, Lambert PC, Abo-Zaid G. Meta-analysis of individual participant data: rationale, conduct, and
reporting. BMJ 2010;340:c221.
Clopper CJ, Pearson ES. The use of confidence or fiducial limits illustrated in the case of the
binomial. Biometrika 1934;26:404-413.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from redif.errors import ConvergenceError, InputError
from redif.evidence.measures import study_intervals
from redif.evidence.plots import forest_bytes
from redif.ipd.dataset import AnalysisRow, rows_from_records
from redif.ipd.plots import km_plot_bytes
from redif.ipd.pool import DENOMINATORS, IpdPoolResult, binary_outcome, pool_ipd, site_counts
from redif.ipd.survival import SurvivalResult, survival
from redif.registry.access import Permission, Principal, require
from redif.registry.analysis_export import derive_rows
from redif.registry.bulk_read import gc_paused, read_patients
from redif.registry.db import Database

__all__ = ["ENDPOINTS", "AnalysisView", "PoolPanel", "SiteLine", "SurvivalPanel", "analysis_view",
           "registry_rows"]

#: The time-to-event endpoints shown: (time column, event column, label).
ENDPOINTS: tuple[tuple[str, str, str], ...] = (
    ("pfs_days", "pfs_event", "Progression-free survival"),
    ("ttnt_days", "ttnt_event", "Time to next systemic therapy"),
)
#: Grouping of the curves: (column, label); ``uptake`` is ``uptake_restored`` written out.
GROUPINGS: tuple[tuple[str, str], ...] = (("genotype", "genotype"), ("uptake", "restored uptake"))
UPTAKE_LABELS = {True: "restored", False: "not restored"}

# matplotlib's pyplot state (used by the plot helpers) is not thread-safe; the app's routes run in a
# thread pool, so the figures are drawn one at a time.
_PLOT_LOCK = threading.Lock()
#: Failures of a fit on particular data (an InputError is a ValueError too: caught before these).
_NOT_ESTIMABLE = (ConvergenceError, np.linalg.LinAlgError, ArithmeticError, ValueError)


def registry_rows(db: Database, principal: Principal) -> list[AnalysisRow]:
    """The analysis dataset of the patients in ``principal``'s scope, as :mod:`redif.ipd` reads it.

    Raises
    ------
    redif.errors.AccessDenied
        When the role lacks the ``export`` permission (the auditor).
    """
    require(principal, Permission.EXPORT)
    with db.session(actor=principal.username) as s, gc_paused():
        derived, _ = derive_rows(read_patients(s, principal))
    records = [{k: "" if v is None else str(v) for k, v in r.values.items()} for r in derived]
    return rows_from_records(records, name="registry analysis dataset")


@dataclass(frozen=True)
class SiteLine:
    """One site's events/total with its proportion and exact interval (proportions, 0-1)."""

    site: str
    events: int
    total: int
    proportion: float
    ci_lower: float
    ci_upper: float


@dataclass(frozen=True)
class PoolPanel:
    """A pooled binary outcome: per-site lines, the two-stage pool (two or more sites) and its forest plot
    (SVG bytes), or the reason there is none (``message``)."""

    outcome: str
    title: str
    sites: tuple[SiteLine, ...]
    result: IpdPoolResult | None
    forest_svg: bytes | None
    message: str | None


@dataclass(frozen=True)
class SurvivalPanel:
    """Kaplan-Meier curves, medians and the log-rank test of one endpoint by one grouping, with the plot
    (SVG bytes), or the reason there is none (``message``)."""

    key: str
    title: str
    time: str
    event: str
    by: str
    result: SurvivalResult | None
    km_svg: bytes | None
    message: str | None


@dataclass(frozen=True)
class AnalysisView:
    """Everything the analysis page shows (``uptake``/``response`` ``None`` when there is no patient)."""

    n_patients: int
    sites: tuple[str, ...]
    definitions: dict[str, int]
    definition: str | None
    denominator: str
    uptake: PoolPanel | None
    response: PoolPanel | None
    survival: tuple[SurvivalPanel, ...]


def _default_definition(counts: dict[str, int]) -> str | None:
    """The definition with the most patients assessed (ties: the first code in sorted order)."""
    if not counts:
        return None
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]


def _site_lines(rows: Sequence[AnalysisRow], outcome: str, definition: str | None,
                denominator: str) -> tuple[SiteLine, ...]:
    pairs, _, _ = binary_outcome(rows, outcome, definition=definition, denominator=denominator)
    counts = site_counts(pairs)
    if not counts:
        return ()
    p, lo, hi = study_intervals([c.events for c in counts], [c.total for c in counts])
    return tuple(SiteLine(c.site, c.events, c.total, float(p[i]), float(lo[i]), float(hi[i]))
                 for i, c in enumerate(counts))


def _pool_panel(rows: Sequence[AnalysisRow], outcome: str, title: str, *, definition: str | None,
                denominator: str, plots: bool) -> PoolPanel:
    lines = _site_lines(rows, outcome, definition, denominator)
    if not lines:
        return PoolPanel(outcome, title, (), None, None, "No patient has this outcome recorded yet.")
    if len(lines) < 2:
        return PoolPanel(outcome, title, lines, None, None,
                         f"Patients from one site only ({lines[0].site}): nothing to pool across sites; the "
                         "site's own proportion and exact interval are shown.")
    try:
        res = pool_ipd(rows, outcome=outcome, method="two-stage", definition=definition,
                       denominator=denominator)
    except _NOT_ESTIMABLE as exc:
        return PoolPanel(outcome, title, lines, None, None, f"Cannot be pooled on these patients ({exc}).")
    svg = None
    if plots and res.pool is not None:
        with _PLOT_LOCK:
            svg = forest_bytes(res.pool, "svg", title=title)
    return PoolPanel(outcome, title, lines, res, svg, None)


def _with_uptake_label(rows: Sequence[AnalysisRow], definition: str | None) -> list[AnalysisRow]:
    """Patients assessed under ``definition`` with a column ``uptake`` = restored / not restored."""
    return [dataclasses.replace(r, extra={**r.extra, "uptake": UPTAKE_LABELS[r.uptake_restored]})
            for r in rows if r.uptake_restored is not None and r.uptake_definition == definition]


def _survival_panel(rows: Sequence[AnalysisRow], time: str, event: str, label: str, by: str,
                    by_label: str, *, plots: bool) -> SurvivalPanel:
    key = f"{time.split('_')[0]}-{by}"
    title = f"{label} by {by_label}"
    try:
        res = survival(rows, time=time, event=event, by=by)
    except InputError:
        return SurvivalPanel(key, title, time, event, by, None, None,
                             "No patient has this endpoint and grouping recorded yet.")
    except _NOT_ESTIMABLE as exc:
        return SurvivalPanel(key, title, time, event, by, None, None,
                             f"Cannot be estimated on these patients ({exc}).")
    svg = None
    if plots:
        with _PLOT_LOCK:
            svg = km_plot_bytes(res, "svg", title=title)
    return SurvivalPanel(key, title, time, event, by, res, svg, None)


def analysis_view(rows: Sequence[AnalysisRow], *, definition: str | None = None, denominator: str = "itt",
                  plots: bool = True) -> AnalysisView:
    """The analysis page of ``rows`` (see the module docstring).

    Parameters
    ----------
    rows
        The analysis dataset in the caller's scope (:func:`registry_rows`).
    definition
        Uptake definition code to pool (default: the one with the most patients assessed).
    denominator
        Response denominator: ``itt`` (everyone who started the drug) or ``treated`` (given 131I).
    plots
        Draw the forest and Kaplan-Meier plots (SVG).

    Raises
    ------
    InputError
        ``definition`` not among the definitions of the patients assessed; unknown ``denominator``.
    """
    den = denominator.strip().lower()
    if den not in DENOMINATORS:
        raise InputError("unknown response denominator", field="denominator", value=denominator,
                         remedy="use itt (everyone who started the drug) or treated (given 131I)")
    _, _, counts = binary_outcome(rows, "uptake_restored", mix_definitions=True)
    d = (definition or "").strip() or None
    if d is not None and d not in counts:
        raise InputError("no patient in your scope is assessed under this definition of restored uptake",
                         field="definition", value=d,
                         remedy="choose one of: "
                         + (", ".join(sorted(counts)) or "none (no uptake recorded)"))
    d = d or _default_definition(counts)
    sites = tuple(sorted({r.site for r in rows}))
    if not rows:
        return AnalysisView(0, (), {}, None, den, None, None, ())
    uptake = (_pool_panel(rows, "uptake_restored", f"Restored uptake ({d})", definition=d, denominator=den,
                          plots=plots)
              if d is not None else
              PoolPanel("uptake_restored", "Restored uptake", (), None, None,
                        "No patient has an uptake assessment after the drug start yet."))
    response = _pool_panel(rows, "objective_response", f"Objective response ({den} denominator)",
                           definition=None, denominator=den, plots=plots)
    labelled = _with_uptake_label(rows, d)
    panels = []
    for time, event, label in ENDPOINTS:
        for by, by_label in GROUPINGS:
            data = rows if by == "genotype" else labelled
            lab = by_label if by == "genotype" else f"{by_label} ({d})"
            panels.append(_survival_panel(data, time, event, label, by, lab, plots=plots))
    return AnalysisView(len(rows), sites, dict(sorted(counts.items())), d, den, uptake, response,
                        tuple(panels))
