"""Alembic environment: always run with the connection that ``userbatch.db.migrate`` passes."""

from alembic import context

from userbatch.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
