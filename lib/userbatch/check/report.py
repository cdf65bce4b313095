"""A check, presented: the rows with errors as a file to fix, and the ``--json`` document."""

from __future__ import annotations

from typing import Any

from userbatch.check.state import CheckedSheet, CheckResult, row_document
from userbatch.directory.fields import MESSAGE_LABEL
from userbatch.errors import CsvFileError
from userbatch.i18n import _


def place(row: int, column: str) -> str:
    """Where an issue is, as a message names it: "Row 3, Email" (the row alone without a
    column)."""
    return _("Row {row}, {column}", row=row, column=column) if column else _("Row {row}", row=row)


def error_report(result: CheckResult) -> tuple[list[str], list[list[str]]]:
    """The header and rows of a file of the rows with errors, as the table has them (with
    edits), each with a Message column naming its errors."""
    table = result.table
    header = [*table.labels, MESSAGE_LABEL]
    keys = [column.key for column in table.columns]
    numbers = result.numbers("error")
    cells = table.cells.loc[numbers, keys].values.tolist()
    rows = []
    for number, row_cells in zip(numbers, cells, strict=True):
        messages = [
            f"{place(number, issue.column)}: {issue.message}"
            for issue in result.issues.get(number, ())
            if issue.level == "error"
        ]  # fmt: skip
        rows.append([*map(str, row_cells), " / ".join(messages)])
    return header, rows


def file_error_document(name: str, error: CsvFileError) -> dict[str, Any]:
    """The document of a file refused as a whole: its name, its errors and nothing checked."""
    return {
        "file": {"name": name, "encoding": None, "delimiter": None, "rows": 0},
        "file_errors": [
            {"code": code, "message": str(message)} for code, message in error.problems
        ],
        "notices": [],
        "counts": {"new": 0, "update": 0, "unchanged": 0, "error": 0},
        "rows": [],
    }


def to_document(result: CheckedSheet) -> dict[str, Any]:
    """The check as the CLI's ``--json`` prints it (SPEC §8): the file, its notices, the
    counts and every row."""
    sheet = result.sheet
    return {
        "file": {
            "name": sheet.file_name,
            "encoding": sheet.encoding,
            "delimiter": sheet.delimiter,
            "rows": sheet.rows,
        },
        "file_errors": [],
        "notices": [str(notice) for notice in sheet.notices],
        "counts": result.counts,
        "rows": [
            row_document(row, status, key, result.issues.get(row, ()), result.changes.get(row, {}))
            for row, status, key, _ in result.plain_rows()
        ]
        + result.suspended(),
    }
