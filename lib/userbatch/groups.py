"""The group tree: names, paths and the groups an operator may see.

A group is written as its path below the root, parent first: ``Sales>>Tokyo``. The root is
the organisation itself; its path is the empty string.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Engine, or_, select
from sqlalchemy.orm import Session

from userbatch.db import session
from userbatch.errors import PolicyError
from userbatch.models import Group

SEPARATOR = ">>"
MAX_NAME_LENGTH = 30
_FORBIDDEN = ("|", "\\", SEPARATOR)


@dataclass(frozen=True)
class GroupInfo:
    id: int
    name: str
    path: str  # '' for the root

    @property
    def is_root(self) -> bool:
        return self.path == ""


def validate_group_name(name: str) -> str:
    """The trimmed name; raises ``PolicyError`` saying which rule a bad name breaks."""
    name = name.strip()
    if not name:
        raise PolicyError("A group name must not be empty.")
    if len(name) > MAX_NAME_LENGTH:
        raise PolicyError(
            f"A group name has at most {MAX_NAME_LENGTH} characters; '{name}' has {len(name)}."
        )
    for forbidden in _FORBIDDEN:
        if forbidden in name:
            raise PolicyError(f"A group name must not contain '{forbidden}'; '{name}' does.")
    return name


def in_subtree_clause(path: str) -> ColumnElement[bool]:
    """A WHERE clause selecting the group at ``path`` and everything below it."""
    if path == "":
        return Group.path.is_not(None)
    escaped = path.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return or_(Group.path == path, Group.path.like(escaped + SEPARATOR + "%", escape="\\"))


def root_group(db: Session) -> Group | None:
    """The root group (the organisation), or None before first-run set-up."""
    return db.scalars(select(Group).where(Group.parent_id.is_(None))).one_or_none()


def organisation_name(engine: Engine) -> str | None:
    """The organisation's name (the root group's), or None before set-up."""
    with session(engine) as db:
        root = root_group(db)
        return root.name if root else None


def groups_in_scope(engine: Engine, scope_path: str) -> list[GroupInfo]:
    """The groups at and below ``scope_path``, in path order (the root first)."""
    with session(engine) as db:
        rows = db.execute(
            select(Group.id, Group.name, Group.path)
            .where(in_subtree_clause(scope_path))
            .order_by(Group.path)
        ).all()
    return [GroupInfo(id=row.id, name=row.name, path=row.path) for row in rows]
