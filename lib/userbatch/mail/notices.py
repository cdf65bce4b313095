"""The message an operator gets when one of their batches (or undos) ends.

It goes through the outbox like every mail: it is written in the transaction that ends the
batch, so it is made exactly once, and it is sent (or kept, without an SMTP server) at least
once by the outbox's sweep, never holding up the batch. An operator without an e-mail
address, or who switched the notices off, gets none.
"""

from __future__ import annotations

from sqlalchemy import Connection, insert, select

from userbatch.mail.render import APP_URL
from userbatch.models import Batch, Operator, OutboxMessage, utcnow

# The Background processing screen's path; ``?batch=ID`` opens a batch's detail there.
DETAIL_PATH = "background"


def detail_link(batch_id: str) -> str:
    """The link to a batch's detail, as a stored message holds it."""
    return f"{APP_URL}/{DETAIL_PATH}?batch={batch_id}"


def queue_batch_notice(connection: Connection, batch_id: str) -> None:
    """Queue the notice that the batch has ended, in ``connection``'s transaction."""
    batch = connection.execute(
        select(
            Batch.id, Batch.file_name, Batch.state, Batch.error, Batch.undo_of,
            Batch.operator_id, Batch.done, Batch.total, Batch.created, Batch.updated,
            Batch.unchanged, Batch.failed, Batch.deleted, Operator.email, Operator.notify,
        )
        .join(Operator, Operator.id == Batch.operator_id)
        .where(Batch.id == batch_id)
    ).one_or_none()  # fmt: skip
    if batch is None or not batch.email or not batch.notify:
        return
    what = "The undo" if batch.undo_of else "The batch"
    counts = ([("deleted", batch.deleted)] if batch.undo_of else [("created", batch.created)]) + [
        ("updated", batch.updated),
        ("unchanged", batch.unchanged),
        ("failed", batch.failed),
    ]
    lines = [
        f"{what} '{batch.file_name}' has {batch.state}: {batch.done:,} of {batch.total:,} rows.",
        ", ".join(f"{count:,} {name}" for name, count in counts) + ".",
    ]
    if batch.error:
        lines.append(batch.error)
    lines += ["", f"Its detail and results: {detail_link(batch.id)}", "",
              "You get this message because notices of your batches are on; switch them off "
              "under 'Your notices' in the sidebar."]  # fmt: skip
    now = utcnow()
    connection.execute(
        insert(OutboxMessage).values(
            recipient=batch.email, subject=f"userbatch: {batch.file_name} {batch.state}",
            body="\n".join(lines), send_at=now, state="scheduled", operator_id=batch.operator_id,
            created_at=now,
        )
    )  # fmt: skip
