"""Writing one re-checked chunk of a batch with bulk Core statements: new users and their
groups, updates with their before-images, the invitations of new users, the suspensions of
a complete list."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, Engine, delete, select, update

from userbatch.batches.chunks import ChunkOutcome, PendingRow, outcome_of
from userbatch.batches.images import CREATED, current_groups, current_users, update_image
from userbatch.batches.records import (
    NEW_USER_DEFAULTS,
    add_memberships,
    custom_values,
    groups_of,
    new_user,
    update_users,
    user_fields,
)
from userbatch.check.rules import split_multi
from userbatch.check.state import BLANK_CLEAR, BLANK_KEEP, CheckResult
from userbatch.db import insert_plain
from userbatch.directory.fields import ColumnSpec
from userbatch.directory.groups import GroupInfo, in_subtree_clause
from userbatch.directory.scope import users_within
from userbatch.i18n import Sentences, Text
from userbatch.i18n.recall import kept
from userbatch.mail.invitations import add_invitations
from userbatch.models import Batch, Group, Membership, User, utcnow
from userbatch.settings import Settings

# A row's outcome is kept as English words (``kept``); the screens read it again in their
# reader's language (``userbatch.i18n.recall``).
_TAKEN = kept(Text(
    "Another batch or an operator created a user with this login ID or e-mail while this "
    "batch ran; upload the row again to update that user."
))  # fmt: skip


# The columns of a new user's record (``records.new_user``) and its password's hash.
_NEW_USER = (*NEW_USER_DEFAULTS, "login_id", "custom", "password_hash")


def _deleted(key: str) -> str:
    return kept(Text("The user '{key}' was deleted after the check.", key=key))


def _problem(row: PendingRow, status: str, result: CheckResult) -> str | None:
    """Why a row re-checked as ``status`` fails, or None."""
    if status == "error":
        issues = result.row(row.row_no).issues
        errors = [issue.message for issue in issues if issue.level == "error"]
        return kept(Text("Since the check: {errors}", errors=Sentences(*errors)))
    if row.action == "new" and status != "new":
        return kept(Text(
            "A user with the key '{key}' was created after the check; upload the file "
            "again to update that user.", key=row.key,
        ))  # fmt: skip
    if row.action != "new" and status == "new":
        return _deleted(row.key)
    return None


class ChunkWriter:
    """Collects a chunk's new users and updates, then writes them with bulk statements."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        batch: Batch,
        columns: list[ColumnSpec],
        result: CheckResult | None,
        group: GroupInfo,
        scope_path: str,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.batch = batch
        self.columns = columns
        self.result = result
        self.group = group
        self.scope_path = scope_path
        self.new: list[tuple[PendingRow, dict[str, str]]] = []
        # Each update's row, the user it is for and its re-checked cells.
        self.updates: list[tuple[PendingRow, int, dict[str, str]]] = []
        self.hashes: dict[int, str] = {}

    def _password(self, row: PendingRow) -> str | None:
        return self.hashes.get(row.row_no)

    def sort(self, rows: list[PendingRow], outcome: ChunkOutcome) -> None:
        """Sort the re-checked rows into new users, updates, failures and unchanged rows."""
        result = self.result
        assert result is not None
        values = result.records()
        # Each row's status and user as the re-check found them, by row number.
        found = {number: (status, user) for number, status, _, user in result.plain_rows()}
        for row in rows:
            status, user_id = found[row.row_no]
            problem = _problem(row, status, result)
            if problem:
                outcome.failed += 1
                outcome.outcomes.append(outcome_of(row.row_no, "failed", problem, user_id))
            elif status == "new":
                self.new.append((row, values[row.row_no]))
            elif status == "update":
                assert user_id is not None  # an update is of a user the re-check found
                self.updates.append((row, user_id, values[row.row_no]))
            else:
                outcome.unchanged += 1
                if user_id == row.user_id:
                    outcome.plainly(row.row_no, "unchanged")
                else:
                    outcome.outcomes.append(outcome_of(row.row_no, "unchanged", None, user_id))

    def suspend(
        self, connection: Connection, rows: list[PendingRow], outcome: ChunkOutcome
    ) -> None:
        """Suspend the users a complete list left out, each status before kept in the row's
        image; a user suspended, deleted or moved out of the working group since is left as
        they are."""
        ids = [row.user_id for row in rows if row.user_id is not None]
        query = users_within(
            select(User.id, User.status).where(User.id.in_(ids)),
            scope_path=self.scope_path, group_path=self.group.path or None,
        ).with_for_update()  # fmt: skip
        statuses: dict[int, str] = dict(connection.execute(query).all())
        due = [user_id for user_id, status in statuses.items() if status != "suspended"]
        if due:
            connection.execute(
                update(User).where(User.id.in_(due)).values(status="suspended", updated_at=utcnow())
            )
        for row in rows:
            status = statuses.get(row.user_id or 0)
            if status is None:
                message = "Deleted, or moved out of the working group, since the check."
                outcome.unchanged += 1
                outcome.outcomes.append(outcome_of(row.row_no, "unchanged", message, row.user_id))
            elif status == "suspended":
                outcome.unchanged += 1
                outcome.plainly(row.row_no, "unchanged")
            else:
                image = {"fields": {"status": [status, "suspended"]}}
                outcome.updated += 1
                outcome.outcomes.append(
                    outcome_of(row.row_no, "suspended", None, row.user_id, image)
                )

    def write(self, connection: Connection, outcome: ChunkOutcome) -> None:
        assert self.result is not None
        now = utcnow()
        group_ids = self.result.lookup.group_ids
        memberships: dict[str, list[str]] = {}
        if self.new:
            users = []
            for row, values in self.new:
                user = new_user(values, self.columns)
                user["password_hash"] = self._password(row)
                users.append(user)
                memberships[user["login_id"]] = groups_of(values, self.group.path)
            # A user created by someone else since the re-check wins; that row fails alone.
            insert_plain(
                connection, User.__table__, [[user[key] for key in _NEW_USER] for user in users],
                _NEW_USER, same={"created_at": now, "updated_at": now}, ignore_conflicts=True,
            )  # fmt: skip
            ours = {
                login: user_id
                for login, user_id, created_at in connection.execute(
                    select(User.login_id, User.id, User.created_at).where(
                        User.login_id.in_([user["login_id"] for user in users])
                    )
                )
                if created_at == now
            }
            add_memberships(
                connection,
                [
                    (ours[login], group_ids[path])
                    for login, paths in memberships.items()
                    if login in ours
                    for path in paths
                ],
            )
            for (row, _), user in zip(self.new, users, strict=True):
                if user["login_id"] in ours:
                    outcome.created += 1
                    outcome.outcomes.append(
                        outcome_of(row.row_no, "created", None, ours[user["login_id"]], CREATED)
                    )
                else:
                    outcome.failed += 1
                    outcome.outcomes.append(outcome_of(row.row_no, "failed", _TAKEN, None))
            if self.batch.options.get("invite"):
                created = [
                    (ours[user["login_id"]], user, memberships[user["login_id"]])
                    for user in users
                    if user["login_id"] in ours
                ]
                add_invitations(
                    connection, self.engine, self.settings, batch_id=self.batch.id,
                    options=self.batch.options, users=created, now=now,
                )  # fmt: skip
        if self.updates:
            self._update(connection, now, outcome)

    def _update(self, connection: Connection, now: dt.datetime, outcome: ChunkOutcome) -> None:
        assert self.result is not None
        group_ids = self.result.lookup.group_ids
        ids = [user_id for _, user_id, _ in self.updates]
        # Read (and lock) what the update replaces: the rows' before-images come from here.
        before = current_users(connection, ids, lock=True)
        gone = [entry for entry in self.updates if entry[1] not in before]
        for row, _, _ in gone:
            outcome.failed += 1
            outcome.outcomes.append(outcome_of(row.row_no, "failed", _deleted(row.key), None))
        self.updates = [entry for entry in self.updates if entry[1] in before]
        if not self.updates:
            return
        changes: dict[int, dict[str, Any]] = {}
        new_memberships: list[tuple[int, int]] = []
        regrouped: list[int] = []
        written: dict[int, dict[str, Any]] = {}
        keep = self.batch.options.get("blank", BLANK_CLEAR) == BLANK_KEEP
        for row, user_id, values in self.updates:
            fields = user_fields(values, self.columns, keep_blank=keep)
            fields.pop("login_id", None)
            password = self._password(row)
            if password:
                fields["password_hash"] = password
            if any(column.custom for column in self.columns):
                custom = dict(before[user_id]["custom"] or {})
                for column in self.columns:
                    if column.custom and (values.get(column.key) or not keep):
                        custom.pop(column.key, None)
                custom.update(custom_values(values, self.columns))
                fields["custom"] = custom
            written[user_id] = dict(fields)
            changes[user_id] = fields | {"updated_at": now}
            paths = split_multi(values.get("belong_to", ""))
            if paths:
                regrouped.append(user_id)
                new_memberships += [(user_id, group_ids[path]) for path in paths]
        update_users(connection, changes)
        groups_before = current_groups(connection, regrouped) if regrouped else {}
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
            add_memberships(connection, new_memberships)
        groups_after = current_groups(connection, regrouped) if regrouped else {}
        for row, user_id, _ in self.updates:
            groups = None
            if user_id in groups_after or user_id in groups_before:
                groups = (groups_before.get(user_id, []), groups_after.get(user_id, []))
            image = update_image(before[user_id], written[user_id], groups)
            outcome.updated += 1
            outcome.outcomes.append(outcome_of(row.row_no, "updated", None, user_id, image))
