"""What the fault tests share: a batch with passwords and invitations, real worker processes,
killing them as a dying machine would, recovering as an operator would, and the final state
to compare with an uninterrupted run."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass

from redis import Redis
from rq import Queue
from rq.registry import StartedJobRegistry
from sqlalchemy import func, select

from tests.batches.test_apply import _store
from tests.check.test_check import H
from tests.conftest import World
from tests.helpers import Mailbox, child_pids, settings_env, wait_until
from userbatch.batches.history import get_batch
from userbatch.crypto.passwords import verify_password
from userbatch.db import session
from userbatch.mail.outbox import STALE_CLAIM, fail_interrupted
from userbatch.models import BatchRow, Group, Membership, OutboxMessage, User, utcnow
from userbatch.worker.connection import QUEUE_NAME
from userbatch.worker.maintenance import sync_batch_states
from userbatch.worker.submit import retry_batch


def batch_file(rows: int, *, passwords: bool = True) -> str:
    """``rows`` new users in Sales, each with an e-mail (so invited) and, by default, a
    password (~20 ms of hashing each: the batch takes seconds)."""
    return H + "".join(
        f"user{n:05d},User {n},,u{n}@example.com,{f'pass-word-{n}' if passwords else ''},,,,Sales\n"
        for n in range(rows)
    )


def store(world: World, rows: int, *, invite: bool = True, passwords: bool = True) -> str:
    return _store(world, batch_file(rows, passwords=passwords), invite=invite)


def start_worker(world: World) -> subprocess.Popen[bytes]:
    """A ``userbatch worker`` process (with the scheduler) for ``world``'s settings."""
    with open(world.settings.data_dir / "worker.log", "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "userbatch", "worker"], env=settings_env(world.settings),
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip


def stop_worker(worker: subprocess.Popen[bytes]) -> None:
    """Stop a worker whose work is done (at once: a warm shut-down takes seconds)."""
    kill_worker(worker)


def kill_worker(worker: subprocess.Popen[bytes]) -> None:
    """SIGKILL the worker, its work horse (which RQ runs in a session of its own) and its
    scheduler, as a machine that dies would."""
    for child in child_pids(worker.pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)


def situation(world: World, redis: Redis, batch_id: str) -> str:
    """Where the batch, its jobs and its mail stand, for a failure's message."""
    queue = Queue(QUEUE_NAME, connection=redis)
    batch = get_batch(world.engine, batch_id)
    jobs = {
        name: len(registry.get_job_ids())
        for name, registry in (
            ("queued", queue), ("started", queue.started_job_registry),
            ("deferred", queue.deferred_job_registry), ("failed", queue.failed_job_registry),
            ("finished", queue.finished_job_registry),
            ("scheduled", queue.scheduled_job_registry),
        )
    }  # fmt: skip
    log = (world.settings.data_dir / "worker.log").read_text(errors="replace")[-1500:]
    return (
        f"batch {batch.state}, {batch.done} done, error {batch.error!r}; jobs {jobs}; "
        f"mail {mail_states(world)}; worker log: {log}"
    )


def mail_states(world: World) -> dict[str, int]:
    with session(world.engine) as db:
        counts = db.execute(
            select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
        ).all()
    return {state: count for state, count in counts}


def as_if_time_passed(world: World, redis: Redis) -> None:
    """What the passing of time does after a worker died: RQ's maintenance finds its job
    abandoned once the heartbeat runs out, and a mail claim left without an outcome counts as
    interrupted. Both are run here as of a moment past those limits."""
    StartedJobRegistry(QUEUE_NAME, connection=redis).cleanup(timestamp=time.time() + 600)
    fail_interrupted(world.engine, now=utcnow() + STALE_CLAIM + dt.timedelta(seconds=1))
    sync_batch_states(world.engine, world.settings)


def run_to_the_end(
    world: World,
    redis: Redis,
    batch_id: str,
    *,
    worker: subprocess.Popen[bytes] | None = None,
    timeout: float = 240,
) -> int:
    """With a worker running: wait for the batch to end, retrying it (as an operator would)
    while it ends failed, then for its mail to leave; returns how many retries it took.
    Fails at once if ``worker`` stops."""
    retries = 0
    deadline = time.monotonic() + timeout

    def ended() -> bool:
        if worker is not None and worker.poll() is not None:
            raise AssertionError(f"the worker stopped (exit code {worker.returncode})")
        sync_batch_states(world.engine, world.settings)
        return get_batch(world.engine, batch_id).state in ("finished", "failed")

    def mail_left() -> bool:
        if worker is not None and worker.poll() is not None:
            raise AssertionError(f"the worker stopped (exit code {worker.returncode})")
        states = mail_states(world)
        return not states.get("scheduled") and not states.get("sending")

    try:
        while True:
            wait_until(ended, timeout=deadline - time.monotonic(), what="the batch to end")
            if get_batch(world.engine, batch_id).state == "finished":
                break
            retries += 1
            assert retries <= 3, "the batch failed again after three retries"
            retry_batch(world.engine, world.settings, world.admin, batch_id)
        wait_until(mail_left, timeout=deadline - time.monotonic(), what="the mail to leave")
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {situation(world, redis, batch_id)}") from None
    return retries


@dataclass
class FinalState:
    """What a batch of ``batch_file`` rows left behind."""

    users: list[tuple[object, ...]]
    outcomes: Counter[str]
    mail: Counter[str]
    delivered: Counter[str]
    interrupted: list[str]


def final_state(world: World, batch_id: str, mailbox: Mailbox | None = None) -> FinalState:
    with session(world.engine) as db:
        users = [
            tuple(row)
            for row in db.execute(
                select(User.login_id, User.name, User.email, Group.path)
                .join(Membership, Membership.user_id == User.id)
                .join(Group, Group.id == Membership.group_id)
                .order_by(User.login_id)
            )
        ]
        outcomes = Counter(
            db.scalars(select(BatchRow.outcome).where(BatchRow.batch_id == batch_id))
        )
        messages = db.execute(select(OutboxMessage.recipient, OutboxMessage.state)).all()
    return FinalState(
        users=users,
        outcomes=outcomes,
        mail=Counter(state for _, state in messages),
        delivered=Counter(str(m["To"]) for m in (mailbox.messages if mailbox else [])),
        interrupted=[recipient for recipient, state in messages if state == "failed"],
    )


def assert_like_an_uninterrupted_run(state: FinalState, rows: int, *, invited: bool) -> None:
    """Every user once, in Sales, every row created; each invitation delivered exactly once —
    except one whose sending a kill cut (marked interrupted: delivered at most once)."""
    assert state.users == [
        (f"user{n:05d}", f"User {n}", f"u{n}@example.com", "Sales") for n in range(rows)
    ]
    assert state.outcomes == Counter({"created": rows})
    if not invited:
        assert state.mail == Counter() and state.delivered == Counter()
        return
    assert max(state.delivered.values(), default=1) == 1, "an invitation was delivered twice"
    assert len(state.interrupted) <= 1
    interrupted = len(state.interrupted)
    # (Subtracting nothing drops a count of zero.)
    assert state.mail == Counter(sent=rows - interrupted, failed=interrupted) - Counter()
    expected = {f"u{n}@example.com" for n in range(rows)} - set(state.interrupted)
    assert expected <= set(state.delivered)


def assert_passwords(world: World, rows: int) -> None:
    with session(world.engine) as db:
        hashes = {
            login_id: password_hash
            for login_id, password_hash in db.execute(select(User.login_id, User.password_hash))
        }
    assert len(hashes) == rows and all(h and h.startswith("$argon2id$") for h in hashes.values())
    sample = f"user{rows // 2:05d}"
    assert verify_password(hashes[sample] or "", f"pass-word-{rows // 2}")
