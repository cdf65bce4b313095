"""Writing files for download: CRLF, guarded formulas, encodings that cannot hold a cell."""

from __future__ import annotations

import pytest

from userbatch.errors import UserbatchError
from userbatch.files.download import guard, unguard, write_download, write_table


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


@pytest.mark.parametrize(
    ("upload_encoding", "cell", "encoding"),
    [
        ("cp932", "田中", "cp932"),
        ("cp932", "Smile 😀", "utf-8-sig"),
        ("xlsx", "Smile 😀", "utf-8-sig"),
        ("utf-8", "Smile 😀", "utf-8"),
    ],
)
def test_a_download_is_in_the_upload_s_encoding_or_else_utf_8(
    upload_encoding: str, cell: str, encoding: str
) -> None:
    data, used = write_download(["Name"], iter([[cell]]), upload_encoding=upload_encoding)
    assert used == encoding
    assert data.decode(encoding) == f"Name\r\n{cell}\r\n"
