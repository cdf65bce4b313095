"""Applying a stored batch: in chunks, one transaction each, with Core bulk statements.

Each chunk re-checks its rows against the database as it is now (SPEC §5): a row that has
become invalid since the check, or whose user appeared or vanished meanwhile, fails alone
with its message. A chunk writes users, memberships, invitations, the rows' outcomes and the
batch's counters in one transaction, so a batch that is run again continues with the rows
still pending and changes nothing twice; for the same reason a chunk that meets a database
blip (a dropped connection, a locked file) is simply run again a moment later.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine, select

from userbatch.batches.chunks import ChunkOutcome, PendingRow, claim, outcome_of, record
from userbatch.batches.undo import apply_undo_chunk
from userbatch.batches.writer import ChunkWriter
from userbatch.check.rules import shown
from userbatch.check.run import check_rows
from userbatch.check.state import BLANK_CLEAR, SUSPEND, CheckOptions, CheckResult
from userbatch.crypto.passwords import hash_password, is_argon2_hash
from userbatch.crypto.vault import unseal
from userbatch.db import retry_blips, session
from userbatch.directory.auth import OperatorInfo, get_operator
from userbatch.directory.fields import ColumnSpec, load_columns
from userbatch.directory.groups import GroupInfo, in_scope
from userbatch.models import Batch, BatchRow, Group
from userbatch.settings import Settings

CHUNK_ROWS = 5000
# Rows with passwords cost ~20 ms each to hash: smaller chunks keep transactions short and
# progress moving.
PASSWORD_CHUNK_ROWS = 100


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
def apply_chunk(engine: Engine, settings: Settings, batch_id: str, row_numbers: list[int]) -> int:
    """Re-check and apply the rows of the batch with these numbers that are still pending,
    in one transaction; returns the batch's rows done. A chunk applied already (or being
    applied by another worker) is left alone."""
    with session(engine) as db:
        batch = db.get_one(Batch, batch_id)
        group = db.get_one(Group, batch.group_id)
    # The stored rows through Core: thousands of rows, which the ORM would only wrap.
    stored = BatchRow.__table__.c
    with engine.connect() as connection:
        rows = [
            PendingRow(*row)
            for row in connection.execute(
                select(*(stored[name] for name in PendingRow._fields))
                .where(
                    stored.batch_id == batch_id,
                    stored.row_no.in_(row_numbers),
                    stored.outcome == "pending",
                )
                .order_by(stored.row_no)
            )
        ]
    working = GroupInfo(group.id, group.name, group.path)
    operator = get_operator(engine, batch.operator_id)
    refusal = _refusal(operator, working)
    scope_path = operator.scope_path if operator else ""
    if batch.undo_of is not None:
        if rows:
            apply_undo_chunk(engine, batch, [row.row_no for row in rows], refusal)
        return _done(engine, batch_id)
    columns = _columns(engine, batch)
    # A complete list's users left out of the file are rows of their own, with no cells.
    checked = [row for row in rows if row.action != SUSPEND]
    missing = [row for row in rows if row.action == SUSPEND]
    result = None
    if checked and not refusal:
        blank = batch.options.get("blank", BLANK_CLEAR)  # batches stored before the choice
        result = _recheck(engine, checked, columns, working, scope_path, blank)
    hashes = password_hashes(settings, checked) if result is not None else {}
    outcome = ChunkOutcome()
    with engine.begin() as connection:
        if not claim(connection, batch_id, [row.row_no for row in rows]):
            connection.rollback()
            return _done(engine, batch_id)
        if refusal:
            outcome.failed = len(rows)
            outcome.outcomes = [outcome_of(row.row_no, "failed", refusal, None) for row in rows]
        else:
            writer = ChunkWriter(engine, settings, batch, columns, result, working, scope_path)
            writer.hashes = hashes
            if result is not None:
                writer.sort(checked, outcome)
                writer.write(connection, outcome)
            if missing:
                writer.suspend(connection, missing, outcome)
        record(connection, batch_id, outcome)
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
    rows: list[PendingRow],
    columns: list[ColumnSpec],
    group: GroupInfo,
    scope_path: str,
    blank: str,
) -> CheckResult:
    checked_columns = [column for column in columns if column.key != "password"]
    keys = [column.key for column in checked_columns]
    cells = pd.DataFrame(
        [[row.values.get(key, "") for key in keys] for row in rows],
        columns=keys,
        index=[row.row_no for row in rows],
        dtype=str,
    )
    options = CheckOptions(columns=columns, working_group=group, scope_path=scope_path, blank=blank)
    return check_rows(engine, cells, options)
