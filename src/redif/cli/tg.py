"""`redif tg` commands (under construction in this development branch)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the `tg` commands to the root application."""
