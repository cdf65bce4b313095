"""Drafts: saved as they change, restored exactly (or re-checked and said so), sealed, one per
operator, removed by the worker's maintenance; the app server's drafts in memory are few."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic import command
from sqlalchemy import inspect, select, text

from tests.check.test_check import H
from tests.conftest import World
from tests.helpers import alembic_config
from tests.views.test_batch_upload import THREE_MISTAKES
from userbatch.batches import digest as digests
from userbatch.batches.digest import digest
from userbatch.batches.drafts import (
    DraftFile,
    add_edit,
    discard_draft,
    draft_version,
    restore_draft,
    save_draft,
    set_place,
)
from userbatch.check.run import check_file, recheck
from userbatch.check.state import CheckedSheet
from userbatch.db import session
from userbatch.directory.auth import OperatorInfo
from userbatch.models.drafts import Draft, DraftEdit, DraftUpload
from userbatch.ui.batch.state import Drafts
from userbatch.ui.context import AppContext
from userbatch.worker.maintenance import remove_leftovers

SECRET = "Secret-Pass-91"


def _checked(world: World, data: bytes, operator: OperatorInfo | None = None) -> CheckedSheet:
    operator = operator or world.admin
    return check_file(
        world.engine, world.settings, data, file_name="users.csv",
        working_group=world.groups[operator.scope_path], scope_path=operator.scope_path,
    )  # fmt: skip


def _draft(
    world: World, data: bytes, operator: OperatorInfo | None = None
) -> tuple[int, CheckedSheet]:
    result = _checked(world, data, operator)
    source = DraftFile("users.csv", data, batch_id="b" * 32)
    return save_draft(world.engine, world.settings, operator or world.admin, source, result), result


def _outcome(result: CheckedSheet) -> list[tuple[object, ...]]:
    return [(row.row, row.status, row.key, row.issues, row.changes) for row in result.ordered()]


def test_a_restored_draft_has_the_same_rows_counts_and_place(world: World) -> None:
    draft_id, result = _draft(world, THREE_MISTAKES)
    steps: list[tuple[dict[int, dict[str, str]], list[int]]] = [
        ({3: {"login_id": "sato0002", "email": "sato@example.com"}}, []),
        ({}, [4]),
        ({5: {"email": "yamada@example.com"}}, []),
    ]
    for cells, deleted in steps:
        recheck(result, cells, deleted)
        add_edit(
            world.engine, world.settings, draft_id, cells=cells, deleted=deleted, result=result
        )
    set_place(world.engine, draft_id, page=2, only_errors=True)
    restored = restore_draft(world.engine, world.settings, world.admin)
    assert restored is not None
    assert _outcome(restored.result) == _outcome(result)
    assert restored.result.counts == result.counts == {
        "new": 3, "update": 0, "unchanged": 0, "error": 0,
    }  # fmt: skip
    assert (restored.edits, restored.changes, restored.page, restored.only_errors) == (
        3,
        4,
        2,
        True,
    )
    assert not restored.changed_meanwhile
    assert restored.source.data == THREE_MISTAKES
    assert draft_version(world.engine, world.admin.id) == (draft_id, 3)


def test_the_digest_after_edits_is_the_digest_of_the_rows_as_they_are(world: World) -> None:
    result = _checked(world, THREE_MISTAKES)
    first = digest(result)  # each row's issues and changes written out, and kept
    # Row 3 keeps an issue (its e-mail) and loses one (its login ID); row 4 goes.
    recheck(result, {3: {"login_id": "sato0002"}}, [4])
    assert [issue.field for issue in result.rows[3].issues] == ["email"]
    edited = digest(result)  # only the rows judged again written out anew
    digests._WRITTEN.pop(result)
    assert edited == digest(result) != first


def test_a_draft_checked_against_a_changed_database_says_so(world: World) -> None:
    _draft(world, (H + "newbie01,Newbie,,newbie@example.com,,,,,\n").encode())
    world.add_user("newbie01", name="Someone else")
    restored = restore_draft(world.engine, world.settings, world.admin)
    assert restored is not None and restored.changed_meanwhile
    assert restored.result.counts["update"] == 1  # re-checked: the user exists now


def test_migration_0010_moves_each_drafts_file_to_a_row_of_its_own(world: World) -> None:
    draft_id, result = _draft(world, THREE_MISTAKES)
    cells = {3: {"login_id": "sato0002"}}
    recheck(result, cells)
    add_edit(world.engine, world.settings, draft_id, cells=cells, deleted=[], result=result)
    with alembic_config(world.engine) as config:
        command.downgrade(config, "0009")
    with world.engine.connect() as connection:  # the file back in the draft's row
        assert connection.scalar(text("SELECT count(*) FROM drafts WHERE sealed_file IS NULL")) == 0
    assert "draft_files" not in inspect(world.engine).get_table_names()
    with alembic_config(world.engine) as config:
        command.upgrade(config, "head")
    restored = restore_draft(world.engine, world.settings, world.admin)
    assert restored is not None and restored.source.data == THREE_MISTAKES
    assert restored.edits == 1 and _outcome(restored.result) == _outcome(result)
    # A new draft still never takes a discarded one's id.
    discard_draft(world.engine, world.admin.id)
    assert _draft(world, THREE_MISTAKES)[0] > draft_id


def test_the_file_and_the_edits_are_sealed(world: World) -> None:
    data = (H + f"tanaka01,Tanaka,,,{SECRET},,,,\n").encode()
    draft_id, result = _draft(world, data)
    cells = {2: {"password": SECRET + "x"}}
    recheck(result, cells)
    add_edit(world.engine, world.settings, draft_id, cells=cells, deleted=[], result=result)
    with session(world.engine) as db:
        sealed_file = db.scalars(select(DraftUpload.sealed)).one()
        edits = db.scalars(select(DraftEdit.sealed)).all()
    stored = [sealed_file, *(edit.encode() for edit in edits)]
    assert stored and not any(SECRET.encode() in blob for blob in stored)
    restored = restore_draft(world.engine, world.settings, world.admin)
    assert restored is not None
    assert restored.result.table.cells.at[2, "password"] == SECRET + "x"


def test_one_draft_per_operator_and_each_their_own(world: World) -> None:
    first, _ = _draft(world, THREE_MISTAKES)
    second, _ = _draft(world, (H + "tanaka01,Tanaka,,,,,,,\n").encode())
    manager = world.manager("lead", "Sales")
    _draft(world, (H + "kato0009,Kato,,,,,,,\n").encode(), manager)
    assert draft_version(world.engine, world.admin.id) == (second, 0)
    restored = restore_draft(world.engine, world.settings, world.admin)
    assert restored is not None and restored.result.sheet.rows == 1
    with pytest.raises(LookupError):  # the first draft is gone: its edits are refused
        add_edit(world.engine, world.settings, first, cells={}, deleted=[2], result=restored.result)
    discard_draft(world.engine, world.admin.id)
    assert restore_draft(world.engine, world.settings, world.admin) is None
    assert draft_version(world.engine, manager.id) is not None


def test_maintenance_removes_old_drafts_only(world: World) -> None:
    _draft(world, THREE_MISTAKES)
    manager = world.manager("lead", "Sales")
    _draft(world, (H + "kato0009,Kato,,,,,,,\n").encode(), manager)
    with session(world.engine) as db, db.begin():
        old = db.scalars(select(Draft).where(Draft.operator_id == manager.id)).one()
        old.updated_at -= dt.timedelta(days=world.settings.draft_days, minutes=1)
    assert remove_leftovers(world.engine, world.settings) == (1, 0)
    assert draft_version(world.engine, manager.id) is None
    assert draft_version(world.engine, world.admin.id) is not None


def test_the_server_keeps_only_a_few_drafts_in_memory(world: World) -> None:
    app = AppContext(world.settings, world.engine)
    operators = [world.manager(f"lead{n}", "Sales") for n in range(3)]
    for operator in operators:
        _draft(world, (H + "kato0009,Kato,,,,,,,\n").encode(), operator)
    cache = Drafts(capacity=2)
    first = cache.get(app, operators[0])
    assert first is not None and cache.get(app, operators[0]) is first  # the copy in memory
    cache.get(app, operators[1])
    cache.get(app, operators[2])
    assert len(cache) == 2
    again = cache.get(app, operators[0])  # restored from the database
    assert again is not None and again is not first
    assert _outcome(again.result) == _outcome(first.result)
