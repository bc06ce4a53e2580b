"""CSV files the admin hands out: cells a spreadsheet will not run, and rows streamed as they
are read, so a list of 100,000 readers never sits in memory at once.

In accounts, the lowest app that writes CSV, so the apps above (newsletter's segments, polls'
results, integrations' export page) share one rule instead of each keeping a copy.
"""

import csv
from collections.abc import Iterable

from django.http import StreamingHttpResponse

# A cell starting with one of these is read as a formula by spreadsheets (CSV injection).
FORMULA_STARTS = frozenset({"=", "+", "-", "@", "\t", "\r"})


def csv_safe(value) -> str:
    """Return value as a CSV cell a spreadsheet will not run as a formula (None: empty)."""
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in FORMULA_STARTS else text


class _Echo:
    """A file-like object whose write() returns the line, so csv.writer yields text."""

    def write(self, value):
        return value


def streaming_csv(rows: Iterable[list], filename: str) -> StreamingHttpResponse:
    """Return a download of rows as CSV, written line by line as the iterator yields them.

    The rows must already be safe (csv_safe); this only writes them."""
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
