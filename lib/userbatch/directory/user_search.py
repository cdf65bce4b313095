"""The users' search index of SQLite (migration 0009): which users a search need read.

The index is an FTS5 table of trigrams over login_id, name and email_key, contentless, and a
queue of the users changed since it caught up, which triggers on users keep. Triggers fill
the queue and not the index because FTS5 writes what it has gathered at the end of every
statement, and a bulk insert is a statement a user: fed by a trigger, it wrote the index
once per user, which made inserting 100k users into 1M three to eight times slower
(docs/decisions.md). ``catch_up`` moves the queue into the index in a few statements; the
worker's maintenance runs it every minute.

The index only narrows: a search still compares the users it names with LIKE, so what it
finds is what reading every user finds. It names every user whose values hold all the
text's trigrams (FTS5 folds case more widely than LIKE, and the trigrams may lie anywhere),
and every user in the queue. PostgreSQL needs none of this: its GIN trigram indexes serve
the LIKE of the search itself.
"""

from __future__ import annotations

import functools
import sqlite3

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Integer,
    column,
    func,
    select,
    table,
    text,
)
from sqlalchemy.orm import Session

from userbatch.models import User

FTS = "users_search"
QUEUE = "users_search_queue"
# The trigram tokenizer matches nothing shorter.
SHORTEST = 3
# A search naming more than this share of the users (and more than a few) reads them all
# faster than one by one (1M users: 980k named took 2.0 s one by one, 1.5 s read in order).
BROADEST = 1 / 8
FEW = 1000
# Users moved into the index a transaction: writers wait for about a tenth of a second.
CATCH_UP_SLICE = 10_000

_fts = table(FTS, column("rowid", Integer), column(FTS))
_queue = table(QUEUE, column("id", Integer))


def include_name(name: str | None, type_: str, _parents: object = None) -> bool:
    """Alembic's ``include_name``: whether a table or index is the models' to compare. The
    search index's are made by migration 0009 and are in no model, so autogenerate (and
    the test that the migrations make the models) leaves them alone."""
    if name is None:
        return True
    if type_ == "table":
        return not (name == FTS or name.startswith(FTS + "_"))
    return not (type_ == "index" and name.startswith("ix_" + FTS))


@functools.cache
def _sqlite_has_trigrams() -> bool:
    # The same library serves every connection of the process; a database made by a build
    # with FTS5 and opened by one without keeps working, by reading every user.
    with sqlite3.connect(":memory:") as connection:
        try:
            connection.execute("CREATE VIRTUAL TABLE t USING fts5(a, tokenize='trigram')")
        except sqlite3.OperationalError:
            return False
    return True


def index_ready(db: Session | Connection) -> bool:
    """Whether this database has the search index and this SQLite can read it."""
    bind = db.get_bind() if isinstance(db, Session) else db
    if bind.dialect.name != "sqlite" or not _sqlite_has_trigrams():
        return False
    query = text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :name")
    return db.scalar(query, {"name": FTS}) is not None


def trigram_query(folded: str) -> str | None:
    """The FTS5 query that every value holding ``folded`` matches: trigrams covering it,
    each a quoted string (nothing in one is syntax) that must all be there. None when the
    text is too short, or holds a NUL (SQLite's LIKE ends its pattern there)."""
    if len(folded) < SHORTEST or "\0" in folded:
        return None
    starts = [*range(0, len(folded) - SHORTEST, SHORTEST), len(folded) - SHORTEST]
    trigrams = dict.fromkeys(folded[start : start + SHORTEST] for start in starts)
    return " AND ".join('"' + trigram.replace('"', '""') + '"' for trigram in trigrams)


def candidates(db: Session, folded: str) -> ColumnElement[bool] | None:
    """A condition on ``User.id`` that every user whose login ID, name or e-mail holds
    ``folded`` (lower-cased) meets, narrow enough to be worth it; None when the index cannot
    help (no index, a text too short, a search naming too many users)."""
    query = trigram_query(folded)
    if query is None or not index_ready(db):
        return None
    users = db.scalar(select(func.max(User.id))) or 0
    broadest = max(int(users * BROADEST), FEW)
    named = select(_fts.c.rowid).where(_fts.c[FTS].match(query)).limit(broadest)
    queued = select(_queue.c.id).limit(broadest)
    counts = select(
        select(func.count()).select_from(named.subquery()).scalar_subquery(),
        select(func.count()).select_from(queued.subquery()).scalar_subquery(),
    )
    found = db.execute(counts).one()
    if found[0] + found[1] >= broadest:
        return None
    matching = select(_fts.c.rowid).where(_fts.c[FTS].match(query))
    return User.id.in_(matching.union_all(select(_queue.c.id)))


def catch_up(engine: Engine, *, slice_size: int = CATCH_UP_SLICE) -> int:
    """Move the users queued by the triggers into the index, ``slice_size`` a transaction;
    how many. Does nothing without the index."""
    if engine.dialect.name != "sqlite" or not _sqlite_has_trigrams():
        return 0
    moved = 0
    while True:
        with engine.begin() as connection:
            if not index_ready(connection):
                return moved
            # The slice: the queue up to its last id. The first write below takes SQLite's
            # write lock, so the three statements see the same queue.
            last = connection.scalar(
                text(f"SELECT max(id) FROM (SELECT id FROM {QUEUE} ORDER BY id LIMIT :n)"),
                {"n": slice_size},
            )
            if last is None:
                return moved
            # What the index holds for a queued user goes, then what users holds now comes.
            connection.execute(text(
                f"INSERT INTO {FTS} ({FTS}, rowid, login_id, name, email_key) "
                f"SELECT 'delete', id, login_id, name, email_key FROM {QUEUE} "
                "WHERE indexed AND id <= :last"
            ), {"last": last})  # fmt: skip
            connection.execute(text(
                f"INSERT INTO {FTS} (rowid, login_id, name, email_key) "
                "SELECT id, login_id, name, email_key FROM users "
                f"WHERE id IN (SELECT id FROM {QUEUE} WHERE id <= :last)"
            ), {"last": last})  # fmt: skip
            delete = text(f"DELETE FROM {QUEUE} WHERE id <= :last")
            moved += connection.execute(delete, {"last": last}).rowcount
