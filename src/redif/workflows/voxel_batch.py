"""Many voxel-dosimetry cases as independent tasks through a pluggable executor.

Manifest (CSV, header row, UTF-8)
---------------------------------
``case_id``       unique case identifier (required)
``pet``           time-point folders separated by ``;`` (required; relative paths are relative to the
                  manifest's folder)
``mask``          DICOM SEG / RTSTRUCT / NIfTI label map (required)
``activity_gbq``  131I activity the doses refer to (optional; see :mod:`redif.dosimetry.voxel_pipeline`)
``method``        ``fit`` (default) or ``region`` (optional)
``tissue``        ``soft`` (default) or ``bone`` (optional)
``out``           dose NIfTI path (optional; default ``<out_dir>/<case_id>_dose.nii.gz`` when an output
                  folder is given)

Executors: ``sequential`` (default), ``process`` (``concurrent.futures.ProcessPoolExecutor``) and
``dask`` (``dask.distributed``, an optional extra: ``pip install redif[dask]``; a scheduler address runs
the cases on an existing cluster). A failing case is reported with its id and a one-line error; the
others go on. Results come back in manifest order and do not depend on the executor.
"""

from __future__ import annotations

import csv
import dataclasses
import enum
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redif.errors import InputError, RedifError
from redif.workflows.voxel_case import run_voxel_case

__all__ = ["BatchCase", "CaseResult", "ExecutorKind", "read_manifest", "run_batch", "run_case"]

_REQUIRED = ("case_id", "pet", "mask")
_KNOWN = (*_REQUIRED, "activity_gbq", "method", "tissue", "out")


class ExecutorKind(enum.StrEnum):
    """Where the cases run."""

    SEQUENTIAL = "sequential"
    PROCESS = "process"
    DASK = "dask"


@dataclass(frozen=True)
class BatchCase:
    """One manifest row, paths resolved."""

    case_id: str
    pet: tuple[str, ...]
    mask: str
    activity_gbq: float | None = None
    method: str = "fit"
    tissue: str = "soft"
    out: str | None = None


@dataclass(frozen=True)
class CaseResult:
    """Outcome of one case: ``ok`` with the summary dictionary, or the one-line ``error``."""

    case_id: str
    ok: bool
    error: str | None
    result: dict[str, Any] | None


def read_manifest(path: str | Path, *, out_dir: str | Path | None = None) -> list[BatchCase]:
    """Parse and validate a manifest (see the module docstring for the columns).

    Raises
    ------
    InputError
        Naming the row and column: missing columns, empty fields, duplicate ids, bad numbers.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError("manifest not found", field="MANIFEST", value=str(p))
    base = p.parent
    with p.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in _REQUIRED if c not in header]
        if missing:
            raise InputError(f"manifest lacks column(s) {', '.join(missing)}", field=str(p),
                             value=header, remedy=f"columns: {', '.join(_KNOWN)}")
        cases: list[BatchCase] = []
        seen: set[str] = set()
        for row_no, raw in enumerate(reader, start=2):
            row = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
            where = f"{p.name} row {row_no}"
            for col in _REQUIRED:
                if not row.get(col):
                    raise InputError(f"empty {col}", field=f"{where}, column {col}")
            cid = row["case_id"]
            if cid in seen:
                raise InputError("duplicate case_id", field=f"{where}, column case_id", value=cid)
            seen.add(cid)
            act: float | None = None
            if row.get("activity_gbq"):
                try:
                    act = float(row["activity_gbq"])
                except ValueError:
                    raise InputError("not a number", field=f"{where}, column activity_gbq",
                                     value=row["activity_gbq"]) from None
                if not act > 0:
                    raise InputError("activity must be positive", field=f"{where}, column activity_gbq",
                                     value=act)
            pets = tuple(str(base / s.strip()) for s in row["pet"].split(";") if s.strip())
            out = row.get("out") or None
            if out is None and out_dir is not None:
                out = str(Path(out_dir) / f"{cid}_dose.nii.gz")
            elif out is not None:
                out = str(base / out)
            cases.append(BatchCase(cid, pets, str(base / row["mask"]), act,
                                   row.get("method") or "fit", row.get("tissue") or "soft", out))
    if not cases:
        raise InputError("manifest has no cases", field=str(p))
    return cases


def run_case(case: BatchCase) -> CaseResult:
    """Run one case; every error becomes a one-line message (never raises)."""
    try:
        if case.out:
            Path(case.out).parent.mkdir(parents=True, exist_ok=True)
        summary = run_voxel_case(case.pet, case.mask, out=case.out, activity_gbq=case.activity_gbq,
                                 method=case.method, tissue=case.tissue)
        data = dataclasses.asdict(summary)  # type: ignore[call-overload]
        data.pop("timings_s", None)  # wall times differ between runs and executors
        return CaseResult(case.case_id, True, None, data)
    except RedifError as exc:
        return CaseResult(case.case_id, False, str(exc).splitlines()[0], None)
    except Exception as exc:  # a bug or an unreadable file must not stop the other cases
        return CaseResult(case.case_id, False, f"{type(exc).__name__}: {exc}".splitlines()[0], None)


def _dask_executor(workers: int | None, scheduler: str | None) -> tuple[Executor, Callable[[], None]]:
    try:
        import distributed
    except ImportError:
        raise InputError("the dask executor needs dask.distributed", field="executor", value="dask",
                         remedy="pip install 'redif[dask]' or use the process executor") from None
    dd: Any = distributed
    if scheduler:
        remote: Any = dd.Client(scheduler)
        return remote.get_executor(), remote.close
    cluster: Any = dd.LocalCluster(n_workers=workers or 2, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
    client: Any = dd.Client(cluster)

    def _close() -> None:
        client.close()
        cluster.close()

    return client.get_executor(), _close


def run_batch(
    cases: Sequence[BatchCase],
    *,
    executor: ExecutorKind | str = ExecutorKind.SEQUENTIAL,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> list[CaseResult]:
    """Run ``cases`` independently; results in input order, failures reported per case."""
    try:
        kind = ExecutorKind(executor)
    except ValueError:
        raise InputError("unknown executor", field="executor", value=executor,
                         remedy="use sequential, process or dask") from None
    if workers is not None and workers < 1:
        raise InputError("workers must be >= 1", field="workers", value=workers)
    results: list[CaseResult | None] = [None] * len(cases)
    if kind is ExecutorKind.SEQUENTIAL:
        for i, case in enumerate(cases):
            results[i] = run_case(case)
            if progress:
                progress(i + 1, len(cases), case.case_id)
        return [r for r in results if r is not None]
    if kind is ExecutorKind.PROCESS:
        pool: Executor = ProcessPoolExecutor(max_workers=workers)
        close: Callable[[], None] = pool.shutdown
    else:
        pool, close = _dask_executor(workers, scheduler)
    try:
        futures = {pool.submit(run_case, case): i for i, case in enumerate(cases)}
        for done, fut in enumerate(as_completed(futures), start=1):
            i = futures[fut]
            try:
                results[i] = fut.result()
            except Exception as exc:  # worker died (e.g. out of memory)
                results[i] = CaseResult(cases[i].case_id, False, f"{type(exc).__name__}: {exc}", None)
            if progress:
                progress(done, len(cases), cases[i].case_id)
    finally:
        close()
    return [r for r in results if r is not None]
