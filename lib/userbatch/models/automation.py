"""The tables of automation: the API's bearer tokens, and the webhooks told of batches' ends.

A token acts as its operator; only its SHA-256 hash is stored, like a session's. It works
until it is revoked, it expires, or its operator is disabled or removed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from userbatch.models import Base, utcnow


class ApiToken(Base):
    """A bearer token of the HTTP API, named by its operator."""

    __tablename__ = "api_tokens"
    # An id is shown and revoked by number: one that ended must never name a new token.
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012 - SQLAlchemy reads it

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    operator_id: Mapped[int] = mapped_column(
        ForeignKey("operators.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The token's first characters, to tell tokens apart in a list (never enough to use).
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime | None]
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]


class Webhook(Base):
    """An address an administrator registered to be told when batches end."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    sealed_secret: Mapped[str] = mapped_column(Text)  # the signing secret, sealed (vault)
    events: Mapped[list[Any]]  # of mail.webhooks.EVENTS
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("operators.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class WebhookDelivery(Base):
    """One event for one webhook, delivered at least once (``mail.webhooks``)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (UniqueConstraint("webhook_id", "event_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(100))
    event: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]]
    # pending, sending, delivered or failed
    state: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # When it is due (pending), or when it was claimed (sending).
    next_attempt_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[dt.datetime | None]
