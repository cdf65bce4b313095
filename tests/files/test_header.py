"""Mapping the header row to the columns in use: problems reported together, by name."""

from __future__ import annotations

import pytest

from tests.files.test_reader import COLUMNS, DATA, read
from userbatch.errors import CsvFileError
from userbatch.files.reader import read_sheet


def test_an_unknown_column_names_the_closest_label() -> None:
    with pytest.raises(CsvFileError) as raised:
        read((DATA / "unknown_column.csv").read_bytes())
    assert "The column 'Emial' is unknown. Did you mean 'Email'?" in str(raised.value)


def test_several_header_problems_are_reported_together() -> None:
    with pytest.raises(CsvFileError) as raised:
        read(b"Login ID,Nmae,Login ID\r\na,b,c\r\n")
    codes = [code for code, _ in raised.value.problems]
    assert codes == ["unknown_column", "duplicate_column", "missing_column"]


def test_a_column_without_header_but_with_values_is_named() -> None:
    with pytest.raises(CsvFileError, match="Column 2 has no header"):
        read(b"Login ID,,Name\r\na,b,c\r\n")


def test_a_field_not_in_use_may_stay_as_a_blank_column() -> None:
    columns = [c for c in COLUMNS if c.key != "login_id"]
    data = b"Login ID,Name,Email\r\n,Tanaka,t@example.com\r\n,Sato,s@example.com\r\n"
    sheet = read_sheet(
        data, file_name="x.csv", columns=columns, max_bytes=2**20, max_rows=10, workbook_mb=512
    )
    assert list(sheet.cells.columns) == ["name", "email"]
    assert [str(n) for n in sheet.notices] == [
        "The column 'Login ID' is not in use and was ignored."
    ]
    filled = data.replace(b",Sato", b"sato0002,Sato")
    with pytest.raises(CsvFileError, match=r"'Login ID' is not in use .*, but row 3 has a value"):
        read_sheet(
            filled,
            file_name="x.csv",
            columns=columns,
            max_bytes=2**20,
            max_rows=10,
            workbook_mb=512,
        )
