"""Excel workbooks: the first sheet read as CSV text, in a child process held to a memory cap.

A workbook's size says little of what reading it takes: a 1 MB file can hold a gigabyte of
XML, or one long shared string that ten thousand cells repeat. Calamine reads a whole sheet
into memory before it gives its first row, so the limits cannot be judged while it reads.
The sheet is therefore read by a child process (``python -m userbatch.files.xlsx``) whose
address space the kernel caps (``RLIMIT_AS``): a workbook that needs more is refused when the
cap is reached, and the process that asked never holds more than the CSV text the upload limit
allows. What comes back is the sheet as UTF-8 CSV, read then as an uploaded CSV file is.

A workbook's cells are written as a person reads them in Excel: whole numbers without
``.0``, dates as ``YYYY-MM-DD``, booleans as ``TRUE``/``FALSE``, empty cells as ``""``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import zipfile
import zlib

from userbatch.errors import CsvFileError, FileLimitExceeded, UnreadableFile
from userbatch.i18n import Text

_XLSX_MAGIC = b"PK\x03\x04"
# A workbook may unpack to this many times the upload limit before it counts as a zip bomb.
_XLSX_EXPANSION = 10
# Seconds of CPU a child may spend on one workbook (its unpacked size is capped: ~10 s).
_CPU_SECONDS = 300
# The child's exit code when it refuses the workbook (its reason is on standard error).
_REFUSED = 2


def is_workbook(data: bytes) -> bool:
    """Whether ``data`` starts as a zip archive does (an .xlsx file is one)."""
    return data.startswith(_XLSX_MAGIC)


def workbook_csv(data: bytes, *, max_bytes: int, max_rows: int, memory_mb: int) -> bytes:
    """The first sheet of the workbook ``data`` as UTF-8 CSV (CRLF line ends, the header
    first, one line for each of the sheet's rows from its first).

    The sheet is read in a child process whose memory is capped at ``memory_mb`` MB above
    its interpreter; its CSV may hold at most ``max_bytes`` bytes and ``max_rows`` non-blank
    rows below the header. Raises ``FileLimitExceeded`` for a workbook beyond any of these
    (or unpacking to more than ten times ``max_bytes``), ``UnreadableFile`` for a damaged one.
    """
    with (
        tempfile.NamedTemporaryFile(prefix="userbatch-", suffix=".xlsx") as workbook,
        tempfile.TemporaryFile() as errors,
    ):
        workbook.write(data)
        workbook.flush()
        child = subprocess.Popen(
            [sys.executable, "-m", "userbatch.files.xlsx", workbook.name,
             str(max_bytes * _XLSX_EXPANSION), str(max_rows), str(memory_mb)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors,
            env={**os.environ, "RUST_BACKTRACE": "0"},
        )  # fmt: skip
        assert child.stdout is not None
        text = bytearray()
        with child:
            while chunk := child.stdout.read(2**20):
                text += chunk
                if len(text) > max_bytes:
                    child.kill()
                    raise _text_too_large(max_bytes)
        if child.returncode == 0:
            return bytes(text)
        errors.seek(0)
        raise _refusal(child.returncode, errors.read()[-4096:], memory_mb, max_rows)


def _refusal(code: int, stderr: bytes, memory_mb: int, max_rows: int) -> CsvFileError:
    """The file error for a child that ended with exit code ``code``."""
    if code == _REFUSED:
        reason = json.loads(stderr.decode().splitlines()[-1])
        if reason["code"] == "too_many_rows":
            return FileLimitExceeded.rows(max_rows)
        if reason["code"] == "unpacked":
            return FileLimitExceeded.one(
                "too_large",
                Text(
                    "The workbook unpacks to more than {mb:,.0f} MB, which is more than can "
                    "be read. Split it into smaller workbooks, or save it as CSV UTF-8.",
                    mb=reason["limit"] / 2**20,
                ),
            )
        if reason["code"] != "memory":
            return UnreadableFile.one("unreadable", reason["message"])
    elif code == -signal.SIGXCPU:  # out of CPU time (a SIGKILL is the memory message)
        return FileLimitExceeded.one(
            "too_large",
            Text(
                "Reading the workbook took more than {minutes} minutes. Split it into "
                "smaller workbooks, or save it as CSV UTF-8.",
                minutes=_CPU_SECONDS // 60,
            ),
        )
    return FileLimitExceeded.one(
        "too_large",
        Text(
            "The workbook needs more than {mb:,} MB of memory to read (Excel keeps every "
            "cell of a sheet in memory). Split it into smaller workbooks, or save it as CSV "
            "UTF-8 (File → Save As → CSV UTF-8), which is read a column at a time.",
            mb=memory_mb,
        ),
    )


def _text_too_large(max_bytes: int) -> CsvFileError:
    return FileLimitExceeded.one(
        "too_large",
        Text(
            "The workbook holds more than {mb:,.0f} MB of text, the most a file can hold. "
            "Split it into smaller workbooks.",
            mb=max_bytes / 2**20,
        ),
    )


def check_unpacked_size(path: str, limit: int) -> None:
    """Refuse a workbook that unpacks to more than ``limit`` bytes (a zip bomb) or is
    damaged. The members are unpacked here, a megabyte at a time, and counted: sizes written
    in the archive can lie.

    Raises ``_Refused`` for a zip bomb or a damaged archive.
    """
    unpacked = 0
    try:
        with zipfile.ZipFile(path) as archive:
            if sum(info.file_size for info in archive.infolist()) > limit:
                raise _Refused("unpacked", limit=limit)
            for info in archive.infolist():
                with archive.open(info) as member:
                    while chunk := member.read(2**20):
                        unpacked += len(chunk)
                        if unpacked > limit:
                            raise _Refused("unpacked", limit=limit)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, zlib.error):
        raise _Refused("unreadable", message="The Excel workbook is damaged.") from None


class _Refused(Exception):
    """The child's reason to refuse a workbook, sent to the parent as JSON."""

    def __init__(self, code: str, **details: object) -> None:
        super().__init__(code)
        self.reason = {"code": code, **details}


def _read(path: str, max_unpacked: int, max_rows: int, out: io.TextIOBase) -> None:
    """Write the first sheet of the workbook at ``path`` to ``out`` as CSV."""
    from python_calamine import CalamineError, CalamineWorkbook

    check_unpacked_size(path, max_unpacked)
    try:
        sheet = CalamineWorkbook.from_path(path).get_sheet_by_index(0)
        rows = sheet.iter_rows()
    except (CalamineError, ValueError, IndexError) as exc:
        raise _Refused("unreadable", message=f"The Excel workbook cannot be read: {exc}") from None
    writer = csv.writer(out, lineterminator="\r\n")
    filled = -1  # the header is not a row of users
    for row in rows:
        cells = [_xlsx_cell(value) for value in row]
        if any(cells):
            filled += 1
            if filled > max_rows:
                raise _Refused("too_many_rows")
        writer.writerow(cells)


def _xlsx_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ") if value.time() != dt.time() else value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _cap_memory(memory_mb: int) -> None:
    """Cap this process's address space at ``memory_mb`` MB above what it maps now, and its
    CPU time at ``_CPU_SECONDS``."""
    with open("/proc/self/status") as status:
        mapped = next(int(line.split()[1]) for line in status if line.startswith("VmSize:"))
    cap = mapped * 1024 + memory_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    resource.setrlimit(resource.RLIMIT_CPU, (_CPU_SECONDS, _CPU_SECONDS + 5))


def main(argv: list[str]) -> int:
    """The child: ``PATH MAX_UNPACKED MAX_ROWS MEMORY_MB`` -> the sheet as CSV on stdout."""
    path, max_unpacked, max_rows, memory_mb = argv[0], *map(int, argv[1:4])
    _cap_memory(memory_mb)
    out = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="", write_through=False)
    try:
        _read(path, max_unpacked, max_rows, out)
        out.flush()
    except _Refused as refused:
        reason = refused.reason
    except MemoryError:
        reason = {"code": "memory"}
    else:
        return 0
    sys.stderr.write(json.dumps(reason) + "\n")
    return _REFUSED


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
