"""Undoing a batch: whether it can be, storing the undo as a batch of its own, and applying a
chunk of it on a worker (what each row's undo does: ``undo_plan``; its preview:
``undo_preview``).

An undo is a ``Batch`` whose ``undo_of`` names the batch it takes back (unique: a batch is
undone at most once) and whose rows are that batch's created and updated rows, numbered as
they were. It runs on the workers like any batch — in chunks that claim their rows, so that
after a kill it resumes and does each row exactly once. What a row's undo does is judged
again in the transaction that does it (``batches.undo_plan``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, Engine, String, cast, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from userbatch.batches.chunks import ChunkOutcome, claim, outcome_of, record
from userbatch.batches.history import state_name, undone_by
from userbatch.batches.images import CUSTOM, GROUPS
from userbatch.batches.records import add_memberships, update_users
from userbatch.batches.store import new_batch_id
from userbatch.batches.undo_plan import (
    DELETE,
    KEEP,
    RESTORE,
    SUSPEND,
    RowUndo,
    plan_rows,
    row_message,
)
from userbatch.batches.undo_preview import Labels
from userbatch.db import insert_plain, session
from userbatch.directory.auth import OperatorInfo
from userbatch.directory.groups import in_scope
from userbatch.errors import Conflict, NotAllowed
from userbatch.i18n import Text
from userbatch.i18n.recall import kept
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

# The outcome an undo writes for each action.
OUTCOMES = {DELETE: "deleted", SUSPEND: "suspended", RESTORE: "restored", KEEP: "kept"}


def why_not_undoable(engine: Engine, batch: Batch) -> Text | None:
    """Why this batch cannot be undone now (words made when shown), or None when it can."""
    if batch.undo_of is not None:
        return Text("An undo cannot itself be undone; upload the file again instead.")
    if batch.state not in (BatchState.FINISHED, BatchState.FAILED):
        return Text(
            "Only a batch that has ended can be undone; this one is {state}.",
            state=state_name(batch.state),
        )
    undo = undone_by(engine, batch.id)
    if undo is not None:
        return Text(
            "This batch was undone already ({name}, {state}).",
            name=undo.file_name, state=state_name(undo.state),
        )  # fmt: skip
    if not batch.created and not batch.updated:
        return Text("This batch created and changed no user, so there is nothing to undo.")
    return None


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
        raise NotAllowed(Text("That batch's working group is outside your groups."))
    undo_id = new_batch_id()
    try:
        _store(engine, operator, batch, undo_id)
    except IntegrityError:  # another undo of the batch was stored meanwhile: ``undo_of``
        raise Conflict(Text("This batch was undone already.")) from None
    return undo_id


def _store(engine: Engine, operator: OperatorInfo, batch: Batch, undo_id: str) -> None:
    with engine.begin() as connection:
        # Each row's cells as the database holds them (JSON text), copied as they are.
        values: dict[int, str] = dict(
            connection.execute(
                select(BatchRow.row_no, cast(BatchRow.values, String)).where(
                    BatchRow.batch_id == batch.id
                )
            ).all()
        )
        rows = [
            (undo.row, undo.action, undo.key, values.get(undo.row) or "{}", undo.user_id)
            for undo in plan_rows(connection, batch.id)
        ]
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
        insert_plain(
            connection, BatchRow.__table__, rows, ("row_no", "action", "key", "values", "user_id"),
            same={"batch_id": undo_id, "changes": {}, "outcome": "pending"}, raw=("values",),
        )  # fmt: skip
        connection.execute(
            update(OutboxMessage)
            .where(OutboxMessage.batch_id == batch.id, OutboxMessage.state == "scheduled")
            .values(
                state="canceled",
                # Kept in English; the screens read it in their reader's language (recall).
                last_error=kept(
                    Text("Canceled: the batch was undone by {login}.", login=operator.login)
                ),
            )
        )


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
                nothing = kept(Text("Nothing to undo."))
                outcome.outcomes.append(outcome_of(row_no, "kept", nothing, None))
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
    changes: dict[int, dict[str, Any]] = {}
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
        changes[undo.user_id] = values | {"updated_at": now}
    update_users(connection, changes)
    if regrouped:
        existing = set(connection.scalars(select(Group.id)))
        connection.execute(delete(Membership).where(Membership.user_id.in_(list(regrouped))))
        add_memberships(
            connection,
            [
                (user_id, group_id)
                for user_id, groups in regrouped.items()
                for group_id in groups
                if group_id in existing
            ],
        )
