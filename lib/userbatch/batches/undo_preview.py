"""The preview of a batch's undo: what it does with each row, as a document, a table and a
downloadable file, in the operator's words (column labels, group paths, status names)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from userbatch.batches.images import CUSTOM, GROUPS
from userbatch.batches.undo_plan import (
    ACTIONS,
    HIDDEN,
    KEEP,
    RESTORE,
    RowUndo,
    plan_rows,
    row_message,
)
from userbatch.check.lookup import custom_text
from userbatch.check.rules import STATUSES
from userbatch.db import session
from userbatch.directory.fields import MULTI_SEPARATOR, load_columns
from userbatch.files.download import write_download
from userbatch.models import Batch, Group, OutboxMessage

PREVIEW_HEADER = ["Row", "Key", "Undo", "Field", "Before", "Batch", "Now", "Message"]


class Labels:
    """Image field names and values as the operator reads them."""

    def __init__(self, engine: Engine) -> None:
        self.columns = {column.key: column.label for column in load_columns(engine)}
        with session(engine) as db:
            self.paths = dict(db.execute(select(Group.id, Group.path)).all())

    def name(self, field: str) -> str:
        key = {GROUPS: "belong_to", "password_hash": "password"}.get(field, field)
        key = key.removeprefix(CUSTOM)
        return self.columns.get(key, key)

    def value(self, field: str, value: Any) -> str:
        if field == "password_hash":
            return "(a password)" if value else ""
        if field == GROUPS:
            return MULTI_SEPARATOR.join(sorted(self.paths.get(g, f"#{g}") for g in value or []))
        if field == "status":
            return STATUSES.get(value, str(value))
        return custom_text(value)


def preview(engine: Engine, batch: Batch) -> dict[str, Any]:
    """The undo's preview as a document: ``counts`` of each action (and the invitations it
    cancels), and per row the key, the action, and for restore and keep the fields with
    their values (before, the batch's, now, and whether the undo restores it)."""
    labels = Labels(engine)
    with engine.connect() as connection:
        planned = list(plan_rows(connection, batch.id))
        scheduled = _scheduled(connection, batch.id)
    counts = Counter(undo.action for undo in planned)
    return {
        "batch": batch.id,
        "file_name": batch.file_name,
        "counts": {action: counts.get(action, 0) for action in ACTIONS}
        | {"invitations_canceled": scheduled},
        "rows": [_row_document(undo, labels) for undo in planned],
    }


def _row_document(undo: RowUndo, labels: Labels) -> dict[str, Any]:
    document: dict[str, Any] = {"row": undo.row, "key": undo.key, "action": undo.action}
    if undo.action in (RESTORE, KEEP):
        document["fields"] = [
            {
                "field": labels.name(field.name),
                "before": labels.value(field.name, field.before),
                "batch": labels.value(field.name, field.batch),
                "now": labels.value(field.name, field.now),
                "undo": RESTORE if field.restore else KEEP,
            }
            for field in undo.fields
            if field.name not in HIDDEN
        ]
    document["message"] = row_message(undo, labels.name)
    return document


def preview_lines(document: dict[str, Any]) -> list[list[str]]:
    """The preview as lines of ``PREVIEW_HEADER``: one per value the undo restores or keeps,
    and one per user it deletes or suspends."""
    lines = []
    for row in document["rows"]:
        head = [str(row["row"]), row["key"], row["action"]]
        for field in row.get("fields") or [{}]:
            lines.append(
                head
                + [field.get(name, "") for name in ("field", "before", "batch", "now")]
                + [row["message"]]
            )
    return lines


def preview_file(document: dict[str, Any], *, upload_encoding: str) -> bytes:
    """The preview as a CSV file (``preview_lines``)."""
    data, _ = write_download(
        PREVIEW_HEADER, preview_lines(document), upload_encoding=upload_encoding
    )
    return data


def _scheduled(connection: Connection, batch_id: str) -> int:
    return connection.scalar(
        select(func.count()).where(
            OutboxMessage.batch_id == batch_id, OutboxMessage.state == "scheduled"
        )
    ) or 0  # fmt: skip
