"""Before-images: what applying a row replaced, kept with the row so that the batch can be
undone.

An image is plain JSON in ``BatchRow.before``, written in the transaction that applies the
row. A created user's is ``{"created": true}``. An updated user's holds, for each value the
update changed, the value before and the value the batch wrote::

    {"fields": {"department": ["Sales", "Support"], "custom.grade": [null, "3"]},
     "groups": [[2, 5], [7]]}

Field names are the users table's columns, ``custom.<key>`` for a custom field, and
``groups`` for the user's memberships (sorted group ids). Values are as the database holds
them, in JSON: text or null, a date as ``YYYY-MM-DD``, a checkbox field's list.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, select

from userbatch.models import Membership, User

CREATED: dict[str, Any] = {"created": True}
GROUPS = "groups"
CUSTOM = "custom."
# Users-table columns an image never holds: the row's identity and its clock.
_NOT_IMAGED = frozenset({"id", "login_id", "created_at", "updated_at", "first_login_at"})
IMAGED_COLUMNS = [column for column in User.__table__.columns if column.name not in _NOT_IMAGED]


def stored(value: Any) -> Any:
    """A database value as an image holds it (dates as ISO text)."""
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def fields_of(user: Mapping[str, Any]) -> dict[str, Any]:
    """A user's imaged values by image field name: the columns, and each custom value."""
    values = {column.name: stored(user[column.name]) for column in IMAGED_COLUMNS}
    custom = values.pop("custom") or {}
    values.update({CUSTOM + key: value for key, value in custom.items()})
    return values


def current_users(
    connection: Connection, user_ids: Iterable[int], *, lock: bool = False
) -> dict[int, dict[str, Any]]:
    """These users' rows as mappings, by id (``lock``: held until the transaction ends)."""
    query = select(User.__table__).where(User.id.in_(list(user_ids)))
    if lock:
        query = query.with_for_update()
    result = connection.execute(query)
    names = list(result.keys())  # "id" first, as the table has it
    return {row[0]: dict(zip(names, row, strict=True)) for row in result}


def current_groups(connection: Connection, user_ids: Iterable[int]) -> dict[int, list[int]]:
    """These users' group ids, sorted, by user id (a user of no group is left out)."""
    groups: dict[int, list[int]] = {}
    query = select(Membership.user_id, Membership.group_id).where(
        Membership.user_id.in_(list(user_ids))
    )
    for user_id, group_id in connection.execute(query.order_by(Membership.group_id)):
        groups.setdefault(user_id, []).append(group_id)
    return groups


def update_image(
    before: Mapping[str, Any],
    written: Mapping[str, Any],
    groups: tuple[list[int], list[int]] | None,
) -> dict[str, Any]:
    """The image of an update: ``before`` is the user's row as it was, ``written`` the values
    the update set (``custom`` whole), ``groups`` the memberships before and after when the
    update replaced them."""
    old = fields_of(before)
    new = fields_of({**before, **written})
    changed = {
        name: [old.get(name), new.get(name)]
        for name in sorted(old.keys() | new.keys())
        if old.get(name) != new.get(name)
    }
    image: dict[str, Any] = {"fields": changed}
    if groups is not None and groups[0] != groups[1]:
        image[GROUPS] = [groups[0], groups[1]]
    return image
