"""A worker SIGKILLed in the middle of a batch: the next worker started on the machine hands its
job back at once and runs it again, and the result equals an uninterrupted run without anyone
clicking Retry."""

from __future__ import annotations

from redis import Redis
from rq import Queue
from rq.registry import StartedJobRegistry

from tests.conftest import World
from tests.fault.runs import (
    assert_like_an_uninterrupted_run,
    assert_passwords,
    batch_file,
    final_state,
    kill_worker,
    situation,
    start_worker,
    stop_worker,
)
from tests.helpers import wait_until
from tests.test_apply import _store
from userbatch.batches import get_batch
from userbatch.jobs import QUEUE_NAME, enqueue_batch, sync_batch_states

# RQ's: a job whose worker sent no heartbeat for this long counts as abandoned.
HEARTBEAT_SECONDS = 90
ROWS = 400  # with passwords: ~20 ms each, so the batch takes seconds


def test_a_killed_workers_chunk_runs_again_and_the_batch_finishes(
    world: World, clean_redis: Redis
) -> None:
    batch_id = _store(world, batch_file(ROWS))
    enqueue_batch(world.engine, world.settings, batch_id)
    queue = Queue(QUEUE_NAME, connection=clean_redis)
    worker = start_worker(world)
    try:
        # Killed while a chunk runs: some rows applied, one chunk half done, the rest queued.
        wait_until(
            lambda: get_batch(world.engine, batch_id).done >= 100
            and bool(StartedJobRegistry(queue=queue).get_job_ids()),
            timeout=120, what="a chunk in progress after the first",
        )  # fmt: skip
    finally:
        kill_worker(worker)
    stopped_at = get_batch(world.engine, batch_id)
    assert stopped_at.state == "started" and 100 <= stopped_at.done < ROWS

    # A new worker (as ``serve`` starts one) sees that the killed one's process is gone and
    # hands its job back at once, long before RQ would find it abandoned (its heartbeat runs
    # out after ~90 s); the job has runs left, so it is queued again, not failed.
    worker = start_worker(world)
    try:
        try:
            wait_until(
                lambda: get_batch(world.engine, batch_id).state == "finished",
                timeout=HEARTBEAT_SECONDS // 2, what="the end, well before the heartbeat ran out",
            )  # fmt: skip
        except AssertionError as exc:
            raise AssertionError(f"{exc}: {situation(world, clean_redis, batch_id)}") from None
    finally:
        stop_worker(worker)
    assert not queue.failed_job_registry.get_job_ids()
    sync_batch_states(world.engine, world.settings)
    finished = get_batch(world.engine, batch_id)
    assert (finished.created, finished.failed, finished.done) == (ROWS, 0, ROWS)
    assert_like_an_uninterrupted_run(final_state(world, batch_id), ROWS, invited=False)
    assert_passwords(world, ROWS)
