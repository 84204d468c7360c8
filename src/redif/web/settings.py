"""Settings of the web application (one frozen object, built by ``redif serve`` or the tests)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from redif.registry.auth import AuthSettings

__all__ = ["WebSettings"]


@dataclass(frozen=True)
class WebSettings:
    """Everything the app factory needs.

    Attributes
    ----------
    database_url
        SQLAlchemy URL of the registry (SQLite file or PostgreSQL).
    data_dir
        Where uploaded, de-identified DICOM series are stored (``<data_dir>/dicom/...``).
    secure_cookies
        Send cookies with ``Secure`` (set it whenever the app is served over HTTPS).
    max_upload_bytes
        Largest accepted request body (uploads included), bytes.
    max_unzipped_bytes, max_zip_ratio, max_zip_members
        Zip-bomb guards for zipped DICOM uploads: total uncompressed size, uncompressed/compressed ratio
        of any member and of the whole archive, number of members.
    max_dosimetry_bytes
        Memory limit of one voxel-dosimetry job (its estimated peak, bytes,
        :func:`redif.dosimetry.voxel_limits.plan_voxel_job`); larger jobs are refused with 422 before
        anything is stored or allocated. The default leaves room for about two concurrent jobs of the
        largest grid below on a server with 4 GB.
    max_dosimetry_voxels
        Largest PET grid (voxels per time point) the web app computes synchronously.
    demo
        The app serves a demo database (shows a banner on every page).
    """

    database_url: str
    data_dir: Path
    secure_cookies: bool = False
    max_upload_bytes: int = 512 * 1024 * 1024
    max_unzipped_bytes: int = 2 * 1024 * 1024 * 1024
    max_zip_ratio: float = 100.0
    max_zip_members: int = 5000
    max_dosimetry_bytes: int = 1024 * 1024 * 1024
    max_dosimetry_voxels: int = 4_000_000
    demo: bool = False
    auth: AuthSettings = field(default_factory=AuthSettings)
