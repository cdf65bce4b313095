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


def in_scope(path: str, scope_path: str) -> bool:
    """True when the group at ``path`` lies at or below ``scope_path`` ('' is the root)."""
    return scope_path == "" or path == scope_path or path.startswith(scope_path + SEPARATOR)


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


def find_group(engine: Engine, path: str) -> GroupInfo:
    """The group at ``path`` ('' for the root); raises ``PolicyError`` when there is none."""
    path = normalize_path(path)
    with session(engine) as db:
        group = db.scalars(select(Group).where(Group.path == path)).one_or_none()
    if group is None:
        raise PolicyError(f"The group '{path}' does not exist.")
    return GroupInfo(id=group.id, name=group.name, path=group.path)


def normalize_path(path: str) -> str:
    """A path with its names trimmed: ' Sales >> Tokyo ' -> 'Sales>>Tokyo'."""
    return SEPARATOR.join(part.strip() for part in path.split(SEPARATOR)) if path.strip() else ""


def add_group(engine: Engine, path: str, *, scope_path: str = "") -> GroupInfo:
    """Create the group at ``path`` and any missing parents; returns it (existing or new).

    Raises ``PolicyError`` for a bad name, before set-up, or outside ``scope_path``.
    """
    names = [validate_group_name(name) for name in path.split(SEPARATOR)]
    full = SEPARATOR.join(names)
    if not in_scope(full, scope_path):
        raise PolicyError(f"The group '{full}' is outside your groups ('{scope_path}' and below).")
    with session(engine) as db, db.begin():
        parent = root_group(db)
        if parent is None:
            raise PolicyError("Set-up is not done yet: there is no organisation (root group).")
        for depth in range(1, len(names) + 1):
            sub_path = SEPARATOR.join(names[:depth])
            group = db.scalars(select(Group).where(Group.path == sub_path)).one_or_none()
            if group is None:
                group = Group(parent_id=parent.id, name=names[depth - 1], path=sub_path)
                db.add(group)
                db.flush()
            parent = group
        return GroupInfo(id=parent.id, name=parent.name, path=parent.path)
