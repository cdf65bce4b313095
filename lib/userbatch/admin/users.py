"""Users as the pages need them: the User download of SPEC §7, accepting an invitation."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Engine, func, or_, select

from userbatch.check.lookup import user_values
from userbatch.check.rules import STATUSES, login_id_problems
from userbatch.db import session
from userbatch.directory import user_search
from userbatch.directory.fields import MULTI_SEPARATOR, ColumnSpec, download_only_columns
from userbatch.directory.scope import group_paths, user_in_scope, users_within
from userbatch.errors import Conflict, Invalid
from userbatch.files.download import write_table
from userbatch.i18n import Text
from userbatch.models import User, utcnow

_EXPORT_CHUNK = 5000


def export_header(columns: list[ColumnSpec]) -> list[str]:
    """The header of a User download: the upload columns, then First login and Creation date."""
    return [column.label for column in columns] + [c.label for c in download_only_columns()]


def export_rows(
    engine: Engine, columns: list[ColumnSpec], *, scope_path: str, group_path: str | None = None
) -> Iterator[list[str]]:
    """Every user in scope (or in ``group_path`` and below), by login ID, as text cells.

    Passwords are never exported: the column stays blank, which keeps them on upload.
    """
    query = users_within(
        select(User).order_by(User.login_id), scope_path=scope_path, group_path=group_path
    )
    with session(engine) as db:
        for users in db.scalars(query.execution_options(yield_per=_EXPORT_CHUNK)).partitions():
            paths = group_paths(db, [user.id for user in users], scope_path=scope_path)
            for user in users:
                values = user_values(user, paths.get(user.id, ()), columns)
                yield [values[column.key] for column in columns] + _download_only(user)


def _download_only(user: User) -> list[str]:
    """First login and Creation date, as text."""
    first = user.first_login_at
    return [
        first.isoformat(sep=" ", timespec="seconds") if first else "",
        user.created_at.isoformat(sep=" ", timespec="seconds"),
    ]


def export_users(
    engine: Engine,
    columns: list[ColumnSpec],
    *,
    scope_path: str,
    group_path: str | None = None,
    encoding: str = "utf-8-sig",
) -> bytes:
    """The User download as a CSV file, formula-injection safe."""
    rows = export_rows(engine, columns, scope_path=scope_path, group_path=group_path)
    return write_table(export_header(columns), rows, encoding=encoding)


@dataclass(frozen=True)
class UserSummary:
    id: int
    login_id: str
    name: str
    email: str
    status: str
    groups: str


def search_users(
    engine: Engine,
    *,
    scope_path: str,
    text: str = "",
    group_path: str | None = None,
    status: str | None = None,
    page: int = 1,
    page_size: int = 50,
) -> tuple[list[UserSummary], int]:
    """One page of the users in scope matching ``text`` (login ID, name or e-mail), a group
    and a status, ordered by login ID; and how many match in all. Queries the database for
    just that page."""
    query = users_within(select(User.id), scope_path=scope_path, group_path=group_path)
    folded = text.strip().lower()
    if folded:
        pattern = "%" + folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        # SQLite's LIKE ignores ASCII case by itself (and its lower() folds no more than
        # that), so lower() there would only cost a call per row of a million.
        fold = (lambda column: column) if engine.dialect.name == "sqlite" else func.lower
        query = query.where(
            or_(
                fold(User.login_id).like(pattern, escape="\\"),
                fold(User.name).like(pattern, escape="\\"),
                User.email_key.like(pattern, escape="\\"),
            )
        )
    if status:
        query = query.where(User.status == status)
    with session(engine) as db:
        # SQLite's search index names the users worth comparing (PostgreSQL's indexes serve
        # the LIKE itself); the comparison stays, so the index changes no result.
        near = user_search.candidates(db, folded) if folded else None
        if near is not None:
            query = query.where(near)
        offset = (page - 1) * page_size
        if folded:
            # The page and the count in one pass over the matches, carrying only their ids.
            # Counted below the ordering: over a count under LIMIT, PostgreSQL's planner
            # expects to stop early and walks the login ID index past its trigram indexes.
            matches = query.add_columns(User.login_id, func.count().over().label("total"))
            found_query = select(matches.subquery())
            found_query = found_query.order_by(found_query.selected_columns.login_id)
            found = db.execute(found_query.offset(offset).limit(page_size)).all()
            ids = [row.id for row in found]
            total = found[0].total if found else None
        else:
            # Without one, the login ID index yields the page at once, and counting is cheap.
            page_query = query.order_by(User.login_id).offset(offset).limit(page_size)
            ids = list(db.scalars(page_query))
            total = None
        if total is None:
            total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
        # The page's users in full, in its order (one deleted meanwhile is left out).
        by_id = {user.id: user for user in db.scalars(select(User).where(User.id.in_(ids)))}
        users = [by_id[user_id] for user_id in ids if user_id in by_id]
        paths = group_paths(db, list(by_id), scope_path=scope_path)
    return [
        UserSummary(
            user.id,
            user.login_id,
            user.name,
            user.email or "",
            STATUSES.get(user.status, user.status),
            MULTI_SEPARATOR.join(paths.get(user.id, [])),
        )
        for user in users
    ], total


@dataclass(frozen=True)
class UserDetail:
    """One user as the User download has them."""

    values: dict[str, str]  # field key -> text, in the columns' order; never the password
    first_login: str
    created_at: str


def user_detail(
    engine: Engine, user_id: int, columns: list[ColumnSpec], *, scope_path: str
) -> UserDetail:
    """One user's values in ``columns`` (no password), with First login and Creation date.
    Raises ``NotFound`` or ``NotAllowed`` for a user outside ``scope_path``."""
    with session(engine) as db:
        user, paths = user_in_scope(db, user_id, scope_path=scope_path)
        values = user_values(user, paths, columns)
    # A password is never exported, so never shown.
    shown = {column.key: values[column.key] for column in columns if column.key != "password"}
    first_login, created_at = _download_only(user)
    return UserDetail(shown, first_login, created_at)


def change_login_id(engine: Engine, user_id: int, login_id: str, *, scope_path: str) -> None:
    """Edit user: the only place a login ID changes. Raises a ``UserbatchError`` for a login ID
    that breaks the rules or is taken, or a user outside the operator's groups."""
    login_id = unicodedata.normalize("NFKC", login_id).strip()
    problems = login_id_problems(login_id)
    if problems:
        raise Invalid(problems[0])
    with session(engine) as db, db.begin():
        user, _paths = user_in_scope(db, user_id, scope_path=scope_path, lock=True)
        if login_id != user.login_id and db.scalar(
            select(User.id).where(User.login_id == login_id)
        ):
            raise Conflict(Text("The login ID '{login}' belongs to another user.", login=login_id))
        user.login_id, user.updated_at = login_id, utcnow()
