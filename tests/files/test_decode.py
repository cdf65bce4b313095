"""Decoding: the detected encoding can be overridden, and a wrong one names the byte."""

from __future__ import annotations

import pytest

from tests.files.test_reader import read
from userbatch.errors import CsvFileError


def test_the_encoding_can_be_overridden() -> None:
    data = "Login ID,Name\r\ntanaka01,田中\r\n".encode("cp932")
    assert read(data).cells.at[2, "name"] == "田中"
    with pytest.raises(CsvFileError, match="cannot be read as UTF-8: byte 0x93"):
        read(data, encoding="utf-8")
