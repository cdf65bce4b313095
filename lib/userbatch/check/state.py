"""The state of a check: the checked table kept by column, and what a result is read as.

A ``CheckResult`` holds, per row, the normalised cells, the key that finds the user, the
e-mail key, the status and the existing user's id, and the issues and changes of the rows
that have some. ``CheckedSheet`` is the check of an uploaded sheet: the same, plus the sheet
(its file name, encoding and notices) for the screens, the CLI and the stored batch. The
checking itself lives in ``userbatch.check.run`` and ``userbatch.check.judge``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from userbatch.check.issues import Issue
from userbatch.check.lookup import Lookup
from userbatch.check.rules import STATUSES as USER_STATUSES
from userbatch.directory.fields import ColumnSpec, login_ids_in_use
from userbatch.directory.groups import GroupInfo
from userbatch.files.reader import Sheet, Table
from userbatch.i18n import N_, Words

STATUSES = ("new", "update", "unchanged", "error")
# The status of a user a complete list leaves out: not a row of the file.
SUSPEND = "suspend"
# What each status is called (message ids, shown through the catalogue).
STATUS_NAMES = {"new": N_("New"), "update": N_("Update"), "unchanged": N_("Unchanged"),
                "error": N_("Error")}  # fmt: skip
# What a blank cell of an update does: keep the user's value, or clear it.
BLANK_KEEP, BLANK_CLEAR = "keep", "clear"


def suspension_changes(status: str) -> dict[str, list[str]]:
    """The change a complete list's suspension makes, shown like an update's: the user's
    status (a stored word, e.g. 'valid') to Suspended."""
    return {"Status": [USER_STATUSES.get(status, status), USER_STATUSES["suspended"]]}


@dataclass(frozen=True)
class CheckOptions:
    """Who checks, where and how: the columns in use, the working group, the operator's
    scope, what a blank cell of an update does, and whether the file is a complete list of
    the working group's users (who it leaves out are suspended)."""

    columns: list[ColumnSpec]
    working_group: GroupInfo
    scope_path: str = ""
    min_password_length: int = 8
    blank: str = BLANK_KEEP
    complete: bool = False


@dataclass(slots=True)
class RowResult:
    """One checked row: its number, status, key, issues, changes and existing user."""

    row: int
    status: str
    key: str
    issues: list[Issue] = field(default_factory=list)
    # Column label -> (old, new), for updates.
    changes: dict[str, tuple[str, str]] = field(default_factory=dict)
    user_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """The row as the ``--json`` document lists it (SPEC §8)."""
        return row_document(self.row, self.status, self.key, self.issues, self.changes)


def row_document(
    row: int, status: str, key: str, issues: Iterable[Issue],
    changes: Mapping[str, tuple[str, str]],
) -> dict[str, Any]:  # fmt: skip
    """A row as the ``--json`` document lists it (SPEC §8)."""
    return {
        "row": row,
        "status": status,
        "key": key,
        "issues": [issue.as_dict() for issue in issues],
        "changes": {label: list(change) for label, change in changes.items()},
    }


class CheckResult:
    """A checked table, kept by column: a status, key and user id per row, the issues and
    changes of the rows that have some, and what an incremental re-check needs.

    ``rows[n]`` (or ``ordered()``) gives a row's ``RowResult``. A new result has every row
    ``new`` and no issues: ``userbatch.check.run`` checks it.
    """

    def __init__(self, table: Table, options: CheckOptions, lookup: Lookup) -> None:
        self.table = table
        self.options = options
        self.lookup = lookup
        self.by_login = login_ids_in_use(options.columns)
        self.label_of = dict(zip((c.key for c in table.columns), table.labels, strict=True))
        # The normalised cells: a copy that shares the columns no rule changes (copy on write).
        self.values = table.cells.copy(deep=False)
        index = table.cells.index
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
        # Each Belong to text judged so far -> its (code, message) problems.
        self.group_problems: dict[str, list[tuple[str, Words, str | None]]] = {}
        # A complete list's roster: by user id, the key, name and status of each user it
        # must name (those of the working group and below, in the operator's scope, who are
        # not suspended).
        self.roster: pd.DataFrame | None = None

    @property
    def rows(self) -> Mapping[int, RowResult]:
        """The rows by number, each ``RowResult`` made when asked for."""
        return _Rows(self)

    @property
    def counts(self) -> dict[str, int]:
        """The number of rows of each status, every status named (and, for a complete list,
        the users it leaves out, to suspend)."""
        counted = self.status.value_counts()
        counts = {status: int(counted.get(status, 0)) for status in STATUSES}
        if self.roster is not None:
            counts[SUSPEND] = len(self.missing)
        return counts

    @property
    def missing(self) -> pd.DataFrame:
        """A complete list's users that no row names (key, name, status by user id); none
        for a file that is not a complete list."""
        if self.roster is None:
            return pd.DataFrame(columns=["key", "name", "status"], dtype=str)
        return self.roster[~self.roster.index.isin(self.user_ids.to_numpy())]

    def suspended(self) -> list[dict[str, Any]]:
        """The users a complete list leaves out, as the ``--json`` document lists them: rows
        of status suspend with no row number."""
        missing = self.missing
        return [
            {"row": None, "status": SUSPEND, "key": key, "issues": [],
             "changes": suspension_changes(status)}
            for key, status in zip(missing["key"].tolist(), missing["status"].tolist(),
                                   strict=True)
        ]  # fmt: skip

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
        """The row with this number. Raises ``KeyError`` for a number the table lacks."""
        status, user_id = self.status.at[number], int(self.user_ids.at[number])
        return self._row_result(number, status, self._shown_keys([number]).iat[0], user_id)

    def rows_of(self, numbers: list[int]) -> list[RowResult]:
        """The rows with these numbers, in that order, made at once (a page of the grid).
        Raises ``KeyError`` for a number the table lacks."""
        if not numbers:
            return []
        keys = self._shown_keys(numbers).tolist()
        statuses, user_ids = self.status.loc[numbers].tolist(), self.user_ids.loc[numbers].tolist()
        return [
            self._row_result(number, status, key, int(user_id))
            for number, status, key, user_id in zip(numbers, statuses, keys, user_ids, strict=True)
        ]

    def plain_rows(self) -> list[tuple[int, str, str, int | None]]:
        """Every row's number, status, key and existing user (None: none), in file order:
        ``ordered()`` without the issues and changes (``issues`` and ``changes`` hold them by
        row number), made a column at a time for a table of many rows."""
        return list(
            zip(
                self.status.index.tolist(),
                self.status.tolist(),
                self._shown_keys().tolist(),
                [user_id or None for user_id in self.user_ids.tolist()],
                strict=True,
            )
        )

    def ordered(self) -> list[RowResult]:
        """Every row, in file order."""
        return [self._row_result(*row) for row in self.plain_rows()]

    def _row_result(self, number: int, status: str, key: str, user_id: int | None) -> RowResult:
        issues = list(self.issues.get(number, ()))
        changes = dict(self.changes.get(number, {}))
        return RowResult(number, status, key, issues, changes, user_id or None)

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


class CheckedSheet(CheckResult):
    """The check of an uploaded sheet: a ``CheckResult`` whose table is ``sheet``."""

    def __init__(self, sheet: Sheet, options: CheckOptions, lookup: Lookup) -> None:
        super().__init__(sheet, options, lookup)
        self.sheet = sheet


class _Rows(Mapping[int, RowResult]):
    """A checked table's rows by number, each made when asked for."""

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
