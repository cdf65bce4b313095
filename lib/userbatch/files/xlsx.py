"""Excel workbooks: the guard against zip bombs, and the first sheet read as text records.

A workbook's cells are written as a person reads them in Excel: whole numbers without
``.0``, dates as ``YYYY-MM-DD``, booleans as ``TRUE``/``FALSE``, empty cells as ``""``.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
import zlib
from collections.abc import Iterator

from userbatch.errors import FileLimitExceeded, UnreadableFile

_XLSX_MAGIC = b"PK\x03\x04"
# A workbook may unpack to this many times the upload limit before it counts as a zip bomb.
_XLSX_EXPANSION = 10


def is_workbook(data: bytes) -> bool:
    """Whether ``data`` starts as a zip archive does (an .xlsx file is one)."""
    return data.startswith(_XLSX_MAGIC)


def check_unpacked_size(data: bytes, limit: int) -> None:
    """Refuse a workbook that unpacks to more than ``limit`` bytes (a zip bomb) or is
    damaged. The members are unpacked here, a megabyte at a time, and counted: sizes written
    in the archive can lie.

    Raises ``FileLimitExceeded`` for a zip bomb, ``UnreadableFile`` for a damaged archive.
    """
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


def xlsx_records(data: bytes, max_bytes: int) -> Iterator[list[str]]:
    """The rows of the workbook's first sheet, header first, each a list of text cells;
    leading empty rows are yielded as empty lists, so that the numbering stays Excel's.

    Raises (when first iterated) ``FileLimitExceeded`` when the workbook unpacks to more
    than ten times ``max_bytes``, ``UnreadableFile`` when it cannot be read.
    """
    from python_calamine import CalamineError, CalamineWorkbook

    check_unpacked_size(data, max_bytes * _XLSX_EXPANSION)
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
