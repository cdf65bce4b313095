"""Engine, sessions and schema migrations.

Every entry point (app, worker, CLI) calls ``open_database(settings)``, which migrates the
schema to the newest revision before returning the engine, so all of them always agree on
the schema. Concurrent starts are serialised: a file lock on SQLite, an advisory lock on
PostgreSQL.
"""

from __future__ import annotations

import fcntl
import functools
import itertools
import logging
import os
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, Table, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql import FromClause

from userbatch.errors import ConfigError
from userbatch.i18n import Text
from userbatch.settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"
# Any fixed number: the key of the PostgreSQL advisory lock held while migrating.
_MIGRATION_LOCK_KEY = 0x75736572
# Waits between the attempts of work that met a database blip (about a minute in all).
BLIP_WAITS = (0.5, 1, 2, 4, 8, 15, 30)

_log = logging.getLogger(__name__)
_retry_deadline: ContextVar[float | None] = ContextVar("_retry_deadline", default=None)
_P = ParamSpec("_P")
_R = TypeVar("_R")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the page read while a worker writes; busy_timeout waits instead of failing.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    # A 16 MB page cache (the default is 2 MB): a check looks up each of a file's users by
    # index, and pages not in the cache are read again with a system call each.
    cursor.execute("PRAGMA cache_size=-16384")
    cursor.close()


_ENGINES: dict[str, Engine] = {}


def _engine(url: str) -> Engine:
    engine = _ENGINES.get(url)
    if engine is None:
        if make_url(url).get_backend_name() == "sqlite":
            engine = create_engine(url)
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(url, pool_pre_ping=True)
        _ENGINES[url] = engine
    return engine


def dispose_engines() -> None:
    """Close every pooled connection this process holds and forget the engines."""
    for engine in _ENGINES.values():
        engine.dispose()
    _ENGINES.clear()
    _session_factory.cache_clear()


def _after_fork_in_child() -> None:
    # An RQ worker forks a work horse per job: the child must not use the parent's sockets.
    for engine in _ENGINES.values():
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_after_fork_in_child)


def get_engine(settings: Settings) -> Engine:
    """The engine for the configured database (one per URL and process)."""
    url = settings.sqlalchemy_url
    if make_url(url).get_backend_name() == "sqlite":
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return _engine(url)


def _alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        if not database or database == ":memory:":
            yield
            return
        with open(f"{database}.migrate.lock", "a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)
        return
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
        try:
            yield
        finally:
            connection.execute(
                text("SELECT pg_advisory_unlock(:key)"), {"key": _MIGRATION_LOCK_KEY}
            )
            connection.commit()


def is_blip(exc: BaseException) -> bool:
    """Whether a database error is passing: a dropped connection, a server restarting or
    refusing connections for a moment, a deadlock, a SQLite file locked past its busy
    timeout. (SQLite also reports mistakes such as a missing table as operational errors:
    those are not blips.)"""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    if not isinstance(exc, OperationalError):
        return False
    if type(exc.orig).__module__.startswith("sqlite3"):
        return any(word in str(exc.orig) for word in ("locked", "busy", "disk I/O"))
    return True


def retry_blips(work: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run ``work`` again when it meets a database blip, waiting longer each time, for about
    a minute in all (work nested in such work shares that minute).

    Only for work that is one transaction, or safe to run again from the start: what a
    failed attempt wrote was rolled back with it.
    """

    @functools.wraps(work)
    def retrying(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        deadline = _retry_deadline.get() or time.monotonic() + sum(BLIP_WAITS)
        token = _retry_deadline.set(deadline)
        try:
            for wait in BLIP_WAITS:
                try:
                    return work(*args, **kwargs)
                except DBAPIError as exc:
                    if not is_blip(exc) or time.monotonic() + wait > deadline:
                        raise
                    reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "?"
                    _log.warning("%s: database unavailable (%s); again in %s s",
                                 work.__name__, reason, wait)  # fmt: skip
                    time.sleep(wait)
            return work(*args, **kwargs)
        finally:
            _retry_deadline.reset(token)

    return retrying


def executemany_plain(connection: Connection, sql: str, rows: list[tuple[Any, ...]]) -> None:
    """Run ``sql`` (a ``?`` for each parameter) once for each of ``rows`` with the DB-API's
    ``executemany``: values ready as the database takes them, which SQLAlchemy leaves be."""
    if not rows:
        return
    if connection.dialect.paramstyle != "qmark":
        sql = sql.replace("?", "%s")
    connection.exec_driver_sql(sql, rows)


def insert_plain(
    connection: Connection,
    table: FromClause,
    rows: Sequence[Sequence[Any]],
    keys: Sequence[str],
    *,
    same: dict[str, Any] | None = None,
    raw: Collection[str] = (),
    ignore_conflicts: bool = False,
) -> None:
    """INSERT ``rows`` (each a value for each of ``keys``) and, in every row, the values of
    ``same``, with the DB-API's ``executemany``: each value made what the database takes by
    its column's type (SQLAlchemy's bind processor), a column at a time, and those of
    ``same`` once; the values of the ``raw`` keys are taken as they are (JSON text read
    from the database, say). ``ignore_conflicts``: rows breaking a unique constraint are
    skipped. On PostgreSQL, rows that cannot conflict are sent by ``COPY``."""
    assert isinstance(table, Table), "a model's table (Model.__table__)"
    if not rows:
        return
    dialect = connection.dialect
    table_columns = table.c
    same = same or {}

    def processor(key: str) -> Callable[[Any], Any] | None:
        type_ = table_columns[key].type.dialect_impl(dialect)
        return None if key in raw else type_.bind_processor(dialect)

    columns: list[Iterable[Any]] = []
    for key, values in zip(keys, zip(*rows, strict=True), strict=True):
        process = processor(key)
        columns.append(values if process is None else [process(value) for value in values])
    for key, value in same.items():
        process = processor(key)
        columns.append(itertools.repeat(value if process is None else process(value)))
    # The repeated values end with the shortest column.
    tuples = zip(*columns, strict=False)
    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(key) for key in [*keys, *same])
    if dialect.name == "postgresql" and not ignore_conflicts:
        # COPY: the rows streamed in one statement (an INSERT a row costs a round trip each).
        cursor = connection.connection.cursor()
        with cursor.copy(f"COPY {quote(table.name)} ({names}) FROM STDIN") as copy:
            for row in tuples:
                copy.write_row(row)
        return
    marks = ", ".join("?" for _ in range(len(keys) + len(same)))
    sql = f"INSERT INTO {quote(table.name)} ({names}) VALUES ({marks})"
    if ignore_conflicts:
        sql += " ON CONFLICT DO NOTHING"
    executemany_plain(connection, sql, list(tuples))


def insert_ignoring_conflicts(connection: Connection, table: Any) -> Any:
    """An INSERT that skips rows breaking a unique constraint, in this database's dialect."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


@functools.cache
def head_revision() -> str:
    """The newest schema revision this code knows (read from the migrations once a process:
    every ``open_database`` asks)."""
    script = ScriptDirectory(str(MIGRATIONS))
    head = script.get_current_head()
    assert head is not None, "the migrations folder has no revision"
    return head


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at (None for an empty database)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision; a no-op when it is there already."""
    with _migration_lock(engine):
        if current_revision(engine) == head_revision():
            return
        with engine.begin() as connection:
            command.upgrade(_alembic_config(connection), "head")


def open_database(settings: Settings, *, ride_out_blips: bool = False) -> Engine:
    """The migrated engine of the configured database.

    Raises ``ConfigError`` when the database cannot be reached (with ``ride_out_blips``, after
    trying for about a minute while it is only away for a moment).
    """
    engine = get_engine(settings)
    try:
        (retry_blips(migrate) if ride_out_blips else migrate)(engine)
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        shown = engine.url.render_as_string(hide_password=True)
        raise ConfigError(Text("DATABASE_URL: cannot open the database {url}: {reason}",
                               url=shown, reason=reason)) from None  # fmt: skip
    return engine


@functools.cache
def _session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def session(engine: Engine) -> Session:
    """A new ORM session (use it as a context manager)."""
    return _session_factory(engine)()
