"""Hostile files: each is answered with a clear file- or row-level message and writes nothing."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from tests.conftest import RunBatch, World
from userbatch.check.report import to_document
from userbatch.check.run import check_file
from userbatch.check.state import CheckedSheet, CheckResult
from userbatch.db import session
from userbatch.errors import CsvFileError
from userbatch.models import Batch, BatchRow, Group, Membership, OutboxMessage, User

HEADER = "Login ID,Name,Email,Belong to\r\n"


def _check(world: World, data: bytes, name: str = "users.csv") -> CheckedSheet:
    # Uploads of at most 10 MB: a workbook may unpack to ten times that.
    settings = world.settings.model_copy(update={"max_upload_mb": 10})
    return check_file(
        world.engine, settings, data, file_name=name, working_group=world.groups[""],
        scope_path="",
    )  # fmt: skip


def _counts(world: World) -> list[int]:
    with session(world.engine) as db:
        return [
            db.scalar(select(func.count()).select_from(table)) or 0
            for table in (User, Membership, Group, Batch, BatchRow, OutboxMessage)
        ]


def _file_error(world: World, data: bytes, name: str = "users.csv") -> CsvFileError:
    before = _counts(world)
    with pytest.raises(CsvFileError) as caught:
        _check(world, data, name)
    assert _counts(world) == before
    return caught.value


def _zip_bomb() -> bytes:
    """A workbook whose one sheet unpacks from ~250 KB to 256 MB of the same byte."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            block = b"<" * 2**20
            for _ in range(256):
                sheet.write(block)
    return buffer.getvalue()


def _lying_zip_bomb() -> bytes:
    """A zip bomb whose headers say each member unpacks to 1,000 bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"<" * 128 * 2**20)
    data = bytearray(buffer.getvalue())
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = data.find(signature)
        while start >= 0:
            data[start + offset : start + offset + 4] = (1000).to_bytes(4, "little")
            start = data.find(signature, start + 4)
    return bytes(data)


FILE_ERRORS: dict[str, tuple[Callable[[], bytes], str, str, str]] = {
    # name: (bytes, file name, error code, a phrase of the message)
    "binary named .csv": (
        lambda: bytes(range(256)) * 400, "users.csv", "unreadable", "not text",
    ),
    "zip bomb named .xlsx": (_zip_bomb, "users.xlsx", "too_large", "unpacks to"),
    "zip bomb whose sizes lie": (_lying_zip_bomb, "users.xlsx", "unreadable", "damaged"),
    "NUL bytes": (
        lambda: (HEADER + "abcde\x00,X,,\r\n").encode(), "users.csv", "unreadable", "NUL bytes",
    ),
    "header only": (lambda: HEADER.encode(), "users.csv", "no_rows", "no rows of users"),
    "BOM only": (lambda: b"\xef\xbb\xbf", "users.csv", "empty_file", "empty"),
    "UTF-16 without a BOM": (
        lambda: (HEADER + "abcde,X,,\r\n").encode("utf-16-le"), "users.csv", "unreadable",
        "UTF-16 without a byte-order mark",
    ),
    "the same header twice": (
        lambda: b"Login ID,Name,Name\r\nabcde,X,Y\r\n", "users.csv", "duplicate_column", "Name",
    ),
    "10k columns": (
        lambda: (",".join(f"Column {n}" for n in range(10_000)) + "\r\n" + "x," * 9_999 + "x\r\n")
        .encode(), "users.csv", "missing_column", "Name",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(FILE_ERRORS))
def test_hostile_files_get_a_file_level_message(world: World, case: str) -> None:
    make, name, code, phrase = FILE_ERRORS[case]
    error = _file_error(world, make(), name)
    assert code in [found for found, _ in error.problems], error.problems
    assert phrase in str(error)
    assert len(str(error)) < 2000  # a message a person can read, whatever the file holds


def _row_messages(result: CheckResult, row: int) -> list[str]:
    return [f"{issue.column}: {issue.message}" for issue in result.rows[row].issues]


def test_a_50_mb_line_is_one_bad_row(world: World) -> None:
    data = (HEADER + "abcde," + "n" * 50 * 2**20 + ",,\r\nfghij,Fine,,\r\n").encode()
    before = _counts(world)
    result = check_file(
        world.engine, world.settings, data, file_name="users.csv",
        working_group=world.groups[""], scope_path="",
    )  # fmt: skip
    assert _counts(world) == before
    assert result.rows[2].status == "error"
    [message] = _row_messages(result, 2)
    assert message.startswith("Name: Name must be at most 50 characters;")
    assert "has 52428800" in message and len(message) < 200  # the cell is cut, not repeated
    assert result.rows[3].status == "new"


def test_unbalanced_quotes_keep_the_rows_before_them(world: World) -> None:
    data = (HEADER + 'abcde,Ann,,\r\nfghij,"Bob,,\r\nklmno,Cy,,\r\n').encode()
    result = _check(world, data)
    assert result.rows[2].status == "new"
    # The quote opened on row 3 runs to the end of the file: that row says so.
    assert result.numbers() == [2, 3] and result.rows[3].status == "error"
    assert _row_messages(result, 3) == [
        ": This row has 2 cells but the header has 4 columns (or more): check for a missing "
        'or extra comma, or a quote (") that is opened but never closed.'
    ]


def test_mixed_line_ends(world: World) -> None:
    data = b"Login ID,Name\r\nabcde,A\nfghij,B\rklmno,C\r\n"
    result = _check(world, data)
    assert result.numbers() == [2, 3, 4] and result.counts["new"] == 3


def test_1_mb_cells_are_judged_and_cut_in_messages(world: World) -> None:
    big = "x" * 2**20
    data = f"{HEADER}{big},{big},{big}@example.com,{big}\r\n".encode()
    result = _check(world, data)
    messages = _row_messages(result, 2)
    assert {message.split(":")[0] for message in messages} >= {"Login ID", "Name", "Email"}
    assert all(len(message) < 2000 for message in messages)


@pytest.mark.parametrize(
    "name",
    [
        "Zoë 😀 Smith",  # emoji
        "שרה כהן",  # right to left
        "<script>alert(1)</script>",
        "**bold** [link](http://evil.example) # heading",
        "Robert'); DROP TABLE users;--",
        "=cmd|' /C calc'!A0",
    ],
)
def test_odd_names_are_text(world: World, name: str) -> None:
    # Stored and shown as typed: nothing in them is run, rendered or parsed.
    from userbatch.files.download import write_table

    data = write_table(["Login ID", "Name"], [["abcde", name]], encoding="utf-8")
    result = _check(world, data)
    assert result.rows[2].status == "new", _row_messages(result, 2)
    assert result.values.at[2, "name"] == name


def test_odd_names_are_stored_as_typed_and_downloaded_safely(
    world: World, run_batch: RunBatch
) -> None:
    from userbatch.admin.users import export_users
    from userbatch.batches.store import store_batch
    from userbatch.files.download import write_table

    names = {
        "emoji1": "Zoë 😀 Smith", "rtl01": "שרה כהן", "html1": "<script>alert(1)</script>",
        "sql01": "Robert'); DROP TABLE users;--", "formula1": "=cmd|' /C calc'!A0",
        "x');DROP--": "Bobby Tables",
    }  # fmt: skip
    data = write_table(
        ["Login ID", "Name"], [list(item) for item in names.items()], encoding="utf-8"
    )
    result = _check(world, data)
    assert result.counts["new"] == len(names), to_document(result)["rows"]
    batch_id = store_batch(
        world.engine, world.settings, result, operator=world.admin,
        working_group=world.groups[""], invitation=None,
    )  # fmt: skip
    run_batch(world, batch_id)
    with session(world.engine) as db:
        stored = dict(db.execute(select(User.login_id, User.name)).all())
    assert {login: stored[login] for login in names} == names
    download = export_users(world.engine, world.columns(), scope_path="").decode("utf-8-sig")
    # The formula starts with an apostrophe in the file a spreadsheet opens...
    assert "'=cmd|' /C calc'!A0" in download
    # ...and an upload of that file reads every name back as it was (nothing changes).
    again = _check(world, download.encode("utf-8-sig"))
    assert again.counts == {"new": 0, "update": 0, "unchanged": len(stored), "error": 0}


def _peak_mb(code: str, *, setup: str = "") -> float:
    """Peak resident memory (MB) of a fresh interpreter running ``code`` after the imports
    a check needs and ``setup``, minus the same interpreter's peak before ``code``."""
    script = (
        "import resource, userbatch.check.run, userbatch.files.reader\n"
        f"{setup}\n"
        "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        f"{code}\n"
        "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    return float(done.stdout.split()[-1])


def test_reading_a_50_mb_line_stays_bounded() -> None:
    grown = _peak_mb(
        "sheet = read_sheet(data, file_name='u.csv', columns=columns, max_bytes=2**28, "
        "max_rows=10, workbook_mb=512)\n"
        "assert len(sheet.cells.at[2, 'name']) == 50 * 2**20",
        setup="from userbatch.files.reader import read_sheet\n"
        "from userbatch.directory.fields import STANDARD_LABELS, ColumnSpec\n"
        "columns = [ColumnSpec(k, e, required=k in ('login_id', 'name')) "
        "for k, (e, j) in STANDARD_LABELS.items()]\n"
        "data = b'Login ID,Name\\r\\nabcde,' + b'n' * 50 * 2**20 + b'\\r\\n'",
    )
    # Beyond the upload's 50 MB: its text, the line, the csv module's field at four bytes a
    # character and the cell (~310 MB here) — a few copies, not one per character.
    assert grown < 400, grown


def test_an_over_limit_upload_is_refused_before_memory_grows() -> None:
    grown = _peak_mb(
        "try:\n"
        "    read_sheet(data, file_name='u.csv', columns=[], max_bytes=2**20, max_rows=10,\n"
        "               workbook_mb=512)\n"
        "except FileLimitExceeded as exc:\n"
        "    assert exc.problems[0][0] == 'too_large'\n"
        "else:\n"
        "    raise AssertionError('not refused')",
        setup="from userbatch.files.reader import read_sheet\n"
        "from userbatch.errors import FileLimitExceeded\n"
        "data = b'Login ID,Name\\r\\n' + b'abcde,Ann\\r\\n' * 10_000_000",  # ~110 MB
    )
    # Beyond the upload's ~110 MB, nothing to speak of was held: refused by its size alone.
    assert grown < 20, grown
