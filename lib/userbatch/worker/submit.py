"""Handing batches to the workers: submit a checked sheet, retry a failed batch, cancel a
waiting one. The screen, the CLI and the tests each make these calls, nothing more."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Engine

from userbatch.batches import lifecycle
from userbatch.batches.history import batch_for, find_batch, get_batch, state_name, undone_by
from userbatch.batches.store import (
    AWAITING,
    GUARD,
    Invitation,
    invitation_options,
    new_batch_id,
    store_batch,
)
from userbatch.batches.undo import store_undo
from userbatch.check.state import CheckedSheet
from userbatch.directory.auth import OperatorInfo
from userbatch.directory.groups import GroupInfo
from userbatch.errors import Conflict, Unconfirmed
from userbatch.i18n import Text
from userbatch.models import BatchState
from userbatch.settings import Settings
from userbatch.worker.connection import get_queue
from userbatch.worker.jobs import AGAIN, apply_batch_job, job_timeout
from userbatch.worker.maintenance import sync_batch_states


def submit_batch(
    engine: Engine,
    settings: Settings,
    result: CheckedSheet,
    *,
    operator: OperatorInfo,
    working_group: GroupInfo,
    invitation: Invitation | None = None,
    batch_id: str | None = None,
    confirmed: int | None = None,
) -> str:
    """Store the checked sheet as batch ``batch_id`` (a new id when None) and queue it for the
    workers; returns the batch id.

    Idempotent per id: a batch stored by an earlier call whose hand-over to Redis failed is
    queued now, and one already queued (or further) is left as it is. Raises what
    ``store_batch`` raises (``Unconfirmed`` for a mass change without its ``confirmed``
    number), and ``ConfigError`` when Redis does not answer (the batch stays
    stored: calling again with the same id queues it).
    """
    batch_id = batch_id or new_batch_id()
    existing = find_batch(engine, batch_id)
    if existing is None:
        store_batch(
            engine, settings, result, operator=operator, working_group=working_group,
            invitation=invitation, batch_id=batch_id, confirmed=confirmed,
        )  # fmt: skip
    elif existing.state != BatchState.STORED:
        return batch_id
    _hand_over(engine, settings, batch_id, from_state=BatchState.STORED, attempt=None)
    return batch_id


def enqueue_batch(engine: Engine, settings: Settings, batch_id: str) -> str:
    """Queue a stored batch for the workers; returns the RQ job id. Raises ``NotFound``,
    ``Conflict`` when it is not stored (handed over already, or ended), ``ConfigError`` when
    Redis does not answer."""
    job_id = _hand_over(engine, settings, batch_id, from_state=BatchState.STORED, attempt=None)
    if job_id is None:
        state = get_batch(engine, batch_id).state
        raise Conflict(
            Text("Only a stored batch can be queued; this one is {state}.", state=state_name(state))
        )
    return job_id


def execute_batch(
    engine: Engine,
    settings: Settings,
    operator: OperatorInfo,
    batch_id: str,
    *,
    invitation: Invitation | None = None,
    confirmed: int | None = None,
) -> str:
    """Queue a batch stored to be executed later (``store_batch(awaiting=True)``, the API's)
    with the ``invitation`` chosen now; ``confirmed`` is the number of users affected that
    its guard asks for. Returns the batch id.

    Raises ``NotAllowed`` for another operator's batch when ``operator`` is a manager,
    ``Conflict`` when it does not wait to be executed (executed already, canceled),
    ``Unconfirmed`` for a mass change without its number, ``ConfigError`` when Redis does not
    answer (the batch still waits: executing again queues it).
    """
    batch = batch_for(engine, operator, batch_id)
    if batch.state != BatchState.STORED or not batch.options.get(AWAITING):
        raise Conflict(
            Text("Only a checked batch that waits to be executed can be executed; this one "
                 "is {state}.", state=state_name(batch.state))
        )  # fmt: skip
    guard = batch.options.get(GUARD)
    if guard is not None and confirmed != guard["affected"]:
        raise Unconfirmed(sentence=guard["sentence"], affected=guard["affected"])
    options = batch.options | invitation_options(invitation) | {AWAITING: False}
    if not _hand_over(
        engine, settings, batch_id, from_state=BatchState.STORED, attempt=None, options=options
    ):
        state = get_batch(engine, batch_id).state
        raise Conflict(
            Text("Only a checked batch that waits to be executed can be executed; this one "
                 "is {state}.", state=state_name(state))
        )  # fmt: skip
    return batch_id


def _hand_over(
    engine: Engine, settings: Settings, batch_id: str, *, from_state: BatchState,
    attempt: str | None, options: dict[str, Any] | None = None,
) -> str | None:  # fmt: skip
    """Record the hand-over (with the batch's new ``options``, when given), then put the job
    in Redis: a worker can never see the job before the batch says queued, and a failed
    enqueue takes the batch back. Returns the job id, or None when the batch was not in
    ``from_state`` any more."""
    batch = get_batch(engine, batch_id)
    queue = get_queue(settings)  # before the hand-over: a Redis that is away changes nothing
    job_id = f"batch-{batch_id}" + (f"-{attempt}" if attempt else "")
    if not lifecycle.hand_over(engine, batch_id, job_id, options=options):
        return None
    try:
        queue.enqueue(
            apply_batch_job,
            batch_id,
            job_id=job_id,
            job_timeout=job_timeout(batch.total),
            result_ttl=7 * 24 * 3600,
            failure_ttl=30 * 24 * 3600,
            description=f"apply batch {batch.file_name}",
            retry=AGAIN,
        )
    except Exception:
        lifecycle.take_back(engine, batch_id, to=from_state, options=batch.options)
        raise
    return job_id


def retry_batch(engine: Engine, settings: Settings, operator: OperatorInfo, batch_id: str) -> str:
    """Queue a failed batch again; it continues with the rows still pending. Returns the batch
    id. Raises ``NotAllowed`` for another operator's batch when ``operator`` is a manager,
    ``Conflict`` when the batch is not failed."""
    sync_batch_states(engine, settings)
    batch = batch_for(engine, operator, batch_id)
    if undone_by(engine, batch_id) is not None:
        raise Conflict(Text("This batch was undone; upload the file again instead of retrying it."))
    if batch.state != BatchState.FAILED or not _hand_over(
        engine, settings, batch_id, from_state=BatchState.FAILED, attempt=uuid.uuid4().hex[:8]
    ):
        state = get_batch(engine, batch_id).state
        raise Conflict(
            Text(
                "Only a failed batch can be retried; this one is {state}.", state=state_name(state)
            )
        )
    return batch_id


def cancel_batch(engine: Engine, settings: Settings, operator: OperatorInfo, batch_id: str) -> None:
    """Cancel a batch that waits in the queue. Raises ``NotAllowed`` for another operator's
    batch when ``operator`` is a manager, ``Conflict`` once it runs or has ended."""
    batch = batch_for(engine, operator, batch_id)
    if not BatchState(batch.state).is_waiting or not lifecycle.cancel(engine, batch_id):
        state = get_batch(engine, batch_id).state
        raise Conflict(
            Text(
                "Only a waiting batch can be canceled; this one is {state}.",
                state=state_name(state),
            )
        )
    if batch.job_id:
        job = get_queue(settings).fetch_job(batch.job_id)
        if job is not None:
            job.cancel()


def undo_batch(engine: Engine, settings: Settings, operator: OperatorInfo, batch_id: str) -> str:
    """Store the undo of an ended batch and queue it for the workers; returns the undo's id.
    An undo stored by an earlier call whose hand-over to Redis failed is queued now. Raises
    ``NotAllowed`` for another operator's batch when ``operator`` is a manager, ``Conflict``
    when the batch cannot be undone (see ``batches.undo.why_not_undoable``)."""
    sync_batch_states(engine, settings)
    batch = batch_for(engine, operator, batch_id)
    waiting = undone_by(engine, batch_id)
    if waiting is not None and waiting.state == BatchState.STORED:
        undo_id = waiting.id
    else:
        undo_id = store_undo(engine, operator, batch)
    _hand_over(engine, settings, undo_id, from_state=BatchState.STORED, attempt=None)
    return undo_id
