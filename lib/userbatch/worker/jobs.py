"""The job entry points: plain functions that take ids and read everything else from the
database.

They build their settings from the environment the worker was started with. A job that meets
a database blip runs again from its start a moment later, and every job is safe to run twice:
rows are claimed before they are applied, and every change of the batch's state is a guarded
transition (``userbatch.batches.lifecycle``), so a job run again after its batch ended
changes nothing.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

from rq import Retry, get_current_job
from rq.job import Dependency
from sqlalchemy import Engine, select
from sqlalchemy.exc import DBAPIError

from userbatch.batches import lifecycle
from userbatch.batches.apply import apply_chunk, pending_chunks
from userbatch.batches.history import get_batch, job_document
from userbatch.db import current_revision, get_engine, open_database, retry_blips, session
from userbatch.models import BatchRow
from userbatch.settings import Settings, get_settings
from userbatch.worker.connection import get_queue
from userbatch.worker.sweep import schedule_mail_sweep

# Runs of a batch's job after the first, when it fails or its worker dies: RQ's clean-up
# that finds a job abandoned queues it again instead of failing it.
JOB_RETRIES = 2
AGAIN = Retry(max=JOB_RETRIES)


def job_timeout(total_rows: int) -> int:
    """Seconds a batch's job may run: generous, since password hashing costs ~20 ms a row."""
    return 600 + total_rows // 10


def apply_batch_job(batch_id: str) -> dict[str, Any]:
    """Job: apply a stored batch. One chunk runs here; more fan out to chunk jobs that any
    number of workers run in parallel, followed by a job that finishes the batch."""
    settings = get_settings()
    engine = get_engine(settings)  # migrated by the worker as it started
    try:
        return _apply_batch(engine, settings, batch_id)
    except Exception as exc:
        # With the database away, RQ's record of the failed job is what later marks the batch.
        with contextlib.suppress(DBAPIError):
            lifecycle.fail(engine, batch_id, f"{type(exc).__name__}: {exc}")
        raise


@retry_blips
def _apply_batch(engine: Engine, settings: Settings, batch_id: str) -> dict[str, Any]:
    total = lifecycle.start(engine, batch_id)
    if total is None:  # canceled, or ended by an earlier run of this job
        return job_document(engine, batch_id)
    chunks = pending_chunks(engine, batch_id)
    if len(chunks) > 1:
        return _fan_out(engine, settings, batch_id, chunks)
    for numbers in chunks:
        _progress(apply_chunk(engine, settings, batch_id, numbers), total)
    lifecycle.finish(engine, batch_id)
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
    lifecycle.track_job(engine, batch_id, finish.id)
    return {"chunks": len(chunks), "finish_job": finish.id}


@retry_blips
def apply_chunk_job(batch_id: str, first_row: int, last_row: int) -> int:
    """Job: apply the batch's pending rows from ``first_row`` to ``last_row``."""
    settings = get_settings()
    engine = get_engine(settings)
    numbers = _pending_between(engine, batch_id, first_row, last_row)
    batch = get_batch(engine, batch_id)
    done = apply_chunk(engine, settings, batch_id, numbers) if numbers else batch.done
    if batch.job_id:
        tracked = get_queue(settings).fetch_job(batch.job_id)
        if tracked is not None:
            tracked.meta["progress"] = {"done": done, "total": batch.total}
            tracked.save_meta()  # type: ignore[no-untyped-call]
    return done


def _pending_between(engine: Engine, batch_id: str, first_row: int, last_row: int) -> list[int]:
    with session(engine) as db:
        numbers = db.scalars(
            select(BatchRow.row_no).where(
                BatchRow.batch_id == batch_id,
                BatchRow.outcome == "pending",
                BatchRow.row_no.between(first_row, last_row),
            )
        )
        return list(numbers)


@retry_blips
def finish_batch_job(batch_id: str) -> dict[str, Any]:
    """Job: after the chunk jobs, mark the batch finished (or failed if rows remain)."""
    settings = get_settings()
    engine = get_engine(settings)
    lifecycle.finish(engine, batch_id)
    batch = get_batch(engine, batch_id)
    _progress(batch.done, batch.total)
    schedule_mail_sweep(engine, settings)
    return job_document(engine, batch_id)


def _progress(done: int, total: int) -> None:
    job = get_current_job()
    if job is not None:
        job.meta["progress"] = {"done": done, "total": total}
        job.save_meta()  # type: ignore[no-untyped-call]


def worker_report() -> dict[str, Any]:
    """Job: what a worker sees (its pid and the database's schema revision).

    The app and the tests use it to prove a worker serves the same database they do.
    """
    settings = get_settings()
    engine = open_database(settings)
    return {"pid": os.getpid(), "database_revision": current_revision(engine)}
