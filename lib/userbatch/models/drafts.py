"""The tables of drafts: an operator's checked file being fixed, its file, and its edits."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Integer, LargeBinary, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from userbatch.models import Base, utcnow


class Draft(Base):
    """An operator's checked file being fixed: how to read the file (sealed in its
    ``DraftUpload``), and the screen's place; its edits are ``DraftEdit`` rows, replayed in
    order on restore."""

    __tablename__ = "drafts"
    # A new draft never takes a discarded one's id (SQLite would reuse the highest).
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012 - SQLAlchemy reads it

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    operator_id: Mapped[int] = mapped_column(
        ForeignKey("operators.id", ondelete="CASCADE"), unique=True
    )
    batch_id: Mapped[str] = mapped_column(String(32))  # of the batch executing it stores
    file_name: Mapped[str] = mapped_column(String(255))
    encoding: Mapped[str | None] = mapped_column(String(20))  # chosen; NULL: detected
    delimiter: Mapped[str | None] = mapped_column(String(4))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id", ondelete="SET NULL"))
    # What a blank cell of an update does (keep, clear); whether the file is a complete list.
    blank: Mapped[str] = mapped_column(String(8), default="keep", server_default="keep")
    complete: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    page: Mapped[int] = mapped_column(Integer, default=1)
    only_errors: Mapped[bool] = mapped_column(Boolean, default=False)
    edits: Mapped[int] = mapped_column(Integer, default=0)  # DraftEdit rows saved
    changes: Mapped[int] = mapped_column(Integer, default=0)  # cells edited and rows deleted
    # SHA-256 of every row's status and problems after the last edit: a restore that comes
    # to another digest was checked against a database that has changed since.
    digest: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class DraftUpload(Base):
    """A draft's uploaded file, encrypted: a row of its own, which the draft's many updates
    (one an edit) leave alone (migration 0010)."""

    __tablename__ = "draft_files"

    draft_id: Mapped[int] = mapped_column(
        ForeignKey("drafts.id", ondelete="CASCADE"), primary_key=True
    )
    sealed: Mapped[bytes] = mapped_column(LargeBinary)


class DraftEdit(Base):
    """One grid edit of a draft: cells changed and rows deleted, sealed (passwords)."""

    __tablename__ = "draft_edits"

    draft_id: Mapped[int] = mapped_column(
        ForeignKey("drafts.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    sealed: Mapped[str] = mapped_column(Text)  # {"cells": {row: {key: text}}, "deleted": [row]}
