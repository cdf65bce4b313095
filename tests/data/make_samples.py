"""Writes the sample files of this folder (run it from here: python make_samples.py).

Each file is what a real spreadsheet program or a careless hand makes; ``expected.json``
says what reading each one must give.
"""

from __future__ import annotations

import codecs
import io
import json
from pathlib import Path

HERE = Path(__file__).parent
HEADER_EN = "Login ID,Name,Email,Department,Belong to"
HEADER_JA = "ログインID,氏名,メールアドレス,部署,所属グループ"
ROWS = [
    "tanaka01,田中 太郎,tanaka@example.com,営業部,",
    "00123abc,Sato Hanako,sato@example.com,Support,",
]


def csv_text(header: str, rows: list[str], *, delimiter: str = ",", newline: str = "\r\n") -> str:
    lines = [header, *rows]
    return newline.join(line.replace(",", delimiter) for line in lines) + newline


def main() -> None:
    expected: dict[str, dict[str, object]] = {}

    def sample(name: str, data: bytes, **expect: object) -> None:
        (HERE / name).write_bytes(data)
        expected[name] = expect

    text = csv_text(HEADER_EN, ROWS)
    sample("utf8.csv", text.encode(), encoding="utf-8", delimiter=",", rows=[2, 3])
    sample("utf8_bom.csv", codecs.BOM_UTF8 + text.encode(), encoding="utf-8-sig", rows=[2, 3])
    sample(
        "cp932_japanese_header.csv", csv_text(HEADER_JA, ROWS).encode("cp932"),
        encoding="cp932", rows=[2, 3], cell=[2, "name", "田中 太郎"],
    )  # fmt: skip
    sample("utf16_bom.csv", text.encode("utf-16"), encoding="utf-16", rows=[2, 3])
    sample(
        "semicolon.csv", csv_text(HEADER_EN, ROWS, delimiter=";").encode(),
        delimiter=";", rows=[2, 3],
    )  # fmt: skip
    sample(
        "tab.csv", csv_text(HEADER_EN, ROWS, delimiter="\t").encode(), delimiter="\t", rows=[2, 3]
    )
    sample("lf.csv", csv_text(HEADER_EN, ROWS, newline="\n").encode(), rows=[2, 3])
    sample("cr_only.csv", csv_text(HEADER_EN, ROWS, newline="\r").encode(), rows=[2, 3])
    sample(
        "quoted_line_break.csv",
        (HEADER_EN + '\r\ntanaka01,"Tanaka\r\nTaro",t@example.com,,\r\nsato0002,Sato,s@example.com,,\r\n').encode(),
        rows=[2, 3], cell=[2, "name", "Tanaka\r\nTaro"],
    )  # fmt: skip
    sample(
        "excel_trailing_columns.csv",
        (HEADER_EN + ",,\r\ntanaka01,Tanaka,t@example.com,,,,\r\n,,,,,,\r\n\r\n"
         "sato0002,Sato,s@example.com,,,,\r\n").encode(),
        rows=[2, 5],
    )  # fmt: skip
    sample(
        "as_typed.csv",
        (HEADER_EN + ",Expiration date\r\n00123abc,0012,a@example.com,1-2,,2024/01/02\r\n").encode(),
        rows=[2], cell=[2, "login_id", "00123abc"], cell2=[2, "department", "1-2"],
        cell3=[2, "expiration_date", "2024/01/02"],
    )  # fmt: skip
    sample(
        "formula_guarded.csv",
        (HEADER_EN + "\r\ntanaka01,'=1+2,t@example.com,'-minus,\r\n").encode(),
        rows=[2], cell=[2, "name", "=1+2"], cell2=[2, "department", "-minus"],
    )  # fmt: skip
    sample(
        "first_login_and_creation_date.csv",
        (HEADER_EN + ",First login,Creation date\r\ntanaka01,T,t@example.com,,,2024-01-01,2023-01-01\r\n").encode(),
        rows=[2], notices=1,
    )  # fmt: skip
    sample(
        "xlsx_workbook.xlsx",
        _xlsx(),
        encoding="xlsx",
        rows=[2, 4],
        cell=[2, "login_id", "00123abc"],
    )

    # What Excel in Japan saves after an afternoon of hand edits: Shift_JIS, Japanese headers,
    # full-width characters, empty trailing columns, a blank line, and a few mistakes.
    sample(
        "messy.csv",
        ("ログインID,氏名,メールアドレス,部署,所属グループ,,\r\n"
         "ｙａｍａｄａ０１,山田 太郎,yamada@example.com,営業部,Sales,,\r\n"
         "sato,佐藤 花子,sato@example,,,,\r\n"
         ",,,,,,\r\n"
         "suzuki01,,suzuki@example.com,,Sales>>Osaka,,\r\n"
         "tanaka01,田中 一郎,ｔａｎａｋａ@example.com,,Support,,\r\n").encode("cp932"),
        encoding="cp932", rows=[2, 3, 5, 6],
    )  # fmt: skip

    # Files that cannot be checked at all.
    sample("empty.csv", b"", code="empty_file")
    sample("blank_lines_only.csv", b"\r\n\r\n  \r\n", code="empty_file")
    sample("bom_only.csv", codecs.BOM_UTF8, code="empty_file")
    sample("header_only.csv", (HEADER_EN + "\r\n").encode(), code="no_rows")
    sample("binary.csv", bytes(range(256)) * 40, code="unreadable")
    sample("utf16_without_bom.csv", text.encode("utf-16-le"), code="unreadable")
    sample(
        "duplicate_column.csv",
        (HEADER_EN + ",Email\r\na,b,c,d,e,f\r\n").encode(),
        code="duplicate_column",
    )
    sample(
        "duplicate_column_alias.csv",
        (HEADER_EN + ",メールアドレス\r\na,b,c,d,e,f\r\n").encode(),
        code="duplicate_column",
    )
    sample(
        "missing_column.csv", b"Login ID,Email\r\ntanaka01,t@example.com\r\n", code="missing_column"
    )
    sample(
        "unknown_column.csv",
        b"Login ID,Name,Emial\r\ntanaka01,T,t@example.com\r\n",
        code="unknown_column",
    )
    (HERE / "expected.json").write_text(json.dumps(expected, indent=1, ensure_ascii=False) + "\n")


def _xlsx() -> bytes:
    import datetime as dt

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Login ID", "Name", "Email", "Expiration date", "Department"])
    sheet.append(["00123abc", "Sato", "s@example.com", dt.date(2025, 3, 31), 12])
    sheet.append([])
    sheet.append(["tanaka01", "Tanaka", "t@example.com", None, 1.5])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


if __name__ == "__main__":
    main()
