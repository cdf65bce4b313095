"""The record of a user to write, made from a checked row's cells: the users-table fields, the
custom-field values, and the defaults of a new user (one place for them); and the bulk
statement that writes users' changed values."""

from __future__ import annotations

import secrets
import string
from typing import Any

from sqlalchemy import Connection, bindparam, update

from userbatch.check.lookup import email_key
from userbatch.check.rules import STATUS_ALIASES, parse_date, split_multi
from userbatch.db import insert_plain
from userbatch.directory.fields import ColumnSpec
from userbatch.models import Membership, User

# The users-table values of a new user for every column its file leaves out.
NEW_USER_DEFAULTS: dict[str, Any] = {
    "name": "", "display_name": None, "email": None, "email_key": None, "department": None,
    "position": None, "expiration_date": None, "status": "valid",
}  # fmt: skip


_GENERATED_ID_ALPHABET = string.ascii_lowercase + string.digits


def generated_login_id() -> str:
    """A random login ID for a new user when login IDs are not in use."""
    return "u" + "".join(secrets.choice(_GENERATED_ID_ALPHABET) for _ in range(11))


def user_fields(
    values: dict[str, str], columns: list[ColumnSpec], *, keep_blank: bool = False
) -> dict[str, Any]:
    """The users-table values of a checked row's cells (only the columns the file has;
    ``keep_blank``: only its cells that are not blank)."""
    fields: dict[str, Any] = {}
    for column in columns:
        if column.custom or column.key not in values or column.key in ("password", "belong_to"):
            continue
        text = values[column.key]
        if keep_blank and not text:
            continue
        if column.key in ("name", "login_id"):
            fields[column.key] = text
        elif column.key == "email":
            fields["email"] = text or None
            fields["email_key"] = email_key(text) if text else None
        elif column.key == "status":
            if text:
                fields["status"] = STATUS_ALIASES[text.casefold()]
        elif column.key == "expiration_date":
            fields["expiration_date"] = parse_date(text) if text else None
        else:
            fields[column.key] = text or None
    return fields


def custom_values(values: dict[str, str], columns: list[ColumnSpec]) -> dict[str, Any]:
    """The custom-field values of a row: text, or a list for checkboxes; blanks dropped."""
    custom: dict[str, Any] = {}
    for column in columns:
        if column.custom and values.get(column.key):
            text = values[column.key]
            custom[column.key] = split_multi(text) if column.type == "checkbox" else text
    return custom


def new_user(
    values: dict[str, str], columns: list[ColumnSpec], *, login_id: str | None = None
) -> dict[str, Any]:
    """The users-table record of a new user from a checked row: the row's fields over the
    defaults, with its custom values; a blank login ID becomes ``login_id`` (a generated one
    when None)."""
    fields = user_fields(values, columns)
    record = {**NEW_USER_DEFAULTS, **fields, "custom": custom_values(values, columns)}
    record["login_id"] = fields.get("login_id") or login_id or generated_login_id()
    return record


def groups_of(values: dict[str, str], working_path: str) -> list[str]:
    """The group paths a row's user belongs to: its Belong to cell, else the working group
    (everyone belongs to the organisation, the root, which needs no membership row)."""
    return split_multi(values.get("belong_to", "")) or ([working_path] if working_path else [])


def update_users(connection: Connection, changes: dict[int, dict[str, Any]]) -> None:
    """Write each user's changed values (user id -> column -> value) with one bulk UPDATE per
    set of columns."""
    by_shape: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for user_id, values in changes.items():
        by_shape.setdefault(tuple(sorted(values)), []).append(
            {"u_id": user_id, **{f"u_{key}": value for key, value in values.items()}}
        )
    for shape, params in by_shape.items():
        connection.execute(
            update(User)
            .where(User.id == bindparam("u_id"))
            .values({key: bindparam(f"u_{key}") for key in shape}),
            params,
        )


def add_memberships(connection: Connection, pairs: list[tuple[int, int]]) -> None:
    """Add these (user id, group id) memberships."""
    insert_plain(connection, Membership.__table__, pairs, ("user_id", "group_id"))
