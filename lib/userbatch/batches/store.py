"""Storing a checked sheet as a batch, and what the Execute dialog shows before it does.

A batch is stored only when no row has an error; each row keeps the checked text of its
cells (the password sealed, see ``vault``) and the action the check decided.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from userbatch.batches.guard import mass_change, require_confirmation
from userbatch.batches.records import groups_of, new_user
from userbatch.check.rules import STATUS_ALIASES
from userbatch.check.state import SUSPEND, CheckedSheet, CheckResult, suspension_changes
from userbatch.crypto.vault import seal
from userbatch.db import insert_plain, session
from userbatch.directory.auth import OperatorInfo
from userbatch.directory.fields import custom_keys
from userbatch.directory.groups import GroupInfo, in_scope, organisation_name
from userbatch.errors import Conflict, Invalid, NotAllowed
from userbatch.i18n import Plural, Text
from userbatch.mail.invitations import gets_invitation, invitation_variables
from userbatch.mail.render import Rendered, render
from userbatch.mail.versions import default_template, template_named
from userbatch.models import Batch, BatchRow, BatchState
from userbatch.settings import Settings


def new_batch_id() -> str:
    """A fresh batch id (random, 32 hex digits)."""
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Invitation:
    """What the operator chose in the Execute dialog about invitation e-mails."""

    template_id: int
    subject: str
    body: str
    send_at: dt.datetime  # aware


def choose_invitation(
    engine: Engine,
    *,
    template: str | None = None,
    template_language: str | None = None,
    send_at: dt.datetime | None = None,
) -> Invitation:
    """The invitation of the template named ``template`` (None: the default), in its version
    of ``template_language`` (None: the reader's language, else the version it has), sent at
    ``send_at`` (None: now; naive: this machine's time zone).

    Raises ``NotFound`` for no such template, ``Invalid`` for a language it has no version in.
    """
    chosen = template_named(engine, template) if template else default_template(engine)
    if template_language and template_language not in chosen.languages:
        raise Invalid(
            Text("'{name}' has no version in '{language}' (it has: {languages}).",
                 name=chosen.name, language=template_language,
                 languages=", ".join(chosen.languages))
        )  # fmt: skip
    version = chosen.version(template_language)
    when = send_at or dt.datetime.now(dt.UTC)
    if when.tzinfo is None:
        when = when.astimezone()  # this machine's time zone
    return Invitation(chosen.id, version.subject, version.body, when)


# The options of a batch stored to be executed later: that it waits, and its guard (the
# number of users affected to confirm, and the sentence that says so; None: no guard).
AWAITING, GUARD = "awaiting_execute", "guard"


def invitation_options(invitation: Invitation | None) -> dict[str, Any]:
    """A batch's options for the invitation chosen (None: no invitation)."""
    if invitation is None:
        return {"invite": False}
    return {
        "invite": True,
        "template_id": invitation.template_id,
        "subject": invitation.subject,
        "body": invitation.body,
        "send_at": invitation.send_at.astimezone(dt.UTC).isoformat(),
    }


def store_batch(
    engine: Engine,
    settings: Settings,
    result: CheckedSheet,
    *,
    operator: OperatorInfo,
    working_group: GroupInfo,
    invitation: Invitation | None = None,
    batch_id: str | None = None,
    confirmed: int | None = None,
    awaiting: bool = False,
) -> str:
    """Store a checked sheet as batch ``batch_id`` (a new id when None), ready to run;
    returns its id. ``confirmed`` is the number of users affected the operator typed, which
    a mass change needs (``batches.guard``). An ``awaiting`` batch (the API's) is stored to
    be executed later (``worker.submit.execute_batch``), which chooses the invitation and
    meets the guard: the guard's number is kept with it instead of asked now.

    Raises ``NotAllowed`` for a working group outside the operator's groups (blank "Belong
    to" would put new users there), ``Conflict`` while any row has an error, ``Unconfirmed``
    for a mass change not confirmed with its number.
    """
    if not in_scope(working_group.path, operator.scope_path):
        raise NotAllowed(
            Text("The working group '{group}' is outside your groups ('{scope}' and below).",
                 group=working_group.path, scope=operator.scope_path)
        )  # fmt: skip
    if result.has_errors:
        errors = result.counts["error"]
        raise Conflict(
            Plural("{n} row(s) still have errors; fix or delete them first.",
                   "{n} row(s) still have errors; fix or delete them first.", errors)
        )  # fmt: skip
    change = mass_change(engine, settings, result, operator.scope_path)
    if not awaiting:
        require_confirmation(change, confirmed)
    batch_id = batch_id or new_batch_id()
    sheet = result.sheet
    options: dict[str, Any] = {
        "keys": [column.key for column in sheet.columns],
        "scope_path": operator.scope_path,
        "blank": result.options.blank,
        "complete": result.options.complete,
    }
    if awaiting:
        options[AWAITING] = True
        options[GUARD] = (
            {"affected": change.affected, "sentence": change.sentence} if change else None
        )
    options |= invitation_options(invitation)
    records = result.records()
    rows = []
    for row, status, key, user_id in result.plain_rows():
        values = records[row]
        password = values.pop("password", "")
        changes = result.changes.get(row, {})
        rows.append(
            (
                row, status, key, values, seal(settings, password) if password else None,
                {label: list(change) for label, change in changes.items()}, user_id,
            )
        )  # fmt: skip
    rows += _suspensions(result)
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
                state=BatchState.STORED.value,
                total=len(rows),
            )
        )
        db.flush()
        insert_plain(
            db.connection(), BatchRow.__table__, rows,
            ("row_no", "action", "key", "values", "secret", "changes", "user_id"),
            same={"batch_id": batch_id, "outcome": "pending"},
        )  # fmt: skip
    return batch_id


def _suspensions(result: CheckedSheet) -> list[tuple[Any, ...]]:
    """The rows of the users a complete list leaves out, numbered after the file's last (as
    ``store_batch`` writes them)."""
    missing = result.missing
    first = max(result.numbers(), default=1) + 1
    key = "login_id" if result.by_login else "email"
    return [
        (first + n, SUSPEND, login, {key: login, "name": name}, None,
         suspension_changes(status), user_id)
        for n, (user_id, login, name, status) in enumerate(
            zip(missing.index.tolist(), missing["key"].tolist(), missing["name"].tolist(),
                missing["status"].tolist(), strict=True)
        )
    ]  # fmt: skip


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


def preview_invitation(
    engine: Engine, settings: Settings, result: CheckResult, *, subject: str, body: str
) -> Rendered | None:
    """The invitation the first invited row would get, or None when no row gets one.

    Raises ``Invalid`` when the template cannot be rendered.
    """
    rows = invited_rows(result)
    if not rows:
        return None
    values = result.values.loc[rows[0]].to_dict()
    groups = groups_of(values, result.options.working_group.path)
    user = new_user(values, result.options.columns, login_id=str(Text("(generated)")))
    variables = invitation_variables(
        user, groups, site_name=organisation_name(engine) or "userbatch",
        base_url=settings.base_url, custom_keys=custom_keys(engine),
    )  # fmt: skip
    return render(subject, body, variables)
