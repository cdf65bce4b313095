"""Bytes <-> sheet: decoding, delimiter sniffing, header mapping, and writing CSV files.

Everything is read as text: ``00123``, ``1-2`` and ``2024/01/02`` stay exactly as typed.
Row numbers are the spreadsheet's (the header is row 1; a quoted line break does not start a
new row; blank lines count, as Excel shows them, but carry no data).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import difflib
import hashlib
import io
import re
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
from pyarrow import csv as pa_csv

from userbatch.directory.fields import (
    STANDARD_LABELS,
    ColumnSpec,
    ignored_on_upload,
    normalize_label,
)
from userbatch.errors import (
    BadHeader,
    CsvFileError,
    FileLimitExceeded,
    PolicyError,
    UnreadableFile,
)

ENCODINGS = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 with BOM",
    "cp932": "Shift_JIS (CP932)",
    "utf-16": "UTF-16",
    "xlsx": "Excel workbook (.xlsx)",
}
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A header's unknown columns are named up to this many; the rest are counted.
MAX_COLUMNS_NAMED = 10
# A cell a download guarded: an apostrophe before a formula's first character.
_GUARDED = r"'[=+\-@\t\r]"
_XLSX_MAGIC = b"PK\x03\x04"
# A workbook may unpack to this many times the upload limit before it counts as a zip bomb.
_XLSX_EXPANSION = 10
_CONTROL = re.compile(r"[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]")
# A cell may be as long as a whole file; the rules of each column judge its length.
csv.field_size_limit(2**31 - 1)


@dataclass
class Sheet:
    """An uploaded table: its columns, its cells as text, and how it was read."""

    file_name: str
    sha256: str
    encoding: str
    delimiter: str
    columns: list[ColumnSpec]  # the file's columns in use, in file order
    labels: list[str]  # their header labels as written
    # One text column per column key; the index is the spreadsheet row number.
    cells: pd.DataFrame
    # Rows whose number of cells differs from the header's: row -> number of cells.
    widths: dict[int, int] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return len(self.cells)

    def label(self, key: str) -> str:
        """The header label the file uses for the column with this key."""
        for column, label in zip(self.columns, self.labels, strict=True):
            if column.key == key:
                return label
        raise KeyError(key)


def unguard(cell: str) -> str:
    """A cell as typed before a download guarded it against formula injection."""
    if len(cell) > 1 and cell[0] == "'" and cell[1] in _FORMULA_START:
        return cell[1:]
    return cell


def guard(cell: str) -> str:
    """A cell that a spreadsheet will not run as a formula."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def decode(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """The text and the encoding it was read with (detected unless given: the one a
    byte-order mark names, else the first of UTF-8 and CP932 that decodes every byte).

    Raises ``UnreadableFile`` when the bytes are no text in a supported encoding.
    """
    encoding = encoding or _bom_encoding(data)
    if encoding is None:
        for candidate in ("utf-8", "cp932"):
            try:
                return _text_table(data.decode(candidate), data), candidate
            except UnicodeDecodeError:
                continue
        raise UnreadableFile.one(
            "unreadable",
            "The file is not text in UTF-8, Shift_JIS (CP932) or UTF-16, nor an Excel workbook.",
        )
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        name = ENCODINGS.get(encoding, encoding)
        raise UnreadableFile.one(
            "unreadable",
            f"The file cannot be read as {name}: byte 0x{data[exc.start]:02x} at position "
            f"{exc.start} does not fit. Choose another encoding, or save the file as UTF-8.",
        ) from None
    return _text_table(text, data), encoding


def _bom_encoding(data: bytes) -> str | None:
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return None


def _text_table(text: str, data: bytes) -> str:
    """``text``, unless it holds NUL bytes or binary data (raises ``UnreadableFile``)."""
    if "\x00" in text:
        hint = (
            "It looks like UTF-16 without a byte-order mark: save it as UTF-8 (CSV UTF-8 in Excel)."
            if data[1::2].count(0) > len(data) // 4 or data[0::2].count(0) > len(data) // 4
            else "Is it really a CSV file?"
        )
        raise UnreadableFile.one("unreadable", f"The file contains NUL bytes. {hint}")
    if len(_CONTROL.findall(text[:100_000])) > max(10, len(text[:100_000]) // 100):
        raise UnreadableFile.one(
            "unreadable", "The file is not a text table (it holds binary data)."
        )
    return text


def sniff_delimiter(text: str) -> str:
    """Comma, semicolon or tab: whichever splits the header line into the most cells."""
    first_line = re.split(r"\r\n|\r|\n", text.lstrip("\ufeff"), maxsplit=1)[0]
    counts = {}
    for delimiter in DELIMITERS:
        try:
            counts[delimiter] = len(next(csv.reader([first_line], delimiter=delimiter), []))
        except csv.Error:
            counts[delimiter] = 0
    best = max(counts, key=lambda delimiter: counts[delimiter])
    return best if counts[best] > 1 else ","


# A line with its end: CR LF, CR or LF (as open(newline="") splits, nothing else).
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def _csv_records(text: str, delimiter: str) -> Iterator[list[str]]:
    # Lines are handed to the reader one at a time: a StringIO would hold the whole text
    # again, at four bytes a character.
    start = 0
    while text.startswith("\ufeff", start):
        start += 1
    lines = (line.group() for line in _LINE.finditer(text, start))
    yield from csv.reader(lines, delimiter=delimiter)


def _xlsx_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ") if value.time() != dt.time() else value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _check_unpacked_size(data: bytes, limit: int) -> None:
    """Refuse a workbook that unpacks to more than ``limit`` bytes (a zip bomb) or is
    damaged. The members are unpacked here, a megabyte at a time, and counted: sizes written
    in the archive can lie."""
    too_large = FileLimitExceeded.one(
        "too_large", f"The workbook unpacks to more than {limit / 2**20:.0f} MB, which is more "
        "than can be read.",
    )  # fmt: skip
    unpacked = 0
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > limit:
                raise too_large
            for info in archive.infolist():
                with archive.open(info) as member:
                    while chunk := member.read(2**20):
                        unpacked += len(chunk)
                        if unpacked > limit:
                            raise too_large
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, zlib.error):
        raise UnreadableFile.one("unreadable", "The Excel workbook is damaged.") from None


def _xlsx_records(data: bytes, max_bytes: int) -> Iterator[list[str]]:
    from python_calamine import CalamineError, CalamineWorkbook

    _check_unpacked_size(data, max_bytes * _XLSX_EXPANSION)
    try:
        sheet = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0)
        rows = sheet.to_python(skip_empty_area=False)
    except (CalamineError, ValueError, IndexError) as exc:
        raise UnreadableFile.one(
            "unreadable", f"The Excel workbook cannot be read: {exc}"
        ) from None
    first_row = sheet.start[0] if sheet.start else 0
    yield from ([] for _ in range(first_row))  # leading empty rows keep the numbering
    for row in rows:
        yield [_xlsx_cell(value) for value in row]


@dataclass
class _Header:
    columns: list[ColumnSpec]
    labels: list[str]
    positions: list[int]  # cell index of each used column
    width: int  # cells up to the last labelled one
    notices: list[str]
    # Columns of standard fields that are switched off: allowed while their cells are blank.
    unused: dict[int, str] = field(default_factory=dict)


def _map_header(header: list[str], columns: list[ColumnSpec]) -> _Header:
    labels = [cell.strip() for cell in header]
    width = max((i + 1 for i, label in enumerate(labels) if label), default=0)
    known = {normalize_label(label): column for column in columns for label in column.labels}
    ignored = {normalize_label(label) for label in ignored_on_upload()}
    in_use = {column.key for column in columns}
    not_in_use = {
        normalize_label(label): english
        for key, (english, japanese) in STANDARD_LABELS.items()
        if key not in in_use
        for label in (english, japanese)
    }
    suggestions = [label for column in columns for label in column.labels]

    problems: list[tuple[str, str]] = []
    unknown = 0  # columns no field has; the first ones are named
    used: _Header = _Header([], [], [], width, [])
    seen: dict[str, str] = {}
    ignored_found = []
    for position, label in enumerate(labels[:width]):
        name = normalize_label(label)
        if not label or (name not in known and name not in ignored and name not in not_in_use):
            unknown += 1
            if unknown <= MAX_COLUMNS_NAMED:
                problems.append(("unknown_column", _unknown_column(position, label, suggestions)))
        elif name in known:
            column = known[name]
            if column.key in seen:
                problems.append(
                    (
                        "duplicate_column",
                        f"The column '{label}' appears twice (also as '{seen[column.key]}'). "
                        "Keep one of them.",
                    )
                )
                continue
            seen[column.key] = label
            used.columns.append(column)
            used.labels.append(label)
            used.positions.append(position)
        elif name in ignored:
            ignored_found.append(label)
        else:
            used.unused[position] = label
    if unknown > MAX_COLUMNS_NAMED:
        problems.append((
            "unknown_column",
            f"And {unknown - MAX_COLUMNS_NAMED:,} more columns are unknown or have no header.",
        ))  # fmt: skip
    for column in columns:
        if column.required and column.key not in seen:
            problems.append(("missing_column", f"The required column '{column.label}' is missing."))
    if problems:
        raise BadHeader(problems)
    if ignored_found:
        used.notices.append(
            f"{' and '.join(ignored_found)} {'is' if len(ignored_found) == 1 else 'are'} "
            "not imported; the values in "
            f"{'that column' if len(ignored_found) == 1 else 'those columns'} are ignored."
        )
    return used


def _unknown_column(position: int, label: str, suggestions: list[str]) -> str:
    if not label:
        return f"Column {position + 1} has no header. Name it or delete it."
    close = difflib.get_close_matches(label, suggestions, n=1, cutoff=0.6)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    return f"The column '{label[:100]}' is unknown.{hint}"


def read_sheet(
    data: bytes,
    *,
    file_name: str,
    columns: list[ColumnSpec],
    encoding: str | None = None,
    delimiter: str | None = None,
    max_bytes: int,
    max_rows: int,
) -> Sheet:
    """Read an uploaded CSV or Excel file into a sheet of text cells.

    ``columns`` are the columns in use; ``encoding`` and ``delimiter`` override detection.
    Raises a ``CsvFileError`` subclass for a problem of the whole file.
    """
    if not data.strip():
        raise UnreadableFile.one("empty_file", "The file is empty.")
    if len(data) > max_bytes:
        raise FileLimitExceeded.one(
            "too_large",
            f"The file has {len(data) / 2**20:.1f} MB; at most {max_bytes / 2**20:.0f} MB can "
            "be uploaded. Split it into smaller files.",
        )
    if encoding == "xlsx" or (encoding is None and data.startswith(_XLSX_MAGIC)):
        encoding, delimiter = "xlsx", ""
        records = _xlsx_records(data, max_bytes)
        header = _first_record(records)
        mapped = _map_header(header, columns)
        frame, widths, filled_unused = _data_rows(records, mapped, max_rows)
    else:
        text, encoding = decode(data, encoding)
        delimiter = delimiter or sniff_delimiter(text)
        header = _first_record(_csv_records(text, delimiter))
        mapped = _map_header(header, columns)
        # Arrow reads UTF-8 bytes: the upload's own when it is UTF-8. The decoded text goes
        # first, so that a large file is not held three times over.
        utf8 = _utf8(data, encoding, text)
        del text
        table = _arrow_table(utf8, delimiter, len(header))
        if table is not None:
            frame, widths, filled_unused = _table_rows(table, mapped, max_rows)
        else:
            records = _csv_records(data.decode(encoding), delimiter)
            next(records)
            frame, widths, filled_unused = _data_rows(records, mapped, max_rows)
    if filled_unused:
        raise BadHeader(
            [
                (
                    "unknown_column",
                    f"The column '{label}' is not in use (see Input field settings), but row "
                    f"{row} has a value in it. Clear or remove the column, or turn the field on.",
                )
                for label, row in filled_unused.items()
            ]
        )
    for label in mapped.unused.values():
        mapped.notices.append(f"The column '{label}' is not in use and was ignored.")
    if frame.empty:
        raise UnreadableFile.one("no_rows", "The file has a header but no rows of users.")
    return Sheet(
        file_name=file_name,
        sha256=hashlib.sha256(data).hexdigest(),
        encoding=encoding,
        delimiter=delimiter,
        columns=mapped.columns,
        labels=mapped.labels,
        cells=frame,
        widths=widths,
        notices=mapped.notices,
    )


def _first_record(records: Iterator[list[str]]) -> list[str]:
    try:
        return next(records)
    except StopIteration:
        raise UnreadableFile.one("empty_file", "The file is empty.") from None
    except csv.Error as exc:
        raise UnreadableFile.one("unreadable", f"The header row cannot be read: {exc}") from None


def _utf8(data: bytes, encoding: str, text: str) -> bytes | memoryview:
    """The file as UTF-8 bytes without a byte-order mark."""
    if encoding == "utf-8":
        return data
    if encoding == "utf-8-sig" and data.startswith(codecs.BOM_UTF8):
        return memoryview(data)[len(codecs.BOM_UTF8) :]
    return text.lstrip("\ufeff").encode()


def _arrow_table(utf8: bytes | memoryview, delimiter: str, width: int) -> pa.Table | None:
    """The rows of the file, header first, as a table of text read by Arrow (~50× faster
    than the csv module, with the same reading of quotes); None when a row has another
    number of cells than the header (a blank line and a quote never closed too): the csv
    module then reads the file and says what is wrong."""
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


def _table_rows(
    table: pa.Table, header: _Header, max_rows: int
) -> tuple[pd.DataFrame, dict[int, int], dict[str, int]]:
    """What ``_data_rows`` finds, from an Arrow table of rows that all have the header's
    number of cells, a column at a time."""
    text = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas' own str
    raw = table.slice(1).to_pandas(types_mapper={pa.string(): text}.get)
    raw.index = pd.RangeIndex(2, 2 + len(raw), name="row")
    stripped = pd.DataFrame({name: raw[name].str.strip() for name in raw.columns})
    filled = stripped != ""
    kept = filled.any(axis=1)
    if not kept.all():  # blank rows
        raw, stripped, filled = raw[kept], stripped[kept], filled[kept]
    if len(raw) > max_rows:
        raise _too_many_rows(max_rows)
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
        guarded = cells.str.startswith("'") & cells.str.match(_GUARDED)
        if guarded.any():
            frame[column.key] = cells.where(~guarded, cells.str.slice(1)).str.strip()
        else:
            frame[column.key] = stripped.iloc[:, position]
    return frame.astype(str), widths, filled_unused


def _too_many_rows(max_rows: int) -> CsvFileError:
    return FileLimitExceeded.one(
        "too_many_rows",
        f"The file has more than {max_rows:,} rows of users; split it into smaller files.",
    )


def _data_rows(
    records: Iterator[list[str]], header: _Header, max_rows: int
) -> tuple[pd.DataFrame, dict[int, int], dict[str, int]]:
    """The non-blank rows as text cells by column key, indexed by row number; the rows of
    another width; and for each switched-off column the first row with a value in it."""
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
                raise _too_many_rows(max_rows)
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
        raise UnreadableFile.one("unreadable", f"Row {number + 1} cannot be read: {exc}.") from None
    keys = [column.key for column in header.columns]
    numbers = pd.Index([number for number, _ in rows], dtype="int64", name="row")
    frame = pd.DataFrame([cells for _, cells in rows], columns=keys, index=numbers, dtype=str)
    return frame, widths, filled_unused


def download_encoding(upload_encoding: str) -> str:
    """The encoding a file sent back to the operator uses: the uploaded one (UTF-8 with BOM
    for a workbook, which Excel opens correctly)."""
    return "utf-8-sig" if upload_encoding == "xlsx" else upload_encoding


def write_table(header: list[str], rows: Iterable[list[str]], *, encoding: str) -> bytes:
    """A CSV file (CRLF line ends, every cell guarded against formulas) in ``encoding``.

    Raises ``PolicyError`` naming the first cell that ``encoding`` cannot hold.
    """
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([guard(cell) for cell in row] for row in rows)
    text = buffer.getvalue()
    try:
        return text.encode(encoding)
    except UnicodeEncodeError as exc:
        line = text.count("\n", 0, exc.start) + 1
        raise PolicyError(
            f"Row {line} holds '{text[exc.start : exc.end]}', which "
            f"{ENCODINGS.get(encoding, encoding)} cannot store; download as UTF-8 instead."
        ) from None
