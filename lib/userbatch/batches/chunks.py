"""A chunk's bookkeeping: the stored rows it reads, claiming them, and writing their outcomes
and the batch's counts — the same for applying a batch and for undoing one."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import Connection, bindparam, update

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

    @property
    def done(self) -> int:
        return self.created + self.updated + self.unchanged + self.failed + self.deleted


def claim(connection: Connection, batch_id: str, row_numbers: list[int]) -> bool:
    """Claim these pending rows of the batch for this transaction: True when every one was
    still pending. Whoever claims the rows applies them, exactly once."""
    claimed = connection.execute(
        update(BatchRow)
        .where(
            BatchRow.batch_id == batch_id,
            BatchRow.row_no.in_(row_numbers),
            BatchRow.outcome == "pending",
        )
        .values(outcome="applying")
    ).rowcount
    return bool(row_numbers) and claimed == len(row_numbers)


def record(connection: Connection, batch_id: str, outcome: ChunkOutcome) -> None:
    """Write each claimed row's outcome and add the chunk's counts to the batch's."""
    connection.execute(
        update(BatchRow)
        .where(BatchRow.batch_id == batch_id, BatchRow.row_no == bindparam("r_row"))
        .values(
            outcome=bindparam("r_outcome"),
            message=bindparam("r_message"),
            user_id=bindparam("r_user"),
            before=bindparam("r_before"),
            secret=None,
        ),
        outcome.outcomes,
    )
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
