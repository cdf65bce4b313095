"""Backups of a SQLite installation: one file, consistent while the app and workers run, and
restored into an empty data folder.

A backup is the database copied with SQLite's online backup API — a snapshot of committed
transactions, never half of one, taken while others write (the database is in WAL mode) —
plus a table ``userbatch_backup`` that says when it was taken and holds the data folder's
secret key, without which the passwords of batches not yet applied and the drafts' files
cannot be opened. A backup is therefore as secret as the data folder itself. When the key
comes from ``USERBATCH_SECRET_KEY`` instead, only its fingerprint is kept, and the restore
asks for the same key. PostgreSQL is backed up with its own tools; ``backup`` says how.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from userbatch.crypto.vault import KEY_FILE, installation_key
from userbatch.db import open_database
from userbatch.errors import Conflict, UsageError
from userbatch.i18n import Text
from userbatch.models import ACTIVE_STATES
from userbatch.settings import Settings

BACKUP_TABLE = "userbatch_backup"


@dataclass(frozen=True)
class Backup:
    """What a backup holds: when it was taken, and its counts of users and batches."""

    path: Path
    taken_at: str
    users: int
    batches: int
    running: int  # batches queued or started when it was taken


def back_up(settings: Settings, target: Path) -> Backup:
    """Write a backup of the installation's SQLite database (and its key) to ``target``.

    Raises ``UsageError`` for a PostgreSQL installation (with the ``pg_dump`` command to use
    instead) and for a ``target`` that exists already.
    """
    source = _sqlite_file(settings, "backup", target)
    if target.exists():
        raise UsageError(
            Text("{path} exists already: choose a new file name for the backup", path=target)
        )
    open_database(settings)  # a first backup of a new installation: the schema exists
    key = installation_key(settings)
    stored_key = None if settings.secret_key else key.decode()
    taken_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    partial = target.with_name(target.name + ".part")
    partial.unlink(missing_ok=True)
    with closing(sqlite3.connect(source)) as live, closing(sqlite3.connect(partial)) as copy:
        live.backup(copy)  # one step: a snapshot of what was committed when it began
        copy.execute(f"CREATE TABLE {BACKUP_TABLE} (taken_at TEXT, key TEXT, fingerprint TEXT)")
        copy.execute(
            f"INSERT INTO {BACKUP_TABLE} VALUES (?, ?, ?)", (taken_at, stored_key, _print(key))
        )
        copy.commit()
        copy.execute("PRAGMA journal_mode=DELETE")  # the backup is one file
    os.chmod(partial, 0o600)
    partial.rename(target)
    return _described(target)


def restore(settings: Settings, source: Path) -> Backup:
    """Restore the backup ``source`` into the installation's data folder, which must hold no
    database yet; the schema is then brought up to date.

    Raises ``UsageError`` for a PostgreSQL installation, a data folder that holds a database,
    a file that is no backup, or a secret key that is not the backed-up installation's.
    """
    target = _sqlite_file(settings, "restore", source)
    if not source.is_file():
        raise UsageError(Text("no backup at {path}", path=source))
    if target.exists() or target.with_name(target.name + "-wal").exists():
        raise Conflict(Text(
            "{path} exists: restore into an empty data folder (set USERBATCH_DATA_DIR to a "
            "new folder), or move the database away first", path=target,
        ))  # fmt: skip
    described = _described(source)
    stored_key, fingerprint = _key_of(source)
    key_file = settings.data_dir / KEY_FILE
    if stored_key is None:  # the key came from USERBATCH_SECRET_KEY
        if not settings.secret_key or _print(settings.secret_key.encode()) != fingerprint:
            raise UsageError(Text(
                "this backup was taken with USERBATCH_SECRET_KEY set: set it to the same key "
                "to restore it"
            ))  # fmt: skip
    elif settings.secret_key or key_file.exists():
        if _print(installation_key(settings)) != fingerprint:
            raise UsageError(Text(
                "the secret key here is not the backed-up installation's: restore into a data "
                "folder without secret.key, and without USERBATCH_SECRET_KEY set"
            ))  # fmt: skip
    else:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as written:
            written.write(stored_key)
    partial = target.with_name(target.name + ".part")
    partial.unlink(missing_ok=True)
    uri = f"file:{source}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as saved, closing(sqlite3.connect(partial)) as db:
        saved.backup(db)
        db.execute(f"DROP TABLE {BACKUP_TABLE}")
        db.commit()
    os.chmod(partial, 0o600)
    partial.rename(target)
    open_database(settings)  # migrates a backup of an older version
    return described


def _sqlite_file(settings: Settings, command: str, file: Path) -> Path:
    """The installation's SQLite file. Raises ``UsageError`` for PostgreSQL, saying which
    of its tools does what ``command`` would."""
    url = make_url(settings.sqlalchemy_url)
    if url.get_backend_name() == "sqlite" and url.database:
        return Path(url.database)
    shown = url.set(drivername="postgresql").render_as_string(hide_password=True)
    tool = (
        f"pg_dump --format=custom --file={file} '{shown}'"
        if command == "backup"
        else f"pg_restore --clean --if-exists --dbname='{shown}' {file}"
    )
    raise UsageError(Text(
        "the database is PostgreSQL: use its own tools, for example\n  {tool}\n(the password "
        "in PGPASSWORD), and keep USERBATCH_SECRET_KEY with the backup", tool=tool,
    ))  # fmt: skip


def _key_of(path: Path) -> tuple[str | None, str]:
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        key, fingerprint = db.execute(f"SELECT key, fingerprint FROM {BACKUP_TABLE}").fetchone()
    return key, fingerprint


def _described(path: Path) -> Backup:
    """What the backup at ``path`` holds. Raises ``UsageError`` for a file that is none."""
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            (taken_at,) = db.execute(f"SELECT taken_at FROM {BACKUP_TABLE}").fetchone()
            users = db.execute("SELECT count(*) FROM users").fetchone()[0]
            active = ", ".join(f"'{state}'" for state in sorted(ACTIVE_STATES))
            batches, running = db.execute(
                f"SELECT count(*), coalesce(sum(state IN ({active})), 0) FROM batches"
            ).fetchone()
    except sqlite3.DatabaseError:
        raise UsageError(Text("{path} is not a userbatch backup", path=path)) from None
    return Backup(path, taken_at, users, batches, running)


def _print(key: bytes) -> str:
    """A fingerprint of a secret key, to compare keys without keeping one."""
    return hashlib.sha256(key).hexdigest()[:16]
