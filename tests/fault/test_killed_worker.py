"""A worker SIGKILLed in the middle of a batch: its job is found abandoned and run again, and
the result equals an uninterrupted run without anyone clicking Retry."""

from __future__ import annotations

import time

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

    # RQ treats a job as abandoned once its heartbeat runs out (about a minute later); its
    # clean-up, run by every worker's maintenance, is run here at a time past that. The job
    # has runs left, so the clean-up queues it again instead of failing it.
    StartedJobRegistry(queue=queue).cleanup(timestamp=time.time() + 600)
    assert not queue.failed_job_registry.get_job_ids()
    worker = start_worker(world)  # a new worker runs the rest, the abandoned chunk again too
    try:
        try:
            wait_until(
                lambda: get_batch(world.engine, batch_id).state == "finished",
                timeout=240, what="the end",
            )  # fmt: skip
        except AssertionError as exc:
            raise AssertionError(f"{exc}: {situation(world, clean_redis, batch_id)}") from None
    finally:
        stop_worker(worker)
    sync_batch_states(world.engine, world.settings)
    finished = get_batch(world.engine, batch_id)
    assert (finished.created, finished.failed, finished.done) == (ROWS, 0, ROWS)
    assert_like_an_uninterrupted_run(final_state(world, batch_id), ROWS, invited=False)
    assert_passwords(world, ROWS)
