"""Stored batches: storing a checked sheet, the batch's state, and its documents.

A batch is stored only when no row has an error; each row keeps the checked text of its
cells (the password sealed, see ``vault``) and the action the check decided.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, insert, select

from userbatch.apply import custom_values, user_fields
from userbatch.auth import OperatorInfo
from userbatch.check import CheckResult
from userbatch.db import session
from userbatch.errors import PolicyError
from userbatch.groups import GroupInfo, organisation_name
from userbatch.mail import Rendered, gets_invitation, invitation_variables, render
from userbatch.models import Batch, BatchRow, EmailTemplate, OutboxMessage
from userbatch.rules import STATUS_ALIASES, split_multi
from userbatch.settings import Settings
from userbatch.vault import seal

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

    Raises ``PolicyError`` while any row has an error.
    """
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
    records = result.values.to_dict("index")
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
    new = [row.row for row in result.ordered() if row.status == "new"]
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
    with session(engine) as db:
        states = list(
            db.scalars(select(OutboxMessage.state).where(OutboxMessage.batch_id == batch_id))
        )
    return {
        "scheduled": sum(state in ("scheduled", "sending") for state in states),
        "sent": states.count("sent"),
        "failed": states.count("failed"),
    }


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
