"""The users' search index: Manage users' search by login ID, name or e-mail without reading
every user (docs/decisions.md, "The users' search index").

SQLite: an FTS5 table of trigrams (contentless) over login_id, name and email_key, and a
queue of the users changed since it was last brought up to date, kept by triggers on users;
a build of SQLite without FTS5's trigram tokenizer gets neither, and searches read every
user as before. PostgreSQL: pg_trgm's GIN indexes on lower(login_id), lower(name) and
email_key; a server that refuses the extension gets none.

Revision ID: 0009
Revises: 0008
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_log = logging.getLogger(__name__)

# The queue holds a user once however often they change before the index catches up; with
# ``indexed`` set, the values the index holds for them (a contentless table forgets a row's
# values, and deleting one from it takes exactly the values it was given).
_SQLITE_UP = [
    "CREATE VIRTUAL TABLE users_search USING fts5(login_id, name, email_key, "
    "tokenize='trigram case_sensitive 0', content='', detail=none, columnsize=0)",
    "CREATE TABLE users_search_queue (id INTEGER PRIMARY KEY, indexed INTEGER NOT NULL, "
    "login_id, name, email_key)",
    """CREATE TRIGGER users_search_insert AFTER INSERT ON users BEGIN
        INSERT INTO users_search_queue (id, indexed) SELECT new.id, 0
        WHERE NOT EXISTS (SELECT 1 FROM users_search_queue WHERE id = new.id);
    END""",
    """CREATE TRIGGER users_search_update AFTER UPDATE OF id, login_id, name, email_key ON users
    WHEN old.id IS NOT new.id OR old.login_id IS NOT new.login_id OR old.name IS NOT new.name
        OR old.email_key IS NOT new.email_key
    BEGIN
        INSERT INTO users_search_queue (id, indexed, login_id, name, email_key)
        SELECT old.id, 1, old.login_id, old.name, old.email_key
        WHERE NOT EXISTS (SELECT 1 FROM users_search_queue WHERE id = old.id);
        INSERT INTO users_search_queue (id, indexed) SELECT new.id, 0
        WHERE NOT EXISTS (SELECT 1 FROM users_search_queue WHERE id = new.id);
    END""",
    """CREATE TRIGGER users_search_delete AFTER DELETE ON users BEGIN
        INSERT INTO users_search_queue (id, indexed, login_id, name, email_key)
        SELECT old.id, 1, old.login_id, old.name, old.email_key
        WHERE NOT EXISTS (SELECT 1 FROM users_search_queue WHERE id = old.id);
    END""",
    # One statement for every user: FTS5 writes what it gathered at the end of each statement.
    "INSERT INTO users_search (rowid, login_id, name, email_key) "
    "SELECT id, login_id, name, email_key FROM users",
]
_SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS users_search_insert",
    "DROP TRIGGER IF EXISTS users_search_update",
    "DROP TRIGGER IF EXISTS users_search_delete",
    "DROP TABLE IF EXISTS users_search_queue",
    "DROP TABLE IF EXISTS users_search",
]
_POSTGRESQL_INDEXES = {
    "ix_users_search_login_id": "lower(login_id)",
    "ix_users_search_name": "lower(name)",
    "ix_users_search_email_key": "email_key",
}


def _has_trigrams(bind: sa.Connection) -> bool:
    """Whether this SQLite has FTS5 with the trigram tokenizer (3.34 and later, when built
    with FTS5). A failed statement leaves SQLite's transaction as it was."""
    try:
        bind.exec_driver_sql(
            "CREATE VIRTUAL TABLE temp.users_search_probe USING fts5(words, tokenize='trigram')"
        )
    except sa.exc.DatabaseError as exc:
        _log.warning("no users' search index: this SQLite has no FTS5 trigrams (%s)", exc.orig)
        return False
    bind.exec_driver_sql("DROP TABLE temp.users_search_probe")
    return True


def _trigram_schema(bind: sa.Connection) -> str | None:
    """The schema of pg_trgm, installed here if need be; None when the server refuses it."""
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except sa.exc.DBAPIError as exc:
        _log.warning("no users' search index: PostgreSQL refused pg_trgm (%s)", exc.orig)
        return None
    schema = bind.scalar(
        sa.text("SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = :n"),
        {"n": "pg_trgm"},
    )
    return None if schema is None else str(schema)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        if _has_trigrams(bind):
            for statement in _SQLITE_UP:
                bind.exec_driver_sql(statement)
        return
    schema = _trigram_schema(bind)
    if schema is None:
        return
    for name, expression in _POSTGRESQL_INDEXES.items():
        bind.exec_driver_sql(
            f"CREATE INDEX {name} ON users USING gin ({expression} {schema}.gin_trgm_ops)"
        )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for statement in _SQLITE_DOWN:
            bind.exec_driver_sql(statement)
        return
    for name in _POSTGRESQL_INDEXES:
        bind.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")
