"""Individual-patient-data (IPD) analyses of the registry's analysis dataset across sites (issue 13).

- :mod:`redif.ipd.dataset`: the typed reader of the analysis CSV (one row per patient);
- :mod:`redif.ipd.pool`: pooled uptake and response, two-stage (the evidence engine's meta-analysis of
  per-site counts) or one-stage (logistic mixed model, random site intercept);
- :mod:`redif.ipd.published`: published arms of the evidence base as extra sites, never the same
  patients twice;
- :mod:`redif.ipd.survival`: Kaplan-Meier, log-rank and Cox (Efron) as R's survival package;
- :mod:`redif.ipd.plots`: the Kaplan-Meier plot with numbers at risk.

Pure functions on values (no database); the CLI (``redif ipd``), the web app and the federated
algorithm call them. See ``docs/ipd.md``.
"""

from redif.ipd.dataset import AnalysisRow, parse_analysis_csv, read_analysis_csv, rows_from_records
from redif.ipd.pool import IpdPoolResult, pool_ipd
from redif.ipd.survival import SurvivalResult, survival

__all__ = ["AnalysisRow", "IpdPoolResult", "SurvivalResult", "parse_analysis_csv", "pool_ipd",
           "read_analysis_csv", "rows_from_records", "survival"]
