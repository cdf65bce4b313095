"""Undoing a batch: its preview, storing the undo as a batch of its own, and applying a chunk
of it on a worker.

An undo is a ``Batch`` whose ``undo_of`` names the batch it takes back (unique: a batch is
undone at most once) and whose rows are that batch's created and updated rows, numbered as
they were. It runs on the workers like any batch — in chunks that claim their rows, so that
after a kill it resumes and does each row exactly once. What a row's undo does is judged
again in the transaction that does it (``batches.undo_plan``).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, delete, func, insert, select, update

from userbatch.batches.history import undone_by
from userbatch.batches.images import CUSTOM, GROUPS
from userbatch.batches.store import new_batch_id
from userbatch.batches.undo_plan import (
    ACTIONS,
    DELETE,
    HIDDEN,
    KEEP,
    RESTORE,
    SUSPEND,
    RowUndo,
    plan_rows,
    row_message,
)
from userbatch.batches.writer import ChunkOutcome, claim, outcome_of, record
from userbatch.check.lookup import custom_text
from userbatch.check.rules import STATUSES
from userbatch.db import session
from userbatch.directory.auth import OperatorInfo
from userbatch.directory.fields import MULTI_SEPARATOR, load_columns
from userbatch.directory.groups import in_scope
from userbatch.errors import Conflict, NotAllowed
from userbatch.files.download import write_download
from userbatch.models import (
    Batch,
    BatchRow,
    BatchState,
    Group,
    Membership,
    OutboxMessage,
    User,
    utcnow,
)

_INSERT_CHUNK = 5000
# The outcome an undo writes for each action.
OUTCOMES = {DELETE: "deleted", SUSPEND: "suspended", RESTORE: "restored", KEEP: "kept"}
PREVIEW_HEADER = ["Row", "Key", "Undo", "Field", "Before", "Batch", "Now", "Message"]


def why_not_undoable(engine: Engine, batch: Batch) -> str | None:
    """Why this batch cannot be undone now, or None when it can."""
    if batch.undo_of is not None:
        return "An undo cannot itself be undone; upload the file again instead."
    if batch.state not in (BatchState.FINISHED, BatchState.FAILED):
        return f"Only a batch that has ended can be undone; this one is {batch.state}."
    undo = undone_by(engine, batch.id)
    if undo is not None:
        return f"This batch was undone already ({undo.file_name}, {undo.state})."
    if not batch.created and not batch.updated:
        return "This batch created and changed no user, so there is nothing to undo."
    return None


class Labels:
    """Image field names and values as the operator reads them."""

    def __init__(self, engine: Engine) -> None:
        self.columns = {column.key: column.label for column in load_columns(engine)}
        with session(engine) as db:
            self.paths = dict(db.execute(select(Group.id, Group.path)).all())

    def name(self, field: str) -> str:
        key = {GROUPS: "belong_to", "password_hash": "password"}.get(field, field)
        key = key.removeprefix(CUSTOM)
        return self.columns.get(key, key)

    def value(self, field: str, value: Any) -> str:
        if field == "password_hash":
            return "(a password)" if value else ""
        if field == GROUPS:
            return MULTI_SEPARATOR.join(sorted(self.paths.get(g, f"#{g}") for g in value or []))
        if field == "status":
            return STATUSES.get(value, str(value))
        return custom_text(value)


def preview(engine: Engine, batch: Batch) -> dict[str, Any]:
    """The undo's preview as a document: ``counts`` of each action (and the invitations it
    cancels), and per row the key, the action, and for restore and keep the fields with
    their values (before, the batch's, now, and whether the undo restores it)."""
    labels = Labels(engine)
    with engine.connect() as connection:
        planned = list(plan_rows(connection, batch.id))
        scheduled = _scheduled(connection, batch.id)
    counts = Counter(undo.action for undo in planned)
    return {
        "batch": batch.id,
        "file_name": batch.file_name,
        "counts": {action: counts.get(action, 0) for action in ACTIONS}
        | {"invitations_canceled": scheduled},
        "rows": [_row_document(undo, labels) for undo in planned],
    }


def _row_document(undo: RowUndo, labels: Labels) -> dict[str, Any]:
    document: dict[str, Any] = {"row": undo.row, "key": undo.key, "action": undo.action}
    if undo.action in (RESTORE, KEEP):
        document["fields"] = [
            {
                "field": labels.name(field.name),
                "before": labels.value(field.name, field.before),
                "batch": labels.value(field.name, field.batch),
                "now": labels.value(field.name, field.now),
                "undo": RESTORE if field.restore else KEEP,
            }
            for field in undo.fields
            if field.name not in HIDDEN
        ]
    document["message"] = row_message(undo, labels.name)
    return document


def preview_lines(document: dict[str, Any]) -> list[list[str]]:
    """The preview as lines of ``PREVIEW_HEADER``: one per value the undo restores or keeps,
    and one per user it deletes or suspends."""
    lines = []
    for row in document["rows"]:
        head = [str(row["row"]), row["key"], row["action"]]
        for field in row.get("fields") or [{}]:
            lines.append(
                head
                + [field.get(name, "") for name in ("field", "before", "batch", "now")]
                + [row["message"]]
            )
    return lines


def preview_file(document: dict[str, Any], *, upload_encoding: str) -> bytes:
    """The preview as a CSV file (``preview_lines``)."""
    data, _ = write_download(
        PREVIEW_HEADER, preview_lines(document), upload_encoding=upload_encoding
    )
    return data


def _scheduled(connection: Connection, batch_id: str) -> int:
    return connection.scalar(
        select(func.count()).where(
            OutboxMessage.batch_id == batch_id, OutboxMessage.state == "scheduled"
        )
    ) or 0  # fmt: skip


def store_undo(engine: Engine, operator: OperatorInfo, batch: Batch) -> str:
    """Store the undo of ``batch`` as a new batch, ready to run, and cancel the batch's
    invitations that have not gone out; returns the undo's id. Raises ``Conflict`` when the
    batch cannot be undone, ``NotAllowed`` outside the operator's groups."""
    reason = why_not_undoable(engine, batch)
    if reason:
        raise Conflict(reason)
    with session(engine) as db:
        group_path = db.get_one(Group, batch.group_id).path
    if not in_scope(group_path, operator.scope_path):
        raise NotAllowed("That batch's working group is outside your groups.")
    undo_id = new_batch_id()
    with engine.begin() as connection:
        values: dict[int, dict[str, Any]] = dict(
            connection.execute(
                select(BatchRow.row_no, BatchRow.values).where(BatchRow.batch_id == batch.id)
            ).all()
        )
        rows = [
            {
                "batch_id": undo_id, "row_no": undo.row, "action": undo.action, "key": undo.key,
                "values": values.get(undo.row) or {}, "changes": {}, "outcome": "pending",
                "user_id": undo.user_id,
            }
            for undo in plan_rows(connection, batch.id)
        ]  # fmt: skip
        # A canceled undo gives the batch back to be undone again.
        connection.execute(
            update(Batch)
            .where(Batch.undo_of == batch.id, Batch.state == BatchState.CANCELED)
            .values(undo_of=None)
        )
        connection.execute(
            insert(Batch).values(
                id=undo_id, file_name=f"Undo of {batch.file_name}"[:255],
                file_sha256=batch.file_sha256, encoding=batch.encoding, columns=batch.columns,
                operator_id=operator.id, group_id=batch.group_id,
                options={"keys": batch.options.get("keys", []), "invite": False,
                         "scope_path": operator.scope_path},
                state=BatchState.STORED.value, total=len(rows), undo_of=batch.id,
                submitted_at=utcnow(),
            )
        )  # fmt: skip
        for start in range(0, len(rows), _INSERT_CHUNK):
            connection.execute(insert(BatchRow), rows[start : start + _INSERT_CHUNK])
        connection.execute(
            update(OutboxMessage)
            .where(OutboxMessage.batch_id == batch.id, OutboxMessage.state == "scheduled")
            .values(
                state="canceled", last_error=f"Canceled: the batch was undone by {operator.login}."
            )
        )
    return undo_id


def apply_undo_chunk(
    engine: Engine, undo: Batch, row_numbers: list[int], refusal: str | None
) -> None:
    """Carry out the undo's rows with these numbers that are still pending, in one
    transaction; a chunk done already (or being done by another worker) is left alone."""
    assert undo.undo_of is not None
    outcome = ChunkOutcome()
    labels = Labels(engine)
    with engine.begin() as connection:
        if not claim(connection, undo.id, row_numbers):
            connection.rollback()
            return
        if refusal:
            outcome.failed = len(row_numbers)
            outcome.outcomes = [outcome_of(n, "failed", refusal, None) for n in row_numbers]
        else:
            planned = {
                u.row: u for u in plan_rows(connection, undo.undo_of, row_numbers, lock=True)
            }
            _carry_out(connection, list(planned.values()), outcome, labels)
            for row_no in sorted(set(row_numbers) - set(planned)):
                outcome.unchanged += 1
                outcome.outcomes.append(outcome_of(row_no, "kept", "Nothing to undo.", None))
        record(connection, undo.id, outcome)


def _carry_out(
    connection: Connection, planned: list[RowUndo], outcome: ChunkOutcome, labels: Labels
) -> None:
    now = dt.datetime.now(dt.UTC)
    deleted = [undo.user_id for undo in planned if undo.action == DELETE]
    if deleted:
        connection.execute(delete(User).where(User.id.in_(deleted)))
    suspended = [undo.user_id for undo in planned if undo.action == SUSPEND]
    if suspended:
        connection.execute(
            update(User).where(User.id.in_(suspended)).values(status="suspended", updated_at=now)
        )
    restores = [undo for undo in planned if undo.action == RESTORE]
    if restores:
        _restore(connection, restores, now)
    for undo in planned:
        result = OUTCOMES[undo.action]
        if undo.action == DELETE:
            outcome.deleted += 1
        elif undo.action == KEEP:
            outcome.unchanged += 1
        else:
            outcome.updated += 1
        user_id = None if undo.action == DELETE else undo.user_id
        message = row_message(undo, labels.name) or None
        outcome.outcomes.append(outcome_of(undo.row, result, message, user_id))


def _restore(connection: Connection, restores: list[RowUndo], now: dt.datetime) -> None:
    customs: dict[int, dict[str, Any]] = dict(
        connection.execute(
            select(User.id, User.custom).where(User.id.in_([u.user_id for u in restores]))
        ).all()
    )
    by_shape: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    regrouped: dict[int, list[int]] = {}
    for undo in restores:
        assert undo.user_id is not None
        values: dict[str, Any] = {}
        custom = dict(customs.get(undo.user_id) or {})
        for field in undo.restored:
            if field.name == GROUPS:
                regrouped[undo.user_id] = list(field.before or [])
            elif field.name.startswith(CUSTOM):
                key = field.name.removeprefix(CUSTOM)
                if field.before is None:
                    custom.pop(key, None)
                else:
                    custom[key] = field.before
                values["custom"] = custom
            elif field.name == "expiration_date" and field.before:
                values[field.name] = dt.date.fromisoformat(field.before)
            else:
                values[field.name] = field.before
        values["updated_at"] = now
        by_shape.setdefault(tuple(sorted(values)), []).append(
            {"u_id": undo.user_id, **{f"u_{k}": v for k, v in values.items()}}
        )
    for shape, params in by_shape.items():
        connection.execute(
            update(User)
            .where(User.id == bindparam("u_id"))
            .values({key: bindparam(f"u_{key}") for key in shape}),
            params,
        )
    if regrouped:
        existing = set(connection.scalars(select(Group.id)))
        connection.execute(delete(Membership).where(Membership.user_id.in_(list(regrouped))))
        memberships = [
            {"user_id": user_id, "group_id": group_id}
            for user_id, groups in regrouped.items()
            for group_id in groups
            if group_id in existing
        ]
        if memberships:
            connection.execute(insert(Membership), memberships)
