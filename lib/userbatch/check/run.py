"""Table + database -> a status, issues and changes for every row; incremental re-checks.

Every row is **new**, **update**, **unchanged** or **error**. ``check_file`` reads an upload
and checks it, ``check_sheet`` checks a sheet read already, ``check_rows`` checks stored
columns (a batch's rows, re-checked as it is applied), ``rejudge`` checks a sheet again with
other options (working group, blank cells, complete list). ``recheck`` applies edited cells and
deleted rows and re-checks only what they can affect (the edited rows and the rows that
share an old or new key or e-mail with them), through the same code path, so the result
equals a full check of the edited table. The check reads the database and writes nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import replace
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from userbatch.check import progress
from userbatch.check.issues import Issue
from userbatch.check.judge import judge
from userbatch.check.lookup import Lookup, roster
from userbatch.check.rules import RuleContext, check_column
from userbatch.check.state import BLANK_KEEP, CheckedSheet, CheckOptions, CheckResult
from userbatch.directory.fields import load_columns
from userbatch.directory.groups import GroupInfo
from userbatch.files.reader import Sheet, Table, read_sheet
from userbatch.i18n import Text
from userbatch.settings import Settings


def check_file(
    engine: Engine,
    settings: Settings,
    data: bytes,
    *,
    file_name: str,
    working_group: GroupInfo,
    scope_path: str,
    encoding: str | None = None,
    delimiter: str | None = None,
    blank: str = BLANK_KEEP,
    complete: bool = False,
    report: progress.Report = progress.quiet,
) -> CheckedSheet:
    """Read an uploaded file with the current input field settings and check it, telling
    ``report`` each step; returns the checked sheet.

    Raises a ``CsvFileError`` subclass for a problem of the whole file.
    """
    columns = load_columns(engine)
    report(progress.Step(progress.READING, 0.0))
    sheet = read_sheet(
        data, file_name=file_name, columns=columns, encoding=encoding, delimiter=delimiter,
        max_bytes=settings.max_upload_mb * 2**20, max_rows=settings.max_rows,
        workbook_mb=settings.workbook_memory_mb,
    )  # fmt: skip
    options = CheckOptions(
        columns=columns, working_group=working_group, scope_path=scope_path,
        min_password_length=settings.password_min_length, blank=blank, complete=complete,
    )  # fmt: skip
    return check_sheet(engine, sheet, options, report)


def check_sheet(
    engine: Engine, sheet: Sheet, options: CheckOptions, report: progress.Report = progress.quiet
) -> CheckedSheet:
    """Check every row of ``sheet`` against the rules and the database, telling ``report``
    each step; returns the checked sheet, which keeps ``sheet`` (edited in place by
    ``recheck``). Writes nothing."""
    lookup = Lookup(engine, options.columns, options.scope_path)
    result = CheckedSheet(sheet, options, lookup)
    if options.complete:
        result.roster = roster(
            engine, scope_path=options.scope_path, group_path=options.working_group.path,
            by_login=result.by_login,
        )  # fmt: skip
    _check(result, sheet.cells.index, report=report)
    return result


def rejudge(engine: Engine, result: CheckedSheet, **options: Any) -> CheckedSheet:
    """``result`` with these ``CheckOptions`` changed (the working group, what blank cells
    do, a complete list): ``result`` itself when it has them already, else its sheet (with
    the edits made so far) checked again. Writes nothing."""
    changed = replace(result.options, **options)
    if changed == result.options:
        return result
    # A blank "Belong to" means the working group, a blank cell keeps or clears: the rows
    # are judged anew.
    return check_sheet(engine, result.sheet, changed)


def check_rows(engine: Engine, cells: pd.DataFrame, options: CheckOptions) -> CheckResult:
    """Check stored rows against the rules and the database; returns the result. Writes
    nothing.

    ``cells`` holds the rows' text by field key (a column for each field checked, each a
    field of ``options.columns``), indexed by row number; every row has every column, so no
    row has a wrong number of cells. Raises ``KeyError`` for a column that is no such field.
    """
    by_key = {column.key: column for column in options.columns}
    columns = [by_key[key] for key in cells.columns]
    table = Table(columns=columns, labels=[column.label for column in columns], cells=cells)
    result = CheckResult(table, options, Lookup(engine, options.columns, options.scope_path))
    _check(result, cells.index)
    return result


def recheck(
    result: CheckResult, edits: Mapping[int, Mapping[str, str]], deleted: Iterable[int] = ()
) -> None:
    """Apply edited cells (row -> field key -> text) and deleted rows to ``result``'s table,
    then re-check what they can affect; ``result`` is updated in place. Rows the table lacks
    are ignored."""
    table = result.table
    index = result.values.index
    gone = [row for row in dict.fromkeys(deleted) if row in index]
    edited = [row for row in edits if row in index and row not in gone]
    touched = gone + edited
    old_keys = set(result.keys[touched]) - {""}
    old_emails = set(result.emails[touched]) - {""}
    if gone:
        table.cells = table.cells.drop(index=gone)
        for name in ("values", "keys", "emails", "status", "user_ids"):
            setattr(result, name, getattr(result, name).drop(index=gone))
        for row in gone:
            for kept in (result.local, result.issues, result.changes):
                kept.pop(row, None)
        table.widths = {r: w for r, w in table.widths.items() if r not in gone}
    for row in edited:
        for key, text in edits[row].items():
            table.cells.loc[row, key] = text.strip()
    # A column's rules read that column alone: only the edited columns' cells are checked again.
    fields = {key for row in edited for key in edits[row]}
    _check(result, pd.Index(edited, dtype="int64"), former=(old_keys, old_emails), fields=fields)


def _check(
    result: CheckResult,
    rows: pd.Index,
    *,
    former: tuple[Collection[str], Collection[str]] = ((), ()),
    report: progress.Report = progress.quiet,
    fields: Collection[str] | None = None,
) -> None:
    """(Re-)check the local rules of ``rows`` (of their ``fields`` only, when given: the
    other cells are as they were checked), then judge them and every row that shares a key
    or an e-mail with them, or one of the keys and e-mails of ``former`` (what edited and
    deleted rows had); each step is told to ``report``."""
    whole = len(rows) == len(result.values) and fields is None
    _check_cells(result, rows, whole, report, fields)
    _index(result, rows, whole)
    report(progress.at(progress.DIRECTORY))
    keys = result.keys[rows] if not whole else result.keys
    emails = result.emails[rows] if not whole else result.emails
    if result.by_login:
        result.lookup.ensure(keys, emails)
    else:
        result.lookup.ensure((), emails)
    index = result.values.index
    if whole:
        affected = index
    else:
        shared_keys = (set(keys) | set(former[0])) - {""}
        shared_emails = (set(emails) | set(former[1])) - {""}
        sharing = result.keys.isin(shared_keys) | result.emails.isin(shared_emails)
        affected = index[sharing.to_numpy() | index.isin(rows)]
    report(progress.at(progress.JUDGING))
    judge(result, affected, whole)


def _check_cells(
    result: CheckResult,
    rows: pd.Index,
    whole: bool,
    report: progress.Report,
    fields: Collection[str] | None = None,
) -> None:
    """Apply each column's rules (of ``fields`` only, when given) to the cells of ``rows``:
    their normalised cells go to ``result.values``, their problems (and a wrong number of
    cells) to ``result.local``, in the order of the columns."""
    table = result.table
    cells = table.cells if whole else table.cells.loc[rows]
    position = {column.key: number for number, column in enumerate(table.columns)}
    if whole:
        result.local.clear()
    else:
        for row in rows:
            issues = result.local.pop(row, ())
            if fields is not None:  # the issues of the columns not checked again stay
                kept = [i for i in issues if i.field in position and i.field not in fields]
                if kept:
                    result.local[row] = kept
    for row in rows[rows.isin(list(table.widths))]:
        result.local.setdefault(row, []).append(_cell_count_issue(table, row, cells.loc[row]))
    context = RuleContext(result.by_login, result.options.min_password_length)
    for number, (column, label) in enumerate(zip(table.columns, table.labels, strict=True)):
        if fields is not None and column.key not in fields:
            continue
        report(progress.cells_step(number, len(table.columns), label))
        outcome = check_column(cells[column.key], column, context)
        if whole:
            result.values[column.key] = outcome.cells
        else:
            _put(result.values, column.key, outcome.cells)
        for problem in outcome.problems:
            result.local.setdefault(problem.row, []).append(
                Issue(
                    problem.row, label, problem.code, problem.message,
                    level="warning" if problem.warning else "error", field=column.key,
                    suggestion=problem.suggestion,
                )
            )  # fmt: skip
    if fields is not None:  # the kept issues of other columns, and the new ones, in column order
        for row in rows:
            if row in result.local:
                result.local[row].sort(key=lambda issue: position.get(issue.field or "", -1))


def _cell_count_issue(table: Table, row: int, cells: pd.Series) -> Issue:
    """The issue of a row with more or fewer cells than the header has columns."""
    # A quote opened and never closed swallows the line breaks after it.
    broken = any("\n" in cell or "\r" in cell for cell in cells.tolist())
    return Issue(
        row, "", "wrong_cell_count",
        Text("This row has {cells} cells but the header has {columns} columns (or more): "
             "check for a missing or extra comma, or a quote (\") that is opened but never "
             "closed.", cells=table.widths[row], columns=len(table.labels))
        if broken
        else Text("This row has {cells} cells but the header has {columns} columns (or "
                  "more): check for a missing or extra comma.", cells=table.widths[row],
                  columns=len(table.labels)),
    )  # fmt: skip


def _index(result: CheckResult, rows: pd.Index, whole: bool) -> None:
    """Put the key that finds each of ``rows``' user, and its e-mail key, in ``result``."""
    values = result.values if whole else result.values.loc[rows]
    blank = pd.Series("", index=values.index, dtype=str)
    emails = values["email"].str.lower() if "email" in values.columns else blank
    keys = values["login_id"] if result.by_login and "login_id" in values.columns else emails
    if whole:
        result.keys, result.emails = keys.astype(str), emails.astype(str)
    else:
        _put(result, "keys", keys)
        _put(result, "emails", emails)


def _put(owner: Any, name: str, cells: pd.Series) -> None:
    """Write ``cells`` into the column (or attribute) ``name`` of ``owner``, only those that
    differ: writing into Arrow-backed text copies the whole column."""
    column = owner[name] if isinstance(owner, pd.DataFrame) else getattr(owner, name)
    changed = cells[column.loc[cells.index] != cells]
    if len(changed):
        column = column.copy()
        column.loc[changed.index] = changed
        if isinstance(owner, pd.DataFrame):
            owner[name] = column
        else:
            setattr(owner, name, column)
