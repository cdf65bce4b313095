"""A busy Monday with faults: on PostgreSQL with two workers, batches of every kind are
checked and submitted from four threads through the domain calls the command line makes,
while a chaos loop SIGKILLs a worker (and its work horse) again and again, kills Redis once
and cuts the database's connections once. At the end every batch has finished (a failed one
retried, as an operator would), every user exists once with the values its last batch gave,
every invitation due was delivered once (or marked interrupted: delivered at most once),
those due later wait, and no batch is left in a state that is not final.

The faults come at points of progress (so many more rows applied since the last one), not at
times, so they spread over the run on a machine of any speed. ``USERBATCH_SOAK_BATCHES`` (100
by default) makes the run longer.
"""

from __future__ import annotations

import datetime as dt
import os
import queue
import random
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from rq import Queue, Worker
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import OperationalError

from tests.check.test_check import H
from tests.conftest import POSTGRES_URL, World, make_world
from tests.fault.runs import as_if_time_passed, kill_worker, start_worker, stop_worker
from tests.helpers import Mailbox, wait_until
from userbatch.batches.store import Invitation, new_batch_id
from userbatch.check.run import check_file
from userbatch.db import session
from userbatch.errors import ConfigError
from userbatch.mail.templates import default_template
from userbatch.models import ACTIVE_STATES, Batch, BatchRow, OutboxMessage, User
from userbatch.settings import Settings
from userbatch.worker.connection import QUEUE_NAME
from userbatch.worker.maintenance import sync_batch_states
from userbatch.worker.runtime import Runtime, pid_alive
from userbatch.worker.submit import retry_batch, submit_batch
from userbatch.worker.sweep import schedule_mail_sweep

pytestmark = pytest.mark.slow

BATCHES = int(os.environ.get("USERBATCH_SOAK_BATCHES", "100"))
# A kind for each batch in turn: new users, new users with passwords, updates of existing
# users, new users invited now or in two days, and a file with errors the check refuses.
KINDS = ["create", "update", "invite_now", "passwords", "create", "update", "invite_later",
         "create", "bad", "invite_now"]  # fmt: skip
ROWS_AT_MOST = 25
ROWS_PER_FAULT = 60  # a fault each time so many more rows have been applied
FAULTS = 12  # of which the 4th kills Redis and the 8th cuts the database's connections


@dataclass
class Planned:
    """One batch of the soak and what it should leave behind."""

    number: int
    kind: str
    text: str
    # login -> (name, email, department) as the batch leaves the user.
    users: dict[str, tuple[str, str | None, str | None]]
    batch_id: str | None = None
    refused: bool = False


def _plan(seeded: int) -> tuple[list[Planned], dict[str, tuple[str, str | None, str | None]]]:
    """The batches, and the seeded users (each updated by at most one batch)."""
    rng = random.Random(20261202)
    seeds = {f"seed{k:04d}": (f"Seed {k}", None, None) for k in range(seeded)}
    next_seed = 0
    plans = []
    for number in range(BATCHES):
        kind = KINDS[number % len(KINDS)]
        rows = rng.randint(1, 4 if kind == "passwords" else ROWS_AT_MOST)
        lines, users = [], {}
        for j in range(rows):
            if kind == "update":
                login = f"seed{next_seed:04d}"
                next_seed += 1
                name, department = seeds[login][0], f"Dept {number}"
                lines.append(f"{login},{name},,,,{department},,,Sales")
                users[login] = (name, None, department)
                continue
            login, name = f"b{number:03d}u{j:02d}", f"Soak {number} {j}"
            invited = kind.startswith("invite")
            email = f"{login}@example.com" if invited else ""
            password = f"pass-word-{number}-{j}" if kind == "passwords" else ""
            login_cell = "x" if kind == "bad" and j == 0 else login  # too short: an error
            lines.append(f"{login_cell},{name},,{email},{password},,,,Sales")
            users[login] = (name, email or None, None)
        plans.append(Planned(number, kind, H + "\n".join(lines) + "\n", users))
    assert next_seed <= seeded
    return plans, seeds


@dataclass
class Chaos:
    """Two workers, and the faults done to them, to Redis and to the database."""

    world: World
    runtime: Runtime
    cut_connections: Callable[[], int]
    done: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.processes = [start_worker(self.world), start_worker(self.world)]

    def revive(self) -> None:
        """Start Redis again if it stopped, and a worker that stopped (RQ's worker quits
        when Redis goes away)."""
        self.runtime.keep_alive()
        for index, process in enumerate(self.processes):
            if process.poll() is not None:
                self.processes[index] = start_worker(self.world)

    def run(self) -> None:
        applied = 0
        while len(self.done) < FAULTS and not self.stop.is_set():
            target = applied + ROWS_PER_FAULT
            while (
                not self.stop.is_set() and (applied := _rows_applied(self.world, applied)) < target
            ):
                self.revive()
                time.sleep(0.2)  # the poll's rhythm
            if self.stop.is_set():
                return
            fault = len(self.done) + 1
            if fault == 4:
                assert self.runtime.redis_process is not None
                os.kill(self.runtime.redis_process.pid, signal.SIGKILL)
                self.runtime.redis_process.wait(timeout=30)
                self.runtime.keep_alive()
                self.done.append("redis killed and started again")
            elif fault == 8:
                self.done.append(f"{self.cut_connections()} database connections cut")
            else:
                index = fault % 2
                kill_worker(self.processes[index])
                self.processes[index] = start_worker(self.world)
                self.done.append(f"worker {index} killed")

    def close(self) -> None:
        self.stop.set()
        for process in self.processes:
            stop_worker(process)


def _rows_applied(world: World, before: int) -> int:
    """Rows applied so far (``before`` while the database is away)."""
    try:
        with session(world.engine) as db:
            return db.scalar(select(func.count()).where(BatchRow.outcome != "pending")) or 0
    except OperationalError:
        return before


def _ridden_out(condition: Callable[[], bool]) -> bool:
    """``condition()``, or False while a fault of the soak's own is in the way: this process's
    connections were cut too, and Redis may be starting again (its next round asks again, as a
    worker's maintenance would)."""
    try:
        return condition()
    except (OperationalError, RedisConnectionError, ConfigError):
        return False


@pytest.fixture
def postgres_world(
    make_settings: Callable[..., Settings], smtp: tuple[str, Mailbox], postgres_url: str
) -> Iterator[tuple[World, str, Mailbox]]:
    url, mailbox = smtp
    name = f"soak-{uuid.uuid4().hex[:12]}"  # only the soak's connections are cut
    settings = make_settings(
        "postgresql", redis_url=None, smtp_url=url,
        database_url=f"{postgres_url}&application_name={name}",
    )  # fmt: skip
    yield make_world(settings), name, mailbox


@pytest.mark.timeout(900)
def test_a_soak_of_many_batches_with_faults_ends_as_an_uninterrupted_run(
    postgres_world: tuple[World, str, Mailbox],
) -> None:
    world, application_name, mailbox = postgres_world
    plans, seeds = _plan(seeded=BATCHES * ROWS_AT_MOST // 5)
    for login, (name, _, _) in seeds.items():
        world.add_user(login, name=name, groups=("Sales",))
    template = default_template(world.engine)
    now = dt.datetime.now(dt.UTC)
    assert POSTGRES_URL
    admin = create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1))

    def cut_connections() -> int:
        with admin.connect() as connection:
            cut = connection.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE pid <> pg_backend_pid() AND application_name = :name"
                ),
                {"name": application_name},
            ).scalar_one()
            connection.commit()
        return int(cut)

    def submit(plan: Planned) -> None:
        checked = check_file(
            world.engine, world.settings, plan.text.encode(), file_name=f"soak{plan.number}.csv",
            working_group=world.groups[""], scope_path="",
        )  # fmt: skip
        if checked.counts["error"]:
            plan.refused = True
            return
        send_at = now + dt.timedelta(days=2) if plan.kind == "invite_later" else now
        invitation = (
            Invitation(template.id, template.subject, template.body, send_at)
            if plan.kind.startswith("invite")
            else None
        )
        plan.batch_id = plan.batch_id or new_batch_id()  # the same id when tried again
        submit_batch(
            world.engine, world.settings, checked, operator=world.admin,
            working_group=world.groups[""], invitation=invitation, batch_id=plan.batch_id,
        )  # fmt: skip

    with Runtime(world.settings, worker=False) as runtime:
        redis = Redis.from_url(world.settings.effective_redis_url)
        chaos = Chaos(world, runtime, cut_connections)
        faults = threading.Thread(target=chaos.run)
        faults.start()
        try:
            _submit_from_four_threads(plans, submit, chaos)
            wait_until(lambda: not faults.is_alive() or _ridden_out(lambda: _all_applied(world, plans)),
                       timeout=600, what="the faults")  # fmt: skip
            chaos.stop.set()
            faults.join(timeout=60)
            retries = _recover(world, redis, chaos, plans)
        finally:
            chaos.close()
            admin.dispose()
    _assert_like_an_uninterrupted_run(world, plans, seeds, mailbox)
    # Redis was killed and the connections cut while batches ran (the 4th and 8th faults).
    assert len(chaos.done) >= 8, chaos.done
    print(f"soak: {BATCHES} batches, faults {chaos.done}, {retries} retries")


def _submit_from_four_threads(
    plans: list[Planned], submit: Callable[[Planned], None], chaos: Chaos
) -> None:
    """Submit every plan, four threads at once; a submission that meets Redis or the
    database away is tried again, as an operator would press Execute again."""
    waiting: queue.Queue[Planned] = queue.Queue()
    for plan in plans:
        waiting.put(plan)
    errors: list[BaseException] = []

    def work() -> None:
        while True:
            try:
                plan = waiting.get_nowait()
            except queue.Empty:
                return
            for attempt in range(30):
                try:
                    submit(plan)
                    break
                except Exception as exc:  # Redis restarting, a connection cut: again
                    if attempt == 29:
                        errors.append(exc)
                    time.sleep(0.5)  # the rhythm of trying again, not a wait for a thing

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=900)
    assert not errors, errors


def _all_applied(world: World, plans: list[Planned]) -> bool:
    ids = [plan.batch_id for plan in plans if plan.batch_id]
    with session(world.engine) as db:
        pending = db.scalar(
            select(func.count()).where(BatchRow.batch_id.in_(ids), BatchRow.outcome == "pending")
        )
    return pending == 0


def _recover(world: World, redis: Redis, chaos: Chaos, plans: list[Planned]) -> int:
    """Bring every batch to its end as an operator and the passing of time would: Retry a
    failed batch; once the workers are idle, let RQ's clean-up find the abandoned jobs, and
    the outbox's sweep come round. Returns the retries."""
    retries = 0
    ids = {plan.batch_id for plan in plans if plan.batch_id}

    def ended() -> bool:
        return _ridden_out(settled)

    def settled() -> bool:
        nonlocal retries
        chaos.revive()
        sync_batch_states(world.engine, world.settings)
        with session(world.engine) as db:
            states = dict(db.execute(select(Batch.id, Batch.state).where(Batch.id.in_(ids))).all())
        for batch_id, state in states.items():
            if state == "failed":
                retry_batch(world.engine, world.settings, world.admin, batch_id)
                retries += 1
        # A killed worker stays registered, "busy", until its key runs out (minutes): only a
        # living one's work would be cut.
        busy = [
            w for w in Worker.all(connection=redis)
            if w.get_state() == "busy" and w.pid is not None and pid_alive(w.pid)
        ]  # fmt: skip
        if not busy and Queue(QUEUE_NAME, connection=redis).count == 0:
            as_if_time_passed(world, redis)  # only idle workers: nothing of theirs is cut
            schedule_mail_sweep(world.engine, world.settings)
        with session(world.engine) as db:
            due = db.scalar(
                select(func.count()).where(
                    OutboxMessage.state.in_(("scheduled", "sending")),
                    OutboxMessage.send_at <= dt.datetime.now(dt.UTC),
                )
            )
        return all(state == "finished" for state in states.values()) and not due

    try:
        wait_until(ended, timeout=240, what="every batch to finish and its mail to leave")
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {_situation(world, redis, ids)}") from None
    return retries


def _situation(world: World, redis: Redis, ids: set[str | None]) -> str:
    """Where the batches, their jobs, the workers and the mail stand, for a failure."""
    queue_ = Queue(QUEUE_NAME, connection=redis)
    with session(world.engine) as db:
        states = Counter(db.scalars(select(Batch.state).where(Batch.id.in_(ids))))
        pending = db.scalar(select(func.count()).where(BatchRow.outcome == "pending"))
        mail = Counter(db.scalars(select(OutboxMessage.state)))
    workers = [(w.name, w.get_state()) for w in Worker.all(connection=redis)]
    registries = {
        "queued": queue_.count, "started": queue_.started_job_registry.get_job_ids(),
        "failed": len(queue_.failed_job_registry), "scheduled": len(queue_.scheduled_job_registry),
    }  # fmt: skip
    log = (world.settings.data_dir / "worker.log").read_text(errors="replace")[-2000:]
    return f"batches {dict(states)}, {pending} rows pending, mail {dict(mail)}, workers {workers}, jobs {registries}; log: {log}"


def _assert_like_an_uninterrupted_run(
    world: World,
    plans: list[Planned],
    seeds: dict[str, tuple[str, str | None, str | None]],
    mailbox: Mailbox,
) -> None:
    expected = dict(seeds)
    for plan in plans:
        if plan.kind == "bad":
            assert plan.refused and plan.batch_id is None
        else:
            assert not plan.refused and plan.batch_id is not None
            expected |= plan.users
    with session(world.engine) as db:
        found = db.execute(select(User.login_id, User.name, User.email, User.department)).all()
        states = Counter(db.scalars(select(Batch.state)))
        unfinished = db.scalar(select(func.count()).where(Batch.state.in_(ACTIVE_STATES)))
        without_end = db.scalar(
            select(func.count()).where(Batch.state == "finished", Batch.finished_at.is_(None))
        )
        messages = db.execute(
            select(OutboxMessage.recipient, OutboxMessage.state, OutboxMessage.send_at)
        ).all()
        failed_rows = db.scalar(select(func.count()).where(BatchRow.outcome == "failed"))
    logins = Counter(login for login, *_ in found)
    assert [login for login, count in logins.items() if count > 1] == []  # each user once
    assert {login: (name, email, department) for login, name, email, department in found} == (
        expected
    )
    assert states == Counter({"finished": sum(1 for plan in plans if plan.batch_id)})
    assert unfinished == 0 and without_end == 0 and failed_rows == 0
    now = dt.datetime.now(dt.UTC)
    due = {
        login
        for plan in plans
        if plan.kind == "invite_now"
        for login, (_, email, _) in plan.users.items()
        if email
    }
    later = {
        f"{login}@example.com"
        for plan in plans
        if plan.kind == "invite_later"
        for login in plan.users
    }
    delivered = Counter(str(message["To"]) for message in mailbox.messages)
    assert max(delivered.values(), default=1) == 1, "an invitation was delivered twice"
    by_state: dict[str, set[str]] = {}
    for recipient, state, send_at in messages:
        by_state.setdefault(state, set()).add(recipient)
        if recipient in later:
            assert state == "scheduled" and send_at > now
    due_addresses = {f"{login}@example.com" for login in due}
    interrupted = by_state.get("failed", set())
    assert by_state.get("sent", set()) | interrupted == due_addresses
    assert due_addresses - interrupted <= set(delivered)
    assert not set(delivered) & later
    assert len(interrupted) <= FAULTS  # a kill cuts at most the one message being sent
