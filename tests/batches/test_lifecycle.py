"""The batch lifecycle: every transition is a guarded compare-and-set, so no late or repeated
writer moves a batch backwards; submitting is idempotent."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from redis import Redis
from rq import Queue
from sqlalchemy import func, select, update

from tests.batches.test_apply import NEW_ROWS, _store
from tests.check.test_check import run_check
from tests.conftest import World
from tests.helpers import free_port
from userbatch.batches import lifecycle
from userbatch.batches.history import get_batch
from userbatch.db import session
from userbatch.errors import ConfigError
from userbatch.models import Batch, BatchRow, BatchState
from userbatch.settings import Settings
from userbatch.worker import submit
from userbatch.worker.connection import QUEUE_NAME
from userbatch.worker.submit import submit_batch

S = BatchState
EVERY = list(BatchState)


def _put(world: World, batch_id: str, state: BatchState) -> None:
    with session(world.engine) as db, db.begin():
        db.execute(update(Batch).where(Batch.id == batch_id).values(state=state.value))


def _state(world: World, batch_id: str) -> BatchState:
    return BatchState(get_batch(world.engine, batch_id).state)


# transition -> the states it moves a batch from, and where to
TRANSITIONS: dict[str, tuple[set[BatchState], BatchState]] = {
    "hand_over": ({S.STORED, S.FAILED}, S.QUEUED),
    "start": ({S.QUEUED, S.SCHEDULED, S.DEFERRED, S.STARTED, S.FAILED}, S.STARTED),
    "finish": ({S.STARTED, S.FAILED}, S.FINISHED),
    "fail": ({S.QUEUED, S.SCHEDULED, S.DEFERRED, S.STARTED}, S.FAILED),
    "cancel": ({S.STORED, S.QUEUED, S.SCHEDULED, S.DEFERRED}, S.CANCELED),
    "take_back": ({S.QUEUED}, S.STORED),
}
CALLS: dict[str, Callable[[World, str], object]] = {
    "hand_over": lambda world, batch_id: lifecycle.hand_over(world.engine, batch_id, "job-1"),
    "start": lambda world, batch_id: lifecycle.start(world.engine, batch_id),
    "finish": lambda world, batch_id: lifecycle.finish(world.engine, batch_id),
    "fail": lambda world, batch_id: lifecycle.fail(world.engine, batch_id, "boom"),
    "cancel": lambda world, batch_id: lifecycle.cancel(world.engine, batch_id),
    "take_back": lambda world, batch_id: lifecycle.take_back(world.engine, batch_id, to=S.STORED),
}


@pytest.mark.parametrize("name", list(TRANSITIONS))
def test_each_transition_moves_only_from_its_states(world: World, name: str) -> None:
    batch_id = _store(world, "Login ID,Name\r\nnew00001,New\r\n")
    allowed, to = TRANSITIONS[name]
    if name == "finish":  # its row applied: the batch finishes rather than fails
        with session(world.engine) as db, db.begin():
            db.execute(update(BatchRow).values(outcome="created"))
    for state in EVERY:
        _put(world, batch_id, state)
        moved = CALLS[name](world, batch_id)
        if state in allowed:
            assert moved not in (False, None), f"{name} refused from {state}"
            assert _state(world, batch_id) == to
        else:
            assert moved in (False, None), f"{name} moved a batch that was {state}"
            assert _state(world, batch_id) == state


def test_a_finish_with_rows_pending_fails_the_batch(world: World) -> None:
    batch_id = _store(world, NEW_ROWS)
    assert lifecycle.hand_over(world.engine, batch_id, "job-1")
    assert lifecycle.start(world.engine, batch_id) == 4
    assert lifecycle.finish(world.engine, batch_id) == S.FAILED
    batch = get_batch(world.engine, batch_id)
    assert batch.state == "failed" and batch.error is not None and "Retry" in batch.error


def test_the_end_of_a_job_the_batch_has_handed_on_settles_nothing(world: World) -> None:
    """A fanned-out batch's first job ends once its chunks are queued; the maintenance that
    read the batch's job just before it was handed on must not take that end for the
    batch's (seen: a batch finished with rows still pending)."""
    batch_id = _store(world, NEW_ROWS)
    assert lifecycle.hand_over(world.engine, batch_id, "batch-1")
    assert lifecycle.start(world.engine, batch_id) == 4
    lifecycle.track_job(world.engine, batch_id, "batch-1-finish")
    assert not lifecycle.settle(world.engine, batch_id, "batch-1", S.FINISHED)
    assert _state(world, batch_id) == S.STARTED
    assert lifecycle.settle(world.engine, batch_id, "batch-1-finish", S.FAILED, "died")
    assert _state(world, batch_id) == S.FAILED


def test_a_late_hand_over_after_a_fast_worker_leaves_the_batch_finished(
    world: World, clean_redis: Redis, use_env: Callable[[Settings], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """The race once seen: the worker applied a small batch before the submitter recorded
    the hand-over, and the late ``queued`` left the batch queued for ever. Here the job runs
    inside the enqueue itself (RQ's synchronous queue), the fastest a worker can be."""
    use_env(world.settings)
    monkeypatch.setattr(
        submit, "get_queue", lambda settings: Queue(QUEUE_NAME, connection=clean_redis,
                                                    is_async=False)
    )  # fmt: skip
    result = run_check(world, NEW_ROWS)
    batch_id = submit_batch(
        world.engine, world.settings, result, operator=world.admin, working_group=world.groups[""]
    )
    batch = get_batch(world.engine, batch_id)
    assert (batch.state, batch.created, batch.finished_at is not None) == ("finished", 4, True)
    # Whatever writes late now — a repeated hand-over, a job run again — changes nothing.
    assert lifecycle.hand_over(world.engine, batch_id, "late") is False
    assert lifecycle.start(world.engine, batch_id) is None
    assert lifecycle.cancel(world.engine, batch_id) is False
    assert _state(world, batch_id) == S.FINISHED


def test_submitting_again_after_a_failed_hand_over_queues_the_same_batch(
    world: World, clean_redis: Redis
) -> None:
    result = run_check(world, NEW_ROWS)
    away = world.settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    with pytest.raises(ConfigError):
        submit_batch(
            world.engine, away, result, operator=world.admin, working_group=world.groups[""],
            batch_id="b" * 32,
        )  # fmt: skip
    assert _state(world, "b" * 32) == S.STORED  # stored, nothing queued
    for _ in range(2):  # the second press changes nothing
        assert submit_batch(
            world.engine, world.settings, result, operator=world.admin,
            working_group=world.groups[""], batch_id="b" * 32,
        ) == "b" * 32  # fmt: skip
    with session(world.engine) as db:
        assert db.scalar(select(func.count()).select_from(Batch)) == 1
    assert _state(world, "b" * 32) == S.QUEUED
    assert Queue(QUEUE_NAME, connection=clean_redis).job_ids == [f"batch-{'b' * 32}"]


def test_the_state_words_and_their_predicates() -> None:
    assert {s for s in EVERY if s.is_active} == {S.QUEUED, S.SCHEDULED, S.DEFERRED, S.STARTED}
    assert {s for s in EVERY if s.is_waiting} == {S.STORED, S.QUEUED, S.SCHEDULED, S.DEFERRED}
    assert {s for s in EVERY if s.is_final} == {S.FINISHED, S.FAILED, S.CANCELED}
    assert S("queued") == "queued"
