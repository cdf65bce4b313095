"""An uploaded CSV file or Excel workbook -> a ``Sheet``: the columns in use and their cells.

Everything is read as text: ``00123``, ``1-2`` and ``2024/01/02`` stay exactly as typed.
Row numbers are the spreadsheet's (the header is row 1; a quoted line break does not start a
new row; blank lines count, as Excel shows them, but carry no data).
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import pandas as pd

from userbatch.directory.fields import ColumnSpec
from userbatch.errors import BadHeader, FileLimitExceeded, UnreadableFile
from userbatch.files.decode import csv_records, decode, sniff_delimiter, utf8_bytes
from userbatch.files.header import Header, map_header
from userbatch.files.rows import Rows, arrow_table, record_rows, table_rows
from userbatch.files.xlsx import is_workbook, workbook_csv
from userbatch.i18n import Text, Words


@dataclass
class Table:
    """A table of text cells to check: its columns and their labels, and the cells."""

    columns: list[ColumnSpec]  # the columns in use, in table order
    labels: list[str]  # their labels (a file's header labels as written)
    # One text column per column key; the index is the spreadsheet row number.
    cells: pd.DataFrame
    # Rows whose number of cells differs from the header's: row -> number of cells.
    widths: dict[int, int] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return len(self.cells)


@dataclass(kw_only=True)
class Sheet(Table):
    """An uploaded table: its columns and cells, and how it was read."""

    file_name: str
    sha256: str
    encoding: str  # a key of ``ENCODINGS``
    delimiter: str  # a key of ``DELIMITERS``; "" for a workbook
    notices: list[Words] = field(default_factory=list)


@dataclass
class _Read:
    """What reading a file found: how it was read, its header and its rows."""

    encoding: str
    delimiter: str
    header: Header
    rows: Rows


def read_sheet(
    data: bytes,
    *,
    file_name: str,
    columns: list[ColumnSpec],
    encoding: str | None = None,
    delimiter: str | None = None,
    max_bytes: int,
    max_rows: int,
    workbook_mb: int,
) -> Sheet:
    """Read an uploaded CSV or Excel file into a sheet of text cells; returns the sheet.

    ``columns`` are the columns in use; ``encoding`` and ``delimiter`` override detection.
    A workbook is read by a process held to ``workbook_mb`` MB (``files.xlsx``).
    Raises a ``CsvFileError`` subclass for a problem of the whole file.
    """
    if not data.strip():
        raise UnreadableFile.one("empty_file", Text("The file is empty."))
    if len(data) > max_bytes:
        raise FileLimitExceeded.one(
            "too_large",
            Text(
                "The file has {mb:.1f} MB; at most {max:.0f} MB can be uploaded. Split it "
                "into smaller files.",
                mb=len(data) / 2**20,
                max=max_bytes / 2**20,
            ),
        )
    if encoding == "xlsx" or (encoding is None and is_workbook(data)):
        text = workbook_csv(data, max_bytes=max_bytes, max_rows=max_rows, memory_mb=workbook_mb)
        read = _read_csv(text, columns, encoding="utf-8", delimiter=",", max_rows=max_rows)
        read.encoding, read.delimiter = "xlsx", ""
    else:
        read = _read_csv(data, columns, encoding=encoding, delimiter=delimiter, max_rows=max_rows)
    header, rows = read.header, read.rows
    if rows.filled_unused:
        raise BadHeader(
            [
                (
                    "unknown_column",
                    Text(
                        "The column '{label}' is not in use (see Input field settings), but "
                        "row {row} has a value in it. Clear or remove the column, or turn the "
                        "field on.",
                        label=label,
                        row=row,
                    ),
                )
                for label, row in rows.filled_unused.items()
            ]
        )
    for label in header.unused.values():
        header.notices.append(
            Text("The column '{label}' is not in use and was ignored.", label=label)
        )
    if rows.cells.empty:
        raise UnreadableFile.one("no_rows", Text("The file has a header but no rows of users."))
    return Sheet(
        file_name=file_name,
        sha256=hashlib.sha256(data).hexdigest(),
        encoding=read.encoding,
        delimiter=read.delimiter,
        columns=header.columns,
        labels=header.labels,
        cells=rows.cells,
        widths=rows.widths,
        notices=header.notices,
    )


def _read_csv(
    data: bytes,
    columns: list[ColumnSpec],
    *,
    encoding: str | None,
    delimiter: str | None,
    max_rows: int,
) -> _Read:
    decoded = decode(data, encoding)
    delimiter = delimiter or sniff_delimiter(decoded.text)
    first = _first_record(csv_records(decoded.text, delimiter))
    header = map_header(first, columns)
    # Arrow reads UTF-8 bytes: the upload's own when it is UTF-8. The decoded text goes
    # first, so that a large file is not held three times over.
    utf8, encoding = utf8_bytes(data, decoded), decoded.encoding
    del decoded
    table = arrow_table(utf8, delimiter, len(first))
    if table is not None:
        return _Read(encoding, delimiter, header, table_rows(table, header, max_rows))
    records = csv_records(data.decode(encoding), delimiter)
    next(records)
    return _Read(encoding, delimiter, header, record_rows(records, header, max_rows))


def _first_record(records: Iterator[list[str]]) -> list[str]:
    try:
        return next(records)
    except StopIteration:
        raise UnreadableFile.one("empty_file", Text("The file is empty.")) from None
    except csv.Error as exc:
        raise UnreadableFile.one(
            "unreadable", Text("The header row cannot be read: {reason}", reason=exc)
        ) from None
