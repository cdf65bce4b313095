"""Sending the outbox's due mail and the webhooks' due deliveries: one sweep job scheduled for
when the next of either is due.

The database is the record of what is due; the sweep is scheduled again after each batch, on
every worker start and with every maintenance round, so a Redis restart that lost the
schedule costs at most a minute.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Engine

from userbatch.db import open_database
from userbatch.mail.outbox import next_send_at, send_due
from userbatch.mail.webhooks import deliver_due, next_attempt_at
from userbatch.settings import Settings, get_settings
from userbatch.worker.connection import get_queue


def schedule_mail_sweep(engine: Engine, settings: Settings) -> None:
    """Schedule a sweep for when the next message or webhook delivery is due (once per time)."""
    times = [when for when in (next_send_at(engine), next_attempt_at(engine)) if when is not None]
    if not times:
        return
    due = min(times)
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
    """Job: send the outbox's due messages and deliver the due webhook events, then schedule
    the next sweep."""
    settings = get_settings()
    engine = open_database(settings)
    outcomes = dict(send_due(engine, settings))
    hooks = deliver_due(engine, settings)
    schedule_mail_sweep(engine, settings)
    return outcomes | {f"webhooks_{name}": count for name, count in hooks.items()}
