"""`redif dose voxel` and `redif dose batch` (attached to the `dose` group)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Attach the voxel commands to :data:`redif.cli.dose.dose_app`."""
