"""Alembic's entry point: runs the revisions on the connection `central.migrations` hands
over, inside that connection's transaction."""

from alembic import context

from central.db import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise SystemExit("run the central's migrations with `kiosk-central migrate`")
context.configure(connection=connection, target_metadata=metadata, transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()
