"""A worker SIGKILLed in the middle of a batch: the next worker started on the machine hands its
job back at once and runs it again, and the result equals an uninterrupted run without anyone
clicking Retry."""

from __future__ import annotations

from collections.abc import Callable

from redis import Redis
from rq import Queue
from rq.executions import Execution
from rq.intermediate_queue import IntermediateQueue
from rq.job import Job
from rq.registry import StartedJobRegistry

from tests.batches.test_apply import _store
from tests.conftest import World, make_world
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
from userbatch.batches.history import get_batch
from userbatch.settings import Settings
from userbatch.worker.connection import QUEUE_NAME
from userbatch.worker.jobs import JOB_RETRIES
from userbatch.worker.maintenance import MAINTENANCE_SECONDS, sync_batch_states
from userbatch.worker.submit import enqueue_batch

# A heartbeat that lasts an hour: long past any wait of these tests.
HOUR = 3600
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
    # As if the killed worker's last heartbeat had been good for an hour: RQ's own clean-up,
    # which takes a job only once its heartbeat has run out (~90 s after the kill), cannot
    # be what moves the batch on within this test.
    started = StartedJobRegistry(queue=queue)
    with clean_redis.pipeline() as pipeline:
        for job_id, execution_id in started.get_job_and_execution_ids(cleanup=False):
            execution = Execution(id=execution_id, job_id=job_id, connection=clean_redis)
            execution.heartbeat(started, HOUR, pipeline=pipeline)
        pipeline.execute()

    # A new worker (as ``serve`` starts one) sees that the killed one's process is gone and
    # hands its job back at once, long before RQ would find it abandoned; the job has runs
    # left, so it is queued again, not failed.
    worker = start_worker(world)
    try:
        try:
            wait_until(
                lambda: get_batch(world.engine, batch_id).state == "finished",
                timeout=240, what="the end, with the heartbeat still running",
            )  # fmt: skip
        except AssertionError as exc:
            raise AssertionError(f"{exc}: {situation(world, clean_redis, batch_id)}") from None
    finally:
        stop_worker(worker)
    # This batch's jobs only (its batch job and its chunks): a worker of an earlier test in the
    # same Redis database may still be failing its own jobs there.
    failed = queue.failed_job_registry.get_job_ids()
    assert not [job_id for job_id in failed if job_id.startswith(f"batch-{batch_id}")], failed
    sync_batch_states(world.engine, world.settings)
    finished = get_batch(world.engine, batch_id)
    assert (finished.created, finished.failed, finished.done) == (ROWS, 0, ROWS)
    assert_like_an_uninterrupted_run(final_state(world, batch_id), ROWS, invited=False)
    assert_passwords(world, ROWS)


def test_a_job_taken_but_not_started_by_a_killed_worker_runs_in_minutes(
    make_settings: Callable[..., Settings], clean_redis: Redis
) -> None:
    # A worker killed between taking a job from the queue and starting it leaves the job in
    # RQ's intermediate queue, in no registry. RQ's clean-up recovers such a job on its second
    # sight a minute later; an idle worker runs it every MAINTENANCE_SECONDS (RQ's own wait
    # would be ~7 minutes: the limit below, a poll deadline, lies well before that).
    world = make_world(make_settings())
    batch_id = _store(world, batch_file(20, passwords=False))
    job_id = enqueue_batch(world.engine, world.settings, batch_id)
    queue = Queue(QUEUE_NAME, connection=clean_redis)
    assert clean_redis.lmove(queue.key, queue.intermediate_queue_key) == job_id.encode()
    worker = start_worker(world)
    try:
        wait_until(
            lambda: get_batch(world.engine, batch_id).state == "finished",
            timeout=4 * MAINTENANCE_SECONDS, what="the batch to end",
        )  # fmt: skip
    finally:
        stop_worker(worker)
    # Recovered, not simply dequeued: RQ's clean-up saw the job in the intermediate queue and
    # handed it back, which spends one of its runs.
    assert IntermediateQueue(queue.key, clean_redis).get_first_seen(job_id) is not None
    assert Job.fetch(job_id, connection=clean_redis).retries_left == JOB_RETRIES - 1
    assert get_batch(world.engine, batch_id).created == 20
