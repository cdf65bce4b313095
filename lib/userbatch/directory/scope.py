"""An operator's scope over users: the one filter of the users a manager may see, a user looked
up within it, and the groups of users as a manager sees them."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select, exists, select
from sqlalchemy.orm import Session

from userbatch.directory.groups import in_scope, in_subtree_clause
from userbatch.errors import NotAllowed, NotFound
from userbatch.i18n import Text
from userbatch.models import Group, Membership, User

_Query = TypeVar("_Query", bound=Select[*tuple[Any, ...]])


def user_in_scope(
    db: Session, user_id: int, *, scope_path: str, lock: bool = False
) -> tuple[User, list[str]]:
    """The user and the paths of their groups, sorted (``lock``: locked for an update).
    Raises a ``UserbatchError`` when the user is gone or outside ``scope_path``."""
    user = db.get(User, user_id, with_for_update=lock)
    if user is None:
        raise NotFound(Text("That user no longer exists."))
    paths = group_paths(db, [user.id], scope_path=scope_path).get(user.id, [])
    if scope_path and not paths:
        raise NotAllowed(Text("That user is outside your groups."))
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


def users_within(query: _Query, *, scope_path: str, group_path: str | None = None) -> _Query:
    """``query`` over users narrowed to those in ``group_path`` and below, or to the
    operator's groups (all users for an administrator's empty ``scope_path``).

    Raises ``NotAllowed`` for a ``group_path`` outside ``scope_path``.
    """
    if group_path is not None and not in_scope(group_path, scope_path):
        raise NotAllowed(Text("The group '{path}' is outside your groups.", path=group_path))
    subtree = group_path if group_path is not None else scope_path
    if not subtree:
        return query
    return query.where(
        exists()
        .where(Membership.user_id == User.id)
        .where(Membership.group_id == Group.id)
        .where(in_subtree_clause(subtree))
    )
