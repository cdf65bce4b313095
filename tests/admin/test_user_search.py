"""Manage users' search with the users' search index (migration 0009): what reading every user
finds, whatever the text; kept right through inserts, updates and deletes; the migration up,
down and without FTS5's trigrams."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import pytest
from alembic import command
from redis import Redis
from rq import Queue
from sqlalchemy import Connection, Engine, create_engine, delete, event, insert, inspect, text

from tests.conftest import World, make_world
from tests.helpers import alembic_config
from userbatch.admin.users import change_login_id, search_users
from userbatch.db import (
    current_revision,
    get_engine,
    head_revision,
    insert_ignoring_conflicts,
    migrate,
    session,
)
from userbatch.directory import user_search
from userbatch.models import User, utcnow
from userbatch.settings import Settings
from userbatch.worker.connection import QUEUE_NAME
from userbatch.worker.maintenance import UserbatchWorker

# Users whose values try every way a search could part from reading them all.
PEOPLE = [
    ("tanaka0001", "Tanaka Taro", "Taro.Tanaka@Example.com"),
    ("tanaka0002", "田中 太郎", "tanaka2@example.co.jp"),
    ("sato0003", "佐藤 花子", "hanako.sato@example.co.jp"),
    ("sato0004", "佐藤 花", None),
    ("percent05", "100% Real", "percent@example.com"),
    ("under0006", "Under_Score", "under_score@example.com"),
    ("slash0007", "Back\\Slash", "back\\slash@example.com"),
    ("quote0008", 'O"Brien', "obrien@example.com"),
    ("quote0009", "O'Neill", "o'neill@example.com"),
    ("near0010", "NEAR AND OR NOT", "near@example.com"),
    ("star0011", "Star*Light ^ : - ( )", "star@example.com"),
    ("umlaut012", "Äsa Östergren", "asa@example.com"),
    ("kelvin013", "Kelvin \u212a", "kelvin@example.com"),  # KELVIN SIGN: folds to k outside LIKE
    ("fullw0014", "ＦＵＬＬ Ｗｉｄｔｈ", "full@example.com"),
    ("dotted015", "İstanbul Strasse", "istanbul@example.com"),
    ("esszett16", "Große Straße", "gross@example.com"),
    ("sigma0017", "ΣΊΣΥΦΟΣ σίσυφος", None),
    ("space0018", "a b c", "abc@example.com"),
]
TEXTS = [
    "tanaka", "TANAKA", "Tanaka Taro", "taro.tanaka@", "@example.co", "example.com", ".co.jp",
    "佐藤", "佐藤 花子", "花", "田中 太", "%", "100%", "% R", "_", "under_", "r_s", "\\", "back\\s",
    '"', 'O"Brien', '"brien', "'", "o'n", "NEAR", "near and", "AND", "OR", "NOT", "*", "r*l",
    "star*", "^ :", "( )", "a", "ta", "00", "0001", "ä", "Ä", "östergren", "ÖSTERGREN", "k",
    "kelvin k", "vin k", "ｆｕｌｌ", "ＦＵＬＬ", "full", "İstanbul", "istanbul", "straße",
    "STRASSE", "σίσυφος", "ΣΊΣΥΦΟΣ", "a b", "a b c", "  tanaka  ", "no-such-person",
]  # fmt: skip


def _found(engine: Engine, search: str, **options: Any) -> tuple[list[tuple[str, ...]], int]:
    users, total = search_users(engine, scope_path="", text=search, page_size=100, **options)
    return [(u.login_id, u.name, u.email, u.status, u.groups) for u in users], total


def _everything(engine: Engine) -> dict[str, Any]:
    found: dict[str, Any] = {search: _found(engine, search) for search in TEXTS}
    found["page 2"] = search_users(engine, scope_path="", text="example", page=2, page_size=3)
    found["in Sales"] = _found(engine, "example", group_path="Sales")
    found["suspended"] = _found(engine, "example", status="suspended")
    return found


def _indexed_ids(connection: Connection, trigrams: str) -> set[int]:
    query = text("SELECT rowid FROM users_search WHERE users_search MATCH :q")
    return set(connection.scalars(query, {"q": trigrams}))


def _search_objects(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            query = "SELECT name FROM sqlite_master WHERE name LIKE 'users_search%'"
        else:
            query = (
                "SELECT indexname FROM pg_indexes "
                "WHERE schemaname = current_schema() AND indexname LIKE 'ix_users_search%'"
            )
        return set(connection.scalars(text(query)))


def _planned_by_index(engine: Engine) -> Engine:
    """An engine on the same PostgreSQL schema whose planner avoids reading whole tables (a
    few users are read faster in full), so that the searches take the trigram indexes."""
    url = engine.url.render_as_string(hide_password=False)
    forced = create_engine(url.replace("options=", "options=-cenable_seqscan%3Doff%20", 1))
    explain = text(
        "EXPLAIN SELECT id FROM (SELECT id, login_id, count(*) OVER () FROM users "
        "WHERE lower(login_id) LIKE :p) AS found ORDER BY login_id LIMIT 50"
    )
    with forced.connect() as connection:
        plan = "\n".join(connection.scalars(explain, {"p": "%tanaka%"}))
    assert "Bitmap Index Scan on ix_users_search_login_id" in plan, plan
    return forced


def _add_tricky(world: World) -> World:
    for login_id, name, email in PEOPLE:
        world.add_user(login_id, name=name, email=email, groups=("Sales",))
    world.add_user("gone0019", name="Tanaka Gone", status="suspended")
    return world


@pytest.fixture
def tricky(world: World) -> World:
    """The installation on each backend, with PEOPLE in Sales and a suspended Tanaka."""
    return _add_tricky(world)


@pytest.fixture
def on_sqlite(make_settings: Callable[..., Settings]) -> World:
    """An installation on SQLite only: its search index is the one with a queue."""
    return make_world(make_settings("sqlite"))


def test_a_search_finds_what_reading_every_user_finds(tricky: World) -> None:
    engine = tricky.engine
    queued = _everything(engine)  # the users are in the queue yet
    assert user_search.catch_up(engine) == (
        len(PEOPLE) + 1 if engine.dialect.name == "sqlite" else 0
    )
    indexed = _everything(engine)
    if engine.dialect.name == "postgresql":
        forced = _planned_by_index(engine)
        indexed = _everything(forced)
        forced.dispose()
    with alembic_config(engine) as config:
        command.downgrade(config, "0008")
    assert not _search_objects(engine)
    read_in_full = _everything(engine)
    assert queued == read_in_full
    assert indexed == read_in_full
    assert read_in_full["tanaka"][1] == 3 and read_in_full["%"][1] == 1  # the test tests


def test_a_long_enough_text_is_looked_up_in_the_index(
    on_sqlite: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_search.catch_up(_add_tricky(on_sqlite).engine)
    with session(on_sqlite.engine) as db:
        assert user_search.index_ready(db)
        assert user_search.candidates(db, "tanaka") is not None
        assert user_search.candidates(db, "ta") is None  # shorter than a trigram
        assert user_search.candidates(db, "a\0bc") is None  # LIKE's pattern ends at a NUL
        monkeypatch.setattr(user_search, "FEW", 1)  # as if there were many users
        assert user_search.candidates(db, "kelvin") is not None
        assert user_search.candidates(db, "example") is None  # most users: reading is faster


@pytest.mark.parametrize(
    ("search", "query"),
    [
        ("tanaka", '"tan" AND "aka"'),
        ("ab c", '"ab " AND "b c"'),
        ('o"bri"', '"o""b" AND "ri"""'),
        ("near*", '"nea" AND "ar*"'),
        ("aaaaaa", '"aaa"'),
        ("ab", None),
    ],
)
def test_the_index_is_asked_for_quoted_trigrams(search: str, query: str | None) -> None:
    assert user_search.trigram_query(search) == query


@pytest.mark.parametrize("catch_up", [False, True], ids=["queued", "caught up"])
def test_the_index_follows_inserts_updates_and_deletes(world: World, catch_up: bool) -> None:
    engine = world.engine

    def logins(search: str) -> list[str]:
        if catch_up:
            user_search.catch_up(engine)
        return [row[0] for row in _found(engine, search)[0]]

    suzuki = world.add_user("suzuki0100", name="Ichiro Suzuki", email="ichiro@example.com")
    assert logins("suzuki") == ["suzuki0100"]
    change_login_id(engine, suzuki, "yamada0100", scope_path="")
    assert logins("yamada") == ["yamada0100"] and logins("suzuki") == ["yamada0100"]
    with session(engine) as db, db.begin():
        user = db.get_one(User, suzuki)
        user.name, user.updated_at = "Ichiro Kato", utcnow()
        db.flush()
        user.name = "Ichiro Mori"  # twice before the index catches up
    assert logins("suzuki") == [] and logins("kato") == [] and logins("mori") == ["yamada0100"]
    assert logins("ichiro@") == ["yamada0100"]
    with session(engine) as db, db.begin():
        db.get_one(User, suzuki).email, db.get_one(User, suzuki).email_key = None, None
    assert logins("ichiro@") == []
    with engine.begin() as connection:
        connection.execute(delete(User).where(User.id == suzuki))
    assert logins("yamada") == [] and logins("mori") == []
    # SQLite gives the highest id again after it is deleted: the new user is found, not the old.
    again = world.add_user("ogawa0101", name="Ken Ogawa")
    assert logins("ogawa") == ["ogawa0101"] and logins("mori") == []
    # The batch writer's statement: one INSERT a user, conflicts skipped.
    rows = [{"login_id": f"bulk{n:04d}", "name": f"Bulk {n}", "status": "valid", "custom": {},
             "created_at": utcnow(), "updated_at": utcnow()} for n in range(200)]  # fmt: skip
    with engine.begin() as connection:
        connection.execute(insert_ignoring_conflicts(connection, User), [*rows, rows[0]])
    assert _found(engine, "bulk")[1] == 200 and len(logins("bulk")) == 100
    if engine.dialect.name == "sqlite" and catch_up:
        with engine.connect() as connection:
            assert _indexed_ids(connection, '"oga"') == {again}
            assert _indexed_ids(connection, '"mor"') == set()
            assert connection.scalar(text("SELECT count(*) FROM users_search_queue")) == 0


def test_the_workers_maintenance_catches_the_index_up(on_sqlite: World, clean_redis: Redis) -> None:
    on_sqlite.add_user("honda0200", name="Honda Aoi")
    worker = UserbatchWorker([Queue(QUEUE_NAME, connection=clean_redis)], connection=clean_redis)
    worker.settings = on_sqlite.settings
    worker.run_maintenance_tasks()
    with on_sqlite.engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM users_search_queue")) == 0
        assert len(_indexed_ids(connection, '"hon" AND "nda"')) == 1


def test_the_migration_indexes_the_users_there_and_goes_back(settings: Settings) -> None:
    engine = get_engine(settings)
    with alembic_config(engine) as config:
        command.upgrade(config, "0008")
    users = [
        {"login_id": f"kimura{n:04d}", "name": f"木村 {n}", "email_key": f"k{n}@example.com",
         "status": "valid", "custom": {}, "created_at": utcnow(), "updated_at": utcnow()}
        for n in range(30)
    ]  # fmt: skip
    with engine.begin() as connection:
        connection.execute(insert(User), users)
    with alembic_config(engine) as config:
        command.upgrade(config, "head")
    assert current_revision(engine) == head_revision()
    if engine.dialect.name == "sqlite":
        assert _search_objects(engine) >= {
            "users_search", "users_search_queue", "users_search_insert", "users_search_update",
            "users_search_delete",
        }  # fmt: skip
        with engine.connect() as connection:
            assert len(_indexed_ids(connection, '"木村 "')) == 30
            assert connection.scalar(text("SELECT count(*) FROM users_search_queue")) == 0
    else:
        assert _search_objects(engine) == {
            "ix_users_search_login_id", "ix_users_search_name", "ix_users_search_email_key",
        }  # fmt: skip
    assert _found(engine, "木村 1")[1] == 11
    with alembic_config(engine) as config:
        command.downgrade(config, "0008")
    assert not _search_objects(engine)
    assert {"users_search"} & set(inspect(engine).get_table_names()) == set()
    with engine.begin() as connection:  # without the triggers, users are written as before
        connection.execute(delete(User).where(User.login_id == "kimura0001"))
    assert _found(engine, "木村 1")[1] == 10
    migrate(engine)
    assert _found(engine, "木村 1")[1] == 10 and _search_objects(engine)


def _without_fts5(dbapi_connection: Any, _record: Any) -> None:
    def authorize(action: int, arg1: str | None, arg2: str | None, *_: Any) -> int:
        if action == sqlite3.SQLITE_CREATE_VTABLE and arg2 == "fts5":
            return sqlite3.SQLITE_DENY
        return sqlite3.SQLITE_OK

    dbapi_connection.set_authorizer(authorize)


def test_without_fts5_trigrams_the_migration_skips_the_index(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings("sqlite")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(settings.sqlalchemy_url)
    event.listen(engine, "connect", _without_fts5)  # as a build without FTS5 answers
    migrate(engine)
    assert current_revision(engine) == head_revision()
    assert not _search_objects(engine)
    engine.dispose()
    world = make_world(settings)
    world.add_user("tanaka0300", name="Tanaka Hana")
    assert _found(world.engine, "tanaka")[0][0][0] == "tanaka0300"
    assert user_search.catch_up(world.engine) == 0
    with session(world.engine) as db:
        assert user_search.candidates(db, "tanaka") is None
