"""Storing and applying batches: through the real RQ worker, chunk by chunk, idempotent."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

import pytest
from redis import Redis
from rq import Queue, SimpleWorker
from sqlalchemy import func, select, update

from tests.check.test_check import H, run_check
from tests.conftest import RunBatch, World
from userbatch.batches import lifecycle
from userbatch.batches.apply import apply_chunk, pending_chunks
from userbatch.batches.history import get_batch, job_document
from userbatch.batches.store import Invitation, store_batch
from userbatch.batches.undo import store_undo
from userbatch.crypto.passwords import verify_password
from userbatch.db import session
from userbatch.errors import UserbatchError
from userbatch.mail.render import SET_PASSWORD_URL
from userbatch.mail.templates import default_template
from userbatch.models import BatchRow, Membership, OutboxMessage, User
from userbatch.settings import Settings
from userbatch.worker.connection import QUEUE_NAME
from userbatch.worker.jobs import apply_batch_job
from userbatch.worker.submit import enqueue_batch

NEW_ROWS = (
    H
    + "tanaka01,Tanaka,,tanaka@example.com,secret-pass-9,Sales,,2030-01-31,Sales>>Tokyo\n"
    + "suzuki01,Suzuki,,suzuki@example.com,,,,,Sales||Support\n"
    + "yamada01,Yamada,,,,,,,\n"
    + "inoue001,Inoue,,inoue@example.com,,,Suspended,,\n"
)


def _store(
    world: World, text: str, *, invite: bool = False, working: str = "",
    confirmed: int | None = None, **options: Any,
) -> str:  # fmt: skip
    """Check ``text`` (with these ``CheckOptions``) and store it as the admin's batch."""
    result = run_check(world, text, working=working, **options)
    invitation = None
    if invite:
        template = default_template(world.engine)
        invitation = Invitation(
            template.id, template.subject, template.body, dt.datetime.now(dt.UTC)
        )
    return store_batch(
        world.engine, world.settings, result, operator=world.admin,
        working_group=world.groups[working], invitation=invitation, confirmed=confirmed,
    )  # fmt: skip


def _users(world: World) -> dict[str, dict[str, Any]]:
    with session(world.engine) as db:
        users = db.scalars(select(User).order_by(User.login_id)).all()
        paths = {
            (user_id, path)
            for user_id, path in db.execute(select(Membership.user_id, Membership.group_id))
        }
    groups = {group.id: path for path, group in world.groups.items()}
    return {
        user.login_id: {
            "name": user.name, "email": user.email, "department": user.department,
            "status": user.status, "expiration_date": user.expiration_date,
            "groups": sorted(groups[g] for u, g in paths if u == user.id),
            "has_password": user.password_hash is not None,
        }
        for user in users
    }  # fmt: skip


def test_a_batch_is_stored_only_without_errors(world: World) -> None:
    result = run_check(world, H + "ab,X,,,,,,,\n")
    with pytest.raises(UserbatchError, match="1 row"):
        store_batch(
            world.engine, world.settings, result, operator=world.admin,
            working_group=world.groups[""],
        )  # fmt: skip


def test_passwords_are_stored_sealed_and_hashed_by_the_worker(
    world: World, run_batch: RunBatch
) -> None:
    batch_id = _store(world, NEW_ROWS)
    with session(world.engine) as db:
        secrets = [row.secret for row in db.scalars(select(BatchRow)) if row.secret]
        assert len(secrets) == 1 and "secret-pass-9" not in secrets[0]
        assert all("secret-pass-9" not in str(row.values) for row in db.scalars(select(BatchRow)))
    run_batch(world, batch_id)
    with session(world.engine) as db:
        user = db.scalars(select(User).where(User.login_id == "tanaka01")).one()
        assert verify_password(user.password_hash or "", "secret-pass-9")
        assert db.scalar(select(func.count()).where(BatchRow.secret.is_not(None))) == 0


def test_new_users_are_created_with_their_groups(world: World, run_batch: RunBatch) -> None:
    batch_id = _store(world, NEW_ROWS, working="Support")
    batch = run_batch(world, batch_id)
    assert batch.state == "finished"
    users = _users(world)
    assert users["tanaka01"] == {
        "name": "Tanaka", "email": "tanaka@example.com", "department": "Sales",
        "status": "valid", "expiration_date": dt.date(2030, 1, 31),
        "groups": ["Sales>>Tokyo"], "has_password": True,
    }  # fmt: skip
    assert users["suzuki01"]["groups"] == ["Sales", "Support"]
    assert users["yamada01"]["groups"] == ["Support"]  # the working group
    assert users["inoue001"]["status"] == "suspended"
    assert job_document(world.engine, batch_id)["counts"] == {
        "created": 4, "updated": 0, "unchanged": 0, "failed": 0,
    }  # fmt: skip


def test_invitations_go_to_new_valid_users_with_an_email(world: World, run_batch: RunBatch) -> None:
    batch_id = _store(world, NEW_ROWS, invite=True)
    run_batch(world, batch_id)
    with session(world.engine) as db:
        messages = db.scalars(select(OutboxMessage).order_by(OutboxMessage.recipient)).all()
    assert [m.recipient for m in messages] == ["suzuki@example.com", "tanaka@example.com"]
    assert messages[1].subject == "Welcome to Acme"
    assert "Dear Tanaka," in messages[1].body and "Login ID: tanaka01" in messages[1].body
    # The link gets its token when the mail is sent; no working token is stored.
    assert SET_PASSWORD_URL in messages[1].body and messages[1].token_hash is None
    assert job_document(world.engine, batch_id)["invitations"] == {
        "scheduled": 2, "sent": 0, "kept": 0, "failed": 0,
    }  # fmt: skip


def test_updates_change_only_what_changed(world: World, run_batch: RunBatch) -> None:
    world.add_user(
        "sato0002", name="Sato", email="sato@example.com", department="Sales", groups=("Sales",)
    )
    world.add_user("kato0003", name="Kato", email="kato@example.com", groups=("Support",))
    batch_id = _store(
        world,
        H
        + "sato0002,Sato,,sato@example.com,,Support,,,\nkato0003,Kato,,kato@example.com,,,,,Sales\n",
    )
    run_batch(world, batch_id)
    users = _users(world)
    assert users["sato0002"]["department"] == "Support"
    assert users["sato0002"]["groups"] == ["Sales"]  # blank Belong to keeps them
    assert users["kato0003"]["groups"] == ["Sales"]
    assert job_document(world.engine, batch_id)["counts"]["updated"] == 2


def test_applying_again_changes_nothing(world: World, run_batch: RunBatch) -> None:
    batch_id = _store(world, NEW_ROWS, invite=True)
    run_batch(world, batch_id, chunk_rows=2)
    before = (_users(world), job_document(world.engine, batch_id))
    apply_batch_job(batch_id)  # RQ runs a job again after its worker died, say
    assert apply_chunk(world.engine, world.settings, batch_id, [2, 3, 4, 5]) == 4
    assert (_users(world), job_document(world.engine, batch_id)) == before


def test_a_row_that_became_invalid_fails_alone(world: World, run_batch: RunBatch) -> None:
    batch_id = _store(world, NEW_ROWS)
    # Between the check and the run: someone registers yamada01 and takes suzuki's address.
    world.add_user("yamada01", name="Yamada")
    world.add_user("other001", name="Other", email="suzuki@example.com")
    run_batch(world, batch_id)
    with session(world.engine) as db:
        rows = {row.row_no: (row.outcome, row.message) for row in db.scalars(select(BatchRow))}
    assert rows[2] == ("created", None)
    assert rows[3][0] == "failed" and "already exists, with login ID 'other001'" in rows[3][1]
    assert rows[4] == (
        "failed",
        "A user with the key 'yamada01' was created after the check; upload the file again to "
        "update that user.",
    )
    assert rows[5] == ("created", None)
    assert job_document(world.engine, batch_id)["counts"] == {
        "created": 2, "updated": 0, "unchanged": 0, "failed": 2,
    }  # fmt: skip


def test_the_job_runs_on_a_real_worker_with_ids_only(
    world: World, clean_redis: Redis, use_env: Callable[[Settings], None]
) -> None:
    use_env(world.settings)
    batch_id = _store(world, NEW_ROWS)
    job_id = enqueue_batch(world.engine, world.settings, batch_id)
    assert get_batch(world.engine, batch_id).state == "queued"
    queue = Queue(QUEUE_NAME, connection=clean_redis)
    job = queue.fetch_job(job_id)
    assert job is not None and job.args == (batch_id,)
    SimpleWorker([queue], connection=clean_redis).work(burst=True)
    job = queue.fetch_job(job_id)
    assert job is not None
    assert job.get_status() == "finished", job.latest_result()
    assert job.meta["progress"] == {"done": 4, "total": 4}
    assert job.return_value()["counts"]["created"] == 4
    assert get_batch(world.engine, batch_id).state == "finished"


def test_a_failing_job_marks_the_batch_failed(
    world: World, clean_redis: Redis, use_env: Callable[[Settings], None]
) -> None:
    use_env(world.settings)
    batch_id = _store(world, NEW_ROWS)
    with session(world.engine) as db, db.begin():
        # A password sealed with another installation's key cannot be unsealed.
        db.execute(update(BatchRow).where(BatchRow.row_no == 2).values(secret="gAAAA-not-a-token"))
    enqueue_batch(world.engine, world.settings, batch_id)
    SimpleWorker([Queue(QUEUE_NAME, connection=clean_redis)], connection=clean_redis).work(
        burst=True
    )
    batch = get_batch(world.engine, batch_id)
    assert batch.state == "failed"
    assert batch.error is not None and "USERBATCH_SECRET_KEY" in batch.error
    assert _users(world) == {}  # the failed chunk left nothing behind


def _apply_twice_at_once(world: World, batch_id: str) -> None:
    """Apply the batch's chunks of 50 rows in two threads at once, both asking for the same
    chunk at the same moment (as a job RQ queued again while its first run goes on)."""
    chunks = pending_chunks(world.engine, batch_id, chunk_rows=50)
    together = threading.Barrier(2, timeout=120)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            for numbers in chunks:
                together.wait()
                apply_chunk(world.engine, world.settings, batch_id, numbers)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    lifecycle.hand_over(world.engine, batch_id, f"batch-{batch_id}")
    lifecycle.start(world.engine, batch_id)
    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert errors == []
    lifecycle.finish(world.engine, batch_id)


def test_a_chunk_applied_twice_at_once_is_applied_once(world: World) -> None:
    rows = "".join(f"user{n:05d},User {n},,u{n}@example.com,,,,,\n" for n in range(300))
    batch_id = _store(world, H + rows, invite=True)
    _apply_twice_at_once(world, batch_id)
    batch = get_batch(world.engine, batch_id)
    assert (batch.state, batch.done, batch.created, batch.failed) == ("finished", 300, 300, 0)
    with session(world.engine) as db:
        assert db.scalar(select(func.count()).select_from(User)) == 300
        assert db.scalar(select(func.count()).select_from(OutboxMessage)) == 300
        outcomes = db.scalars(select(BatchRow.outcome).where(BatchRow.batch_id == batch_id))
        assert set(outcomes) == {"created"}
    # Its undo, the same way: each user deleted once.
    undo_id = store_undo(world.engine, world.admin, batch)
    _apply_twice_at_once(world, undo_id)
    undone = get_batch(world.engine, undo_id)
    assert (undone.state, undone.done, undone.deleted, undone.failed) == ("finished", 300, 300, 0)
    with session(world.engine) as db:
        assert db.scalar(select(func.count()).select_from(User)) == 0


def test_overlapping_batches_at_once_create_each_user_once(world: World) -> None:
    rows = "".join(f"user{n:05d},User {n},u{n}@example.com,,,,,,\n" for n in range(300))
    first, second = _store(world, H + rows), _store(world, H + rows)
    errors: list[BaseException] = []

    def run(batch_id: str) -> None:
        # What the job entry points do, in two threads at once (chunks of 50 rows).
        try:
            lifecycle.start(world.engine, batch_id)
            for numbers in pending_chunks(world.engine, batch_id, chunk_rows=50):
                apply_chunk(world.engine, world.settings, batch_id, numbers)
            lifecycle.finish(world.engine, batch_id)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(batch_id,)) for batch_id in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert errors == []
    with session(world.engine) as db:
        assert db.scalar(select(func.count()).select_from(User)) == 300
        outcomes = db.execute(select(BatchRow.row_no, BatchRow.outcome, BatchRow.message)).all()
    by_row: dict[int, list[str]] = {}
    for row_no, outcome, message in outcomes:
        assert outcome in ("created", "failed")
        assert (outcome == "failed") == bool(message)
        by_row.setdefault(row_no, []).append(outcome)
    assert all(sorted(pair) == ["created", "failed"] for pair in by_row.values())
