"""Export benchmark (issue 13): the analysis dataset, the REDCap file and the Safe-Harbor CSV of a
registry of synthetic patients, read in bulk, beside the per-patient read path they replace.

The script builds an SQLite registry in a temporary directory (bulk inserts with explicit ids: synthetic
values, no real patient), then times, in the same process:

- ``analysis``: :func:`redif.registry.analysis_export.export_analysis` (bulk read, derivation, audit);
- ``redcap``: :func:`redif.registry.redcap.export_redcap`;
- ``safe-harbor``: :func:`redif.registry.deid.export_safe_harbor` (what ``POST /api/export/patients.csv``
  runs);
- the pooled analyses of ``redif ipd`` on the analysis dataset's rows (two-stage uptake and response,
  one-stage uptake, Kaplan-Meier with the log-rank test, a site-stratified Cox model) and the web app's
  ``/analysis`` page (reading the rows, the view model, with its plots);
- ``baseline``: the previous read path of the Safe-Harbor export (``patient_to_dict`` over
  ``list_patients``: about a dozen lazy queries per patient) on a registry of ``--baseline-patients``
  patients, and the bulk path on that same registry, so the two read paths are compared at one size.

Usage::

    python benchmarks/export_bench.py [--patients 10000] [--baseline-patients 1000] [--repeat 3]

Target (issue 13): each export of 10,000 patients in under 2 s, and each pooled analysis in under 1 s,
on the 2-core development machine. The synthetic patients have survival endpoints: progression on a
random day (a PD assessment when treated, a progression date otherwise), next therapies and a few
deaths.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sqlalchemy import insert  # noqa: E402

from redif.ipd import parse_analysis_csv, pool_ipd, survival  # noqa: E402
from redif.ipd.registry_view import analysis_view, registry_rows  # noqa: E402
from redif.registry import deid  # noqa: E402
from redif.registry import patients as reg  # noqa: E402
from redif.registry.access import Principal, Role  # noqa: E402
from redif.registry.analysis_export import export_analysis  # noqa: E402
from redif.registry.db import Database, migrate, open_database  # noqa: E402
from redif.registry.models import (  # noqa: E402
    AdverseEvent,
    DosimetryResult,
    Genotype,
    IodineAdministration,
    LabResult,
    NextTherapy,
    Patient,
    RedifCourse,
    ResponseAssessment,
    Site,
    UptakeAssessment,
)
from redif.registry.redcap import export_redcap  # noqa: E402

ADMIN = Principal(user_id=0, username="bench", role=Role.ADMIN, site_id=None)
_GENOTYPES = (("BRAF", "V600E", None), ("NRAS", "Q61R", None), ("HRAS", "Q61K", None), ("RET", None, "CCDC6"))


def build(db: Database, n: int, seed: int = 13) -> None:
    """``n`` synthetic patients over 4 sites, about 10 records each, inserted in bulk."""
    rng = random.Random(seed)
    with db.write_session(actor="bench") as s:
        for code in ("S1", "S2", "S3", "S4"):
            s.add(Site(code=code, name=f"Synthetic site {code}"))
        s.flush()
        site_ids = [x.id for x in s.query(Site).order_by(Site.code)]
    now = datetime(2025, 1, 1)
    rows: dict[Any, list[dict[str, Any]]] = {m: [] for m in (
        Patient, Genotype, RedifCourse, UptakeAssessment, DosimetryResult, IodineAdministration,
        ResponseAssessment, LabResult, AdverseEvent, NextTherapy)}
    next_id = iter(range(1, 20 * n + 100))
    for i in range(n):
        pid = next(next_id)
        start = date(2021, 1, 1) + timedelta(days=rng.randrange(0, 900))
        gene, variant, partner = rng.choice(_GENOTYPES)
        restored = rng.random() < 0.6
        response = rng.choice(["PR", "SD", "SD", "PD"]) if restored else None
        # survival endpoints (issue 13): progression on a random day, for treated (PD) and untreated
        # patients alike (untreated: a progression_date after a follow-up scan), and a few deaths
        second = rng.randrange(150, 500)
        if restored:
            progressed = start + timedelta(days=second) if response == "PD" else None
        else:
            progressed = start + timedelta(days=rng.randrange(60, 400)) if rng.random() < 0.5 else None
        died = start + timedelta(days=rng.randrange(200, 900)) if rng.random() < 0.05 else None
        rows[Patient].append({
            "id": pid, "pseudonym": f"P-{i:05d}", "site_id": site_ids[i % 4],
            "sex": rng.choice(["female", "male"]), "birth_year": rng.randrange(1940, 1990),
            "histology": rng.choice(["papillary", "follicular"]),
            "diagnosis_date": start - timedelta(days=rng.randrange(700, 3000)),
            "progression_date": progressed, "progression_criterion": "recist_1_1" if progressed else None,
            "death_date": died,
            "last_follow_up_date": start + timedelta(days=rng.randrange(100, 700)), "is_demo": False,
            "created_at": now + timedelta(seconds=i), "updated_at": now,
        })

        def child(model: Any, pid: int = pid, **values: Any) -> None:
            rows[model].append({"id": next(next_id), "patient_id": pid, "created_at": now, **values})

        child(Genotype, gene=gene, variant=variant, fusion_partner=partner, assay="synthetic NGS")
        child(RedifCourse, course_number=1, drugs="dabrafenib + trametinib", start_date=start,
              stop_date=start + timedelta(days=42), dose_reductions=0, days_before_uptake=28,
              tsh_stimulation="rhtsh", low_iodine_diet=True)
        child(UptakeAssessment, assessment_date=start + timedelta(days=28), modality="pet_ct", tracer="I-124",
              activity_mbq=74.0, restored=restored, restored_definition="increased_124i_uptake")
        child(LabResult, sample_date=start, analyte="Tg", value=round(rng.uniform(1, 500), 1), unit="ng/mL")
        child(AdverseEvent, onset_date=start + timedelta(days=10), term="Fatigue", ctcae_grade=1)
        if restored:
            child(DosimetryResult, kind="lesion", absorbed_dose_gy=round(rng.uniform(5, 400), 1),
                  computed_at=now)
            child(IodineAdministration, administration_date=start + timedelta(days=35), activity_gbq=5.5,
                  basis="empiric")
            for day, code in ((120, "SD" if response == "PD" else response), (second, response)):
                child(ResponseAssessment, assessment_date=start + timedelta(days=day), criteria="RECIST 1.1",
                      overall_response=code)
        else:
            child(ResponseAssessment, assessment_date=start + timedelta(days=50), criteria="RECIST 1.1",
                  overall_response="SD")
        if progressed:
            child(NextTherapy, drugs="lenvatinib", therapy_class="multikinase_inhibitor",
                  start_date=progressed + timedelta(days=30))
    with db.engine.begin() as conn:
        for model, items in rows.items():
            if items:
                conn.execute(insert(model.__table__), items)


def _old_safe_harbor(db: Database) -> str:
    """The previous Safe-Harbor read path (one query set per patient)."""
    with db.session() as s:
        items = [reg.patient_to_dict(p) for p in reg.list_patients(s, ADMIN, limit=1_000_000)]
    return deid.safe_harbor_csv(items, export_date=date(2025, 1, 1))


def _new_safe_harbor(db: Database) -> str:
    with db.write_session(actor="bench") as s:
        text, _ = deid.export_safe_harbor(s, ADMIN, export_date=date(2025, 1, 1))
    return text


def _time(fn: Callable[[], Any], repeat: int) -> tuple[tuple[float, float], Any]:
    """Best wall-clock and process CPU seconds of ``repeat`` runs (CPU time is what the export itself
    used: on a shared machine the wall clock also counts time waiting for a core)."""
    wall, cpu, out = float("inf"), float("inf"), None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        wall, cpu = min(wall, time.perf_counter() - t0), min(cpu, time.process_time() - c0)
    return (wall, cpu), out


def _registry(tmp: Path, name: str, n: int) -> tuple[Database, float]:
    (tmp / name).mkdir()
    db = open_database(f"sqlite:///{tmp / name / 'registry.sqlite'}", data_dir=tmp / name)
    migrate(db)
    t0 = time.perf_counter()
    build(db, n)
    return db, time.perf_counter() - t0


def _pooled(db: Database, text: str, repeat: int,
            line: Callable[[str, int, tuple[float, float]], None]) -> None:
    """Time the pooled analyses of issue 13 on the analysis dataset ``text`` of the large registry (the
    calls of ``redif ipd pool|survival`` and of the web app's ``/analysis`` page)."""
    t_p, rows = _time(lambda: parse_analysis_csv(text, name="bench"), repeat)
    n = len(rows)
    print(f"{'pooled analysis (analysis rows)':<34}{'patients':>9}{'wall s':>9}{'CPU s':>8}"
          f"{'ms/patient':>12}")
    line("read the analysis CSV (redif.ipd)", n, t_p)
    analyses: list[tuple[str, Callable[[], Any]]] = [
        ("two-stage uptake", lambda: pool_ipd(rows, outcome="uptake_restored")),
        ("two-stage response (itt)", lambda: pool_ipd(rows, outcome="objective_response")),
        ("one-stage uptake (glmer nAGQ=7)",
         lambda: pool_ipd(rows, outcome="uptake_restored", method="one-stage")),
        ("KM + log-rank: PFS by genotype",
         lambda: survival(rows, time="pfs_days", event="pfs_event", by="genotype")),
        ("KM + log-rank: TTNT by uptake", lambda: survival(rows, time="ttnt_days", event="ttnt_event",
                                                           by="uptake_restored")),
        ("Cox PFS, strata(site)",
         lambda: survival(rows, time="pfs_days", event="pfs_event",
                          covariates=["uptake_restored", "genotype"], strata="site")),
    ]
    pfs = survival(rows, time="pfs_days", event="pfs_event")
    ttnt = survival(rows, time="ttnt_days", event="ttnt_event")
    print(f"endpoints: PFS {pfs.groups[0].n} patients, {pfs.groups[0].events} events; TTNT "
          f"{ttnt.groups[0].n} patients, {ttnt.groups[0].events} events")
    worst = 0.0
    for label, fn in analyses:
        t, _ = _time(fn, repeat)
        line(label, n, t)
        worst = max(worst, t[0])
    print(f"target: each pooled analysis < 1 s wall ({'met' if worst < 1 else 'NOT met'}: slowest "
          f"{worst:.2f} s; best of {repeat})")
    t_r, page_rows = _time(lambda: registry_rows(db, ADMIN), repeat)
    line("/analysis: read + derive the rows", len(page_rows), t_r)
    t_v, _ = _time(lambda: analysis_view(page_rows, plots=False), repeat)
    line("/analysis: view model, no plots", n, t_v)
    t_f, _ = _time(lambda: analysis_view(page_rows), 1)
    line("/analysis: view model + 6 SVG plots", n, t_f)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--patients", type=int, default=10_000)
    ap.add_argument("--baseline-patients", type=int, default=1_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        small, _ = _registry(tmp, "small", args.baseline_patients)
        t_old, old_text = _time(lambda: _old_safe_harbor(small), 1)
        t_new_small, new_text = _time(lambda: _new_safe_harbor(small), args.repeat)
        assert new_text == old_text, "bulk and per-patient Safe-Harbor files differ"
        small.dispose()
        db, t_build = _registry(tmp, "large", args.patients)
        print(f"registry: {args.patients} synthetic patients on SQLite (built in {t_build:.1f} s)")
        print(f"load average before the timings: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        print(f"{'export':<34}{'patients':>9}{'wall s':>9}{'CPU s':>8}{'ms/patient':>12}")

        def line(label: str, n: int, t: tuple[float, float]) -> None:
            print(f"{label:<34}{n:>9}{t[0]:>9.3f}{t[1]:>8.3f}{1000 * t[0] / n:>12.3f}")

        line("baseline: per-patient Safe Harbor", args.baseline_patients, t_old)
        line("bulk Safe Harbor (same registry)", args.baseline_patients, t_new_small)
        t_a, res = _time(lambda: export_analysis(db, actor="bench"), args.repeat)
        line("analysis dataset", res.patients + res.not_started, t_a)
        t_r, red = _time(lambda: export_redcap(db, actor="bench"), args.repeat)
        line("REDCap", red.patients, t_r)
        t_s, _ = _time(lambda: _new_safe_harbor(db), args.repeat)
        line("Safe-Harbor CSV", args.patients, t_s)
        est = t_old[0] / args.baseline_patients * args.patients
        worst = max(t_a[0], t_r[0], t_s[0])
        print(f"per-patient path extrapolated to {args.patients}: {est:.1f} s; target: each export < 2 s "
              f"wall ({'met' if worst < 2 else 'NOT met'}: slowest {worst:.2f} s; best of {args.repeat})")
        _pooled(db, res.text, args.repeat, line)
        db.dispose()


if __name__ == "__main__":
    main()
