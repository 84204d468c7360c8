"""redif's vantage6 4.x algorithm (issue 13): per-site aggregates and their central combination.

vantage6 calls the functions of this package by name (``PKG_NAME=redif_vantage6``); they are defined in
:mod:`redif_vantage6.functions`, the only module that imports vantage6.
"""

from redif_vantage6.functions import (
    central_counts,
    central_survival,
    partial_counts,
    partial_cox,
    partial_tables,
)

__all__ = ["central_counts", "central_survival", "partial_counts", "partial_cox", "partial_tables"]
