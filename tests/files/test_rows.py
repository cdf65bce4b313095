"""The rows below the header: widths, trimming, and the fast (Arrow) reader reading as the
csv module does."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.files.test_reader import read
from userbatch.errors import CsvFileError
from userbatch.files import reader
from userbatch.files.rows import arrow_table


def test_rows_with_too_few_or_too_many_cells_are_marked() -> None:
    sheet = read(b"Login ID,Name,Email\r\na,b\r\nc,d,e,f\r\ng,h,i,,\r\n")
    assert sheet.widths == {2: 2, 3: 4}
    assert sheet.cells.loc[2].tolist() == ["a", "b", ""]


def test_cells_are_trimmed_full_width_spaces_too() -> None:
    sheet = read("Login ID, Name \r\n\u3000tanaka01 ,\u3000田中\u3000\r\n".encode())
    assert sheet.cells.loc[2].tolist() == ["tanaka01", "田中"]


def test_a_megabyte_cell_is_read() -> None:
    sheet = read(b"Login ID,Name\r\ntanaka01," + b"x" * 2**20 + b"\r\n")
    assert len(sheet.cells.at[2, "name"]) == 2**20


def _outcome(data: bytes, **options: Any) -> Any:
    """What reading gives: the sheet's cells, widths and notices, or the file errors."""
    try:
        sheet = read(data, **options)
    except CsvFileError as exc:
        return ("error", exc.problems)
    return (sheet.cells.to_dict("split"), sheet.widths, sheet.notices, sheet.labels)


_CELL = st.text(alphabet=" \u3000\t'=+-@aZ0,;|>佐\"\r\n", max_size=6)


def _excel_quoted(cell: str) -> str:
    return '"' + cell.replace('"', '""') + '"'


@settings(max_examples=300, deadline=None)
@given(
    header=st.lists(st.sampled_from(["Login ID", "Email", "Note", "", "名前"]), max_size=4).flatmap(
        lambda others: st.permutations(["Name", *others])
    ),
    rows=st.lists(st.lists(_CELL, min_size=0, max_size=7), max_size=8),
    newline=st.sampled_from(["\r\n", "\n", "\r"]),
    delimiter=st.sampled_from([",", ";", "\t"]),
    max_rows=st.sampled_from([3, 1000]),
    even=st.booleans(),
    quoting=st.sampled_from(["as typed", "as Excel quotes", "every cell"]),
)
def test_the_fast_reader_reads_as_the_csv_module_does(
    header: list[str],
    rows: list[list[str]],
    newline: str,
    delimiter: str,
    max_rows: int,
    even: bool,
    quoting: str,
) -> None:
    # Files whose rows are as wide as the header are read by Arrow a column at a time; the
    # csv module reads the others. Both must give the same sheet (or the same errors) for
    # any file: cells with quotes, delimiters and line breaks as typed (stray or unclosed
    # quotes too), quoted as Excel quotes them, or every cell quoted.
    if even:  # every row as wide as the header, as Excel writes them: Arrow reads the file
        rows = [(row + [""] * len(header))[: len(header)] for row in rows]
    if quoting == "every cell":
        rows = [[_excel_quoted(cell) for cell in row] for row in rows]
    elif quoting == "as Excel quotes":
        special = ('"', delimiter, "\r", "\n")
        rows = [
            [_excel_quoted(c) if any(x in c for x in special) else c for c in row] for row in rows
        ]
    text = newline.join(delimiter.join(row) for row in [header, *rows]) + newline
    data = text.encode()
    fast = _outcome(data, delimiter=delimiter, max_rows=max_rows)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(reader, "arrow_table", lambda *args: None)
        slow = _outcome(data, delimiter=delimiter, max_rows=max_rows)
    assert fast == slow


def test_the_fast_reader_reads_quoted_cells_as_excel_writes_them() -> None:
    # Excel quotes a cell with a comma, a quote or a line break; Arrow reads such files too.
    text = 'Login ID,Name,Email\r\n"abc12","Tanaka, ""Taro""",a@b.jp\r\nxyz99,"Two\r\nlines",\r\n'
    table = arrow_table(text.encode(), ",", 3)
    assert table is not None and table.num_rows == 3
    sheet = read(text.encode())
    assert sheet.cells.index.tolist() == [2, 3]  # a quoted line break starts no row
    assert sheet.cells.loc[2].tolist() == ["abc12", 'Tanaka, "Taro"', "a@b.jp"]
    assert sheet.cells.loc[3, "name"] == "Two\r\nlines"


def test_a_quote_never_closed_is_left_to_the_csv_module() -> None:
    # The quote swallows the rest of the file: the row is too short, and the csv module's
    # reading tells the check so (which then hints at the quote).
    text = 'Login ID,Name,Email\r\nabc12,"Tanaka,t@x.jp\r\nxyz99,Sato,s@x.jp\r\n'
    assert arrow_table(text.encode(), ",", 3) is None
    assert read(text.encode()).widths == {2: 2}


def test_the_fast_reader_reads_a_file_without_quotes() -> None:
    # The property above compares the two readers; this one proves the fast one ran.
    text = "Login ID,Name,Email,,\r\n'=abc12, 花子 ,a@b.jp,,\r\n,,,,\r\nxyz99,Bob,,,extra\r\n"
    table = arrow_table(text.encode(), ",", 5)
    assert table is not None and table.num_rows == 4
    sheet = read(text.encode())
    assert sheet.cells.index.tolist() == [2, 4]
    assert sheet.cells.loc[2].tolist() == ["=abc12", "花子", "a@b.jp"]
    assert sheet.widths == {4: 5}
