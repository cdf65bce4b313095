"""Users as the pages need them: the User download of SPEC §7, accepting an invitation."""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Engine, exists, func, or_, select, update
from sqlalchemy.orm import Session

from userbatch.check.lookup import user_values
from userbatch.check.rules import STATUSES, login_id_problems
from userbatch.crypto.passwords import hash_password, password_problems
from userbatch.db import session
from userbatch.directory.fields import MULTI_SEPARATOR, ColumnSpec, download_only_columns
from userbatch.directory.groups import in_scope, in_subtree_clause
from userbatch.errors import PolicyError
from userbatch.files.csvfile import write_table
from userbatch.mail.render import token_hash
from userbatch.models import Group, Membership, OutboxMessage, User, utcnow
from userbatch.settings import Settings

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
    if group_path is not None and not in_scope(group_path, scope_path):
        raise PolicyError(f"The group '{group_path}' is outside your groups.")
    subtree = group_path if group_path is not None else scope_path
    query = select(User).order_by(User.login_id)
    if subtree:
        query = query.where(
            exists()
            .where(Membership.user_id == User.id)
            .where(Membership.group_id == Group.id)
            .where(in_subtree_clause(subtree))
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


def invitation_for(engine: Engine, token: str, *, now: dt.datetime | None = None) -> str:
    """The login ID an unused, unexpired invitation token belongs to.

    Raises ``PolicyError`` saying why the link does not work.
    """
    now = now or utcnow()
    with session(engine) as db:
        row = db.execute(
            select(OutboxMessage, User.login_id)
            .join(User, User.id == OutboxMessage.user_id)
            .where(OutboxMessage.token_hash == token_hash(token))
        ).one_or_none()
    if row is None:
        raise PolicyError("This link is not valid. Ask your administrator for a new invitation.")
    message, login_id = row
    if message.token_used_at is not None:
        raise PolicyError("This link was used already; sign in with the password you set.")
    if message.token_expires_at is None or message.token_expires_at < now:
        raise PolicyError("This link has expired. Ask your administrator for a new invitation.")
    return str(login_id)


def accept_invitation(
    engine: Engine, settings: Settings, token: str, password: str, *, now: dt.datetime | None = None
) -> str:
    """Set the invited user's password; the token works once. Returns the login ID.

    Raises ``PolicyError`` for a link that does not work or a password the policy refuses.
    """
    now = now or utcnow()
    login_id = invitation_for(engine, token, now=now)
    problems = password_problems(password, min_length=settings.password_min_length, login=login_id)
    if problems:
        raise PolicyError("The password " + "; ".join(problems) + ".")
    password_hash = hash_password(password)
    with engine.begin() as connection:
        used = connection.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.token_hash == token_hash(token), OutboxMessage.token_used_at.is_(None)
            )
            .values(token_used_at=now)
        ).rowcount
        if not used:
            raise PolicyError("This link was used already; sign in with the password you set.")
        connection.execute(
            update(User)
            .where(User.login_id == login_id)
            .values(password_hash=password_hash, updated_at=now)
        )
    return login_id


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
    if group_path is not None and not in_scope(group_path, scope_path):
        raise PolicyError(f"The group '{group_path}' is outside your groups.")
    subtree = group_path if group_path is not None else scope_path
    query = select(User)
    if subtree:
        query = query.where(
            exists()
            .where(Membership.user_id == User.id)
            .where(Membership.group_id == Group.id)
            .where(in_subtree_clause(subtree))
        )
    if text.strip():
        pattern = (
            "%"
            + text.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            + "%"
        )
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
    page_query = query.order_by(User.login_id).offset((page - 1) * page_size).limit(page_size)
    with session(engine) as db:
        if text.strip():
            # A search scans the users anyway: the page and the count in one pass.
            found = db.execute(page_query.add_columns(func.count().over().label("total"))).all()
            users = [row[0] for row in found]
            total = found[0].total if found else None
        else:
            # Without one, the login ID index yields the page at once, and counting is cheap.
            users = list(db.scalars(page_query))
            total = None
        if total is None:
            total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
        paths = group_paths(db, [user.id for user in users], scope_path=scope_path)
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


def user_detail(
    engine: Engine, user_id: int, columns: list[ColumnSpec], *, scope_path: str
) -> dict[str, str]:
    """One user's values as the User download has them (column label -> text, no password),
    with First login and Creation date. Raises ``PolicyError`` for a user outside ``scope_path``."""
    with session(engine) as db:
        user, paths = user_in_scope(db, user_id, scope_path=scope_path)
        values = user_values(user, paths, columns)
    # A password is never exported, so never shown.
    shown = {column.label: values[column.key] for column in columns if column.key != "password"}
    dates = [column.label for column in download_only_columns()]
    return shown | dict(zip(dates, _download_only(user), strict=True))


def user_in_scope(
    db: Session, user_id: int, *, scope_path: str, lock: bool = False
) -> tuple[User, list[str]]:
    """The user and the paths of their groups, sorted (``lock``: locked for an update).
    Raises ``PolicyError`` when the user is gone or outside ``scope_path``."""
    user = db.get(User, user_id, with_for_update=lock)
    if user is None:
        raise PolicyError("That user no longer exists.")
    paths = group_paths(db, [user.id], scope_path=scope_path).get(user.id, [])
    if scope_path and not paths:
        raise PolicyError("That user is outside your groups.")
    return user, paths


def group_paths(db: Session, user_ids: list[int], *, scope_path: str) -> dict[int, list[str]]:
    """Each user's group paths, sorted: for a manager only those within their groups. A
    user's other groups are neither shown to a manager nor changed by their batches."""
    query = (
        select(Membership.user_id, Group.path)
        .join(Group, Group.id == Membership.group_id)
        .where(Membership.user_id.in_(user_ids))
    )
    if scope_path:
        query = query.where(in_subtree_clause(scope_path))
    paths: dict[int, list[str]] = {}
    for user_id, path in db.execute(query):
        paths.setdefault(user_id, []).append(path)
    return {user_id: sorted(found) for user_id, found in paths.items()}


def change_login_id(engine: Engine, user_id: int, login_id: str, *, scope_path: str) -> None:
    """Edit user: the only place a login ID changes. Raises ``PolicyError`` for a login ID
    that breaks the rules or is taken, or a user outside the operator's groups."""
    login_id = unicodedata.normalize("NFKC", login_id).strip()
    problems = login_id_problems(login_id)
    if problems:
        raise PolicyError(problems[0])
    with session(engine) as db, db.begin():
        user, _ = user_in_scope(db, user_id, scope_path=scope_path, lock=True)
        if login_id != user.login_id and db.scalar(
            select(User.id).where(User.login_id == login_id)
        ):
            raise PolicyError(f"The login ID '{login_id}' belongs to another user.")
        user.login_id, user.updated_at = login_id, utcnow()
