"""Files sent back to the operator: CSV writing, its encoding, and the formula guard.

A download uses the uploaded file's encoding (``download_encoding``); ``write_download``
falls back to UTF-8 when that encoding cannot hold a cell, ``write_table`` refuses instead.

A cell that starts like a formula (``=``, ``+``, ``-``, ``@``, a tab or a carriage return)
is written with an apostrophe before it, so that a spreadsheet shows it instead of running
it; reading an upload takes that apostrophe off again (``unguard``), so a downloaded file
uploads unchanged.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from userbatch.errors import Invalid
from userbatch.files.decode import ENCODINGS
from userbatch.i18n import Text

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A cell a download guarded: an apostrophe before a formula's first character.
GUARDED = r"'[=+\-@\t\r]"


def guard(cell: str) -> str:
    """The cell with an apostrophe before it when it starts like a formula, so that a
    spreadsheet will not run it; other cells as they are."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def unguard(cell: str) -> str:
    """The cell as typed before a download guarded it against formula injection."""
    if len(cell) > 1 and cell[0] == "'" and cell[1] in _FORMULA_START:
        return cell[1:]
    return cell


def download_encoding(upload_encoding: str) -> str:
    """The encoding a file sent back to the operator uses: the uploaded one (UTF-8 with BOM
    for a workbook, which Excel opens correctly)."""
    return "utf-8-sig" if upload_encoding == "xlsx" else upload_encoding


def write_download(
    header: list[str], rows: Iterable[list[str]], *, upload_encoding: str
) -> tuple[bytes, str]:
    """A CSV file (as ``write_table`` writes it) in the encoding of the upload it answers, or
    in UTF-8 with BOM when that encoding cannot hold one of its cells; returns the file and
    the encoding it is in."""
    rows = list(rows)
    encoding = download_encoding(upload_encoding)
    try:
        return write_table(header, rows, encoding=encoding), encoding
    except Invalid:
        return write_table(header, rows, encoding="utf-8-sig"), "utf-8-sig"


def write_table(header: list[str], rows: Iterable[list[str]], *, encoding: str) -> bytes:
    """A CSV file (CRLF line ends, every cell guarded against formulas) in ``encoding``.

    Raises a ``UserbatchError`` naming the first cell that ``encoding`` cannot hold.
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
        raise Invalid(Text(
            "Row {row} holds '{value}', which {encoding} cannot store; download as UTF-8 "
            "instead.", row=line, value=text[exc.start : exc.end],
            encoding=Text(ENCODINGS.get(encoding, encoding)),
        )) from None  # fmt: skip
