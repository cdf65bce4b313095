"""Bytes -> text -> CSV records: encodings, byte-order marks, binary refused, delimiters.

An upload is decoded in the encoding its byte-order mark names, else the first of UTF-8 and
CP932 that decodes every byte, unless the operator chose one. The delimiter is the one that
splits the header line into the most cells. Records are split as ``open(newline="")`` and
the csv module split them: a quoted line break stays in its cell.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass

from userbatch.errors import UnreadableFile
from userbatch.i18n import N_, Sentences, Text

# Their names are message ids: shown through the catalogue (``_(ENCODINGS[key])``).
ENCODINGS = {
    "utf-8": N_("UTF-8"),
    "utf-8-sig": N_("UTF-8 with BOM"),
    "cp932": N_("Shift_JIS (CP932)"),
    "utf-16": N_("UTF-16"),
    "xlsx": N_("Excel workbook (.xlsx)"),
}
DELIMITERS = {",": N_("comma"), ";": N_("semicolon"), "\t": N_("tab")}
_CONTROL = re.compile(r"[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]")
# A line with its end: CR LF, CR or LF (as open(newline="") splits, nothing else).
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
# A cell may be as long as a whole file; the rules of each column judge its length.
csv.field_size_limit(2**31 - 1)


@dataclass(frozen=True)
class Decoded:
    """An upload's text and the encoding it was read with (a key of ``ENCODINGS``)."""

    text: str
    encoding: str


def decode(data: bytes, encoding: str | None = None) -> Decoded:
    """The text of ``data`` and the encoding it was read with: ``encoding`` when given, else
    the one a byte-order mark names, else the first of UTF-8 and CP932 that decodes every
    byte.

    Raises ``UnreadableFile`` when the bytes are no text in a supported encoding, or hold
    NUL bytes or binary data.
    """
    encoding = encoding or _bom_encoding(data)
    if encoding is None:
        for candidate in ("utf-8", "cp932"):
            try:
                return Decoded(_text_table(data.decode(candidate), data), candidate)
            except UnicodeDecodeError:
                continue
        raise UnreadableFile.one(
            "unreadable",
            Text(
                "The file is not text in UTF-8, Shift_JIS (CP932) or UTF-16, nor an Excel workbook."
            ),
        )
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        name = ENCODINGS.get(encoding, encoding)
        raise UnreadableFile.one(
            "unreadable",
            Text(
                "The file cannot be read as {encoding}: byte 0x{byte:02x} at position "
                "{position} does not fit. Choose another encoding, or save the file as UTF-8.",
                encoding=name,
                byte=data[exc.start],
                position=exc.start,
            ),
        ) from None
    return Decoded(_text_table(text, data), encoding)


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
            Text("It looks like UTF-16 without a byte-order mark: save it as UTF-8 (CSV UTF-8 "
                 "in Excel).")
            if data[1::2].count(0) > len(data) // 4 or data[0::2].count(0) > len(data) // 4
            else Text("Is it really a CSV file?")
        )  # fmt: skip
        raise UnreadableFile.one(
            "unreadable", Sentences(Text("The file contains NUL bytes."), hint)
        )
    if len(_CONTROL.findall(text[:100_000])) > max(10, len(text[:100_000]) // 100):
        raise UnreadableFile.one(
            "unreadable", Text("The file is not a text table (it holds binary data).")
        )
    return text


def utf8_bytes(data: bytes, decoded: Decoded) -> bytes | memoryview:
    """The file as UTF-8 bytes without a byte-order mark: the upload's own bytes when they
    are UTF-8 already, else its text encoded."""
    if decoded.encoding == "utf-8":
        return data
    if decoded.encoding == "utf-8-sig" and data.startswith(codecs.BOM_UTF8):
        return memoryview(data)[len(codecs.BOM_UTF8) :]
    return decoded.text.lstrip("\ufeff").encode()


def sniff_delimiter(text: str) -> str:
    """The delimiter of a CSV text (a key of ``DELIMITERS``): whichever of comma, semicolon
    and tab splits the header line into the most cells; comma when none splits it."""
    first_line = re.split(r"\r\n|\r|\n", text.lstrip("\ufeff"), maxsplit=1)[0]
    counts = {}
    for delimiter in DELIMITERS:
        try:
            counts[delimiter] = len(next(csv.reader([first_line], delimiter=delimiter), []))
        except csv.Error:
            counts[delimiter] = 0
    best = max(counts, key=lambda delimiter: counts[delimiter])
    return best if counts[best] > 1 else ","


def csv_records(text: str, delimiter: str) -> Iterator[list[str]]:
    """The records of a CSV text (after any byte-order marks), each a list of cells.

    Raises (while iterated) ``csv.Error`` for a record the csv module cannot read.
    """
    # Lines are handed to the reader one at a time: a StringIO would hold the whole text
    # again, at four bytes a character.
    start = 0
    while text.startswith("\ufeff", start):
        start += 1
    lines = (line.group() for line in _LINE.finditer(text, start))
    yield from csv.reader(lines, delimiter=delimiter)
