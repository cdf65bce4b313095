"""The outbox: messages due to be sent, sent exactly once, retried with backoff.

The database is the record of what is due. Sending a message first claims it with one
guarded UPDATE (scheduled → sending), so two workers never send the same message; the
invitation's token is made at that moment and only its hash is stored. A refused send goes
back to scheduled with a later send time (the wait doubles each attempt) until the attempts
run out. A claim whose worker died mid-send is not sent again — it might have arrived — but
marked failed with that explanation, to be resent by hand.
"""

from __future__ import annotations

import datetime as dt
import smtplib
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Engine, or_, select, true, update

from userbatch.crypto.tokens import new_token
from userbatch.db import retry_blips, session
from userbatch.directory.auth import OperatorInfo
from userbatch.errors import Conflict
from userbatch.i18n import N_, Text
from userbatch.i18n.recall import kept
from userbatch.mail.delivery import deliver, delivered
from userbatch.mail.render import APP_URL, SET_PASSWORD_URL
from userbatch.models import Batch, OutboxMessage, utcnow
from userbatch.settings import Settings

# A claim older than this without an outcome belongs to a worker that died mid-send.
STALE_CLAIM = dt.timedelta(minutes=10)
# Kept in English as a message's last error; the screens read it in their reader's language.
INTERRUPTED = N_(
    "The worker stopped while sending this message, so it may or may not have arrived; "
    "resend it if the user did not get it."
)


def accept_url(settings: Settings, token: str) -> str:
    return f"{settings.base_url.rstrip('/')}/accept?token={token}"


@retry_blips
def due_messages(engine: Engine, now: dt.datetime, *, limit: int = 1000) -> list[int]:
    """The ids of scheduled messages whose send time has come, oldest first."""
    with session(engine) as db:
        return list(
            db.scalars(
                select(OutboxMessage.id)
                .where(OutboxMessage.state == "scheduled", OutboxMessage.send_at <= now)
                .order_by(OutboxMessage.send_at, OutboxMessage.id)
                .limit(limit)
            )
        )


def send_message(
    engine: Engine, settings: Settings, message_id: int, *, now: dt.datetime | None = None
) -> str:
    """Send one due message if nobody else has; returns its state afterwards."""
    now = now or utcnow()
    token, token_hash = new_token()
    claimed, message = _claim(engine, settings, message_id, token_hash, now)
    if not claimed:
        return message.state
    body = message.body.replace(SET_PASSWORD_URL, accept_url(settings, token))
    body = body.replace(APP_URL, settings.base_url.rstrip("/"))
    try:
        transport = deliver(
            settings, recipient=message.recipient, subject=message.subject, body=body
        )
    except (smtplib.SMTPException, OSError) as exc:
        return _refused(engine, settings, message, now, f"{type(exc).__name__}: {exc}")
    _record_sent(engine, message_id, transport)
    return delivered(transport)


@retry_blips
def _claim(
    engine: Engine, settings: Settings, message_id: int, token_hash: str, now: dt.datetime
) -> tuple[bool, OutboxMessage]:
    # The claim and the read are one transaction: run again after a blip between them, a
    # claim already taken would otherwise look like someone else's.
    with session(engine) as db, db.begin():
        claimed = db.connection().execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == message_id,
                OutboxMessage.state == "scheduled",
                OutboxMessage.send_at <= now,
            )
            .values(
                state="sending", claimed_at=now, attempts=OutboxMessage.attempts + 1,
                token_hash=token_hash,
                token_expires_at=now + dt.timedelta(days=settings.invitation_days),
            )
        ).rowcount  # fmt: skip
        message = db.get_one(OutboxMessage, message_id)
    return bool(claimed), message


@retry_blips
def _record_sent(engine: Engine, message_id: int, transport: str) -> None:
    # A message handed over is recorded even if the database blinks meanwhile: otherwise it
    # would end as "interrupted" although it arrived.
    with engine.begin() as connection:
        connection.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.state == "sending")
            .values(
                state=delivered(transport),
                sent_at=utcnow(),
                transport=transport,
                last_error=None,
            )
        )


@retry_blips
def _refused(
    engine: Engine, settings: Settings, message: OutboxMessage, now: dt.datetime, error: str
) -> str:
    final = message.attempts >= settings.mail_max_attempts
    wait = dt.timedelta(seconds=settings.mail_retry_seconds * 2 ** (message.attempts - 1))
    state = "failed" if final else "scheduled"
    with engine.begin() as connection:
        connection.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message.id, OutboxMessage.state == "sending")
            .values(
                state=state, last_error=error, claimed_at=None, token_hash=None,
                token_expires_at=None, send_at=message.send_at if final else now + wait,
            )
        )  # fmt: skip
    return state


@retry_blips
def fail_interrupted(engine: Engine, now: dt.datetime | None = None) -> int:
    """Mark claims left behind by a dead worker as failed; returns how many."""
    now = now or utcnow()
    with engine.begin() as connection:
        return connection.execute(
            update(OutboxMessage)
            .where(OutboxMessage.state == "sending", OutboxMessage.claimed_at < now - STALE_CLAIM)
            .values(state="failed", last_error=INTERRUPTED, token_hash=None)
        ).rowcount


def send_due(engine: Engine, settings: Settings, now: dt.datetime | None = None) -> Counter[str]:
    """Send every message that is due; returns how many ended in each state."""
    now = now or utcnow()
    fail_interrupted(engine, now)
    outcomes: Counter[str] = Counter()
    for message_id in due_messages(engine, now):
        outcomes[send_message(engine, settings, message_id, now=now)] += 1
    return outcomes


def next_send_at(engine: Engine) -> dt.datetime | None:
    """When the next scheduled message is due (None when nothing is scheduled)."""
    with session(engine) as db:
        return db.scalar(
            select(OutboxMessage.send_at)
            .where(OutboxMessage.state == "scheduled")
            .order_by(OutboxMessage.send_at)
            .limit(1)
        )


@dataclass(frozen=True)
class KeptMessage:
    id: int
    recipient: str
    subject: str
    body: str
    state: str
    send_at: dt.datetime
    sent_at: dt.datetime | None
    transport: str | None
    attempts: int
    last_error: str | None
    has_link: bool
    batch_id: str | None


def list_messages(
    engine: Engine,
    *,
    operator: OperatorInfo | None = None,
    states: list[str] | None = None,
    limit: int = 500,
) -> list[KeptMessage]:
    """Messages newest first: those ``operator`` may act on, or all without one."""
    query = select(OutboxMessage).order_by(OutboxMessage.send_at.desc(), OutboxMessage.id.desc())
    if operator is not None:
        query = query.where(_theirs(operator))
    if states:
        query = query.where(OutboxMessage.state.in_(states))
    with session(engine) as db:
        messages = db.scalars(query.limit(limit)).all()
    return [
        KeptMessage(
            m.id,
            m.recipient,
            m.subject,
            m.body.replace(SET_PASSWORD_URL, "[set-password link]"),
            m.state,
            m.send_at,
            m.sent_at,
            m.transport,
            m.attempts,
            m.last_error,
            SET_PASSWORD_URL in m.body,
            m.batch_id,
        )
        for m in messages
    ]


def cancel_scheduled(
    engine: Engine,
    operator: OperatorInfo,
    *,
    message_id: int | None = None,
    batch_id: str | None = None,
) -> int:
    """Cancel the message, or every message of the batch, that still waits for its send
    time; returns how many were canceled. A message being sent or sent is left alone (the
    sender's claim and this are one guarded UPDATE each, so exactly one of them wins). A
    manager cancels only the invitations of their own batches and their own tests."""
    if (message_id is None) == (batch_id is None):
        raise ValueError(Text("give a message id or a batch id"))
    which = (
        OutboxMessage.id == message_id
        if message_id is not None
        else OutboxMessage.batch_id == batch_id
    )
    with engine.begin() as connection:
        return connection.execute(
            update(OutboxMessage)
            .where(_theirs(operator), which, OutboxMessage.state == "scheduled")
            .values(
                state="canceled",
                last_error=kept(Text("Canceled by '{login}'.", login=operator.login)),
            )
        ).rowcount


def reissue_link(
    engine: Engine,
    settings: Settings,
    operator: OperatorInfo,
    message_id: int,
    *,
    now: dt.datetime | None = None,
) -> str:
    """A fresh set-password link for a message kept in the Outbox (no SMTP): the old token
    stops working. Raises a ``UserbatchError`` when the message has no unused link, or when a
    manager asks for a message of another operator's batch."""
    now = now or utcnow()
    token, token_hash = new_token()
    with engine.begin() as connection:
        changed = connection.execute(
            update(OutboxMessage)
            .where(
                _theirs(operator),
                OutboxMessage.id == message_id,
                OutboxMessage.state == "kept",
                OutboxMessage.token_used_at.is_(None),
                OutboxMessage.body.contains(SET_PASSWORD_URL),
            )
            .values(
                token_hash=token_hash,
                token_expires_at=now + dt.timedelta(days=settings.invitation_days),
            )
        ).rowcount
    if not changed:
        raise Conflict(Text("This message has no unused set-password link."))
    return accept_url(settings, token)


def _theirs(operator: OperatorInfo) -> ColumnElement[bool]:
    """The messages ``operator`` may act on: all for an administrator; for a manager, the
    invitations of their own batches and the tests they sent."""
    if operator.is_admin:
        return true()
    return or_(
        OutboxMessage.batch_id.in_(select(Batch.id).where(Batch.operator_id == operator.id)),
        OutboxMessage.operator_id == operator.id,
    )
