"""Reading uploaded files: every sample in tests/data/ and the limits."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from userbatch.directory.fields import STANDARD_LABELS, ColumnSpec
from userbatch.errors import CsvFileError, PolicyError
from userbatch.files import csvfile
from userbatch.files.csvfile import guard, read_sheet, unguard, write_table

DATA = Path(__file__).parents[1] / "data"
EXPECTED: dict[str, dict[str, Any]] = json.loads((DATA / "expected.json").read_text())
COLUMNS = [
    ColumnSpec(key, english, required=key in ("login_id", "name"), japanese=japanese)
    for key, (english, japanese) in STANDARD_LABELS.items()
]
READABLE = sorted(name for name, expect in EXPECTED.items() if "code" not in expect)
BROKEN = sorted(name for name, expect in EXPECTED.items() if "code" in expect)


def _read(data: bytes, name: str = "users.csv", **options: Any) -> Any:
    limits = {"max_bytes": 10 * 2**20, "max_rows": 1000} | options
    return read_sheet(data, file_name=name, columns=COLUMNS, **limits)


def test_every_sample_has_an_expectation() -> None:
    on_disk = {p.name for p in DATA.iterdir() if p.suffix in (".csv", ".xlsx")}
    assert on_disk == set(EXPECTED)


@pytest.mark.parametrize("name", READABLE)
def test_readable_samples(name: str) -> None:
    expect = EXPECTED[name]
    sheet = _read((DATA / name).read_bytes(), name)
    assert list(sheet.cells.index) == expect["rows"]
    if "encoding" in expect:
        assert sheet.encoding == expect["encoding"]
    if "delimiter" in expect:
        assert sheet.delimiter == expect["delimiter"]
    for cell_key in ("cell", "cell2", "cell3"):
        if cell_key in expect:
            row, key, value = expect[cell_key]
            assert sheet.cells.at[row, key] == value
    assert len(sheet.notices) == expect.get("notices", 0)


@pytest.mark.parametrize("name", BROKEN)
def test_broken_samples_are_file_errors(name: str) -> None:
    with pytest.raises(CsvFileError) as raised:
        _read((DATA / name).read_bytes(), name)
    assert raised.value.code == EXPECTED[name]["code"]
    assert all(message.endswith((".", "?")) for _, message in raised.value.problems)


def test_an_unknown_column_names_the_closest_label() -> None:
    with pytest.raises(CsvFileError) as raised:
        _read((DATA / "unknown_column.csv").read_bytes())
    assert "The column 'Emial' is unknown. Did you mean 'Email'?" in str(raised.value)


def test_several_header_problems_are_reported_together() -> None:
    with pytest.raises(CsvFileError) as raised:
        _read(b"Login ID,Nmae,Login ID\r\na,b,c\r\n")
    codes = [code for code, _ in raised.value.problems]
    assert codes == ["unknown_column", "duplicate_column", "missing_column"]


def test_a_column_without_header_but_with_values_is_named() -> None:
    with pytest.raises(CsvFileError, match="Column 2 has no header"):
        _read(b"Login ID,,Name\r\na,b,c\r\n")


def test_a_field_not_in_use_may_stay_as_a_blank_column() -> None:
    columns = [c for c in COLUMNS if c.key != "login_id"]
    data = b"Login ID,Name,Email\r\n,Tanaka,t@example.com\r\n,Sato,s@example.com\r\n"
    sheet = read_sheet(data, file_name="x.csv", columns=columns, max_bytes=2**20, max_rows=10)
    assert list(sheet.cells.columns) == ["name", "email"]
    assert sheet.notices == ["The column 'Login ID' is not in use and was ignored."]
    filled = data.replace(b",Sato", b"sato0002,Sato")
    with pytest.raises(CsvFileError, match=r"'Login ID' is not in use .*, but row 3 has a value"):
        read_sheet(filled, file_name="x.csv", columns=columns, max_bytes=2**20, max_rows=10)


def test_rows_with_too_few_or_too_many_cells_are_marked() -> None:
    sheet = _read(b"Login ID,Name,Email\r\na,b\r\nc,d,e,f\r\ng,h,i,,\r\n")
    assert sheet.widths == {2: 2, 3: 4}
    assert sheet.cells.loc[2].tolist() == ["a", "b", ""]


def test_cells_are_trimmed_full_width_spaces_too() -> None:
    sheet = _read("Login ID, Name \r\n\u3000tanaka01 ,\u3000田中\u3000\r\n".encode())
    assert sheet.cells.loc[2].tolist() == ["tanaka01", "田中"]


def test_a_megabyte_cell_is_read() -> None:
    sheet = _read(b"Login ID,Name\r\ntanaka01," + b"x" * 2**20 + b"\r\n")
    assert len(sheet.cells.at[2, "name"]) == 2**20


def test_the_encoding_can_be_overridden() -> None:
    data = "Login ID,Name\r\ntanaka01,田中\r\n".encode("cp932")
    assert _read(data).cells.at[2, "name"] == "田中"
    with pytest.raises(CsvFileError, match="cannot be read as UTF-8: byte 0x93"):
        _read(data, encoding="utf-8")


@pytest.mark.parametrize(
    ("data", "limits", "code"),
    [
        (b"Login ID,Name\r\n" + b"abcde,x\r\n" * 11, {"max_rows": 10}, "too_many_rows"),
        (b"Login ID,Name\r\n" + b"abcde,x\r\n" * 200, {"max_bytes": 1000}, "too_large"),
    ],
)
def test_limits(data: bytes, limits: dict[str, int], code: str) -> None:
    with pytest.raises(CsvFileError) as raised:
        _read(data, **limits)
    assert raised.value.code == code


def test_formula_guard_round_trip() -> None:
    for cell in ["=SUM(A1)", "+1", "-1", "@x", "\tx", "\rx", "plain", "'quoted"]:
        assert unguard(guard(cell)) == cell
    assert guard("=1+2") == "'=1+2"


def test_write_table_is_crlf_and_guarded() -> None:
    data = write_table(["Login ID", "Name"], [["abcde", "=HYPERLINK()"]], encoding="utf-8-sig")
    assert data == "\ufeffLogin ID,Name\r\nabcde,'=HYPERLINK()\r\n".encode()


def test_shift_jis_download_names_the_cell_it_cannot_hold() -> None:
    with pytest.raises(PolicyError, match="Row 2 holds '😀'"):
        write_table(["Name"], [["Smile 😀"]], encoding="cp932")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_no_bytes_make_reading_raise_anything_else(data: bytes) -> None:
    with contextlib.suppress(CsvFileError):
        _read(data)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=400))
def test_no_text_makes_reading_raise_anything_else(text: str) -> None:
    with contextlib.suppress(CsvFileError):
        _read(("Login ID,Name\r\n" + text).encode())


def _outcome(data: bytes, **options: Any) -> Any:
    """What reading gives: the sheet's cells, widths and notices, or the file errors."""
    try:
        sheet = _read(data, **options)
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
        patch.setattr(csvfile, "_arrow_table", lambda *args: None)
        slow = _outcome(data, delimiter=delimiter, max_rows=max_rows)
    assert fast == slow


def test_the_fast_reader_reads_quoted_cells_as_excel_writes_them() -> None:
    # Excel quotes a cell with a comma, a quote or a line break; Arrow reads such files too.
    text = 'Login ID,Name,Email\r\n"abc12","Tanaka, ""Taro""",a@b.jp\r\nxyz99,"Two\r\nlines",\r\n'
    table = csvfile._arrow_table(text.encode(), ",", 3)
    assert table is not None and table.num_rows == 3
    sheet = _read(text.encode())
    assert sheet.cells.index.tolist() == [2, 3]  # a quoted line break starts no row
    assert sheet.cells.loc[2].tolist() == ["abc12", 'Tanaka, "Taro"', "a@b.jp"]
    assert sheet.cells.loc[3, "name"] == "Two\r\nlines"


def test_a_quote_never_closed_is_left_to_the_csv_module() -> None:
    # The quote swallows the rest of the file: the row is too short, and the csv module's
    # reading tells the check so (which then hints at the quote).
    text = 'Login ID,Name,Email\r\nabc12,"Tanaka,t@x.jp\r\nxyz99,Sato,s@x.jp\r\n'
    assert csvfile._arrow_table(text.encode(), ",", 3) is None
    assert _read(text.encode()).widths == {2: 2}


def test_the_fast_reader_reads_a_file_without_quotes() -> None:
    # The property above compares the two readers; this one proves the fast one ran.
    text = "Login ID,Name,Email,,\r\n'=abc12, 花子 ,a@b.jp,,\r\n,,,,\r\nxyz99,Bob,,,extra\r\n"
    table = csvfile._arrow_table(text.encode(), ",", 5)
    assert table is not None and table.num_rows == 4
    sheet = _read(text.encode())
    assert sheet.cells.index.tolist() == [2, 4]
    assert sheet.cells.loc[2].tolist() == ["=abc12", "花子", "a@b.jp"]
    assert sheet.widths == {4: 5}
