"""Helpers the tests share (fixtures live in conftest.py)."""

from __future__ import annotations

import datetime as dt
import json
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

from alembic.config import Config
from sqlalchemy import Connection, Engine, select, text, update
from sqlalchemy.exc import DBAPIError
from streamlit.testing.v1 import AppTest

from userbatch.check.slots import CheckSlots
from userbatch.db import MIGRATIONS, session
from userbatch.models import Operator, OperatorSession
from userbatch.models.automation import ApiToken
from userbatch.settings import Settings
from userbatch.worker.runtime import child_environment


@contextmanager
def alembic_config(engine: Engine) -> Iterator[Config]:
    """Alembic's configuration for migrating ``engine``'s database in one transaction."""
    with engine.begin() as connection:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        yield config


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment of a child process that runs with ``settings``."""
    return child_environment(settings)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(condition: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _serve(settings: Settings, port: int, unset: tuple[str, ...]) -> subprocess.Popen[bytes]:
    env = {name: value for name, value in settings_env(settings).items() if name not in unset}
    with open(settings.data_dir / "serve.log", "wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "userbatch", "serve", "--port", str(port)],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://localhost:{port}/_stcore/health", timeout=2) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def serve_until_healthy(
    settings: Settings, port: int | None = None, *, unset: tuple[str, ...] = ()
) -> tuple[subprocess.Popen[bytes], dict[str, int]]:
    """Run ``userbatch serve`` (without the variables ``unset``) until the app answers;
    returns it and runtime.json's pids."""
    port = port or free_port()
    serve = _serve(settings, port, unset)
    state_file = settings.data_dir / "runtime.json"
    try:
        wait_until(lambda: _healthy(port), timeout=90, what="the app to answer")
        wait_until(lambda: state_file.exists(), timeout=10, what="runtime.json")
    except AssertionError:
        serve.kill()
        print((settings.data_dir / "serve.log").read_text())
        raise
    pids = json.loads(state_file.read_text())
    assert set(pids) == {"owner", "redis", "worker", "app"}
    assert pids["owner"] == serve.pid
    return serve, pids


def child_pids(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (Linux /proc)."""
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(entry.name))
    return children


@dataclass
class Mailbox:
    """What the server of the ``smtp`` fixture received; ``refuse`` makes the next N
    deliveries fail with 451."""

    messages: list[Message] = field(default_factory=list)
    refuse: int = 0
    refused: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            if self.refuse > 0:
                self.refuse -= 1
                self.refused += 1
                return "451 4.3.0 Try again later"
            self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if m["To"] == address]


def literal(markdown: str) -> str:
    """What Streamlit shows for Markdown whose text ``userbatch.ui.text.inert`` escaped: the
    text without the escaping backslashes."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown)


def age_sessions(engine: Engine, by: dt.timedelta, *, operator_id: int | None = None) -> None:
    """Move every session's times (or one operator's) back by ``by``, as if that long had
    passed since: the idle and absolute limits are minutes and days."""
    with session(engine) as db, db.begin():
        query = select(OperatorSession)
        if operator_id is not None:
            query = query.where(OperatorSession.operator_id == operator_id)
        for row in db.scalars(query):
            row.created_at -= by
            row.last_seen_at -= by
            row.expires_at -= by


def sheet_grid(app: AppTest) -> dict[str, Any]:
    """What the batch screen's grid (ui/batch/sheet.py) was sent on the last run."""
    [grid] = app.get("bidi_component")
    data: dict[str, Any] = json.loads(grid.proto.json)
    return data


def grid_column(app: AppTest, key: str) -> list[str]:
    """The texts of one column (field key) of the batch screen's grid, row by row."""
    grid = sheet_grid(app)
    index = [column["key"] for column in grid["columns"]].index(key)
    return [row["cells"][index] for row in grid["rows"]]


# Seconds: a limit for a condition to come true, not a wait.
GENEROUS = 120.0


@contextmanager
def held_slot(slots: CheckSlots, operator_id: int) -> Iterator[threading.Event]:
    """A thread holding a slot for ``operator_id`` until the yielded event is set."""
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        with slots.slot(operator_id, wait_seconds=GENEROUS, waiting=lambda _: None):
            taken.set()
            release.wait(GENEROUS)

    thread = threading.Thread(target=hold)
    thread.start()
    assert taken.wait(GENEROUS)
    try:
        yield release
    finally:
        release.set()
        thread.join(GENEROUS)


def expire_token(engine: Engine, token_id: int) -> None:
    """Move the API token's expiry into the past, as if its days had gone by."""
    with engine.begin() as connection:
        connection.execute(
            update(ApiToken)
            .where(ApiToken.id == token_id)
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )


def disable_operator(engine: Engine, operator_id: int) -> None:
    """Disable the operator, as an administrator does on the Operators screen."""
    with engine.begin() as connection:
        connection.execute(update(Operator).where(Operator.id == operator_id).values(disabled=True))


def trigrams_in_public(connection: Connection) -> None:
    """pg_trgm installed in PostgreSQL's public schema, one process at a time. Migration 0009
    installs it where the search path points when the database has none, which for a test
    or a benchmark is a schema of its own: dropped afterwards, it would take along the
    indexes of everyone using it meanwhile. A server that refuses it gets no index at all."""
    connection.execute(text("SELECT pg_advisory_xact_lock(7405)"))
    try:
        with connection.begin_nested():
            connection.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public"))
    except DBAPIError:
        pass
