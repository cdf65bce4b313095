"""Scheduled invitations through the real worker and scheduler, and across a lost Redis."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select, update

from tests.helpers import Mailbox, settings_env, wait_until
from userbatch.db import open_database, session
from userbatch.models import OutboxMessage, utcnow
from userbatch.settings import Settings
from userbatch.worker.runtime import Runtime

FILE = "Login ID,Name,Email\r\ntanaka01,Tanaka,tanaka@example.com\r\nsuzuki01,Suzuki,suzuki@example.com\r\n"


def _setup(settings: Settings) -> None:
    env = settings_env(settings) | {"USERBATCH_ADMIN_PASSWORD": "correct-horse-7"}
    subprocess.run(
        [sys.executable, "-m", "userbatch", "setup", "--organisation", "Acme", "--admin", "admin"],
        env=env, check=True, capture_output=True, timeout=60,
    )  # fmt: skip


def _import(settings: Settings, tmp_path: Path, send_at: dt.datetime, *, wait: bool) -> None:
    path = tmp_path / "users.csv"
    path.write_text(FILE)
    command = [
        sys.executable,
        "-m",
        "userbatch",
        "import",
        str(path),
        "--invite",
        "--send-at",
        send_at.isoformat(),
    ]
    result = subprocess.run(
        command + (["--wait"] if wait else []), env=settings_env(settings), capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def _sent_not_before_send_at(settings: Settings) -> int:
    """How many invitations were sent, each claimed for sending at or after its send_at."""
    with session(open_database(settings)) as db:
        rows = db.execute(
            select(OutboxMessage.state, OutboxMessage.send_at, OutboxMessage.claimed_at)
        ).all()
    assert all(claimed_at and claimed_at >= send_at for _, send_at, claimed_at in rows), rows
    return sum(state == "sent" for state, _, _ in rows)


def test_the_worker_sends_at_send_at(
    make_settings: Callable[..., Settings], smtp: tuple[str, Mailbox], tmp_path: Path
) -> None:
    url, mailbox = smtp
    settings = make_settings(redis_url=None, smtp_url=url)
    _setup(settings)
    with Runtime(settings):
        send_at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=6)
        _import(settings, tmp_path, send_at, wait=True)
        wait_until(lambda: len(mailbox.messages) == 2, timeout=60, what="both invitations")
    # The batch was applied at once; the mail waited for its time, however long the import
    # took: no invitation was taken for sending before send_at.
    assert _sent_not_before_send_at(settings) == 2


def test_a_schedule_lost_with_redis_is_rebuilt_from_the_database(
    make_settings: Callable[..., Settings], smtp: tuple[str, Mailbox], tmp_path: Path
) -> None:
    url, mailbox = smtp
    settings = make_settings(redis_url=None, smtp_url=url)
    _setup(settings)
    with Runtime(settings):
        _import(settings, tmp_path, dt.datetime.now(dt.UTC) + dt.timedelta(hours=1), wait=True)
    # Redis is gone, with everything it held: the scheduled sweep too.
    shutil.rmtree(settings.data_dir / "redis")
    assert mailbox.messages == []
    # As if most of the hour had passed: the invitations fall due in a few seconds, a time
    # that only the database knows.
    engine = open_database(settings)
    with session(engine) as db, db.begin():
        db.execute(update(OutboxMessage).values(send_at=utcnow() + dt.timedelta(seconds=5)))
    with Runtime(settings):
        wait_until(lambda: len(mailbox.messages) == 2, timeout=60, what="both invitations")
    assert sorted(m["To"] for m in mailbox.messages) == ["suzuki@example.com", "tanaka@example.com"]
    assert _sent_not_before_send_at(settings) == 2
