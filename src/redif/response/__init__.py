"""redif.response: RECIST 1.1 and thyroglobulin kinetics after radioiodine.

Modules
-------
recist          RECIST 1.1 assessment of a case (public entry point; re-exports the pieces below)
rules           baseline checks and the RECIST 1.1 time-point tables, exact arithmetic
lesions         lesion / assessment / case model and its validation
bor             best overall response with / without confirmation (admiralonco semantics)
thyroglobulin   Tg doubling time / rate by least squares on ln(Tg), % change, TgAb and TSH flags
plots           sum of diameters over time, waterfall, Tg on a log axis (matplotlib, no pyplot state)
tables          reading the CSV rows of ``redif recist bor``
"""

from __future__ import annotations

__all__ = ["bor", "codes", "criteria", "lesions", "plots", "recist", "rules", "tables", "thyroglobulin"]
