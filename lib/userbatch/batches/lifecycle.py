"""Every change of a batch's state, each a guarded compare-and-set.

A transition is one ``UPDATE batches SET state = … WHERE id = … AND state IN (…)``: it moves
the batch only from the states it names, and says whether it did. So a late or repeated
writer can never move a batch backwards — a submitter that records the hand-over after a fast
worker has finished the batch changes nothing, and a job that RQ runs again after the batch
was canceled or finished leaves it alone. The words and their order are ``BatchState``'s
(``userbatch.models``).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Engine, func, select, update

from userbatch.db import retry_blips
from userbatch.i18n import Text
from userbatch.i18n.recall import kept
from userbatch.mail.notices import queue_batch_notice
from userbatch.mail.webhooks import queue_webhook_events
from userbatch.models import (
    ACTIVE_STATES,
    WAITING_STATES,
    Batch,
    BatchRow,
    BatchState,
    utcnow,
)

# A job may start (again) while its batch waits, runs, or failed and is being run again.
_STARTABLE = {*ACTIVE_STATES, BatchState.FAILED}
# The end is written by the batch's last job; after a failure, a run that applied every
# remaining row may still finish it.
_FINISHABLE = {BatchState.STARTED, BatchState.FAILED}
# The ends its operator hears of (``mail.notices``) and webhooks are told of
# (``mail.webhooks``): a cancel is the operator's own doing.
_NOTIFIED = {BatchState.FINISHED, BatchState.FAILED}


def _move(
    engine: Engine, batch_id: str, *, allowed: Collection[BatchState], to: BatchState,
    while_job: str | None = None, **values: Any,
) -> bool:  # fmt: skip
    """Move the batch from ``allowed`` to ``to`` (only while its job is ``while_job``, when
    given) and set ``values``; whether it moved."""
    where = [Batch.id == batch_id, Batch.state.in_([state.value for state in allowed])]
    if while_job is not None:
        where.append(Batch.job_id == while_job)
    with engine.begin() as connection:
        moved = connection.execute(
            update(Batch).where(*where).values(state=to.value, **values)
        ).rowcount
        if moved == 1 and to in _NOTIFIED:
            queue_batch_notice(connection, batch_id)
            queue_webhook_events(connection, batch_id)
    return moved == 1


@retry_blips
def hand_over(
    engine: Engine, batch_id: str, job_id: str, *, options: dict[str, Any] | None = None
) -> bool:
    """stored or failed → queued, recording the RQ job that will run it (and the batch's
    ``options``, when given: what executing a waiting batch chose, in the same step); False
    when the batch was neither (it was handed over already, or has ended)."""
    allowed = {BatchState.STORED, BatchState.FAILED}
    values: dict[str, Any] = {"job_id": job_id, "error": None}
    if options is not None:
        values["options"] = options
    return _move(engine, batch_id, allowed=allowed, to=BatchState.QUEUED, **values)


@retry_blips
def take_back(
    engine: Engine, batch_id: str, *, to: BatchState, options: dict[str, Any] | None = None
) -> bool:
    """queued → ``to`` (stored or failed), with the ``options`` it had before, when given:
    the hand-over to Redis failed, nothing runs it."""
    values: dict[str, Any] = {"options": options} if options is not None else {}
    return _move(engine, batch_id, allowed={BatchState.QUEUED}, to=to, **values)


@retry_blips
def track_job(engine: Engine, batch_id: str, job_id: str) -> None:
    """Record the RQ job whose end is the batch's (a fanned-out batch's finishing job)."""
    with engine.begin() as connection:
        connection.execute(update(Batch).where(Batch.id == batch_id).values(job_id=job_id))


@retry_blips
def start(engine: Engine, batch_id: str) -> int | None:
    """→ started (from queued, started, or failed and run again); returns the number of rows,
    or None when the batch has ended or was canceled and must not run."""
    with engine.begin() as connection:
        moved = connection.execute(
            update(Batch)
            .where(Batch.id == batch_id, Batch.state.in_([state.value for state in _STARTABLE]))
            .values(
                state=BatchState.STARTED.value,
                started_at=func.coalesce(Batch.started_at, utcnow()),
                error=None,
            )
        ).rowcount
        if moved != 1:
            return None
        total: int = connection.scalar(select(Batch.total).where(Batch.id == batch_id)) or 0
    return total


@retry_blips
def finish(engine: Engine, batch_id: str) -> BatchState | None:
    """started → finished, or → failed when rows are still pending (a part failed); returns
    the new state, or None when the batch was not running (it ended already)."""
    with engine.begin() as connection:
        pending = connection.scalar(
            select(func.count()).where(BatchRow.batch_id == batch_id, BatchRow.outcome == "pending")
        )
        to = BatchState.FAILED if pending else BatchState.FINISHED
        # Kept in English, read in each reader's language (``userbatch.i18n.recall``).
        error = kept(
            Text("{count} row(s) were not applied because a part of the batch failed; Retry "
                 "applies them.", count=pending)
        )  # fmt: skip
        moved = connection.execute(
            update(Batch)
            .where(Batch.id == batch_id, Batch.state.in_([state.value for state in _FINISHABLE]))
            .values(
                state=to.value,
                finished_at=utcnow(),
                error=func.coalesce(Batch.error, error) if pending else Batch.error,
            )
        ).rowcount
        if moved == 1:
            queue_batch_notice(connection, batch_id)
            queue_webhook_events(connection, batch_id)
    return to if moved == 1 else None


def fail(engine: Engine, batch_id: str, error: str | None) -> bool:
    """queued or started → failed with ``error``; False when it had ended."""
    return _move(engine, batch_id, allowed=ACTIVE_STATES, to=BatchState.FAILED, error=error)


def settle(
    engine: Engine, batch_id: str, job_id: str, state: BatchState, error: str | None = None
) -> bool:
    """queued or started → the final ``state`` RQ reports for the batch's job ``job_id`` (its
    worker died, or the job ended without writing the end itself). Nothing moves once the
    batch's job is another: a fanned-out batch's first job ends as soon as it has handed the
    chunks on, and its end is not the batch's."""
    if not state.is_final:
        raise ValueError(Text("not a final state: {state}", state=state))
    return _move(
        engine, batch_id, allowed=ACTIVE_STATES, to=state, while_job=job_id,
        error=func.coalesce(Batch.error, error),
    )  # fmt: skip


@retry_blips
def cancel(engine: Engine, batch_id: str) -> bool:
    """stored or queued → canceled; False once it has started or ended."""
    return _move(
        engine, batch_id, allowed=WAITING_STATES, to=BatchState.CANCELED, finished_at=utcnow()
    )
