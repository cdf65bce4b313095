"""The embedded Redis server SIGKILLed in the middle of a batch: the runtime starts it again
(its append-only file brings the queue back) and, if it quit, the worker; after recovery the
batch ends like an uninterrupted run."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable

import pytest
from redis import Redis
from rq import Queue, Worker

from tests.conftest import BACKENDS, World, make_world
from tests.fault.runs import (
    as_if_time_passed,
    assert_like_an_uninterrupted_run,
    assert_passwords,
    final_state,
    run_to_the_end,
    store,
)
from tests.helpers import Mailbox, wait_until
from userbatch.batches.history import get_batch
from userbatch.settings import Settings
from userbatch.worker.connection import QUEUE_NAME
from userbatch.worker.runtime import Runtime
from userbatch.worker.submit import enqueue_batch

ROWS = 250  # three chunks of passwords: Redis dies while the second runs


def _settled(world: World, runtime: Runtime, redis: Redis, batch_id: str) -> bool:
    """The batch has ended, or the queue is empty and the running worker idle."""
    runtime.keep_alive()
    if get_batch(world.engine, batch_id).state in ("finished", "failed"):
        return True
    assert runtime.worker_process is not None
    [worker] = [w for w in Worker.all(connection=redis) if w.pid == runtime.worker_process.pid]
    return Queue(QUEUE_NAME, connection=redis).count == 0 and worker.get_state() == "idle"


@pytest.mark.parametrize("backend", BACKENDS)
def test_redis_killed_and_started_again_mid_batch(
    make_settings: Callable[..., Settings], smtp: tuple[str, Mailbox], backend: str
) -> None:
    url, mailbox = smtp
    settings = make_settings(backend, redis_url=None, smtp_url=url)  # the embedded server
    world = make_world(settings)
    with Runtime(settings) as runtime:
        redis = Redis.from_url(settings.effective_redis_url)
        batch_id = store(world, ROWS)
        enqueue_batch(world.engine, settings, batch_id)
        wait_until(
            lambda: get_batch(world.engine, batch_id).done >= 100,
            timeout=120, what="the first chunk",
        )  # fmt: skip
        assert runtime.redis_process is not None
        os.kill(runtime.redis_process.pid, signal.SIGKILL)
        runtime.redis_process.wait(timeout=10)
        # Away for a moment, while the worker works on. (The sleep is how long the outage
        # lasts, not a wait for anything: whatever the worker did meanwhile, carried on or
        # quit, the runtime must bring back what stopped.)
        time.sleep(1)
        assert "redis" in runtime.keep_alive()  # and "worker" if it quit meanwhile
        assert redis.ping()
        # A worker that quit in the middle of a job (RQ's does when Redis vanishes under it)
        # left that job "started": once the new worker has run all it can, only RQ's
        # clean-up of abandoned jobs moves the batch on.
        wait_until(
            lambda: _settled(world, runtime, redis, batch_id), timeout=120,
            what="the worker to run what it can",
        )  # fmt: skip
        if get_batch(world.engine, batch_id).state not in ("finished", "failed"):
            as_if_time_passed(world, redis)
        assert run_to_the_end(world, redis, batch_id) == 0
        assert runtime.keep_alive() == []
    state = final_state(world, batch_id, mailbox)
    assert_like_an_uninterrupted_run(state, ROWS, invited=True)
    assert state.interrupted == []
    assert_passwords(world, ROWS)
