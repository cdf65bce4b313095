"""RQ glue only: the connection, the queue, the worker loop and job entry points.

Job functions are plain functions that take ids and read everything else from the database;
they build their settings from the environment the worker was started with. A job that meets
a database blip runs again from its start a moment later (each is safe to run twice).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import socket
import uuid
from typing import Any

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from rq import Queue, Retry, Worker, get_current_job
from rq.executions import Execution
from rq.job import Dependency, Job
from rq.registry import StartedJobRegistry
from sqlalchemy import Engine, select
from sqlalchemy.exc import DBAPIError

from userbatch.batches.apply import apply_chunk, finish_batch, pending_chunks, start_batch
from userbatch.batches.store import ACTIVE_STATES, batch_for, get_batch, job_document
from userbatch.db import (
    current_revision,
    get_engine,
    is_blip,
    open_database,
    retry_blips,
    session,
)
from userbatch.directory.auth import OperatorInfo
from userbatch.errors import ConfigError, PolicyError
from userbatch.mail.outbox import next_send_at, send_due
from userbatch.models import Batch, BatchRow, utcnow
from userbatch.settings import Settings, get_settings
from userbatch.worker.runtime import die_with_parent, pid_alive

QUEUE_NAME = "userbatch"
# How often a worker runs RQ's maintenance (registry clean-up, jobs of dead workers handed
# back, a job stuck between a killed worker's dequeue and its start recovered after two
# rounds a minute apart) and checks the mail schedule.
MAINTENANCE_SECONDS = 60
# Runs of a batch's job after the first, when it fails or its worker dies: RQ's clean-up
# that finds a job abandoned queues it again instead of failing it. Every batch job is safe
# to run twice (rows are claimed before they are applied).
JOB_RETRIES = 2
AGAIN = Retry(max=JOB_RETRIES)


def redis_connection(settings: Settings) -> Redis:
    """A client of the configured Redis; raises ``ConfigError`` when it does not answer."""
    redis = Redis.from_url(settings.effective_redis_url, socket_timeout=30)
    try:
        redis.ping()
    except (RedisConnectionError, OSError) as exc:
        if settings.embedded_redis:
            raise ConfigError(
                "the embedded Redis server is not running: start userbatch with "
                "'userbatch serve', or set REDIS_URL"
            ) from None
        raise ConfigError(f"REDIS_URL: cannot reach {settings.redis_url}: {exc}") from None
    return redis


def get_queue(settings: Settings) -> Queue:
    """The queue every userbatch job goes to."""
    return Queue(QUEUE_NAME, connection=redis_connection(settings))


class UserbatchWorker(Worker):
    """An RQ worker that also hands back the jobs of this machine's dead workers and makes
    sure the outbox is swept when mail falls due.

    The database is the record of what is due; on start and with every maintenance round
    (and so after a Redis restart that lost the schedule) the worker schedules a sweep for
    the next due message.
    """

    settings: Settings

    @property
    def dequeue_timeout(self) -> int:
        # RQ waits for a job up to its worker TTL (~7 minutes) and runs maintenance only in
        # between: an idle worker wakes as often as its maintenance is due instead.
        return MAINTENANCE_SECONDS

    def run_maintenance_tasks(self) -> None:
        release_jobs_of_dead_workers(self.connection)
        super().run_maintenance_tasks()  # type: ignore[no-untyped-call]
        try:
            schedule_mail_sweep(get_engine(self.settings), self.settings)
        except DBAPIError as exc:
            if not is_blip(exc):
                raise
            # The database is away for a moment: the next round schedules the sweep.
            self.log.warning("mail sweep not scheduled, the database is unavailable: %s", exc)


def run_worker(settings: Settings, *, burst: bool = False) -> None:
    """Work on the queue, with the scheduler, until stopped (or, with ``burst``, until empty)."""
    engine = open_database(settings, ride_out_blips=True)
    redis = redis_connection(settings)
    worker = UserbatchWorker(
        [Queue(QUEUE_NAME, connection=redis)],
        connection=redis,
        name=worker_name(os.getpid()),
        maintenance_interval=MAINTENANCE_SECONDS,
    )
    worker.settings = settings
    # The scheduler and the work horses RQ forks end with the worker, even a killed one.
    os.register_at_fork(after_in_child=die_with_parent)
    schedule_mail_sweep(engine, settings)
    worker.work(burst=burst, with_scheduler=True)


def worker_name(pid: int) -> str:
    """The RQ name of the worker process ``pid`` of this machine."""
    return f"{_this_machines_workers()}{pid}"


def _this_machines_workers() -> str:
    """The start of the names of this machine's workers."""
    return f"userbatch-{socket.gethostname()}-"


def release_jobs_of_dead_workers(redis: Redis) -> int:
    """Queue again (or, with no runs left, fail) the jobs that workers of this machine were
    running when their process died; returns how many.

    RQ finds such a job abandoned only once its heartbeat has run out (~90 s) and a worker's
    maintenance has looked afterwards: a batch would stand still for minutes after ``serve``
    restarted its killed worker. Every worker runs this in its maintenance, so at
    its start and every minute. A worker of this machine is known dead when no
    process has its id (a reused id only delays the release to RQ's own clean-up). Running a
    job whose work horse still ends is harmless: every batch job is safe to run twice.
    """
    registry = StartedJobRegistry(QUEUE_NAME, connection=redis)
    ours = _this_machines_workers()
    released = 0
    for job_id, execution_id in registry.get_job_and_execution_ids(cleanup=False):
        try:
            execution = Execution.fetch(execution_id, job_id, redis)
        except ValueError:  # its record expired: RQ's own clean-up takes it
            continue
        pid = execution.worker_name.removeprefix(ours)
        if execution.worker_name.startswith(ours) and pid.isdigit() and not pid_alive(int(pid)):
            redis.zadd(registry.key, {execution.composite_key: 0}, xx=True)
            released += 1
    if released:
        registry.cleanup()
    return released


def schedule_mail_sweep(engine: Engine, settings: Settings) -> None:
    """Schedule a sweep of the outbox for when the next message is due (once per time)."""
    due = next_send_at(engine)
    if due is None:
        return
    # On the whole second at or after the due time: the sweep must not run early.
    at = due.replace(microsecond=0) + dt.timedelta(seconds=1 if due.microsecond else 0)
    queue = get_queue(settings)
    job_id = f"mail-sweep-{int(at.timestamp())}"
    existing = queue.fetch_job(job_id)
    if existing is not None and existing.get_status() in ("scheduled", "queued"):
        return
    if at <= dt.datetime.now(dt.UTC):
        queue.enqueue(
            send_due_mail_job, job_id=f"{job_id}-now-{uuid.uuid4().hex[:8]}", result_ttl=3600
        )
    else:
        queue.enqueue_at(at, send_due_mail_job, job_id=job_id, result_ttl=3600)


def send_due_mail_job() -> dict[str, int]:
    """Job: send the outbox's due messages, then schedule the next sweep."""
    settings = get_settings()
    engine = open_database(settings)
    outcomes = send_due(engine, settings)
    schedule_mail_sweep(engine, settings)
    return dict(outcomes)


def worker_report() -> dict[str, Any]:
    """Job: what a worker sees (its pid and the database's schema revision).

    The app and the tests use it to prove a worker serves the same database they do.
    """
    settings = get_settings()
    engine = open_database(settings)
    return {"pid": os.getpid(), "database_revision": current_revision(engine)}


def job_timeout(total_rows: int) -> int:
    """Seconds a batch's job may run: generous, since password hashing costs ~20 ms a row."""
    return 600 + total_rows // 10


def enqueue_batch(
    engine: Engine, settings: Settings, batch_id: str, *, attempt: str | None = None
) -> str:
    """Queue the stored batch for a worker; returns the RQ job id (ids only cross Redis)."""
    batch = get_batch(engine, batch_id)
    job = get_queue(settings).enqueue(
        apply_batch_job,
        batch_id,
        job_id=f"batch-{batch_id}" + (f"-{attempt}" if attempt else ""),
        job_timeout=job_timeout(batch.total),
        result_ttl=7 * 24 * 3600,
        failure_ttl=30 * 24 * 3600,
        description=f"apply batch {batch.file_name}",
        retry=AGAIN,
    )
    with session(engine) as db, db.begin():
        stored = db.get_one(Batch, batch_id)
        stored.state = "queued"
        stored.job_id = job.id
        stored.error = None
    return job.id


def apply_batch_job(batch_id: str) -> dict[str, Any]:
    """Job: apply a stored batch. One chunk runs here; more fan out to chunk jobs that any
    number of workers run in parallel, followed by a job that finishes the batch."""
    settings = get_settings()
    engine = get_engine(settings)  # migrated by the worker as it started
    try:
        return _apply_batch(engine, settings, batch_id)
    except Exception as exc:
        _mark_failed(engine, batch_id, exc)
        raise


@retry_blips
def _apply_batch(engine: Engine, settings: Settings, batch_id: str) -> dict[str, Any]:
    total = start_batch(engine, batch_id)
    chunks = pending_chunks(engine, batch_id)
    if len(chunks) > 1:
        return _fan_out(engine, settings, batch_id, chunks)
    for numbers in chunks:
        _progress(apply_chunk(engine, settings, batch_id, numbers), total)
    finish_batch(engine, batch_id)
    schedule_mail_sweep(engine, settings)
    return job_document(engine, batch_id)


def _fan_out(
    engine: Engine, settings: Settings, batch_id: str, chunks: list[list[int]]
) -> dict[str, Any]:
    queue = get_queue(settings)
    parent = get_current_job()
    prefix = parent.id if parent is not None else f"batch-{batch_id}"
    timeout = job_timeout(max(len(chunk) for chunk in chunks) * 10)
    chunk_jobs = [
        queue.enqueue(
            apply_chunk_job,
            batch_id,
            numbers[0],
            numbers[-1],
            job_id=f"{prefix}-chunk-{index}",
            job_timeout=timeout,
            result_ttl=3600,
            failure_ttl=7 * 24 * 3600,
            retry=AGAIN,
        )
        for index, numbers in enumerate(chunks)
    ]
    finish = queue.enqueue(
        finish_batch_job,
        batch_id,
        job_id=f"{prefix}-finish",
        depends_on=Dependency(jobs=chunk_jobs, allow_failure=True),
        result_ttl=7 * 24 * 3600,
        failure_ttl=30 * 24 * 3600,
        retry=AGAIN,
    )
    with session(engine) as db, db.begin():
        db.get_one(Batch, batch_id).job_id = finish.id  # the job whose end is the batch's
    return {"chunks": len(chunks), "finish_job": finish.id}


@retry_blips
def apply_chunk_job(batch_id: str, first_row: int, last_row: int) -> int:
    """Job: apply the batch's pending rows from ``first_row`` to ``last_row``."""
    settings = get_settings()
    engine = get_engine(settings)
    numbers, batch = _pending_between(engine, batch_id, first_row, last_row)
    done = apply_chunk(engine, settings, batch_id, numbers) if numbers else batch.done
    if batch.job_id:
        tracked = get_queue(settings).fetch_job(batch.job_id)
        if tracked is not None:
            tracked.meta["progress"] = {"done": done, "total": batch.total}
            tracked.save_meta()  # type: ignore[no-untyped-call]
    return done


def _pending_between(
    engine: Engine, batch_id: str, first_row: int, last_row: int
) -> tuple[list[int], Batch]:
    with session(engine) as db:
        numbers = db.scalars(
            select(BatchRow.row_no).where(
                BatchRow.batch_id == batch_id,
                BatchRow.outcome == "pending",
                BatchRow.row_no.between(first_row, last_row),
            )
        )
        return list(numbers), db.get_one(Batch, batch_id)


@retry_blips
def finish_batch_job(batch_id: str) -> dict[str, Any]:
    """Job: after the chunk jobs, mark the batch finished (or failed if rows remain)."""
    settings = get_settings()
    engine = get_engine(settings)
    batch = finish_batch(engine, batch_id)
    job = get_current_job()
    if job is not None:
        job.meta["progress"] = {"done": batch.done, "total": batch.total}
        job.save_meta()  # type: ignore[no-untyped-call]
    schedule_mail_sweep(engine, settings)
    return job_document(engine, batch_id)


def _progress(done: int, total: int) -> None:
    job = get_current_job()
    if job is not None:
        job.meta["progress"] = {"done": done, "total": total}
        job.save_meta()  # type: ignore[no-untyped-call]


def _mark_failed(engine: Engine, batch_id: str, exc: Exception) -> None:
    # With the database away, RQ's record of the failed job is what later marks the batch.
    with contextlib.suppress(DBAPIError), session(engine) as db, db.begin():
        batch = db.get_one(Batch, batch_id)
        batch.state = "failed"
        batch.error = f"{type(exc).__name__}: {exc}"


ABANDONED = (
    "The worker stopped while running this batch (it was killed, or its machine restarted). "
    "Retry continues where it stopped."
)


def sync_batch_states(engine: Engine, settings: Settings) -> None:
    """Bring the state of queued and running batches up to date with RQ.

    RQ's clean-up first moves jobs whose worker stopped sending heartbeats (killed workers)
    to the failed registry, so such a batch turns "failed" instead of staying "started".
    """
    queue = get_queue(settings)
    StartedJobRegistry(queue=queue).cleanup()
    with session(engine) as db:
        active = db.execute(
            select(Batch.id, Batch.job_id, Batch.state).where(Batch.state.in_(ACTIVE_STATES))
        ).all()
    for batch_id, job_id, _state in active:
        job = queue.fetch_job(job_id) if job_id else None
        rq_state = _rq_state(job) if job is not None else "failed"
        # While RQ holds the job, the job itself keeps the batch's state; only an end counts.
        if rq_state not in ("finished", "failed", "canceled", "stopped"):
            continue
        rq_state = "failed" if rq_state == "stopped" else rq_state
        error = None
        if rq_state == "failed":
            result = job.latest_result() if job is not None else None
            error = (
                ABANDONED
                if result is None or "AbandonedJobError" in (result.exc_string or "")
                else None
            )
        with session(engine) as db, db.begin():
            batch = db.get_one(Batch, batch_id)
            if batch.state in ACTIVE_STATES:
                batch.state = rq_state
                batch.error = batch.error or error


def _rq_state(job: Job) -> str:
    status = job.get_status(refresh=True)
    return str(status.value if hasattr(status, "value") else status or "failed")


def retry_batch(engine: Engine, settings: Settings, operator: OperatorInfo, batch_id: str) -> str:
    """Queue a failed batch again; it continues with the rows still pending. Returns the
    new job id. Raises ``PolicyError`` when the batch is not failed or is another
    operator's (a manager acts on their own batches only)."""
    sync_batch_states(engine, settings)
    batch = batch_for(engine, operator, batch_id)
    if batch.state != "failed":
        raise PolicyError(f"Only a failed batch can be retried; this one is {batch.state}.")
    return enqueue_batch(engine, settings, batch_id, attempt=uuid.uuid4().hex[:8])


def cancel_batch(engine: Engine, settings: Settings, operator: OperatorInfo, batch_id: str) -> None:
    """Cancel a batch that waits in the queue; raises ``PolicyError`` once it runs, or for
    another operator's batch when ``operator`` is a manager."""
    batch = batch_for(engine, operator, batch_id)
    if batch.state not in ("stored", "queued", "scheduled", "deferred"):
        raise PolicyError(f"Only a waiting batch can be canceled; this one is {batch.state}.")
    if batch.job_id:
        job = get_queue(settings).fetch_job(batch.job_id)
        if job is not None:
            job.cancel()
    with session(engine) as db, db.begin():
        stored = db.get_one(Batch, batch_id)
        stored.state, stored.finished_at = "canceled", utcnow()
