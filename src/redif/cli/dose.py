"""`redif dose` commands: kinetics, 124I->131I conversion, lesion and blood dosimetry, planning.

The voxel commands (`redif dose voxel`, `redif dose batch`) live in :mod:`redif.cli.dose_voxel` and
attach to :data:`dose_app`.
"""

from __future__ import annotations

import typer

dose_app = typer.Typer(help="Dosimetry: kinetics, lesion, blood, voxel, prescription.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the `dose` group to the root application."""
    app.add_typer(dose_app, name="dose")
