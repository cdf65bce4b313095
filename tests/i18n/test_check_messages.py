"""The check speaks Japanese down to the cell: every code's message, made when shown, in the
reader's language, through the screens' and the CLI's own path (``check --lang ja --json``)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.check.test_check import CASES, H, run_check
from tests.cli.test_cli import cli  # noqa: F401  (the fixture)
from tests.conftest import World
from userbatch.errors import CsvFileError
from userbatch.files.reader import read_sheet
from userbatch.i18n import speaking

JAPANESE_WORDS = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
# Rows for the codes the table of the check's rules does not reach.
MORE = [
    "tanaka01,T,,,short,,,,", "tanaka02,T,,,,,,,Nowhere", "tanaka03,T,,,,,,,Sales>>",
    "tanaka04,T,,,,,Vaild,,", "tanaka05,T,,,,,,2027.02.30,", "tanaka06,T,,,,,,46477,",
    "tanaka07,T,,,,1.23E+11,,,", "tanaka08,T",
]  # fmt: skip
ROWS = [rows for _, rows, _ in CASES] + MORE


def _in_both(message: object) -> tuple[str, str]:
    with speaking("en"):
        english = str(message)
    with speaking("ja"):
        japanese = str(message)
    return english, japanese


def test_every_rows_code_has_its_message_in_japanese(people: World) -> None:
    seen = set()
    for rows in ROWS:
        for row in run_check(people, H + rows + "\n").ordered():
            for issue in row.issues:
                english, japanese = _in_both(issue.message)
                assert JAPANESE_WORDS.search(japanese), (issue.code, japanese)
                assert "{" not in japanese and japanese != english, (issue.code, japanese)
                seen.add(issue.code)
    assert seen >= {
        "too_short", "too_long", "required", "invalid_characters", "full_width_converted",
        "invalid_email", "duplicate_login_id", "duplicate_email", "email_exists", "email_taken",
        "password_policy", "unknown_group", "invalid_group_path", "invalid_status",
        "invalid_date", "excel_serial_date", "excel_scientific_notation", "wrong_cell_count",
    }  # fmt: skip


FILES: list[tuple[str, bytes]] = [
    ("empty_file", b""),
    ("no_rows", b"Login ID,Name\r\n"),
    ("unreadable", b"Login ID,Name\r\n\x00\x01\x02"),
    ("too_large", b"Login ID,Name\r\n" + b"abcde01,A\r\n" * 200),
    ("too_many_rows", b"Login ID,Name\r\n" + b"abcde01,A\r\n" * 11),
    ("duplicate_column", b"Login ID,Name,Name\r\nabcde01,A,B\r\n"),
    ("missing_column", b"Email\r\na@example.com\r\n"),
    ("unknown_column", b"Login ID,Name,Nmae2\r\nabcde01,A,B\r\n"),
]


@pytest.mark.parametrize(("code", "data"), FILES, ids=[code for code, _ in FILES])
def test_every_file_code_has_its_message_in_japanese(people: World, code: str, data: bytes) -> None:
    with pytest.raises(CsvFileError) as refused:
        read_sheet(data, file_name="u.csv", columns=people.columns(), max_bytes=1000,
                   max_rows=10, workbook_mb=512)  # fmt: skip
    assert refused.value.code == code
    english, japanese = _in_both(refused.value)
    assert JAPANESE_WORDS.search(japanese) and japanese != english, japanese


def test_check_lang_ja_json_keeps_the_codes_and_says_the_messages_in_japanese(
    cli: Callable[..., tuple[int, str, str]],  # noqa: F811
    tmp_path: Path,
) -> None:
    upload = tmp_path / "users.csv"
    upload.write_text("Login ID,Name,Email\r\nab1,,tanaka@\r\n", encoding="utf-8")
    code, out, _ = cli("--lang", "ja", "check", str(upload), "--json")
    assert code == 1
    issues = json.loads(out)["rows"][0]["issues"]
    assert [issue["code"] for issue in issues] == ["too_short", "required", "invalid_email"]
    assert issues[0]["message"] == "ログインIDは 5～30 文字です。'ab1' は 3 文字です。"
    assert issues[1]["message"] == "氏名は必須です。"
    code, out, _ = cli("--lang", "ja", "check", str(upload))
    assert out.splitlines()[:3] == [
        "users.csv: 1 行（UTF-8、カンマ区切り）",
        "新規 0 · 更新 0 · 変更なし 0 · エラー 1",
        "2 行目、Login ID: ログインIDは 5～30 文字です。'ab1' は 3 文字です。",
    ]
    code, out, _ = cli("check", str(upload), "--json")  # English again, by default
    assert json.loads(out)["rows"][0]["issues"][1]["message"] == "Name is required."
