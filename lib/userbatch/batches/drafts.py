"""Drafts: an operator's checked file being fixed, kept on the server as it happens.

One draft per operator holds the uploaded file (sealed with the installation's key, like a
stored batch's passwords), how to read it, the working group, the grid's page and filter,
and every grid edit in order (``DraftEdit`` rows, sealed too: an edit may be a password),
with what the cells held before it, so that undo and redo survive a restore (``History``).
Restoring reads the file again, checks it against the database as it is now and replays the
edits: the same rows and counts as when it was left — unless the database changed meanwhile,
which the digest of every row's outcome tells (``Restored.changed_meanwhile``). Executing a
draft stores its batch and ends it; the worker's maintenance removes drafts left untouched
for ``draft_days``.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import Engine, delete, func, select, update

from userbatch.batches.digest import digest
from userbatch.check import progress
from userbatch.check.fixes import Cells
from userbatch.check.run import check_file, recheck
from userbatch.check.state import CheckedSheet, CheckResult
from userbatch.crypto.vault import seal, seal_bytes, unseal, unseal_bytes
from userbatch.db import session
from userbatch.directory.auth import OperatorInfo
from userbatch.directory.groups import GroupInfo, groups_in_scope
from userbatch.errors import CsvFileError
from userbatch.models import utcnow
from userbatch.models.drafts import Draft, DraftEdit, DraftUpload
from userbatch.settings import Settings

Kind = Literal["edit", "undo", "redo"]


@dataclass
class Step:
    """One edit that can be undone: the cells it set and what they held before."""

    cells: Cells
    before: Cells


@dataclass
class History:
    """The draft's undo and redo: the steps to undo (the last one last) and to redo."""

    undo: list[Step] = field(default_factory=list)
    redo: list[Step] = field(default_factory=list)

    def took(self, kind: Kind, step: Step | None = None) -> None:
        """Follow one saved edit: a new edit (``step``, None for rows deleted) can be undone
        and ends what could be redone; an undo moves its step to redo, a redo back."""
        if kind == "undo":
            if self.undo:
                self.redo.append(self.undo.pop())
        elif kind == "redo":
            if self.redo:
                self.undo.append(self.redo.pop())
        elif step is not None:
            self.undo.append(step)
            self.redo.clear()


@dataclass(frozen=True)
class DraftFile:
    """The uploaded file of a draft and how it is read."""

    file_name: str
    data: bytes
    batch_id: str  # of the batch that executing the draft stores
    encoding: str | None = None  # chosen by the operator; None: detected
    delimiter: str | None = None


@dataclass
class Restored:
    """A draft checked again, with its edits replayed."""

    draft_id: int
    source: DraftFile
    result: CheckedSheet
    edits: int  # edits saved (and replayed)
    changes: int  # cells edited and rows deleted
    page: int
    only_errors: bool
    changed_meanwhile: bool  # the database changed since the draft was saved
    history: History


def save_draft(
    engine: Engine,
    settings: Settings,
    operator: OperatorInfo,
    source: DraftFile,
    result: CheckedSheet,
) -> int:
    """``source`` just checked as ``result`` becomes the operator's draft, in place of any
    other; returns its id."""
    now = utcnow()
    with session(engine) as db, db.begin():
        db.execute(delete(Draft).where(Draft.operator_id == operator.id))
        draft = Draft(
            operator_id=operator.id, batch_id=source.batch_id, file_name=source.file_name,
            encoding=source.encoding, delimiter=source.delimiter,
            group_id=result.options.working_group.id, blank=result.options.blank,
            complete=result.options.complete, page=1, only_errors=False, edits=0, changes=0,
            digest=digest(result), created_at=now, updated_at=now,
        )  # fmt: skip
        db.add(draft)
        db.flush()
        db.add(DraftUpload(draft_id=draft.id, sealed=seal_bytes(settings, source.data)))
        return draft.id


def add_edit(
    engine: Engine,
    settings: Settings,
    draft_id: int,
    *,
    cells: Cells,
    deleted: list[int],
    result: CheckResult,
    before: Cells | None = None,
    kind: Kind = "edit",
) -> int:
    """Append one grid edit (after ``result`` took it), with what its cells held ``before``
    (an edit's) or which step it undid or redid (``kind``); returns the draft's edit count.

    Raises ``LookupError`` when the draft is gone (discarded or executed meanwhile).
    """
    edit = {"cells": cells, "deleted": deleted, "before": before or {}, "kind": kind}
    sealed = seal(settings, json.dumps(edit))
    changes = sum(map(len, cells.values())) + len(deleted)
    with session(engine) as db, db.begin():
        count = db.scalar(
            update(Draft)
            .where(Draft.id == draft_id)
            .values(
                edits=Draft.edits + 1, changes=Draft.changes + changes, digest=digest(result),
                updated_at=utcnow(),
            )
            .returning(Draft.edits)
        )  # fmt: skip
        if count is None:
            raise LookupError(f"draft {draft_id} is gone")
        db.add(DraftEdit(draft_id=draft_id, seq=count, sealed=sealed))
        return int(count)


def set_place(engine: Engine, draft_id: int, *, page: int, only_errors: bool) -> None:
    """Remember the grid's page and "Show only errors"."""
    with session(engine) as db, db.begin():
        db.execute(
            update(Draft)
            .where(Draft.id == draft_id)
            .values(page=page, only_errors=only_errors, updated_at=utcnow())
        )


def set_options(engine: Engine, draft_id: int, result: CheckResult) -> None:
    """Remember the options ``result`` was checked with: the working group (the sidebar's
    choice), what blank cells do, and whether the file is a complete list."""
    options = result.options
    with session(engine) as db, db.begin():
        db.execute(
            update(Draft)
            .where(Draft.id == draft_id)
            .values(
                group_id=options.working_group.id, blank=options.blank,
                complete=options.complete, digest=digest(result), updated_at=utcnow(),
            )
        )  # fmt: skip


def draft_version(engine: Engine, operator_id: int) -> tuple[int, int] | None:
    """The operator's draft's id and edit count (None: no draft): what a copy in memory is
    compared with."""
    with session(engine) as db:
        row = db.execute(
            select(Draft.id, Draft.edits).where(Draft.operator_id == operator_id)
        ).one_or_none()
    return None if row is None else (row[0], row[1])


def draft_changes(engine: Engine, operator_id: int) -> int | None:
    """The cells edited and rows deleted in the operator's draft (None: no draft)."""
    with session(engine) as db:
        return db.scalar(select(Draft.changes).where(Draft.operator_id == operator_id))


def restore_draft(
    engine: Engine,
    settings: Settings,
    operator: OperatorInfo,
    report: progress.Report = progress.quiet,
) -> Restored | None:
    """The operator's draft read and checked again (each step told to ``report``) with its
    edits replayed; None without one.

    A file that can no longer be read (the input field settings changed, say) ends the
    draft and raises its ``CsvFileError``.
    """
    with session(engine) as db:
        draft = db.scalars(select(Draft).where(Draft.operator_id == operator.id)).one_or_none()
        if draft is None:
            return None
        edits = db.scalars(
            select(DraftEdit.sealed).where(DraftEdit.draft_id == draft.id).order_by(DraftEdit.seq)
        ).all()
        sealed_file = db.get_one(DraftUpload, draft.id).sealed
        db.expunge(draft)
    source = DraftFile(
        draft.file_name, unseal_bytes(settings, sealed_file), draft.batch_id, draft.encoding,
        draft.delimiter,
    )  # fmt: skip
    try:
        result = check_file(
            engine, settings, source.data, file_name=source.file_name,
            working_group=_group(engine, operator, draft.group_id),
            scope_path=operator.scope_path, encoding=source.encoding, delimiter=source.delimiter,
            blank=draft.blank, complete=draft.complete, report=report,
        )  # fmt: skip
    except CsvFileError:
        discard_draft(engine, operator.id)
        raise
    history = History()
    for sealed in edits:
        edit: dict[str, Any] = json.loads(unseal(settings, sealed))
        cells = {int(row): values for row, values in edit["cells"].items()}
        recheck(result, cells, [int(row) for row in edit["deleted"]])
        before = {int(row): values for row, values in edit.get("before", {}).items()}
        history.took(edit.get("kind", "edit"), Step(cells, before) if cells else None)
    return Restored(
        draft_id=draft.id, source=source, result=result, edits=len(edits),
        changes=draft.changes, page=draft.page, only_errors=draft.only_errors,
        changed_meanwhile=digest(result) != draft.digest, history=history,
    )  # fmt: skip


def _group(engine: Engine, operator: OperatorInfo, group_id: int | None) -> GroupInfo:
    """The draft's working group, or the operator's first one when it is gone or out of
    their scope now."""
    groups = groups_in_scope(engine, operator.scope_path)
    return next((group for group in groups if group.id == group_id), groups[0])


def discard_draft(engine: Engine, operator_id: int, *, draft_id: int | None = None) -> None:
    """End the operator's draft (only the one with ``draft_id``, when given)."""
    statement = delete(Draft).where(Draft.operator_id == operator_id)
    if draft_id is not None:
        statement = statement.where(Draft.id == draft_id)
    with session(engine) as db, db.begin():
        db.execute(statement)


def remove_old_drafts(engine: Engine, settings: Settings, *, now: dt.datetime | None = None) -> int:
    """The worker's maintenance: remove drafts untouched for ``draft_days``; how many."""
    before = (now or utcnow()) - dt.timedelta(days=settings.draft_days)
    with session(engine) as db, db.begin():
        old = db.scalar(select(func.count()).select_from(Draft).where(Draft.updated_at < before))
        db.execute(delete(Draft).where(Draft.updated_at < before))
    return int(old or 0)
