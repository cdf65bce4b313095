"""The worker process: RQ's worker with the scheduler, and the maintenance it runs every
minute — jobs of this machine's dead workers handed back, the mail sweep scheduled, batches
whose jobs ended without saying so brought up to date, drafts left for ``draft_days`` and
sessions past their limits removed, and the users' search index caught up."""

from __future__ import annotations

import gc
import os
import socket

from redis import Redis
from rq import Queue, Worker
from rq.executions import Execution
from rq.job import Job
from rq.registry import StartedJobRegistry
from sqlalchemy import Engine, select
from sqlalchemy.exc import DBAPIError

from userbatch.batches import lifecycle
from userbatch.batches.drafts import remove_old_drafts
from userbatch.db import get_engine, is_blip, open_database, session
from userbatch.directory import user_search
from userbatch.directory.sessions import remove_expired
from userbatch.models import ACTIVE_STATES, Batch, BatchState
from userbatch.settings import Settings
from userbatch.worker.connection import QUEUE_NAME, get_queue, redis_connection
from userbatch.worker.runtime import die_with_parent, pid_alive
from userbatch.worker.sweep import schedule_mail_sweep

# How often a worker runs RQ's maintenance (registry clean-up, jobs of dead workers handed
# back, a job stuck between a killed worker's dequeue and its start recovered after two
# rounds a minute apart) and checks the mail schedule.
MAINTENANCE_SECONDS = 60
ABANDONED = (
    "The worker stopped while running this batch (it was killed, or its machine restarted). "
    "Retry continues where it stopped."
)


class UserbatchWorker(Worker):
    """An RQ worker that also hands back the jobs of this machine's dead workers and makes
    sure the outbox is swept when mail falls due."""

    settings: Settings

    @property
    def dequeue_timeout(self) -> int:
        # RQ waits for a job up to its worker TTL (~7 minutes) and runs maintenance only in
        # between: an idle worker wakes as often as its maintenance is due instead.
        return MAINTENANCE_SECONDS

    def fork_work_horse(self, job: Job, queue: Queue) -> None:
        # The work horse's collector would walk every object it inherits, and so copy each
        # page of them (copy on write): a fifth of a second for each chunk of a batch.
        # Frozen, they are left alone; what the worker made since its last job is
        # collected first, so that no garbage is frozen with them.
        gc.collect()
        gc.freeze()
        super().fork_work_horse(job, queue)

    def run_maintenance_tasks(self) -> None:
        release_jobs_of_dead_workers(self.connection)
        super().run_maintenance_tasks()  # type: ignore[no-untyped-call]
        try:
            engine = get_engine(self.settings)
            schedule_mail_sweep(engine, self.settings)
            remove_leftovers(engine, self.settings)
            user_search.catch_up(engine)
        except DBAPIError as exc:
            if not is_blip(exc):
                raise
            # The database is away for a moment: the next round does it.
            self.log.warning("maintenance postponed, the database is unavailable: %s", exc)


def remove_leftovers(engine: Engine, settings: Settings) -> tuple[int, int]:
    """Remove the drafts untouched for ``draft_days`` and the sessions past their limits;
    how many of each."""
    return remove_old_drafts(engine, settings), remove_expired(engine, settings)


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


def sync_batch_states(engine: Engine, settings: Settings) -> None:
    """Bring the state of queued and running batches up to date with RQ.

    RQ's clean-up first moves jobs whose worker stopped sending heartbeats (killed workers)
    to the failed registry, so such a batch turns "failed" instead of staying "started".
    """
    queue = get_queue(settings)
    StartedJobRegistry(queue=queue).cleanup()
    with session(engine) as db:
        active = db.execute(
            select(Batch.id, Batch.job_id).where(Batch.state.in_(ACTIVE_STATES))
        ).all()
    for batch_id, job_id in active:
        if job_id is None:
            continue  # stored, being handed over: no job yet whose end could count
        job = queue.fetch_job(job_id)
        rq_state = _rq_state(job) if job is not None else "failed"
        # While RQ holds the job, the job itself keeps the batch's state; only an end counts.
        if rq_state not in ("finished", "failed", "canceled", "stopped"):
            continue
        state = BatchState.FAILED if rq_state == "stopped" else BatchState(rq_state)
        error = None
        if state is BatchState.FAILED:
            result = job.latest_result() if job is not None else None
            abandoned = result is None or "AbandonedJobError" in (result.exc_string or "")
            error = ABANDONED if abandoned else None
        lifecycle.settle(engine, batch_id, job_id, state, error)


def _rq_state(job: Job) -> str:
    status = job.get_status(refresh=True)
    return str(status.value if hasattr(status, "value") else status or "failed")
