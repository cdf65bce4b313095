"""Backups: ``userbatch backup`` copies a running SQLite installation to one file, consistent
(a transaction in flight is not in it), and ``userbatch restore`` puts it into an empty data
folder, where a batch that was running resumes by Retry and ends as an uninterrupted run."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue, SimpleWorker
from sqlalchemy import func, select

from tests.conftest import World, make_world
from tests.fault.runs import assert_like_an_uninterrupted_run, assert_passwords, final_state, store
from tests.helpers import settings_env
from userbatch.batches import lifecycle
from userbatch.batches.apply import apply_chunk, pending_chunks
from userbatch.batches.history import get_batch
from userbatch.db import open_database, session
from userbatch.errors import EXIT_OK, EXIT_REFUSED, EXIT_USAGE
from userbatch.models import User
from userbatch.settings import Settings
from userbatch.worker import jobs
from userbatch.worker.connection import QUEUE_NAME
from userbatch.worker.maintenance import sync_batch_states
from userbatch.worker.submit import retry_batch

ROWS = 12


def _userbatch(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "userbatch", *args], env=settings_env(settings),
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.fixture
def sqlite_world(make_settings: Callable[..., Settings]) -> World:
    return make_world(make_settings("sqlite"))


def test_a_backup_taken_during_a_batch_restores_it_resumable(
    sqlite_world: World,
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    clean_redis: Redis,
    use_env: Callable[[Settings], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = sqlite_world
    batch_id = store(world, ROWS, invite=False)  # with passwords: sealed with the key
    assert lifecycle.hand_over(world.engine, batch_id, "job-of-the-lost-redis")
    assert lifecycle.start(world.engine, batch_id) is not None
    first, *_ = pending_chunks(world.engine, batch_id, chunk_rows=ROWS // 2)
    apply_chunk(world.engine, world.settings, batch_id, first)  # half the batch applied
    database = world.settings.data_dir / "userbatch.db"
    with closing(sqlite3.connect(database, isolation_level=None)) as writer:
        # A chunk in flight: written, not committed, while the backup is taken.
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE users SET name = 'half-written'")
        backup = tmp_path / "backup.db"
        taken = _userbatch(world.settings, "backup", str(backup))
        writer.execute("ROLLBACK")
    assert taken.returncode == EXIT_OK, taken.stderr
    assert f"Backed up {ROWS // 2} users and 1 batches to {backup}" in taken.stdout
    assert _userbatch(world.settings, "backup", str(backup)).returncode == EXIT_USAGE  # exists

    restored_settings = make_settings("sqlite", data_dir=tmp_path / "restored")
    done = _userbatch(restored_settings, "restore", str(backup))
    assert done.returncode == EXIT_OK, done.stderr
    assert "1 batch(es) were running" in done.stdout
    assert (tmp_path / "restored" / "secret.key").read_bytes().strip() == (
        world.settings.data_dir / "secret.key"
    ).read_bytes().strip()
    again = _userbatch(restored_settings, "restore", str(backup))
    assert again.returncode == EXIT_REFUSED and "restore into an empty data folder" in again.stderr

    restored = World(restored_settings, open_database(restored_settings), world.admin,
                     world.groups)  # fmt: skip
    with session(restored.engine) as db:
        names = db.scalars(select(User.name)).all()
        assert len(names) == ROWS // 2 and "half-written" not in names  # nothing half-applied
    assert get_batch(restored.engine, batch_id).state == "started"

    # The old Redis held the batch's job: here it is missing, so the batch turns failed
    # (abandoned), and Retry applies the rows not yet applied.
    use_env(restored_settings)
    monkeypatch.setattr(jobs, "schedule_mail_sweep", lambda engine, settings: None)
    sync_batch_states(restored.engine, restored_settings)
    assert get_batch(restored.engine, batch_id).state == "failed"
    retry_batch(restored.engine, restored_settings, restored.admin, batch_id)
    SimpleWorker([Queue(QUEUE_NAME, connection=clean_redis)], connection=clean_redis).work(
        burst=True
    )
    assert get_batch(restored.engine, batch_id).state == "finished"
    assert_like_an_uninterrupted_run(final_state(restored, batch_id), ROWS, invited=False)
    assert_passwords(restored, ROWS)


def test_restore_refuses_another_key_and_a_file_that_is_no_backup(
    sqlite_world: World, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    backup = tmp_path / "backup.db"
    assert _userbatch(sqlite_world.settings, "backup", str(backup)).returncode == EXIT_OK
    other_key = make_settings(
        "sqlite", data_dir=tmp_path / "other",
        secret_key="xS0XGnTEAVdsBPxyjj0VAFTYCAnbnE9ZfakzL8mJUWM=",
    )  # fmt: skip
    refused = _userbatch(other_key, "restore", str(backup))
    assert refused.returncode == EXIT_USAGE
    assert "the secret key here is not the backed-up installation's" in refused.stderr
    not_one = tmp_path / "not-a-backup.db"
    not_one.write_bytes(b"hello")
    empty = make_settings("sqlite", data_dir=tmp_path / "empty")
    refused = _userbatch(empty, "restore", str(not_one))
    assert refused.returncode == EXIT_USAGE and "is not a userbatch backup" in refused.stderr
    assert not (tmp_path / "empty" / "userbatch.db").exists()


def test_postgresql_is_backed_up_with_its_own_tools(
    make_settings: Callable[..., Settings], tmp_path: Path, postgres_url: str
) -> None:
    settings = make_settings("postgresql")
    done = _userbatch(settings, "backup", str(tmp_path / "b.dump"))
    assert done.returncode == EXIT_USAGE
    assert "the database is PostgreSQL: use its own tools" in done.stderr
    assert f"pg_dump --format=custom --file={tmp_path / 'b.dump'}" in done.stderr
    assert "pg_restore" in _userbatch(settings, "restore", "x.dump").stderr
    with session(open_database(settings)) as db:  # nothing was written
        assert db.scalar(select(func.count()).select_from(User)) == 0
