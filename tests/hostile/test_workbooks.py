"""Workbooks that unpack to more than can be read are refused while they are read, by a
process held to its memory cap; the process that asked holds no more than the text a file may
hold."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest

from tests.files.test_reader import COLUMNS
from userbatch.errors import FileLimitExceeded
from userbatch.files.reader import read_sheet
from userbatch.files.xlsx import workbook_csv

pytestmark = pytest.mark.slow

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_PARTS = {
    "[Content_Types].xml": '<Types xmlns="http://schemas.openxmlformats.org/package/2006/'
    'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-'
    'package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    "</Types>",
    "_rels/.rels": f'<Relationships xmlns="{_RELS}"><Relationship Id="rId1" Type="http://'
    'schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>',
    "xl/workbook.xml": f'<workbook xmlns="{_MAIN}" xmlns:r="http://schemas.openxmlformats.org/'
    'officeDocument/2006/relationships"><sheets><sheet name="Users" sheetId="1" r:id="rId1"/>'
    "</sheets></workbook>",
    "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{_RELS}"><Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.'
    'openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
    'Target="sharedStrings.xml"/></Relationships>',
}


def _inline(text: str) -> bytes:
    return f'<c t="inlineStr"><is><t>{text}</t></is></c>'.encode()


def _workbook(rows: Iterator[bytes], shared: list[str] | None = None) -> bytes:
    """A workbook of honest XML (no size in it lies): the header Login ID, Name, Belong to and
    the ``rows`` (each a ``<row>``'s cells), with ``shared`` as its shared strings."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, part in _PARTS.items():
            archive.writestr(name, part)
        strings = "".join(f"<si><t>{text}</t></si>" for text in shared or [])
        archive.writestr("xl/sharedStrings.xml", f'<sst xmlns="{_MAIN}">{strings}</sst>')
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(f'<worksheet xmlns="{_MAIN}"><sheetData><row>'.encode())
            sheet.write(_inline("Login ID") + _inline("Name") + _inline("Belong to") + b"</row>")
            block = bytearray()
            for row in rows:
                block += b"<row>" + row + b"</row>"
                if len(block) > 2**20:
                    sheet.write(block)
                    block.clear()
            sheet.write(block + b"</sheetData></worksheet>")
    return buffer.getvalue()


def _peaks_mb(folder: Path, data: bytes, **limits: int) -> tuple[str, float, float]:
    """Read ``data`` with ``read_sheet`` in a fresh interpreter; returns the file error's
    code and message, and the peak memory (MB) of that interpreter above its own before the
    read and of the child that read the workbook."""
    path = folder / "u.xlsx"
    path.write_bytes(data)
    script = (
        "import resource, sys\n"
        "from userbatch.files.reader import read_sheet\n"
        "from userbatch.errors import CsvFileError\n"
        "from tests.files.test_reader import COLUMNS\n"
        "data = open(sys.argv[1], 'rb').read()\n"
        "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "try:\n"
        f"    read_sheet(data, file_name='u.xlsx', columns=COLUMNS, **{limits!r})\n"
        "except CsvFileError as exc:\n"
        "    print(exc.problems[0][0] + ': ' + str(exc.problems[0][1]))\n"
        "else:\n"
        "    print('read')\n"
        "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=600,
        check=True,
    )  # fmt: skip
    outcome, grown, child = done.stdout.splitlines()[-3:]
    return outcome, float(grown), float(child)


def test_a_workbook_of_a_gigabyte_of_xml_is_refused_within_512_mb(tmp_path: Path) -> None:
    # A thousand blocks of the same thousand rows, each with a 1 kB cell.
    block = b"</row><row>".join([_inline("user") + _inline("Ann") + _inline("n" * 1000)] * 1000)
    data = _workbook(block for _ in range(1000))
    assert len(data) < 20 * 2**20  # ~1.1 GB of XML, packed
    outcome, grown, child = _peaks_mb(tmp_path, data, max_bytes=200 * 2**20, max_rows=1_000_000,
                                      workbook_mb=512)  # fmt: skip
    assert outcome.startswith("too_large: The workbook needs more than 512 MB"), outcome
    assert "Split it into smaller workbooks, or save it as CSV UTF-8" in outcome
    assert child <= 512 + 64, child  # the cap is above the child's interpreter (~40 MB)
    assert grown < 100, grown


def test_one_shared_string_repeated_by_every_cell_is_refused_within_the_cap(
    tmp_path: Path,
) -> None:
    # 200,000 cells of one 10 kB string: 2 GB once each cell holds its own copy.
    rows = (_inline(f"user{n:07d}") + _inline("Ann") + b'<c t="s"><v>0</v></c>'
            for n in range(200_000))  # fmt: skip
    data = _workbook(rows, shared=["x" * 10_000])
    outcome, grown, child = _peaks_mb(tmp_path, data, max_bytes=200 * 2**20, max_rows=1_000_000,
                                      workbook_mb=256)  # fmt: skip
    assert outcome.startswith("too_large: The workbook needs more than 256 MB"), outcome
    assert child <= 256 + 64, child
    assert grown < 100, grown


def test_a_workbook_of_more_text_than_a_file_may_hold_is_refused_at_the_limit() -> None:
    rows = (_inline(f"user{n:07d}") + _inline("Ann") + _inline("n" * 100)
            for n in range(50_000))  # fmt: skip
    data = _workbook(rows)  # ~6 MB of text
    with pytest.raises(FileLimitExceeded) as refused:
        workbook_csv(data, max_bytes=4 * 2**20, max_rows=1_000_000, memory_mb=512)
    code, message = refused.value.problems[0][0], str(refused.value.problems[0][1])
    assert code == "too_large"
    assert message.startswith("The workbook holds more than 4 MB of text")
    assert "Split it into smaller workbooks" in message


def test_a_workbook_of_more_rows_than_allowed_is_refused_while_read() -> None:
    data = _workbook(_inline(f"user{n:05d}") + _inline("Ann") for n in range(1_001))
    with pytest.raises(FileLimitExceeded) as refused:
        read_sheet(data, file_name="u.xlsx", columns=COLUMNS, max_bytes=2**24, max_rows=1_000,
                   workbook_mb=512)  # fmt: skip
    assert [(code, str(message)) for code, message in refused.value.problems] == [
        ("too_many_rows", "The file has more than 1,000 rows of users; split it into smaller "
         "files.")
    ]  # fmt: skip
    exactly = _workbook(_inline(f"user{n:05d}") + _inline("Ann") for n in range(1_000))
    sheet = read_sheet(exactly, file_name="u.xlsx", columns=COLUMNS, max_bytes=2**24,
                       max_rows=1_000, workbook_mb=512)  # fmt: skip
    assert sheet.rows == 1_000
    assert sheet.cells.at[1_001, "login_id"] == "user00999"


def test_a_workbook_within_the_cap_reads_as_typed() -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Login ID", "Name", "Belong to"])
    sheet.append(["00123", 'Ann "the" Smith,\nJr.', 42])
    sheet.append([None, None, None])
    sheet.append(["'=1+1", "Bob", 3.5])
    buffer = io.BytesIO()
    book.save(buffer)
    read = read_sheet(buffer.getvalue(), file_name="u.xlsx", columns=COLUMNS, max_bytes=2**20,
                      max_rows=10, workbook_mb=128)  # fmt: skip
    assert (read.encoding, read.delimiter) == ("xlsx", "")
    assert read.cells.loc[2].tolist() == ["00123", 'Ann "the" Smith,\nJr.', "42"]
    assert read.cells.loc[4].tolist() == ["=1+1", "Bob", "3.5"]
    assert list(read.cells.index) == [2, 4]
