"""Where the files behind registry rows live, and how they follow the rows' transactions.

Layout (all under the data directory, paths stored *relative* to it so the directory can move):

- ``dicom/<random UUID>/NNNNN.dcm``: the de-identified files of one accepted upload, written once into a
  folder no other upload can name (a fresh :func:`uuid.uuid4`) and never changed afterwards. The series
  row records each file's SHA-256 (:func:`verify_series` checks them).

Files follow the unit of work of the session that made or deleted their row:

- a folder created for an upload is removed when the session's transaction ends without a commit
  (rollback, error, or a session closed without committing) — only that folder, never another upload's;
- a folder whose series row was deleted (directly or with its patient) is removed after the commit; on
  rollback it stays. A crash between the commit and the removal leaves an orphan folder that no row
  names and no new row can ever be given (its name is a random UUID), so nothing leaks.

(Ids of patient-level rows are retired in the delete's own transaction by :mod:`redif.registry.models`.)
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, event
from sqlalchemy.orm import Mapper, Session, SessionTransaction, object_session

from redif.registry.models import DicomSeries

__all__ = [
    "DICOM_DIR",
    "bind_data_dir",
    "discard_upload_dir",
    "new_upload_dir",
    "resolve",
    "series_files",
    "verify_series",
]

#: Folder (relative to the data directory) holding one sub-folder per accepted upload.
DICOM_DIR = "dicom"

_DATA_DIR = "redif_data_dir"
_CREATED = "redif_created_dirs"
_DOOMED = "redif_doomed_dirs"
_log = logging.getLogger(__name__)


def bind_data_dir(session: Session, data_dir: Path) -> None:
    """Tell ``session`` which data directory its rows' files live in (needed to remove the folders of
    series deleted in it)."""
    session.info[_DATA_DIR] = Path(data_dir)


def resolve(data_dir: Path, storage_dir: str) -> Path:
    """Absolute folder of a stored ``storage_dir`` (relative to ``data_dir``; rows written before
    revision 0002 hold absolute paths, which are returned unchanged)."""
    p = Path(storage_dir)
    return p if p.is_absolute() else Path(data_dir) / p


def new_upload_dir(session: Session, data_dir: Path) -> tuple[Path, str]:
    """Create the folder of a new upload: ``(absolute path, path relative to data_dir)``.

    The folder is removed again if the session's transaction ends without a commit.
    """
    bind_data_dir(session, data_dir)
    rel = f"{DICOM_DIR}/{uuid.uuid4().hex}"
    target = Path(data_dir) / rel
    target.mkdir(parents=True, exist_ok=False)
    session.info.setdefault(_CREATED, []).append(target)
    return target, rel


def discard_upload_dir(session: Session, target: Path) -> None:
    """Remove a folder made by :func:`new_upload_dir` now (the upload failed before its row existed)."""
    created: list[Path] = session.info.get(_CREATED, [])
    if target in created:
        created.remove(target)
    shutil.rmtree(target, ignore_errors=True)


def series_files(data_dir: Path, series: DicomSeries) -> list[Path]:
    """The stored files of a series, in their recorded order."""
    folder = resolve(data_dir, series.storage_dir)
    if series.instances:
        return [folder / str(x["file"]) for x in series.instances]
    return sorted(folder.glob("*.dcm"))


def verify_series(data_dir: Path, series: DicomSeries) -> list[str]:
    """Check the stored files of ``series`` against the recorded SHA-256 digests.

    Returns
    -------
    list of str
        One line per problem (missing file, changed file, changed series digest); empty when intact.
    """
    problems: list[str] = []
    whole = hashlib.sha256()
    folder = resolve(data_dir, series.storage_dir)
    items = series.instances or [{"file": f.name, "sha256": None} for f in series_files(data_dir, series)]
    for item in items:
        path = folder / str(item["file"])
        if not path.is_file():
            problems.append(f"{item['file']}: missing")
            continue
        data = path.read_bytes()
        whole.update(data)
        if item.get("sha256") is not None and hashlib.sha256(data).hexdigest() != item["sha256"]:
            problems.append(f"{item['file']}: SHA-256 differs from the recorded one")
    if whole.hexdigest() != series.sha256:
        problems.append("series SHA-256 differs from the recorded one")
    return problems


# --------------------------------------------------------------------------------------------------
# unit of work: retire ids, remove files after commit / rollback
# --------------------------------------------------------------------------------------------------


def _doom_series(_mapper: Mapper[Any], _connection: Connection, target: DicomSeries) -> None:
    session = object_session(target)
    if session is not None:
        session.info.setdefault(_DOOMED, []).append(target.storage_dir)


def _remove(folders: list[Path]) -> None:
    for folder in folders:
        try:
            shutil.rmtree(folder)
        except FileNotFoundError:
            pass
        except OSError as exc:  # left as an orphan no row names; report, do not fail the request
            _log.warning("could not remove %s: %s", folder, exc)


def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():  # a SAVEPOINT released: the outer transaction may still roll back
        return
    session.info.pop(_CREATED, None)  # committed: the new folders belong to their rows now
    doomed: list[str] = session.info.pop(_DOOMED, [])
    if not doomed:
        return
    data_dir: Path | None = session.info.get(_DATA_DIR)
    if data_dir is None:
        _log.warning("%d deleted series folders left in place: no data directory bound", len(doomed))
        return
    _remove([resolve(data_dir, d) for d in doomed])


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None:
        return
    session.info.pop(_DOOMED, None)  # not committed: the rows (and so their files) stay
    _remove(session.info.pop(_CREATED, []))  # not committed: only this session's new folders go


event.listen(DicomSeries, "after_delete", _doom_series)
event.listen(Session, "after_commit", _after_commit)
event.listen(Session, "after_transaction_end", _after_transaction_end)
