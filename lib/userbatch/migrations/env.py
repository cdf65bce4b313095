"""Alembic environment: always run with the connection that ``userbatch.db.migrate`` passes."""

from alembic import context

from userbatch.directory.user_search import include_name
from userbatch.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    include_name=include_name,  # the users' search index is its migration's, in no model
)
with context.begin_transaction():
    context.run_migrations()
