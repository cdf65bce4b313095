"""Users as the pages need them: the User download of SPEC §7, accepting an invitation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from sqlalchemy import Engine, exists, select, update

from userbatch.csvfile import write_table
from userbatch.db import session
from userbatch.errors import PolicyError
from userbatch.fields import ColumnSpec, download_only_columns
from userbatch.groups import in_scope, in_subtree_clause
from userbatch.lookup import user_values
from userbatch.mail import token_hash
from userbatch.models import Group, Membership, OutboxMessage, User, utcnow
from userbatch.passwords import hash_password, password_problems
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
            ids = [user.id for user in users]
            paths: dict[int, list[str]] = {}
            for user_id, path in db.execute(
                select(Membership.user_id, Group.path)
                .join(Group, Group.id == Membership.group_id)
                .where(Membership.user_id.in_(ids))
            ):
                paths.setdefault(user_id, []).append(path)
            for user in users:
                values = user_values(user, paths.get(user.id, ()), columns)
                first = (
                    user.first_login_at.isoformat(sep=" ", timespec="seconds")
                    if user.first_login_at
                    else ""
                )
                created = user.created_at.isoformat(sep=" ", timespec="seconds")
                yield [values[column.key] for column in columns] + [first, created]


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
