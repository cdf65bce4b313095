from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select

from tests.conftest import World
from userbatch.db import current_revision, head_revision, migrate, open_database, session
from userbatch.directory.sessions import end_session, open_session
from userbatch.directory.user_search import include_name
from userbatch.models import Base, EmailTemplate, FieldSetting
from userbatch.settings import Settings

TABLES = {
    "groups", "users", "memberships", "field_settings", "operators", "email_templates",
    "batches", "batch_rows", "outbox", "operator_sessions", "drafts", "draft_edits", "draft_files",
    "alembic_version",
}  # fmt: skip


def test_migrations_bring_an_empty_database_to_head(settings: Settings) -> None:
    engine = open_database(settings)
    assert current_revision(engine) == head_revision()
    assert set(inspect(engine).get_table_names()) >= TABLES


def test_migrating_twice_changes_nothing(settings: Settings) -> None:
    engine = open_database(settings)
    migrate(engine)
    with session(engine) as db:
        assert db.scalar(select(EmailTemplate.name)) == "Invitation"
        assert len(db.scalars(select(FieldSetting)).all()) == 10


def test_every_lookup_has_an_index(settings: Settings) -> None:
    inspector = inspect(open_database(settings))

    def indexed(table: str) -> set[tuple[str, ...]]:
        found = {tuple(index["column_names"]) for index in inspector.get_indexes(table)}
        found |= {tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)}
        found.add(tuple(inspector.get_pk_constraint(table)["constrained_columns"]))
        return found

    assert ("login_id",) in indexed("users")
    assert ("email_key",) in indexed("users")
    assert ("group_id",) in indexed("memberships")
    assert ("path",) in indexed("groups")
    assert ("batch_id", "row_no") in indexed("batch_rows")
    assert ("state", "send_at") in indexed("outbox")
    assert ("token_hash",) in indexed("outbox")


def test_the_schema_the_migrations_make_is_the_models(settings: Settings) -> None:
    engine = open_database(settings)
    with engine.connect() as connection:
        # The users' search index (migration 0009) is no model's: autogenerate leaves it alone.
        context = MigrationContext.configure(connection, opts={"include_name": include_name})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_an_ended_sessions_id_is_never_given_again(world: World) -> None:
    # A tab holds its session's id; SQLite would hand out the highest id again by default.
    first = open_session(world.engine, world.settings, world.admin).session_id
    end_session(world.engine, first)
    again = open_session(world.engine, world.settings, world.manager("lead", "Sales"))
    assert again.session_id > first
