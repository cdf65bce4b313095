"""Shared fixtures: real databases (SQLite always, PostgreSQL when configured) and real Redis.

PostgreSQL runs when ``USERBATCH_TEST_POSTGRES_URL`` is set (``.ci/run`` sets it when the
server answers); each test gets a schema of its own. Redis is an embedded server started for
the session, or ``USERBATCH_TEST_REDIS_URL``. On CI a missing service fails the test instead of
skipping it, so nothing is skipped silently. ``smtp`` is a real SMTP server on loopback.
"""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from aiosmtpd.controller import Controller
from redis import Redis
from rq import Queue, SimpleWorker
from sqlalchemy import Engine, create_engine, text
from streamlit.components.v2 import manifest_scanner

from tests import world_template
from tests.helpers import Mailbox, free_port, settings_env, trigrams_in_public
from userbatch.batches import apply
from userbatch.batches.history import get_batch
from userbatch.db import dispose_engines, open_database, session
from userbatch.directory import auth
from userbatch.directory.auth import OperatorInfo
from userbatch.directory.fields import ColumnSpec, load_columns
from userbatch.directory.groups import GroupInfo, add_group, groups_in_scope
from userbatch.directory.sessions import open_session
from userbatch.models import Batch, Membership, Operator, User
from userbatch.settings import Settings
from userbatch.worker import jobs
from userbatch.worker.connection import QUEUE_NAME
from userbatch.worker.runtime import Runtime
from userbatch.worker.submit import enqueue_batch, undo_batch

ROOT = Path(__file__).resolve().parents[1]

# Each AppTest, at its first run, scans every installed distribution's metadata for Streamlit
# components (about 0.3 s, measured as 40% of the screens' tests' time under the profiler).
# Nothing is installed while the tests run, so a test process scans once.
manifest_scanner.scan_component_manifests = functools.cache(  # type: ignore[assignment]
    manifest_scanner.scan_component_manifests
)
POSTGRES_URL = os.environ.get("USERBATCH_TEST_POSTGRES_URL")
REDIS_URL = os.environ.get("USERBATCH_TEST_REDIS_URL")
BACKENDS = ["sqlite", "postgresql"]


# What takes more than a few seconds a test (real worker processes, the browser, fuzzing, the
# benchmarks): marked ``slow``, so that ``pytest -m "not slow"`` answers in a minute or two.
SLOW = (
    "tests/fault/",
    "tests/browser/",
    "tests/hostile/test_fuzz.py",
    "tests/test_benchmarks.py",
    # Single tests of more than ~5 s (measured with --durations) in files of quick ones.
    "tests/check/test_recheck.py::test_incremental_equals_full",
    "tests/cli/test_cli.py::test_import_wait_with_the_zero_set_up_default",
    "tests/cli/test_cli.py::test_import_wait_with_redis_url_and_a_worker",
    "tests/cli/test_cli.py::test_a_messy_excel_file_says_which_cell_to_fix",
    "tests/hostile/test_files.py::test_reading_a_50_mb_line_stays_bounded",
    "tests/hostile/test_files.py::test_an_over_limit_upload_is_refused_before_memory_grows",
    "tests/test_house.py::test_the_code_is_lint_clean[mypy]",  # without its cache
    "tests/test_settings.py::test_the_command_stops_with_one_line",
)


# The longest tests (a minute or more, measured with --durations): run first, so that in
# parallel none of them starts last while the other workers have nothing left to do.
LONGEST = (
    "tests/test_benchmarks.py::test_the_quick_run_measures_every_figure_with_its_target",
    "tests/browser/test_crowd.py",
    "tests/fault/test_redis_restart.py",
    "tests/soak/",
    "tests/fault/test_killed_worker.py",
    "tests/browser/test_drafts.py",
    "tests/fault/test_overlapping_batches.py",
)


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: a worker a core and one more (at most four), since the fault and browser
    tests spend much of their time waiting for a process, a timer or a page."""
    return min((os.cpu_count() or 1) + 1, 4)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.nodeid.startswith(SLOW):
            item.add_marker(pytest.mark.slow)
    items.sort(key=lambda item: not item.nodeid.startswith(LONGEST))


def _unavailable(what: str) -> None:
    message = f"{what} is not set"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI must run every backend")
    pytest.skip(message)


@pytest.fixture(autouse=True)
def _close_database_connections() -> Iterator[None]:
    yield
    dispose_engines()


def _database_of_this_worker(url: str) -> str:
    """``url`` with the database number moved on by the pytest-xdist worker's number (gw0 keeps
    it, gw1 takes the next): tests empty their Redis database, so workers must not share one."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        return url
    parts = urlsplit(url)
    database = int(parts.path.strip("/") or 0) + int(worker.removeprefix("gw"))
    return urlunsplit(parts._replace(path=f"/{database}"))


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Redis for the whole run: the embedded server, or USERBATCH_TEST_REDIS_URL
    (under pytest-xdist, each worker process a database of its own there)."""
    if REDIS_URL:
        yield _database_of_this_worker(REDIS_URL)
        return
    runtime = Runtime(Settings(data_dir=tmp_path_factory.mktemp("redis")), worker=False)
    runtime.start()
    try:
        yield runtime.settings.effective_redis_url
    finally:
        runtime.stop()


@pytest.fixture
def clean_redis(redis_url: str) -> Iterator[Redis]:
    """The test Redis, emptied before the test (of what a test without this fixture left,
    such as a served app's worker) and after it."""
    client = Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def smtp() -> Iterator[tuple[str, Mailbox]]:
    """An SMTP server on 127.0.0.1; yields its URL and its mailbox."""
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{port}", mailbox
    finally:
        controller.stop()


@pytest.fixture(scope="session")
def _pg_trgm_in_public() -> None:
    """pg_trgm installed in the public schema, once (``helpers.trigrams_in_public``)."""
    assert POSTGRES_URL
    admin = create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as connection:
        trigrams_in_public(connection)
    admin.dispose()


@pytest.fixture
def postgres_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A PostgreSQL URL whose search path is a fresh schema, dropped after the test."""
    if not POSTGRES_URL:
        _unavailable("USERBATCH_TEST_POSTGRES_URL")
    assert POSTGRES_URL
    request.getfixturevalue("_pg_trgm_in_public")
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(
        POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1), pool_pre_ping=True
    )
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def make_settings(
    request: pytest.FixtureRequest, tmp_path: Path, redis_url: str
) -> Callable[..., Settings]:
    """Settings factory: ``make_settings(backend="sqlite"|"postgresql", **overrides)``.

    The data folder is the test's own; Redis is the test Redis unless ``redis_url=None``
    (the zero-set-up default: an embedded server of the test's own).
    """

    def make(backend: str = "sqlite", **overrides: Any) -> Settings:
        values: dict[str, Any] = {"data_dir": tmp_path / "data", "redis_url": redis_url}
        if backend == "postgresql":
            values["database_url"] = request.getfixturevalue("postgres_url")
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture(params=BACKENDS)
def settings(request: pytest.FixtureRequest, make_settings: Callable[..., Settings]) -> Settings:
    """Settings on each database backend."""
    return make_settings(request.param)


@pytest.fixture
def use_env(monkeypatch: pytest.MonkeyPatch) -> Callable[[Settings], None]:
    """Point this process's environment at ``settings`` (for AppTest, which reads it)."""

    def apply(settings: Settings) -> None:
        for key in ("DATABASE_URL", "REDIS_URL"):
            monkeypatch.delenv(key, raising=False)
        for key, value in settings_env(settings).items():
            if os.environ.get(key) != value:
                monkeypatch.setenv(key, value)

    return apply


RunBatch = Callable[..., Batch]


@pytest.fixture
def run_batch(
    clean_redis: Redis, use_env: Callable[[Settings], None], monkeypatch: pytest.MonkeyPatch
) -> RunBatch:
    """``run_batch(world, batch_id, chunk_rows=None)``: run a stored batch the way production
    does — handed to the queue, then applied by the job entry points on a real (burst)
    ``SimpleWorker``, chunk jobs and the finishing job included; returns the batch as it ended.
    ``chunk_rows`` makes the chunks that small, so that a few rows fan out to several jobs.
    The batch's invitations stay scheduled: the jobs do not schedule the outbox's sweep, so
    each test sends mail itself (``send_due``) at the moment it chooses."""

    def run(world: World, batch_id: str, *, chunk_rows: int | None = None) -> Batch:
        use_env(world.settings)
        monkeypatch.setattr(jobs, "schedule_mail_sweep", lambda engine, settings: None)
        if chunk_rows is not None:
            monkeypatch.setattr(apply, "CHUNK_ROWS", chunk_rows)
            monkeypatch.setattr(apply, "PASSWORD_CHUNK_ROWS", chunk_rows)
        enqueue_batch(world.engine, world.settings, batch_id)
        queue = Queue(QUEUE_NAME, connection=clean_redis)
        SimpleWorker([queue], connection=clean_redis).work(burst=True)
        return get_batch(world.engine, batch_id)

    return run


RunUndo = Callable[..., Batch]


@pytest.fixture
def run_undo(
    clean_redis: Redis, use_env: Callable[[Settings], None], monkeypatch: pytest.MonkeyPatch
) -> RunUndo:
    """``run_undo(world, batch_id, operator=None)``: undo the batch as the screen does, run
    the undo on a real (burst) worker, and return the undo as it ended."""

    def run(world: World, batch_id: str, *, operator: OperatorInfo | None = None) -> Batch:
        use_env(world.settings)
        monkeypatch.setattr(jobs, "schedule_mail_sweep", lambda engine, settings: None)
        undo_id = undo_batch(world.engine, world.settings, operator or world.admin, batch_id)
        queue = Queue(QUEUE_NAME, connection=clean_redis)
        SimpleWorker([queue], connection=clean_redis).work(burst=True)
        return get_batch(world.engine, undo_id)

    return run


@dataclass
class World:
    """A set-up installation: the organisation, a few groups, users, and an admin."""

    settings: Settings
    engine: Engine
    admin: OperatorInfo
    groups: dict[str, GroupInfo]

    def add_user(self, login_id: str, *, groups: tuple[str, ...] = (), **fields: Any) -> int:
        values: dict[str, Any] = {"name": login_id.title(), **fields}
        if values.get("email"):
            values["email_key"] = values["email"].lower()
        with session(self.engine) as db, db.begin():
            user = User(login_id=login_id, **values)
            db.add(user)
            db.flush()
            for path in groups:
                db.add(Membership(user_id=user.id, group_id=self.groups[path].id))
            return user.id

    def session_for(self, operator: OperatorInfo | None = None) -> int:
        """A new session of ``operator`` (the admin by default): put its id in an AppTest's
        ``keys.SESSION_ID`` to have that tab signed in."""
        return open_session(self.engine, self.settings, operator or self.admin).session_id

    def manager(self, login: str, scope: str) -> OperatorInfo:
        with session(self.engine) as db, db.begin():
            operator = Operator(
                login=login, password_hash="-", role="manager", scope_group_id=self.groups[scope].id
            )
            db.add(operator)
            db.flush()
            operator_id = operator.id
        found = auth.get_operator(self.engine, operator_id)
        assert found is not None
        return found

    def columns(self) -> list[ColumnSpec]:
        return load_columns(self.engine)


@pytest.fixture
def world(settings: Settings) -> World:
    """An installation on each backend: Acme with Sales, Sales>>Tokyo and Support."""
    return make_world(settings)


def make_world(settings: Settings) -> World:
    """Acme with Sales, Sales>>Tokyo and Support, and its admin, in ``settings``' database
    (copied from the one set up first in this process when the database is new:
    ``world_template``)."""
    if world_template.copy_into(settings, set_up_world):
        engine = open_database(settings)
        admin = auth.acting_operator(engine, "admin")
        return World(settings, engine, admin, {g.path: g for g in groups_in_scope(engine, "")})
    return set_up_world(settings)


def set_up_world(settings: Settings) -> World:
    """``make_world`` the slow way: migrated, set up by the domain calls."""
    engine = open_database(settings)
    admin = auth.initialize(
        engine, organisation="Acme", login="admin", password="correct-horse-7",
        min_password_length=8,
    )  # fmt: skip
    for path in ("Sales>>Tokyo", "Support"):
        add_group(engine, path)
    return World(settings, engine, admin, {g.path: g for g in groups_in_scope(engine, "")})


@pytest.fixture
def people(world: World) -> World:
    """The installation with two users: sato0002 in Sales and kato0003 in Support."""
    return add_people(world)


def add_people(world: World) -> World:
    """Add sato0002 in Sales and kato0003 in Support."""
    world.add_user(
        "sato0002", name="Sato", email="sato@example.com", department="Sales", groups=("Sales",)
    )
    world.add_user("kato0003", name="Kato", email="kato@example.com", groups=("Support",))
    return world
