"""What undoing a batch will do, row by row, judged against the database as it is now.

Each row the batch created or updated is looked at with its before-image
(``batches.images``):

- a user the batch created is deleted, or suspended instead when they have signed in (or
  set a password, or were changed in any way) since — nobody loses what they did since;
- each value the batch changed goes back to its value before the batch, unless a later batch
  or Edit user changed it since: that value is kept, and the row lists it with the three
  values (before, the batch's, now);
- a user deleted since is left alone.

The preview (``plan_rows`` over the whole batch) and each chunk of the undo (over its rows,
in the transaction that carries it out) judge the same way, so the undo does what the
preview said unless the database changed in between — and then it does what is safe now.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from userbatch.batches.images import GROUPS, current_groups, current_users, fields_of
from userbatch.i18n import Listing, Sentences, Text, Words
from userbatch.i18n.recall import kept
from userbatch.models import BatchRow, User

_PART = 5000
# The outcomes of rows an undo takes back.
UNDOABLE = ("created", "updated", "suspended")
DELETE, SUSPEND, RESTORE, KEEP = "delete", "suspend", "restore", "keep"
ACTIONS = (DELETE, SUSPEND, RESTORE, KEEP)
# Fields an image holds that are not shown: the e-mail's key follows the e-mail.
HIDDEN = frozenset({"email_key"})


@dataclass(frozen=True)
class FieldUndo:
    """One value the batch changed: before it, the batch's, and now."""

    name: str  # an image field name (``batches.images``)
    before: Any
    batch: Any
    now: Any
    restore: bool  # False: changed since, kept as it is
    why: Words = ""  # why a value that was not changed since is kept all the same


@dataclass(frozen=True)
class RowUndo:
    """What the undo does with one row of the batch."""

    row: int
    key: str
    user_id: int | None
    action: str  # one of ACTIONS
    fields: tuple[FieldUndo, ...] = ()
    message: Words = ""

    @property
    def restored(self) -> list[FieldUndo]:
        return [field for field in self.fields if field.restore and field.now != field.before]

    @property
    def kept(self) -> list[FieldUndo]:
        return [field for field in self.fields if not field.restore]


def plan_rows(
    connection: Connection,
    batch_id: str,
    row_numbers: list[int] | None = None,
    *,
    lock: bool = False,
) -> Iterator[RowUndo]:
    """What undoing batch ``batch_id`` does with each row it created or updated (of those
    numbered ``row_numbers``, or all), in row order; ``lock`` holds the users read."""
    query = select(
        BatchRow.row_no, BatchRow.key, BatchRow.outcome, BatchRow.user_id, BatchRow.before
    ).where(BatchRow.batch_id == batch_id, BatchRow.outcome.in_(UNDOABLE))
    if row_numbers is not None:
        query = query.where(BatchRow.row_no.in_(row_numbers))
    rows = connection.execute(query.order_by(BatchRow.row_no)).all()
    for start in range(0, len(rows), _PART):
        part = rows[start : start + _PART]
        # A created user is judged by when they were changed and signed in alone.
        created = [row.user_id for row in part if row.outcome == "created" and row.user_id]
        ids = [row.user_id for row in part if row.outcome != "created" and row.user_id]
        users = current_users(connection, ids, lock=lock) | _times(connection, created, lock=lock)
        groups = current_groups(connection, ids)
        owners = _email_owners(connection, part)
        for row in part:
            user = users.get(row.user_id) if row.user_id is not None else None
            yield _row_undo(row, user, groups.get(row.user_id or 0, []), owners)


def _times(connection: Connection, user_ids: list[int], *, lock: bool) -> dict[int, dict[str, Any]]:
    """These users' id and times (created, updated, first signed in), by id."""
    query = select(User.id, User.created_at, User.updated_at, User.first_login_at).where(
        User.id.in_(user_ids)
    )
    if lock:
        query = query.with_for_update()
    return {row.id: row._asdict() for row in connection.execute(query)} if user_ids else {}


def _row_undo(
    row: Any, user: dict[str, Any] | None, groups: list[int], owners: dict[str, int]
) -> RowUndo:
    if user is None:
        return RowUndo(row.row_no, row.key, None, KEEP, message=Text("Deleted since the batch."))
    if row.outcome == "created":  # its image is ``images.CREATED``
        if user["first_login_at"] is not None:
            why = Text("Signed in since the batch: suspended, not deleted.")
        elif user["updated_at"] != user["created_at"]:
            why = Text("Changed since the batch: suspended, not deleted.")
        else:
            return RowUndo(row.row_no, row.key, user["id"], DELETE)
        return RowUndo(row.row_no, row.key, user["id"], SUSPEND, message=why)
    image = row.before or {}
    now = fields_of(user)
    fields = [
        _field(name, before, batch, now.get(name))
        for name, (before, batch) in (image.get("fields") or {}).items()
    ]
    if GROUPS in image:
        before, batch = image[GROUPS]
        fields.append(_field(GROUPS, before, batch, groups))
    fields = _unclaimed_email(fields, user["id"], owners)
    undo = RowUndo(row.row_no, row.key, user["id"], KEEP, tuple(fields))
    action = RESTORE if undo.restored else KEEP
    message: Words = "" if undo.restored or undo.kept else Text("Already as before the batch.")
    return RowUndo(row.row_no, row.key, user["id"], action, tuple(fields), message)


def row_message(undo: RowUndo, label: Callable[[str], str]) -> str:
    """What the undo says of a row, kept as English words (``recall`` reads them again): why
    it is not deleted, which values it keeps and why; ``label`` names an image field."""
    held = [field for field in undo.kept if field.name not in HIDDEN]
    if not held:
        return kept(undo.message) if undo.message else ""
    names = Listing([label(field.name) for field in held])
    whys = sorted({kept(field.why) for field in held if field.why})
    said = (
        Text("Kept, changed since the batch: {names}.", names=names)
        if any(not field.why for field in held)
        else Text("Kept: {names}.", names=names)
    )
    return kept(Sentences(*(part for part in (undo.message, said, *whys) if part)))


def _field(name: str, before: Any, batch: Any, now: Any) -> FieldUndo:
    return FieldUndo(name, before, batch, now, restore=now in (before, batch))


def _email_owners(connection: Connection, rows: Sequence[Any]) -> dict[str, int]:
    """Who holds, now, each e-mail key an undo of these rows would give back."""
    wanted = {
        fields["email_key"][0]
        for row in rows
        if row.before and (fields := row.before.get("fields") or {}).get("email_key")
        and fields["email_key"][0]
    }  # fmt: skip
    if not wanted:
        return {}
    query = select(User.email_key, User.id).where(User.email_key.in_(sorted(wanted)))
    return {str(key): user_id for key, user_id in connection.execute(query)}


def _unclaimed_email(
    fields: list[FieldUndo], user_id: int, owners: dict[str, int]
) -> list[FieldUndo]:
    """The fields, with the e-mail kept when its old address belongs to someone else now."""
    key = next((f for f in fields if f.name == "email_key" and f.restore), None)
    if key is None or key.before is None or owners.get(key.before, user_id) == user_id:
        return fields
    why = Text("Its old address belongs to another user now.")
    return [
        FieldUndo(f.name, f.before, f.batch, f.now, restore=False, why=why)
        if f.name in ("email", "email_key")
        else f
        for f in fields
    ]
