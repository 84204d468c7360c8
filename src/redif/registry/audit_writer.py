"""Background writer of deferred audit events (reads of patient data, failed bearer sign-ins).

Read sessions cannot append to the audit chain (they never commit, and on SQLite taking the write lock
inside a read transaction invites deadlocks), so :func:`redif.registry.audit.defer` notes the events and
:meth:`redif.registry.db.Database.session` hands them here when the session closes.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from redif.registry.audit import DEFERRED_KEY

__all__ = ["DeferredAuditWriter"]

log = logging.getLogger("redif.audit")


class DeferredAuditWriter:
    """Writes deferred events (reads) of read sessions in batches: one write transaction for everything
    that arrived while the previous batch was being written or within ``linger_s`` (group commit), on
    a background thread.

    Events are never dropped: a failed write is retried; :meth:`flush` waits until every event handed in
    so far is committed, and :meth:`close` (called by :meth:`redif.registry.db.Database.dispose`, by the
    web app's shutdown and at interpreter exit) flushes before it stops the thread.
    """

    def __init__(
        self,
        write_factory: sessionmaker[Session],
        *,
        retry_s: float = 0.5,
        idle_s: float = 10.0,
        linger_s: float = 0.05,
    ) -> None:
        self._factory = write_factory
        self._linger_s = linger_s
        self._urgent = False
        self._retry_s = retry_s
        self._idle_s = idle_s
        self._queue: list[dict[str, Any]] = []
        self._busy = False
        self._closed = False
        self._cv = threading.Condition()
        self._thread: threading.Thread | None = None

    def submit(self, events: list[dict[str, Any]]) -> None:
        """Queue events for the next batch."""
        if not events:
            return
        with self._cv:
            self._queue.extend(events)
            if self._closed:  # after close (e.g. a late CLI read): write now, in this thread
                batch, self._queue = self._queue, []
            else:
                batch = []
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._run, name="redif-audit-writer", daemon=True)
                    self._thread.start()
                self._cv.notify_all()
        if batch:
            self._write(batch)

    def _write(self, batch: list[dict[str, Any]]) -> None:
        with self._factory() as s:
            s.info["actor"] = "system"
            s.info["_audit_write"] = True
            s.info[DEFERRED_KEY] = batch
            try:
                s.commit()
            except BaseException:
                s.rollback()
                raise

    def _run(self) -> None:
        while True:
            with self._cv:
                if not self._queue and not self._closed:
                    self._cv.wait(timeout=self._idle_s)
                if not self._queue:  # closed, or idle: the thread ends (the next submit starts one)
                    self._thread = None
                    return
                deadline = time.monotonic() + self._linger_s  # gather more events: fewer transactions
                while not self._closed and not self._urgent and (left := deadline - time.monotonic()) > 0:
                    self._cv.wait(timeout=left)
                self._urgent = False
                batch, self._queue = self._queue, []
                self._busy = True
            try:
                self._write(batch)
            except Exception:
                log.exception("writing %d audit read events failed; retrying", len(batch))
                with self._cv:
                    self._queue[:0] = batch
                    self._busy = False
                    self._cv.notify_all()
                time.sleep(self._retry_s)
                continue
            with self._cv:
                self._busy = False
                self._cv.notify_all()

    def flush(self, timeout_s: float = 60.0) -> bool:
        """Wait until every queued event is committed; ``False`` when ``timeout_s`` ran out."""
        with self._cv:
            if self._queue and (self._thread is None or not self._thread.is_alive()):
                batch, self._queue = self._queue, []
            else:
                batch = []
                self._urgent = True  # no lingering: write what is queued now
                self._cv.notify_all()
        if batch:
            self._write(batch)
        with self._cv:
            return self._cv.wait_for(lambda: not self._queue and not self._busy, timeout=timeout_s)

    def close(self) -> None:
        """Flush and stop the background thread (later events are written synchronously)."""
        self.flush()
        with self._cv:
            self._closed = True
            self._cv.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout=60)
        self.flush()
