"""A worker SIGKILLed in the middle of a batch: detected, retried, and the result equals an
uninterrupted run."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

from redis import Redis
from rq import Queue
from rq.registry import StartedJobRegistry
from sqlalchemy import select

from tests.conftest import World
from tests.helpers import child_pids, settings_env, wait_until
from tests.test_apply import _store
from tests.test_check import H
from userbatch.batches import get_batch
from userbatch.db import session
from userbatch.jobs import QUEUE_NAME, enqueue_batch, retry_batch, sync_batch_states
from userbatch.models import BatchRow, Group, Membership, User
from userbatch.passwords import verify_password

ROWS = 400  # with passwords: ~20 ms each, so the batch takes seconds


def _file() -> str:
    return H + "".join(
        f"user{n:05d},User {n},,u{n}@example.com,pass-word-{n},,,,Sales\n" for n in range(ROWS)
    )


def _situation(world: World, queue: Queue, batch_id: str) -> str:
    """Where the batch and its jobs stand, for a failure's message."""
    batch = get_batch(world.engine, batch_id)
    jobs = {
        name: len(registry.get_job_ids())
        for name, registry in (
            ("queued", queue), ("started", queue.started_job_registry),
            ("deferred", queue.deferred_job_registry), ("failed", queue.failed_job_registry),
            ("finished", queue.finished_job_registry),
        )
    }  # fmt: skip
    log = (world.settings.data_dir / "worker.log").read_text(errors="replace")[-1500:]
    return f"batch {batch.state}, {batch.done} done; jobs {jobs}; worker log: {log}"


def _worker(world: World) -> subprocess.Popen[bytes]:
    with open(world.settings.data_dir / "worker.log", "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "userbatch", "worker"], env=settings_env(world.settings),
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip


def kill_worker(worker: subprocess.Popen[bytes]) -> None:
    """SIGKILL the worker, its work horse (which RQ runs in a session of its own) and its
    scheduler, as a machine that dies would."""
    for child in child_pids(worker.pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)


def _state(world: World) -> list[tuple[object, ...]]:
    with session(world.engine) as db:
        return [
            tuple(row)
            for row in db.execute(
                select(User.login_id, User.name, User.email, Group.path)
                .join(Membership, Membership.user_id == User.id)
                .join(Group, Group.id == Membership.group_id)
                .order_by(User.login_id)
            )
        ]


def test_a_killed_worker_is_detected_and_retry_finishes_the_batch(
    world: World, clean_redis: Redis
) -> None:
    batch_id = _store(world, _file())
    enqueue_batch(world.engine, world.settings, batch_id)
    queue = Queue(QUEUE_NAME, connection=clean_redis)
    worker = _worker(world)
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
    # clean-up, run by every worker's maintenance, is run here at a time past that.
    StartedJobRegistry(queue=queue).cleanup(timestamp=time.time() + 600)
    worker = _worker(world)  # a new worker runs the rest; the batch ends failed, rows pending
    try:
        try:
            wait_until(
                lambda: get_batch(world.engine, batch_id).state == "failed",
                timeout=240, what="the end",
            )  # fmt: skip
        except AssertionError as exc:
            raise AssertionError(f"{exc}: {_situation(world, queue, batch_id)}") from None
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    sync_batch_states(world.engine, world.settings)
    failed = get_batch(world.engine, batch_id)
    assert failed.state == "failed" and failed.done < ROWS
    assert failed.error is not None and "Retry applies them" in failed.error

    retry_batch(world.engine, world.settings, world.admin, batch_id)
    worker = _worker(world)
    try:
        wait_until(
            lambda: get_batch(world.engine, batch_id).state == "finished",
            timeout=180,
            what="the retry",
        )
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    finished = get_batch(world.engine, batch_id)
    assert (finished.created, finished.failed, finished.done) == (ROWS, 0, ROWS)
    with session(world.engine) as db:
        assert db.scalar(select(BatchRow.outcome).where(BatchRow.outcome != "created")) is None
    # What an uninterrupted run of the file gives: every user once, in Sales, password set.
    assert _state(world) == [
        (f"user{n:05d}", f"User {n}", f"u{n}@example.com", "Sales") for n in range(ROWS)
    ]
    with session(world.engine) as db:
        hashes = db.execute(select(User.login_id, User.password_hash)).all()
    assert all(h and h.startswith("$argon2id$") for _, h in hashes)
    assert verify_password(dict(hashes)["user00123"] or "", "pass-word-123")
