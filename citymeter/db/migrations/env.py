"""Alembic environment: batch mode so SQLite can alter tables; the caller gives the connection."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from citymeter.db.engine import make_engine
from citymeter.db.registry import metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "sqlite://")
    with engine.begin() as conn:
        _run(conn)
