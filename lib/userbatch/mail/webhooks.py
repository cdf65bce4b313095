"""Webhooks: when a batch ends, each webhook an administrator registered for the event gets a
signed POST, delivered from the database at least once — the way the outbox delivers mail.

An event is queued in the transaction that ends the batch (``queue_webhook_events``), one
delivery a webhook, unique by the event's id: a batch that ends twice (a job RQ ran again)
queues nothing more. The outbox's sweep delivers what is due: a delivery is claimed with one
guarded UPDATE (pending → sending), POSTed, and then delivered, or pending again after a
wait that doubles each attempt, or failed when the attempts run out. A claim whose worker
died is pending again after ``STALE_CLAIM``: the receiver may see an event twice, and the
event's id (``Userbatch-Delivery``) tells it so.

The body is signed with the webhook's secret (kept sealed with the installation's key):
``Userbatch-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">``. A receiver
recomputes it and refuses a stale ``t``, as ``verify_signature`` does.

Over 300 lines: registering, queueing, delivering and signing are one protocol whose parts
must agree; split, each would need the others' columns and words.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import ColumnElement, Connection, Engine, func, or_, select, update

from userbatch.crypto.vault import seal, unseal
from userbatch.db import insert_ignoring_conflicts, retry_blips, session
from userbatch.directory.auth import OperatorInfo, require_admin
from userbatch.errors import Invalid, NotFound
from userbatch.i18n import Text
from userbatch.models import Batch, BatchState, utcnow
from userbatch.models.automation import Webhook, WebhookDelivery
from userbatch.settings import Settings

EVENTS = ("batch.finished", "batch.failed", "batch.undone")
MAX_ATTEMPTS = 10
FIRST_WAIT = dt.timedelta(seconds=30)  # then 1, 2, 4 … minutes: about eight hours in all
STALE_CLAIM = dt.timedelta(minutes=5)
TIMEOUT_SECONDS = 10
SIGNATURE_HEADER = "Userbatch-Signature"
TOLERANCE_SECONDS = 300  # how old a signature a receiver should accept
MAX_URL = 2000


@dataclass(frozen=True)
class WebhookInfo:
    id: int
    url: str
    events: tuple[str, ...]
    active: bool
    created_at: dt.datetime


@dataclass(frozen=True)
class DeliveryInfo:
    id: int
    webhook_id: int
    url: str
    event_id: str
    event: str
    state: str  # pending, sending, delivered, failed
    attempts: int
    next_attempt_at: dt.datetime | None
    last_error: str | None
    created_at: dt.datetime
    delivered_at: dt.datetime | None


def _valid_url(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > MAX_URL:
        raise Invalid(Text("A webhook's address is an http:// or https:// URL, e.g. "
                           "https://hr.example.com/userbatch-events."))  # fmt: skip
    return url


def add_webhook(
    engine: Engine, settings: Settings, actor: OperatorInfo, url: str, *,
    events: tuple[str, ...] = EVENTS, secret: str | None = None,
) -> tuple[WebhookInfo, str]:  # fmt: skip
    """Register a webhook for ``events``; returns it and its secret (made when None: shown
    once). Raises ``NotAllowed`` for a manager, ``Invalid`` for a bad URL or event."""
    url = _valid_url(url)
    unknown = sorted(set(events) - set(EVENTS))
    if unknown or not events:
        raise Invalid(Text("The events are some of: {events}.", events=", ".join(EVENTS)))
    secret = secret.strip() if secret and secret.strip() else "whsec_" + secrets.token_urlsafe(24)
    with session(engine) as db, db.begin():
        require_admin(db, actor, Text("register webhooks"))
        row = Webhook(
            url=url, sealed_secret=seal(settings, secret), events=list(events),
            active=True, created_by=actor.id, created_at=utcnow(),
        )  # fmt: skip
        db.add(row)
        db.flush()
        return _info(row), secret


def _info(row: Webhook) -> WebhookInfo:
    return WebhookInfo(row.id, row.url, tuple(row.events), row.active, row.created_at)


def list_webhooks(engine: Engine) -> list[WebhookInfo]:
    with session(engine) as db:
        return [_info(row) for row in db.scalars(select(Webhook).order_by(Webhook.id))]


def remove_webhook(engine: Engine, actor: OperatorInfo, webhook_id: int) -> None:
    """Remove a webhook and its deliveries. Raises ``NotAllowed`` for a manager."""
    with session(engine) as db, db.begin():
        require_admin(db, actor, Text("remove webhooks"))
        row = db.get(Webhook, webhook_id)
        if row is None:
            raise NotFound(what=Text("webhook"), key=webhook_id)
        db.delete(row)


def list_deliveries(engine: Engine, *, limit: int = 200) -> list[DeliveryInfo]:
    """The newest deliveries first."""
    with session(engine) as db:
        rows = db.execute(
            select(WebhookDelivery, Webhook.url)
            .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
            .order_by(WebhookDelivery.id.desc())
            .limit(limit)
        ).all()
    return [_delivery(row, url) for row, url in rows]


def _delivery(d: WebhookDelivery, url: str) -> DeliveryInfo:
    return DeliveryInfo(
        d.id, d.webhook_id, url, d.event_id, d.event, d.state, d.attempts, d.next_attempt_at,
        d.last_error, d.created_at, d.delivered_at,
    )  # fmt: skip


def _event(batch: Any) -> tuple[str, str, dict[str, Any]] | None:
    """The event a batch's end makes (its type, id and data), or None."""
    if batch.undo_of is not None:
        if batch.state != BatchState.FINISHED:
            return None
        kind, subject = "batch.undone", batch.undo_of
    elif batch.state == BatchState.FINISHED:
        kind, subject = "batch.finished", batch.id
    elif batch.state == BatchState.FAILED:
        kind, subject = "batch.failed", batch.id
    else:
        return None
    data = {
        "batch": subject, "file_name": batch.file_name, "state": batch.state,
        "progress": {"done": batch.done, "total": batch.total},
        "counts": {"created": batch.created, "updated": batch.updated,
                   "unchanged": batch.unchanged, "failed": batch.failed},
        "error": batch.error,
    }  # fmt: skip
    if batch.undo_of is not None:
        data |= {"undo": batch.id, "deleted": batch.deleted}
    # A failed batch can fail again after a retry: each end is an event of its own.
    event_id = f"{batch.id}.{kind}.{int(batch.finished_at.timestamp()) if batch.finished_at else 0}"
    return kind, event_id, data


def queue_webhook_events(connection: Connection, batch_id: str) -> None:
    """Queue, in ``connection``'s transaction, the deliveries of the event the batch's end
    makes, one a webhook registered for it (none twice)."""
    batch = connection.execute(
        select(
            Batch.id, Batch.file_name, Batch.state, Batch.undo_of, Batch.done, Batch.total,
            Batch.created, Batch.updated, Batch.unchanged, Batch.failed, Batch.deleted,
            Batch.error, Batch.finished_at,
        ).where(Batch.id == batch_id)
    ).one_or_none()  # fmt: skip
    made = _event(batch) if batch is not None else None
    if made is None:
        return
    kind, event_id, data = made
    hooks = connection.execute(select(Webhook.id, Webhook.events).where(Webhook.active)).all()
    now = utcnow()
    payload = {"id": event_id, "type": kind, "created_at": now.isoformat(), "data": data}
    for hook_id, events in hooks:
        if kind in events:
            connection.execute(
                insert_ignoring_conflicts(connection, WebhookDelivery).values(
                    webhook_id=hook_id, event_id=event_id, event=kind, payload=payload,
                    state="pending", attempts=0, next_attempt_at=now, created_at=now,
                )
            )  # fmt: skip


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header's value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify_signature(secret: str, body: bytes, header: str, *, now: float | None = None) -> bool:
    """What a receiver does: True when ``header`` signs ``body`` with ``secret``, recently."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs((now or time.time()) - timestamp) > TOLERANCE_SECONDS:
        return False
    return hmac.compare_digest(sign(secret, body, timestamp), f"t={timestamp},v1={fields['v1']}")


def _due(now: dt.datetime) -> ColumnElement[bool]:
    """Deliveries due at ``now``: pending ones whose time has come, and claims so old that
    their worker must have died (a claim records its moment in ``next_attempt_at``)."""
    return or_(
        (WebhookDelivery.state == "pending") & (WebhookDelivery.next_attempt_at <= now),
        (WebhookDelivery.state == "sending")
        & (WebhookDelivery.next_attempt_at <= now - STALE_CLAIM),
    )


@retry_blips
def next_attempt_at(engine: Engine) -> dt.datetime | None:
    """When the next delivery is due (a claim, once it is stale), or None."""
    with session(engine) as db:
        pending, claimed = (
            db.scalar(
                select(func.min(WebhookDelivery.next_attempt_at)).where(
                    WebhookDelivery.state == state
                )
            )
            for state in ("pending", "sending")
        )
    times = [pending, claimed + STALE_CLAIM if claimed else None]
    return min((when for when in times if when is not None), default=None)


def deliver_due(
    engine: Engine, settings: Settings, *, now: dt.datetime | None = None,
    client: httpx.Client | None = None,
) -> dict[str, int]:  # fmt: skip
    """Deliver every delivery due at ``now``; how many were delivered, retried, failed."""
    now = now or utcnow()
    outcomes = {"delivered": 0, "retried": 0, "failed": 0}
    with session(engine) as db:
        due = list(
            db.scalars(
                select(WebhookDelivery.id).where(_due(now)).order_by(WebhookDelivery.id).limit(1000)
            )
        )
    own = client is None
    client = client or httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False)
    try:
        for delivery_id in due:
            outcome = _deliver(engine, settings, client, delivery_id, now)
            if outcome:
                outcomes[outcome] += 1
    finally:
        if own:
            client.close()
    return outcomes


def _deliver(
    engine: Engine, settings: Settings, client: httpx.Client, delivery_id: int, now: dt.datetime
) -> str | None:
    with engine.begin() as connection:
        claimed = connection.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id, _due(now))
            .values(state="sending", next_attempt_at=now, attempts=WebhookDelivery.attempts + 1)
        ).rowcount
        if claimed != 1:
            return None
        row = connection.execute(
            select(WebhookDelivery.payload, WebhookDelivery.event, WebhookDelivery.event_id,
                   WebhookDelivery.attempts, Webhook.url, Webhook.sealed_secret)
            .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
            .where(WebhookDelivery.id == delivery_id)
        ).one()  # fmt: skip
    body = json.dumps(row.payload, ensure_ascii=False, separators=(",", ":")).encode()
    stamp = int(time.time())
    headers = {
        "Content-Type": "application/json", "User-Agent": "userbatch-webhooks",
        "Userbatch-Event": row.event, "Userbatch-Delivery": row.event_id,
        SIGNATURE_HEADER: sign(unseal(settings, row.sealed_secret), body, stamp),
    }  # fmt: skip
    error: str | None = None
    try:
        response = client.post(row.url, content=body, headers=headers)
        if not 200 <= response.status_code < 300:
            error = f"HTTP {response.status_code}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
    values: dict[str, Any]
    if error is None:
        outcome, values = "delivered", {"state": "delivered", "delivered_at": utcnow()}
    elif row.attempts >= MAX_ATTEMPTS:
        outcome, values = "failed", {"state": "failed", "last_error": error}
    else:
        wait = FIRST_WAIT * 2 ** (row.attempts - 1)
        outcome = "retried"
        values = {"state": "pending", "last_error": error, "next_attempt_at": now + wait}
    with engine.begin() as connection:
        connection.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id, WebhookDelivery.state == "sending")
            .values(**values)
        )
    return outcome
