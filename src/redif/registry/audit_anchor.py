"""The audit trail's secrets and anchor outside the database: the chain key and the checkpoint file.

Key
---
The chain is keyed (HMAC-SHA256) with a secret that the database never holds: the environment variable
``REDIF_AUDIT_KEY`` (hex, at least 32 bytes), else the file ``<data_dir>/audit.key`` (hex), created on
first use with owner-only permissions (``0600``). A key file readable or writable by group or others is
refused with :class:`redif.errors.InputError` naming the file, its mode and the ``chmod`` that fixes it.
Each database's chain uses its own key derived from the master key and the database's chain id
(``registry_meta`` entry ``audit_chain_id``), so that changing the chain id breaks every keyed event.

Checkpoint file
---------------
After every commit that appended audit events, one line is appended to ``<data_dir>/audit.checkpoints``
and fsynced::

    <database label> <chain id> <keyed-from seq> <seq> <hash of event seq> <HMAC of the line>

``seq`` and the hash are those of the last event of the transaction. :func:`redif.registry.audit.verify`
checks that every checkpointed event is still in the database with the same hash: deleting events (even
the last one) or recomputing the chain is found, since the file is outside the database and its lines
carry a MAC that cannot be made without the key. Lines of several databases (e.g. ``redif.sqlite`` and
``redif-demo.sqlite``) may share a file; each names its database and chain.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import stat
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL

from redif.errors import InputError

__all__ = [
    "CHECKPOINT_FILE",
    "ENV_KEY",
    "KEY_FILE",
    "AuditKeyring",
    "Checkpoint",
    "database_label",
]

#: Environment variable holding the master key (hex); takes precedence over the key file.
ENV_KEY = "REDIF_AUDIT_KEY"
#: Name of the key file in the data directory.
KEY_FILE = "audit.key"
#: Name of the append-only checkpoint file in the data directory.
CHECKPOINT_FILE = "audit.checkpoints"
_MIN_KEY_BYTES = 32
_HEX = re.compile(r"^[0-9a-fA-F]+$")


def database_label(url: URL) -> str:
    """A short, stable name of the database for checkpoint lines (file name, or host:port/dbname)."""
    if url.get_backend_name() == "sqlite":
        return Path(url.database or "memory").name or "memory"
    return f"{url.host or 'local'}:{url.port or 5432}/{url.database or ''}"


def _parse_key(text: str, *, source: str) -> bytes:
    value = text.strip()
    if not _HEX.match(value) or len(value) % 2 or len(value) < 2 * _MIN_KEY_BYTES:
        raise InputError(
            "audit key is not hex of at least 32 bytes",
            field=source,
            value=f"{len(value)} characters",
            remedy="use 64 hex digits, e.g. from `python -c 'import secrets; print(secrets.token_hex(32))'`",
        )
    return bytes.fromhex(value)


@dataclass(frozen=True)
class Checkpoint:
    """One line of the checkpoint file."""

    line_no: int
    label: str
    chain_id: str
    keyed_from: int
    seq: int
    head: str
    mac_ok: bool


class AuditKeyring:
    """The master key and checkpoint file of one database (built by :func:`redif.registry.db.open_database`).

    Parameters
    ----------
    data_dir
        Where ``audit.key`` and ``audit.checkpoints`` live (``None``: no checkpoint file, key only from
        ``REDIF_AUDIT_KEY``).
    label
        The database's name in checkpoint lines (:func:`database_label`).
    """

    def __init__(self, data_dir: Path | None, label: str) -> None:
        self.data_dir = data_dir
        self.label = label
        self._key: bytes | None = None
        self._lock = threading.Lock()
        #: The database's chain markers once read from a committed transaction (set by the audit module).
        self.chain_cache: Any = None

    @property
    def key_path(self) -> Path | None:
        """The key file (``None`` without a data directory)."""
        return None if self.data_dir is None else self.data_dir / KEY_FILE

    @property
    def checkpoint_path(self) -> Path | None:
        """The checkpoint file (``None`` without a data directory)."""
        return None if self.data_dir is None else self.data_dir / CHECKPOINT_FILE

    def master_key(self, *, create: bool = True) -> bytes | None:
        """The master key: ``REDIF_AUDIT_KEY``, else the key file (created when ``create``).

        Returns ``None`` only when ``create`` is false and no key exists.

        Raises
        ------
        InputError
            For a malformed key, a key file with permissions wider than owner-only, or no data directory
            and no ``REDIF_AUDIT_KEY`` when a key must be created.
        """
        with self._lock:
            if self._key is not None:
                return self._key
            env = os.environ.get(ENV_KEY)
            if env:
                self._key = _parse_key(env, source=ENV_KEY)
                return self._key
            path = self.key_path
            if path is None:
                if not create:
                    return None
                raise InputError(
                    "no place for the audit key",
                    field=ENV_KEY,
                    remedy=f"set {ENV_KEY} (64 hex digits) or open the database with a data directory",
                )
            if not path.exists():
                if not create:
                    return None
                self._create_key_file(path)
            self._key = self._read_key_file(path)
            return self._key

    @staticmethod
    def _create_key_file(path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first
            return
        try:
            os.write(fd, (secrets.token_hex(_MIN_KEY_BYTES) + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    @staticmethod
    def _read_key_file(path: Path) -> bytes:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise InputError(
                "audit key file is accessible to other users",
                field=str(path),
                value=f"mode {mode:04o}",
                remedy=f"chmod 600 {path}",
            )
        return _parse_key(path.read_text(), source=str(path))

    def chain_key(self, chain_id: str, *, create: bool = True) -> bytes | None:
        """The HMAC key of one chain (derived from the master key and the chain id)."""
        master = self.master_key(create=create)
        if master is None:
            return None
        return hmac.new(master, b"redif-audit-chain|" + chain_id.encode(), hashlib.sha256).digest()

    def _line_mac(
        self, master: bytes, label: str, chain_id: str, keyed_from: int, seq: int, head: str
    ) -> str:
        msg = f"redif-audit-checkpoint|{label}|{chain_id}|{keyed_from}|{seq}|{head}".encode()
        return hmac.new(master, msg, hashlib.sha256).hexdigest()

    def append_checkpoint(self, chain_id: str, keyed_from: int, seq: int, head: str) -> None:
        """Append and fsync one checkpoint line (a no-op without a data directory)."""
        path = self.checkpoint_path
        if path is None:
            return
        master = self.master_key()
        assert master is not None
        mac = self._line_mac(master, self.label, chain_id, keyed_from, seq, head)
        line = f"{self.label} {chain_id} {keyed_from} {seq} {head} {mac}\n".encode()
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)  # one write(2) of < PIPE_BUF bytes with O_APPEND: lines never interleave
            os.fsync(fd)
        finally:
            os.close(fd)

    def checkpoints(self, chain_id: str | None = None, *, every: bool = False) -> list[Checkpoint]:
        """Lines of this database (its label) or chain (its id), or ``every`` line, with whether each
        line's MAC holds."""
        path = self.checkpoint_path
        if path is None or not path.exists():
            return []
        master = self.master_key(create=False)
        out = []
        with path.open(encoding="ascii", errors="replace") as fh:
            for no, raw in enumerate(fh, start=1):
                parts = raw.split()
                if len(parts) != 6:
                    continue
                label, cid, kf, seq, head, mac = parts
                if not every and label != self.label and cid != chain_id:
                    continue
                try:
                    kf_i, seq_i = int(kf), int(seq)
                except ValueError:
                    out.append(Checkpoint(no, label, cid, 0, 0, head, False))
                    continue
                ok = master is not None and hmac.compare_digest(
                    mac, self._line_mac(master, label, cid, kf_i, seq_i, head)
                )
                out.append(Checkpoint(no, label, cid, kf_i, seq_i, head, ok))
        return out
