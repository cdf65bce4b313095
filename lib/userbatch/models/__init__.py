"""The tables of userbatch (SQLAlchemy 2 declarative) and the words of their state columns.

Times are stored as UTC. A batch's rows keep the checked text of each column; passwords are
never stored in clear (``BatchRow.secret`` holds them encrypted until a worker hashes them).

Over 300 lines: the tables are one schema that the migrations follow; split, their foreign
keys would point across files. The automation's (``models.automation``) and the drafts'
(``models.drafts``), which only point here, are imported last.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC datetime on every database (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; userbatch stores aware UTC datetimes only")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    """The current time, aware, in UTC."""
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        dt.datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[Any]: JSON(),
    }


class Group(Base):
    """A node of the group tree. The root (parent NULL, path '') is the organisation."""

    __tablename__ = "groups"
    __table_args__ = (UniqueConstraint("parent_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(30))
    # 'Sales>>Tokyo': the path below the root, parent first; '' for the root itself.
    path: Mapped[str] = mapped_column(String(2000), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class User(Base):
    """A learner or teacher account of the platform."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    login_id: Mapped[str] = mapped_column(String(30), unique=True)
    name: Mapped[str] = mapped_column(String(50))
    display_name: Mapped[str | None] = mapped_column(String(50))
    email: Mapped[str | None] = mapped_column(String(254))
    # Lower-cased e-mail: uniqueness and look-ups ignore case the same way on every database.
    email_key: Mapped[str | None] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    department: Mapped[str | None] = mapped_column(String(100))
    position: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default="valid")
    expiration_date: Mapped[dt.date | None] = mapped_column(Date)
    custom: Mapped[dict[str, Any]] = mapped_column(default=dict)
    first_login_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Membership(Base):
    """A user belongs to a group."""

    __tablename__ = "memberships"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    group_id: Mapped[int] = mapped_column(
        ForeignKey("groups.id", ondelete="RESTRICT"), primary_key=True, index=True
    )


class FieldSetting(Base):
    """One field of the input field settings: a standard field or a custom one."""

    __tablename__ = "field_settings"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    custom: Mapped[bool] = mapped_column(Boolean, default=False)
    # The column label of a custom field; standard fields take theirs from the code.
    label: Mapped[str | None] = mapped_column(String(50), unique=True)
    # 'standard', or for custom fields: text, textarea, radio, pulldown, checkbox.
    type: Mapped[str] = mapped_column(String(16), default="standard")
    options: Mapped[list[Any]] = mapped_column(default=list)
    in_use: Mapped[bool] = mapped_column(Boolean, default=True)
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer)


class Operator(Base):
    """A staff member who signs in to userbatch."""

    __tablename__ = "operators"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))  # 'admin' or 'manager'
    # A manager's subtree; NULL for admins (the whole tree).
    scope_group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id", ondelete="RESTRICT"))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # Where the operator hears that their batches ended (None: nowhere), and whether to.
    email: Mapped[str | None] = mapped_column(String(254))
    notify: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # The language the operator chose for the screens ('en', 'ja'); None: the browser's.
    language: Mapped[str | None] = mapped_column(String(8))
    failed_sign_ins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None]
    last_sign_in_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class OperatorSession(Base):
    """A lasting sign-in: the browser keeps the token in a cookie, this table only its hash."""

    __tablename__ = "operator_sessions"
    # A tab holds its session's id: an ended session's id must never come back (SQLite would
    # reuse the highest) and sign in whoever the new session is for.
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012 - SQLAlchemy reads it

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    operator_id: Mapped[int] = mapped_column(
        ForeignKey("operators.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]  # the absolute limit; the idle limit follows last_seen_at
    user_agent: Mapped[str] = mapped_column(String(255), default="")
    method: Mapped[str] = mapped_column(String(16), default="password")  # or 'company'


class EmailTemplate(Base):
    """An invitation e-mail template (Jinja2, sandboxed); its words are its versions."""

    __tablename__ = "email_templates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class EmailTemplateVersion(Base):
    """A template's subject and body in one language (``userbatch.i18n.LANGUAGES``)."""

    __tablename__ = "email_template_versions"

    template_id: Mapped[int] = mapped_column(
        ForeignKey("email_templates.id", ondelete="CASCADE"), primary_key=True
    )
    language: Mapped[str] = mapped_column(String(8), primary_key=True)
    subject: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)


class BatchState(StrEnum):
    """Where a batch is on its way; the transitions are in ``userbatch.batches.lifecycle``.

    ::

        stored ──> queued ──> started ──> finished
          │          │  ↑        │
          │          │  └─ failed (Retry) <┘
          └──────────┴──> canceled

    ``scheduled`` and ``deferred`` are RQ's words for a queued job that waits for a time or
    for other jobs; a batch shows them while its job does.
    """

    STORED = "stored"
    QUEUED = "queued"
    SCHEDULED = "scheduled"
    DEFERRED = "deferred"
    STARTED = "started"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def is_active(self) -> bool:
        """Handed to the workers and not ended: queued (or scheduled, deferred) or started."""
        return self in ACTIVE_STATES

    @property
    def is_waiting(self) -> bool:
        """Not yet started: stored, or queued (scheduled, deferred) for a worker."""
        return self in WAITING_STATES

    @property
    def is_final(self) -> bool:
        """Ended: finished, failed or canceled (a failed batch may still be retried)."""
        return self in FINAL_STATES


ACTIVE_STATES = frozenset(
    {BatchState.QUEUED, BatchState.SCHEDULED, BatchState.DEFERRED, BatchState.STARTED}
)
WAITING_STATES = frozenset(
    {BatchState.STORED, BatchState.QUEUED, BatchState.SCHEDULED, BatchState.DEFERRED}
)
FINAL_STATES = frozenset({BatchState.FINISHED, BatchState.FAILED, BatchState.CANCELED})


class Batch(Base):
    """One uploaded file's journey: stored after the check, applied by a background job."""

    __tablename__ = "batches"
    __table_args__ = (Index(None, "operator_id", "submitted_at"), Index(None, "state"))

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    file_name: Mapped[str] = mapped_column(String(255))
    file_sha256: Mapped[str] = mapped_column(String(64))
    encoding: Mapped[str] = mapped_column(String(20))
    # The uploaded column labels, in file order, for the results download.
    columns: Mapped[list[Any]] = mapped_column(default=list)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id", ondelete="RESTRICT"))
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="RESTRICT"))
    # invite, template_id, subject, body, send_at (ISO 8601, UTC) chosen at execution.
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # A BatchState; written only by ``userbatch.batches.lifecycle``.
    state: Mapped[str] = mapped_column(String(16), default=BatchState.STORED.value)
    job_id: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    deleted: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # by an undo
    # The batch this one undoes (its rows are the undo's); a batch is undone at most once.
    undo_of: Mapped[str | None] = mapped_column(
        ForeignKey("batches.id", ondelete="SET NULL"), unique=True
    )
    submitted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]


class BatchRow(Base):
    """One row of a stored batch: what the check decided and what applying it did."""

    __tablename__ = "batch_rows"
    # user_id: deleting users (an undo) sets it NULL here, which needs the index to be fast.
    __table_args__ = (Index(None, "batch_id", "outcome"), Index(None, "user_id"))

    batch_id: Mapped[str] = mapped_column(
        ForeignKey("batches.id", ondelete="CASCADE"), primary_key=True
    )
    row_no: Mapped[int] = mapped_column(Integer, primary_key=True)  # spreadsheet row number
    action: Mapped[str] = mapped_column(String(16))  # new, update, unchanged
    key: Mapped[str] = mapped_column(String(254))
    # Checked cell text per field key; the password is never here (see ``secret``).
    values: Mapped[dict[str, Any]] = mapped_column(default=dict)
    secret: Mapped[str | None] = mapped_column(Text)  # the password, encrypted
    changes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    outcome: Mapped[str] = mapped_column(String(16), default="pending")
    message: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # What applying the row replaced, written in the same transaction (``batches.images``).
    before: Mapped[dict[str, Any] | None]


class OutboxMessage(Base):
    """An e-mail due to be sent (an invitation or a test), and what became of it."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index(None, "state", "send_at"),
        UniqueConstraint("batch_id", "user_id"),
        Index(None, "user_id"),  # deleting users sets it NULL
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[str | None] = mapped_column(ForeignKey("batches.id", ondelete="SET NULL"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Who sent a test (an invitation belongs to its batch's operator instead).
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id", ondelete="SET NULL"))
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    send_at: Mapped[dt.datetime]
    state: Mapped[str] = mapped_column(String(16), default="scheduled")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[dt.datetime | None]
    # When a worker claimed it for sending (a claim left behind by a crash is detectable).
    claimed_at: Mapped[dt.datetime | None]
    transport: Mapped[str | None] = mapped_column(String(16))  # 'smtp' or 'outbox'
    # SHA-256 of the accept-invitation token; the token itself is only in the mail.
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    token_expires_at: Mapped[dt.datetime | None]
    token_used_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


import userbatch.models.automation  # noqa: E402 - its tables join Base.metadata
import userbatch.models.drafts  # noqa: E402, F401 - its tables join Base.metadata
