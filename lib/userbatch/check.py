"""Sheet + database -> a status, issues and changes for every row; incremental re-checks.

Every row is **new**, **update**, **unchanged** or **error**. ``check_sheet`` checks all rows;
``CheckResult.recheck`` applies edited cells and deleted rows and re-checks only what they
can affect (the edited rows and the rows that share an old or new key or e-mail with them),
through the same code path, so the result equals a full check of the edited sheet. The check
reads the database and writes nothing.
"""

from __future__ import annotations

import difflib
import heapq
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from userbatch.csvfile import Sheet, read_sheet
from userbatch.fields import ColumnSpec, load_columns, login_ids_in_use
from userbatch.groups import GroupInfo, in_scope
from userbatch.issues import Issue
from userbatch.lookup import ExistingUser, Lookup
from userbatch.passwords import is_argon2_hash
from userbatch.rules import RuleContext, check_column, split_multi
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


@dataclass
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
    """The checked sheet. Keeps what an incremental re-check needs."""

    def __init__(self, sheet: Sheet, options: CheckOptions, lookup: Lookup) -> None:
        self.sheet = sheet
        self.options = options
        self.lookup = lookup
        self.by_login = login_ids_in_use(options.columns)
        self.rule_context = RuleContext(self.by_login, options.min_password_length)
        self.values = sheet.cells.copy()  # normalised cells
        self.local: dict[int, list[Issue]] = {}
        self.keys: dict[int, str] = {}
        self.emails: dict[int, str] = {}
        self.key_rows: dict[str, set[int]] = {}
        self.email_rows: dict[str, set[int]] = {}
        self.rows: dict[int, RowResult] = {}
        # The first rows of each duplicated key or e-mail, found once per judging pass (a
        # value repeated on n rows would otherwise cost n² to list).
        self._first_rows: dict[int, list[int]] = {}
        self._group_problems: dict[str, list[tuple[str, str]]] = {}

    # -- results ---------------------------------------------------------------------------

    @property
    def counts(self) -> dict[str, int]:
        counted = Counter(result.status for result in self.rows.values())
        return {status: counted.get(status, 0) for status in STATUSES}

    @property
    def has_errors(self) -> bool:
        return any(result.status == "error" for result in self.rows.values())

    def ordered(self) -> list[RowResult]:
        return [self.rows[row] for row in self.values.index]

    def error_report(self) -> tuple[list[str], list[list[str]]]:
        """The rows with errors as the file had them (with edits), plus a Message column."""
        header = [*self.sheet.labels, "Message"]
        keys = [column.key for column in self.sheet.columns]
        rows = []
        for result in self.ordered():
            if result.status != "error":
                continue
            cells = [str(self.sheet.cells.at[result.row, key]) for key in keys]
            messages = [
                f"Row {result.row}"
                + (f", {issue.column}" if issue.column else "")
                + f": {issue.message}"
                for issue in result.issues
                if issue.level == "error"
            ]
            rows.append([*cells, " / ".join(messages)])
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

    # -- checking --------------------------------------------------------------------------

    def check_rows(self, rows: pd.Index, *, also: Iterable[int] = ()) -> None:
        """(Re-)check the local rules of ``rows``, then judge them, ``also``, and every row
        that shares a key or an e-mail with them."""
        self._check_cells(rows)
        self._index(rows)
        keys = {self.keys[r] for r in rows if r in self.keys}
        emails = {self.emails[r] for r in rows if r in self.emails}
        if self.by_login:
            self.lookup.ensure(keys, emails)
        else:
            self.lookup.ensure((), emails | keys)
        affected = set(rows) | set(also)
        for key in keys:
            affected |= self.key_rows[key]
        for key in emails:
            affected |= self.email_rows[key]
        frame = self.values[self.values.index.isin(affected)]
        fields = list(frame.columns)
        columns = [frame[name].tolist() for name in fields]
        records = zip(*columns, strict=True) if columns else ([] for _ in frame.index)
        self._first_rows.clear()
        for row, cells in zip(frame.index.tolist(), records, strict=True):
            self.rows[row] = self._judge(row, dict(zip(fields, cells, strict=True)))

    def recheck(self, edits: Mapping[int, Mapping[str, str]], deleted: Iterable[int] = ()) -> None:
        """Apply edited cells (row -> field key -> text) and deleted rows, then re-check
        what they can affect."""
        gone = [row for row in deleted if row in self.local]
        edited = [row for row in edits if row in self.local and row not in gone]
        neighbours: set[int] = set()
        for row in gone:
            neighbours |= self._unindex(row)
            del self.local[row], self.rows[row]
        if gone:
            self.sheet.cells = self.sheet.cells.drop(index=gone)
            self.values = self.values.drop(index=gone)
            self.sheet.widths = {r: w for r, w in self.sheet.widths.items() if r not in gone}
        for row in edited:
            for key, text in edits[row].items():
                self.sheet.cells.loc[row, key] = text.strip()
            neighbours |= self._unindex(row)
        self.check_rows(pd.Index(edited, dtype="int64"), also=neighbours - set(gone))

    def _check_cells(self, rows: pd.Index) -> None:
        cells = self.sheet.cells.loc[rows]
        for row in rows:
            self.local[row] = []
            width = self.sheet.widths.get(row)
            if width is not None:
                self.local[row].append(
                    Issue(
                        row, "", "wrong_cell_count",
                        f"This row has {width} cells but the header has "
                        f"{len(self.sheet.labels)} columns (or more): check for a missing or "
                        "extra comma.",
                    )
                )  # fmt: skip
        for column, label in zip(self.sheet.columns, self.sheet.labels, strict=True):
            outcome = check_column(cells[column.key], column, self.rule_context)
            self.values.loc[rows, column.key] = outcome.cells
            for problem in outcome.problems:
                self.local[problem.row].append(
                    Issue(
                        problem.row, label, problem.code, problem.message,
                        level="warning" if problem.warning else "error", field=column.key,
                    )
                )  # fmt: skip

    def _index(self, rows: pd.Index) -> None:
        blank = [""] * len(rows)
        has_email = "email" in self.values.columns
        emails = self.values.loc[rows, "email"].str.lower().tolist() if has_email else blank
        if self.by_login and "login_id" in self.values.columns:
            keys = self.values.loc[rows, "login_id"].tolist()
        else:
            keys = emails
        for row, key, email in zip(rows, keys, emails, strict=True):
            if key:
                self.keys[row] = key
                self.key_rows.setdefault(key, set()).add(row)
            if email:
                self.emails[row] = email
                self.email_rows.setdefault(email, set()).add(row)

    def _unindex(self, row: int) -> set[int]:
        """Forget the row's key and e-mail; returns the rows that shared them."""
        neighbours: set[int] = set()
        key = self.keys.pop(row, None)
        if key is not None:
            self.key_rows[key].discard(row)
            neighbours |= self.key_rows[key]
        email = self.emails.pop(row, None)
        if email is not None:
            self.email_rows[email].discard(row)
            neighbours |= self.email_rows[email]
        return neighbours

    # -- judging one row -------------------------------------------------------------------

    def _judge(self, row: int, values: dict[str, str]) -> RowResult:
        issues = list(self.local[row])
        key = self.keys.get(row, "")
        email = self.emails.get(row, "")
        if key and len(self.key_rows[key]) > 1 and (self.by_login or not email):
            issues.append(self._duplicate(row, "login_id", key, self.key_rows[key]))
        if email and len(self.email_rows[email]) > 1:
            issues.append(self._duplicate(row, "email", values["email"], self.email_rows[email]))
        existing = self._existing(key)
        owner = self.lookup.by_email.get(email) if email else None
        result = RowResult(row, "new", key or self._shown_key(values))
        if existing is not None:
            result.user_id = existing.id
            if not existing.visible_to(self.options.scope_path):
                issues.append(
                    Issue(
                        row, self._label("login_id", "email"), "out_of_scope",
                        f"The user '{existing.login_id}' is outside your groups; ask an "
                        "administrator to change this user.",
                    )
                )  # fmt: skip
            if owner is not None and owner.id != existing.id:
                issues.append(
                    Issue(
                        row, self._label("email"), "email_taken",
                        f"Email '{values['email']}' already belongs to another user "
                        f"(login ID '{owner.login_id}').",
                        field="email",
                    )
                )  # fmt: skip
            result.changes = self._changes(values, existing)
            result.status = "update" if result.changes else "unchanged"
        elif owner is not None:
            issues.append(
                Issue(
                    row, self._label("email"), "email_exists",
                    f"A user with the e-mail '{values['email']}' already exists, with login ID "
                    f"'{owner.login_id}'. Login IDs cannot be changed by CSV: to update that "
                    f"user, use login ID '{owner.login_id}'; to change their login ID, use Edit "
                    "user.",
                    field="email",
                )
            )  # fmt: skip
        issues += self._group_issues(row, values)
        issues += self._password_issues(row, values, existing)
        result.issues = issues
        if any(issue.level == "error" for issue in issues):
            result.status = "error"
        return result

    def _existing(self, key: str) -> ExistingUser | None:
        if not key:
            return None
        return (self.lookup.by_login if self.by_login else self.lookup.by_email).get(key)

    def _shown_key(self, values: dict[str, str]) -> str:
        for key in ("login_id", "email"):
            if values.get(key):
                return str(values[key])
        return ""

    def _label(self, *keys: str) -> str:
        for key in keys:
            if any(column.key == key for column in self.sheet.columns):
                return self.sheet.label(key)
        return ""

    def _duplicate(self, row: int, key: str, value: str, rows: set[int]) -> Issue:
        first = self._first_rows.get(id(rows))
        if first is None:
            first = self._first_rows[id(rows)] = heapq.nsmallest(MAX_ROWS_NAMED + 1, rows)
        others = [other for other in first if other != row][:MAX_ROWS_NAMED]
        more = len(rows) - 1 - len(others)
        also = ", ".join(str(other) for other in others) + (f" and {more:,} more" if more else "")
        label = self._label(key)
        return Issue(
            row, label, f"duplicate_{'login_id' if key == 'login_id' else 'email'}",
            f"{label} '{value}' appears more than once in the file (also row"
            f"{'s' if len(rows) > 2 else ''} {also}).",
            field=key,
        )  # fmt: skip

    def _group_issues(self, row: int, values: dict[str, str]) -> list[Issue]:
        cell = values.get("belong_to")
        if not cell:
            return []
        problems = self._group_problems.get(cell)
        if problems is None:  # most cells repeat a few paths: judge each text once
            problems = self._group_problems[cell] = self._judge_groups(cell)
        if not problems:
            return []
        label = self._label("belong_to")
        return [Issue(row, label, code, text, field="belong_to") for code, text in problems]

    def _judge_groups(self, cell: str) -> list[tuple[str, str]]:
        """(code, message) for each group of a Belong to cell that is unknown or out of scope."""
        problems = []
        for path in split_multi(cell):
            if path not in self.lookup.group_ids:
                close = difflib.get_close_matches(path, list(self.lookup.group_ids), n=1)
                hint = f" Did you mean '{close[0]}'?" if close and close[0] else ""
                problems.append((
                    "unknown_group",
                    f"The group '{path}' does not exist.{hint} Create it under Groups, or fix "
                    "the path (parent first, like Sales>>Tokyo).",
                ))  # fmt: skip
            elif not in_scope(path, self.options.scope_path):
                problems.append((
                    "out_of_scope",
                    f"The group '{path}' is outside your groups "
                    f"('{self.options.scope_path}' and below).",
                ))  # fmt: skip
        return problems

    def _password_issues(
        self, row: int, values: dict[str, str], existing: ExistingUser | None
    ) -> list[Issue]:
        if not values.get("password"):
            return []
        password = values["password"]
        login = existing.login_id if existing else values.get("login_id", "")
        if is_argon2_hash(password) or not login or login.lower() not in password.lower():
            return []
        return [
            Issue(
                row, self._label("password"), "password_policy",
                f"{self._label('password')} must not contain the login ID.", field="password",
            )
        ]  # fmt: skip

    def _changes(
        self, values: dict[str, str], existing: ExistingUser
    ) -> dict[str, tuple[str, str]]:
        changes = {}
        for column in self.sheet.columns:
            new = values[column.key]
            if column.key == "login_id" or (column.key in BLANK_KEEPS and not new):
                continue
            if column.key == "password":
                if new != existing.password_hash:
                    old = "(set)" if existing.password_hash else "(none)"
                    changes[column.label] = (old, "(new password)")
                continue
            old = existing.values.get(column.key, "")
            if old == new:
                continue
            is_set = column.key == "belong_to" or column.type == "checkbox"
            if is_set and set(split_multi(old)) == set(split_multi(new)):
                continue
            changes[column.label] = (old, new)
        return changes


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
