"""Two operators execute overlapping batches (the same login IDs) at once, on two worker
processes: every row ends in a defined outcome, no user exists twice, nothing deadlocks."""

from __future__ import annotations

from collections import Counter

from redis import Redis
from sqlalchemy import func, select

from tests.check.test_check import H, run_check
from tests.conftest import World
from tests.fault.runs import run_to_the_end, start_worker, stop_worker
from userbatch.batches.history import row_outcomes
from userbatch.batches.store import store_batch
from userbatch.db import session
from userbatch.models import User
from userbatch.worker.submit import enqueue_batch


def _rows(first: int, last: int, name: str) -> str:
    return "".join(
        f"user{n:05d},{name} {n},,u{n}@example.com,pass-word-{n},,,,Sales\n"
        for n in range(first, last)
    )


def test_two_operators_overlapping_batches_at_once(world: World, clean_redis: Redis) -> None:
    for n in range(100):
        world.add_user(f"user{n:05d}", name=f"User {n}", email=f"u{n}@example.com",
                       groups=("Sales",))  # fmt: skip
    manager = world.manager("mgr", "Sales")
    # The administrator updates 0-99 and creates 100-199; the manager of Sales updates 50-99
    # and creates 100-249. Both files are checked before either runs.
    files = {
        world.admin: H + _rows(0, 200, "Admin"),
        manager: H + _rows(50, 250, "Manager"),
    }
    batch_ids = {}
    for operator, text in files.items():
        result = run_check(world, text, operator=operator, working="Sales")
        assert not result.has_errors
        batch_ids[operator.login] = store_batch(
            world.engine, world.settings, result, operator=operator,
            working_group=world.groups["Sales"], invitation=None,
            confirmed=result.counts["update"],  # a mass change: the guard asks for the number
        )  # fmt: skip
    workers = [start_worker(world), start_worker(world)]
    try:
        for batch_id in batch_ids.values():
            enqueue_batch(world.engine, world.settings, batch_id)
        for batch_id in batch_ids.values():
            assert run_to_the_end(world, clean_redis, batch_id, worker=workers[0]) == 0
    finally:
        for worker in workers:
            stop_worker(worker)

    with session(world.engine) as db:
        assert db.scalar(select(func.count()).select_from(User)) == 250
        assert db.scalar(select(func.count(func.distinct(User.login_id)))) == 250
        names = {login: name for login, name in db.execute(select(User.login_id, User.name))}
    outcomes = {
        login: {
            row.key: (row.outcome, row.message or None)
            for row in row_outcomes(world.engine, batch_id)
        }
        for login, batch_id in batch_ids.items()
    }  # fmt: skip
    for login, rows in outcomes.items():
        for key, (result, message) in rows.items():
            assert result in ("created", "updated", "unchanged", "failed"), (login, key)
            assert (result == "failed") == bool(message), (login, key, message)
    for n in range(250):
        key = f"user{n:05d}"
        admin, manager_row = outcomes["admin"].get(key), outcomes["mgr"].get(key)
        if n < 50:  # the administrator's alone
            assert admin == ("updated", None) and names[key] == f"Admin {n}"
        elif n < 100:  # both update: both apply, the later one's name stays
            assert admin == manager_row == ("updated", None)
            assert names[key] in (f"Admin {n}", f"Manager {n}")
        elif n < 200:  # both create: one wins, the other's row says why it failed
            assert admin and manager_row
            assert Counter(r for r, _ in (admin, manager_row)) == {"created": 1, "failed": 1}
            [message] = [m for _, m in (admin, manager_row) if m]
            assert "created" in message and (
                "upload the row again" in message or "upload the file again" in message
            ), message
            winner = "Admin" if admin[0] == "created" else "Manager"
            assert names[key] == f"{winner} {n}"
        else:  # the manager's alone
            assert manager_row == ("created", None) and names[key] == f"Manager {n}"
