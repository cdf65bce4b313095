"""Reading stored batches: one batch, the job document of SPEC §8, the job history, a
batch's row outcomes, results download and invitations."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from userbatch.db import session
from userbatch.directory.auth import OperatorInfo
from userbatch.directory.fields import MESSAGE_LABEL, RESULT_LABEL
from userbatch.errors import NotAllowed, NotFound
from userbatch.files.download import write_download
from userbatch.i18n import N_, Text
from userbatch.i18n.recall import recalled
from userbatch.models import (
    ACTIVE_STATES,
    Batch,
    BatchRow,
    BatchState,
    Group,
    Operator,
    OutboxMessage,
)

# A batch's invitations by state: waiting (or being sent), sent by SMTP, kept in the Outbox
# (no SMTP server set: nothing left the machine), failed.
NO_INVITATIONS = {"scheduled": 0, "sent": 0, "kept": 0, "failed": 0}
# A batch's state (a value kept as it is) -> its name for people, a message id.
STATE_NAMES = {
    "stored": N_("stored"), "queued": N_("queued"), "scheduled": N_("scheduled"),
    "deferred": N_("deferred"), "started": N_("started"), "finished": N_("finished"),
    "failed": N_("failed"), "canceled": N_("canceled"),
}  # fmt: skip


def state_name(state: str) -> Text:
    """A batch's state as people read it (made in the reader's language when shown)."""
    return Text(STATE_NAMES.get(state, state))


@dataclass(frozen=True)
class BatchProgress:
    id: str
    file_name: str
    state: str
    done: int
    total: int


def find_batch(engine: Engine, batch_id: str) -> Batch | None:
    """The batch, or None when there is none with that id."""
    with session(engine) as db:
        return db.get(Batch, batch_id)


def get_batch(engine: Engine, batch_id: str) -> Batch:
    """The batch; raises ``NotFound`` when there is none with that id."""
    batch = find_batch(engine, batch_id)
    if batch is None:
        raise NotFound(what=Text("batch with id"), key=batch_id)
    return batch


def invitation_counts(engine: Engine, batch_id: str) -> dict[str, int]:
    """The batch's invitations by state (``NO_INVITATIONS``)."""
    with session(engine) as db:
        counts = _invitation_counts(db, [batch_id])
    return counts.get(batch_id, dict(NO_INVITATIONS))


def job_document(engine: Engine, batch_id: str, *, state: str | None = None) -> dict[str, Any]:
    """The batch's job document (SPEC §8); ``state`` overrides the stored one (RQ's view)."""
    batch = get_batch(engine, batch_id)
    document: dict[str, Any] = {
        "id": batch.id,
        "state": state or batch.state,
        "progress": {"done": batch.done, "total": batch.total},
        "counts": {
            "created": batch.created,
            "updated": batch.updated,
            "unchanged": batch.unchanged,
            "failed": batch.failed,
        },
        "invitations": invitation_counts(engine, batch_id),
    }
    if batch.undo_of is not None:
        document["undo_of"] = batch.undo_of
        document["counts"]["deleted"] = batch.deleted
    undo = undone_by(engine, batch_id)
    if undo is not None:
        document["undone_by"] = undo.id
    return document


def undone_by(engine: Engine, batch_id: str) -> Batch | None:
    """The undo of this batch (stored, queued, running or ended, not canceled), if any."""
    with session(engine) as db:
        return db.scalar(
            select(Batch).where(Batch.undo_of == batch_id, Batch.state != BatchState.CANCELED)
        )


def active_batches(engine: Engine, operator_id: int) -> list[BatchProgress]:
    """The operator's batches that are queued or running, newest first."""
    with session(engine) as db:
        rows = db.execute(
            select(Batch.id, Batch.file_name, Batch.state, Batch.done, Batch.total)
            .where(Batch.operator_id == operator_id, Batch.state.in_(ACTIVE_STATES))
            .order_by(Batch.submitted_at.desc())
        ).all()
    return [BatchProgress(*row) for row in rows]


@dataclass(frozen=True)
class BatchSummary:
    """One line of the job history."""

    id: str
    file_name: str
    operator: str
    group: str
    submitted_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    state: str
    done: int
    total: int
    created: int
    updated: int
    unchanged: int
    failed: int
    invitations: dict[str, int]
    error: str | None


def list_batches(
    engine: Engine,
    operator: OperatorInfo,
    *,
    states: list[str] | None = None,
    operator_login: str | None = None,
    limit: int | None = 200,
    offset: int = 0,
) -> list[BatchSummary]:
    """Batches newest first (``limit`` of them, after the first ``offset``): an admin's view
    of everyone's (or one operator's), a manager's own."""
    query = (
        select(Batch, Operator.login, Group.path)
        .join(Operator, Operator.id == Batch.operator_id)
        .join(Group, Group.id == Batch.group_id)
        .order_by(Batch.submitted_at.desc(), Batch.id)
        .limit(limit)
        .offset(offset)
    )
    if not operator.is_admin:
        query = query.where(Batch.operator_id == operator.id)
    elif operator_login:
        query = query.where(Operator.login == operator_login)
    if states:
        query = query.where(Batch.state.in_(states))
    with session(engine) as db:
        rows = db.execute(query).all()
        invitations = _invitation_counts(db, [batch.id for batch, _, _ in rows])
    return [
        BatchSummary(
            batch.id,
            batch.file_name,
            login,
            path,
            batch.submitted_at,
            batch.started_at,
            batch.finished_at,
            batch.state,
            batch.done,
            batch.total,
            batch.created,
            batch.updated,
            batch.unchanged,
            batch.failed,
            invitations.get(batch.id, dict(NO_INVITATIONS)),
            batch.error,
        )
        for batch, login, path in rows
    ]


def _invitation_counts(db: Session, batch_ids: list[str]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    rows = db.execute(
        select(OutboxMessage.batch_id, OutboxMessage.state, func.count())
        .where(OutboxMessage.batch_id.in_(batch_ids))
        .group_by(OutboxMessage.batch_id, OutboxMessage.state)
    )
    for batch_id, state, count in rows:
        bucket = counts.setdefault(str(batch_id), dict(NO_INVITATIONS))
        key = "scheduled" if state in ("scheduled", "sending") else state
        if key in bucket:
            bucket[key] += count
    return counts


def batch_for(engine: Engine, operator: OperatorInfo, batch_id: str) -> Batch:
    """The batch, if this operator may see it; raises ``NotFound`` or ``NotAllowed``."""
    batch = get_batch(engine, batch_id)
    if not operator.is_admin and batch.operator_id != operator.id:
        raise NotAllowed(Text("That batch belongs to another operator."))
    return batch


@dataclass(frozen=True)
class RowOutcome:
    """What applying did with one row of a batch."""

    row: int
    key: str
    checked_as: str  # the check's status: new, update, unchanged
    outcome: str  # pending, created, updated, unchanged, failed
    message: str  # in the reader's language


def row_outcomes(engine: Engine, batch_id: str, *, outcome: str | None = None) -> list[RowOutcome]:
    """Each row's outcome, in row order; all rows or those of one ``outcome``."""
    query = select(
        BatchRow.row_no, BatchRow.key, BatchRow.action, BatchRow.outcome, BatchRow.message
    ).where(BatchRow.batch_id == batch_id)
    if outcome:
        query = query.where(BatchRow.outcome == outcome)
    with session(engine) as db:
        rows = db.execute(query.order_by(BatchRow.row_no)).all()
    return [
        RowOutcome(r.row_no, r.key, r.action, r.outcome, recalled(r.message or "")) for r in rows
    ]


def results_file(engine: Engine, batch_id: str) -> bytes:
    """The uploaded columns of every row plus Result and Message (passwords left blank), in
    the upload's encoding, or UTF-8 when that cannot hold a cell (an edit, a message). The
    results are their values (created, failed …), the messages in the reader's language."""
    batch = get_batch(engine, batch_id)
    keys = batch.options.get("keys", [])
    with session(engine) as db:
        rows = db.execute(
            select(BatchRow.values, BatchRow.outcome, BatchRow.message)
            .where(BatchRow.batch_id == batch_id)
            .order_by(BatchRow.row_no)
        ).all()
    body = (
        [str(values.get(key, "")) for key in keys] + [outcome, recalled(message or "")]
        for values, outcome, message in rows
    )
    data, _ = write_download(
        [*batch.columns, RESULT_LABEL, MESSAGE_LABEL], body, upload_encoding=batch.encoding
    )
    return data


@dataclass(frozen=True)
class InvitationState:
    """One invitation of a batch, as the outbox keeps it."""

    recipient: str
    state: str
    send_at: dt.datetime
    sent_at: dt.datetime | None
    attempts: int
    last_error: str


def batch_invitations(engine: Engine, batch_id: str) -> list[InvitationState]:
    """The batch's invitations in the order they were made."""
    with session(engine) as db:
        rows = db.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.batch_id == batch_id)
            .order_by(OutboxMessage.id)
        ).all()
    return [
        InvitationState(m.recipient, m.state, m.send_at, m.sent_at, m.attempts, m.last_error or "")
        for m in rows
    ]


def batch_states(engine: Engine, batch_ids: list[str]) -> dict[str, tuple[str, str]]:
    """The state and file name of these batches."""
    with session(engine) as db:
        rows = db.execute(
            select(Batch.id, Batch.state, Batch.file_name).where(Batch.id.in_(batch_ids))
        )
        return {batch_id: (state, name) for batch_id, state, name in rows}
