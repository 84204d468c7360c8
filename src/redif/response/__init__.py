"""redif.response: RECIST 1.1 and thyroglobulin kinetics after radioiodine.

Modules
-------
recist          lesion model, baseline checks, time-point response (RECIST 1.1 Tables 1-2), exact arithmetic
bor             best overall response with / without confirmation (admiralonco semantics)
thyroglobulin   Tg doubling time / rate by least squares on ln(Tg), % change, TgAb and TSH flags
plots           sum of diameters over time, waterfall, Tg on a log axis (matplotlib, no pyplot state)
tables          reading the CSV rows of ``redif recist bor``
"""

from __future__ import annotations

__all__ = ["bor", "codes", "criteria", "lesions", "recist", "tables", "thyroglobulin"]
