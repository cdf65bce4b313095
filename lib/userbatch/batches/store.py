"""Stored batches: storing a checked sheet, the batch's state, and its documents.

A batch is stored only when no row has an error; each row keeps the checked text of its
cells (the password sealed, see ``vault``) and the action the check decided.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, insert, select

from userbatch.batches.apply import custom_values, user_fields
from userbatch.check.checker import CheckResult
from userbatch.check.rules import STATUS_ALIASES, split_multi
from userbatch.crypto.vault import seal
from userbatch.db import session
from userbatch.directory.auth import OperatorInfo
from userbatch.directory.fields import MESSAGE_LABEL, RESULT_LABEL
from userbatch.directory.groups import GroupInfo, in_scope, organisation_name
from userbatch.errors import PolicyError
from userbatch.files.csvfile import download_encoding, write_table
from userbatch.mail.render import Rendered, gets_invitation, invitation_variables, render
from userbatch.mail.template_check import custom_keys
from userbatch.models import Batch, BatchRow, EmailTemplate, Group, Operator, OutboxMessage
from userbatch.settings import Settings

ACTIVE_STATES = ("queued", "scheduled", "deferred", "started")
_INSERT_CHUNK = 5000


@dataclass(frozen=True)
class BatchProgress:
    id: str
    file_name: str
    state: str
    done: int
    total: int


@dataclass(frozen=True)
class Invitation:
    """What the operator chose in the Execute dialog about invitation e-mails."""

    template_id: int
    subject: str
    body: str
    send_at: dt.datetime  # aware


def store_batch(
    engine: Engine,
    settings: Settings,
    result: CheckResult,
    *,
    operator: OperatorInfo,
    working_group: GroupInfo,
    invitation: Invitation | None = None,
) -> str:
    """Store a checked sheet as a batch ready to run; returns its id.

    Raises ``PolicyError`` while any row has an error, or for a working group outside the
    operator's groups (blank "Belong to" would put new users there).
    """
    if not in_scope(working_group.path, operator.scope_path):
        raise PolicyError(
            f"The working group '{working_group.path}' is outside your groups "
            f"('{operator.scope_path}' and below)."
        )
    if result.has_errors:
        errors = result.counts["error"]
        raise PolicyError(f"{errors} row(s) still have errors; fix or delete them first.")
    batch_id = uuid.uuid4().hex
    sheet = result.sheet
    options: dict[str, Any] = {
        "keys": [column.key for column in sheet.columns],
        "invite": invitation is not None,
        "scope_path": operator.scope_path,
    }
    if invitation is not None:
        options |= {
            "template_id": invitation.template_id,
            "subject": invitation.subject,
            "body": invitation.body,
            "send_at": invitation.send_at.astimezone(dt.UTC).isoformat(),
        }
    records = result.records()
    rows = []
    for checked in result.ordered():
        values = records[checked.row]
        password = values.pop("password", "")
        rows.append(
            {
                "batch_id": batch_id,
                "row_no": checked.row,
                "action": checked.status,
                "key": checked.key,
                "values": values,
                "secret": seal(settings, password) if password else None,
                "changes": {label: list(change) for label, change in checked.changes.items()},
                "outcome": "pending",
                "message": None,
                "user_id": checked.user_id,
            }
        )
    with session(engine) as db, db.begin():
        db.add(
            Batch(
                id=batch_id,
                file_name=sheet.file_name,
                file_sha256=sheet.sha256,
                encoding=sheet.encoding,
                columns=list(sheet.labels),
                operator_id=operator.id,
                group_id=working_group.id,
                options=options,
                state="stored",
                total=len(rows),
            )
        )
        db.flush()
        for start in range(0, len(rows), _INSERT_CHUNK):
            db.execute(insert(BatchRow), rows[start : start + _INSERT_CHUNK])
    return batch_id


def invited_rows(result: CheckResult) -> list[int]:
    """The new rows that would get an invitation (Valid, with an e-mail address)."""
    new = result.numbers("new")
    frame = result.values.loc[new]
    blank = [""] * len(new)
    emails = frame["email"].tolist() if "email" in frame.columns else blank
    statuses = frame["status"].tolist() if "status" in frame.columns else blank
    return [
        row
        for row, email, status in zip(new, emails, statuses, strict=True)
        if gets_invitation(
            {"email": email, "status": STATUS_ALIASES.get(status.casefold(), "valid")}
        )
    ]


def _user(values: dict[str, str], result: CheckResult) -> dict[str, Any]:
    user = user_fields(values, result.options.columns)
    user.setdefault("status", "valid")
    user.setdefault("login_id", "")
    user["login_id"] = user["login_id"] or "(generated)"
    user["custom"] = custom_values(values, result.options.columns)
    return user


def preview_invitation(
    engine: Engine, settings: Settings, result: CheckResult, *, subject: str, body: str
) -> Rendered | None:
    """The invitation the first invited row would get, or None when no row gets one.

    Raises ``PolicyError`` when the template cannot be rendered.
    """
    rows = invited_rows(result)
    if not rows:
        return None
    values = result.values.loc[rows[0]].to_dict()
    working = result.options.working_group
    groups = split_multi(values.get("belong_to", "")) or ([working.path] if working.path else [])
    variables = invitation_variables(
        _user(values, result), groups, site_name=organisation_name(engine) or "userbatch",
        base_url=settings.base_url,
        custom_keys=custom_keys(engine),
    )  # fmt: skip
    return render(subject, body, variables)


def get_batch(engine: Engine, batch_id: str) -> Batch:
    """The batch; raises ``PolicyError`` when there is none with that id."""
    with session(engine) as db:
        batch = db.get(Batch, batch_id)
    if batch is None:
        raise PolicyError(f"There is no batch with id {batch_id}.")
    return batch


def invitation_counts(engine: Engine, batch_id: str) -> dict[str, int]:
    """The batch's invitations: scheduled (or being sent), sent, failed."""
    with session(engine) as db:
        counts = _invitation_counts(db, [batch_id])
    return counts.get(batch_id, {"scheduled": 0, "sent": 0, "failed": 0})


def job_document(engine: Engine, batch_id: str, *, state: str | None = None) -> dict[str, Any]:
    """The batch's job document (SPEC §8); ``state`` overrides the stored one (RQ's view)."""
    batch = get_batch(engine, batch_id)
    return {
        "id": batch.id,
        "state": state or batch.state,
        "progress": {"done": batch.done, "total": batch.total},
        "counts": {
            "created": batch.created,
            "updated": batch.updated,
            "unchanged": batch.unchanged,
            "failed": batch.failed,
        },
        "invitations": invitation_counts(engine, batch_id),
    }


def default_template(engine: Engine) -> EmailTemplate:
    """The "Invitation" template (or the first one, if it was renamed)."""
    with session(engine) as db:
        template = db.scalars(
            select(EmailTemplate).order_by((EmailTemplate.name != "Invitation"), EmailTemplate.id)
        ).first()
    if template is None:
        raise PolicyError("There is no e-mail template; create one under E-mail templates.")
    return template


def active_batches(engine: Engine, operator_id: int) -> list[BatchProgress]:
    """The operator's batches that are queued or running, newest first."""
    with session(engine) as db:
        rows = db.execute(
            select(Batch.id, Batch.file_name, Batch.state, Batch.done, Batch.total)
            .where(Batch.operator_id == operator_id, Batch.state.in_(ACTIVE_STATES))
            .order_by(Batch.submitted_at.desc())
        ).all()
    return [BatchProgress(*row) for row in rows]


@dataclass(frozen=True)
class BatchSummary:
    """One line of the job history."""

    id: str
    file_name: str
    operator: str
    group: str
    submitted_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    state: str
    done: int
    total: int
    created: int
    updated: int
    unchanged: int
    failed: int
    invitations: dict[str, int]
    error: str | None


def list_batches(
    engine: Engine,
    operator: OperatorInfo,
    *,
    states: list[str] | None = None,
    operator_login: str | None = None,
    limit: int = 200,
) -> list[BatchSummary]:
    """Batches newest first: an admin's view of everyone's (or one operator's), a
    manager's own."""
    query = (
        select(Batch, Operator.login, Group.path)
        .join(Operator, Operator.id == Batch.operator_id)
        .join(Group, Group.id == Batch.group_id)
        .order_by(Batch.submitted_at.desc())
        .limit(limit)
    )
    if not operator.is_admin:
        query = query.where(Batch.operator_id == operator.id)
    elif operator_login:
        query = query.where(Operator.login == operator_login)
    if states:
        query = query.where(Batch.state.in_(states))
    with session(engine) as db:
        rows = db.execute(query).all()
        invitations = _invitation_counts(db, [batch.id for batch, _, _ in rows])
    return [
        BatchSummary(
            batch.id,
            batch.file_name,
            login,
            path,
            batch.submitted_at,
            batch.started_at,
            batch.finished_at,
            batch.state,
            batch.done,
            batch.total,
            batch.created,
            batch.updated,
            batch.unchanged,
            batch.failed,
            invitations.get(batch.id, {"scheduled": 0, "sent": 0, "failed": 0}),
            batch.error,
        )
        for batch, login, path in rows
    ]


def _invitation_counts(db: Any, batch_ids: list[str]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    rows = db.execute(
        select(OutboxMessage.batch_id, OutboxMessage.state, func.count())
        .where(OutboxMessage.batch_id.in_(batch_ids))
        .group_by(OutboxMessage.batch_id, OutboxMessage.state)
    )
    for batch_id, state, count in rows:
        bucket = counts.setdefault(batch_id, {"scheduled": 0, "sent": 0, "failed": 0})
        key = "scheduled" if state in ("scheduled", "sending") else state
        if key in bucket:
            bucket[key] += count
    return counts


def batch_for(engine: Engine, operator: OperatorInfo, batch_id: str) -> Batch:
    """The batch, if this operator may see it; raises ``PolicyError`` otherwise."""
    batch = get_batch(engine, batch_id)
    if not operator.is_admin and batch.operator_id != operator.id:
        raise PolicyError("That batch belongs to another operator.")
    return batch


def row_outcomes(
    engine: Engine, batch_id: str, *, outcome: str | None = None
) -> list[dict[str, Any]]:
    """Each row's outcome: row number, key, action, outcome, message."""
    query = select(
        BatchRow.row_no, BatchRow.key, BatchRow.action, BatchRow.outcome, BatchRow.message
    ).where(BatchRow.batch_id == batch_id)
    if outcome:
        query = query.where(BatchRow.outcome == outcome)
    with session(engine) as db:
        rows = db.execute(query.order_by(BatchRow.row_no)).all()
    return [
        {
            "Row": r.row_no,
            "Key": r.key,
            "Checked as": r.action,
            "Result": r.outcome,
            "Message": r.message or "",
        }
        for r in rows
    ]


def results_file(engine: Engine, batch_id: str) -> bytes:
    """The uploaded columns of every row plus Result and Message (passwords left blank)."""
    batch = get_batch(engine, batch_id)
    keys = batch.options.get("keys", [])
    with session(engine) as db:
        rows = db.execute(
            select(BatchRow.values, BatchRow.outcome, BatchRow.message)
            .where(BatchRow.batch_id == batch_id)
            .order_by(BatchRow.row_no)
        ).all()
    body = (
        [str(values.get(key, "")) for key in keys] + [outcome, message or ""]
        for values, outcome, message in rows
    )
    return write_table(
        [*batch.columns, RESULT_LABEL, MESSAGE_LABEL],
        body,
        encoding=download_encoding(batch.encoding),
    )


def batch_invitations(engine: Engine, batch_id: str) -> list[dict[str, Any]]:
    with session(engine) as db:
        rows = db.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.batch_id == batch_id)
            .order_by(OutboxMessage.id)
        ).all()
    return [
        {"Recipient": m.recipient, "State": m.state, "Send at": m.send_at, "Sent at": m.sent_at,
         "Attempts": m.attempts, "Last error": m.last_error or ""}
        for m in rows
    ]  # fmt: skip


def batch_states(engine: Engine, batch_ids: list[str]) -> dict[str, tuple[str, str]]:
    """The state and file name of these batches."""
    with session(engine) as db:
        rows = db.execute(
            select(Batch.id, Batch.state, Batch.file_name).where(Batch.id.in_(batch_ids))
        )
        return {batch_id: (state, name) for batch_id, state, name in rows}
