"""Sheet + database -> a status, issues and changes for every row; incremental re-checks.

Every row is **new**, **update**, **unchanged** or **error**. ``check_sheet`` checks all rows;
``CheckResult.recheck`` applies edited cells and deleted rows and re-checks only what they
can affect (the edited rows and the rows that share an old or new key or e-mail with them),
through the same code path, so the result equals a full check of the edited sheet. The check
reads the database and writes nothing.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from userbatch.check.issues import Issue
from userbatch.check.lookup import Lookup
from userbatch.check.rules import RuleContext, check_column, shown, split_multi
from userbatch.crypto.passwords import is_argon2_hash
from userbatch.directory.fields import MESSAGE_LABEL, ColumnSpec, load_columns, login_ids_in_use
from userbatch.directory.groups import GroupInfo, in_scope
from userbatch.files.reader import Sheet, read_sheet
from userbatch.settings import Settings

STATUSES = ("new", "update", "unchanged", "error")
# Fields whose blank cell keeps an existing user's value.
BLANK_KEEPS = ("password", "status", "belong_to")

# A duplicate's message names at most this many of the other rows.
MAX_ROWS_NAMED = 10


@dataclass(frozen=True)
class CheckOptions:
    """Who checks, where: the columns in use, the working group and the operator's scope."""

    columns: list[ColumnSpec]
    working_group: GroupInfo
    scope_path: str = ""
    min_password_length: int = 8


@dataclass(slots=True)
class RowResult:
    row: int
    status: str
    key: str
    issues: list[Issue] = field(default_factory=list)
    # Column label -> (old, new), for updates.
    changes: dict[str, tuple[str, str]] = field(default_factory=dict)
    user_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "status": self.status,
            "key": self.key,
            "issues": [issue.as_dict() for issue in self.issues],
            "changes": {label: list(change) for label, change in self.changes.items()},
        }


class CheckResult:
    """The checked sheet, kept by column: a status, key and user id per row, the issues and
    changes of the rows that have some, and what an incremental re-check needs.

    ``rows[n]`` (or ``ordered()``) gives a row's ``RowResult``.
    """

    def __init__(self, sheet: Sheet, options: CheckOptions, lookup: Lookup) -> None:
        self.sheet = sheet
        self.options = options
        self.lookup = lookup
        self.by_login = login_ids_in_use(options.columns)
        self.rule_context = RuleContext(self.by_login, options.min_password_length)
        self.labels = dict(zip((c.key for c in sheet.columns), sheet.labels, strict=True))
        # The normalised cells: a copy that shares the columns no rule changes (copy on write).
        self.values = sheet.cells.copy(deep=False)
        index = sheet.cells.index
        # Per row: the key that finds the user (login ID, or e-mail key without login IDs)
        # and the e-mail key; "" when blank.
        self.keys = pd.Series("", index=index, dtype=str)
        self.emails = pd.Series("", index=index, dtype=str)
        self.status = pd.Series("new", index=index, dtype=object)
        self.user_ids = pd.Series(0, index=index, dtype="int64")  # 0: no existing user
        # Only rows that have some: issues of the row's own cells, all issues, changes.
        self.local: dict[int, list[Issue]] = {}
        self.issues: dict[int, list[Issue]] = {}
        self.changes: dict[int, dict[str, tuple[str, str]]] = {}
        self._group_problems: dict[str, list[tuple[str, str]]] = {}

    # -- results ---------------------------------------------------------------------------

    @property
    def rows(self) -> Mapping[int, RowResult]:
        return _Rows(self)

    @property
    def counts(self) -> dict[str, int]:
        counted = self.status.value_counts()
        return {status: int(counted.get(status, 0)) for status in STATUSES}

    @property
    def has_errors(self) -> bool:
        return bool((self.status == "error").any())

    def numbers(self, status: str | None = None) -> list[int]:
        """The row numbers in file order, all or those of one status."""
        index = self.status.index if status is None else self.status.index[self.status == status]
        numbers: list[int] = index.tolist()
        return numbers

    def records(self) -> dict[int, dict[str, str]]:
        """Each row's normalised cells by field key, by row number (a column at a time:
        ``DataFrame.to_dict`` walks Arrow-backed text cell by cell)."""
        names = list(self.values.columns)
        columns = [self.values[name].tolist() for name in names]
        rows = zip(*columns, strict=True) if columns else (() for _ in self.values.index)
        return {
            number: dict(zip(names, cells, strict=True))
            for number, cells in zip(self.values.index.tolist(), rows, strict=True)
        }

    def row(self, number: int) -> RowResult:
        status, user_id = self.status.at[number], int(self.user_ids.at[number])
        return self._row_result(number, status, self._shown_keys([number]).iat[0], user_id)

    def ordered(self) -> list[RowResult]:
        keys = self._shown_keys().tolist()
        numbers, statuses = self.status.index.tolist(), self.status.tolist()
        return [
            self._row_result(number, status, key, user_id)
            for number, status, key, user_id in zip(
                numbers, statuses, keys, self.user_ids.tolist(), strict=True
            )
        ]

    def _row_result(self, number: int, status: str, key: str, user_id: int) -> RowResult:
        issues = list(self.issues.get(number, ()))
        changes = dict(self.changes.get(number, {}))
        return RowResult(number, status, key, issues, changes, user_id or None)

    def error_report(self) -> tuple[list[str], list[list[str]]]:
        """The rows with errors as the file had them (with edits), plus a Message column."""
        header = [*self.sheet.labels, MESSAGE_LABEL]
        keys = [column.key for column in self.sheet.columns]
        numbers = self.numbers("error")
        cells = self.sheet.cells.loc[numbers, keys].values.tolist()
        rows = []
        for number, row_cells in zip(numbers, cells, strict=True):
            messages = [
                f"Row {number}" + (f", {issue.column}" if issue.column else "")
                + f": {issue.message}"
                for issue in self.issues.get(number, ())
                if issue.level == "error"
            ]  # fmt: skip
            rows.append([*map(str, row_cells), " / ".join(messages)])
        return header, rows

    def to_document(self) -> dict[str, Any]:
        """The check as the CLI's ``--json`` prints it."""
        return {
            "file": {
                "name": self.sheet.file_name,
                "encoding": self.sheet.encoding,
                "delimiter": self.sheet.delimiter,
                "rows": self.sheet.rows,
            },
            "file_errors": [],
            "notices": list(self.sheet.notices),
            "counts": self.counts,
            "rows": [result.as_dict() for result in self.ordered()],
        }

    def _shown_keys(self, numbers: list[int] | None = None) -> pd.Series:
        """The key each row (of ``numbers``, or every row) is shown by: the key it was
        checked by, else its login ID, else its e-mail."""
        keys = self.keys if numbers is None else self.keys.loc[numbers]
        values = self.values if numbers is None else self.values.loc[numbers]
        fallback = pd.Series("", index=keys.index, dtype=str)
        for name in ("email", "login_id"):  # the later wins
            if name in values.columns:
                fallback = values[name].where(values[name] != "", fallback)
        return keys.where(keys != "", fallback).astype(str)

    # -- checking --------------------------------------------------------------------------

    def check_rows(self, rows: pd.Index, *, also: Iterable[int] = ()) -> None:
        """(Re-)check the local rules of ``rows``, then judge them, ``also``, and every row
        that shares a key or an e-mail with them."""
        whole = len(rows) == len(self.values)
        self._check_cells(rows, whole)
        self._index(rows, whole)
        keys = self.keys[rows] if not whole else self.keys
        emails = self.emails[rows] if not whole else self.emails
        if self.by_login:
            self.lookup.ensure(keys, emails)
        else:
            self.lookup.ensure((), emails)
        if whole:
            affected = self.values.index
        else:
            sharing = self.keys.isin(set(keys) - {""}) | self.emails.isin(set(emails) - {""})
            extra = pd.Index([*also, *self.values.index[sharing]], dtype="int64")
            affected = self.values.index[self.values.index.isin(rows.union(extra))]
        self._judge(affected, whole)

    def recheck(self, edits: Mapping[int, Mapping[str, str]], deleted: Iterable[int] = ()) -> None:
        """Apply edited cells (row -> field key -> text) and deleted rows, then re-check
        what they can affect."""
        index = self.values.index
        gone = [row for row in dict.fromkeys(deleted) if row in index]
        edited = [row for row in edits if row in index and row not in gone]
        touched = gone + edited
        old_keys = set(self.keys[touched]) - {""}
        old_emails = set(self.emails[touched]) - {""}
        if gone:
            self.sheet.cells = self.sheet.cells.drop(index=gone)
            for name in ("values", "keys", "emails", "status", "user_ids"):
                setattr(self, name, getattr(self, name).drop(index=gone))
            for row in gone:
                for kept in (self.local, self.issues, self.changes):
                    kept.pop(row, None)
            self.sheet.widths = {r: w for r, w in self.sheet.widths.items() if r not in gone}
        for row in edited:
            for key, text in edits[row].items():
                self.sheet.cells.loc[row, key] = text.strip()
        sharing = self.keys.isin(old_keys) | self.emails.isin(old_emails)
        neighbours = self.values.index[sharing].tolist()
        self.check_rows(pd.Index(edited, dtype="int64"), also=neighbours)

    def _check_cells(self, rows: pd.Index, whole: bool) -> None:
        cells = self.sheet.cells if whole else self.sheet.cells.loc[rows]
        if whole:
            self.local.clear()
        else:
            for row in rows:
                self.local.pop(row, None)
        for row in rows[rows.isin(list(self.sheet.widths))]:
            # A quote opened and never closed swallows the line breaks after it.
            broken = any("\n" in cell or "\r" in cell for cell in cells.loc[row].tolist())
            self.local[row] = [
                Issue(
                    row, "", "wrong_cell_count",
                    f"This row has {self.sheet.widths[row]} cells but the header has "
                    f"{len(self.sheet.labels)} columns (or more): check for a missing or extra "
                    + ('comma, or a quote (") that is opened but never closed.' if broken
                       else "comma."),
                )
            ]  # fmt: skip
        for column, label in zip(self.sheet.columns, self.sheet.labels, strict=True):
            outcome = check_column(cells[column.key], column, self.rule_context)
            if whole:
                self.values[column.key] = outcome.cells
            else:
                _put(self.values, column.key, outcome.cells)
            for problem in outcome.problems:
                self.local.setdefault(problem.row, []).append(
                    Issue(
                        problem.row, label, problem.code, problem.message,
                        level="warning" if problem.warning else "error", field=column.key,
                    )
                )  # fmt: skip

    def _index(self, rows: pd.Index, whole: bool) -> None:
        values = self.values if whole else self.values.loc[rows]
        blank = pd.Series("", index=values.index, dtype=str)
        emails = values["email"].str.lower() if "email" in values.columns else blank
        keys = values["login_id"] if self.by_login and "login_id" in values.columns else emails
        if whole:
            self.keys, self.emails = keys.astype(str), emails.astype(str)
        else:
            _put(self, "keys", keys)
            _put(self, "emails", emails)

    # -- judging rows ----------------------------------------------------------------------

    def _judge(self, rows: pd.Index, whole: bool) -> None:
        """Judge ``rows`` (``whole``: every row) together: issues of their own cells,
        duplicates in the file, the existing user, groups and passwords; then their status."""
        values = self.values if whole else self.values.loc[rows]
        keys, emails = (self.keys, self.emails) if whole else (self.keys[rows], self.emails[rows])
        issues: dict[int, list[Issue]] = {
            row: list(self.local[row]) for row in self._with_local(rows)
        }

        def add(row: int, issue: Issue) -> None:
            issues.setdefault(row, []).append(issue)

        if self.by_login:
            for row, issue in self._duplicates(keys, self.keys, keys, "login_id"):
                add(row, issue)
        if "email" in values.columns:
            for row, issue in self._duplicates(emails, self.emails, values["email"], "email"):
                add(row, issue)
        users = self.lookup.users
        user_ids = self._existing_ids(keys)
        owners = emails.map(self.lookup.by_email).dropna().astype("int64")
        existing = user_ids[user_ids > 0]
        for row, user_id in existing[~existing.map(users["_visible"]).astype(bool)].items():
            add(row, Issue(
                row, self._label("login_id", "email"), "out_of_scope",
                f"The user '{users.at[user_id, '_login_id']}' is outside your groups; ask an "
                "administrator to change this user.",
            ))  # fmt: skip
        mine = user_ids.reindex(owners.index)
        other = mine != owners
        for row, owner, user_id in zip(
            owners.index[other].tolist(), owners[other].tolist(), mine[other].tolist(),
            strict=True,
        ):  # fmt: skip
            email, login = values.at[row, "email"], users.at[owner, "_login_id"]
            if user_id:
                add(row, Issue(
                    row, self._label("email"), "email_taken",
                    f"Email '{email}' already belongs to another user (login ID '{login}').",
                    field="email",
                ))  # fmt: skip
            else:
                add(row, Issue(
                    row, self._label("email"), "email_exists",
                    f"A user with the e-mail '{email}' already exists, with login ID "
                    f"'{login}'. Login IDs cannot be changed by CSV: to update that user, use "
                    f"login ID '{login}'; to change their login ID, use Edit user.",
                    field="email",
                ))  # fmt: skip
        changes = self._changes(values, existing)
        for row, issue in self._group_issues(values):
            add(row, issue)
        for row, issue in self._password_issues(values, user_ids):
            add(row, issue)
        self._store(rows, user_ids, issues, changes)

    def _store(
        self,
        rows: pd.Index,
        user_ids: pd.Series,
        issues: dict[int, list[Issue]],
        changes: dict[int, dict[str, tuple[str, str]]],
    ) -> None:
        if len(rows) == len(self.values):
            self.issues, self.changes = issues, changes
        else:
            for row in rows:
                self.issues.pop(row, None)
                self.changes.pop(row, None)
            self.issues.update(issues)
            self.changes.update(changes)
        status = pd.Series(np.where(user_ids > 0, "unchanged", "new"), index=rows, dtype=object)
        status[status.index.isin(list(changes))] = "update"
        errors = [row for row, found in issues.items() if any(i.level == "error" for i in found)]
        status[errors] = "error"
        self.status.loc[rows] = status
        self.user_ids.loc[rows] = user_ids

    def _with_local(self, rows: pd.Index) -> list[int]:
        if len(rows) > len(self.local):
            return [row for row in pd.Index(list(self.local), dtype="int64").intersection(rows)]
        return [row for row in rows if row in self.local]

    def _existing_ids(self, keys: pd.Series) -> pd.Series:
        """The id of the user each row's key finds, 0 for none."""
        found = keys.map(self.lookup.by_login if self.by_login else self.lookup.by_email)
        return found.fillna(0).astype("int64")

    def _label(self, *keys: str) -> str:
        for key in keys:
            if key in self.labels:
                return self.labels[key]
        return ""

    def _duplicates(
        self, keys: pd.Series, whole: pd.Series, values: pd.Series, key: str
    ) -> Iterable[tuple[int, Issue]]:
        """An issue for each of ``keys``' rows whose key is on another row of the sheet too."""
        filled = keys[keys != ""]
        if filled.empty:
            return
        sharing = whole[whole.isin(filled.unique())] if len(keys) < len(whole) else whole
        repeated = sharing[sharing.duplicated(keep=False) & (sharing != "")]
        if repeated.empty:
            return
        # The first rows of each repeated key (a key repeated on n rows would otherwise cost
        # n² to list) and how many rows have it.
        first: dict[str, list[int]] = {}
        counted: Counter[str] = Counter()
        for row, value in zip(repeated.index.tolist(), repeated.tolist(), strict=True):
            counted[value] += 1
            if counted[value] <= MAX_ROWS_NAMED + 1:
                first.setdefault(value, []).append(row)
        label = self._label(key)
        code = f"duplicate_{'login_id' if key == 'login_id' else 'email'}"
        for row, value in filled[filled.isin(list(first))].items():
            others = [other for other in first[value] if other != row][:MAX_ROWS_NAMED]
            more = counted[value] - 1 - len(others)
            also = ", ".join(map(str, others)) + (f" and {more:,} more" if more else "")
            yield row, Issue(
                row, label, code,
                f"{label} '{shown(values[row])}' appears more than once in the file (also row"
                f"{'s' if counted[value] > 2 else ''} {also}).",
                field=key,
            )  # fmt: skip

    def _group_issues(self, values: pd.DataFrame) -> Iterable[tuple[int, Issue]]:
        if "belong_to" not in values.columns:
            return
        cells = values["belong_to"]
        filled = cells[cells != ""]
        bad = []
        for cell in filled.unique().tolist():
            problems = self._group_problems.get(cell)
            if problems is None:  # most cells repeat a few paths: judge each text once
                problems = self._group_problems[cell] = self._judge_groups(cell)
            if problems:
                bad.append(cell)
        label = self._label("belong_to")
        for row, cell in filled[filled.isin(bad)].items():
            for code, text in self._group_problems[cell]:
                yield row, Issue(row, label, code, text, field="belong_to")

    def _judge_groups(self, cell: str) -> list[tuple[str, str]]:
        """(code, message) for each group of a Belong to cell that is unknown or out of scope."""
        problems = []
        for path in split_multi(cell):
            if path not in self.lookup.group_ids:
                close = difflib.get_close_matches(path, list(self.lookup.group_ids), n=1)
                hint = f" Did you mean '{close[0]}'?" if close and close[0] else ""
                problems.append((
                    "unknown_group",
                    f"The group '{shown(path)}' does not exist.{hint} Create it under Groups, or "
                    "fix the path (parent first, like Sales>>Tokyo).",
                ))  # fmt: skip
            elif not in_scope(path, self.options.scope_path):
                problems.append((
                    "out_of_scope",
                    f"The group '{shown(path)}' is outside your groups "
                    f"('{self.options.scope_path}' and below).",
                ))  # fmt: skip
        return problems

    def _password_issues(
        self, values: pd.DataFrame, user_ids: pd.Series
    ) -> Iterable[tuple[int, Issue]]:
        if "password" not in values.columns:
            return
        passwords = values["password"]
        filled = passwords[passwords != ""]
        if filled.empty:
            return
        found = user_ids[filled.index]
        logins = found.map(self.lookup.users["_login_id"]).astype(object)
        if "login_id" in values.columns:  # a new user's login ID is the one typed
            logins = logins.where(found > 0, values.loc[filled.index, "login_id"])
        label = self._label("password")
        for row, password, login in zip(
            filled.index.tolist(), filled.tolist(), logins.fillna("").tolist(), strict=True
        ):
            if is_argon2_hash(password) or not login or login.lower() not in password.lower():
                continue
            yield row, Issue(
                row, label, "password_policy", f"{label} must not contain the login ID.",
                field="password",
            )  # fmt: skip

    def _changes(
        self, values: pd.DataFrame, user_ids: pd.Series
    ) -> dict[int, dict[str, tuple[str, str]]]:
        """Column label -> (old, new) for each row of an existing user that changes it."""
        changes: dict[int, dict[str, tuple[str, str]]] = {}
        if user_ids.empty:
            return changes
        users, existing = self.lookup.users, user_ids.index
        positions = users.index.get_indexer(user_ids.to_numpy())

        def old(key: str) -> pd.Series:  # a column at a time: a check may update a million
            column = users[key].iloc[positions]
            column.index = existing
            return column

        for column in self.sheet.columns:
            if column.key == "login_id":
                continue
            new = values[column.key].loc[existing]
            if column.key == "password":
                hashes = old("_hash")
                changed = (new != "") & (new.astype(object) != hashes)
                rows, was_set = new.index[changed].tolist(), hashes[changed].tolist()
                for row, was in zip(rows, was_set, strict=True):
                    before = "(set)" if was else "(none)"
                    changes.setdefault(row, {})[column.label] = (before, "(new password)")
                continue
            before = old(column.key)
            changed = new != before
            if column.key in BLANK_KEEPS:
                changed &= new != ""
            is_set = column.key == "belong_to" or column.type == "checkbox"
            for row, was, now in zip(
                new.index[changed].tolist(), before[changed].tolist(), new[changed].tolist(),
                strict=True,
            ):  # fmt: skip
                if is_set and set(split_multi(was)) == set(split_multi(now)):
                    continue
                changes.setdefault(row, {})[column.label] = (was, now)
        return changes


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


class _Rows(Mapping[int, RowResult]):
    """A checked sheet's rows by number, each made when asked for."""

    def __init__(self, result: CheckResult) -> None:
        self._result = result

    def __getitem__(self, number: int) -> RowResult:
        if number not in self._result.status.index:
            raise KeyError(number)
        return self._result.row(number)

    def __iter__(self) -> Iterator[int]:
        return iter(self._result.status.index.tolist())

    def __len__(self) -> int:
        return len(self._result.status)


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
) -> CheckResult:
    """Read an uploaded file with the current input field settings and check it.

    Raises a ``CsvFileError`` subclass for a problem of the whole file.
    """
    columns = load_columns(engine)
    sheet = read_sheet(
        data, file_name=file_name, columns=columns, encoding=encoding, delimiter=delimiter,
        max_bytes=settings.max_upload_mb * 2**20, max_rows=settings.max_rows,
    )  # fmt: skip
    options = CheckOptions(
        columns=columns, working_group=working_group, scope_path=scope_path,
        min_password_length=settings.password_min_length,
    )  # fmt: skip
    return check_sheet(engine, sheet, options)


def check_sheet(engine: Engine, sheet: Sheet, options: CheckOptions) -> CheckResult:
    """Check every row of ``sheet`` against the rules and the database; writes nothing."""
    result = CheckResult(sheet, options, Lookup(engine, options.columns, options.scope_path))
    result.check_rows(sheet.cells.index)
    return result
