"""What the check needs from the database: existing users by key or e-mail, and groups.

Users are fetched in chunks for the keys of a sheet and cached, misses included, so an
incremental re-check asks only for keys it has not seen.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, select

from userbatch.db import session
from userbatch.fields import MULTI_SEPARATOR, ColumnSpec
from userbatch.groups import in_scope, in_subtree_clause
from userbatch.models import Group, Membership, User
from userbatch.rules import STATUSES

_CHUNK = 5000
_CHECKED_COLUMNS = (
    User.id, User.login_id, User.name, User.display_name, User.email, User.email_key,
    User.password_hash, User.department, User.position, User.status, User.expiration_date,
)  # fmt: skip


def email_key(email: str) -> str:
    """How e-mail addresses are compared for uniqueness."""
    return email.lower()


@dataclass(frozen=True)
class ExistingUser:
    """A user as the CSV shows it: every field as text."""

    id: int
    login_id: str
    values: dict[str, str]
    password_hash: str | None
    paths: frozenset[str]

    def visible_to(self, scope_path: str) -> bool:
        """A user is in a manager's scope when one of their groups is (the root has all)."""
        return scope_path == "" or any(in_scope(path, scope_path) for path in self.paths)


def user_values(user: Any, paths: Iterable[str], columns: list[ColumnSpec]) -> dict[str, str]:
    """The cells a download writes for ``user`` (a ``User`` or a row with its columns), by
    field key."""
    values = {
        "login_id": user.login_id,
        "name": user.name,
        "display_name": user.display_name or "",
        "email": user.email or "",
        "password": "",
        "department": user.department or "",
        "position": user.position or "",
        "status": STATUSES.get(user.status, user.status),
        "expiration_date": user.expiration_date.isoformat() if user.expiration_date else "",
        "belong_to": MULTI_SEPARATOR.join(sorted(paths)),
    }
    for column in columns:
        if column.custom:
            values[column.key] = custom_text(user.custom.get(column.key))
    return values


def custom_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return MULTI_SEPARATOR.join(str(item) for item in value)
    return str(value)


class Lookup:
    """Cached look-ups of users and groups for one check."""

    def __init__(self, engine: Engine, columns: list[ColumnSpec], scope_path: str) -> None:
        self.engine = engine
        self.columns = columns
        self.scope_path = scope_path
        self.by_login: dict[str, ExistingUser | None] = {}
        self.by_email: dict[str, ExistingUser | None] = {}
        with session(engine) as db:
            self.group_ids: dict[str, int] = dict(db.execute(select(Group.path, Group.id)).all())
            self.scope_paths = set(
                db.scalars(select(Group.path).where(in_subtree_clause(scope_path)))
            )
        self.loaded_at = dt.datetime.now(dt.UTC)

    def ensure(self, login_ids: Iterable[str], emails: Iterable[str]) -> None:
        """Fetch the users with these login IDs or e-mail keys that are not cached yet."""
        logins = [key for key in set(login_ids) if key and key not in self.by_login]
        with self.engine.connect() as connection:
            self._fetch(connection, User.login_id, logins)
            for key in logins:
                self.by_login.setdefault(key, None)
            # Most e-mails belong to the users just found by login ID: ask only for the rest.
            keys = [key for key in set(emails) if key and key not in self.by_email]
            self._fetch(connection, User.email_key, keys)
            for key in keys:
                self.by_email.setdefault(key, None)

    def _fetch(self, connection: Connection, column: Any, wanted: list[str]) -> None:
        # Plain rows of just the columns a check reads: a check may read 100,000 users, and
        # ORM objects or unused columns (times, JSON) would cost more than the query.
        columns = [*_CHECKED_COLUMNS]
        if any(spec.custom for spec in self.columns):
            columns.append(User.custom)
        for start in range(0, len(wanted), _CHUNK):
            users: list[Any] = list(
                connection.execute(
                    select(*columns).where(column.in_(wanted[start : start + _CHUNK]))
                )
            )
            paths = self._paths(connection, [user.id for user in users])
            for user in users:
                user_paths = paths.get(user.id, ())
                existing = ExistingUser(
                    id=user.id,
                    login_id=user.login_id,
                    values=user_values(user, user_paths, self.columns),
                    password_hash=user.password_hash,
                    paths=frozenset(user_paths),
                )
                self.by_login[user.login_id] = existing
                if user.email_key:
                    self.by_email[user.email_key] = existing

    @staticmethod
    def _paths(db: Any, user_ids: list[int]) -> dict[int, list[str]]:
        ids = sorted(user_ids)
        paths: dict[int, list[str]] = {}
        for start in range(0, len(ids), _CHUNK):
            rows = db.execute(
                select(Membership.user_id, Group.path)
                .join(Group, Group.id == Membership.group_id)
                .where(Membership.user_id.in_(ids[start : start + _CHUNK]))
            )
            for user_id, path in rows:
                paths.setdefault(user_id, []).append(path)
        return paths
