"""Judging rows together: duplicates in the table, the existing user, groups, passwords.

``judge`` takes rows whose own cells are checked and indexed (``userbatch.check.run``) and
gives each its issues (its own cells' first), its changes to an existing user, and its
status: **error** with any error, else **update** with a change, else **unchanged** for an
existing user, else **new**.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Iterable

import numpy as np
import pandas as pd

from userbatch.check.issues import Issue
from userbatch.check.rules import shown, split_multi
from userbatch.check.state import BLANK_KEEP, CheckResult
from userbatch.crypto.passwords import is_argon2_hash
from userbatch.directory.fields import MULTI_SEPARATOR
from userbatch.directory.groups import in_scope
from userbatch.i18n import Both, Plural, Sentences, Text, Words, did_you_mean

# Fields whose blank cell keeps an existing user's value even when blank cells clear.
BLANK_KEEPS = ("password", "status", "belong_to")
# A duplicate's message names at most this many of the other rows.
MAX_ROWS_NAMED = 10


def judge(result: CheckResult, rows: pd.Index, whole: bool) -> None:
    """Judge ``rows`` of ``result`` (``whole``: every row) together and store their issues,
    changes, existing users and statuses in ``result``."""
    values = result.values if whole else result.values.loc[rows]
    keys, emails = (
        (result.keys, result.emails) if whole else (result.keys[rows], result.emails[rows])
    )
    issues: dict[int, list[Issue]] = {
        row: list(result.local[row]) for row in _with_local(result, rows)
    }

    def add(row: int, issue: Issue) -> None:
        issues.setdefault(row, []).append(issue)

    if result.by_login:
        for row, issue in _duplicates(result, keys, result.keys, keys, "login_id"):
            add(row, issue)
    if "email" in values.columns:
        for row, issue in _duplicates(result, emails, result.emails, values["email"], "email"):
            add(row, issue)
    lookup = result.lookup
    users = lookup.users
    user_ids = _existing_ids(result, keys)
    owners = emails.map(lookup.by_email).dropna().astype("int64")
    existing = user_ids[user_ids > 0]
    for row, user_id in existing[~existing.map(users["_visible"]).astype(bool)].items():
        add(row, Issue(
            row, _label(result, "login_id", "email"), "out_of_scope",
            Text("The user '{login}' is outside your groups; ask an administrator to change "
                 "this user.", login=users.at[user_id, "_login_id"]),
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
                row, _label(result, "email"), "email_taken",
                Text("Email '{email}' already belongs to another user (login ID '{login}').",
                     email=email, login=login),
                field="email",
            ))  # fmt: skip
        else:
            add(row, Issue(
                row, _label(result, "email"), "email_exists",
                Text("A user with the e-mail '{email}' already exists, with login ID "
                     "'{login}'. Login IDs cannot be changed by CSV: to update that user, use "
                     "login ID '{login}'; to change their login ID, use Edit user.",
                     email=email, login=login),
                field="email",
            ))  # fmt: skip
    changes = _changes(result, values, existing)
    for row, issue in _group_issues(result, values):
        add(row, issue)
    for row, issue in _password_issues(result, values, user_ids):
        add(row, issue)
    _store(result, rows, user_ids, issues, changes)


def _store(
    result: CheckResult,
    rows: pd.Index,
    user_ids: pd.Series,
    issues: dict[int, list[Issue]],
    changes: dict[int, dict[str, tuple[str, str]]],
) -> None:
    if len(rows) == len(result.values):
        result.issues, result.changes = issues, changes
    else:
        for row in rows:
            result.issues.pop(row, None)
            result.changes.pop(row, None)
        result.issues.update(issues)
        result.changes.update(changes)
    status = pd.Series(np.where(user_ids > 0, "unchanged", "new"), index=rows, dtype=object)
    status[status.index.isin(list(changes))] = "update"
    errors = [row for row, found in issues.items() if any(i.level == "error" for i in found)]
    status[errors] = "error"
    result.status.loc[rows] = status
    result.user_ids.loc[rows] = user_ids


def _with_local(result: CheckResult, rows: pd.Index) -> list[int]:
    """The rows of ``rows`` with issues of their own cells."""
    if len(rows) == len(result.values):  # every row
        return list(result.local)
    if len(rows) > len(result.local):
        shared: list[int] = pd.Index(list(result.local), dtype="int64").intersection(rows).tolist()
        return shared
    return [row for row in rows.tolist() if row in result.local]


def _existing_ids(result: CheckResult, keys: pd.Series) -> pd.Series:
    """The id of the user each row's key finds, 0 for none."""
    lookup = result.lookup
    found = keys.map(lookup.by_login if result.by_login else lookup.by_email)
    return found.fillna(0).astype("int64")


def _title(result: CheckResult, key: str) -> str | Both:
    """The name of the column of ``key`` in the reader's language, as messages say it."""
    return next(column.title for column in result.table.columns if column.key == key)


def _label(result: CheckResult, *keys: str) -> str:
    """The label of the first of ``keys`` the table has a column for; "" for none."""
    for key in keys:
        if key in result.label_of:
            return result.label_of[key]
    return ""


def _duplicates(
    result: CheckResult, keys: pd.Series, whole: pd.Series, values: pd.Series, key: str
) -> Iterable[tuple[int, Issue]]:
    """An issue for each of ``keys``' rows whose key is on another row of the table too."""
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
    label, title = _label(result, key), _title(result, key)
    code = f"duplicate_{'login_id' if key == 'login_id' else 'email'}"
    for row, value in filled[filled.isin(list(first))].items():
        others = [other for other in first[value] if other != row][:MAX_ROWS_NAMED]
        more = counted[value] - 1 - len(others)
        rows = ", ".join(map(str, others))
        also = Text("{rows} and {more:,} more", rows=rows, more=more) if more else rows
        yield row, Issue(
            row, label, code,
            Plural("{label} '{value}' appears more than once in the file (also row {also}).",
                   "{label} '{value}' appears more than once in the file (also rows {also}).",
                   counted[value] - 1, label=title, value=shown(values[row]),
                   also=also),
            field=key,
        )  # fmt: skip


def _group_issues(result: CheckResult, values: pd.DataFrame) -> Iterable[tuple[int, Issue]]:
    if "belong_to" not in values.columns:
        return
    cells = values["belong_to"]
    filled = cells[cells != ""]
    bad = []
    judged = result.group_problems
    for cell in filled.unique().tolist():
        problems = judged.get(cell)
        if problems is None:  # most cells repeat a few paths: judge each text once
            problems = judged[cell] = _judge_groups(result, cell)
        if problems:
            bad.append(cell)
    label = _label(result, "belong_to")
    for row, cell in filled[filled.isin(bad)].items():
        for code, text, suggestion in judged[cell]:
            yield row, Issue(row, label, code, text, field="belong_to", suggestion=suggestion)


def _judge_groups(result: CheckResult, cell: str) -> list[tuple[str, Words, str | None]]:
    """(code, message, suggestion) for each group of a Belong to cell that is unknown or out
    of scope; the suggestion is the cell with the unknown path replaced by the closest
    existing one."""
    problems: list[tuple[str, Words, str | None]] = []
    group_ids, scope_path = result.lookup.group_ids, result.options.scope_path
    paths = split_multi(cell)
    for path in paths:
        if path not in group_ids:
            close = difflib.get_close_matches(path, list(group_ids), n=1)
            suggestion = (
                MULTI_SEPARATOR.join(dict.fromkeys(close[0] if p == path else p for p in paths))
                if close and close[0] else None
            )  # fmt: skip
            unknown = Text("The group '{path}' does not exist.", path=shown(path))
            fix = Text("Create it under Groups, or fix the path (parent first, like Sales>>Tokyo).")
            problems.append((
                "unknown_group",
                Sentences(did_you_mean(unknown, shown(close[0]) if suggestion else None), fix),
                suggestion,
            ))  # fmt: skip
        elif not in_scope(path, scope_path):
            problems.append((
                "out_of_scope",
                Text("The group '{path}' is outside your groups ('{scope}' and below).",
                     path=shown(path), scope=scope_path),
                None,
            ))  # fmt: skip
    return problems


def _password_issues(
    result: CheckResult, values: pd.DataFrame, user_ids: pd.Series
) -> Iterable[tuple[int, Issue]]:
    if "password" not in values.columns:
        return
    passwords = values["password"]
    filled = passwords[passwords != ""]
    if filled.empty:
        return
    found = user_ids[filled.index]
    logins = found.map(result.lookup.users["_login_id"]).astype(object)
    if "login_id" in values.columns:  # a new user's login ID is the one typed
        logins = logins.where(found > 0, values.loc[filled.index, "login_id"])
    label, title = _label(result, "password"), _title(result, "password")
    for row, password, login in zip(
        filled.index.tolist(), filled.tolist(), logins.fillna("").tolist(), strict=True
    ):
        if is_argon2_hash(password) or not login or login.lower() not in password.lower():
            continue
        yield row, Issue(
            row, label, "password_policy",
            Text("{what} must not contain the login ID.", what=title),
            field="password",
        )  # fmt: skip


def _changes(
    result: CheckResult, values: pd.DataFrame, user_ids: pd.Series
) -> dict[int, dict[str, tuple[str, str]]]:
    """Column label -> (old, new) for each row of an existing user that changes it."""
    changes: dict[int, dict[str, tuple[str, str]]] = {}
    if user_ids.empty:
        return changes
    users, existing = result.lookup.users, user_ids.index
    positions = users.index.get_indexer(user_ids.to_numpy())

    def old(key: str) -> pd.Series:  # a column at a time: a check may update a million
        column = users[key].iloc[positions]
        column.index = existing
        return column

    for column in result.table.columns:
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
        if column.key in BLANK_KEEPS or result.options.blank == BLANK_KEEP:
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
