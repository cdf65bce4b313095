"""Undoing a batch: before-images, the preview, and the undo run by the real worker."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from tests.batches.test_apply import _store
from tests.check.test_check import H
from tests.conftest import RunBatch, RunUndo, World
from userbatch.admin.users import export_users
from userbatch.batches import apply, undo
from userbatch.batches.history import get_batch, job_document, results_file
from userbatch.batches.undo_preview import preview
from userbatch.db import session
from userbatch.errors import Conflict, NotAllowed
from userbatch.mail.outbox import send_due
from userbatch.models import BatchRow, OutboxMessage, User, utcnow
from userbatch.worker.submit import undo_batch

BATCH = (
    H
    + "tanaka01,Tanaka,,tanaka@example.com,,,,,Sales>>Tokyo\n"
    + "yamada01,Yamada,,yamada@example.com,,,,,\n"
    + "sato0002,Sato,,sato@example.com,,Support,Suspended,2030-01-31,Support\n"
    + "kato0003,Kato K,,kato.k@example.com,,,,,Sales||Support\n"
)


def _download(world: World) -> bytes:
    return export_users(world.engine, world.columns(), scope_path="")


def test_an_undo_gives_back_the_users_as_they_were(
    people: World, run_batch: RunBatch, run_undo: RunUndo
) -> None:
    world = people
    before = _download(world)
    batch_id = _store(world, BATCH, invite=True)
    assert run_batch(world, batch_id).state == "finished"
    assert _download(world) != before
    with session(world.engine) as db:
        images = dict(db.execute(select(BatchRow.key, BatchRow.before)).all())
    assert images["tanaka01"] == {"created": True}
    assert images["sato0002"]["fields"]["department"] == ["Sales", "Support"]
    assert images["sato0002"]["fields"]["status"] == ["valid", "suspended"]
    assert images["sato0002"]["fields"]["expiration_date"] == [None, "2030-01-31"]
    assert "groups" in images["kato0003"] and "email" in images["kato0003"]["fields"]

    document = preview(world.engine, get_batch(world.engine, batch_id))
    assert document["counts"] == {
        "delete": 2, "suspend": 0, "restore": 2, "keep": 0, "invitations_canceled": 2,
    }  # fmt: skip
    sato = next(row for row in document["rows"] if row["key"] == "sato0002")
    assert {f["field"]: (f["before"], f["batch"], f["now"]) for f in sato["fields"]} == {
        "Department": ("Sales", "Support", "Support"),
        "Status": ("Valid", "Suspended", "Suspended"),
        "Expiration date": ("", "2030-01-31", "2030-01-31"),
        "Belong to": ("Sales", "Support", "Support"),
    }

    undone = run_undo(world, batch_id)
    assert undone.state == "finished" and undone.file_name == "Undo of users.csv"
    assert _download(world) == before
    assert send_due(world.engine, world.settings, now=utcnow()) == {}  # nothing goes out
    with session(world.engine) as db:
        states = set(db.scalars(select(OutboxMessage.state)))
    assert states == {"canceled"}
    document = job_document(world.engine, undone.id)
    assert document["undo_of"] == batch_id
    assert document["counts"] | {} == {
        "created": 0, "updated": 2, "unchanged": 0, "failed": 0, "deleted": 2,
    }  # fmt: skip
    assert job_document(world.engine, batch_id)["undone_by"] == undone.id
    results = results_file(world.engine, undone.id).decode("utf-8-sig")
    assert "tanaka01" in results and ",deleted," in results and ",restored," in results


def test_a_value_changed_since_is_kept_and_listed(
    people: World, run_batch: RunBatch, run_undo: RunUndo
) -> None:
    world = people
    first = _store(world, H + "sato0002,Sato,,sato@example.com,,Support,,,\n")
    run_batch(world, first)
    # Later, another batch changes the department again and leaves the position alone.
    run_batch(world, _store(world, H + "sato0002,Sato S,,sato@example.com,,Ops,,,\n"))
    document = preview(world.engine, get_batch(world.engine, first))
    [row] = document["rows"]
    assert row["action"] == "keep"
    assert row["fields"] == [
        {"field": "Department", "before": "Sales", "batch": "Support", "now": "Ops",
         "undo": "keep"},
    ]  # fmt: skip
    assert "Department" in row["message"]
    run_undo(world, first)
    with session(world.engine) as db:
        sato = db.scalars(select(User).where(User.login_id == "sato0002")).one()
    assert (sato.department, sato.name) == ("Ops", "Sato S")


def test_a_user_who_signed_in_since_is_suspended_not_deleted(
    world: World, run_batch: RunBatch, run_undo: RunUndo
) -> None:
    batch_id = _store(world, H + "tanaka01,Tanaka,,,,,,,\nyamada01,Yamada,,,,,,,\n")
    run_batch(world, batch_id)
    with session(world.engine) as db, db.begin():
        db.execute(update(User).where(User.login_id == "tanaka01").values(first_login_at=utcnow()))
    undone = run_undo(world, batch_id)
    assert (undone.deleted, undone.updated) == (1, 1)
    with session(world.engine) as db:
        users = dict(db.execute(select(User.login_id, User.status)).all())
    assert users == {"tanaka01": "suspended"}


def test_a_batch_is_undone_once_and_an_undo_not_at_all(
    world: World, run_batch: RunBatch, run_undo: RunUndo
) -> None:
    batch_id = _store(world, H + "tanaka01,Tanaka,,,,,,,\n")
    run_batch(world, batch_id)
    undone = run_undo(world, batch_id)
    with pytest.raises(Conflict, match="undone already"):
        undo_batch(world.engine, world.settings, world.admin, batch_id)
    with pytest.raises(Conflict, match="cannot itself be undone"):
        undo_batch(world.engine, world.settings, world.admin, undone.id)


def test_a_manager_cannot_undo_another_operators_batch(world: World, run_batch: RunBatch) -> None:
    batch_id = _store(world, H + "tanaka01,Tanaka,,,,,,,\n")
    run_batch(world, batch_id)
    manager = world.manager("sales-lead", "Sales")
    with pytest.raises(NotAllowed):
        undo_batch(world.engine, world.settings, manager, batch_id)
    assert "undone_by" not in job_document(world.engine, batch_id)


def test_an_undo_chunk_that_dies_midway_runs_again_and_the_undo_ends_exact(
    people: World, run_batch: RunBatch, run_undo: RunUndo, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = people
    before = _download(world)
    rows = "".join(f"user{n:04d},User {n},,,,,,,Sales\n" for n in range(30))
    batch_id = _store(world, BATCH + rows)
    run_batch(world, batch_id, chunk_rows=7)
    monkeypatch.setattr(apply, "CHUNK_ROWS", 7)
    carry_out = undo._carry_out
    calls: list[int] = []

    def dies_in_the_third_chunk(*args: object) -> None:
        calls.append(1)
        carry_out(*args)  # type: ignore[arg-type]
        if len(calls) == 3:  # its changes are made; its transaction never commits
            raise RuntimeError("the worker died")

    monkeypatch.setattr(undo, "_carry_out", dies_in_the_third_chunk)
    undone = run_undo(world, batch_id)
    assert len(calls) == 6  # five chunks, the third one twice (RQ ran its job again)
    assert (undone.state, undone.done, undone.failed) == ("finished", undone.total, 0)
    assert (undone.deleted, undone.updated) == (32, 2)
    assert _download(world) == before
