"""A set-up installation made once a test process and copied into each test's new database.

Migrating a new database and setting it up (the organisation, its admin, two groups) took
about 0.25 s on SQLite and 0.7 s on PostgreSQL a test under the full run's load, more than
most tests themselves. So the first ``make_world`` of a process builds the installation the
slow way, by the real migrations and domain calls, into a database of its own, and keeps it:
an SQLite file to copy, a ``pg_dump`` of a PostgreSQL schema to replay into the test's
schema. A database that is not new (a test has opened or filled it) is built the slow way,
and so is PostgreSQL where ``pg_dump`` is missing.
"""

from __future__ import annotations

import atexit
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

from userbatch.db import get_engine
from userbatch.settings import Settings

# backend -> the template: an SQLite file, or a dump's SQL naming the schema _PLACEHOLDER.
_made: dict[str, Path | str | None] = {}
_PLACEHOLDER = f"world_template_{uuid.uuid4().hex[:12]}"


def copy_into(settings: Settings, build: Callable[[Settings], object]) -> bool:
    """Copy the set-up installation into ``settings``' database if that database is new;
    ``build(settings)`` sets one up the slow way (the first time, into a database of the
    template's own). Whether it was copied."""
    if make_url(settings.sqlalchemy_url).get_backend_name() == "sqlite":
        return _copy_sqlite(settings, build)
    return _copy_postgresql(settings, build)


def _copy_sqlite(settings: Settings, build: Callable[[Settings], object]) -> bool:
    database = make_url(settings.sqlalchemy_url).database
    if not database or Path(database).exists():
        return False
    if "sqlite" not in _made:
        folder = Path(tempfile.mkdtemp(prefix="userbatch-world-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        template = settings.model_copy(update={"data_dir": folder / "data", "database_url": None})
        build(template)
        get_engine(template).dispose()  # the file whole, nothing left in a write-ahead log
        _made["sqlite"] = Path(make_url(template.sqlalchemy_url).database or "")
    template_file = _made["sqlite"]
    assert isinstance(template_file, Path)
    Path(database).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template_file, database)
    return True


def _copy_postgresql(settings: Settings, build: Callable[[Settings], object]) -> bool:
    engine = get_engine(settings)
    with engine.connect() as connection:
        schema = connection.scalar(text("SELECT current_schema()"))
        tables = connection.scalar(
            text("SELECT count(*) FROM information_schema.tables WHERE table_schema = :s"),
            {"s": schema},
        )
    if not schema or schema == "public" or tables:
        return False
    if "postgresql" not in _made:
        _made["postgresql"] = _dump(settings, build)
    dump = _made["postgresql"]
    if not isinstance(dump, str):
        return False
    with engine.begin() as connection:
        connection.exec_driver_sql(dump.replace(_PLACEHOLDER, schema))
    return True


def _dump(settings: Settings, build: Callable[[Settings], object]) -> str | None:
    """The set-up installation, built in a schema of its own, as the SQL that makes it in
    schema ``_PLACEHOLDER`` (None without ``pg_dump``)."""
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        return None
    url = make_url(settings.sqlalchemy_url)
    admin = create_engine(url.set(query={}))
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{_PLACEHOLDER}"'))
    try:
        options = f"-csearch_path={_PLACEHOLDER}"
        template = settings.model_copy(update={"database_url": _with_options(settings, options)})
        build(template)
        get_engine(template).dispose()
        done = subprocess.run(
            [pg_dump, "--schema", _PLACEHOLDER, "--no-owner", "--no-privileges", "--inserts",
             "--dbname", url.set(drivername="postgresql", query={}).render_as_string(False)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{_PLACEHOLDER}" CASCADE'))
        admin.dispose()
    # Without psql's own commands, the schema's creation (the test's schema exists) and the
    # settings of the session (the emptied search path among them), which would outlive the
    # replay in the test's connection pool.
    lines = [
        line
        for line in done.stdout.splitlines()
        if not line.startswith(("\\", "SET ", "SELECT pg_catalog.set_config("))
        and line != f"CREATE SCHEMA {_PLACEHOLDER};"
    ]
    return "\n".join(lines)


def _with_options(settings: Settings, options: str) -> str:
    """``settings``' database URL with its ``options`` (the search path) replaced."""
    url = make_url(settings.database_url or "")
    return url.update_query_dict({"options": options}).render_as_string(hide_password=False)
