"""What the check needs from the database: existing users by key or e-mail, and groups.

Users are fetched in chunks for the keys of a sheet and cached, misses included, so an
incremental re-check asks only for keys it has not seen.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, String, cast, func, select

from userbatch.check.rules import STATUSES
from userbatch.db import session
from userbatch.directory.fields import MULTI_SEPARATOR, ColumnSpec
from userbatch.directory.groups import in_subtree_clause
from userbatch.directory.scope import users_within
from userbatch.models import Group, Membership, User

_CHUNK = 5000  # keys in one query
_PART = 100_000  # keys whose users are turned into columns at once
_FEW = 100  # keys looked up one by one rather than as arrays
_CHECKED_COLUMNS = (
    User.id, User.login_id, User.name, User.display_name, User.email, User.email_key,
    User.password_hash, User.department, User.position, User.status,
    # As the database writes it (YYYY-MM-DD on SQLite and PostgreSQL): no date objects.
    cast(User.expiration_date, String).label("expiration_date"),
    # Each user's group ids, comma-joined: one row a user, not one a membership.
    select(func.aggregate_strings(cast(Membership.group_id, String), ","))
    .where(Membership.user_id == User.id)
    .scalar_subquery()
    .label("groups"),
)  # fmt: skip


# The text columns of ``Lookup.users`` (besides custom fields) and its other columns.
_TEXTS = (
    "name", "display_name", "email", "department", "position", "status", "expiration_date",
    "belong_to",
)  # fmt: skip
_META = ("_login_id", "_email_key", "_hash", "_visible")


def email_key(email: str) -> str:
    """The key e-mail addresses are compared by for uniqueness: the address in lower case."""
    return email.lower()


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
    """A custom field's stored value as a cell writes it: lists joined by ``||``, None as
    ""."""
    if value is None:
        return ""
    if isinstance(value, list):
        return MULTI_SEPARATOR.join(str(item) for item in value)
    return str(value)


class Lookup:
    """Cached look-ups of users and groups for one check.

    ``users`` holds every user fetched so far, a row each, indexed by id: the text a
    download writes for each field (a column per field key, Password aside) and the columns
    ``_login_id``, ``_email_key``, ``_hash`` (the password hash or None) and ``_visible`` (in
    the operator's scope). ``by_login`` and ``by_email`` map login IDs and e-mail keys to
    those ids. Keys asked for are remembered, misses included, so a re-check asks only for
    keys it has not seen.
    """

    def __init__(self, engine: Engine, columns: list[ColumnSpec], scope_path: str) -> None:
        self.engine = engine
        self.scope_path = scope_path
        self._load_groups()
        self.customs = [column.key for column in columns if column.custom]
        self.users = pd.DataFrame(columns=[*_TEXTS, *self.customs, *_META])
        self.by_login = pd.Series(dtype="int64")
        self.by_email = pd.Series(dtype="int64")
        self._asked_logins = _Asked()
        self._asked_emails = _Asked()

    def _load_groups(self) -> None:
        with session(self.engine) as db:
            self.group_ids: dict[str, int] = dict(db.execute(select(Group.path, Group.id)).all())
            self.scope_paths = set(
                db.scalars(select(Group.path).where(in_subtree_clause(self.scope_path)))
            )
        self.group_paths = pd.Series(list(self.group_ids), index=list(self.group_ids.values()))

    def ensure(self, login_ids: Iterable[str], emails: Iterable[str]) -> None:
        """Fetch into ``users`` the users with these login IDs or e-mail keys that are not
        cached yet; keys asked for before are not asked again."""
        logins = self._asked_logins.unseen(login_ids)
        keys = self._asked_emails.unseen(emails)
        if not len(logins) and not len(keys):
            return
        with self.engine.connect() as connection:
            self._add(self._fetch(connection, User.login_id, logins))
            # Most e-mails belong to the users just found by login ID: ask only for the rest.
            rest = keys[self.by_email.index.get_indexer(keys) < 0]
            self._add(self._fetch(connection, User.email_key, rest))
        self._asked_logins.add(logins)
        self._asked_emails.add(keys)

    def _add(self, fetched: pd.DataFrame) -> None:
        fetched = fetched[~fetched.index.isin(self.users.index)]
        if fetched.empty:
            return
        self.users = pd.concat([self.users, fetched]) if len(self.users) else fetched
        logins = self.users["_login_id"]
        self.by_login = pd.Series(self.users.index, index=pd.Index(logins, dtype=str))
        known = self.users["_email_key"] != ""
        self.by_email = pd.Series(
            self.users.index[known], index=pd.Index(self.users["_email_key"][known], dtype=str)
        )

    def _fetch(self, connection: Connection, column: Any, wanted: pd.Index) -> pd.DataFrame:
        """The users whose ``column`` is one of ``wanted``, as rows of ``users``."""
        # A part at a time, so that only one part's users are Python objects at once.
        parts = [
            self._fetch_part(connection, column, wanted[start : start + _PART].tolist())
            for start in range(0, len(wanted), _PART)
        ]
        return pd.concat(parts) if len(parts) > 1 else parts[0] if parts else self.users.iloc[:0]

    def _fetch_part(self, connection: Connection, column: Any, wanted: list[str]) -> pd.DataFrame:
        # Plain rows of just the columns a check reads, turned into text a column at a time:
        # a check may read a million users, and ORM objects or a dict per user would cost
        # more than the query.
        query = select(*_CHECKED_COLUMNS, *([User.custom] if self.customs else []))
        found = _select_in(connection, query, column, wanted)
        if not found:
            return self.users.iloc[:0]
        names = list(query.selected_columns.keys())
        raw = pd.DataFrame(dict(zip(names, map(list, zip(*found, strict=True)), strict=True)))
        raw.index = pd.Index(raw["id"], dtype="int64", name="id")
        users = pd.DataFrame(index=raw.index)
        # Text columns are Arrow-backed strings: compact, and compared a column at a time.
        for key in ("name", "display_name", "email", "department", "position"):
            users[key] = raw[key].fillna("").astype(str)
        users["status"] = raw["status"].map(lambda status: STATUSES.get(status, status))
        users["expiration_date"] = raw["expiration_date"].fillna("")
        users["belong_to"], visible = self._paths(raw["groups"])
        if self.customs:  # JSON: text on SQLite, already parsed on PostgreSQL
            customs = [(json.loads(v) if isinstance(v, str) else v) or {} for v in raw["custom"]]
            for key in self.customs:
                users[key] = [custom_text(values.get(key)) for values in customs]
        users = users.astype(str)
        users["_login_id"] = raw["login_id"].astype(str)
        users["_email_key"] = raw["email_key"].fillna("").astype(str)
        users["_hash"] = raw["password_hash"].astype(object)
        users["_visible"] = visible
        return users

    def _paths(self, groups: pd.Series, *, reload: bool = True) -> tuple[pd.Series, pd.Series]:
        """From each user's group ids (comma-joined text, or None): their group paths as a
        download writes them (sorted, joined by ``||``; for a manager only those within the
        scope), and whether one is in the scope."""
        groups = groups.fillna("").astype(str)
        single = (groups != "") & ~groups.str.contains(",", regex=False)
        several = groups[groups.str.contains(",", regex=False)]
        found = groups[single].astype("int64").map(self.group_paths)
        named: dict[int, str] = dict(
            zip(self.group_paths.index.tolist(), self.group_paths.tolist(), strict=True)
        )
        joined: dict[int, list[str]] = {}
        unknown = bool(found.isna().any())
        for user_id, text in several.items():
            ids = [int(group_id) for group_id in text.split(",")]
            joined[user_id] = sorted(named[group_id] for group_id in ids if group_id in named)
            unknown = unknown or len(joined[user_id]) < len(ids)
        if reload and unknown:
            self._load_groups()  # a group made since the check began
            return self._paths(groups, reload=False)
        found = found.fillna("")
        visible = pd.Series(True, index=groups.index)
        if self.scope_path:
            # A manager sees, compares and changes only the groups within their scope.
            visible[:] = False
            visible[found.index] = found.isin(self.scope_paths)
            found = found.where(visible[found.index], "")
            joined = {
                user_id: [path for path in names if path in self.scope_paths]
                for user_id, names in joined.items()
            }
            if joined:
                visible.loc[list(joined)] = [bool(names) for names in joined.values()]
        paths = pd.Series("", index=groups.index, dtype=object)
        paths[found.index] = found
        if joined:
            paths.loc[list(joined)] = [MULTI_SEPARATOR.join(names) for names in joined.values()]
        return paths.astype(str), visible


def _select_in(db: Connection, query: Any, column: Any, keys: list[Any]) -> list[tuple[Any, ...]]:
    """The rows of ``query`` (no WHERE of its own) whose ``column`` is one of ``keys``, asked
    for in chunks through the DB-API: SQLAlchemy would expand the IN list's thousands of
    parameters anew for each chunk (an eighth of a 100k-row check), and the values come back
    as the database gives them (the query reads no type SQLAlchemy would convert but JSON).
    PostgreSQL is given each chunk's keys as one array (``= ANY``): binding thousands of
    parameters took it twice as long as the look-up."""
    assert query.whereclause is None
    dialect = db.dialect
    head = str(query.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    name = str(column.compile(dialect=dialect))
    rows: list[tuple[Any, ...]] = []
    for start in range(0, len(keys), _CHUNK):
        part = keys[start : start + _CHUNK]
        if dialect.name == "postgresql":  # one array parameter, not thousands
            rows += db.exec_driver_sql(f"{head} WHERE {name} = ANY(%s)", (part,)).all()
            continue
        sql = f"{head} WHERE {name} IN ({', '.join(['?'] * len(part))})"
        rows += db.exec_driver_sql(sql, tuple(part)).all()
    return rows


class _Asked:
    """Keys asked for already: the check's many, indexed once, and a re-check's few."""

    def __init__(self) -> None:
        self.first = pd.Index([], dtype=str)
        self.more: set[str] = set()

    def unseen(self, keys: Iterable[str]) -> pd.Index:
        """The distinct non-blank ``keys`` not asked for yet."""
        if isinstance(keys, pd.Series) and len(keys) <= _FEW:
            # A re-check's few keys: each looked up in the index's hash table, no arrays.
            return pd.Index(
                [
                    key
                    for key in dict.fromkeys(keys.tolist())
                    if key and key not in self.first and key not in self.more
                ],
                dtype=str,
            )
        wanted = pd.Index(pd.unique(pd.Series(keys, dtype=str)), dtype=str)
        wanted = wanted[wanted != ""]
        if len(self.first):  # the index's hash table is built once, then reused
            wanted = wanted[self.first.get_indexer(wanted) < 0]
        return wanted[~wanted.isin(self.more)] if self.more else wanted

    def add(self, keys: pd.Index) -> None:
        if not len(self.first) and not self.more:
            self.first = keys
        else:
            self.more.update(keys.tolist())


def roster(engine: Engine, *, scope_path: str, group_path: str, by_login: bool) -> pd.DataFrame:
    """The users a complete list of ``group_path`` must name: those in it and below, within
    ``scope_path``, who are not suspended; by user id, their key (login ID, or e-mail key
    without login IDs), name and status."""
    key = User.login_id if by_login else User.email_key
    query = users_within(
        select(User.id, key, User.name, User.status).where(
            User.status != "suspended", key.is_not(None)
        ),
        scope_path=scope_path,
        group_path=group_path or None,
    )
    with session(engine) as db:
        rows = db.execute(query.order_by(User.id)).all()
    frame = pd.DataFrame(
        [row[1:] for row in rows], columns=["key", "name", "status"], dtype=str,
        index=pd.Index([row[0] for row in rows], dtype="int64"),
    )  # fmt: skip
    return frame
