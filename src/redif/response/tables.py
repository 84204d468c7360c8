"""Reading time-point responses from table rows (the CSV of ``redif recist bor``), with validation.

Columns: ``subject,treatment_start,date,response`` and optionally ``pd_date`` (admiralonco
``source_pd``). ``response`` is one of CR, PR, SD, NON-CR/NON-PD, PD, NE (case-insensitive). A subject
without any assessment has one row with empty ``date`` and ``response``. Within a subject, dates must be
strictly increasing in file order; rows of different subjects may interleave. Row numbers in messages are
file lines (the header is line 1).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date

from redif.response._problems import Problems, parse_date
from redif.response.bor import ResponseRecord, SubjectResponses
from redif.response.codes import OverallResponse

__all__ = ["BOR_COLUMNS", "subjects_from_rows"]

BOR_COLUMNS = ("subject", "treatment_start", "date", "response")
#: Accepted spellings (upper case): the model code (``NON_CR_NON_PD``) and the label (``NON-CR/NON-PD``).
_CODES = {spelling.upper(): code for code in OverallResponse for spelling in (code.value, code.label)}


def subjects_from_rows(
    rows: Iterable[Mapping[str, str | None]], columns: Sequence[str]
) -> list[SubjectResponses]:
    """Group CSV rows into :class:`~redif.response.bor.SubjectResponses`, in order of first appearance.

    Raises
    ------
    InputError
        One line per problem: a missing column, an empty subject, an unknown response code, a bad or
        missing date, a date without a response (or the reverse), a treatment start that differs between
        rows of one subject, a repeated or out-of-order date within a subject.
    """
    problems = Problems()
    cols = [c.strip().lower() for c in columns]
    for c in BOR_COLUMNS:
        if c not in cols:
            problems.add(
                f"missing column {c!r}",
                field=c,
                value=",".join(columns),
                remedy="the CSV needs columns subject,treatment_start,date,response",
            )
    problems.raise_if_any()
    order: list[str] = []
    starts: dict[str, date | None] = {}
    pd_dates: dict[str, date | None] = {}
    records: dict[str, list[ResponseRecord]] = {}
    for line, row in enumerate(rows, start=2):
        r = {str(k).strip().lower(): (v or "").strip() for k, v in row.items() if k is not None}
        if not any(r.values()):
            continue
        subject = r.get("subject", "")
        if not subject:
            problems.add("empty subject", field=f"row {line}, subject", remedy="give every row a subject id")
            continue
        if subject not in records:
            order.append(subject)
            records[subject] = []
            starts[subject] = None
            pd_dates[subject] = None
        start_raw = r.get("treatment_start", "")
        if start_raw:
            start = parse_date(start_raw, field=f"row {line}, treatment_start", problems=problems)
            if start is not None:
                if starts[subject] is not None and starts[subject] != start:
                    problems.add(
                        f"subject {subject}: treatment start differs from an earlier row ({starts[subject]})",
                        field=f"row {line}, treatment_start",
                        value=start_raw,
                        remedy="give one treatment start per subject",
                    )
                else:
                    starts[subject] = start
        pd_raw = r.get("pd_date", "")
        if pd_raw:
            pdd = parse_date(pd_raw, field=f"row {line}, pd_date", problems=problems)
            if pdd is not None:
                if pd_dates[subject] is not None and pd_dates[subject] != pdd:
                    problems.add(
                        f"subject {subject}: pd_date differs from an earlier row",
                        field=f"row {line}, pd_date",
                        value=pd_raw,
                        remedy="give one first-progression date per subject",
                    )
                else:
                    pd_dates[subject] = pdd
        date_raw, resp_raw = r.get("date", ""), r.get("response", "")
        if not date_raw and not resp_raw:
            continue  # a subject without assessment
        if not date_raw:
            problems.add(
                f"subject {subject}: response {resp_raw!r} without a date",
                field=f"row {line}, date",
                remedy="give the assessment date (YYYY-MM-DD), or leave both date and response empty",
            )
            continue
        code = _CODES.get(resp_raw.upper())
        if code is None:
            problems.add(
                "unknown response code"
                if resp_raw
                else f"subject {subject}: date {date_raw} without a response",
                field=f"row {line}, response",
                value=resp_raw or None,
                remedy="use one of " + ", ".join(code.label for code in OverallResponse),
            )
        when = parse_date(date_raw, field=f"row {line}, date", problems=problems)
        if when is None or code is None:
            continue
        prev = records[subject][-1].date if records[subject] else None
        if prev is not None and when <= prev:
            problems.add(
                f"subject {subject}: "
                + ("repeated date" if when == prev else f"dates out of order ({when} after {prev})"),
                field=f"row {line}, date",
                value=date_raw,
                remedy="one assessment per date, in increasing date order within each subject",
            )
            continue
        records[subject].append(ResponseRecord(when, code))
    for subject in order:
        if records[subject] and starts[subject] is None:
            problems.add(
                f"subject {subject}: no treatment start",
                field="treatment_start",
                remedy="give treatment_start (YYYY-MM-DD) on the subject's rows",
            )
    problems.raise_if_any()
    return [
        SubjectResponses(
            subject=s, treatment_start=starts[s], assessments=tuple(records[s]), pd_date=pd_dates[s]
        )
        for s in order
    ]
