"""Stored batches: what the pages and the jobs read and write about them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, select

from userbatch.db import session
from userbatch.models import Batch

ACTIVE_STATES = ("queued", "scheduled", "deferred", "started")


@dataclass(frozen=True)
class BatchProgress:
    id: str
    file_name: str
    state: str
    done: int
    total: int


def active_batches(engine: Engine, operator_id: int) -> list[BatchProgress]:
    """The operator's batches that are queued or running, newest first."""
    with session(engine) as db:
        rows = db.execute(
            select(Batch.id, Batch.file_name, Batch.state, Batch.done, Batch.total)
            .where(Batch.operator_id == operator_id, Batch.state.in_(ACTIVE_STATES))
            .order_by(Batch.submitted_at.desc())
        ).all()
    return [BatchProgress(*row) for row in rows]
