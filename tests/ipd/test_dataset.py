"""Issue 13: the typed reader of the analysis dataset (the contract's columns) and its errors, which name
the file, the data row, the patient and the column, the bad value and the fix.

Expected values: the contract (one row per patient; 1/0 flags; empty = missing; whole days) and the
first rows of ``data/sites.csv`` as written by ``data/make_synthetic.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from redif.errors import InputError
from redif.ipd.dataset import COLUMNS, parse_analysis_csv, read_analysis_csv

DATA = Path(__file__).parent / "data"
HEADER = ",".join(COLUMNS)
GOOD = "P1,A,BRAF V600E,1,diagnostic_scan,1,treated,300,1,400,0,200,1"


def test_reads_typed_rows_and_keeps_extra_columns() -> None:
    """Issue 13: typed values (bool/int/None) and extra columns (source, age_years) as text."""
    rows = read_analysis_csv(DATA / "sites.csv")
    assert len(rows) == 260 and len({r.site for r in rows}) == 6
    first = rows[0]
    assert (first.patient, first.site, first.genotype) == ("P0001", "A", "other")
    assert first.uptake_restored is True and first.uptake_definition == "diagnostic_scan"
    assert (first.pfs_days, first.pfs_event, first.dor_days, first.dor_event) == (566, True, 511, False)
    assert first.extra == {"source": "site", "age_years": "44"}
    second = rows[1]
    assert second.uptake_restored is None and second.uptake_definition is None and second.dor_days is None
    assert second.response_denominator == "itt" and second.objective_response is False


@pytest.mark.parametrize(("cells", "column", "bad"), [
    ({3: "yes"}, "uptake_restored", "yes"),
    ({4: "scan"}, "uptake_definition", "scan"),
    ({4: ""}, "uptake_definition", "without its definition"),
    ({6: "all"}, "response_denominator", "all"),
    ({7: "12.5"}, "pfs_days", "12.5"),
    ({7: "-3"}, "pfs_days", "-3"),
    ({8: ""}, "pfs_event", "together"),
    ({12: "2"}, "dor_event", "2"),
    ({1: ""}, "site", "empty site"),
    ({5: "1", 6: "itt"}, "objective_response", "itt-only"),
])
def test_bad_cell_names_file_row_patient_and_column(cells: dict[int, str], column: str, bad: str) -> None:
    """Issue 13: one bad cell -> InputError with field = the column, and the message naming the file, data
    row 2, patient P2, the column and the value."""
    parts = GOOD.replace("P1", "P2").split(",")
    for i, v in cells.items():
        parts[i] = v
    text = "\n".join([HEADER, GOOD, ",".join(parts)]) + "\n"
    with pytest.raises(InputError) as exc:
        parse_analysis_csv(text, name="site_b.csv")
    msg = str(exc.value)
    assert exc.value.field == column
    for part in ("site_b.csv", "data row 2", "'P2'", column, bad):
        assert part in msg, (part, msg)


def test_structure_errors() -> None:
    """Issue 13: missing column, duplicate patient, ragged row and an empty file are clear errors."""
    with pytest.raises(InputError, match=r"missing column.*pfs_days"):
        parse_analysis_csv(HEADER.replace(",pfs_days", "") + "\n", name="f.csv")
    with pytest.raises(InputError, match="duplicate patient") as exc:
        parse_analysis_csv("\n".join([HEADER, GOOD, GOOD]), name="f.csv")
    assert exc.value.field == "patient"
    with pytest.raises(InputError, match="fields but the header has"):
        parse_analysis_csv("\n".join([HEADER, GOOD + ",x"]), name="f.csv")
    with pytest.raises(InputError, match="no patients"):
        parse_analysis_csv(HEADER + "\n", name="f.csv")
    with pytest.raises(InputError, match="file not found"):
        read_analysis_csv(DATA / "no_such.csv")
