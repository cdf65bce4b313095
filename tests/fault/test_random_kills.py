"""The worker SIGKILLed at a random moment of a batch with passwords and invitations, on
each database: after recovery (RQ's clean-up finds the job abandoned and queues it again, a
new worker runs it; nobody clicks Retry) the state equals an uninterrupted run's.

A moment is a point the run has reached (the worker started, rows applied, invitations
delivered), not a time after queueing, so the kills fall over the whole run on a machine of
any speed. Three moments a database on every test run (each run picks its own);
``USERBATCH_TEST_KILL_RUNS=50`` tries more.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable

import pytest
from redis import Redis
from rq import Worker
from rq.registry import StartedJobRegistry

from tests.conftest import World, make_world
from tests.fault.runs import (
    as_if_time_passed,
    assert_like_an_uninterrupted_run,
    assert_passwords,
    final_state,
    kill_worker,
    mail_states,
    run_to_the_end,
    start_worker,
    stop_worker,
    store,
)
from tests.helpers import Mailbox, wait_until
from userbatch.batches.history import get_batch
from userbatch.settings import Settings
from userbatch.worker.connection import QUEUE_NAME
from userbatch.worker.submit import enqueue_batch

ROWS = 120  # two chunks of passwords, then 120 invitations
RUNS = int(os.environ.get("USERBATCH_TEST_KILL_RUNS", "3"))


def _moment(
    world: World, redis: Redis, mailbox: Mailbox, batch_id: str, pid: int, fraction: float
) -> tuple[str, Callable[[], bool]]:
    """The point ``fraction`` (0 to 1) of the way through a run, and when the run is there.

    The first fifth is the worker's start (at once, then once it has joined RQ), the next two
    fifths the rows being applied, the last two fifths the invitations
    being delivered: roughly the shares of an uninterrupted run's time.
    """
    if fraction < 0.1:
        return "while the worker starts", lambda: True
    if fraction < 0.2:
        return "once the worker has joined RQ", lambda: any(
            worker.pid == pid for worker in Worker.all(connection=redis)
        )
    # Rows applied, then invitations delivered: 0 to 2 * ROWS steps.
    steps = int((fraction - 0.2) / 0.8 * 2 * ROWS)

    def reached() -> bool:
        done = get_batch(world.engine, batch_id).done
        started = bool(StartedJobRegistry(QUEUE_NAME, connection=redis).get_job_ids())
        return (started or done > 0) and done + len(mailbox.messages) >= steps

    return f"once a job has started and {steps} rows and invitations are through", reached


def test_an_uninterrupted_run(
    settings: Settings, clean_redis: Redis, smtp: tuple[str, Mailbox]
) -> None:
    url, mailbox = smtp
    world = make_world(settings.model_copy(update={"smtp_url": url}))
    batch_id = store(world, ROWS)
    enqueue_batch(world.engine, world.settings, batch_id)
    worker = start_worker(world)
    try:
        assert run_to_the_end(world, clean_redis, batch_id, worker=worker) == 0
    finally:
        stop_worker(worker)
    state = final_state(world, batch_id, mailbox)
    assert state.interrupted == []
    assert_like_an_uninterrupted_run(state, ROWS, invited=True)
    assert_passwords(world, ROWS)


@pytest.mark.parametrize("run", range(RUNS))
def test_a_kill_at_a_random_moment(
    settings: Settings, clean_redis: Redis, smtp: tuple[str, Mailbox], run: int
) -> None:
    url, mailbox = smtp
    world = make_world(settings.model_copy(update={"smtp_url": url}))
    batch_id = store(world, ROWS)
    enqueue_batch(world.engine, world.settings, batch_id)
    # A random moment in the run's own slice of it, so the runs spread over worker start,
    # applying and sending.
    fraction = (run + random.Random(f"{world.engine.dialect.name}-{run}").random()) / RUNS
    worker = start_worker(world)
    try:
        moment, reached = _moment(world, clean_redis, mailbox, batch_id, worker.pid, fraction)
        wait_until(reached, timeout=120, what=f"the moment to kill ({moment})")
    finally:
        kill_worker(worker)
    killed_at = f"killed {moment}: {get_batch(world.engine, batch_id).done} rows done, "
    killed_at += f"{len(mailbox.messages)} invitations delivered, mail {mail_states(world)}"

    as_if_time_passed(world, clean_redis)
    worker = start_worker(world)
    try:
        retries = run_to_the_end(world, clean_redis, batch_id, worker=worker)
    finally:
        stop_worker(worker)
    state = final_state(world, batch_id, mailbox)
    try:
        assert_like_an_uninterrupted_run(state, ROWS, invited=True)
        assert_passwords(world, ROWS)
        assert retries == 0, "the batch needed a Retry click"
    except AssertionError as exc:
        raise AssertionError(f"{killed_at}: {exc}") from None
