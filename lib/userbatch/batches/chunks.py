"""A chunk's bookkeeping: the stored rows it reads, claiming them, and writing their outcomes
and the batch's counts — the same for applying a batch and for undoing one."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import Connection, select, update

from userbatch.db import executemany_plain
from userbatch.models import Batch, BatchRow


class PendingRow(NamedTuple):
    """What applying a stored row reads of it (plain columns: no ORM objects)."""

    row_no: int
    action: str
    key: str
    values: dict[str, str]
    secret: str | None
    user_id: int | None  # the check's: the user an update or a suspension is for


@dataclass
class ChunkOutcome:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    deleted: int = 0  # by an undo
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    # Rows whose outcome is all there is to write (no message, no image, the user the check
    # found), by outcome: written with one statement each.
    plain: dict[str, list[int]] = field(default_factory=dict)

    @property
    def done(self) -> int:
        return self.created + self.updated + self.unchanged + self.failed + self.deleted

    def plainly(self, row_no: int, outcome: str) -> None:
        """Row ``row_no`` ended with ``outcome``, no message and no image, for the user the
        check found (the stored row's)."""
        self.plain.setdefault(outcome, []).append(row_no)


def claim(connection: Connection, batch_id: str, row_numbers: list[int]) -> bool:
    """Hold these rows of the batch for this transaction: True when every one is still
    pending. Whoever holds the rows applies them, exactly once: their outcomes are written
    in the same transaction, and a transaction that asks for them meanwhile waits for it to
    end, then finds them done.

    The rows are locked, not written (each write of a stored row rewrites it and its
    indexes, once more than the outcome needs): on PostgreSQL by ``FOR UPDATE``; on SQLite,
    which has one writer at a time, by a first write that waits for the others to commit,
    so that the rows are read after them."""
    if connection.dialect.name == "sqlite":
        connection.execute(update(Batch).where(Batch.id == batch_id).values(done=Batch.done))
    pending = connection.execute(
        select(BatchRow.row_no)
        .where(
            BatchRow.batch_id == batch_id,
            BatchRow.row_no.in_(row_numbers),
            BatchRow.outcome == "pending",
        )
        .with_for_update()
    ).all()
    return bool(row_numbers) and len(pending) == len(row_numbers)


# A row's outcome, its message, user and before-image (JSON text), by batch and row number.
_OUTCOME = (
    'UPDATE batch_rows SET outcome = ?, message = ?, user_id = ?, "before" = ?, secret = NULL '
    "WHERE batch_id = ? AND row_no = ?"
)


def record(connection: Connection, batch_id: str, outcome: ChunkOutcome) -> None:
    """Write each claimed row's outcome and add the chunk's counts to the batch's."""
    for kind, row_numbers in outcome.plain.items():
        connection.execute(
            update(BatchRow)
            .where(BatchRow.batch_id == batch_id, BatchRow.row_no.in_(row_numbers))
            .values(outcome=kind, message=None, before=None, secret=None)
        )
    # The rest with the DB-API's executemany: a row's values are ready as the database takes
    # them, so SQLAlchemy need not process each of them (a chunk has thousands).
    executemany_plain(
        connection,
        _OUTCOME,
        [
            (
                row["r_outcome"], row["r_message"], row["r_user"],
                None if row["r_before"] is None else json.dumps(row["r_before"]),
                batch_id, row["r_row"],
            )
            for row in outcome.outcomes
        ],
    )  # fmt: skip
    connection.execute(
        update(Batch)
        .where(Batch.id == batch_id)
        .values(
            done=Batch.done + outcome.done,
            created=Batch.created + outcome.created,
            updated=Batch.updated + outcome.updated,
            unchanged=Batch.unchanged + outcome.unchanged,
            failed=Batch.failed + outcome.failed,
            deleted=Batch.deleted + outcome.deleted,
        )
    )


def outcome_of(
    row_no: int, outcome: str, message: str | None, user_id: int | None,
    before: dict[str, Any] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """A row's outcome as the chunk's closing statement writes it; ``before`` is its
    before-image (``batches.images``)."""
    return {
        "r_row": row_no, "r_outcome": outcome, "r_message": message, "r_user": user_id,
        "r_before": before,
    }  # fmt: skip
