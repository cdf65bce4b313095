"""The worker SIGKILLed at a random moment of a batch with passwords and invitations, on
each database: after recovery (RQ's clean-up finds the job abandoned and queues it again, a
new worker runs it; nobody clicks Retry) the state equals an uninterrupted run's.

Five moments a database on every test run; ``USERBATCH_TEST_KILL_RUNS=50`` tries more.
"""

from __future__ import annotations

import os
import random
import time

import pytest
from redis import Redis

from tests.conftest import make_world
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
from tests.helpers import Mailbox
from userbatch.batches.store import get_batch
from userbatch.settings import Settings
from userbatch.worker.jobs import enqueue_batch

ROWS = 120  # two chunks of passwords, then 120 invitations
# Seconds from queueing to the last invitation in an uninterrupted run on this kind of
# machine (worker start ~1.5 s, applying ~4 s, sending ~3 s): the kills fall within it.
SPAN = 8.5
RUNS = int(os.environ.get("USERBATCH_TEST_KILL_RUNS", "5"))


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
    # A random moment in the run's own slice of the span, so the runs spread over worker start,
    # applying and sending.
    delay = (run + random.Random(f"{world.engine.dialect.name}-{run}").random()) * SPAN / RUNS
    worker = start_worker(world)
    time.sleep(delay)
    kill_worker(worker)
    killed_at = f"killed {delay:.2f} s after queueing: {get_batch(world.engine, batch_id).done} "
    killed_at += f"rows done, mail {mail_states(world)}"

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
