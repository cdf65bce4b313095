"""The database unavailable for a moment while a worker applies a batch: a SQLite file locked
by another writer, PostgreSQL connections cut in the middle of transactions. The batch ends like an uninterrupted run."""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from redis import Redis
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from tests.conftest import POSTGRES_URL, make_world
from tests.fault.runs import (
    assert_like_an_uninterrupted_run,
    assert_passwords,
    final_state,
    run_to_the_end,
    start_worker,
    stop_worker,
    store,
)
from tests.helpers import Mailbox, wait_until
from userbatch import db as database
from userbatch.batches.history import get_batch
from userbatch.db import is_blip, retry_blips
from userbatch.settings import Settings
from userbatch.worker.submit import enqueue_batch

ROWS = 250  # three chunks of passwords


def _run_with(
    world_settings: Settings,
    redis: Redis,
    mailbox: Mailbox,
    blip: Callable[[], None],
    *,
    after_rows: int,
) -> int:
    """Run a batch on a real worker, cause ``blip`` once ``after_rows`` rows are done, and
    return how many Retry clicks it took (after checking the final state)."""
    world = make_world(world_settings)
    batch_id = store(world, ROWS)
    enqueue_batch(world.engine, world.settings, batch_id)
    worker = start_worker(world)
    try:
        wait_until(
            lambda: get_batch(world.engine, batch_id).done >= after_rows,
            timeout=120, what=f"{after_rows} rows done",
        )  # fmt: skip
        blip()
        retries = run_to_the_end(world, redis, batch_id, worker=worker)
    finally:
        stop_worker(worker)
    state = final_state(world, batch_id, mailbox)
    assert_like_an_uninterrupted_run(state, ROWS, invited=True)
    assert state.interrupted == []
    assert_passwords(world, ROWS)
    return retries


def test_a_sqlite_file_locked_for_a_while(
    make_settings: Callable[..., Settings], clean_redis: Redis, smtp: tuple[str, Mailbox]
) -> None:
    url, mailbox = smtp
    settings = make_settings("sqlite", smtp_url=url)

    def lock_for_a_while() -> None:
        # Another program writes to the file and holds the lock for five seconds. (The sleep
        # is how long the outage lasts, not a wait for anything: the worker, in the middle of
        # the batch, meets the lock whenever it next writes.)
        other = sqlite3.connect(settings.data_dir / "userbatch.db", isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
        time.sleep(5)
        other.execute("ROLLBACK")
        other.close()

    assert _run_with(settings, clean_redis, mailbox, lock_for_a_while, after_rows=100) == 0


def test_postgresql_connections_dropped(
    make_settings: Callable[..., Settings],
    clean_redis: Redis,
    smtp: tuple[str, Mailbox],
    request: pytest.FixtureRequest,
) -> None:
    url, mailbox = smtp
    # The test's connections carry a name of their own, so that only they are cut: other
    # tests may be using the same database at the same time.
    name = f"blips-{uuid.uuid4().hex[:12]}"
    database_url = f"{request.getfixturevalue('postgres_url')}&application_name={name}"
    settings = make_settings("postgresql", smtp_url=url, database_url=database_url)
    assert POSTGRES_URL
    admin = create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    dropped = 0

    def drop_connections() -> None:
        # Three times, half a second apart, the connections that are in a transaction (the
        # worker's, reading or writing) are cut, as a failing network would cut them. (The
        # half second is the rhythm of the outage, not a wait: between cuts the loop polls
        # for the worker's next transaction.)
        nonlocal dropped
        deadline = time.monotonic() + 120  # a poll deadline for the three cuts
        with admin.connect() as connection:
            while dropped < 3 and time.monotonic() < deadline:
                cut = connection.execute(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                        "AND backend_type = 'client backend' AND xact_start IS NOT NULL "
                        "AND application_name = :name"
                    ),
                    {"name": name},
                ).scalar_one()
                connection.commit()
                if cut:
                    dropped += 1
                time.sleep(0.5 if cut else 0.005)

    try:
        retries = _run_with(settings, clean_redis, mailbox, drop_connections, after_rows=0)
    finally:
        admin.dispose()
    assert dropped == 3
    assert retries == 0  # no Retry click: the worker ran the cut work again by itself
    log = (settings.data_dir / "worker.log").read_text()
    assert "database unavailable" in log


def test_work_meeting_a_locked_file_runs_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The retry itself, on a real SQLite file locked for a second by another connection, with
    no busy timeout: the first attempts fail with "database is locked", a later one works."""
    path = tmp_path / "locked.db"
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0})
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (n INTEGER)"))
    monkeypatch.setattr(database, "BLIP_WAITS", (0.2,) * 20)
    attempts = 0

    @retry_blips
    def write() -> None:
        nonlocal attempts
        attempts += 1
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO t VALUES (1)"))

    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN EXCLUSIVE")
    release = threading.Timer(1.0, lambda: other.execute("ROLLBACK"))
    release.start()
    try:
        write()
    finally:
        release.join()
        other.close()
    assert attempts > 1
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM t")).scalar_one() == 1
    engine.dispose()


def test_a_mistake_is_not_a_blip(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path}/mistake.db")
    with pytest.raises(OperationalError) as raised, engine.connect() as connection:
        connection.execute(text("SELECT * FROM no_such_table"))
    assert not is_blip(raised.value)
    engine.dispose()
