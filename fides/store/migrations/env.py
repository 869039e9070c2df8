"""Alembic environment: runs migrations on the connection fides hands over."""

from alembic import context

from fides.store.models import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
