"""The group tree: names, paths and the groups an operator may see.

A group is written as its path below the root, parent first: ``Sales>>Tokyo``. The root is
the organisation itself; its path is the empty string.

Over 300 lines: reading the tree and editing it (add, rename, move, delete) share the path
and scope rules, which read best beside each other.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Engine, func, or_, select
from sqlalchemy.orm import Session

from userbatch.db import session
from userbatch.errors import Conflict, Invalid, NotAllowed, NotFound
from userbatch.i18n import N_, Listing, Text
from userbatch.models import Batch, Group, Membership, Operator

SEPARATOR = ">>"
MAX_NAME_LENGTH = 30
# What a name must not contain -> the refusal, saying why; "|" covers the "||" that joins
# the groups of a CSV cell.
_FORBIDDEN = {
    "|": N_(
        "A group name must not contain '|'; '{name}' does ('||' separates groups in a CSV cell)."
    ),
    "\\": N_("A group name must not contain '\\'; '{name}' does."),
    SEPARATOR: N_(
        "A group name must not contain '>>'; '{name}' does ('>>' separates a group from its "
        "subgroup in a path)."
    ),
}


@dataclass(frozen=True)
class GroupInfo:
    id: int
    name: str
    path: str  # '' for the root

    @property
    def is_root(self) -> bool:
        return self.path == ""


def validate_group_name(name: str) -> str:
    """The trimmed name; raises a ``UserbatchError`` saying which rule a bad name breaks."""
    name = name.strip()
    if not name:
        raise Invalid(Text("A group name must not be empty."))
    if len(name) > MAX_NAME_LENGTH:
        raise Invalid(
            Text("A group name has at most {max} characters; '{name}' has {count}.",
                 max=MAX_NAME_LENGTH, name=name, count=len(name))
        )  # fmt: skip
    for forbidden, refusal in _FORBIDDEN.items():
        if forbidden in name:
            raise Invalid(Text(refusal, name=name))
    return name


def in_scope(path: str, scope_path: str) -> bool:
    """True when the group at ``path`` lies at or below ``scope_path`` ('' is the root)."""
    return scope_path == "" or path == scope_path or path.startswith(scope_path + SEPARATOR)


def in_subtree_clause(path: str) -> ColumnElement[bool]:
    """A WHERE clause selecting the group at ``path`` and everything below it."""
    if path == "":
        return Group.path.is_not(None)
    return or_(Group.path == path, Group.path.like(_like_prefix(path), escape="\\"))


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
    """The group at ``path`` ('' for the root); raises a ``UserbatchError`` when there is none."""
    path = normalize_path(path)
    with session(engine) as db:
        group = db.scalars(select(Group).where(Group.path == path)).one_or_none()
    if group is None:
        raise NotFound(Text("The group '{path}' does not exist.", path=path))
    return GroupInfo(id=group.id, name=group.name, path=group.path)


def working_group(engine: Engine, path: str | None, scope_path: str) -> GroupInfo:
    """The working group at ``path`` (None: the operator's own, ``scope_path``) for an
    operator of ``scope_path``; raises ``NotFound``, or ``NotAllowed`` outside their groups."""
    working = find_group(engine, scope_path if path is None else path)
    if not in_scope(working.path, scope_path):
        raise NotAllowed(Text("the group '{path}' is outside your groups", path=working.path))
    return working


def normalize_path(path: str) -> str:
    """A path with its names trimmed: ' Sales >> Tokyo ' -> 'Sales>>Tokyo'."""
    return SEPARATOR.join(part.strip() for part in path.split(SEPARATOR)) if path.strip() else ""


def child_path(parent_path: str, name: str) -> str:
    """The path of the group ``name`` under the group at ``parent_path`` ('' is the root)."""
    return f"{parent_path}{SEPARATOR}{name}" if parent_path else name


def add_group(engine: Engine, path: str, *, scope_path: str = "") -> GroupInfo:
    """Create the group at ``path`` (a whole path) and any missing parents; returns it.

    Raises a ``UserbatchError`` for a bad name, before set-up, outside ``scope_path``, or when the
    group exists already (nothing is written then).
    """
    names = [validate_group_name(name) for name in path.split(SEPARATOR)]
    full = SEPARATOR.join(names)
    if not in_scope(full, scope_path):
        raise NotAllowed(
            Text("The group '{path}' is outside your groups ('{scope}' and below).", path=full,
                 scope=scope_path)
        )  # fmt: skip
    with session(engine) as db, db.begin():
        if db.scalar(select(Group.id).where(Group.path == full)) is not None:
            raise GroupExists(full)
        group = ensure_group(db, names)
        return GroupInfo(id=group.id, name=group.name, path=group.path)


def add_subgroup(engine: Engine, parent_id: int, name: str, *, scope_path: str) -> GroupInfo:
    """Create the group ``name`` (one name, never a path) under the group ``parent_id``;
    returns it. Raises a ``UserbatchError`` for a bad name, a parent outside ``scope_path``, or a
    sibling of that name (nothing is written then)."""
    name = validate_group_name(name)
    with session(engine) as db, db.begin():
        parent = _editable(db, parent_id, scope_path)  # locked: one creation at a time under it
        path = child_path(parent.path, name)
        if _sibling_taken(db, parent.id, name):
            raise GroupExists(path)
        group = Group(parent_id=parent.id, name=name, path=path)
        db.add(group)
        db.flush()
        return GroupInfo(id=group.id, name=group.name, path=group.path)


class GroupExists(Conflict):
    """The group to create is there already (nothing was written)."""

    def __init__(self, path: str) -> None:
        super().__init__(Text("The group '{path}' exists already; nothing was created.", path=path))
        self.path = path


def ensure_group(db: Session, names: list[str]) -> Group:
    """The group with the path of valid ``names``, created with any missing parents in the
    session's transaction. Raises a ``UserbatchError`` before set-up."""
    parent = root_group(db)
    if parent is None:
        raise Conflict(Text("Set-up is not done yet: there is no organisation (root group)."))
    for depth in range(1, len(names) + 1):
        sub_path = SEPARATOR.join(names[:depth])
        group = db.scalars(select(Group).where(Group.path == sub_path)).one_or_none()
        if group is None:
            group = Group(parent_id=parent.id, name=names[depth - 1], path=sub_path)
            db.add(group)
            db.flush()
        parent = group
    return parent


@dataclass(frozen=True)
class GroupNode:
    """A group as the Groups screen lists it."""

    id: int
    name: str
    path: str
    depth: int
    members: int
    subgroups: int


def group_tree(engine: Engine, scope_path: str) -> list[GroupNode]:
    """The groups at and below ``scope_path`` in tree order, with member counts."""
    with session(engine) as db:
        members = dict(
            db.execute(
                select(Membership.group_id, func.count()).group_by(Membership.group_id)
            ).all()
        )
        children = dict(
            db.execute(
                select(Group.parent_id, func.count())
                .where(Group.parent_id.is_not(None))
                .group_by(Group.parent_id)
            ).all()
        )
        rows = db.execute(
            select(Group.id, Group.name, Group.path)
            .where(in_subtree_clause(scope_path))
            .order_by(Group.path)
        ).all()
    return [
        GroupNode(
            id=row.id,
            name=row.name,
            path=row.path,
            depth=0 if row.path == "" else row.path.count(SEPARATOR) + 1,
            members=members.get(row.id, 0),
            subgroups=children.get(row.id, 0),
        )
        for row in rows
    ]


def _editable(db: Session, group_id: int, scope_path: str) -> Group:
    group = db.get(Group, group_id, with_for_update=True)
    if group is None:
        raise NotFound(Text("That group no longer exists."))
    if not in_scope(group.path, scope_path):
        raise NotAllowed(Text("The group '{path}' is outside your groups.", path=group.path))
    return group


def _repath(db: Session, old_path: str, new_path: str) -> None:
    """Give the group at ``old_path`` and everything below it the prefix ``new_path``."""
    below = db.scalars(select(Group).where(Group.path.like(_like_prefix(old_path), escape="\\")))
    for group in below:
        group.path = new_path + group.path[len(old_path) :]
    db.flush()


def _like_prefix(path: str) -> str:
    escaped = path.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + SEPARATOR + "%"


def _sibling_taken(db: Session, parent_id: int | None, name: str, group_id: int = 0) -> bool:
    """True when the parent has a group named ``name`` other than ``group_id`` (0: any)."""
    return (
        db.scalar(
            select(Group.id).where(
                Group.parent_id == parent_id, Group.name == name, Group.id != group_id
            )
        )
        is not None
    )


def rename_group(engine: Engine, group_id: int, name: str, *, scope_path: str) -> GroupInfo:
    """Rename a group (its subgroups' paths follow); raises a ``UserbatchError`` saying why not."""
    name = validate_group_name(name)
    with session(engine) as db, db.begin():
        group = _editable(db, group_id, scope_path)
        if group.path == scope_path and scope_path:
            raise NotAllowed(Text("Your own top group is renamed by an administrator."))
        if _sibling_taken(db, group.parent_id, name, group.id):
            raise Conflict(
                Text("The parent group has a subgroup named '{name}' already.", name=name)
            )
        if group.path:
            parent_path = group.path.rsplit(SEPARATOR, 1)[0] if SEPARATOR in group.path else ""
            new_path = child_path(parent_path, name)
            _repath(db, group.path, new_path)
            group.path = new_path
        group.name = name
        return GroupInfo(group.id, group.name, group.path)


def move_group(engine: Engine, group_id: int, parent_id: int, *, scope_path: str) -> GroupInfo:
    """Move a group (with its subgroups) under another parent; raises a ``UserbatchError``."""
    with session(engine) as db, db.begin():
        group = _editable(db, group_id, scope_path)
        parent = _editable(db, parent_id, scope_path)
        if not group.path:
            raise Invalid(Text("The organisation itself cannot be moved."))
        if group.path == scope_path:
            raise NotAllowed(Text("Your own top group is moved by an administrator."))
        if in_scope(parent.path, group.path):
            raise Invalid(Text("A group cannot move into itself or one of its subgroups."))
        if _sibling_taken(db, parent.id, group.name, group.id):
            if not parent.path:
                raise Conflict(Text("The organisation has a '{name}' already.", name=group.name))
            raise Conflict(
                Text("'{parent}' has a '{name}' already.", parent=parent.path, name=group.name)
            )
        new_path = child_path(parent.path, group.name)
        _repath(db, group.path, new_path)
        group.path, group.parent_id = new_path, parent.id
        return GroupInfo(group.id, group.name, group.path)


def delete_group(engine: Engine, group_id: int, *, scope_path: str) -> None:
    """Delete an empty group; raises a ``UserbatchError`` naming what it still holds."""
    with session(engine) as db, db.begin():
        group = _editable(db, group_id, scope_path)
        if not group.path:
            raise Invalid(Text("The organisation itself cannot be deleted."))
        reasons = []
        if db.scalar(select(func.count()).where(Group.parent_id == group.id)):
            reasons.append(Text("it has subgroups"))
        members = db.scalar(select(func.count()).where(Membership.group_id == group.id)) or 0
        if members:
            reasons.append(Text("{count} user(s) belong to it", count=members))
        if db.scalar(select(func.count()).where(Operator.scope_group_id == group.id)):
            reasons.append(Text("an operator manages it"))
        if db.scalar(select(func.count()).where(Batch.group_id == group.id)):
            reasons.append(Text("batches were run in it (their history keeps it)"))
        if reasons:
            raise Conflict(
                Text("'{path}' cannot be deleted: {reasons}.", path=group.path,
                     reasons=Listing(reasons))
            )  # fmt: skip
        db.delete(group)
