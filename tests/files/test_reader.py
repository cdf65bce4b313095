"""Reading uploaded files: every sample in tests/data/, the limits, and no input raising
anything but a file error."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from userbatch.directory.fields import STANDARD_LABELS, ColumnSpec
from userbatch.errors import CsvFileError
from userbatch.files.reader import Sheet, read_sheet

DATA = Path(__file__).parents[1] / "data"
EXPECTED: dict[str, dict[str, Any]] = json.loads((DATA / "expected.json").read_text())
COLUMNS = [
    ColumnSpec(key, english, required=key in ("login_id", "name"), japanese=japanese)
    for key, (english, japanese) in STANDARD_LABELS.items()
]
READABLE = sorted(name for name, expect in EXPECTED.items() if "code" not in expect)
BROKEN = sorted(name for name, expect in EXPECTED.items() if "code" in expect)


def read(data: bytes, name: str = "users.csv", **options: Any) -> Sheet:
    """``read_sheet`` with every standard field in use and generous limits (``options``
    override them)."""
    limits = {"max_bytes": 10 * 2**20, "max_rows": 1000, "workbook_mb": 512} | options
    return read_sheet(data, file_name=name, columns=COLUMNS, **limits)


def test_every_sample_has_an_expectation() -> None:
    on_disk = {p.name for p in DATA.iterdir() if p.suffix in (".csv", ".xlsx")}
    assert on_disk == set(EXPECTED)


@pytest.mark.parametrize("name", READABLE)
def test_readable_samples(name: str) -> None:
    expect = EXPECTED[name]
    sheet = read((DATA / name).read_bytes(), name)
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
        read((DATA / name).read_bytes(), name)
    assert raised.value.code == EXPECTED[name]["code"]
    assert all(str(message).endswith((".", "?")) for _, message in raised.value.problems)


@pytest.mark.parametrize(
    ("data", "limits", "code"),
    [
        (b"Login ID,Name\r\n" + b"abcde,x\r\n" * 11, {"max_rows": 10}, "too_many_rows"),
        (b"Login ID,Name\r\n" + b"abcde,x\r\n" * 200, {"max_bytes": 1000}, "too_large"),
    ],
)
def test_limits(data: bytes, limits: dict[str, int], code: str) -> None:
    with pytest.raises(CsvFileError) as raised:
        read(data, **limits)
    assert raised.value.code == code


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_no_bytes_make_reading_raise_anything_else(data: bytes) -> None:
    with contextlib.suppress(CsvFileError):
        read(data)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=400))
def test_no_text_makes_reading_raise_anything_else(text: str) -> None:
    with contextlib.suppress(CsvFileError):
        read(("Login ID,Name\r\n" + text).encode())
