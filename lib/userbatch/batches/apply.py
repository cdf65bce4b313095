"""Applying a stored batch: in chunks, one transaction each, with Core bulk statements.

Each chunk re-checks its rows against the database as it is now (SPEC §5): a row that has
become invalid since the check, or whose user appeared or vanished meanwhile, fails alone
with its message. A chunk writes users, memberships, invitations, the rows' outcomes and the
batch's counters in one transaction, so a batch that is run again continues with the rows
still pending and changes nothing twice; for the same reason a chunk that meets a database
blip (a dropped connection, a locked file) is simply run again a moment later.
"""

from __future__ import annotations

import datetime as dt
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import pandas as pd
from sqlalchemy import Connection, Engine, bindparam, delete, func, insert, select, update

from userbatch.check.checker import CheckOptions, CheckResult, RowResult, check_sheet
from userbatch.check.lookup import email_key
from userbatch.check.rules import STATUS_ALIASES, parse_date, shown, split_multi
from userbatch.crypto.passwords import hash_password, is_argon2_hash
from userbatch.crypto.vault import unseal
from userbatch.db import insert_ignoring_conflicts, retry_blips, session
from userbatch.directory.auth import OperatorInfo, get_operator
from userbatch.directory.fields import ColumnSpec, load_columns
from userbatch.directory.groups import GroupInfo, in_scope, in_subtree_clause, organisation_name
from userbatch.files.csvfile import Sheet
from userbatch.mail.render import gets_invitation, invitation_variables, render
from userbatch.mail.template_check import custom_keys
from userbatch.models import Batch, BatchRow, Group, Membership, OutboxMessage, User, utcnow
from userbatch.settings import Settings

CHUNK_ROWS = 5000
# Rows with passwords cost ~20 ms each to hash: smaller chunks keep transactions short and
# progress moving.
PASSWORD_CHUNK_ROWS = 100
_TAKEN = (
    "Another batch or an operator created a user with this login ID or e-mail while this "
    "batch ran; upload the row again to update that user."
)
_GENERATED_ID_ALPHABET = string.ascii_lowercase + string.digits


class PendingRow(NamedTuple):
    """What applying a stored row reads of it (plain columns: no ORM objects)."""

    row_no: int
    action: str
    key: str
    values: dict[str, str]
    secret: str | None


@dataclass
class ChunkOutcome:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    outcomes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def done(self) -> int:
        return self.created + self.updated + self.unchanged + self.failed


def generated_login_id() -> str:
    """A random login ID for a new user when login IDs are not in use."""
    return "u" + "".join(secrets.choice(_GENERATED_ID_ALPHABET) for _ in range(11))


def apply_batch(
    engine: Engine,
    settings: Settings,
    batch_id: str,
    *,
    chunk_rows: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Batch:
    """Apply the batch's pending rows chunk by chunk, here; returns the finished batch.

    (A worker fans the chunks out to several workers instead; see ``jobs``.)
    """
    total = start_batch(engine, batch_id)
    for numbers in pending_chunks(engine, batch_id, chunk_rows=chunk_rows):
        done = apply_chunk(engine, settings, batch_id, numbers)
        if progress:
            progress(done, total)
    return finish_batch(engine, batch_id)


@retry_blips
def start_batch(engine: Engine, batch_id: str) -> int:
    """Mark the batch started; returns its number of rows."""
    with session(engine) as db, db.begin():
        batch = db.get_one(Batch, batch_id, with_for_update=True)
        batch.state = "started"
        batch.started_at = batch.started_at or utcnow()
        batch.error = None
        return batch.total


@retry_blips
def pending_chunks(
    engine: Engine, batch_id: str, *, chunk_rows: int | None = None
) -> list[list[int]]:
    """The row numbers still pending, in chunks (smaller ones when rows carry passwords)."""
    with session(engine) as db:
        rows = db.execute(
            select(BatchRow.row_no, BatchRow.secret.is_not(None))
            .where(BatchRow.batch_id == batch_id, BatchRow.outcome == "pending")
            .order_by(BatchRow.row_no)
        ).all()
    if chunk_rows is None:
        chunk_rows = PASSWORD_CHUNK_ROWS if any(sealed for _, sealed in rows) else CHUNK_ROWS
    numbers = [row_no for row_no, _ in rows]
    return [numbers[i : i + chunk_rows] for i in range(0, len(numbers), chunk_rows)]


@retry_blips
def finish_batch(engine: Engine, batch_id: str) -> Batch:
    """Mark the batch finished, or failed when rows are still pending (a chunk failed)."""
    with session(engine) as db, db.begin():
        batch = db.get_one(Batch, batch_id, with_for_update=True)
        pending = db.scalar(
            select(func.count()).where(BatchRow.batch_id == batch_id, BatchRow.outcome == "pending")
        )
        if pending:
            batch.state = "failed"
            batch.error = batch.error or (
                f"{pending} row(s) were not applied because a part of the batch failed; "
                "Retry applies them."
            )
        else:
            batch.state = "finished"
        batch.finished_at = utcnow()
        return batch


@retry_blips
def apply_chunk(engine: Engine, settings: Settings, batch_id: str, row_numbers: list[int]) -> int:
    """Re-check and apply the rows of the batch with these numbers that are still pending,
    in one transaction; returns the batch's rows done. A chunk applied already (or being
    applied by another worker) is left alone."""
    with session(engine) as db:
        batch = db.get_one(Batch, batch_id)
        group = db.get_one(Group, batch.group_id)
        rows = [
            PendingRow(*row)
            for row in db.execute(
                select(*(getattr(BatchRow, name) for name in PendingRow._fields))
                .where(
                    BatchRow.batch_id == batch_id,
                    BatchRow.row_no.in_(row_numbers),
                    BatchRow.outcome == "pending",
                )
                .order_by(BatchRow.row_no)
            )
        ]
    working = GroupInfo(group.id, group.name, group.path)
    operator = get_operator(engine, batch.operator_id)
    refusal = _refusal(operator, working)
    scope_path = operator.scope_path if operator else ""
    columns = _columns(engine, batch)
    result = None
    if rows and not refusal:
        result = _recheck(engine, batch, rows, columns, working, scope_path)
    hashes = password_hashes(settings, rows) if result is not None else {}
    outcome = ChunkOutcome()
    with engine.begin() as connection:
        # Claim the rows first: whoever claims them applies them, exactly once.
        claimed = connection.execute(
            update(BatchRow)
            .where(
                BatchRow.batch_id == batch_id,
                BatchRow.row_no.in_([row.row_no for row in rows]),
                BatchRow.outcome == "pending",
            )
            .values(outcome="applying")
        ).rowcount
        if not rows or claimed != len(rows):
            connection.rollback()
            return _done(engine, batch_id)
        if result is None:
            outcome.failed = len(rows)
            outcome.outcomes = [_outcome(row, "failed", refusal, None) for row in rows]
        else:
            writer = _Writer(settings, batch, columns, result, working, scope_path)
            writer.hashes = hashes
            writer.sort(rows, outcome)
            writer.write(connection, outcome)
        connection.execute(
            update(BatchRow)
            .where(BatchRow.batch_id == batch_id, BatchRow.row_no == bindparam("r_row"))
            .values(
                outcome=bindparam("r_outcome"),
                message=bindparam("r_message"),
                user_id=bindparam("r_user"),
                secret=None,
            ),
            outcome.outcomes,
        )
        connection.execute(
            update(Batch)
            .where(Batch.id == batch_id)
            .values(
                done=Batch.done + outcome.done,
                created=Batch.created + outcome.created,
                updated=Batch.updated + outcome.updated,
                unchanged=Batch.unchanged + outcome.unchanged,
                failed=Batch.failed + outcome.failed,
            )
        )
    return _done(engine, batch_id)


def password_hashes(settings: Settings, rows: list[PendingRow]) -> dict[int, str]:
    """Each sealed password unsealed and hashed (argon2id hashes kept), by row number.

    This is the slow part (~20 ms a row), done before the chunk's transaction so that
    workers hash in parallel instead of waiting for each other's database locks.
    """
    hashes = {}
    for row in rows:
        if row.secret:
            password = unseal(settings, row.secret)
            hashes[row.row_no] = password if is_argon2_hash(password) else hash_password(password)
    return hashes


def _done(engine: Engine, batch_id: str) -> int:
    with session(engine) as db:
        return db.scalar(select(Batch.done).where(Batch.id == batch_id)) or 0


def _columns(engine: Engine, batch: Batch) -> list[ColumnSpec]:
    current = {column.key: column for column in load_columns(engine)}
    return [current[key] for key in batch.options.get("keys", []) if key in current]


def _refusal(operator: OperatorInfo | None, working: GroupInfo) -> str | None:
    """Why none of a chunk's rows may be applied, judged by the submitting operator's rights
    as they are now (an administrator may have disabled the operator or narrowed their
    groups since the check)."""
    if operator is None:
        return (
            "The operator who submitted this batch was disabled after the check; upload the "
            "file again as an enabled operator."
        )
    if not in_scope(working.path, operator.scope_path):
        return (
            f"The working group '{shown(working.path)}' is no longer among the groups of "
            f"'{operator.login}', who submitted this batch."
        )
    return None


def _recheck(
    engine: Engine,
    batch: Batch,
    rows: list[PendingRow],
    columns: list[ColumnSpec],
    group: GroupInfo,
    scope_path: str,
) -> CheckResult:
    checked_columns = [column for column in columns if column.key != "password"]
    keys = [column.key for column in checked_columns]
    cells = pd.DataFrame(
        [[row.values.get(key, "") for key in keys] for row in rows],
        columns=keys,
        index=[row.row_no for row in rows],
        dtype=str,
    )
    sheet = Sheet(
        file_name=batch.file_name, sha256=batch.file_sha256, encoding=batch.encoding,
        delimiter="", columns=checked_columns, labels=[c.label for c in checked_columns],
        cells=cells,
    )  # fmt: skip
    options = CheckOptions(columns=columns, working_group=group, scope_path=scope_path)
    return check_sheet(engine, sheet, options)


def _problem(row: PendingRow, checked: RowResult) -> str | None:
    if checked.status == "error":
        errors = [issue.message for issue in checked.issues if issue.level == "error"]
        return "Since the check: " + " ".join(errors)
    if row.action == "new" and checked.status != "new":
        return (
            f"A user with the key '{row.key}' was created after the check; upload the file "
            "again to update that user."
        )
    if row.action != "new" and checked.status == "new":
        return f"The user '{row.key}' was deleted after the check."
    return None


def _outcome(
    row: PendingRow, outcome: str, message: str | None, user_id: int | None
) -> dict[str, Any]:
    return {"r_row": row.row_no, "r_outcome": outcome, "r_message": message, "r_user": user_id}


def user_fields(values: dict[str, str], columns: list[ColumnSpec]) -> dict[str, Any]:
    """The users-table values of a checked row's cells (only the columns the file has)."""
    fields: dict[str, Any] = {}
    for column in columns:
        if column.custom or column.key not in values or column.key in ("password", "belong_to"):
            continue
        text = values[column.key]
        if column.key in ("name", "login_id"):
            fields[column.key] = text
        elif column.key == "email":
            fields["email"] = text or None
            fields["email_key"] = email_key(text) if text else None
        elif column.key == "status":
            if text:
                fields["status"] = STATUS_ALIASES[text.casefold()]
        elif column.key == "expiration_date":
            fields["expiration_date"] = parse_date(text) if text else None
        else:
            fields[column.key] = text or None
    return fields


def custom_values(values: dict[str, str], columns: list[ColumnSpec]) -> dict[str, Any]:
    """The custom-field values of a row: text, or a list for checkboxes; blanks dropped."""
    custom: dict[str, Any] = {}
    for column in columns:
        if column.custom and values.get(column.key):
            text = values[column.key]
            custom[column.key] = split_multi(text) if column.type == "checkbox" else text
    return custom


class _Writer:
    """Collects a chunk's new users and updates, then writes them with bulk statements."""

    def __init__(
        self,
        settings: Settings,
        batch: Batch,
        columns: list[ColumnSpec],
        result: CheckResult,
        group: GroupInfo,
        scope_path: str,
    ) -> None:
        self.settings = settings
        self.batch = batch
        self.columns = columns
        self.result = result
        self.group = group
        self.scope_path = scope_path
        self.new: list[tuple[PendingRow, dict[str, str]]] = []
        self.updates: list[tuple[PendingRow, RowResult, dict[str, str]]] = []
        self.hashes: dict[int, str] = {}

    def _password(self, row: PendingRow) -> str | None:
        return self.hashes.get(row.row_no)

    def sort(self, rows: list[PendingRow], outcome: ChunkOutcome) -> None:
        """Sort the re-checked rows into new users, updates, failures and unchanged rows."""
        values = self.result.records()
        checked_rows = {checked.row: checked for checked in self.result.ordered()}
        for row in rows:
            checked = checked_rows[row.row_no]
            problem = _problem(row, checked)
            if problem:
                outcome.failed += 1
                outcome.outcomes.append(_outcome(row, "failed", problem, checked.user_id))
            elif checked.status == "new":
                self.new.append((row, values[row.row_no]))
            elif checked.status == "update":
                self.updates.append((row, checked, values[row.row_no]))
            else:
                outcome.unchanged += 1
                outcome.outcomes.append(_outcome(row, "unchanged", None, checked.user_id))

    def write(self, connection: Connection, outcome: ChunkOutcome) -> None:
        now = utcnow()
        group_ids = self.result.lookup.group_ids
        memberships: dict[str, list[str]] = {}
        if self.new:
            users = []
            for row, values in self.new:
                fields = user_fields(values, self.columns)
                fields.setdefault("login_id", "")
                if not fields["login_id"]:
                    fields["login_id"] = generated_login_id()
                fields.setdefault("status", "valid")
                users.append(
                    {
                        "name": "", "display_name": None, "email": None, "email_key": None,
                        "department": None, "position": None, "expiration_date": None,
                        **fields,
                        "password_hash": self._password(row),
                        "custom": custom_values(values, self.columns),
                        "created_at": now, "updated_at": now,
                    }
                )  # fmt: skip
                # Everyone belongs to the organisation: the root needs no membership row.
                default = [self.group.path] if self.group.path else []
                memberships[fields["login_id"]] = (
                    split_multi(values.get("belong_to", "")) or default
                )
            # A user created by someone else since the re-check wins; that row fails alone.
            connection.execute(insert_ignoring_conflicts(connection, User), users)
            ours = {
                login: user_id
                for login, user_id, created_at in connection.execute(
                    select(User.login_id, User.id, User.created_at).where(
                        User.login_id.in_([user["login_id"] for user in users])
                    )
                )
                if created_at == now
            }
            rows = [
                {"user_id": ours[login], "group_id": group_ids[path]}
                for login, paths in memberships.items()
                if login in ours
                for path in paths
            ]
            if rows:
                connection.execute(insert(Membership), rows)
            for (row, _), user in zip(self.new, users, strict=True):
                if user["login_id"] in ours:
                    outcome.created += 1
                    outcome.outcomes.append(_outcome(row, "created", None, ours[user["login_id"]]))
                else:
                    outcome.failed += 1
                    outcome.outcomes.append(_outcome(row, "failed", _TAKEN, None))
            if self.batch.options.get("invite"):
                created = [user for user in users if user["login_id"] in ours]
                self._invite(connection, created, ours, memberships, now)
        if self.updates:
            self._update(connection, now, outcome)

    def _update(self, connection: Connection, now: dt.datetime, outcome: ChunkOutcome) -> None:
        group_ids = self.result.lookup.group_ids
        ids = [checked.user_id for _, checked, _ in self.updates]
        customs: dict[int, dict[str, Any]] = {
            user_id: custom
            for user_id, custom in connection.execute(
                select(User.id, User.custom).where(User.id.in_(ids))
            )
        }
        by_shape: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        new_memberships: list[dict[str, int]] = []
        regrouped: list[int] = []
        for row, checked, values in self.updates:
            assert checked.user_id is not None
            fields = user_fields(values, self.columns)
            fields.pop("login_id", None)
            password = self._password(row)
            if password:
                fields["password_hash"] = password
            if any(column.custom for column in self.columns):
                custom = dict(customs.get(checked.user_id) or {})
                for column in self.columns:
                    if column.custom:
                        custom.pop(column.key, None)
                custom.update(custom_values(values, self.columns))
                fields["custom"] = custom
            fields["updated_at"] = now
            by_shape.setdefault(tuple(sorted(fields)), []).append(
                {"u_id": checked.user_id, **{f"u_{k}": v for k, v in fields.items()}}
            )
            paths = split_multi(values.get("belong_to", ""))
            if paths:
                regrouped.append(checked.user_id)
                new_memberships += [
                    {"user_id": checked.user_id, "group_id": group_ids[path]} for path in paths
                ]
            outcome.updated += 1
            outcome.outcomes.append(_outcome(row, "updated", None, checked.user_id))
        for shape, params in by_shape.items():
            connection.execute(
                update(User)
                .where(User.id == bindparam("u_id"))
                .values({key: bindparam(f"u_{key}") for key in shape}),
                params,
            )
        if regrouped:
            # "Belong to" replaces the groups the operator may see; a manager's batch keeps a
            # user's groups outside the manager's scope.
            replaced = delete(Membership).where(Membership.user_id.in_(regrouped))
            if self.scope_path:
                replaced = replaced.where(
                    Membership.group_id.in_(
                        select(Group.id).where(in_subtree_clause(self.scope_path))
                    )
                )
            connection.execute(replaced)
            connection.execute(insert(Membership), new_memberships)

    def _invite(
        self,
        connection: Connection,
        users: list[dict[str, Any]],
        ids: dict[str, int],
        memberships: dict[str, list[str]],
        now: dt.datetime,
    ) -> None:
        options = self.batch.options
        send_at = dt.datetime.fromisoformat(options["send_at"])
        site = organisation_name(self.result.lookup.engine) or "userbatch"
        # A user without a value in a custom field reads it as blank, not as unknown.
        keys = custom_keys(self.result.lookup.engine)
        messages = []
        for user in users:
            if not gets_invitation(user):
                continue
            variables = invitation_variables(
                user, memberships[user["login_id"]], site_name=site,
                base_url=self.settings.base_url, custom_keys=keys,
            )  # fmt: skip
            rendered = render(options["subject"], options["body"], variables)
            messages.append(
                {
                    "batch_id": self.batch.id, "user_id": ids[user["login_id"]],
                    "recipient": user["email"], "subject": rendered.subject,
                    "body": rendered.body, "send_at": send_at, "state": "scheduled",
                    "attempts": 0, "created_at": now,
                }
            )  # fmt: skip
        if messages:
            connection.execute(insert(OutboxMessage), messages)
