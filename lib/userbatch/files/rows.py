"""The rows below the header -> text cells by column key, indexed by spreadsheet row number.

Two readers give the same ``Rows`` for any file: Arrow, a column at a time (~50× faster than
the csv module, with the same reading of quotes), when every row has the header's number of
cells; else the csv module's records, a row at a time. Blank rows count in the numbering but
carry no data; cells are trimmed, and the apostrophe a download put before a formula is taken
off.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
from pyarrow import csv as pa_csv

from userbatch.errors import FileLimitExceeded, UnreadableFile
from userbatch.files.download import GUARDED, unguard
from userbatch.files.header import Header
from userbatch.i18n import Text


@dataclass
class Rows:
    """The non-blank rows of a file below its header."""

    # One text column per column key in use; the index is the spreadsheet row number.
    cells: pd.DataFrame
    # Rows whose number of cells differs from the header's: row -> number of cells.
    widths: dict[int, int]
    # For each switched-off column with a value: its label -> the first row with one.
    filled_unused: dict[str, int]


def arrow_table(utf8: bytes | memoryview, delimiter: str, width: int) -> pa.Table | None:
    """The rows of the file (UTF-8 bytes), header first, as a table of ``width`` text
    columns read by Arrow; None when a row has another number of cells than the header (a
    blank line and a quote never closed too): the csv module then reads the file and says
    what is wrong."""
    uneven = False

    def other_width(row: object) -> str:
        nonlocal uneven
        uneven = True
        return "skip"

    names = [f"c{position}" for position in range(width)]
    try:
        table = pa_csv.read_csv(
            pa.BufferReader(utf8),
            read_options=pa_csv.ReadOptions(column_names=names, block_size=1 << 24),
            parse_options=pa_csv.ParseOptions(
                delimiter=delimiter, quote_char='"', double_quote=True,
                newlines_in_values=True, ignore_empty_lines=False,
                invalid_row_handler=other_width,
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False
            ),
        )  # fmt: skip
    except pa.ArrowInvalid:
        return None
    return None if uneven else table


def table_rows(table: pa.Table, header: Header, max_rows: int) -> Rows:
    """The rows of an Arrow table (header first) whose rows all have the header's number of
    cells, read a column at a time.

    Raises ``FileLimitExceeded`` for more than ``max_rows`` non-blank rows.
    """
    text = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas' own str
    raw = table.slice(1).to_pandas(types_mapper={pa.string(): text}.get)
    raw.index = pd.RangeIndex(2, 2 + len(raw), name="row")
    stripped = pd.DataFrame({name: raw[name].str.strip() for name in raw.columns})
    filled = stripped != ""
    kept = filled.any(axis=1)
    if not kept.all():  # blank rows
        raw, stripped, filled = raw[kept], stripped[kept], filled[kept]
    if len(raw) > max_rows:
        raise FileLimitExceeded.rows(max_rows)
    widths: dict[int, int] = {}
    beyond = filled.iloc[:, header.width :]
    for number, cells in beyond[beyond.any(axis=1)].iterrows():
        widths[int(number)] = header.width + int(np.flatnonzero(cells.to_numpy())[-1]) + 1
    filled_unused = {}
    for position, label in header.unused.items():
        rows = filled.index[filled.iloc[:, position]]
        if len(rows):
            filled_unused[label] = int(rows[0])
    frame = pd.DataFrame(index=raw.index)
    for column, position in zip(header.columns, header.positions, strict=True):
        cells = raw.iloc[:, position]
        guarded = cells.str.startswith("'") & cells.str.match(GUARDED)
        if guarded.any():
            frame[column.key] = cells.where(~guarded, cells.str.slice(1)).str.strip()
        else:
            frame[column.key] = stripped.iloc[:, position]
    return Rows(frame.astype(str), widths, filled_unused)


def record_rows(records: Iterator[list[str]], header: Header, max_rows: int) -> Rows:
    """The rows of ``records`` (the records after the header, the first being row 2), read
    a row at a time.

    Raises ``FileLimitExceeded`` for more than ``max_rows`` non-blank rows,
    ``UnreadableFile`` for a record the csv module cannot read.
    """
    rows: list[tuple[int, list[str]]] = []
    widths: dict[int, int] = {}
    filled_unused: dict[str, int] = {}
    positions = header.positions
    number = 1
    try:
        for number, record in enumerate(records, start=2):
            if not any(cell.strip() for cell in record):
                continue
            if len(rows) == max_rows:
                raise FileLimitExceeded.rows(max_rows)
            filled = len(record)
            while filled > header.width and not record[filled - 1].strip():
                filled -= 1
            if filled != header.width:
                widths[number] = filled
            for position, label in header.unused.items():
                if position < len(record) and record[position].strip():
                    filled_unused.setdefault(label, number)
            rows.append(
                (
                    number,
                    [unguard(record[p]).strip() if p < len(record) else "" for p in positions],
                )
            )
    except csv.Error as exc:
        raise UnreadableFile.one(
            "unreadable", Text("Row {row} cannot be read: {reason}.", row=number + 1, reason=exc)
        ) from None
    keys = [column.key for column in header.columns]
    numbers = pd.Index([number for number, _ in rows], dtype="int64", name="row")
    frame = pd.DataFrame([cells for _, cells in rows], columns=keys, index=numbers, dtype=str)
    return Rows(frame, widths, filled_unused)
