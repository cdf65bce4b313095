"""The tables of automation: the API's bearer tokens.

A token acts as its operator; only its SHA-256 hash is stored, like a session's. It works
until it is revoked, it expires, or its operator is disabled or removed.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String
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
