"""The bare baseline of applying: the machine's own limit for writing the same users.

A file's new users and their memberships go into the same kind of database with the DB-API's
``executemany`` alone, in one transaction: no check, no re-check, no before-images, no
outcomes, no invitations. Reading the file and shaping the rows is not timed; the inserts,
reading back the new users' ids and the commit are.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import sqlite3
from pathlib import Path
from typing import Any

from benchmarks.measure import timed

_USER_COLUMNS = (
    "login_id", "name", "display_name", "email", "email_key", "department", "position",
    "status", "expiration_date", "custom", "created_at", "updated_at",
)  # fmt: skip


def _shaped(file: Path, now: str) -> tuple[list[tuple[Any, ...]], list[tuple[str, str]]]:
    """The file's users as ``_USER_COLUMNS`` tuples, and (login ID, group path) pairs."""
    users, memberships = [], []
    reader = csv.reader(io.StringIO(file.read_text(encoding="utf-8-sig")))
    next(reader)
    for login, name, display, email, _, department, position, status, expires, groups in reader:
        users.append(
            (
                login, name, display or None, email or None, email.lower() or None,
                department or None, position or None, (status or "valid").lower(),
                expires or None, "{}", now, now,
            )
        )  # fmt: skip
        memberships += [(login, path) for path in groups.split("||") if path]
    return users, memberships


def bare_insert_sqlite(database: Path, file: Path) -> dict[str, Any]:
    """Insert ``file``'s users and memberships into the SQLite ``database`` bare; returns
    the rows (users) and the seconds the writing took."""
    now = dt.datetime.now(dt.UTC).isoformat(sep=" ")
    users, memberships = _shaped(file, now)
    connection = sqlite3.connect(database, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        group_ids = dict(connection.execute("SELECT path, id FROM groups"))

        def write() -> None:
            connection.execute("BEGIN IMMEDIATE")
            first = connection.execute("SELECT coalesce(max(id), 0) FROM users").fetchone()[0]
            connection.executemany(
                f"INSERT INTO users ({', '.join(_USER_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(_USER_COLUMNS))})",
                users,
            )
            ids = dict(connection.execute("SELECT login_id, id FROM users WHERE id > ?", (first,)))
            connection.executemany(
                "INSERT INTO memberships (user_id, group_id) VALUES (?, ?)",
                [(ids[login], group_ids[path]) for login, path in memberships],
            )
            connection.execute("COMMIT")

        seconds, _ = timed(write)
    finally:
        connection.close()
    return {"rows": len(users), "seconds": seconds}
