"""The site's analysis dataset (issue 13 contract) read from a pandas DataFrame, with clear errors.

A node hands the algorithm its dataset as a DataFrame (vantage6 reads the node's CSV with
``pandas.read_csv``, so ``1``/``0``/empty arrive as ``1.0``/``0.0``/``NaN``); ``redif federated simulate``
reads the CSVs as text. Both forms are accepted. Every error names the file (``DataFrame.attrs["source"]``
when the runner set it, else "the node's dataset"), the patient, the column, the bad value and the fix.
No vantage6 import here: the module is plain pandas.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

__all__ = ["REQUIRED", "AlgorithmInputError", "column_values", "one_site", "source_name"]

#: The contract's columns (ANALYSIS_CONTRACT; the same order as ``redif registry export --format analysis``).
REQUIRED: tuple[str, ...] = (
    "patient", "site", "genotype", "uptake_restored", "uptake_definition", "objective_response",
    "response_denominator", "pfs_days", "pfs_event", "ttnt_days", "ttnt_event", "dor_days", "dor_event",
)


class AlgorithmInputError(ValueError):
    """Bad input at a site or in the task arguments: names the field, the value and the remedy.

    ``field`` is the task argument, or ``sites`` (the site datasets) for a bad cell. The message never
    carries patient values other than the offending cell and the patient's pseudonym, and it stays
    at the node in a real deployment (vantage6 returns a failed run, not the message, unless the node
    shares logs).
    """

    def __init__(self, message: str, *, field: str, value: Any = None, remedy: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.value = None if value is None else str(value)
        self.remedy = remedy

    def to_dict(self) -> dict[str, Any]:
        """JSON form used by the simulation runner."""
        return {"message": self.message, "field": self.field, "value": self.value, "remedy": self.remedy}


def source_name(df: pd.DataFrame) -> str:
    """The file the DataFrame came from (set by the runner), or a generic name at a node."""
    return str(df.attrs.get("source", "the node's dataset"))


def _text(v: Any) -> str:
    """A cell as stripped text; empty for missing (NaN/None); ``1.0`` -> ``1`` for whole floats."""
    if v is None:
        return ""
    if isinstance(v, float):
        if math.isnan(v):
            return ""
        if v.is_integer():
            return str(int(v))
        return repr(v)
    return str(v).strip()


def _check_columns(df: pd.DataFrame, columns: tuple[str, ...] | list[str]) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise AlgorithmInputError(
            f"{source_name(df)}: missing column(s) {', '.join(missing)}", field="sites",
            value=",".join(missing),
            remedy="write the site's file with `redif registry export --format analysis` (the analysis "
                   "dataset contract: patient, site, genotype, uptake_restored, ...)")


def _bad(df: pd.DataFrame, row: int, column: str, value: str, expected: str) -> AlgorithmInputError:
    patient = _text(df["patient"].iloc[row]) if "patient" in df.columns else "?"
    return AlgorithmInputError(
        f"{source_name(df)}: patient {patient} (data row {row + 1}), column {column}: bad value {value!r}",
        field="sites", value=value, remedy=f"{column} must be {expected}")


def column_values(df: pd.DataFrame, column: str, kind: str) -> list[Any]:
    """The values of ``column`` parsed as ``kind``: ``bool`` (1/0/empty -> True/False/None), ``days``
    (whole number >= 0 or empty -> int/None), ``number`` (finite float or empty) or ``text``.

    Raises
    ------
    AlgorithmInputError
        For a missing column or a bad cell (names file, patient, column, value).
    """
    _check_columns(df, ["patient", column])
    out: list[Any] = []
    for i, raw in enumerate(df[column].tolist()):
        t = _text(raw)
        if kind == "text":
            out.append(t)
        elif t == "":
            out.append(None)
        elif kind == "bool":
            if t not in ("0", "1"):
                raise _bad(df, i, column, t, "1, 0 or empty")
            out.append(t == "1")
        elif kind == "days":
            try:
                f = float(t)
            except ValueError:
                raise _bad(df, i, column, t, "a whole number of days >= 0, or empty") from None
            if not math.isfinite(f) or f < 0 or not f.is_integer():
                raise _bad(df, i, column, t, "a whole number of days >= 0, or empty")
            out.append(int(f))
        elif kind == "number":
            try:
                f = float(t)
            except ValueError:
                raise _bad(df, i, column, t, "a number, or empty") from None
            if not math.isfinite(f):
                raise _bad(df, i, column, t, "a finite number, or empty")
            out.append(f)
        else:  # pragma: no cover - programming error
            raise ValueError(kind)
    return out


def one_site(df: pd.DataFrame) -> str:
    """The site code of the dataset (a node holds one site's patients); an error when several or none.

    Also checks the contract's columns are all present, the patient pseudonyms are unique and, when a
    ``source`` column is present, that every row is a site row (``site`` or empty).
    """
    _check_columns(df, REQUIRED)
    patients = [_text(v) for v in df["patient"].tolist()]
    seen: set[str] = set()
    for i, p in enumerate(patients):
        if p == "":
            raise _bad(df, i, "patient", p, "a pseudonym (not empty)")
        if p in seen:
            raise _bad(df, i, "patient", p,
                       "unique within the file (a duplicated patient would be counted twice)")
        seen.add(p)
    if "source" in df.columns:
        for i, v in enumerate(df["source"].tolist()):
            if _text(v) not in ("", "site"):
                raise _bad(df, i, "source", _text(v),
                           "site or empty: a node's dataset holds its own patients, not published arms "
                           "(those are pooled centrally with `redif ipd pool`)")
    sites = sorted({_text(v) for v in df["site"].tolist()})
    if len(sites) != 1 or sites[0] == "":
        raise AlgorithmInputError(
            f"{source_name(df)}: column site holds {sites!r}; a node's dataset holds exactly one site",
            field="sites", value=",".join(sites),
            remedy="export one file per site (`redif registry export --format analysis` as a site user)")
    return sites[0]
