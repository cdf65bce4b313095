"""The message an operator gets when one of their batches (or undos) ends.

It goes through the outbox like every mail: it is written in the transaction that ends the
batch, so it is made exactly once, and it is sent (or kept, without an SMTP server) at least
once by the outbox's sweep, never holding up the batch. An operator without an e-mail
address, or who switched the notices off, gets none.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select

from userbatch.i18n import ENGLISH, N_, _, speaking
from userbatch.mail.render import APP_URL
from userbatch.models import Batch, Operator, OutboxMessage, utcnow

# The Background processing screen's path; ``?batch=ID`` opens a batch's detail there.
DETAIL_PATH = "background"
# The first line and the subject, by what ended and how (the ends of ``batches.lifecycle``
# that are told); another end says its state as it is.
ENDED = {
    ("batch", "finished"): N_("The batch '{name}' has finished: {done:,} of {total:,} rows."),
    ("batch", "failed"): N_("The batch '{name}' has failed: {done:,} of {total:,} rows."),
    ("undo", "finished"): N_("The undo '{name}' has finished: {done:,} of {total:,} rows."),
    ("undo", "failed"): N_("The undo '{name}' has failed: {done:,} of {total:,} rows."),
}
ENDED_OTHERWISE = N_("'{name}' has ended ({state}): {done:,} of {total:,} rows.")
SUBJECTS = {"finished": N_("userbatch: {name} finished"), "failed": N_("userbatch: {name} failed")}
SUBJECT_OTHERWISE = N_("userbatch: {name} ended ({state})")


def detail_link(batch_id: str) -> str:
    """The link to a batch's detail, as a stored message holds it."""
    return f"{APP_URL}/{DETAIL_PATH}?batch={batch_id}"


def queue_batch_notice(connection: Connection, batch_id: str) -> None:
    """Queue the notice that the batch has ended, in ``connection``'s transaction, in the
    language the operator chose (English when they chose none)."""
    batch = connection.execute(
        select(
            Batch.id, Batch.file_name, Batch.state, Batch.error, Batch.undo_of,
            Batch.operator_id, Batch.done, Batch.total, Batch.created, Batch.updated,
            Batch.unchanged, Batch.failed, Batch.deleted, Operator.email, Operator.notify,
            Operator.language,
        )
        .join(Operator, Operator.id == Batch.operator_id)
        .where(Batch.id == batch_id)
    ).one_or_none()  # fmt: skip
    if batch is None or not batch.email or not batch.notify:
        return
    with speaking(batch.language or ENGLISH):
        subject, body = _notice(batch)
    now = utcnow()
    connection.execute(
        insert(OutboxMessage).values(
            recipient=batch.email, subject=subject, body=body, send_at=now, state="scheduled",
            operator_id=batch.operator_id, created_at=now,
        )
    )  # fmt: skip


def _notice(batch: Any) -> tuple[str, str]:
    """The subject and body of the notice of ``batch``, in the current language."""
    what = "undo" if batch.undo_of else "batch"
    name, state = batch.file_name, batch.state
    first = ENDED.get((what, state), ENDED_OTHERWISE)
    counts = {"updated": batch.updated, "unchanged": batch.unchanged, "failed": batch.failed}
    lines = [
        _(first, name=name, state=state, done=batch.done, total=batch.total),
        _("{deleted:,} deleted, {updated:,} updated, {unchanged:,} unchanged, {failed:,} failed.",
          deleted=batch.deleted, **counts)
        if batch.undo_of
        else _("{created:,} created, {updated:,} updated, {unchanged:,} unchanged, {failed:,} "
               "failed.", created=batch.created, **counts),
    ]  # fmt: skip
    if batch.error:
        lines.append(batch.error)
    lines += ["", _("Its detail and results: {link}", link=detail_link(batch.id)), "",
              _("You get this message because notices of your batches are on; switch them off "
                "under 'Your notices' in the sidebar.")]  # fmt: skip
    subject = _(SUBJECTS.get(state, SUBJECT_OTHERWISE), name=name, state=state)
    return subject, "\n".join(lines)
