"""Writing files for download: CRLF, guarded formulas, encodings that cannot hold a cell."""

from __future__ import annotations

import pytest

from userbatch.errors import UserbatchError
from userbatch.files.download import guard, unguard, write_table


def test_formula_guard_round_trip() -> None:
    for cell in ["=SUM(A1)", "+1", "-1", "@x", "\tx", "\rx", "plain", "'quoted"]:
        assert unguard(guard(cell)) == cell
    assert guard("=1+2") == "'=1+2"


def test_write_table_is_crlf_and_guarded() -> None:
    data = write_table(["Login ID", "Name"], [["abcde", "=HYPERLINK()"]], encoding="utf-8-sig")
    assert data == "\ufeffLogin ID,Name\r\nabcde,'=HYPERLINK()\r\n".encode()


def test_shift_jis_download_names_the_cell_it_cannot_hold() -> None:
    with pytest.raises(UserbatchError, match="Row 2 holds '😀'"):
        write_table(["Name"], [["Smile 😀"]], encoding="cp932")
